/* runtime.c: see runtime.h. */
#include "daemon/runtime.h"

#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "capture/source.h"
#include "daemon/procstat.h"
#include "daemon/publisher.h"
#include "daemon/log.h"
#include "daemon/model_map.h"
#include "models/heads/manifest.h"
#include "pipeline/analysis.h"
#include "pipeline/cascade.h"
#include "pipeline/correct/correct.h"
#include "pipeline/detect.h"
#include "pipeline/inference.h"
#include "pipeline/jsonw.h"
#include "pipeline/workers.h"

#define MSG_CAP 4096

typedef struct {
    uint64_t decoded, analysed;
    int64_t at_us;
} rate_mark_t;

/* A loaded model, shared by the cameras that name it. */
typedef struct {
    vg_model_config_t cfg;   /* copy; cfg.path/labels point at the config that loaded it */
    char *path, *labels;     /* our copies of cfg.path and cfg.labels */
    vg_inference_t *actor;   /* the thread that owns and runs it; NULL when it failed to load */
    vg_detector_t *detector; /* the actor's (labels, names, memory); NULL when it failed */
    char error[512];         /* why it failed */
} model_t;

typedef struct camera {
    struct vg_runtime *rt;
    vg_detector_t *detector;       /* borrowed from a model_t; NULL = motion only */
    vg_inference_t *actor;         /* borrowed: the detector's actor, or NULL */
    vg_inference_t *face, *expression; /* borrowed: the cascade's models' actors */
    vg_cascade_t *cascade;         /* faces -> expression; NULL = none */
    vg_camera_config_t cfg;        /* copy; url points to our own copy */
    char *url;
    char topic_health[96];
    vg_ring_t *ring;
    vg_frame_pool_t *pool;
    vg_analysis_t *analysis;
    vg_source_t *source;
    vg_emitter_t *health_emitter;  /* used by the capture thread only */
    char health_msg[MSG_CAP];      /* capture thread only */
    int queue;                     /* worker queue id, -1 when not queued */
    bool retired;                  /* capture ended and the queue was removed */
    uint64_t dropped_shutdown;     /* frames left in the ring at removal */
    rate_mark_t mark;              /* for fps over the stats interval */
    vg_latency_t latency;          /* capture -> publish; workers write, main reads */
    uint64_t latency_mark[VG_LATENCY_BUCKETS]; /* main: counts at the last stats */
    double fps_decoded, fps_analysed;          /* main: as in the last stats */
    double latency_ms[3];                      /* main: p50, p95, p99 in the last stats */
} camera_t;

struct vg_runtime {
    const vg_config_t *cfg;
    vg_runtime_options_t opt;
    void *zctx;
    vg_publisher_t *pub;
    vg_workers_t *workers;
    int n_workers;
    vg_emitter_t *worker_emitters[VG_WORKERS_MAX];
    vg_emitter_t *main_emitter;
    camera_t *cameras[VG_CONFIG_MAX_CAMERAS];
    int n_cameras;
    model_t *models[VG_CONFIG_MAX_MODELS];
    int n_models;
    int batch;               /* daemon.inference_batch at start */
    int64_t batch_wait_us;   /* daemon.inference_wait at start */
    int64_t started_us, last_stats_us;
    uint64_t last_progress; /* worker frames handled at the last watchdog check */
    uint64_t last_publisher_loops; /* publisher turns at the last watchdog check */
    /* cameras removed by reload: their totals still count */
    vg_runtime_totals_t retired_totals;
    char msg[MSG_CAP];
};

static int64_t now_us(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static uint64_t load(const _Atomic uint64_t *v)
{
    /* relaxed: statistics */
    return atomic_load_explicit(v, memory_order_relaxed);
}

/* Capture thread: a state change of the camera's source. */
static void on_health(void *opaque, vg_source_state_t state, const char *reason)
{
    camera_t *cam = opaque;
    vg_jsonw_t w;
    vg_jsonw_init(&w, cam->health_msg, sizeof(cam->health_msg));
    vg_jsonw_object_begin(&w);
    vg_jsonw_key(&w, "time");
    vg_jsonw_time(&w, now_us(CLOCK_REALTIME));
    vg_jsonw_key(&w, "state");
    vg_jsonw_string(&w, vg_source_state_name(state));
    vg_jsonw_key(&w, "reason");
    vg_jsonw_string(&w, reason);
    vg_jsonw_key(&w, "url");
    vg_jsonw_string(&w, cam->url);
    vg_jsonw_object_end(&w);
    int len = vg_jsonw_finish(&w);
    if (len > 0)
        vg_emitter_send(cam->health_emitter, cam->topic_health, cam->cfg.name, cam->health_msg, (size_t)len);
}

static void on_frame_queued(void *opaque)
{
    camera_t *cam = opaque;
    vg_workers_notify(cam->rt->workers);
}

/* VIGIL_DEBUG_STALL_WORKERS=S makes every worker stop making progress S
 * seconds after start (until vigild stops), so that tests can check that
 * the systemd watchdog is then no longer fed. Read once at start. */
static int64_t debug_stall_at_us;
static _Atomic int debug_stall_release; /* main sets it when stopping */

static void debug_stall(void)
{
    if (!debug_stall_at_us || now_us(CLOCK_MONOTONIC) < debug_stall_at_us)
        return;
    /* relaxed: polled; nothing else rides on it */
    while (!atomic_load_explicit(&debug_stall_release, memory_order_relaxed)) {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
}

static int handle_frame(void *camera, vg_frame_t *frame, void *worker_ctx)
{
    camera_t *cam = camera;
    debug_stall();
    if (vg_analysis_frame(cam->analysis, frame, vg_emitter_send, worker_ctx) == VG_ANALYSIS_PARKED)
        return VG_WORKER_PARKED;
    /* capture to publish: from the decode (wall_us) until the analysis has
     * handed its messages to the publisher queue */
    vg_latency_record(&cam->latency, now_us(CLOCK_REALTIME) - frame->wall_us);
    return VG_WORKER_DONE;
}

/* A worker: the parked frame's detections are in. */
static void handle_resume(void *camera, vg_frame_t *frame, void *worker_ctx)
{
    camera_t *cam = camera;
    vg_analysis_resume(cam->analysis, frame, vg_emitter_send, worker_ctx);
    vg_latency_record(&cam->latency, now_us(CLOCK_REALTIME) - frame->wall_us);
}

/* The inference thread: hand the camera back to the workers. */
static void camera_detected(void *arg)
{
    camera_t *cam = arg;
    vg_workers_resume(cam->rt->workers, cam->queue);
}

static void camera_free(camera_t **pcam)
{
    camera_t *cam = *pcam;
    if (!cam)
        return;
    vg_source_free(&cam->source);
    vg_emitter_free(&cam->health_emitter);
    vg_analysis_free(&cam->analysis);
    vg_cascade_free(&cam->cascade);
    vg_ring_free(&cam->ring);
    vg_frame_pool_free(&cam->pool);
    free(cam->url);
    free(cam);
    *pcam = NULL;
}

/* The loaded model called name among models[0..n), or NULL. */
static model_t *find_model(model_t *const *models, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(models[i]->cfg.name, name) == 0)
            return models[i];
    return NULL;
}

/* Its actor, or NULL when absent or failed to load. */
static vg_inference_t *model_actor(model_t *const *models, int n, const char *name)
{
    model_t *m = name[0] ? find_model(models, n, name) : NULL;
    return m ? m->actor : NULL;
}

static int camera_start(vg_runtime_t *rt, const vg_camera_config_t *cc, camera_t **ret)
{
    camera_t *cam = calloc(1, sizeof(*cam));
    if (!cam)
        return -ENOMEM;
    int r = -ENOMEM;
    cam->rt = rt;
    if (cc->detect_model[0] && cc->detect_when != VG_DETECT_NEVER) {
        model_t *m = find_model(rt->models, rt->n_models, cc->detect_model);
        cam->detector = m ? m->detector : NULL;
        cam->actor = m ? m->actor : NULL;
        if (!cam->detector)
            vg_log(VG_LOG_WARNING, "camera '%s': model '%s' is not available; the camera runs with motion only",
                   cc->name, cc->detect_model);
    }
    if (cc->faces_model[0]) {
        vg_inference_t *face = cam->face = model_actor(rt->models, rt->n_models, cc->faces_model);
        vg_inference_t *expression = cam->expression = model_actor(rt->models, rt->n_models, cc->faces_expression);
        if (!face || (cc->faces_expression[0] && !expression)) {
            vg_log(VG_LOG_WARNING, "camera '%s': face model '%s' or expression model '%s' is not available; "
                   "no faces on this camera", cc->name, cc->faces_model, cc->faces_expression);
        } else {
            vg_cascade_config_t kc = {.face = vg_inference_detector(face),
                                      .expression = expression ? vg_inference_detector(expression) : NULL,
                                      .face_actor = face, .expression_actor = expression,
                                      .detector = cam->detector,
                                      .on = cc->faces_on == VG_FACES_ON_FRAME ? VG_CASCADE_ON_FRAME
                                                                              : VG_CASCADE_ON_PERSON};
            if ((r = vg_cascade_new(&kc, &cam->cascade)) < 0)
                goto fail;
        }
    }
    cam->cfg = *cc;
    cam->queue = -1;
    cam->url = strdup(cc->url);
    if (!cam->url)
        goto fail;
    cam->cfg.url = cam->url;
    snprintf(cam->topic_health, sizeof(cam->topic_health), "health.%s", cc->name);
    if ((r = vg_ring_new((uint32_t)cc->ring_size, &cam->ring)) < 0)
        goto fail;
    /* ring + one frame in a worker + one being decoded + one evicted spare */
    if ((r = vg_frame_pool_new((uint32_t)cc->ring_size + 3, &cam->pool)) < 0)
        goto fail;
    vg_analysis_config_t ac = {
        .camera = cam->cfg.name,
        .motion = {.threshold = cc->motion_threshold, .min_area = cc->motion_min_area, .width = cc->motion_width},
        .publish_detections = rt->cfg->publish_detections,
        .detector = cam->detector,
        .cascade = cam->cascade,
        .inference = cam->actor,
        .wait_for_inference = rt->opt.lossless,
        .detected = camera_detected,
        .detected_arg = cam,
        .detect_when = cc->detect_when,
        .correct_mode = cc->correct_mode,
        .correct_mask = cc->correct_mask,
    };
    if ((r = vg_analysis_new(&ac, &cam->analysis)) < 0)
        goto fail;
    if ((r = vg_emitter_new(rt->pub, &cam->health_emitter)) < 0)
        goto fail;
    r = vg_workers_add(rt->workers, cam->ring, cam->pool, handle_frame, handle_resume, cam);
    if (r < 0)
        goto fail;
    cam->queue = r;
    cam->mark.at_us = now_us(CLOCK_MONOTONIC);
    vg_source_config_t sc = {
        .name = cam->cfg.name,
        .url = cam->url,
        .realtime = cc->realtime,
        .loop = cc->loop,
        .analysis_fps = cc->analysis_fps,
        .decode_threads = cc->decode_threads,
        .timeout_us = cc->timeout_us,
        .rtsp_transport = cam->cfg.rtsp_transport,
        .v4l2_width = cc->v4l2_width,
        .v4l2_height = cc->v4l2_height,
        .v4l2_fps = cc->v4l2_fps,
        .ring = cam->ring,
        .pool = cam->pool,
        .notify = on_frame_queued,
        .health = on_health,
        .opaque = cam,
    };
    if ((r = vg_source_new(&sc, &cam->source)) < 0)
        goto fail;
    *ret = cam;
    return 0;
fail:
    if (cam->queue >= 0)
        vg_workers_remove(rt->workers, cam->queue);
    camera_free(&cam);
    return r;
}

static void add_totals(vg_runtime_totals_t *t, const camera_t *cam)
{
    const vg_source_stats_t *s = vg_source_stats(cam->source);
    const vg_analysis_stats_t *a = vg_analysis_stats(cam->analysis);
    t->decoded += load(&s->decoded);
    t->decode_errors += load(&s->decode_errors);
    t->skipped += load(&s->skipped);
    t->dropped_ring += load(&s->dropped_ring);
    t->dropped_pool += load(&s->dropped_pool);
    t->analysed += load(&a->analysed);
    t->motion_frames += load(&a->motion_frames);
    t->events += load(&a->events);
    t->dropped_publish += load(&a->emit_dropped);
    t->dropped_shutdown += cam->dropped_shutdown;
}

/* Stops the camera's capture, lets the workers finish its queued frames (up
 * to drain_ms), removes its queue and ends its open event. */
static void camera_retire(vg_runtime_t *rt, camera_t *cam, int drain_ms, const char *reason)
{
    if (cam->retired)
        return;
    vg_source_stop(cam->source);
    /* wait for the capture thread to end so nothing pushes any more */
    while (!vg_source_done(cam->source)) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    if (drain_ms > 0)
        vg_workers_drain(rt->workers, cam->queue, drain_ms);
    int left = vg_workers_remove(rt->workers, cam->queue);
    cam->dropped_shutdown += (uint64_t)(left > 0 ? left : 0);
    cam->queue = -1;
    vg_analysis_flush(cam->analysis, reason, vg_emitter_send, rt->main_emitter);
    cam->retired = true;
}

static void emit_stats(vg_runtime_t *rt, camera_t *cam, int64_t now_mono, long rss, double cpu_s)
{
    const vg_source_stats_t *s = vg_source_stats(cam->source);
    const vg_analysis_stats_t *a = vg_analysis_stats(cam->analysis);
    uint64_t decoded = load(&s->decoded), analysed = load(&a->analysed);
    double dt = (now_mono - cam->mark.at_us) / 1e6;
    uint64_t lat[VG_LATENCY_BUCKETS], lat_sum, lat_n = 0;
    vg_latency_read(&cam->latency, lat, &lat_sum);
    for (int i = 0; i < VG_LATENCY_BUCKETS; i++) {
        uint64_t total = lat[i];
        lat[i] -= cam->latency_mark[i]; /* this interval only */
        lat_n += lat[i];
        cam->latency_mark[i] = total;
    }
    cam->fps_decoded = dt > 0 ? (decoded - cam->mark.decoded) / dt : 0;
    cam->fps_analysed = dt > 0 ? (analysed - cam->mark.analysed) / dt : 0;
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
    vg_jsonw_key(&w, "width");
    vg_jsonw_int(&w, atomic_load_explicit(&s->width, memory_order_relaxed));
    vg_jsonw_key(&w, "height");
    vg_jsonw_int(&w, atomic_load_explicit(&s->height, memory_order_relaxed));
    vg_jsonw_key(&w, "frames");
    vg_jsonw_object_begin(&w);
    vg_jsonw_key(&w, "packets");
    vg_jsonw_uint(&w, load(&s->packets));
    vg_jsonw_key(&w, "decoded");
    vg_jsonw_uint(&w, decoded);
    vg_jsonw_key(&w, "skipped");
    vg_jsonw_uint(&w, load(&s->skipped));
    vg_jsonw_key(&w, "queued");
    vg_jsonw_uint(&w, load(&s->queued));
    vg_jsonw_key(&w, "analysed");
    vg_jsonw_uint(&w, analysed);
    vg_jsonw_key(&w, "motion");
    vg_jsonw_uint(&w, load(&a->motion_frames));
    vg_jsonw_object_end(&w);
    vg_jsonw_key(&w, "decode_errors");
    vg_jsonw_uint(&w, load(&s->decode_errors));
    vg_jsonw_key(&w, "analysis_errors");
    vg_jsonw_uint(&w, load(&a->errors));
    vg_jsonw_key(&w, "dropped");
    vg_jsonw_object_begin(&w);
    vg_jsonw_key(&w, "ring");
    vg_jsonw_uint(&w, load(&s->dropped_ring));
    vg_jsonw_key(&w, "pool");
    vg_jsonw_uint(&w, load(&s->dropped_pool));
    vg_jsonw_key(&w, "publish");
    vg_jsonw_uint(&w, load(&a->emit_dropped));
    vg_jsonw_key(&w, "shutdown");
    vg_jsonw_uint(&w, cam->dropped_shutdown);
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
    vg_jsonw_double(&w, analysed ? load(&a->analyse_ns) / 1e6 / analysed : 0, 3);
    vg_jsonw_key(&w, "detect");
    vg_jsonw_object_begin(&w);
    vg_jsonw_key(&w, "model");
    if (cam->detector)
        vg_jsonw_string(&w, vg_detector_name(cam->detector));
    else
        vg_jsonw_null(&w);
    uint64_t dframes = load(&a->detect_frames);
    vg_jsonw_key(&w, "frames");
    vg_jsonw_uint(&w, dframes);
    vg_jsonw_key(&w, "objects");
    vg_jsonw_uint(&w, load(&a->detections));
    vg_jsonw_key(&w, "errors");
    vg_jsonw_uint(&w, load(&a->detect_errors));
    vg_jsonw_key(&w, "dropped");
    vg_jsonw_uint(&w, load(&a->detect_dropped));
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
    vg_jsonw_double(&w, dframes ? load(&a->detect_ns) / 1e6 / dframes : 0, 2);
    char names[64];
    /* relaxed: a status reading */
    vg_correct_names(atomic_load_explicit(&a->correct_active, memory_order_relaxed), names, sizeof(names));
    vg_jsonw_key(&w, "corrections");
    vg_jsonw_string(&w, names);
    vg_jsonw_object_end(&w);
    vg_jsonw_key(&w, "events");
    vg_jsonw_uint(&w, load(&a->events));
    vg_jsonw_key(&w, "reconnects");
    vg_jsonw_uint(&w, load(&s->reconnects));
    vg_jsonw_key(&w, "ring_fill");
    vg_jsonw_uint(&w, cam->retired ? 0 : vg_ring_count(cam->ring));
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
    if (len > 0)
        vg_emitter_send(rt->main_emitter, "stats", cam->cfg.name, rt->msg, (size_t)len);
    cam->mark = (rate_mark_t){decoded, analysed, now_mono};
}

int vg_runtime_tick(vg_runtime_t *rt, bool force_stats)
{
    int running = 0;
    for (int i = 0; i < rt->n_cameras; i++) {
        camera_t *cam = rt->cameras[i];
        if (!cam->retired && vg_source_done(cam->source))
            camera_retire(rt, cam, 5000, "end of stream");
        if (!cam->retired)
            running++;
    }
    int64_t now = now_us(CLOCK_MONOTONIC);
    if (force_stats || now - rt->last_stats_us >= rt->cfg->stats_interval_us) {
        vg_procstat_t p = {0};
        vg_procstat_read(&p); /* zeros when /proc cannot be read */
        for (int i = 0; i < rt->n_cameras; i++)
            emit_stats(rt, rt->cameras[i], now, (long)p.rss_bytes, p.cpu_s);
        rt->last_stats_us = now;
    }
    return running;
}

int vg_runtime_cameras(const vg_runtime_t *rt, int *ret_streaming)
{
    int streaming = 0;
    for (int i = 0; i < rt->n_cameras; i++) {
        const vg_source_stats_t *s = vg_source_stats(rt->cameras[i]->source);
        /* relaxed: a status reading */
        if (atomic_load_explicit(&s->state, memory_order_relaxed) == VG_SOURCE_STREAMING)
            streaming++;
    }
    if (ret_streaming)
        *ret_streaming = streaming;
    return rt->n_cameras;
}

int vg_runtime_opening(const vg_runtime_t *rt)
{
    int opening = 0;
    for (int i = 0; i < rt->n_cameras; i++)
        /* relaxed: a status reading */
        opening += atomic_load_explicit(&vg_source_stats(rt->cameras[i]->source)->state, memory_order_relaxed) ==
                   VG_SOURCE_CONNECTING;
    return opening;
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
        const vg_analysis_stats_t *a = vg_analysis_stats(cam->analysis);
        vg_runtime_camera_snapshot_t *c = &ret->cameras[i];
        snprintf(c->name, sizeof(c->name), "%s", cam->cfg.name);
        snprintf(c->model, sizeof(c->model), "%s", cam->detector ? vg_detector_name(cam->detector) : "");
        /* relaxed: status readings, like every counter here */
        c->state = atomic_load_explicit(&s->state, memory_order_relaxed);
        c->width = atomic_load_explicit(&s->width, memory_order_relaxed);
        c->height = atomic_load_explicit(&s->height, memory_order_relaxed);
        c->packets = load(&s->packets);
        c->decoded = load(&s->decoded);
        c->skipped = load(&s->skipped);
        c->queued = load(&s->queued);
        c->decode_errors = load(&s->decode_errors);
        c->reconnects = load(&s->reconnects);
        c->dropped_ring = load(&s->dropped_ring);
        c->dropped_pool = load(&s->dropped_pool);
        c->analysed = load(&a->analysed);
        c->motion = load(&a->motion_frames);
        c->analysis_errors = load(&a->errors);
        c->events = load(&a->events);
        c->dropped_publish = load(&a->emit_dropped);
        c->dropped_shutdown = cam->dropped_shutdown;
        c->detect_frames = load(&a->detect_frames);
        c->detections = load(&a->detections);
        c->detect_errors = load(&a->detect_errors);
        c->detect_ns = load(&a->detect_ns);
        c->analyse_ns = load(&a->analyse_ns);
        c->ring_fill = cam->retired ? 0 : vg_ring_count(cam->ring);
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

bool vg_runtime_alive(vg_runtime_t *rt, const char **ret_why)
{
    const char *why = NULL;
    /* A worker is stuck when frames wait in a ring and no worker moved. */
    uint64_t total = 0;
    for (int i = 0; i < rt->n_workers; i++)
        total += vg_workers_progress(rt->workers, i);
    bool queued = false;
    for (int i = 0; i < rt->n_cameras; i++)
        if (!rt->cameras[i]->retired && vg_ring_count(rt->cameras[i]->ring) > 0)
            queued = true;
    if (queued && total == rt->last_progress)
        why = "workers made no progress with frames waiting";
    rt->last_progress = total;
    /* The publisher turns at least every 50 ms, busy or not. */
    uint64_t loops = load(&vg_publisher_stats(rt->pub)->loops);
    if (loops == rt->last_publisher_loops)
        why = "the publisher thread made no progress";
    rt->last_publisher_loops = loops;
    if (why && ret_why)
        *ret_why = why;
    return why == NULL;
}

static void model_free(model_t **pm)
{
    model_t *m = *pm;
    if (!m)
        return;
    vg_inference_free(&m->actor); /* and its detector */
    m->detector = NULL;
    free(m->path);
    free(m->labels);
    free(m);
    *pm = NULL;
}


/* Loads a model; a model that fails is kept with its error, so that the
 * cameras naming it can say why they run without it. */
static model_t *model_load(const vg_config_t *cfg, const vg_model_config_t *mc, int batch, int64_t wait_us)
{
    model_t *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->cfg = *mc;
    m->path = mc->path ? strdup(mc->path) : NULL;
    m->labels = mc->labels ? strdup(mc->labels) : NULL;
    m->cfg.path = m->path;
    m->cfg.labels = m->labels;
    char onnx[4096], labels[4096];
    int r = vg_config_resolve_path(cfg, mc->path, onnx, sizeof(onnx));
    if (r < 0) {
        snprintf(m->error, sizeof(m->error), "model '%s': cannot read '%.300s': %s", mc->name, onnx, strerror(-r));
        return m;
    }
    const char *labels_path = NULL;
    if (mc->labels) {
        r = vg_config_resolve_path(cfg, mc->labels, labels, sizeof(labels));
        if (r < 0) {
            snprintf(m->error, sizeof(m->error), "model '%s': cannot read labels '%.300s': %s", mc->name, labels,
                     strerror(-r));
            return m;
        }
        labels_path = labels;
    } else if (vg_detector_find_labels(onnx, vg_model_labels_dirs, labels, sizeof(labels))) {
        labels_path = labels;
    }
    vg_detector_config_t dc;
    vg_model_detector_config(mc, &dc);
    vg_detector_t *det = NULL;
    if (vg_detector_new_batch(&dc, onnx, labels_path, batch, 1, &det, m->error, sizeof(m->error)) < 0)
        return m;
    /* slots: the batch that runs and the next one filling. Deeper queues
     * only add latency (each waiting frame ages one run per frame ahead of
     * it, first in first out); a frame that finds both full goes without
     * detection (counted), and its camera's next frame is a fresher one. */
    int slots = 2 * batch;
    if ((r = vg_inference_new(det, slots, wait_us, &m->actor)) < 0) { /* det is the actor's, also on failure */
        snprintf(m->error, sizeof(m->error), "model '%s': cannot start its inference thread: %s", mc->name,
                 strerror(-r));
        return m;
    }
    m->detector = vg_inference_detector(m->actor);
    return m;
}

/* A camera's main detector (detect.model, not when: never)? */
static bool model_is_detector(const vg_config_t *cfg, const char *name)
{
    for (int i = 0; i < cfg->n_cameras; i++)
        if (strcmp(cfg->cameras[i].detect_model, name) == 0 && cfg->cameras[i].detect_when != VG_DETECT_NEVER)
            return true;
    return false;
}

static bool model_in_use(const vg_config_t *cfg, const char *name)
{
    if (model_is_detector(cfg, name))
        return true;
    for (int i = 0; i < cfg->n_cameras; i++)
        if (strcmp(cfg->cameras[i].faces_model, name) == 0 || strcmp(cfg->cameras[i].faces_expression, name) == 0)
            return true;
    return false;
}

/* Brings rt->models in line with cfg: unchanged models are kept, changed
 * and new ones loaded (only those a camera uses), removed ones go once no
 * camera uses them (the caller restarts those cameras first). */
static void load_models(vg_runtime_t *rt, const vg_config_t *cfg, model_t **ret_models, int *ret_n)
{
    int n = 0;
    for (int i = 0; i < cfg->n_models; i++) {
        const vg_model_config_t *mc = &cfg->models[i];
        if (!model_in_use(cfg, mc->name))
            continue;
        model_t *keep = NULL;
        for (int k = 0; k < rt->n_models; k++)
            if (rt->models[k] && strcmp(rt->models[k]->cfg.name, mc->name) == 0 &&
                vg_model_config_equal(&rt->models[k]->cfg, mc) && rt->models[k]->detector) {
                keep = rt->models[k];
                rt->models[k] = NULL; /* moved */
            }
        if (!keep) {
            /* a camera's main detector batches across cameras; the cascade's
             * models run one crop at a time */
            keep = model_load(cfg, mc, model_is_detector(cfg, mc->name) ? rt->batch : 1, rt->batch_wait_us);
            if (!keep)
                continue;
            if (keep->detector)
                vg_log(VG_LOG_INFO, "model '%s' loaded (%s)", mc->name, keep->path);
            else
                vg_log(VG_LOG_ERROR, "%s; cameras that use it run with motion only", keep->error);
        }
        ret_models[n++] = keep;
    }
    *ret_n = n;
}

static const vg_camera_config_t *find_camera(const vg_config_t *cfg, const char *name)
{
    for (int i = 0; i < cfg->n_cameras; i++)
        if (strcmp(cfg->cameras[i].name, name) == 0)
            return &cfg->cameras[i];
    return NULL;
}

/* Removes cameras[i] from the table, keeping its totals. */
static void camera_remove(vg_runtime_t *rt, int i, const char *reason)
{
    camera_t *cam = rt->cameras[i];
    camera_retire(rt, cam, 0, reason);
    add_totals(&rt->retired_totals, cam);
    camera_free(&cam);
    memmove(&rt->cameras[i], &rt->cameras[i + 1], (size_t)(rt->n_cameras - i - 1) * sizeof(*rt->cameras));
    rt->n_cameras--;
}

int vg_runtime_apply(vg_runtime_t *rt, const vg_config_t *cfg, char *msg, size_t msglen)
{
    int restart_needed = 0;
    msg[0] = '\0';
    if (strcmp(cfg->publish, rt->cfg->publish) != 0 || strcmp(cfg->control, rt->cfg->control) != 0 ||
        cfg->workers != rt->cfg->workers || cfg->publish_hwm != rt->cfg->publish_hwm ||
        cfg->inference_batch != rt->batch || cfg->inference_wait_us != rt->batch_wait_us) {
        snprintf(msg, msglen, "daemon.publish, daemon.control, daemon.workers, daemon.publish_hwm and "
                              "daemon.inference_batch/_wait take effect after a restart");
        restart_needed = 1;
    }
    model_t *models[VG_CONFIG_MAX_MODELS];
    int n_models = 0;
    load_models(rt, cfg, models, &n_models);
    for (int i = rt->n_cameras - 1; i >= 0; i--) {
        camera_t *cam = rt->cameras[i];
        const vg_camera_config_t *nc = find_camera(cfg, cam->cfg.name);
        vg_inference_t *det = NULL, *face = NULL, *expression = NULL;
        if (nc) {
            det = nc->detect_when != VG_DETECT_NEVER ? model_actor(models, n_models, nc->detect_model) : NULL;
            face = model_actor(models, n_models, nc->faces_model);
            expression = model_actor(models, n_models, nc->faces_expression);
        }
        if (!nc)
            camera_remove(rt, i, "camera removed from the configuration");
        else if (!vg_camera_config_equal(nc, &cam->cfg) || cfg->publish_detections != rt->cfg->publish_detections ||
                 det != cam->actor || face != cam->face || expression != cam->expression)
            camera_remove(rt, i, "camera configuration changed");
    }
    /* every camera using an old model has stopped: the models not carried
     * over can go */
    for (int k = 0; k < rt->n_models; k++)
        model_free(&rt->models[k]);
    memcpy(rt->models, models, sizeof(*models) * (size_t)n_models);
    rt->n_models = n_models;
    rt->cfg = cfg;
    for (int i = 0; i < cfg->n_cameras; i++) {
        bool running = false;
        for (int k = 0; k < rt->n_cameras; k++)
            if (strcmp(rt->cameras[k]->cfg.name, cfg->cameras[i].name) == 0)
                running = true;
        if (running)
            continue;
        camera_t *cam = NULL;
        int r = camera_start(rt, &cfg->cameras[i], &cam);
        if (r < 0) {
            snprintf(msg, msglen, "camera '%s' could not start: %s", cfg->cameras[i].name, strerror(-r));
            restart_needed = 1;
            continue;
        }
        rt->cameras[rt->n_cameras++] = cam;
    }
    /* unchanged cameras keep pointing at their own copies (cfg, url), so the
     * old config can be freed by the caller now */
    return restart_needed;
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
    double total = PROCESS_BASE_MB + frames_mb + motion_mb + correct_mb + models_mb;
    vg_procstat_t p = {0};
    vg_procstat_read(&p);
    char sized[64] = "";
    if (unknown)
        snprintf(sized, sizeof(sized), ", %d not open yet counted at 1080p", unknown);
    vg_log(VG_LOG_INFO,
           "memory budget: %.0f MB = process ~%.0f + frames %.0f (ring + 3 + decoder ~%d per camera) + motion %.1f + "
           "corrections up to %.0f + models %.0f, for %d camera%s%s; resident now %.0f MB",
           total, PROCESS_BASE_MB, frames_mb, DECODER_FRAMES_ESTIMATE, motion_mb, correct_mb, models_mb,
           rt->n_cameras, rt->n_cameras == 1 ? "" : "s", sized, (double)p.rss_bytes / (1 << 20));
}

void vg_runtime_tune_process(void)
{
    /* a fixed threshold also turns off glibc's dynamic adjustment */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
}

int vg_runtime_new(const vg_config_t *cfg, const vg_runtime_options_t *opt, vg_runtime_t **ret,
                   char *err, size_t errlen)
{
    vg_runtime_t *rt = calloc(1, sizeof(*rt));
    if (!rt)
        return -ENOMEM;
    int r = -ENOMEM;
    rt->cfg = cfg;
    if (opt)
        rt->opt = *opt;
    rt->started_us = rt->last_stats_us = now_us(CLOCK_MONOTONIC);
    rt->batch = cfg->inference_batch > 0 ? cfg->inference_batch : 1;
    rt->batch_wait_us = cfg->inference_wait_us;
    const char *stall = getenv("VIGIL_DEBUG_STALL_WORKERS");
    if (stall && atof(stall) > 0) {
        debug_stall_at_us = rt->started_us + (int64_t)(atof(stall) * 1e6);
        vg_log(VG_LOG_WARNING, "VIGIL_DEBUG_STALL_WORKERS: workers will stall after %ss (a test hook)", stall);
    }
    rt->zctx = zmq_ctx_new();
    if (!rt->zctx) {
        snprintf(err, errlen, "cannot create a ZeroMQ context: %s", zmq_strerror(zmq_errno()));
        goto fail;
    }
    vg_publisher_config_t pc = {
        .zmq_context = rt->zctx,
        .endpoint = cfg->publish,
        .control = rt->opt.print_to ? NULL : cfg->control,
        .hwm = cfg->publish_hwm,
        .print_to = rt->opt.print_to,
        .lossless = rt->opt.lossless,
    };
    if ((r = vg_publisher_new(&pc, &rt->pub, err, errlen)) < 0)
        goto fail;
    rt->n_workers = cfg->workers > 0 ? cfg->workers : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (rt->n_workers < 1)
        rt->n_workers = 1;
    if (rt->n_workers > VG_WORKERS_MAX)
        rt->n_workers = VG_WORKERS_MAX;
    for (int i = 0; i < rt->n_workers; i++)
        if ((r = vg_emitter_new(rt->pub, &rt->worker_emitters[i])) < 0) {
            snprintf(err, errlen, "cannot create a worker's queue: %s", zmq_strerror(-r));
            goto fail;
        }
    if ((r = vg_emitter_new(rt->pub, &rt->main_emitter)) < 0) {
        snprintf(err, errlen, "cannot create the main queue: %s", zmq_strerror(-r));
        goto fail;
    }
    if ((r = vg_workers_new(rt->n_workers, (void *const *)rt->worker_emitters, &rt->workers)) < 0) {
        snprintf(err, errlen, "cannot start %d workers: %s", rt->n_workers, strerror(-r));
        goto fail;
    }
    load_models(rt, cfg, rt->models, &rt->n_models);
    for (int i = 0; i < cfg->n_cameras; i++) {
        camera_t *cam = NULL;
        r = camera_start(rt, &cfg->cameras[i], &cam);
        if (r < 0) {
            snprintf(err, errlen, "camera '%s' could not start: %s", cfg->cameras[i].name, strerror(-r));
            goto fail;
        }
        rt->cameras[rt->n_cameras++] = cam;
    }
    *ret = rt;
    return 0;
fail:
    vg_runtime_free(&rt, 0);
    return r;
}

void vg_runtime_free(vg_runtime_t **prt, int drain_ms)
{
    if (!prt || !*prt)
        return;
    vg_runtime_t *rt = *prt;
    /* relaxed: see debug_stall */
    atomic_store_explicit(&debug_stall_release, 1, memory_order_relaxed);
    /* stop every capture first, so the drain below sees no new frames */
    for (int i = 0; i < rt->n_cameras; i++)
        if (!rt->cameras[i]->retired)
            vg_source_stop(rt->cameras[i]->source);
    for (int i = 0; i < rt->n_cameras; i++)
        camera_retire(rt, rt->cameras[i], drain_ms, "vigil stopping");
    if (rt->workers && rt->main_emitter && rt->n_cameras > 0)
        vg_runtime_tick(rt, true); /* final stats */
    vg_workers_free(&rt->workers);
    for (int i = 0; i < rt->n_cameras; i++)
        camera_free(&rt->cameras[i]);
    for (int i = 0; i < VG_WORKERS_MAX; i++)
        vg_emitter_free(&rt->worker_emitters[i]);
    vg_emitter_free(&rt->main_emitter);
    vg_publisher_free(&rt->pub);
    for (int k = 0; k < rt->n_models; k++)
        model_free(&rt->models[k]);
    if (rt->zctx)
        zmq_ctx_term(rt->zctx);
    free(rt);
    *prt = NULL;
}
