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
#include "pipeline/events.h"
#include "pipeline/inference.h"
#include "pipeline/jsonw.h"
#include "pipeline/snapshot.h"

#define MSG_CAP 16384

struct vg_analysis {
    vg_analysis_config_t cfg;
    char topic_det[96], topic_snap[96];
    vg_motion_t *motion;
    vg_events_t *events;        /* the tracker and the event lifecycle (events.h) */
    vg_snapshot_t *snapshot;    /* NULL without snapshots */
    vg_correct_state_t *correct; /* made on the first frame (needs its size) */
    int correct_w, correct_h;
    /* label names by index for the events: the detector's, then "face" and "motion" */
    const char *labels[VG_EVENTS_MAX_LABELS];
    char numeric[VG_EVENTS_MAX_LABELS][8]; /* names of a model without a labels file */
    int n_labels, face_label, motion_label;
    vg_det_t dets[VG_DETECT_MAX];
    vg_cascade_attr_t attrs[VG_DETECT_MAX]; /* the cascade's findings, per detection */
    uint64_t track_ids[VG_DETECT_MAX];      /* per published detection, 0 = none */
    vg_det_t low[VG_DETECT_MAX];            /* below the threshold: for the tracker only */
    vg_det_t ev_dets[2 * VG_DETECT_MAX];    /* what the events see, labels by name index */
    vg_events_attr_t ev_attrs[2 * VG_DETECT_MAX];
    uint64_t ev_ids[2 * VG_DETECT_MAX];
    bool ev_masked[2 * VG_DETECT_MAX];
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
    /* the frame being finished, for the snapshot callback */
    const vg_frame_t *cur;
    const vg_image_t *cur_img;  /* the analysis copy when it exists, else NULL */
    vg_emit_fn cur_emit;
    void *cur_emitter;
    char msg[MSG_CAP];
};

static int take_snapshot(void *arg, const vg_events_snap_t *snap);

/* The label table the events use: the detector's labels by index, then
 * "face" (the cascade's objects) and "motion" (a camera without a detector). */
static void build_labels(vg_analysis_t *a)
{
    int n = 0;
    const vg_detector_t *d = a->cfg.detector;
    int classes = d ? vg_detector_classes(d) : 0;
    for (int i = 0; i < classes && n < VG_EVENTS_MAX_LABELS - 2; i++, n++) {
        a->labels[n] = vg_detector_label(d, i);
        if (!a->labels[n]) {
            snprintf(a->numeric[n], sizeof(a->numeric[n]), "%d", i);
            a->labels[n] = a->numeric[n];
        }
    }
    a->face_label = n;
    a->labels[n++] = "face";
    a->motion_label = n;
    a->labels[n++] = "motion";
    a->n_labels = n;
}

int vg_analysis_new(const vg_analysis_config_t *cfg, vg_analysis_t **ret)
{
    if (!cfg->camera)
        return -EINVAL;
    vg_analysis_t *a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    a->cfg = *cfg;
    snprintf(a->topic_det, sizeof(a->topic_det), "det.%s", cfg->camera);
    snprintf(a->topic_snap, sizeof(a->topic_snap), "snap.%s", cfg->camera);
    int r = -EINVAL;
    if (cfg->inference && (!cfg->detector || !cfg->detected))
        goto fail;
    if ((r = vg_motion_new(&cfg->motion, &a->motion)) < 0)
        goto fail;
    if (cfg->inference && (r = vg_detector_preparer_new(cfg->detector, &a->prep)) < 0)
        goto fail;
    if (cfg->snapshots.enabled && (r = vg_snapshot_new(&cfg->snapshots, &a->snapshot)) < 0)
        goto fail;
    build_labels(a);
    vg_events_config_t ec = {
        .camera = cfg->camera,
        .track = cfg->track,
        .threshold = cfg->detector ? vg_detector_threshold(cfg->detector) : 0,
        .update_every_s = cfg->update_every_s,
        .labels = a->labels,
        .n_labels = a->n_labels,
        .objects = cfg->objects, .n_objects = cfg->n_objects,
        .zones = cfg->zones, .n_zones = cfg->n_zones,
        .lines = cfg->lines, .n_lines = cfg->n_lines,
        .snapshot = a->snapshot ? take_snapshot : NULL,
        .snapshot_arg = a,
        .snapshot_every_s = cfg->snapshots.every_s,
    };
    if (!cfg->track.capacity)
        vg_track_config_default(&ec.track);
    if ((r = vg_events_new(&ec, &a->events)) < 0)
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
    vg_events_free(&(*a)->events);
    vg_snapshot_free(&(*a)->snapshot);
    vg_correct_free(&(*a)->correct);
    vg_tensor_prep_free(&(*a)->prep);
    free(*a);
    *a = NULL;
}

const vg_analysis_stats_t *vg_analysis_stats(const vg_analysis_t *a) { return &a->stats; }

uint64_t vg_analysis_next_track_id(const vg_analysis_t *a) { return vg_events_next_track_id(a->events); }

void vg_analysis_write_objects_stats(const vg_analysis_t *a, vg_jsonw_t *w) { vg_events_write_stats(a->events, w); }

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

/* Counts every emit through the analysis' drop counter. */
static int emit_counted(void *arg, const char *topic, const char *camera, const char *json, size_t len)
{
    vg_analysis_t *a = arg;
    int r = a->cur_emit(a->cur_emitter, topic, camera, json, len);
    if (r < 0)
        STAT_ADD(a, emit_dropped, 1);
    return r;
}

static vg_events_frame_t events_frame(const vg_frame_t *f)
{
    return (vg_events_frame_t){.wall_us = f->wall_us, .pts = f->pts, .pts_time = f->pts_time,
                               .width = f->av->width, .height = f->av->height};
}

/* The events (tracker, zones, lifecycle) for this frame. n_dets: the
 * detections in a->dets (attrs beside them when there is a cascade) of
 * which the first n_conf are confident, then a->low; -1: the detector did
 * not run. A camera without a detector tracks its motion boxes. Returns the
 * detections to publish (masked ones removed; a->track_ids filled). */
static int run_events(vg_analysis_t *a, const vg_frame_t *f, const vg_motion_result_t *m, int n_conf, int n_low)
{
    vg_events_frame_t ef = events_frame(f);
    a->cur = f;
    if (!a->cfg.detector && !a->cfg.cascade) {
        /* motion only: the motion boxes are the objects (label motion) */
        if (m->warming_up || m->lightswitch) {
            vg_events_coast(a->events, &ef, emit_counted, a);
            return 0;
        }
        for (int i = 0; i < m->n_boxes; i++)
            a->ev_dets[i] = (vg_det_t){.x1 = (float)m->boxes[i].x1, .y1 = (float)m->boxes[i].y1,
                                       .x2 = (float)m->boxes[i].x2, .y2 = (float)m->boxes[i].y2,
                                       .score = 1.0f, .label = a->motion_label};
        vg_events_detected(a->events, &ef, a->ev_dets, NULL, m->n_boxes, emit_counted, a, a->ev_ids);
        return 0;
    }
    if (n_conf < 0) {
        vg_events_coast(a->events, &ef, emit_counted, a);
        return -1;
    }
    int n = 0;
    for (int i = 0; i < n_conf; i++, n++) {
        a->ev_dets[n] = a->dets[i];
        const vg_cascade_attr_t *at = a->cfg.cascade ? &a->attrs[i] : NULL;
        if (at && at->label)
            a->ev_dets[n].label = a->face_label;
        vg_events_attr_t *ea = &a->ev_attrs[n];
        memset(ea, 0, sizeof(*ea));
        if (at) {
            ea->has_face = at->has_face && !at->label;
            memcpy(ea->face, at->face, sizeof(ea->face));
            ea->face_score = at->face_score;
            ea->expression = vg_cascade_expression(a->cfg.cascade, at->expression);
            ea->expression_score = at->expression_score;
            ea->cls = vg_cascade_class(a->cfg.cascade, at->cls);
            ea->cls_score = at->cls_score;
        }
    }
    for (int i = 0; i < n_low; i++, n++) {
        a->ev_dets[n] = a->low[i];
        memset(&a->ev_attrs[n], 0, sizeof(a->ev_attrs[n]));
    }
    vg_events_detected(a->events, &ef, a->ev_dets, a->ev_attrs, n, emit_counted, a, a->ev_ids);
    /* publish the confident ones that no object mask dropped, with their track */
    int k = 0;
    for (int i = 0; i < n_conf; i++) {
        if (vg_events_masked(a->events, &a->ev_dets[i]))
            continue;
        a->dets[k] = a->dets[i];
        if (a->cfg.cascade)
            a->attrs[k] = a->attrs[i];
        a->track_ids[k++] = a->ev_ids[i];
    }
    return k;
}

/* Moves the detections below their label's min_score (or below floor, on
 * a corrected frame) out of a->dets into a->low (the tracker's second
 * stage); returns how many stay. */
static int split_low(vg_analysis_t *a, int n, float floor, int *ret_low)
{
    int k = 0, low = 0;
    for (int i = 0; i < n; i++) {
        float min = vg_events_min_score(a->events, a->dets[i].label);
        if (a->dets[i].score >= (min > floor ? min : floor))
            a->dets[k++] = a->dets[i];
        else
            a->low[low++] = a->dets[i];
    }
    *ret_low = low;
    return k;
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
            vg_jsonw_key(&w, "track_id");
            if (a->ev_ids[i] && !m->warming_up && !m->lightswitch)
                vg_jsonw_uint(&w, a->ev_ids[i]);
            else
                vg_jsonw_null(&w);
            vg_jsonw_object_end(&w);
        }
    }
    for (int i = 0; i < n_dets; i++)
        vg_analysis_write_object(&w, det_label(a, i), &a->dets[i], a->cfg.cascade,
                                 a->cfg.cascade ? &a->attrs[i] : NULL, a->track_ids[i]);
    vg_jsonw_array_end(&w);
    vg_jsonw_object_end(&w);
    send(a, a->topic_det, &w, emit, emitter);
}

void vg_analysis_write_object(vg_jsonw_t *w, const char *label, const vg_det_t *d, const vg_cascade_t *cascade,
                              const vg_cascade_attr_t *at, uint64_t track_id)
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
    vg_jsonw_key(w, "track_id");
    if (track_id)
        vg_jsonw_uint(w, track_id);
    else
        vg_jsonw_null(w);
    const char *expr = at && cascade ? vg_cascade_expression(cascade, at->expression) : NULL;
    /* a person carries the face found on it; a face object (added by the
     * cascade, at->label set) only its expression */
    bool face = at && at->has_face && !at->label;
    const char *cls = at && cascade ? vg_cascade_class(cascade, at->cls) : NULL;
    if (face || expr || cls) {
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
        if (cls) {
            vg_jsonw_key(w, "class");
            vg_jsonw_string(w, cls);
            vg_jsonw_key(w, "class_score");
            vg_jsonw_double(w, at->cls_score, 4);
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
 * objects in it: on a corrected frame, only detections above the floor the
 * corrections set for the gain they applied (vg_correct_min_score; the
 * model's threshold when nothing was brightened) are confident; those below
 * go to the tracker's low-score stage, which continues tracks but starts
 * none and publishes nothing. 0 when the frame was not corrected. */
static float score_floor(const vg_analysis_t *a, uint32_t corrected)
{
    if (!corrected || !a->cfg.detector || !a->correct)
        return 0;
    return vg_correct_min_score(a->correct, vg_detector_threshold(a->cfg.detector));
}

/* What follows the detector's result: the cascade on its confident
 * detections, the tracker and events, counters and messages. n_dets < 0:
 * the detector did not run (-1) or failed (-errno); detect_start_ns 0: it
 * was not asked to. */
static void finish(vg_analysis_t *a, const vg_frame_t *f, const vg_motion_result_t *m, int n_dets,
                   uint32_t corrected, const vg_image_t *img, int64_t detect_start_ns, vg_emit_fn emit,
                   void *emitter)
{
    int n_low = 0;
    a->cur_emit = emit;
    a->cur_emitter = emitter;
    a->cur_img = detect_start_ns && n_dets >= 0 ? img : NULL;
    if (detect_start_ns) {
        if (n_dets >= 0)
            n_dets = split_low(a, n_dets, score_floor(a, corrected), &n_low);
        if (n_dets >= 0 && a->cfg.cascade)
            n_dets = vg_cascade_run(a->cfg.cascade, img, a->dets, n_dets, VG_DETECT_MAX, a->attrs);
        STAT_ADD(a, detect_ns, (uint64_t)(mono_ns() - detect_start_ns));
        if (n_dets == -EAGAIN) {
            STAT_ADD(a, detect_dropped, 1); /* inference is behind: this frame goes without */
        } else if (n_dets < 0) {
            STAT_ADD(a, detect_errors, 1);
        } else {
            STAT_ADD(a, detect_frames, 1);
            /* relaxed: a status reading for stats */
            atomic_store_explicit(&a->stats.correct_active, corrected, memory_order_relaxed);
        }
    }
    int published = run_events(a, f, m, detect_start_ns ? n_dets : -1, n_low);
    if (detect_start_ns) {
        a->last.n = published >= 0 ? published : -1;
        a->last.error = n_dets < 0 ? n_dets : 0;
        a->last.corrected = corrected;
        a->last.image = *img;
        if (published > 0)
            STAT_ADD(a, detections, (uint64_t)published);
    }
    /* relaxed: statistics */
    atomic_store_explicit(&a->stats.events, vg_events_started(a->events), memory_order_relaxed);
    /* for the live view (vg_analysis_objects) */
    if (detect_start_ns && published >= 0)
        a->last_n_dets = published;
    else if (!a->cfg.detector && !a->cfg.cascade) {
        /* a few boxes, copied: m lives on the caller's stack */
        a->last_n_motion = m->n_boxes;
        memcpy(a->last_motion, m->boxes, (size_t)m->n_boxes * sizeof(m->boxes[0]));
    }
    if (a->cfg.publish_detections)
        emit_detections(a, f, m, detect_start_ns ? published : -1, corrected, emit, emitter);
    a->cur = NULL;
}

int vg_analysis_frame(vg_analysis_t *a, const vg_frame_t *f, vg_emit_fn emit, void *emitter)
{
    int64_t t0 = mono_ns();
    a->last = (vg_analysis_result_t){.n = -1, .dets = a->dets, .attrs = a->cfg.cascade ? a->attrs : NULL,
                                     .track_ids = a->track_ids};
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
    a->cur_emit = emit;
    a->cur_emitter = emitter;
    vg_events_flush(a->events, reason, emit_counted, a);
}

/* The events' snapshot callback, on the worker finishing frame a->cur: the
 * decoded picture, or the corrected analysis copy (snapshots.corrected). */
static int take_snapshot(void *arg, const vg_events_snap_t *snap)
{
    vg_analysis_t *a = arg;
    if (!a->cur)
        return -EINVAL;
    vg_image_t img;
    int r;
    if (a->cfg.snapshots.corrected && a->cur_img)
        img = *a->cur_img;
    else if ((r = vg_image_from_frame(a->cur->av, &img)) < 0)
        return r;
    const uint8_t *jpeg;
    size_t len;
    if ((r = vg_snapshot_encode(a->snapshot, &img, snap, &jpeg, &len)) < 0)
        return r;
    /* [topic][json][jpeg] on snap.<camera> */
    vg_jsonw_t w;
    char json[1024];
    vg_jsonw_init(&w, json, sizeof(json));
    vg_jsonw_object_begin(&w);
    frame_header(&w, a->cur->wall_us, a->cur->pts, a->cur->pts_time);
    vg_jsonw_key(&w, "id");
    vg_jsonw_string(&w, snap->event_id);
    vg_jsonw_key(&w, "label");
    vg_jsonw_string(&w, snap->label);
    vg_jsonw_key(&w, "score");
    vg_jsonw_double(&w, snap->score, 4);
    vg_jsonw_key(&w, "box");
    write_box(&w, (int[4]){(int)snap->box.x1, (int)snap->box.y1, (int)snap->box.x2, (int)snap->box.y2});
    vg_jsonw_key(&w, "bytes");
    vg_jsonw_uint(&w, len);
    vg_jsonw_object_end(&w);
    int jl = vg_jsonw_finish(&w);
    if (jl > 0 && a->cfg.emit_snapshot &&
        a->cfg.emit_snapshot(a->cur_emitter, a->topic_snap, a->cfg.camera, json, (size_t)jl, jpeg, len) < 0)
        STAT_ADD(a, emit_dropped, 1);
    if ((r = vg_snapshot_write(a->snapshot, snap->event_id, jpeg, len)) < 0)
        STAT_ADD(a, snapshot_errors, 1);
    STAT_ADD(a, snapshots, 1);
    return 0;
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
