/* runtime.c: see runtime.h. Camera lifecycle, apply, tick, watchdog. */
#include "daemon/runtime_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <poll.h>
#include <unistd.h>

#include <zmq.h>

#include "daemon/log.h"
#include "daemon/model_map.h"
#include "daemon/procstat.h"
#include "pipeline/jsonw.h"

/* The same camera, state and reason are logged at most this often. */
#define HEALTH_LOG_EVERY_US (60 * 1000000LL)

/* Capture thread: tells the journal when the camera starts reconnecting
 * (warning) or fails (error), with the reason, and when it streams again
 * after that (info). Backoff retries repeat the same reason every few
 * seconds: those are counted and only logged once a minute. URLs in
 * reasons lose their user:password. */
static void log_health(camera_t *cam, vg_source_state_t state, const char *reason)
{
    health_log_t *h = &cam->health_log;
    char why[512];
    vg_log_redact_urls(reason && reason[0] ? reason : "no reason given", why, sizeof(why));
    int64_t now = now_us(CLOCK_MONOTONIC);
    char more[96] = "";
    if (h->repeats)
        snprintf(more, sizeof(more), " (the last report came %u more time%s in %.0fs, not logged)", h->repeats,
                 h->repeats == 1 ? "" : "s", (now - h->at_us) / 1e6);
    if (state == VG_SOURCE_STREAMING) {
        if (h->bad)
            vg_log(VG_LOG_INFO, "camera '%s' is streaming again: %s; it was %s: %s%s", cam->cfg.name, why,
                   vg_source_state_name((vg_source_state_t)h->state), h->reason, more);
        h->bad = false;
        h->repeats = 0;
        return;
    }
    if (state != VG_SOURCE_RECONNECTING && state != VG_SOURCE_FAILED)
        return;
    if (h->bad && h->state == (int)state && strcmp(h->reason, why) == 0 && now - h->at_us < HEALTH_LOG_EVERY_US) {
        h->repeats++;
        return;
    }
    if (state == VG_SOURCE_FAILED)
        vg_log(VG_LOG_ERROR, "camera '%s' failed: %s%s", cam->cfg.name, why, more);
    else
        vg_log(VG_LOG_WARNING, "camera '%s' is reconnecting: %s%s", cam->cfg.name, why, more);
    h->bad = true;
    h->state = (int)state;
    snprintf(h->reason, sizeof(h->reason), "%s", why);
    h->at_us = now;
    h->repeats = 0;
}

void public_text(const char *text, char *buf, size_t len)
{
    char full[4096];
    /* redacted first, over the whole text: a cut must not leave a password */
    vg_log_redact_urls(text, full, sizeof(full));
    size_t n = strlen(full);
    if (n < len) {
        memcpy(buf, full, n + 1);
        return;
    }
    size_t keep = len - 4; /* room for "..." and the NUL */
    while (keep > 0 && ((unsigned char)full[keep] & 0xC0) == 0x80)
        keep--; /* not inside a UTF-8 sequence */
    memcpy(buf, full, keep);
    memcpy(buf + keep, "...", 4);
}

/* Capture thread: a state change of the camera's source. Messages carry
 * the URL and reason without credentials, and bounded so that the message
 * always fits; a message that still cannot be sent is counted. */
static void on_health(void *opaque, vg_source_state_t state, const char *reason)
{
    camera_t *cam = opaque;
    log_health(cam, state, reason);
    char why[TEXT_MAX];
    public_text(reason ? reason : "", why, sizeof(why));
    pthread_mutex_lock(&cam->reason_lock);
    memcpy(cam->reason, why, sizeof(why));
    pthread_mutex_unlock(&cam->reason_lock);
    vg_jsonw_t w;
    vg_jsonw_init(&w, cam->health_msg, sizeof(cam->health_msg));
    vg_jsonw_object_begin(&w);
    vg_jsonw_key(&w, "time");
    vg_jsonw_time(&w, now_us(CLOCK_REALTIME));
    vg_jsonw_key(&w, "state");
    vg_jsonw_string(&w, vg_source_state_name(state));
    vg_jsonw_key(&w, "reason");
    vg_jsonw_string(&w, why);
    vg_jsonw_key(&w, "url");
    vg_jsonw_string(&w, cam->url_public);
    vg_jsonw_object_end(&w);
    int len = vg_jsonw_finish(&w);
    if (len <= 0 ||
        vg_emitter_send(cam->health_emitter, cam->topic_health, cam->cfg.name, cam->health_msg, (size_t)len) < 0)
        /* relaxed: a counter */
        atomic_fetch_add_explicit(&cam->publish_lost, 1, memory_order_relaxed);
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
    uint64_t motion_before = load(&vg_analysis_stats(cam->analysis)->motion_frames);
    bool parked = vg_analysis_frame(cam->analysis, frame, runtime_emit, worker_ctx) == VG_ANALYSIS_PARKED;
    record_activity(cam, frame, motion_before, !parked);
    if (parked)
        return VG_WORKER_PARKED;
    /* capture to publish: from the decode (wall_us) until the analysis has
     * handed its messages to the publisher queue */
    vg_latency_record(&cam->latency, now_us(CLOCK_REALTIME) - frame->wall_us);
    vg_live_offer(cam->live, frame, cam->analysis); /* one relaxed load unless watched */
    return VG_WORKER_DONE;
}

/* A worker: the parked frame's detections are in. */
static void handle_resume(void *camera, vg_frame_t *frame, void *worker_ctx)
{
    camera_t *cam = camera;
    uint64_t motion = load(&vg_analysis_stats(cam->analysis)->motion_frames);
    vg_analysis_resume(cam->analysis, frame, runtime_emit, worker_ctx);
    record_activity(cam, frame, motion, true);
    vg_latency_record(&cam->latency, now_us(CLOCK_REALTIME) - frame->wall_us);
    vg_live_offer(cam->live, frame, cam->analysis);
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
    vg_recorder_free(&cam->recorder); /* after the capture: writes what is queued, closes the segment */
    if (cam->live)
        vg_live_registry_remove(cam->rt->live, cam->live);
    vg_live_unref(&cam->live);
    vg_emitter_free(&cam->health_emitter);
    vg_analysis_free(&cam->analysis);
    vg_cascade_free(&cam->cascade);
    vg_ring_free(&cam->ring);
    vg_frame_pool_free(&cam->pool);
    pthread_mutex_destroy(&cam->reason_lock);
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
    pthread_mutex_init(&cam->reason_lock, NULL);
    atomic_init(&cam->publish_lost, 0);
    if (cc->detect_model[0] && cc->detect_when != VG_DETECT_NEVER) {
        model_t *m = find_model(rt->models, rt->n_models, cc->detect_model);
        cam->detector = m ? m->detector : NULL;
        cam->actor = m ? m->actor : NULL;
        if (!cam->detector)
            vg_log(VG_LOG_WARNING, "camera '%s': model '%s' is not available; the camera runs with motion only",
                   cc->name, cc->detect_model);
    }
    vg_cascade_config_t kc = {0};
    if (cc->faces_model[0]) {
        vg_inference_t *face = cam->face = model_actor(rt->models, rt->n_models, cc->faces_model);
        vg_inference_t *expression = cam->expression = model_actor(rt->models, rt->n_models, cc->faces_expression);
        if (!face || (cc->faces_expression[0] && !expression)) {
            vg_log(VG_LOG_WARNING, "camera '%s': face model '%s' or expression model '%s' is not available; "
                   "no faces on this camera", cc->name, cc->faces_model, cc->faces_expression);
        } else {
            kc = (vg_cascade_config_t){.face = vg_inference_detector(face),
                                       .expression = expression ? vg_inference_detector(expression) : NULL,
                                       .face_actor = face, .expression_actor = expression,
                                       .on = cc->faces_on == VG_FACES_ON_FRAME ? VG_CASCADE_ON_FRAME
                                                                               : VG_CASCADE_ON_PERSON};
        }
    }
    if (cc->classify_model[0]) {
        vg_inference_t *cls = cam->classifier = model_actor(rt->models, rt->n_models, cc->classify_model);
        if (!cls || !cam->detector)
            vg_log(VG_LOG_WARNING, "camera '%s': %s; no classify on this camera", cc->name,
                   !cls ? "the classify model is not available" : "classify needs the camera's detector");
        else {
            kc.classifier = vg_inference_detector(cls);
            kc.classifier_actor = cls;
            kc.classify_on = cc->classify_on;
        }
    }
    if (kc.face || kc.classifier) {
        kc.detector = cam->detector;
        if ((r = vg_cascade_new(&kc, &cam->cascade)) < 0)
            goto fail;
    }
    cam->cfg = *cc;
    cam->queue = -1;
    cam->url = strdup(cc->url);
    if (!cam->url)
        goto fail;
    cam->cfg.url = cam->url;
    public_text(cam->url, cam->url_public, sizeof(cam->url_public));
    snprintf(cam->topic_health, sizeof(cam->topic_health), "health.%s", cc->name);
    if ((r = vg_ring_new((uint32_t)cc->ring_size, &cam->ring)) < 0)
        goto fail;
    /* ring + one frame in a worker + one being decoded + one evicted spare */
    if ((r = vg_frame_pool_new((uint32_t)cc->ring_size + 3, &cam->pool)) < 0)
        goto fail;
    /* a file replayed as fast as it decodes waits for the workers instead of
     * dropping: let their pops and puts wake its capture thread */
    if ((r = vg_ring_enable_wait(cam->ring)) < 0 || (r = vg_frame_pool_enable_wait(cam->pool)) < 0)
        goto fail;
    vg_analysis_config_t ac;
    memset(&ac, 0, sizeof(ac));
    /* cam->cfg: the camera's own copy, which outlives the analysis */
    vg_camera_analysis_config(rt->cfg, &cam->cfg, &ac);
    ac.publish_detections = rt->cfg->publish_detections;
    ac.detector = cam->detector;
    ac.cascade = cam->cascade;
    ac.inference = cam->actor;
    ac.wait_for_inference = rt->opt.lossless;
    ac.detected = camera_detected;
    ac.detected_arg = cam;
    ac.emit_snapshot = runtime_emit_blob; /* the worker context wraps the emitter */
    for (int k = 0; k < rt->n_track_ids; k++)
        if (strcmp(rt->track_ids[k].name, cc->name) == 0)
            ac.track.first_id = rt->track_ids[k].next_id; /* a restarted camera goes on counting */
    if ((r = vg_analysis_new(&ac, &cam->analysis)) < 0)
        goto fail;
    if ((r = vg_emitter_new(rt->pub, &cam->health_emitter)) < 0)
        goto fail;
    if ((r = vg_live_new(cc->name, rt->cfg->live_fps > 0 ? rt->cfg->live_fps : 5, &cam->live)) < 0 ||
        (r = vg_live_registry_put(rt->live, cam->live)) < 0)
        goto fail;
    r = vg_workers_add(rt->workers, cam->ring, cam->pool, handle_frame, handle_resume, cam);
    if (r < 0)
        goto fail;
    cam->queue = r;
    cam->mark.at_us = now_us(CLOCK_MONOTONIC);
    record_camera_start(rt, cam); /* a camera that cannot record still runs */
    vg_source_config_t sc = {
        .name = cam->cfg.name,
        .url = cam->url,
        .realtime = cc->realtime,
        .speed = rt->opt.speed,
        .loop = cc->loop,
        .analysis_fps = cc->analysis_fps,
        .decode_threads = cc->decode_threads,
        .timeout_us = cc->timeout_us,
        .rtsp_transport = cam->cfg.rtsp_transport,
        .v4l2_width = cc->v4l2_width,
        .v4l2_height = cc->v4l2_height,
        .v4l2_fps = cc->v4l2_fps,
        .recorder = cam->recorder,
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

/* Stops the camera's capture, lets the workers finish its queued frames (up
 * to drain_ms), removes its queue and ends its open event. */
void camera_retire(vg_runtime_t *rt, camera_t *cam, int drain_ms, const char *reason)
{
    if (cam->retired)
        return;
    vg_source_stop(cam->source);
    /* wait for the capture thread to end so nothing pushes any more: its
     * done eventfd wakes us (the timeout only re-checks, it never gives up) */
    while (!vg_source_done(cam->source)) {
        struct pollfd p = {.fd = vg_source_done_fd(cam->source), .events = POLLIN};
        poll(&p, 1, 1000);
    }
    if (drain_ms > 0)
        vg_workers_drain(rt->workers, cam->queue, drain_ms);
    int left = vg_workers_remove(rt->workers, cam->queue);
    cam->dropped_shutdown += (uint64_t)(left > 0 ? left : 0);
    cam->queue = -1;
    vg_analysis_flush(cam->analysis, reason, runtime_emit, &rt->main_ctx);
    cam->retired = true;
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
    record_tick(rt, now);
    if (force_stats || now - rt->last_stats_us >= rt->cfg->stats_interval_us) {
        vg_procstat_t p = {0};
        vg_procstat_read(&p); /* zeros when /proc cannot be read */
        for (int i = 0; i < rt->n_cameras; i++)
            emit_stats(rt, rt->cameras[i], now, (long)p.rss_bytes, p.cpu_s);
        rt->last_stats_us = now;
    }
    /* snapshots.retain: old snapshot files go, checked every 10 minutes */
    if (!rt->last_prune_us || now - rt->last_prune_us >= 600 * 1000000LL) {
        rt->last_prune_us = now;
        for (int i = 0; i < rt->n_cameras; i++) {
            const vg_camera_config_t *cc = &rt->cameras[i]->cfg;
            if (!cc->snap_enabled || cc->snap_retain_us <= 0)
                continue;
            char dir[4096];
            snprintf(dir, sizeof(dir), "%s/snapshots/%s", rt->cfg->state_dir, cc->name);
            int r = vg_snapshot_prune(dir, cc->snap_retain_us / 1e6);
            if (r > 0)
                vg_log(VG_LOG_INFO, "camera '%s': %d snapshot%s older than the retention deleted", cc->name, r,
                       r == 1 ? "" : "s");
            else if (r < 0 && r != -ENOENT)
                vg_log(VG_LOG_WARNING, "camera '%s': cannot prune snapshots in '%s': %s", cc->name, dir,
                       strerror(-r));
        }
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
    /* after its last messages (the same queue): `vigil status` forgets it */
    vg_emitter_forget(rt->main_emitter, cam->cfg.name);
    add_totals(&rt->retired_totals, cam);
    int k = 0;
    while (k < rt->n_track_ids && strcmp(rt->track_ids[k].name, cam->cfg.name) != 0)
        k++;
    if (k == rt->n_track_ids && k < VG_CONFIG_MAX_CAMERAS)
        snprintf(rt->track_ids[rt->n_track_ids++].name, VG_CONFIG_NAME_MAX, "%s", cam->cfg.name);
    if (k < rt->n_track_ids)
        rt->track_ids[k].next_id = vg_analysis_next_track_id(cam->analysis);
    camera_free(&cam);
    memmove(&rt->cameras[i], &rt->cameras[i + 1], (size_t)(rt->n_cameras - i - 1) * sizeof(*rt->cameras));
    rt->n_cameras--;
}

static bool str_same(const char *a, const char *b)
{
    return (!a || !b) ? a == b : strcmp(a, b) == 0;
}

int vg_runtime_apply(vg_runtime_t *rt, const vg_config_t *cfg, char *msg, size_t msglen)
{
    int restart_needed = 0;
    msg[0] = '\0';
    if (strcmp(cfg->publish, rt->cfg->publish) != 0 || strcmp(cfg->control, rt->cfg->control) != 0 ||
        cfg->workers != rt->cfg->workers || cfg->publish_hwm != rt->cfg->publish_hwm ||
        cfg->catchup_messages != rt->cfg->catchup_messages || cfg->catchup_bytes != rt->cfg->catchup_bytes ||
        !str_same(cfg->curve_secret_key_file, rt->cfg->curve_secret_key_file) ||
        !str_same(cfg->curve_clients, rt->cfg->curve_clients) ||
        cfg->inference_batch != rt->batch || cfg->inference_wait_us != rt->batch_wait_us) {
        snprintf(msg, msglen, "daemon.publish, daemon.control, daemon.workers, daemon.publish_hwm, "
                              "daemon.catchup_*, daemon.curve and daemon.inference_batch/_wait take effect after a restart");
        restart_needed = 1;
    }
    if (record_storage_changed(rt->cfg, cfg)) {
        size_t n = strlen(msg);
        snprintf(msg + n, msglen - n, "%sstorage.* and daemon.state_dir take effect after a restart", n ? "; " : "");
        restart_needed = 1;
    }
    model_t *models[VG_CONFIG_MAX_MODELS];
    int n_models = 0;
    load_models(rt, cfg, models, &n_models);
    for (int i = rt->n_cameras - 1; i >= 0; i--) {
        camera_t *cam = rt->cameras[i];
        const vg_camera_config_t *nc = find_camera(cfg, cam->cfg.name);
        vg_inference_t *det = NULL, *face = NULL, *expression = NULL, *cls = NULL;
        if (nc) {
            det = nc->detect_when != VG_DETECT_NEVER ? model_actor(models, n_models, nc->detect_model) : NULL;
            face = model_actor(models, n_models, nc->faces_model);
            expression = model_actor(models, n_models, nc->faces_expression);
            cls = model_actor(models, n_models, nc->classify_model);
        }
        if (!nc)
            camera_remove(rt, i, "camera removed from the configuration");
        else if (!vg_camera_config_equal(nc, &cam->cfg) || cfg->publish_detections != rt->cfg->publish_detections ||
                 det != cam->actor || face != cam->face || expression != cam->expression ||
                 cls != cam->classifier)
            camera_remove(rt, i, "camera configuration changed");
    }
    /* every camera using an old model has stopped: the models not carried
     * over can go */
    for (int k = 0; k < rt->n_models; k++)
        model_free(&rt->models[k]);
    memcpy(rt->models, models, sizeof(*models) * (size_t)n_models);
    rt->n_models = n_models;
    rt->cfg = cfg;
    record_storage_update(rt, cfg); /* before the cameras: their recorders index through it */
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

void vg_runtime_tune_process(void)
{
    /* a fixed threshold also turns off glibc's dynamic adjustment */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
}

int vg_runtime_new(const vg_config_t *cfg, const vg_runtime_options_t *opt, char *err, size_t errlen,
                   vg_runtime_t **ret)
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
        /* replay prints everything: nobody can ask it to catch up */
        .curve_secret_key_file = cfg->curve_secret_key_file,
        .curve_clients = cfg->curve_clients,
        .log_messages = rt->opt.print_to ? 0 : cfg->catchup_messages,
        .log_bytes = rt->opt.print_to ? 0 : (size_t)cfg->catchup_bytes,
    };
    if ((r = vg_publisher_new(&pc, err, errlen, &rt->pub)) < 0)
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
    for (int i = 0; i < rt->n_workers; i++) {
        rt->worker_ctx[i] = (emit_ctx_t){.emitter = rt->worker_emitters[i], .rt = rt};
        rt->worker_ctx_ptr[i] = &rt->worker_ctx[i];
    }
    rt->main_ctx = (emit_ctx_t){.emitter = rt->main_emitter, .rt = rt};
    if ((r = vg_workers_new(rt->n_workers, (void *const *)rt->worker_ctx_ptr, &rt->workers)) < 0) {
        snprintf(err, errlen, "cannot start %d workers: %s", rt->n_workers, strerror(-r));
        goto fail;
    }
    if ((r = vg_live_registry_new(&rt->live)) < 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    load_models(rt, cfg, rt->models, &rt->n_models);
    record_storage_update(rt, cfg);
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
    vg_live_registry_free(&rt->live);
    vg_storage_free(&rt->storage); /* after the recorders: it indexes their last segments */
    vg_publisher_free(&rt->pub);
    for (int k = 0; k < rt->n_models; k++)
        model_free(&rt->models[k]);
    if (rt->zctx)
        zmq_ctx_term(rt->zctx);
    free(rt);
    *prt = NULL;
}

struct vg_live_registry *vg_runtime_live(vg_runtime_t *rt) { return rt->live; }
