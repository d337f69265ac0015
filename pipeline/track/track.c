/* track: see track.h. */
#include "pipeline/track/track.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/track/assign.h"
#include "pipeline/track/kalman.h"

/* What the tracker keeps per track beside its public face. */
typedef struct {
    vg_kalman_t kf;
    double pred_time;            /* time the filter's state is at */
    double seen_clock;           /* detector clock at the last match */
    float scores[VG_TRACK_SCORE_HISTORY]; /* ring of the latest matched scores */
    int n_scores, score_pos;
    int runs;                    /* detector runs since its birth, the first included */
    bool qualified;              /* min_hits reached within confirm_frames */
    vg_track_box_t anchor;       /* where it was at anchor_time (stationary test) */
    double anchor_time;
} trk_t;

struct vg_track {
    vg_track_config_t cfg;       /* labels points at filters */
    vg_track_filter_t def;       /* defaults, resolved */
    vg_track_filter_t *filters;  /* n_labels, resolved */
    /* tracks: live ones and those ended in the last call (removed at the
     * next), oldest first; 2 * capacity slots, as a full pool can evict
     * while its evicted tracks are still being reported */
    vg_track_obj_t *obj;
    trk_t *trk;
    int n, n_live, slots;
    uint64_t next_id;
    double last_time;            /* time of the last call (NAN before the first) */
    double det_clock;            /* seconds during which the detector ran */
    /* scratch, sized at new */
    vg_assign_t *assign;
    float *w;                    /* slots x max_dets weights */
    int *rows, *r2c, *c2r;       /* rows: slots, r2c: slots, c2r: max_dets */
    int *hi, *lo;                /* max_dets each: indices of confident / low-score detections */
    uint64_t *det_ids;           /* max_dets: track id per input detection */
    bool *done;                  /* max_dets: detection used (matched, filtered, too low) */
    vg_track_stats_t stats;
};

void vg_track_config_default(vg_track_config_t *ret)
{
    *ret = (vg_track_config_t){
        .capacity = 128,
        .max_dets = 256,
        .min_hits = 3,
        .confirm_frames = 5,
        .lost_after = 3.0,
        .stationary_lost_after = 10.0,
        .low_score = 0.1f,
        .match_iou = 0.2f,
        .low_match_iou = 0.5f,
        .stationary_after = 3.0,
        .stationary_iou = 0.7f,
        .first_id = 1,
        .defaults = {.threshold = 0.5f, .min_score = 0.5f, .min_area = 0, .max_area = 0, .min_ratio = 0,
                     .max_ratio = 0},
        .labels = NULL,
        .n_labels = 0,
    };
}

const char *vg_track_end_name(vg_track_end_t reason)
{
    switch (reason) {
    case VG_TRACK_END_NONE: return "none";
    case VG_TRACK_END_LOST: return "lost";
    case VG_TRACK_END_UNCONFIRMED: return "unconfirmed";
    case VG_TRACK_END_EVICTED: return "evicted";
    case VG_TRACK_END_RESET: return "reset";
    }
    return "unknown";
}

/* f with its unset (< 0) fields taken from d. */
static vg_track_filter_t resolve(vg_track_filter_t f, const vg_track_filter_t *d)
{
    if (f.threshold < 0)
        f.threshold = d->threshold;
    if (f.min_score < 0)
        f.min_score = d->min_score;
    if (f.min_area < 0)
        f.min_area = d->min_area;
    if (f.max_area < 0)
        f.max_area = d->max_area;
    if (f.min_ratio < 0)
        f.min_ratio = d->min_ratio;
    if (f.max_ratio < 0)
        f.max_ratio = d->max_ratio;
    return f;
}

static bool score_ok(float s) { return s >= 0 && s <= 1; }

static bool filter_ok(const vg_track_filter_t *f, float low_score)
{
    return score_ok(f->threshold) && score_ok(f->min_score) && f->min_score >= low_score && f->min_area >= 0 &&
           f->max_area >= 0 && f->min_ratio >= 0 && f->max_ratio >= 0;
}

int vg_track_new(const vg_track_config_t *cfg, vg_track_t **ret)
{
    vg_track_config_t builtin;
    vg_track_config_default(&builtin);
    vg_track_filter_t def = resolve(cfg->defaults, &builtin.defaults);
    if (cfg->capacity < 1 || cfg->max_dets < 1 || cfg->min_hits < 1 || cfg->confirm_frames < cfg->min_hits ||
        !(cfg->lost_after >= 0) || !(cfg->stationary_lost_after >= 0) || !(cfg->stationary_after >= 0) ||
        !score_ok(cfg->low_score) || !(cfg->match_iou > 0 && cfg->match_iou <= 1) ||
        !(cfg->low_match_iou > 0 && cfg->low_match_iou <= 1) || !score_ok(cfg->stationary_iou) ||
        cfg->first_id == 0 || cfg->n_labels < 0 || (cfg->n_labels > 0 && !cfg->labels) ||
        !filter_ok(&def, cfg->low_score))
        return -EINVAL;
    for (int i = 0; i < cfg->n_labels; i++) {
        vg_track_filter_t f = resolve(cfg->labels[i], &def);
        if (!filter_ok(&f, cfg->low_score))
            return -EINVAL;
    }
    vg_track_t *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->cfg = *cfg;
    t->def = def;
    t->slots = 2 * cfg->capacity;
    t->next_id = cfg->first_id;
    t->last_time = NAN;
    size_t slots = (size_t)t->slots, md = (size_t)cfg->max_dets;
    t->filters = cfg->n_labels ? calloc((size_t)cfg->n_labels, sizeof(*t->filters)) : NULL;
    t->obj = calloc(slots, sizeof(*t->obj));
    t->trk = calloc(slots, sizeof(*t->trk));
    t->w = malloc(sizeof(float) * slots * md);
    t->rows = malloc(sizeof(int) * slots);
    t->r2c = malloc(sizeof(int) * slots);
    t->c2r = malloc(sizeof(int) * md);
    t->hi = malloc(sizeof(int) * md);
    t->lo = malloc(sizeof(int) * md);
    t->det_ids = malloc(sizeof(uint64_t) * md);
    t->done = malloc(sizeof(bool) * md);
    int r = vg_assign_new(t->slots, cfg->max_dets, &t->assign);
    if (r < 0 || (cfg->n_labels && !t->filters) || !t->obj || !t->trk || !t->w || !t->rows || !t->r2c ||
        !t->c2r || !t->hi || !t->lo || !t->det_ids || !t->done) {
        vg_track_free(&t);
        return -ENOMEM;
    }
    for (int i = 0; i < cfg->n_labels; i++)
        t->filters[i] = resolve(cfg->labels[i], &def);
    t->cfg.labels = t->filters;
    *ret = t;
    return 0;
}

void vg_track_free(vg_track_t **pt)
{
    if (!pt || !*pt)
        return;
    vg_track_t *t = *pt;
    vg_assign_free(&t->assign);
    free(t->filters);
    free(t->obj);
    free(t->trk);
    free(t->w);
    free(t->rows);
    free(t->r2c);
    free(t->c2r);
    free(t->hi);
    free(t->lo);
    free(t->det_ids);
    free(t->done);
    free(t);
    *pt = NULL;
}

static const vg_track_filter_t *filter_of(const vg_track_t *t, int label)
{
    return label >= 0 && label < t->cfg.n_labels ? &t->filters[label] : &t->def;
}

static float iou(const vg_track_box_t *a, const vg_det_t *b)
{
    float iw = fminf(a->x2, b->x2) - fmaxf(a->x1, b->x1);
    float ih = fminf(a->y2, b->y2) - fmaxf(a->y1, b->y1);
    if (iw <= 0 || ih <= 0)
        return 0;
    float inter = iw * ih;
    float ua = (a->x2 - a->x1) * (a->y2 - a->y1) + (b->x2 - b->x1) * (b->y2 - b->y1) - inter;
    return ua > 0 ? inter / ua : 0;
}

static float iou_boxes(const vg_track_box_t *a, const vg_track_box_t *b)
{
    vg_det_t d = {.x1 = b->x1, .y1 = b->y1, .x2 = b->x2, .y2 = b->y2};
    return iou(a, &d);
}

static vg_track_box_t box_of(const float b[4]) { return (vg_track_box_t){b[0], b[1], b[2], b[3]}; }

static float median_score(const trk_t *k)
{
    float s[VG_TRACK_SCORE_HISTORY];
    int n = k->n_scores;
    memcpy(s, k->scores, sizeof(float) * (size_t)n);
    for (int i = 1; i < n; i++) { /* insertion sort: n <= 10 */
        float x = s[i];
        int j = i - 1;
        for (; j >= 0 && s[j] > x; j--)
            s[j + 1] = s[j];
        s[j + 1] = x;
    }
    return n % 2 ? s[n / 2] : 0.5f * (s[n / 2 - 1] + s[n / 2]);
}

/* Drops the tracks reported as ended by the previous call (keeping the
 * order) and clears the per-call flags. */
static void begin_call(vg_track_t *t)
{
    int k = 0;
    for (int i = 0; i < t->n; i++) {
        if (t->obj[i].ended)
            continue;
        if (k != i) {
            t->obj[k] = t->obj[i];
            t->trk[k] = t->trk[i];
        }
        vg_track_obj_t *o = &t->obj[k];
        o->confirmed_now = false;
        o->stationary_changed = false;
        o->det_index = -1;
        k++;
    }
    t->n = k;
    t->n_live = k;
}

static void end_track(vg_track_t *t, int i, vg_track_end_t reason)
{
    t->obj[i].ended = true;
    t->obj[i].end_reason = reason;
    t->n_live--;
    t->stats.ended++;
}

/* Feeds detection d (index di) to track i at `time`. */
static void match(vg_track_t *t, int i, const vg_det_t *d, int di, double time)
{
    vg_track_obj_t *o = &t->obj[i];
    trk_t *k = &t->trk[i];
    float z[4] = {d->x1, d->y1, d->x2, d->y2};
    vg_kalman_update(&k->kf, z);
    float b[4];
    vg_kalman_box(&k->kf, b);
    o->box = box_of(b);
    o->det_box = box_of(z);
    o->vx = k->kf.v[0];
    o->vy = k->kf.v[1];
    o->score = d->score;
    if (d->score > o->top_score)
        o->top_score = d->score;
    o->last_seen = time;
    o->hits++;
    o->det_index = di;
    o->lost = false;
    k->seen_clock = t->det_clock;
    k->scores[k->score_pos] = d->score;
    k->score_pos = (k->score_pos + 1) % VG_TRACK_SCORE_HISTORY;
    if (k->n_scores < VG_TRACK_SCORE_HISTORY)
        k->n_scores++;
    if (!k->qualified && o->hits >= t->cfg.min_hits && k->runs <= t->cfg.confirm_frames)
        k->qualified = true;
    if (k->qualified && !o->confirmed && median_score(k) >= filter_of(t, o->label)->threshold) {
        o->confirmed = true;
        o->confirmed_now = true;
        t->stats.confirmed++;
    }
    /* stationary: still within stationary_iou of where it was stationary_after ago */
    if (iou_boxes(&o->box, &k->anchor) < t->cfg.stationary_iou) {
        k->anchor = o->box;
        k->anchor_time = time;
        if (o->stationary) {
            o->stationary = false;
            o->stationary_changed = true;
        }
    } else if (!o->stationary && time - k->anchor_time >= t->cfg.stationary_after) {
        o->stationary = true;
        o->stationary_since = k->anchor_time;
        o->stationary_changed = true;
    }
    t->det_ids[di] = o->id;
}

/* A slot for a new track: a free one, else a lost track's (unconfirmed
 * first, then the longest unseen) which ends EVICTED; -1 if every track is
 * live and seen. */
static int new_slot(vg_track_t *t)
{
    if (t->n_live >= t->cfg.capacity) {
        int victim = -1;
        for (int i = 0; i < t->n; i++) {
            const vg_track_obj_t *o = &t->obj[i];
            if (o->ended || !o->lost)
                continue;
            if (victim < 0 || (!o->confirmed && t->obj[victim].confirmed) ||
                (o->confirmed == t->obj[victim].confirmed && t->trk[i].seen_clock < t->trk[victim].seen_clock))
                victim = i;
        }
        if (victim < 0)
            return -1;
        end_track(t, victim, VG_TRACK_END_EVICTED);
    }
    /* n < slots: live <= capacity - 1 here, ended this call <= capacity */
    return t->n++;
}

static void start_track(vg_track_t *t, const vg_det_t *d, int di, double time)
{
    int i = new_slot(t);
    if (i < 0) {
        t->stats.dropped_full++;
        return;
    }
    t->n_live++;
    t->stats.started++;
    vg_track_obj_t *o = &t->obj[i];
    trk_t *k = &t->trk[i];
    float z[4] = {d->x1, d->y1, d->x2, d->y2};
    *k = (trk_t){.pred_time = time, .seen_clock = t->det_clock, .runs = 1, .anchor = box_of(z), .anchor_time = time};
    vg_kalman_init(&k->kf, z);
    *o = (vg_track_obj_t){.id = t->next_id++, .label = d->label, .top_score = d->score, .start = time, .det_index = -1};
    /* the first match goes through the same path as every other */
    o->hits = 0;
    match(t, i, d, di, time);
}

/* Stage of association: tracks `rows` (n_rows) against detections `cols`
 * (n_cols), pairs with IoU >= min_iou and the same label; fills matches. */
static void associate(vg_track_t *t, const vg_det_t *dets, const int *cols, int n_cols, int n_rows, float min_iou,
                      double time, bool *det_done)
{
    if (n_rows == 0 || n_cols == 0)
        return;
    for (int r = 0; r < n_rows; r++) {
        const vg_track_obj_t *o = &t->obj[t->rows[r]];
        float *w = t->w + (size_t)r * (size_t)n_cols;
        for (int c = 0; c < n_cols; c++) {
            const vg_det_t *d = &dets[cols[c]];
            /* weight = IoU - limit: the assignment with a cost limit (lapjv's
             * cost_limit in ByteTrack): a pair counts only above the limit */
            w[c] = d->label == o->label ? iou(&o->box, d) - min_iou : 0.0f;
        }
    }
    vg_assign_max_weight(t->assign, t->w, n_rows, n_cols, t->r2c, t->c2r);
    for (int r = 0; r < n_rows; r++) {
        if (t->r2c[r] < 0)
            continue;
        int di = cols[t->r2c[r]];
        match(t, t->rows[r], &dets[di], di, time);
        det_done[di] = true;
    }
}

int vg_track_update(vg_track_t *t, double time, const vg_det_t *dets, int n, uint64_t *ret_track_ids)
{
    if (n < 0 || (n > 0 && !dets) || !isfinite(time))
        return -EINVAL;
    begin_call(t);
    t->stats.updates++;
    int n_in = n;
    if (n > t->cfg.max_dets) {
        t->stats.dropped_dets += (uint64_t)(n - t->cfg.max_dets);
        n = t->cfg.max_dets;
    }
    if (time > t->last_time) /* false for NAN (first call) and for time going back */
        t->det_clock += time - t->last_time;
    t->last_time = time;

    /* detections: filtered, confident, low-score */
    int n_hi = 0, n_lo = 0;
    bool *det_done = t->done;
    for (int i = 0; i < n; i++) {
        const vg_det_t *d = &dets[i];
        const vg_track_filter_t *f = filter_of(t, d->label);
        float w = d->x2 - d->x1, h = d->y2 - d->y1, area = w * h;
        t->det_ids[i] = 0;
        det_done[i] = false;
        if (!(w > 0 && h > 0) || area < f->min_area || (f->max_area > 0 && area > f->max_area) ||
            w < f->min_ratio * h || (f->max_ratio > 0 && w > f->max_ratio * h)) {
            t->stats.dropped_filtered++;
            det_done[i] = true;
            continue;
        }
        if (d->score >= f->min_score)
            t->hi[n_hi++] = i;
        else if (d->score >= t->cfg.low_score)
            t->lo[n_lo++] = i;
        else
            det_done[i] = true;
    }

    /* predict every track to now; a detector run counts toward confirmation */
    for (int i = 0; i < t->n; i++) {
        trk_t *k = &t->trk[i];
        vg_track_obj_t *o = &t->obj[i];
        if (time > k->pred_time) {
            vg_kalman_predict(&k->kf, (float)(time - k->pred_time), o->stationary);
            float b[4];
            vg_kalman_box(&k->kf, b);
            o->box = box_of(b);
        }
        k->pred_time = time;
        k->runs++;
    }

    /* stage 1: confident detections against every track */
    for (int i = 0; i < t->n; i++)
        t->rows[i] = i;
    associate(t, dets, t->hi, n_hi, t->n, t->cfg.match_iou, time, det_done);
    /* stage 2: low-score detections against the tracks seen at the last
     * run and still unmatched (lost is still last run's verdict here) */
    int n_rows = 0;
    for (int i = 0; i < t->n; i++)
        if (t->obj[i].det_index < 0 && !t->obj[i].lost)
            t->rows[n_rows++] = i;
    associate(t, dets, t->lo, n_lo, n_rows, t->cfg.low_match_iou, time, det_done);

    /* unmatched tracks are lost; a track that can no longer reach min_hits
     * in its first confirm_frames runs is a false positive (even one that
     * matched now, at too low a rate); a lost one unseen too long is gone */
    int n_before = t->n;
    for (int i = 0; i < n_before; i++) {
        vg_track_obj_t *o = &t->obj[i];
        trk_t *k = &t->trk[i];
        if (o->ended)
            continue;
        if (o->det_index < 0) {
            o->lost = true;
            vg_kalman_stop_size(&k->kf);
        }
        double keep = o->stationary ? t->cfg.stationary_lost_after : t->cfg.lost_after;
        if (!k->qualified && o->hits + (t->cfg.confirm_frames - k->runs) < t->cfg.min_hits) {
            end_track(t, i, VG_TRACK_END_UNCONFIRMED);
            if (o->det_index >= 0)
                t->det_ids[o->det_index] = 0;
        } else if (o->lost && t->det_clock - k->seen_clock > keep)
            end_track(t, i, VG_TRACK_END_LOST);
    }

    /* new tracks from the confident detections left over */
    for (int c = 0; c < n_hi; c++)
        if (!det_done[t->hi[c]])
            start_track(t, &dets[t->hi[c]], t->hi[c], time);

    if (ret_track_ids) {
        memcpy(ret_track_ids, t->det_ids, sizeof(uint64_t) * (size_t)n);
        for (int i = n; i < n_in; i++) /* beyond max_dets: not tracked */
            ret_track_ids[i] = 0;
    }
    return 0;
}

void vg_track_coast(vg_track_t *t, double time)
{
    begin_call(t);
    t->stats.coasts++;
    if (!isfinite(time))
        return;
    t->last_time = time;
    /* the boxes hold still over a coasted interval: the detector is mostly
     * skipped because nothing moved, and a velocity estimate carried over a
     * minute of stillness would walk a parked car out of its own box */
    for (int i = 0; i < t->n; i++)
        if (time > t->trk[i].pred_time)
            t->trk[i].pred_time = time;
}

void vg_track_reset(vg_track_t *t)
{
    for (int i = 0; i < t->n; i++)
        if (!t->obj[i].ended)
            end_track(t, i, VG_TRACK_END_RESET);
}

int vg_track_objects(const vg_track_t *t, const vg_track_obj_t **ret)
{
    *ret = t->obj;
    return t->n;
}

uint64_t vg_track_next_id(const vg_track_t *t) { return t->next_id; }

void vg_track_stats(const vg_track_t *t, vg_track_stats_t *ret) { *ret = t->stats; }
