/* runtime_stats.c: the runtime's stats, snapshot, totals and memory log (see runtime_priv.h). */
#include "daemon/runtime_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/log.h"
#include "daemon/procstat.h"
#include "pipeline/correct/correct.h"
#include "pipeline/jsonw.h"

/* Reads the camera's counters (daemon/counters.h), each relaxed: statistics,
 * not a consistent cut. */
static void read_counters(const camera_t *cam, vg_camera_counters_t *ret)
{
    const vg_source_stats_t *s = vg_source_stats(cam->source);
    const vg_analysis_stats_t *a = vg_analysis_stats(cam->analysis);
    uint64_t dropped_shutdown = cam->dropped_shutdown;
    uint64_t ring_fill = cam->retired ? 0 : vg_ring_count(cam->ring);
    /* the analysis' messages and the camera's own (health, stats) */
    uint64_t dropped_publish = load(&a->emit_dropped) + load(&cam->publish_lost);
    const vg_recorder_stats_t *rs = cam->recorder ? vg_recorder_stats(cam->recorder) : NULL;
#define VG_FROM_SOURCE(member) load(&s->member)
#define VG_FROM_ANALYSIS(member) load(&a->member)
#define VG_FROM_CAMERA(local) local
#define VG_FROM_RECORDER(member) (rs ? load(&rs->member) : 0)
#define READ_(name, from, ...) ret->name = from;
    VG_CAMERA_COUNTERS(READ_)
#undef READ_
#undef VG_FROM_CAMERA
#undef VG_FROM_RECORDER
#undef VG_FROM_ANALYSIS
#undef VG_FROM_SOURCE
}

void add_totals(vg_runtime_totals_t *t, const camera_t *cam)
{
    vg_camera_counters_t c;
    read_counters(cam, &c);
    vg_camera_counters_add(&t->counters, &c);
}

/* The counters that sit in one place of the `stats` message, in list order. */
static void json_counters(vg_jsonw_t *w, const vg_camera_counters_t *c, vg_counter_json_t where)
{
    for (int i = 0; i < vg_camera_counter_count; i++) {
        if (vg_camera_counter_info[i].json != where)
            continue;
        vg_jsonw_key(w, vg_camera_counter_info[i].json_key);
        vg_jsonw_uint(w, vg_camera_counter_get(c, i));
    }
}

void emit_stats(vg_runtime_t *rt, camera_t *cam, int64_t now_mono, long rss, double cpu_s)
{
    const vg_source_stats_t *s = vg_source_stats(cam->source);
    const vg_analysis_stats_t *a = vg_analysis_stats(cam->analysis);
    vg_camera_counters_t c;
    read_counters(cam, &c);
    double dt = (now_mono - cam->mark.at_us) / 1e6;
    uint64_t lat[VG_LATENCY_BUCKETS], lat_sum, lat_n = 0;
    vg_latency_read(&cam->latency, lat, &lat_sum);
    for (int i = 0; i < VG_LATENCY_BUCKETS; i++) {
        uint64_t total = lat[i];
        lat[i] -= cam->latency_mark[i]; /* this interval only */
        lat_n += lat[i];
        cam->latency_mark[i] = total;
    }
    cam->fps_decoded = dt > 0 ? (c.decoded - cam->mark.decoded) / dt : 0;
    cam->fps_analysed = dt > 0 ? (c.analysed - cam->mark.analysed) / dt : 0;
    static const double q[3] = {0.50, 0.95, 0.99};
    for (int i = 0; i < 3; i++)
        cam->latency_ms[i] = vg_latency_quantile_ms(lat, q[i]);
    vg_jsonw_t w;
    vg_jsonw_init(&w, rt->msg, sizeof(rt->msg));
    vg_jsonw_object_begin(&w);
    vg_jsonw_key(&w, "time");
    vg_jsonw_time(&w, now_us(CLOCK_REALTIME));
    vg_jsonw_key(&w, "interval_s");
    vg_jsonw_double(&w, dt, 3);
    vg_jsonw_key(&w, "state");
    /* relaxed: a status reading */
    vg_jsonw_string(&w, vg_source_state_name(
                            (vg_source_state_t)atomic_load_explicit(&s->state, memory_order_relaxed)));
    /* why it is in that state: a subscriber that joins late learns it here */
    char why[TEXT_MAX];
    pthread_mutex_lock(&cam->reason_lock);
    memcpy(why, cam->reason, sizeof(why));
    pthread_mutex_unlock(&cam->reason_lock);
    vg_jsonw_key(&w, "reason");
    vg_jsonw_string(&w, why);
    vg_jsonw_key(&w, "width");
    vg_jsonw_int(&w, atomic_load_explicit(&s->width, memory_order_relaxed));
    vg_jsonw_key(&w, "height");
    vg_jsonw_int(&w, atomic_load_explicit(&s->height, memory_order_relaxed));
    vg_jsonw_key(&w, "frames");
    vg_jsonw_object_begin(&w);
    json_counters(&w, &c, VG_COUNTER_JSON_FRAMES);
    vg_jsonw_object_end(&w);
    json_counters(&w, &c, VG_COUNTER_JSON_TOP);
    vg_jsonw_key(&w, "dropped");
    vg_jsonw_object_begin(&w);
    json_counters(&w, &c, VG_COUNTER_JSON_DROPPED);
    vg_jsonw_object_end(&w);
    vg_jsonw_key(&w, "fps");
    vg_jsonw_object_begin(&w);
    vg_jsonw_key(&w, "decoded");
    vg_jsonw_double(&w, cam->fps_decoded, 2);
    vg_jsonw_key(&w, "analysed");
    vg_jsonw_double(&w, cam->fps_analysed, 2);
    vg_jsonw_object_end(&w);
    vg_jsonw_key(&w, "latency_ms");
    vg_jsonw_object_begin(&w);
    vg_jsonw_key(&w, "frames");
    vg_jsonw_uint(&w, lat_n);
    vg_jsonw_key(&w, "p50");
    vg_jsonw_double(&w, cam->latency_ms[0], 3);
    vg_jsonw_key(&w, "p95");
    vg_jsonw_double(&w, cam->latency_ms[1], 3);
    vg_jsonw_key(&w, "p99");
    vg_jsonw_double(&w, cam->latency_ms[2], 3);
    vg_jsonw_object_end(&w);
    vg_jsonw_key(&w, "analysis_ms");
    vg_jsonw_double(&w, c.analysed ? c.analyse_ns / 1e6 / c.analysed : 0, 3);
    vg_jsonw_key(&w, "detect");
    vg_jsonw_object_begin(&w);
    vg_jsonw_key(&w, "model");
    if (cam->detector)
        vg_jsonw_string(&w, vg_detector_name(cam->detector));
    else
        vg_jsonw_null(&w);
    json_counters(&w, &c, VG_COUNTER_JSON_DETECT);
    if (cam->actor) {
        /* the model's inference thread, shared by the cameras using it */
        uint64_t runs = 0, images = 0;
        vg_inference_counts(cam->actor, &runs, &images);
        vg_jsonw_key(&w, "inference_runs");
        vg_jsonw_uint(&w, runs);
        vg_jsonw_key(&w, "inference_images");
        vg_jsonw_uint(&w, images);
    }
    vg_jsonw_key(&w, "ms");
    vg_jsonw_double(&w, c.detect_frames ? c.detect_ns / 1e6 / c.detect_frames : 0, 2);
    char names[64];
    /* relaxed: a status reading */
    vg_correct_names(atomic_load_explicit(&a->correct_active, memory_order_relaxed), names, sizeof(names));
    vg_jsonw_key(&w, "corrections");
    vg_jsonw_string(&w, names);
    vg_jsonw_object_end(&w);
    json_counters(&w, &c, VG_COUNTER_JSON_TAIL);
    /* per label: objects present and events started; per line: crossings */
    vg_analysis_write_objects_stats(cam->analysis, &w);
    if (cam->recorder) {
        /* stream copy to disk (capture/recorder.h) */
        const vg_recorder_stats_t *rs = vg_recorder_stats(cam->recorder);
        vg_jsonw_key(&w, "record");
        vg_jsonw_object_begin(&w);
        vg_jsonw_key(&w, "mode");
        vg_jsonw_string(&w, vg_record_mode_name((vg_record_mode_t)cam->cfg.record_mode));
        vg_jsonw_key(&w, "recording");
        /* relaxed: status readings */
        vg_jsonw_bool(&w, atomic_load_explicit(&rs->recording, memory_order_relaxed) != 0);
        vg_jsonw_key(&w, "behind");
        vg_jsonw_bool(&w, atomic_load_explicit(&rs->behind, memory_order_relaxed) != 0);
        vg_jsonw_key(&w, "disk_full");
        vg_jsonw_bool(&w, atomic_load_explicit(&rs->disk_full, memory_order_relaxed) != 0);
        json_counters(&w, &c, VG_COUNTER_JSON_RECORD);
        vg_jsonw_key(&w, "preroll_bytes");
        vg_jsonw_uint(&w, load(&rs->preroll_bytes));
        vg_jsonw_object_end(&w);
    }
    vg_jsonw_key(&w, "process");
    vg_jsonw_object_begin(&w);
    vg_jsonw_key(&w, "rss_bytes");
    vg_jsonw_int(&w, rss);
    vg_jsonw_key(&w, "cpu_seconds");
    vg_jsonw_double(&w, cpu_s, 2);
    vg_jsonw_key(&w, "workers");
    vg_jsonw_int(&w, rt->n_workers);
    vg_jsonw_key(&w, "published");
    vg_jsonw_uint(&w, load(&vg_publisher_stats(rt->pub)->published));
    vg_jsonw_key(&w, "publish_dropped");
    vg_jsonw_uint(&w, load(&vg_publisher_stats(rt->pub)->dropped));
    vg_jsonw_object_end(&w);
    vg_jsonw_object_end(&w);
    int len = vg_jsonw_finish(&w);
    if (len <= 0 || vg_emitter_send(rt->main_emitter, "stats", cam->cfg.name, rt->msg, (size_t)len) < 0)
        /* relaxed: a counter */
        atomic_fetch_add_explicit(&cam->publish_lost, 1, memory_order_relaxed);
    cam->mark = (rate_mark_t){c.decoded, c.analysed, now_mono};
}

void vg_runtime_totals(const vg_runtime_t *rt, vg_runtime_totals_t *ret)
{
    vg_runtime_totals_t t = rt->retired_totals;
    for (int i = 0; i < rt->n_cameras; i++)
        add_totals(&t, rt->cameras[i]);
    t.published = load(&vg_publisher_stats(rt->pub)->published);
    t.elapsed_s = (now_us(CLOCK_MONOTONIC) - rt->started_us) / 1e6;
    *ret = t;
}

void vg_runtime_snapshot(vg_runtime_t *rt, vg_runtime_snapshot_t *ret)
{
    const vg_publisher_stats_t *ps = vg_publisher_stats(rt->pub);
    ret->time_us = now_us(CLOCK_REALTIME);
    ret->workers = rt->n_workers;
    ret->published = load(&ps->published);
    ret->publish_dropped = load(&ps->dropped);
    ret->publish_invalid = load(&ps->invalid);
    ret->n_cameras = rt->n_cameras;
    for (int i = 0; i < rt->n_cameras; i++) {
        const camera_t *cam = rt->cameras[i];
        const vg_source_stats_t *s = vg_source_stats(cam->source);
        vg_runtime_camera_snapshot_t *c = &ret->cameras[i];
        snprintf(c->name, sizeof(c->name), "%s", cam->cfg.name);
        snprintf(c->model, sizeof(c->model), "%s", cam->detector ? vg_detector_name(cam->detector) : "");
        /* relaxed: status readings, like every counter here */
        c->state = atomic_load_explicit(&s->state, memory_order_relaxed);
        c->width = atomic_load_explicit(&s->width, memory_order_relaxed);
        c->height = atomic_load_explicit(&s->height, memory_order_relaxed);
        read_counters(cam, &c->counters);
        c->fps_decoded = cam->fps_decoded;
        c->fps_analysed = cam->fps_analysed;
        c->latency_p50_ms = cam->latency_ms[0];
        c->latency_p95_ms = cam->latency_ms[1];
        c->latency_p99_ms = cam->latency_ms[2];
        vg_latency_read(&cam->latency, c->latency, &c->latency_sum_us);
    }
}

size_t vg_runtime_snapshot_size(const vg_runtime_snapshot_t *snap)
{
    return offsetof(vg_runtime_snapshot_t, cameras) + (size_t)snap->n_cameras * sizeof(snap->cameras[0]);
}

/* What a decoder keeps for itself beside the pictures the pipeline holds,
 * in pictures: 4 for references and reordering (counted for an x264 stream
 * with B-frames; cameras' streams without them keep fewer) and about 2
 * pictures' worth of per-macroblock tables and contexts (H.264). */
#define DECODER_FRAMES_ESTIMATE 6
/* Libraries' code and data (oneDNN's generated kernels among them),
 * threads' stacks, the allocator: resident with the default model less
 * its frames and arenas, measured. */
#define PROCESS_BASE_MB 50.0
/* A camera's correction state in auto at most (pipeline/correct/correct.h) */
#define CORRECT_BYTES_PER_PIXEL 13

void vg_runtime_log_memory(const vg_runtime_t *rt)
{
    double frames_mb = 0, motion_mb = 0, correct_mb = 0, models_mb = 0;
    int unknown = 0;
    for (int i = 0; i < rt->n_cameras; i++) {
        const camera_t *cam = rt->cameras[i];
        const vg_camera_config_t *c = &cam->cfg;
        const vg_source_stats_t *st = cam->source ? vg_source_stats(cam->source) : NULL;
        /* relaxed: a figure for the log */
        int w = st ? atomic_load_explicit(&st->width, memory_order_relaxed) : 0;
        int h = st ? atomic_load_explicit(&st->height, memory_order_relaxed) : 0;
        if (w <= 0 || h <= 0) {
            w = 1920, h = 1080; /* not opened yet: sized for 1080p */
            unknown++;
        }
        double frame_mb = (double)w * h * 1.5 / (1 << 20);
        frames_mb += (c->ring_size + 3 + DECODER_FRAMES_ESTIMATE) * frame_mb;
        motion_mb += (double)c->motion_width * c->motion_width * 9 / 16 * 16 / (1 << 20);
        if (c->correct_mode != VG_CORRECT_MODE_OFF)
            correct_mb += (double)w * h * CORRECT_BYTES_PER_PIXEL / (1 << 20);
    }
    for (int i = 0; i < rt->n_models; i++)
        if (rt->models[i]->actor)
            models_mb += vg_inference_memory(rt->models[i]->actor) / (double)(1 << 20);
    /* the publisher's catch-up log, held from each camera's first message */
    double catchup_mb = rt->opt.print_to ? 0
                                         : (double)rt->cfg->catchup_bytes * rt->n_cameras / (1 << 20) +
                                               (double)rt->cfg->catchup_messages * rt->n_cameras * 24 / (1 << 20);
    double record_mb = record_memory_mb(rt);
    double total = PROCESS_BASE_MB + frames_mb + motion_mb + correct_mb + models_mb + catchup_mb + record_mb;
    vg_procstat_t p = {0};
    vg_procstat_read(&p);
    char sized[64] = "";
    if (unknown)
        snprintf(sized, sizeof(sized), ", %d not open yet counted at 1080p", unknown);
    vg_log(VG_LOG_INFO,
           "memory budget: %.0f MB = process ~%.0f + frames %.0f (ring + 3 + decoder ~%d per camera) + motion %.1f + "
           "corrections up to %.0f + models %.0f + catch-up log %.1f (%d messages or %d bytes per camera) + "
           "recording queues and pre-rolls up to %.0f, for %d camera%s%s; resident now %.0f MB",
           total, PROCESS_BASE_MB, frames_mb, DECODER_FRAMES_ESTIMATE, motion_mb, correct_mb, models_mb, catchup_mb,
           rt->cfg->catchup_messages, rt->cfg->catchup_bytes, record_mb,
           rt->n_cameras, rt->n_cameras == 1 ? "" : "s", sized, (double)p.rss_bytes / (1 << 20));
}
