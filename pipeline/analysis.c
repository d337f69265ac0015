/* analysis.c: see analysis.h. */
#include "pipeline/analysis.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libavutil/pixdesc.h>

#include "pipeline/jsonw.h"

#define MSG_CAP 8192

typedef struct {
    bool active;
    char id[96];
    uint64_t counter;
    int64_t start_wall_us;
    double start_pts_time;
    double last_motion_pts_time;
    double last_update_pts_time;
    double score, top_score;
    int box[4];            /* union of the motion boxes, source pixels */
    int n_boxes;
    int64_t last_wall_us;  /* of the last frame with motion */
    int64_t last_pts;
    double last_pts_time;
} event_state_t;

struct vg_analysis {
    vg_analysis_config_t cfg;
    char topic_det[96], topic_event[96];
    vg_motion_t *motion;
    event_state_t ev;
    vg_analysis_stats_t stats;
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
    int r = vg_motion_new(&cfg->motion, &a->motion);
    if (r < 0) {
        free(a);
        return r;
    }
    *ret = a;
    return 0;
}

void vg_analysis_free(vg_analysis_t **a)
{
    if (!a || !*a)
        return;
    vg_motion_free(&(*a)->motion);
    free(*a);
    *a = NULL;
}

const vg_analysis_stats_t *vg_analysis_stats(const vg_analysis_t *a) { return &a->stats; }

#define STAT_ADD(a, field, n) atomic_fetch_add_explicit(&(a)->stats.field, (n), memory_order_relaxed)

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

/* Fields every message about a frame carries (besides camera and seq). */
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

static void emit_event(vg_analysis_t *a, const char *type, int64_t wall_us, int64_t pts, double pts_time,
                       const char *reason, vg_emit_fn emit, void *emitter)
{
    event_state_t *ev = &a->ev;
    vg_jsonw_t w;
    vg_jsonw_init(&w, a->msg, sizeof(a->msg));
    vg_jsonw_object_begin(&w);
    frame_header(&w, wall_us, pts, pts_time);
    vg_jsonw_key(&w, "type");
    vg_jsonw_string(&w, type);
    vg_jsonw_key(&w, "id");
    vg_jsonw_string(&w, ev->id);
    vg_jsonw_key(&w, "label");
    vg_jsonw_string(&w, "motion");
    vg_jsonw_key(&w, "score");
    vg_jsonw_double(&w, ev->score, 4);
    vg_jsonw_key(&w, "top_score");
    vg_jsonw_double(&w, ev->top_score, 4);
    vg_jsonw_key(&w, "box");
    write_box(&w, ev->box);
    vg_jsonw_key(&w, "boxes");
    vg_jsonw_int(&w, ev->n_boxes);
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

static void update_events(vg_analysis_t *a, const vg_frame_t *f, const vg_motion_result_t *m,
                          vg_emit_fn emit, void *emitter)
{
    event_state_t *ev = &a->ev;
    if (m->n_boxes > 0) {
        int u[4] = {m->boxes[0].x1, m->boxes[0].y1, m->boxes[0].x2, m->boxes[0].y2};
        for (int i = 1; i < m->n_boxes; i++) {
            const vg_motion_box_t *b = &m->boxes[i];
            if (b->x1 < u[0]) u[0] = b->x1;
            if (b->y1 < u[1]) u[1] = b->y1;
            if (b->x2 > u[2]) u[2] = b->x2;
            if (b->y2 > u[3]) u[3] = b->y2;
        }
        bool changed = !ev->active || m->n_boxes != ev->n_boxes || box_iou(u, ev->box) < 0.7;
        ev->score = m->changed;
        memcpy(ev->box, u, sizeof(u));
        ev->n_boxes = m->n_boxes;
        ev->last_motion_pts_time = f->pts_time;
        ev->last_wall_us = f->wall_us;
        ev->last_pts = f->pts;
        ev->last_pts_time = f->pts_time;
        if (!ev->active) {
            ev->active = true;
            ev->counter++;
            ev->start_wall_us = f->wall_us;
            ev->start_pts_time = f->pts_time;
            ev->last_update_pts_time = f->pts_time;
            ev->top_score = m->changed;
            snprintf(ev->id, sizeof(ev->id), "%s-%" PRId64 "-%" PRIu64, a->cfg.camera,
                     f->wall_us / 1000, ev->counter);
            STAT_ADD(a, events, 1);
            emit_event(a, "start", f->wall_us, f->pts, f->pts_time, NULL, emit, emitter);
            return;
        }
        if (m->changed > ev->top_score)
            ev->top_score = m->changed;
        if (changed && f->pts_time - ev->last_update_pts_time >= a->cfg.event_update_every_s) {
            ev->last_update_pts_time = f->pts_time;
            emit_event(a, "update", f->wall_us, f->pts, f->pts_time, NULL, emit, emitter);
        }
        return;
    }
    if (ev->active && f->pts_time - ev->last_motion_pts_time >= a->cfg.event_end_after_s) {
        ev->active = false;
        emit_event(a, "end", f->wall_us, f->pts, f->pts_time, "no motion", emit, emitter);
    }
}

static void emit_detections(vg_analysis_t *a, const vg_frame_t *f, const vg_motion_result_t *m,
                            vg_emit_fn emit, void *emitter)
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
    vg_jsonw_object_end(&w);
    vg_jsonw_key(&w, "objects");
    vg_jsonw_array_begin(&w);
    for (int i = 0; i < m->n_boxes; i++) {
        const vg_motion_box_t *b = &m->boxes[i];
        vg_jsonw_object_begin(&w);
        vg_jsonw_key(&w, "label");
        vg_jsonw_string(&w, "motion");
        vg_jsonw_key(&w, "score");
        /* how much of the box actually changed */
        vg_jsonw_double(&w, b->fill, 4);
        vg_jsonw_key(&w, "box");
        write_box(&w, (int[4]){b->x1, b->y1, b->x2, b->y2});
        vg_jsonw_object_end(&w);
    }
    vg_jsonw_array_end(&w);
    vg_jsonw_object_end(&w);
    send(a, a->topic_det, &w, emit, emitter);
}

static bool has_8bit_luma(enum AVPixelFormat fmt)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fmt);
    /* planar YUV or grey with 8-bit luma in plane 0 */
    return d && !(d->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_HWACCEL)) &&
           d->comp[0].plane == 0 && d->comp[0].step == 1 && d->comp[0].depth == 8;
}

void vg_analysis_frame(vg_analysis_t *a, const vg_frame_t *f, vg_emit_fn emit, void *emitter)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (!has_8bit_luma((enum AVPixelFormat)f->av->format)) {
        STAT_ADD(a, errors, 1);
        return;
    }
    vg_motion_result_t m;
    int r = vg_motion_process(a->motion, f->av->data[0], f->av->linesize[0], f->av->width,
                              f->av->height, &m);
    if (r < 0) {
        STAT_ADD(a, errors, 1);
        return;
    }
    STAT_ADD(a, analysed, 1);
    if (m.n_boxes > 0)
        STAT_ADD(a, motion_frames, 1);
    if (a->cfg.publish_detections)
        emit_detections(a, f, &m, emit, emitter);
    update_events(a, f, &m, emit, emitter);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    STAT_ADD(a, analyse_ns,
             (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec)));
}

void vg_analysis_flush(vg_analysis_t *a, const char *reason, vg_emit_fn emit, void *emitter)
{
    event_state_t *ev = &a->ev;
    if (!ev->active)
        return;
    ev->active = false;
    emit_event(a, "end", ev->last_wall_us, ev->last_pts, ev->last_pts_time, reason, emit, emitter);
}
