/* events.c: see events.h. */
#include "pipeline/events.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSG_CAP 16384
#define MAX_CROSSED 16 /* crossings an event remembers (the counters count them all) */
#define EDGE_MARGIN 2  /* px: a box this close to the frame edge is cut by it (no snapshot) */

/* What changed since an object's last message (the `changes` of an update). */
enum {
    CH_ZONE = 1u << 0,
    CH_LINE = 1u << 1,
    CH_STATIONARY = 1u << 2,
    CH_SNAPSHOT = 1u << 3,
    CH_ATTRIBUTE = 1u << 4,
    CH_LOITERING = 1u << 5,
};
static const char *const change_names[] = {"zone", "line", "stationary", "snapshot", "attribute", "loitering"};

/* One tracked object's event state, from its first detection to its end. */
typedef struct {
    bool used;
    bool announced;              /* its start went out */
    uint64_t track;              /* the tracker's id */
    int label;
    char id[128];
    int64_t start_wall_us;
    double start_pts;
    double last_emit_pts;        /* of its last message */
    uint32_t pending;            /* CH_* not yet sent (rate limit) */
    uint32_t in_zones;           /* bit per zone: inside now (after inertia) */
    uint32_t entered_zones;      /* ... ever entered */
    uint32_t loitering;          /* ... staying longer than loitering_time */
    int zone_count[VG_ZONES_MAX];   /* consecutive frames against the current state (inertia) */
    double zone_since[VG_ZONES_MAX]; /* entered at (pts) */
    vg_point_t foot;             /* bottom centre at its last matched frame */
    bool have_foot;
    int n_crossed, crossed_counted;
    struct {
        int line, dir;
        int64_t wall_us;
    } crossed[MAX_CROSSED];
    uint32_t crossed_pending_in[VG_LINES_MAX], crossed_pending_out[VG_LINES_MAX]; /* before its start */
    float best_snap;             /* score x area of its snapshot */
    double last_snap_pts;
    bool has_snapshot;
    vg_events_attr_t attr;
    bool has_attr;
} rec_t;

struct vg_events {
    vg_events_config_t cfg;
    char topic[96];
    vg_track_t *track;
    float min_score[VG_EVENTS_MAX_LABELS];
    vg_track_filter_t filters[VG_EVENTS_MAX_LABELS];
    /* geometry, as configured and scaled to the frame size */
    vg_object_filter_t objects[VG_OBJECTS_MAX];
    int mask_of[VG_EVENTS_MAX_LABELS]; /* index in objects with a mask, -1 none */
    vg_zone_t zones[VG_ZONES_MAX];
    vg_line_t lines[VG_LINES_MAX];
    vg_polygon_t zone_px[VG_ZONES_MAX];
    vg_polygon_t mask_px[VG_OBJECTS_MAX][VG_MASK_MAX_POLYGONS];
    vg_point_t line_a[VG_LINES_MAX], line_b[VG_LINES_MAX];
    uint64_t zone_labels[VG_ZONES_MAX][2], line_labels[VG_LINES_MAX][2]; /* label bitsets */
    uint32_t required;           /* bit per required zone */
    int geo_w, geo_h;            /* size the geometry is scaled to */
    /* per-object state, one per tracker slot */
    rec_t *recs;
    int n_recs;
    /* scratch, sized at new */
    vg_det_t *dets;
    int *orig;                   /* dets index -> caller's index */
    uint64_t *ids;
    vg_events_frame_t last;      /* the last frame seen */
    /* counters: written by the owner, read by anyone (relaxed: statistics) */
    _Atomic uint32_t present[VG_EVENTS_MAX_LABELS];
    _Atomic uint64_t started_label[VG_EVENTS_MAX_LABELS];
    _Atomic uint64_t crossings[VG_LINES_MAX][VG_EVENTS_MAX_LABELS][2]; /* [in, out] */
    _Atomic uint64_t started;
    char msg[MSG_CAP];
};

#define RELAXED memory_order_relaxed /* statistics: no ordering with anything else */

static bool label_bit(const uint64_t set[2], int label)
{
    return label >= 0 && label < VG_EVENTS_MAX_LABELS && (set[label >> 6] >> (label & 63) & 1);
}

static void label_set(const vg_events_config_t *cfg, const char (*names)[VG_LABEL_NAME_MAX], int n,
                      uint64_t ret[2])
{
    ret[0] = ret[1] = 0;
    for (int l = 0; l < cfg->n_labels; l++)
        if (cfg->labels[l] && vg_zone_label_matches(names, n, cfg->labels[l]))
            ret[l >> 6] |= 1ull << (l & 63);
}

int vg_events_new(const vg_events_config_t *cfg, vg_events_t **ret)
{
    if (!cfg->camera || cfg->n_labels < 0 || cfg->n_labels > VG_EVENTS_MAX_LABELS || cfg->n_objects < 0 ||
        cfg->n_objects > VG_OBJECTS_MAX || cfg->n_zones < 0 || cfg->n_zones > VG_ZONES_MAX || cfg->n_lines < 0 ||
        cfg->n_lines > VG_LINES_MAX)
        return -EINVAL;
    vg_events_t *e = calloc(1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    int r = -ENOMEM;
    e->cfg = *cfg;
    if (e->cfg.update_every_s <= 0)
        e->cfg.update_every_s = 1.0;
    if (e->cfg.snapshot_every_s <= 0)
        e->cfg.snapshot_every_s = 1.0;
    snprintf(e->topic, sizeof(e->topic), "event.%s", cfg->camera);
    if (cfg->n_objects > 0) /* memcpy from NULL is undefined even for 0 bytes */
        memcpy(e->objects, cfg->objects, sizeof(*cfg->objects) * (size_t)cfg->n_objects);
    if (cfg->n_zones > 0)
        memcpy(e->zones, cfg->zones, sizeof(*cfg->zones) * (size_t)cfg->n_zones);
    if (cfg->n_lines > 0)
        memcpy(e->lines, cfg->lines, sizeof(*cfg->lines) * (size_t)cfg->n_lines);
    e->cfg.objects = e->objects;
    e->cfg.zones = e->zones;
    e->cfg.lines = e->lines;
    /* per-label filters: the detector's threshold is every label's default
     * min_score and confirmation threshold; objects: entries override */
    vg_track_config_t tc = cfg->track;
    if (cfg->threshold > 0) {
        tc.defaults.threshold = cfg->threshold;
        tc.defaults.min_score = cfg->threshold;
    }
    for (int l = 0; l < cfg->n_labels; l++) {
        e->filters[l] = (vg_track_filter_t){-1, -1, -1, -1, -1, -1};
        e->mask_of[l] = -1;
        for (int k = 0; k < cfg->n_objects; k++) {
            if (!cfg->labels[l] || strcmp(cfg->objects[k].label, cfg->labels[l]) != 0)
                continue;
            e->filters[l] = cfg->objects[k].filter;
            if (cfg->objects[k].n_mask > 0)
                e->mask_of[l] = k;
        }
        float ms = e->filters[l].min_score >= 0 ? e->filters[l].min_score : tc.defaults.min_score;
        e->min_score[l] = ms;
    }
    tc.labels = e->filters;
    tc.n_labels = cfg->n_labels;
    /* the low-score stage sits below every label's min_score */
    if (tc.low_score > tc.defaults.min_score)
        tc.low_score = tc.defaults.min_score;
    for (int l = 0; l < cfg->n_labels; l++)
        if (tc.low_score > e->min_score[l])
            tc.low_score = e->min_score[l];
    if ((r = vg_track_new(&tc, &e->track)) < 0)
        goto fail;
    e->cfg.track = tc;
    for (int z = 0; z < cfg->n_zones; z++) {
        label_set(cfg, (const char (*)[VG_LABEL_NAME_MAX])e->zones[z].labels, e->zones[z].n_labels,
                  e->zone_labels[z]);
        if (e->zones[z].required)
            e->required |= 1u << z;
    }
    for (int k = 0; k < cfg->n_lines; k++)
        label_set(cfg, (const char (*)[VG_LABEL_NAME_MAX])e->lines[k].labels, e->lines[k].n_labels,
                  e->line_labels[k]);
    r = -ENOMEM;
    e->n_recs = 2 * tc.capacity; /* the tracker's slots: live and just ended */
    e->recs = calloc((size_t)e->n_recs, sizeof(*e->recs));
    e->dets = calloc((size_t)tc.max_dets, sizeof(*e->dets));
    e->orig = calloc((size_t)tc.max_dets, sizeof(*e->orig));
    e->ids = calloc((size_t)tc.max_dets, sizeof(*e->ids));
    if (!e->recs || !e->dets || !e->orig || !e->ids)
        goto fail;
    *ret = e;
    return 0;
fail:
    vg_events_free(&e);
    return r;
}

void vg_events_free(vg_events_t **pe)
{
    if (!pe || !*pe)
        return;
    vg_events_t *e = *pe;
    vg_track_free(&e->track);
    free(e->recs);
    free(e->dets);
    free(e->orig);
    free(e->ids);
    free(e);
    *pe = NULL;
}

uint64_t vg_events_started(const vg_events_t *e) { return atomic_load_explicit(&e->started, RELAXED); }

uint64_t vg_events_next_track_id(const vg_events_t *e) { return vg_track_next_id(e->track); }

void vg_events_track_stats(const vg_events_t *e, vg_track_stats_t *ret) { vg_track_stats(e->track, ret); }

/* Zones, lines and masks in pixels of a w x h frame: at the first frame and
 * when the size changes, not per frame. */
static void scale_geometry(vg_events_t *e, int w, int h)
{
    if (w == e->geo_w && h == e->geo_h)
        return;
    for (int z = 0; z < e->cfg.n_zones; z++)
        vg_polygon_scale(&e->zones[z].poly, w, h, &e->zone_px[z]);
    for (int k = 0; k < e->cfg.n_objects; k++)
        for (int m = 0; m < e->objects[k].n_mask; m++)
            vg_polygon_scale(&e->objects[k].mask[m], w, h, &e->mask_px[k][m]);
    for (int k = 0; k < e->cfg.n_lines; k++) {
        e->line_a[k] = vg_point_scale(e->lines[k].a, e->lines[k].normalized, w, h);
        e->line_b[k] = vg_point_scale(e->lines[k].b, e->lines[k].normalized, w, h);
    }
    e->geo_w = w;
    e->geo_h = h;
}

static const char *label_name(const vg_events_t *e, int label)
{
    return label >= 0 && label < e->cfg.n_labels && e->cfg.labels[label] ? e->cfg.labels[label] : "?";
}

static rec_t *find_rec(vg_events_t *e, uint64_t track)
{
    /* O(slots): at most 2 x capacity compares per object (256 by default) */
    for (int i = 0; i < e->n_recs; i++)
        if (e->recs[i].used && e->recs[i].track == track)
            return &e->recs[i];
    return NULL;
}

static rec_t *new_rec(vg_events_t *e, const vg_track_obj_t *o, const vg_events_frame_t *f)
{
    for (int i = 0; i < e->n_recs; i++) {
        rec_t *r = &e->recs[i];
        if (r->used)
            continue;
        memset(r, 0, sizeof(*r));
        r->used = true;
        r->track = o->id;
        r->label = o->label;
        r->start_pts = o->start;
        r->start_wall_us = f->wall_us + (int64_t)((o->start - f->pts_time) * 1e6);
        snprintf(r->id, sizeof(r->id), "%s-%" PRId64 "-%" PRIu64, e->cfg.camera, r->start_wall_us / 1000, o->id);
        return r;
    }
    return NULL; /* cannot happen: as many records as tracker slots */
}

/* ------------------------------------------------------------- messages */

static void write_box(vg_jsonw_t *w, const vg_track_box_t *b, int fw, int fh)
{
    float v[4] = {b->x1, b->y1, b->x2, b->y2};
    float lim[4] = {(float)fw, (float)fh, (float)fw, (float)fh};
    vg_jsonw_array_begin(w);
    for (int i = 0; i < 4; i++) {
        float x = v[i] < 0 ? 0 : (fw > 0 && v[i] > lim[i] ? lim[i] : v[i]);
        vg_jsonw_int(w, (int64_t)lrintf(x));
    }
    vg_jsonw_array_end(w);
}

static void write_zone_names(vg_jsonw_t *w, const vg_events_t *e, uint32_t set)
{
    vg_jsonw_array_begin(w);
    for (int z = 0; z < e->cfg.n_zones; z++)
        if (set & (1u << z))
            vg_jsonw_string(w, e->zones[z].name);
    vg_jsonw_array_end(w);
}

static void emit_event(vg_events_t *e, rec_t *r, const vg_track_obj_t *o, const char *type, const vg_events_frame_t *f,
                       const char *reason, uint32_t changes, vg_events_emit_fn emit, void *emitter)
{
    vg_jsonw_t w;
    vg_jsonw_init(&w, e->msg, sizeof(e->msg));
    vg_jsonw_object_begin(&w);
    vg_jsonw_key(&w, "time");
    vg_jsonw_time(&w, f->wall_us);
    vg_jsonw_key(&w, "pts");
    if (f->pts == INT64_MIN)
        vg_jsonw_null(&w);
    else
        vg_jsonw_int(&w, f->pts);
    vg_jsonw_key(&w, "pts_time");
    vg_jsonw_double(&w, f->pts_time, 3);
    vg_jsonw_key(&w, "type");
    vg_jsonw_string(&w, type);
    vg_jsonw_key(&w, "id");
    vg_jsonw_string(&w, r->id);
    vg_jsonw_key(&w, "track_id");
    vg_jsonw_uint(&w, r->track);
    vg_jsonw_key(&w, "label");
    vg_jsonw_string(&w, label_name(e, r->label));
    vg_jsonw_key(&w, "score");
    vg_jsonw_double(&w, o->score, 4);
    vg_jsonw_key(&w, "top_score");
    vg_jsonw_double(&w, o->top_score, 4);
    /* the filtered box; for an object not seen at this frame (lost, ended)
     * where it was last seen, not where its prediction drifted to */
    const vg_track_box_t *box = o->lost || o->ended || o->det_index < 0 ? &o->det_box : &o->box;
    vg_jsonw_key(&w, "box");
    write_box(&w, box, f->width, f->height);
    vg_jsonw_key(&w, "area");
    float bw = box->x2 - box->x1, bh = box->y2 - box->y1;
    vg_jsonw_int(&w, bw > 0 && bh > 0 ? (int64_t)lrintf(bw * bh) : 0);
    vg_jsonw_key(&w, "velocity");
    vg_jsonw_array_begin(&w);
    vg_jsonw_double(&w, o->vx, 1);
    vg_jsonw_double(&w, o->vy, 1);
    vg_jsonw_array_end(&w);
    vg_jsonw_key(&w, "stationary");
    vg_jsonw_bool(&w, o->stationary);
    vg_jsonw_key(&w, "stationary_since");
    if (o->stationary)
        vg_jsonw_time(&w, f->wall_us + (int64_t)((o->stationary_since - f->pts_time) * 1e6));
    else
        vg_jsonw_null(&w);
    vg_jsonw_key(&w, "zones");
    write_zone_names(&w, e, r->in_zones);
    vg_jsonw_key(&w, "entered_zones");
    write_zone_names(&w, e, r->entered_zones);
    vg_jsonw_key(&w, "loitering");
    write_zone_names(&w, e, r->loitering);
    vg_jsonw_key(&w, "crossed");
    vg_jsonw_array_begin(&w);
    for (int i = 0; i < r->n_crossed; i++) {
        vg_jsonw_object_begin(&w);
        vg_jsonw_key(&w, "line");
        vg_jsonw_string(&w, e->lines[r->crossed[i].line].name);
        vg_jsonw_key(&w, "direction");
        vg_jsonw_string(&w, r->crossed[i].dir > 0 ? "in" : "out");
        vg_jsonw_key(&w, "time");
        vg_jsonw_time(&w, r->crossed[i].wall_us);
        vg_jsonw_object_end(&w);
    }
    vg_jsonw_array_end(&w);
    vg_jsonw_key(&w, "has_snapshot");
    vg_jsonw_bool(&w, r->has_snapshot);
    vg_jsonw_key(&w, "attributes");
    vg_jsonw_object_begin(&w);
    if (r->has_attr && r->attr.has_face) {
        vg_jsonw_key(&w, "face");
        vg_jsonw_array_begin(&w);
        for (int i = 0; i < 4; i++)
            vg_jsonw_int(&w, (int64_t)lrintf(r->attr.face[i]));
        vg_jsonw_array_end(&w);
        vg_jsonw_key(&w, "face_score");
        vg_jsonw_double(&w, r->attr.face_score, 4);
    }
    if (r->has_attr && r->attr.expression) {
        vg_jsonw_key(&w, "expression");
        vg_jsonw_string(&w, r->attr.expression);
        vg_jsonw_key(&w, "expression_score");
        vg_jsonw_double(&w, r->attr.expression_score, 4);
    }
    if (r->has_attr && r->attr.cls) {
        vg_jsonw_key(&w, "class");
        vg_jsonw_string(&w, r->attr.cls);
        vg_jsonw_key(&w, "class_score");
        vg_jsonw_double(&w, r->attr.cls_score, 4);
    }
    vg_jsonw_object_end(&w);
    vg_jsonw_key(&w, "start");
    vg_jsonw_time(&w, r->start_wall_us);
    vg_jsonw_key(&w, "start_pts_time");
    vg_jsonw_double(&w, r->start_pts, 3);
    vg_jsonw_key(&w, "end");
    if (strcmp(type, "end") == 0)
        vg_jsonw_time(&w, f->wall_us);
    else
        vg_jsonw_null(&w);
    if (reason) {
        vg_jsonw_key(&w, "reason");
        vg_jsonw_string(&w, reason);
    }
    if (strcmp(type, "update") == 0) {
        vg_jsonw_key(&w, "changes");
        vg_jsonw_array_begin(&w);
        for (size_t i = 0; i < sizeof(change_names) / sizeof(change_names[0]); i++)
            if (changes & (1u << i))
                vg_jsonw_string(&w, change_names[i]);
        vg_jsonw_array_end(&w);
    }
    vg_jsonw_object_end(&w);
    int len = vg_jsonw_finish(&w);
    if (len > 0)
        emit(emitter, e->topic, e->cfg.camera, e->msg, (size_t)len);
    r->last_emit_pts = f->pts_time;
}

static const char *end_reason(vg_track_end_t why)
{
    switch (why) {
    case VG_TRACK_END_LOST: return "not seen";
    case VG_TRACK_END_EVICTED: return "evicted";
    case VG_TRACK_END_UNCONFIRMED: return "unconfirmed";
    case VG_TRACK_END_RESET: return "reset";
    default: return "ended";
    }
}

/* ------------------------------------------------------------- geometry */

/* Zones (with inertia) and lines for an object matched at foot point p. */
static uint32_t place(vg_events_t *e, rec_t *r, vg_point_t p, const vg_events_frame_t *f)
{
    uint32_t ch = 0;
    for (int z = 0; z < e->cfg.n_zones; z++) {
        if (!label_bit(e->zone_labels[z], r->label))
            continue;
        uint32_t bit = 1u << z;
        bool inside = vg_polygon_contains(&e->zone_px[z], p.x, p.y);
        bool was = (r->in_zones & bit) != 0;
        if (inside == was) {
            r->zone_count[z] = 0;
            continue;
        }
        int need = e->zones[z].inertia > 0 ? e->zones[z].inertia : 1;
        if (++r->zone_count[z] < need)
            continue;
        r->zone_count[z] = 0;
        ch |= CH_ZONE;
        if (inside) {
            r->in_zones |= bit;
            r->entered_zones |= bit;
            r->zone_since[z] = f->pts_time;
        } else {
            r->in_zones &= ~bit;
            r->loitering &= ~bit;
        }
    }
    if (r->have_foot) {
        for (int k = 0; k < e->cfg.n_lines; k++) {
            if (!label_bit(e->line_labels[k], r->label))
                continue;
            int dir = vg_segment_cross(e->line_a[k], e->line_b[k], r->foot, p);
            if (!dir)
                continue;
            ch |= CH_LINE;
            if (r->n_crossed < MAX_CROSSED) {
                r->crossed[r->n_crossed].line = k;
                r->crossed[r->n_crossed].dir = dir;
                r->crossed[r->n_crossed].wall_us = f->wall_us;
                r->n_crossed++;
            }
            if (r->announced && r->label < VG_EVENTS_MAX_LABELS)
                atomic_fetch_add_explicit(&e->crossings[k][r->label][dir > 0 ? 0 : 1], 1, RELAXED);
            else if (dir > 0)
                r->crossed_pending_in[k]++;
            else
                r->crossed_pending_out[k]++;
        }
    }
    r->foot = p;
    r->have_foot = true;
    return ch;
}

/* Zones the object stayed in longer than their loitering_time. */
static uint32_t loiter(vg_events_t *e, rec_t *r, double now)
{
    uint32_t ch = 0;
    for (int z = 0; z < e->cfg.n_zones; z++) {
        uint32_t bit = 1u << z;
        if ((r->in_zones & bit) && !(r->loitering & bit) && e->zones[z].loitering_time > 0 &&
            now - r->zone_since[z] >= e->zones[z].loitering_time) {
            r->loitering |= bit;
            ch |= CH_LOITERING;
        }
    }
    return ch;
}

/* A snapshot when this detection is the object's best unclipped one so far. */
static uint32_t snapshot(vg_events_t *e, rec_t *r, const vg_track_obj_t *o, const vg_events_frame_t *f)
{
    if (!e->cfg.snapshot || o->det_index < 0)
        return 0;
    const vg_track_box_t *b = &o->det_box;
    if (b->x1 < EDGE_MARGIN || b->y1 < EDGE_MARGIN || b->x2 > f->width - EDGE_MARGIN ||
        b->y2 > f->height - EDGE_MARGIN)
        return 0; /* cut by the frame edge: not the picture of the whole object */
    float q = o->score * (b->x2 - b->x1) * (b->y2 - b->y1);
    if (q <= r->best_snap || (r->has_snapshot && f->pts_time - r->last_snap_pts < e->cfg.snapshot_every_s))
        return 0;
    vg_events_snap_t s = {.event_id = r->id, .label = label_name(e, r->label), .score = o->score, .box = *b};
    if (e->cfg.snapshot(e->cfg.snapshot_arg, &s) < 0)
        return 0;
    r->best_snap = q;
    r->last_snap_pts = f->pts_time;
    r->has_snapshot = true;
    return CH_SNAPSHOT;
}

static uint32_t attributes(rec_t *r, const vg_track_obj_t *o, const vg_events_attr_t *attrs, const int *orig)
{
    if (!attrs || o->det_index < 0)
        return 0;
    const vg_events_attr_t *a = &attrs[orig[o->det_index]];
    if (!a->has_face && !a->expression && !a->cls)
        return 0;
    bool changed = !r->has_attr || a->has_face != r->attr.has_face ||
                   (a->expression && (!r->attr.expression || strcmp(a->expression, r->attr.expression) != 0)) ||
                   (a->cls && (!r->attr.cls || strcmp(a->cls, r->attr.cls) != 0));
    r->attr = *a;
    r->has_attr = true;
    return changed ? CH_ATTRIBUTE : 0;
}

/* The step shared by detected and coast: each object's lifecycle. */
static void lifecycle(vg_events_t *e, const vg_events_frame_t *f, bool detected, const vg_events_attr_t *attrs,
                      vg_events_emit_fn emit, void *emitter)
{
    const vg_track_obj_t *objs;
    int n = vg_track_objects(e->track, &objs);
    uint32_t present[VG_EVENTS_MAX_LABELS] = {0};
    for (int i = 0; i < n; i++) {
        const vg_track_obj_t *o = &objs[i];
        rec_t *r = find_rec(e, o->id);
        if (o->ended) {
            if (r && r->announced)
                emit_event(e, r, o, "end", f, end_reason(o->end_reason), 0, emit, emitter);
            if (r)
                r->used = false;
            continue;
        }
        if (!r && !(r = new_rec(e, o, f)))
            continue;
        uint32_t ch = 0;
        if (detected && o->det_index >= 0) {
            vg_point_t foot = {(o->box.x1 + o->box.x2) / 2, o->box.y2};
            ch |= place(e, r, foot, f);
            ch |= attributes(r, o, attrs, e->orig);
        }
        if (o->stationary_changed)
            ch |= CH_STATIONARY;
        ch |= loiter(e, r, f->pts_time);
        if (!r->announced) {
            if (!o->confirmed || (e->required && !(r->entered_zones & e->required)))
                continue;
            r->announced = true;
            atomic_fetch_add_explicit(&e->started, 1, RELAXED);
            if (r->label < VG_EVENTS_MAX_LABELS)
                atomic_fetch_add_explicit(&e->started_label[r->label], 1, RELAXED);
            for (int k = 0; k < e->cfg.n_lines && r->label < VG_EVENTS_MAX_LABELS; k++) {
                atomic_fetch_add_explicit(&e->crossings[k][r->label][0], r->crossed_pending_in[k], RELAXED);
                atomic_fetch_add_explicit(&e->crossings[k][r->label][1], r->crossed_pending_out[k], RELAXED);
            }
            emit_event(e, r, o, "start", f, NULL, 0, emit, emitter);
            /* its first snapshot follows its start on snap.<camera>; the
             * update saying so follows after update_every */
            r->pending = detected ? snapshot(e, r, o, f) : 0;
        } else {
            if (detected)
                ch |= snapshot(e, r, o, f);
            r->pending |= ch;
            if (r->pending && f->pts_time - r->last_emit_pts >= e->cfg.update_every_s) {
                emit_event(e, r, o, "update", f, NULL, r->pending, emit, emitter);
                r->pending = 0;
            }
        }
        if (r->label >= 0 && r->label < VG_EVENTS_MAX_LABELS)
            present[r->label]++;
    }
    for (int l = 0; l < e->cfg.n_labels; l++)
        atomic_store_explicit(&e->present[l], present[l], RELAXED);
}

/* --------------------------------------------------------------- public */

bool vg_events_masked(const vg_events_t *e, const vg_det_t *d)
{
    int m = d->label >= 0 && d->label < e->cfg.n_labels ? e->mask_of[d->label] : -1;
    if (m < 0)
        return false;
    float x = (d->x1 + d->x2) / 2, y = d->y2;
    for (int p = 0; p < e->objects[m].n_mask; p++)
        if (vg_polygon_contains(&e->mask_px[m][p], x, y))
            return true;
    return false;
}

void vg_events_detected(vg_events_t *e, const vg_events_frame_t *f, const vg_det_t *dets,
                        const vg_events_attr_t *attrs, int n, vg_events_emit_fn emit, void *emitter,
                        uint64_t *ret_track_ids)
{
    scale_geometry(e, f->width, f->height);
    e->last = *f;
    int max = e->cfg.track.max_dets, k = 0;
    for (int i = k; i < n && ret_track_ids; i++)
        ret_track_ids[i] = 0;
    for (int i = 0; i < n && k < max; i++) {
        const vg_det_t *d = &dets[i];
        if (ret_track_ids)
            ret_track_ids[i] = 0;
        if (vg_events_masked(e, d))
            continue; /* an object mask: not this label here */
        e->dets[k] = *d;
        e->orig[k++] = i;
    }
    vg_track_update(e->track, f->pts_time, e->dets, k, e->ids);
    if (ret_track_ids)
        for (int i = 0; i < k; i++)
            ret_track_ids[e->orig[i]] = e->ids[i];
    lifecycle(e, f, true, attrs, emit, emitter);
}

void vg_events_coast(vg_events_t *e, const vg_events_frame_t *f, vg_events_emit_fn emit, void *emitter)
{
    e->last = *f;
    vg_track_coast(e->track, f->pts_time);
    lifecycle(e, f, false, NULL, emit, emitter);
}

void vg_events_flush(vg_events_t *e, const char *reason, vg_events_emit_fn emit, void *emitter)
{
    vg_track_reset(e->track);
    const vg_track_obj_t *objs;
    int n = vg_track_objects(e->track, &objs);
    for (int i = 0; i < n; i++) {
        rec_t *r = find_rec(e, objs[i].id);
        if (r && r->announced)
            emit_event(e, r, &objs[i], "end", &e->last, reason, 0, emit, emitter);
        if (r)
            r->used = false;
    }
    for (int l = 0; l < e->cfg.n_labels; l++)
        atomic_store_explicit(&e->present[l], 0, RELAXED);
}

float vg_events_min_score(const vg_events_t *e, int label)
{
    if (label >= 0 && label < e->cfg.n_labels)
        return e->min_score[label];
    return e->cfg.track.defaults.min_score;
}

void vg_events_write_stats(const vg_events_t *e, vg_jsonw_t *w)
{
    vg_jsonw_key(w, "objects");
    vg_jsonw_object_begin(w);
    for (int l = 0; l < e->cfg.n_labels; l++) {
        uint32_t present = atomic_load_explicit(&e->present[l], RELAXED);
        uint64_t started = atomic_load_explicit(&e->started_label[l], RELAXED);
        if (!present && !started)
            continue;
        vg_jsonw_key(w, label_name(e, l));
        vg_jsonw_object_begin(w);
        vg_jsonw_key(w, "present");
        vg_jsonw_uint(w, present);
        vg_jsonw_key(w, "events");
        vg_jsonw_uint(w, started);
        vg_jsonw_object_end(w);
    }
    vg_jsonw_object_end(w);
    vg_jsonw_key(w, "lines");
    vg_jsonw_object_begin(w);
    for (int k = 0; k < e->cfg.n_lines; k++) {
        vg_jsonw_key(w, e->lines[k].name);
        vg_jsonw_object_begin(w);
        for (int l = 0; l < e->cfg.n_labels; l++) {
            uint64_t in = atomic_load_explicit(&e->crossings[k][l][0], RELAXED);
            uint64_t out = atomic_load_explicit(&e->crossings[k][l][1], RELAXED);
            if (!in && !out)
                continue;
            vg_jsonw_key(w, label_name(e, l));
            vg_jsonw_object_begin(w);
            vg_jsonw_key(w, "in");
            vg_jsonw_uint(w, in);
            vg_jsonw_key(w, "out");
            vg_jsonw_uint(w, out);
            vg_jsonw_object_end(w);
        }
        vg_jsonw_object_end(w);
    }
    vg_jsonw_object_end(w);
}
