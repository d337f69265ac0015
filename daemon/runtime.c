/* runtime.c: see runtime.h. */
#include "daemon/runtime.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "capture/source.h"
#include "daemon/publisher.h"
#include "pipeline/analysis.h"
#include "pipeline/jsonw.h"
#include "pipeline/workers.h"

#define MSG_CAP 4096

typedef struct {
    uint64_t decoded, analysed;
    int64_t at_us;
} rate_mark_t;

typedef struct camera {
    struct vg_runtime *rt;
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
    int64_t started_us, last_stats_us;
    uint64_t last_progress; /* worker frames handled at the last watchdog check */
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

static void handle_frame(void *camera, vg_frame_t *frame, void *worker_ctx)
{
    camera_t *cam = camera;
    vg_analysis_frame(cam->analysis, frame, vg_emitter_send, worker_ctx);
}

static void camera_free(camera_t **pcam)
{
    camera_t *cam = *pcam;
    if (!cam)
        return;
    vg_source_free(&cam->source);
    vg_emitter_free(&cam->health_emitter);
    vg_analysis_free(&cam->analysis);
    vg_ring_free(&cam->ring);
    vg_frame_pool_free(&cam->pool);
    free(cam->url);
    free(cam);
    *pcam = NULL;
}

static int camera_start(vg_runtime_t *rt, const vg_camera_config_t *cc, camera_t **ret)
{
    camera_t *cam = calloc(1, sizeof(*cam));
    if (!cam)
        return -ENOMEM;
    int r = -ENOMEM;
    cam->rt = rt;
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
    };
    if ((r = vg_analysis_new(&ac, &cam->analysis)) < 0)
        goto fail;
    if ((r = vg_emitter_new(rt->pub, &cam->health_emitter)) < 0)
        goto fail;
    r = vg_workers_add(rt->workers, cam->ring, cam->pool, handle_frame, cam);
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

static void emit_stats(vg_runtime_t *rt, camera_t *cam, int64_t now_mono, long rss)
{
    const vg_source_stats_t *s = vg_source_stats(cam->source);
    const vg_analysis_stats_t *a = vg_analysis_stats(cam->analysis);
    uint64_t decoded = load(&s->decoded), analysed = load(&a->analysed);
    double dt = (now_mono - cam->mark.at_us) / 1e6;
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
    vg_jsonw_double(&w, dt > 0 ? (decoded - cam->mark.decoded) / dt : 0, 2);
    vg_jsonw_key(&w, "analysed");
    vg_jsonw_double(&w, dt > 0 ? (analysed - cam->mark.analysed) / dt : 0, 2);
    vg_jsonw_object_end(&w);
    vg_jsonw_key(&w, "analysis_ms");
    vg_jsonw_double(&w, analysed ? load(&a->analyse_ns) / 1e6 / analysed : 0, 3);
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

static long rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * sysconf(_SC_PAGESIZE);
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
        long rss = rss_bytes();
        for (int i = 0; i < rt->n_cameras; i++)
            emit_stats(rt, rt->cameras[i], now, rss);
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

void vg_runtime_totals(const vg_runtime_t *rt, vg_runtime_totals_t *ret)
{
    vg_runtime_totals_t t = rt->retired_totals;
    for (int i = 0; i < rt->n_cameras; i++)
        add_totals(&t, rt->cameras[i]);
    t.published = load(&vg_publisher_stats(rt->pub)->published);
    t.elapsed_s = (now_us(CLOCK_MONOTONIC) - rt->started_us) / 1e6;
    *ret = t;
}

bool vg_runtime_alive(vg_runtime_t *rt)
{
    bool alive = true;
    /* A worker is stuck when frames wait in a ring and no worker moved. */
    uint64_t total = 0;
    for (int i = 0; i < rt->n_workers; i++)
        total += vg_workers_progress(rt->workers, i);
    bool queued = false;
    for (int i = 0; i < rt->n_cameras; i++)
        if (!rt->cameras[i]->retired && vg_ring_count(rt->cameras[i]->ring) > 0)
            queued = true;
    if (queued && total == rt->last_progress)
        alive = false;
    rt->last_progress = total;
    return alive;
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
        cfg->workers != rt->cfg->workers || cfg->publish_hwm != rt->cfg->publish_hwm) {
        snprintf(msg, msglen, "daemon.publish, daemon.control, daemon.workers and daemon.publish_hwm "
                              "take effect after a restart");
        restart_needed = 1;
    }
    for (int i = rt->n_cameras - 1; i >= 0; i--) {
        const vg_camera_config_t *nc = find_camera(cfg, rt->cameras[i]->cfg.name);
        if (!nc)
            camera_remove(rt, i, "camera removed from the configuration");
        else if (!vg_camera_config_equal(nc, &rt->cameras[i]->cfg) ||
                 cfg->publish_detections != rt->cfg->publish_detections)
            camera_remove(rt, i, "camera configuration changed");
    }
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
    if (rt->zctx)
        zmq_ctx_term(rt->zctx);
    free(rt);
    *prt = NULL;
}
