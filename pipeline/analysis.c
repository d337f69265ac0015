/* analysis.c: see analysis.h. */
#include "pipeline/analysis.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libavutil/pixdesc.h>

#include "pipeline/cascade.h"
#include "pipeline/correct/correct.h"
#include "pipeline/detect.h"
#include "pipeline/inference.h"
#include "pipeline/jsonw.h"

#define MSG_CAP 16384
#define MAX_LABEL_EVENTS 16 /* labels with an open event at once, per camera */

/* One label's event on this camera (tracking comes later: one per label). */
typedef struct {
    bool active;
    char label[64];
    char id[128];
    int64_t start_wall_us;
    double start_pts_time;
    double last_update_pts_time;
    double score, top_score;
    int box[4];            /* source pixels */
    int count;             /* objects of this label in the last frame seen */
    int64_t last_wall_us;  /* of the last frame the label was seen in */
    int64_t last_pts;
    double last_pts_time;
} label_event_t;

/* Records that the event's label was seen in frame f. */
static void event_seen(label_event_t *ev, const vg_frame_t *f, double score, const int box[4], int count)
{
    ev->score = score;
    if (score > ev->top_score)
        ev->top_score = score;
    memcpy(ev->box, box, sizeof(ev->box));
    ev->count = count;
    ev->last_wall_us = f->wall_us;
    ev->last_pts = f->pts;
    ev->last_pts_time = f->pts_time;
}

struct vg_analysis {
    vg_analysis_config_t cfg;
    char topic_det[96], topic_event[96];
    vg_motion_t *motion;
    vg_correct_state_t *correct; /* made on the first frame (needs its size) */
    int correct_w, correct_h;
    label_event_t events[MAX_LABEL_EVENTS];
    uint64_t event_counter;
    vg_det_t dets[VG_DETECT_MAX];
    vg_cascade_attr_t attrs[VG_DETECT_MAX]; /* the cascade's findings, per detection */
    vg_analysis_result_t last;              /* the last frame's, for vg_analysis_last */
    vg_analysis_stats_t stats;
    vg_tensor_prep_t *prep;     /* with an actor: this camera's preparer of the model's input */
    /* the parked frame's partial results, kept until vg_analysis_resume */
    struct {
        vg_motion_result_t motion;
        vg_image_t img;         /* what the detector saw (the analysis copy when corrected) */
        uint32_t corrected;
        int64_t detect_start_ns, parked_ns;
    } parked;
    int parked_result;          /* written by the inference thread before cfg.detected */
    int last_n_dets;            /* dets[0..last_n_dets) are the last detection result (live view) */
    int last_n_motion;          /* motion-only: the last frame's boxes (live view) */
    vg_motion_box_t last_motion[VG_MOTION_MAX_BOXES];
    char msg[MSG_CAP];
};

int vg_analysis_new(const vg_analysis_config_t *cfg, vg_analysis_t **ret)
{
    if (!cfg->camera)
        return -EINVAL;
    vg_analysis_t *a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    a->cfg = *cfg;
    if (a->cfg.event_end_after_s <= 0)
        a->cfg.event_end_after_s = 2.0;
    if (a->cfg.event_update_every_s <= 0)
        a->cfg.event_update_every_s = 1.0;
    snprintf(a->topic_det, sizeof(a->topic_det), "det.%s", cfg->camera);
    snprintf(a->topic_event, sizeof(a->topic_event), "event.%s", cfg->camera);
    int r = -EINVAL;
    if (cfg->inference && (!cfg->detector || !cfg->detected))
        goto fail;
    if ((r = vg_motion_new(&cfg->motion, &a->motion)) < 0)
        goto fail;
    if (cfg->inference && (r = vg_detector_preparer_new(cfg->detector, &a->prep)) < 0)
        goto fail;
    *ret = a;
    return 0;
fail:
    vg_analysis_free(&a);
    return r;
}

void vg_analysis_free(vg_analysis_t **a)
{
    if (!a || !*a)
        return;
    vg_motion_free(&(*a)->motion);
    vg_correct_free(&(*a)->correct);
    vg_tensor_prep_free(&(*a)->prep);
    free(*a);
    *a = NULL;
}

const vg_analysis_stats_t *vg_analysis_stats(const vg_analysis_t *a) { return &a->stats; }

#define STAT_ADD(a, field, n) atomic_fetch_add_explicit(&(a)->stats.field, (n), memory_order_relaxed)

static const char *det_label(const vg_analysis_t *a, int i);

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void send(vg_analysis_t *a, const char *topic, vg_jsonw_t *w, vg_emit_fn emit, void *emitter)
{
    int len = vg_jsonw_finish(w);
    if (len < 0 || emit(emitter, topic, a->cfg.camera, a->msg, (size_t)len) < 0)
        STAT_ADD(a, emit_dropped, 1);
}

static void write_box(vg_jsonw_t *w, const int box[4])
{
    vg_jsonw_array_begin(w);
    for (int i = 0; i < 4; i++)
        vg_jsonw_int(w, box[i]);
    vg_jsonw_array_end(w);
}

/* Fields every message about a frame carries (besides topic, camera, seq). */
static void frame_header(vg_jsonw_t *w, int64_t wall_us, int64_t pts, double pts_time)
{
    vg_jsonw_key(w, "time");
    vg_jsonw_time(w, wall_us);
    vg_jsonw_key(w, "pts");
    if (pts == INT64_MIN) /* AV_NOPTS_VALUE */
        vg_jsonw_null(w);
    else
        vg_jsonw_int(w, pts);
    vg_jsonw_key(w, "pts_time");
    vg_jsonw_double(w, pts_time, 3);
}

static void emit_event(vg_analysis_t *a, label_event_t *ev, const char *type, int64_t wall_us, int64_t pts,
                       double pts_time, const char *reason, vg_emit_fn emit, void *emitter)
{
    vg_jsonw_t w;
    vg_jsonw_init(&w, a->msg, sizeof(a->msg));
    vg_jsonw_object_begin(&w);
    frame_header(&w, wall_us, pts, pts_time);
    vg_jsonw_key(&w, "type");
    vg_jsonw_string(&w, type);
    vg_jsonw_key(&w, "id");
    vg_jsonw_string(&w, ev->id);
    vg_jsonw_key(&w, "label");
    vg_jsonw_string(&w, ev->label);
    vg_jsonw_key(&w, "score");
    vg_jsonw_double(&w, ev->score, 4);
    vg_jsonw_key(&w, "top_score");
    vg_jsonw_double(&w, ev->top_score, 4);
    vg_jsonw_key(&w, "box");
    write_box(&w, ev->box);
    vg_jsonw_key(&w, "count");
    vg_jsonw_int(&w, ev->count);
    vg_jsonw_key(&w, "zones");
    vg_jsonw_array_begin(&w);
    vg_jsonw_array_end(&w);
    vg_jsonw_key(&w, "start");
    vg_jsonw_time(&w, ev->start_wall_us);
    vg_jsonw_key(&w, "start_pts_time");
    vg_jsonw_double(&w, ev->start_pts_time, 3);
    vg_jsonw_key(&w, "end");
    if (strcmp(type, "end") == 0)
        vg_jsonw_time(&w, wall_us);
    else
        vg_jsonw_null(&w);
    if (reason) {
        vg_jsonw_key(&w, "reason");
        vg_jsonw_string(&w, reason);
    }
    vg_jsonw_object_end(&w);
    send(a, a->topic_event, &w, emit, emitter);
}

static double box_iou(const int a[4], const int b[4])
{
    int ix1 = a[0] > b[0] ? a[0] : b[0], iy1 = a[1] > b[1] ? a[1] : b[1];
    int ix2 = a[2] < b[2] ? a[2] : b[2], iy2 = a[3] < b[3] ? a[3] : b[3];
    double inter = (ix2 > ix1 && iy2 > iy1) ? (double)(ix2 - ix1) * (iy2 - iy1) : 0;
    double ua = (double)(a[2] - a[0]) * (a[3] - a[1]) + (double)(b[2] - b[0]) * (b[3] - b[1]) - inter;
    return ua > 0 ? inter / ua : 0;
}

/* The label was seen in frame f: start its event, or update it (on change,
 * at most once per event_update_every_s). */
static void observe(vg_analysis_t *a, const vg_frame_t *f, const char *label, double score, const int box[4],
                    int count, vg_emit_fn emit, void *emitter)
{
    label_event_t *ev = NULL, *free_slot = NULL;
    for (int i = 0; i < MAX_LABEL_EVENTS; i++) {
        if (a->events[i].active && strcmp(a->events[i].label, label) == 0)
            ev = &a->events[i];
        else if (!a->events[i].active && !free_slot)
            free_slot = &a->events[i];
    }
    if (!ev) {
        if (!free_slot)
            return; /* MAX_LABEL_EVENTS labels already open: no new event */
        ev = free_slot;
        memset(ev, 0, sizeof(*ev));
        ev->active = true;
        snprintf(ev->label, sizeof(ev->label), "%s", label);
        snprintf(ev->id, sizeof(ev->id), "%s-%" PRId64 "-%" PRIu64, a->cfg.camera, f->wall_us / 1000,
                 ++a->event_counter);
        ev->start_wall_us = f->wall_us;
        ev->start_pts_time = ev->last_update_pts_time = f->pts_time;
        event_seen(ev, f, score, box, count);
        STAT_ADD(a, events, 1);
        emit_event(a, ev, "start", f->wall_us, f->pts, f->pts_time, NULL, emit, emitter);
        return;
    }
    bool changed = count != ev->count || box_iou(box, ev->box) < 0.7 || score > ev->top_score;
    event_seen(ev, f, score, box, count);
    if (changed && f->pts_time - ev->last_update_pts_time >= a->cfg.event_update_every_s) {
        ev->last_update_pts_time = f->pts_time;
        emit_event(a, ev, "update", f->wall_us, f->pts, f->pts_time, NULL, emit, emitter);
    }
}

/* Ends the events whose label has not been seen for event_end_after_s. */
static void age_events(vg_analysis_t *a, const vg_frame_t *f, vg_emit_fn emit, void *emitter)
{
    for (int i = 0; i < MAX_LABEL_EVENTS; i++) {
        label_event_t *ev = &a->events[i];
        if (ev->active && f->pts_time - ev->last_pts_time >= a->cfg.event_end_after_s) {
            ev->active = false;
            emit_event(a, ev, "end", f->wall_us, f->pts, f->pts_time, "not seen", emit, emitter);
        }
    }
}

static void motion_events(vg_analysis_t *a, const vg_frame_t *f, const vg_motion_result_t *m, vg_emit_fn emit,
                          void *emitter)
{
    if (m->n_boxes > 0) {
        int u[4] = {m->boxes[0].x1, m->boxes[0].y1, m->boxes[0].x2, m->boxes[0].y2};
        for (int i = 1; i < m->n_boxes; i++) {
            const vg_motion_box_t *b = &m->boxes[i];
            if (b->x1 < u[0]) u[0] = b->x1;
            if (b->y1 < u[1]) u[1] = b->y1;
            if (b->x2 > u[2]) u[2] = b->x2;
            if (b->y2 > u[3]) u[3] = b->y2;
        }
        observe(a, f, "motion", m->changed, u, m->n_boxes, emit, emitter);
    }
    age_events(a, f, emit, emitter);
}

/* One event per label present: the best-scoring object of the label. dets
 * are sorted best first, so the first of each label is its best. */
static void detection_events(vg_analysis_t *a, const vg_frame_t *f, int n, vg_emit_fn emit, void *emitter)
{
    for (int i = 0; i < n; i++) {
        const char *label = det_label(a, i);
        char fallback[16];
        if (!label) {
            snprintf(fallback, sizeof(fallback), "%d", a->dets[i].label);
            label = fallback;
        }
        bool first = true;
        int count = 0;
        for (int k = 0; k < n; k++) {
            if (a->dets[k].label != a->dets[i].label)
                continue;
            if (k < i)
                first = false;
            count++;
        }
        if (!first)
            continue;
        int box[4] = {(int)a->dets[i].x1, (int)a->dets[i].y1, (int)a->dets[i].x2, (int)a->dets[i].y2};
        observe(a, f, label, a->dets[i].score, box, count, emit, emitter);
    }
    age_events(a, f, emit, emitter);
}

static void emit_detections(vg_analysis_t *a, const vg_frame_t *f, const vg_motion_result_t *m, int n_dets,
                            uint32_t corrected, vg_emit_fn emit, void *emitter)
{
    vg_jsonw_t w;
    vg_jsonw_init(&w, a->msg, sizeof(a->msg));
    vg_jsonw_object_begin(&w);
    frame_header(&w, f->wall_us, f->pts, f->pts_time);
    vg_jsonw_key(&w, "frame");
    vg_jsonw_uint(&w, f->index);
    vg_jsonw_key(&w, "width");
    vg_jsonw_int(&w, f->av->width);
    vg_jsonw_key(&w, "height");
    vg_jsonw_int(&w, f->av->height);
    vg_jsonw_key(&w, "motion");
    vg_jsonw_object_begin(&w);
    vg_jsonw_key(&w, "changed");
    vg_jsonw_double(&w, m->changed, 4);
    vg_jsonw_key(&w, "lightswitch");
    vg_jsonw_bool(&w, m->lightswitch);
    vg_jsonw_key(&w, "boxes");
    vg_jsonw_array_begin(&w);
    for (int i = 0; i < m->n_boxes; i++)
        write_box(&w, (int[4]){m->boxes[i].x1, m->boxes[i].y1, m->boxes[i].x2, m->boxes[i].y2});
    vg_jsonw_array_end(&w);
    vg_jsonw_object_end(&w);
    vg_jsonw_key(&w, "detector");
    if (a->cfg.detector)
        vg_jsonw_string(&w, vg_detector_name(a->cfg.detector));
    else
        vg_jsonw_null(&w);
    vg_jsonw_key(&w, "detected");
    vg_jsonw_bool(&w, n_dets >= 0);
    if (n_dets >= 0 && a->cfg.correct_mode != VG_CORRECT_MODE_OFF) {
        char names[64];
        vg_correct_names(corrected, names, sizeof(names));
        vg_jsonw_key(&w, "corrections");
        vg_jsonw_string(&w, names);
    }
    vg_jsonw_key(&w, "objects");
    vg_jsonw_array_begin(&w);
    if (!a->cfg.detector && !a->cfg.cascade) {
        /* a camera without a CNN: the motion boxes are its objects */
        for (int i = 0; i < m->n_boxes; i++) {
            const vg_motion_box_t *b = &m->boxes[i];
            vg_jsonw_object_begin(&w);
            vg_jsonw_key(&w, "label");
            vg_jsonw_string(&w, "motion");
            vg_jsonw_key(&w, "score");
            vg_jsonw_double(&w, b->fill, 4); /* how much of the box actually changed */
            vg_jsonw_key(&w, "box");
            write_box(&w, (int[4]){b->x1, b->y1, b->x2, b->y2});
            vg_jsonw_object_end(&w);
        }
    }
    for (int i = 0; i < n_dets; i++)
        vg_analysis_write_object(&w, det_label(a, i), &a->dets[i], a->cfg.cascade,
                                 a->cfg.cascade ? &a->attrs[i] : NULL);
    vg_jsonw_array_end(&w);
    vg_jsonw_object_end(&w);
    send(a, a->topic_det, &w, emit, emitter);
}

void vg_analysis_write_object(vg_jsonw_t *w, const char *label, const vg_det_t *d, const vg_cascade_t *cascade,
                              const vg_cascade_attr_t *at)
{
    vg_jsonw_object_begin(w);
    vg_jsonw_key(w, "label");
    if (label)
        vg_jsonw_string(w, label);
    else
        vg_jsonw_int(w, d->label);
    vg_jsonw_key(w, "score");
    vg_jsonw_double(w, d->score, 4);
    vg_jsonw_key(w, "box");
    write_box(w, (int[4]){(int)d->x1, (int)d->y1, (int)d->x2, (int)d->y2});
    const char *expr = at && cascade ? vg_cascade_expression(cascade, at->expression) : NULL;
    /* a person carries the face found on it; a face object (added by the
     * cascade, at->label set) only its expression */
    bool face = at && at->has_face && !at->label;
    if (face || expr) {
        vg_jsonw_key(w, "attributes");
        vg_jsonw_object_begin(w);
        if (face) {
            vg_jsonw_key(w, "face");
            write_box(w, (int[4]){(int)at->face[0], (int)at->face[1], (int)at->face[2], (int)at->face[3]});
            vg_jsonw_key(w, "face_score");
            vg_jsonw_double(w, at->face_score, 4);
        }
        if (expr) {
            vg_jsonw_key(w, "expression");
            vg_jsonw_string(w, expr);
            vg_jsonw_key(w, "expression_score");
            vg_jsonw_double(w, at->expression_score, 4);
        }
        vg_jsonw_object_end(w);
    }
    vg_jsonw_object_end(w);
}

/* The name of detection i: the detector's label, or what the cascade added. */
static const char *det_label(const vg_analysis_t *a, int i)
{
    if (a->cfg.cascade && a->attrs[i].label)
        return a->attrs[i].label;
    return a->cfg.detector ? vg_detector_label(a->cfg.detector, a->dets[i].label) : NULL;
}

static bool has_8bit_luma(enum AVPixelFormat fmt)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fmt);
    /* planar YUV or grey with 8-bit luma in plane 0 */
    return d && !(d->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_HWACCEL)) &&
           d->comp[0].plane == 0 && d->comp[0].step == 1 && d->comp[0].depth == 8;
}

/* The image the detector sees: the frame, or its analysis copy corrected
 * as configured. Returns 0 or a negative errno; *ret_corrected gets the
 * corrections applied. */
static int analysis_image(vg_analysis_t *a, const vg_frame_t *f, vg_image_t *ret_img, uint32_t *ret_corrected)
{
    int r;
    *ret_corrected = 0;
    /* the corrections' windows need a picture of 16x16 at least; smaller
     * ones (thumbnails, test patterns) are detected on as they are */
    if (a->cfg.correct_mode == VG_CORRECT_MODE_OFF || f->av->width < VG_CORRECT_MIN_SIZE ||
        f->av->height < VG_CORRECT_MIN_SIZE)
        return vg_image_from_frame(f->av, ret_img);
    if (!a->correct || f->av->width > a->correct_w || f->av->height > a->correct_h) {
        /* first frame, or a bigger stream after a reconnect: not per frame */
        vg_correct_free(&a->correct);
        vg_correct_config_t cc = {.max_width = f->av->width, .max_height = f->av->height,
                                  .mode = a->cfg.correct_mode, .mask = a->cfg.correct_mask};
        if ((r = vg_correct_new(&cc, &a->correct)) < 0)
            return r;
        a->correct_w = f->av->width;
        a->correct_h = f->av->height;
    }
    if ((r = vg_correct_apply(a->correct, f->av, ret_img)) < 0)
        return r;
    *ret_corrected = (uint32_t)r;
    return 0;
}

/* Inference thread: the parked frame's detections are in a->dets. */
static void on_detected(void *arg, int result)
{
    vg_analysis_t *a = arg;
    a->parked_result = result;
    a->cfg.detected(a->cfg.detected_arg); /* its release publishes dets and result */
}

/* Hands the frame's detection to the actor. Returns 0 when submitted (the
 * frame is parked), or a negative errno: -EAGAIN when no slot was free. */
static int submit(vg_analysis_t *a, const vg_image_t *img)
{
    vg_inference_slot_t *slot;
    int r = vg_inference_slot_take(a->cfg.inference, a->cfg.wait_for_inference, &slot);
    if (r < 0)
        return r;
    if ((r = vg_tensor_prep_run(a->prep, img, slot->tensor, &slot->xform)) < 0) {
        vg_inference_slot_cancel(a->cfg.inference, slot);
        return r;
    }
    slot->src_w = img->width;
    slot->src_h = img->height;
    slot->dets = a->dets;
    slot->max = VG_DETECT_MAX;
    vg_inference_submit(a->cfg.inference, slot, on_detected, a);
    return 0;
}

/* Brightening a dark picture lifts its noise too, and the detector finds
 * objects in it: on a corrected frame, keep only detections above the
 * floor the corrections set for the gain they applied
 * (vg_correct_min_score; the model's threshold when nothing was
 * brightened). dets are sorted best first; returns how many remain. */
static int drop_below_floor(vg_analysis_t *a, int n)
{
    float floor = vg_correct_min_score(a->correct, vg_detector_threshold(a->cfg.detector));
    int kept = 0;
    for (int i = 0; i < n; i++)
        if (a->dets[i].score >= floor)
            a->dets[kept++] = a->dets[i];
    return kept;
}

/* What follows the detector's result: the cascade on its detections,
 * counters, messages and events. n_dets < 0: the detector did not run
 * (-1) or failed (-errno); detect_start_ns 0: it was not asked to. */
static void finish(vg_analysis_t *a, const vg_frame_t *f, const vg_motion_result_t *m, int n_dets,
                   uint32_t corrected, const vg_image_t *img, int64_t detect_start_ns, vg_emit_fn emit,
                   void *emitter)
{
    if (detect_start_ns) {
        if (n_dets > 0 && corrected && a->cfg.detector)
            n_dets = drop_below_floor(a, n_dets);
        if (n_dets >= 0 && a->cfg.cascade)
            n_dets = vg_cascade_run(a->cfg.cascade, img, a->dets, n_dets, VG_DETECT_MAX, a->attrs);
        STAT_ADD(a, detect_ns, (uint64_t)(mono_ns() - detect_start_ns));
        a->last.n = n_dets >= 0 ? n_dets : -1;
        a->last.error = n_dets < 0 ? n_dets : 0;
        a->last.corrected = corrected;
        a->last.image = *img;
        if (n_dets == -EAGAIN) {
            STAT_ADD(a, detect_dropped, 1); /* inference is behind: this frame goes without */
        } else if (n_dets < 0) {
            STAT_ADD(a, detect_errors, 1);
        } else {
            STAT_ADD(a, detect_frames, 1);
            STAT_ADD(a, detections, (uint64_t)n_dets);
            /* relaxed: a status reading for stats */
            atomic_store_explicit(&a->stats.correct_active, corrected, memory_order_relaxed);
        }
    }
    if (n_dets >= 0)
        a->last_n_dets = n_dets;
    else if (!a->cfg.detector && !a->cfg.cascade) {
        /* a few boxes, copied: m lives on the caller's stack */
        a->last_n_motion = m->n_boxes;
        memcpy(a->last_motion, m->boxes, (size_t)m->n_boxes * sizeof(m->boxes[0]));
    }
    if (a->cfg.publish_detections)
        emit_detections(a, f, m, n_dets, corrected, emit, emitter);
    if (!a->cfg.detector && !a->cfg.cascade)
        motion_events(a, f, m, emit, emitter);
    else if (n_dets >= 0)
        detection_events(a, f, n_dets, emit, emitter);
    else
        age_events(a, f, emit, emitter);
}

int vg_analysis_frame(vg_analysis_t *a, const vg_frame_t *f, vg_emit_fn emit, void *emitter)
{
    int64_t t0 = mono_ns();
    a->last = (vg_analysis_result_t){.n = -1, .dets = a->dets, .attrs = a->cfg.cascade ? a->attrs : NULL};
    if (!has_8bit_luma((enum AVPixelFormat)f->av->format)) {
        STAT_ADD(a, errors, 1);
        a->last.error = -ENOTSUP;
        return VG_ANALYSIS_DONE;
    }
    vg_motion_result_t m;
    int r = vg_motion_process(a->motion, f->av->data[0], f->av->linesize[0], f->av->width, f->av->height, &m);
    if (r < 0) {
        STAT_ADD(a, errors, 1);
        a->last.error = r;
        return VG_ANALYSIS_DONE;
    }
    STAT_ADD(a, analysed, 1);
    if (m.n_boxes > 0)
        STAT_ADD(a, motion_frames, 1);

    int n_dets = -1; /* -1: the detector did not run on this frame */
    uint32_t corrected = 0;
    vg_image_t img;
    int64_t d0 = 0;
    bool gate = a->cfg.detect_when == VG_DETECT_ALWAYS ||
                (a->cfg.detect_when == VG_DETECT_ON_MOTION && m.n_boxes > 0);
    if ((a->cfg.detector || a->cfg.cascade) && gate) {
        d0 = mono_ns();
        n_dets = analysis_image(a, f, &img, &corrected);
        if (n_dets >= 0 && a->cfg.inference) {
            n_dets = submit(a, &img);
            if (n_dets == 0) {
                a->parked.motion = m;
                a->parked.img = img;
                a->parked.corrected = corrected;
                a->parked.detect_start_ns = d0;
                a->parked.parked_ns = mono_ns();
                STAT_ADD(a, analyse_ns, (uint64_t)(a->parked.parked_ns - t0));
                return VG_ANALYSIS_PARKED;
            }
        } else if (n_dets >= 0) {
            n_dets = a->cfg.detector ? vg_detector_run(a->cfg.detector, &img, a->dets, VG_DETECT_MAX) : 0;
        }
    }
    finish(a, f, &m, n_dets, corrected, &img, d0, emit, emitter);
    STAT_ADD(a, analyse_ns, (uint64_t)(mono_ns() - t0));
    return VG_ANALYSIS_DONE;
}

void vg_analysis_resume(vg_analysis_t *a, const vg_frame_t *f, vg_emit_fn emit, void *emitter)
{
    int64_t t0 = mono_ns();
    STAT_ADD(a, detect_wait_ns, (uint64_t)(t0 - a->parked.parked_ns));
    finish(a, f, &a->parked.motion, a->parked_result, a->parked.corrected, &a->parked.img,
           a->parked.detect_start_ns, emit, emitter);
    STAT_ADD(a, analyse_ns, (uint64_t)(mono_ns() - t0));
}

void vg_analysis_last(const vg_analysis_t *a, vg_analysis_result_t *ret) { *ret = a->last; }

void vg_analysis_flush(vg_analysis_t *a, const char *reason, vg_emit_fn emit, void *emitter)
{
    for (int i = 0; i < MAX_LABEL_EVENTS; i++) {
        label_event_t *ev = &a->events[i];
        if (!ev->active)
            continue;
        ev->active = false;
        emit_event(a, ev, "end", ev->last_wall_us, ev->last_pts, ev->last_pts_time, reason, emit, emitter);
    }
}

int vg_analysis_objects(const vg_analysis_t *a, vg_analysis_object_t *ret, int max)
{
    int n = 0;
    if (!a->cfg.detector && !a->cfg.cascade) {
        for (int i = 0; i < a->last_n_motion && n < max; i++, n++) {
            const vg_motion_box_t *b = &a->last_motion[i];
            ret[n] = (vg_analysis_object_t){.label = "motion", .label_index = -1, .score = b->fill,
                                            .box = {b->x1, b->y1, b->x2, b->y2}};
        }
        return n;
    }
    for (int i = 0; i < a->last_n_dets && n < max; i++, n++) {
        const vg_det_t *d = &a->dets[i];
        ret[n] = (vg_analysis_object_t){.label = det_label(a, i), .label_index = d->label, .score = d->score,
                                        .box = {(int)d->x1, (int)d->y1, (int)d->x2, (int)d->y2}};
    }
    return n;
}
