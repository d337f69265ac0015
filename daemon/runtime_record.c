/* runtime_record.c: recording in the runtime (see runtime_priv.h): the
 * storage thread, one recorder per recording camera, the activity signal
 * from the analysis to the recorder, events into the index, and the health
 * of recording (recording_behind, disk_full, recording_stalled). */
#include "daemon/runtime_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/v4l2.h"
#include "daemon/log.h"
#include "pipeline/jsonw.h"

_Static_assert(VG_RECORD_OFF == 0 && VG_RECORD_CONTINUOUS == 1 && VG_RECORD_MOTION == 2 && VG_RECORD_OBJECTS == 3,
               "cameras.NAME.record.mode's values (config_schema.c) are vg_record_mode_t in order");

/* The retention of footage left by a camera that is no longer configured:
 * the schema's defaults (retain: 2, 7, 30 days; pre/post capture 5 s). */
static const vg_storage_camera_t fallback = {
    .camera = "", .continuous_days = 2, .motion_days = 7, .events_days = 30,
    .pre_capture_us = 5000000, .post_capture_us = 5000000,
};

int runtime_emit(void *ctx, const char *topic, const char *camera, const char *json, size_t len)
{
    emit_ctx_t *c = ctx;
    int r = vg_emitter_send(c->emitter, topic, camera, json, len);
    /* the index keeps events: the storage thread parses them (a few a minute) */
    if (c->rt->storage && strncmp(topic, "event.", 6) == 0)
        vg_storage_event(c->rt->storage, camera, json, len);
    return r;
}

/* snap.<camera> through the same context: the emitter is inside it. */
int runtime_emit_blob(void *ctx, const char *topic, const char *camera, const char *json, size_t len,
                      const void *blob, size_t blob_len)
{
    emit_ctx_t *c = ctx;
    return vg_emitter_send_blob(c->emitter, topic, camera, json, len, blob, blob_len);
}

static bool records(const vg_camera_config_t *c)
{
    return c->record_mode != VG_RECORD_OFF && !vg_v4l2_url_is_device(c->url);
}

/* The per-camera retention of cfg into cams (VG_CONFIG_MAX_CAMERAS). */
static int storage_cameras(const vg_config_t *cfg, vg_storage_camera_t *cams)
{
    for (int i = 0; i < cfg->n_cameras; i++) {
        const vg_camera_config_t *c = &cfg->cameras[i];
        vg_storage_camera_t *s = &cams[i];
        memset(s, 0, sizeof(*s));
        snprintf(s->camera, sizeof(s->camera), "%s", c->name);
        s->continuous_days = c->retain_continuous;
        s->motion_days = c->retain_motion;
        s->events_days = c->retain_events;
        s->pre_capture_us = c->record_mode == VG_RECORD_MOTION || c->record_mode == VG_RECORD_OBJECTS
                                ? c->record_pre_us : 0;
        s->post_capture_us = c->record_mode == VG_RECORD_MOTION || c->record_mode == VG_RECORD_OBJECTS
                                 ? c->record_post_us : 0;
    }
    return cfg->n_cameras;
}

int record_storage_update(vg_runtime_t *rt, const vg_config_t *cfg)
{
    vg_storage_camera_t cams[VG_CONFIG_MAX_CAMERAS];
    int n = storage_cameras(cfg, cams);
    if (rt->storage)
        return vg_storage_set_cameras(rt->storage, cams, n);
    bool any = false;
    for (int i = 0; i < cfg->n_cameras; i++)
        any |= records(&cfg->cameras[i]);
    if (!any || rt->storage_failed)
        return 0;
    /* a file size limit (ulimit -f, a quota) fails the write (EFBIG) of a
     * segment or of the index: the recorder reports disk_full and resumes,
     * instead of SIGXFSZ killing the daemon */
    signal(SIGXFSZ, SIG_IGN);
    vg_storage_config_t sc = {
        .state_dir = cfg->state_dir,
        .max_size = cfg->storage_max_size,
        .min_free = cfg->storage_min_free,
        .interval_us = cfg->storage_interval_us,
        .cameras = cams,
        .n_cameras = n,
        .fallback = fallback,
    };
    char err[512];
    vg_storage_startup_t su;
    int r = vg_storage_new(&sc, &rt->storage, &su, err, sizeof(err));
    if (r < 0) {
        /* recording goes on; the next start indexes what it wrote */
        vg_log(VG_LOG_ERROR, "recordings are not indexed: %s", err);
        rt->storage_failed = true;
        return r;
    }
    if (su.rebuilt)
        vg_log(VG_LOG_WARNING, "%s/index.sqlite was corrupt (kept as index.sqlite.corrupt): rebuilt from the "
               "recordings, events are lost", cfg->state_dir);
    if (su.added || su.removed || su.recovered)
        vg_log(VG_LOG_INFO, "index of recordings: %d segment%s added from disk (%d of them left open by a crash), "
               "%d whose file is gone removed", su.added, su.added == 1 ? "" : "s", su.recovered, su.removed);
    return 0;
}

/* The recorder's on_segment (its writer thread). */
static void on_segment(void *opaque, const vg_record_segment_t *seg)
{
    vg_storage_segment(opaque, seg);
}

int record_camera_start(vg_runtime_t *rt, camera_t *cam)
{
    const vg_camera_config_t *cc = &cam->cfg;
    if (cc->record_mode == VG_RECORD_OFF)
        return 0;
    if (vg_v4l2_url_is_device(cc->url)) {
        vg_log(VG_LOG_WARNING, "camera '%s': V4L2 cameras are not recorded (record.mode is ignored)", cc->name);
        return 0;
    }
    if (cc->record_mode == VG_RECORD_OBJECTS && !cam->detector)
        vg_log(VG_LOG_WARNING, "camera '%s': record.mode objects records what the detector finds, and the camera "
               "has none: nothing will be recorded (use motion)", cc->name);
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/recordings", rt->cfg->state_dir);
    const char *delay = getenv("VIGIL_DEBUG_RECORD_DELAY_MS");
    vg_recorder_config_t rc = {
        .camera = cc->name,
        .dir = dir,
        .mode = (vg_record_mode_t)cc->record_mode,
        .segment_us = cc->record_segment_us,
        .pre_capture_us = cc->record_pre_us,
        .post_capture_us = cc->record_post_us,
        .queue_bytes = (size_t)rt->cfg->storage_queue_size,
        .preroll_bytes = (size_t)rt->cfg->storage_preroll_size,
        .audio = cc->record_audio,
        .debug_write_delay_us = delay ? (int64_t)(atof(delay) * 1000) : 0,
        .on_segment = rt->storage ? on_segment : NULL,
        .opaque = rt->storage,
    };
    if (rc.debug_write_delay_us > 0)
        vg_log(VG_LOG_WARNING, "VIGIL_DEBUG_RECORD_DELAY_MS: camera '%s' writes every packet %sms late (a test "
               "hook: a slow disk)", cc->name, delay);
    int r = vg_recorder_new(&rc, &cam->recorder);
    if (r < 0)
        vg_log(VG_LOG_ERROR, "camera '%s': cannot start recording: %s", cc->name, strerror(-r));
    return r;
}

void record_activity(camera_t *cam, const vg_frame_t *frame, uint64_t motion_before, bool done)
{
    if (!cam->recorder)
        return;
    unsigned kinds = 0;
    if (load(&vg_analysis_stats(cam->analysis)->motion_frames) != motion_before)
        kinds |= VG_ACTIVITY_MOTION;
    if (done) {
        vg_analysis_result_t res;
        vg_analysis_last(cam->analysis, &res);
        if (res.n > 0)
            kinds |= VG_ACTIVITY_OBJECTS;
    }
    if (kinds)
        vg_recorder_activity(cam->recorder, kinds, frame->wall_us);
}

/* health.<camera> from the main thread: a recording state. */
static void record_health(vg_runtime_t *rt, camera_t *cam, const char *state, const char *reason)
{
    vg_jsonw_t w;
    vg_jsonw_init(&w, rt->msg, sizeof(rt->msg));
    vg_jsonw_object_begin(&w);
    vg_jsonw_key(&w, "time");
    vg_jsonw_time(&w, now_us(CLOCK_REALTIME));
    vg_jsonw_key(&w, "state");
    vg_jsonw_string(&w, state);
    vg_jsonw_key(&w, "reason");
    vg_jsonw_string(&w, reason);
    vg_jsonw_key(&w, "url");
    vg_jsonw_string(&w, cam->url_public); /* without credentials */
    vg_jsonw_object_end(&w);
    int len = vg_jsonw_finish(&w);
    if (len > 0)
        vg_emitter_send(rt->main_emitter, cam->topic_health, cam->cfg.name, rt->msg, (size_t)len);
}

void record_tick(vg_runtime_t *rt, int64_t now_mono)
{
    for (int i = 0; i < rt->n_cameras; i++) {
        camera_t *cam = rt->cameras[i];
        if (!cam->recorder)
            continue;
        const vg_recorder_stats_t *s = vg_recorder_stats(cam->recorder);
        char why[256];
        /* relaxed: readings of the capture and writer threads' states */
        int behind = atomic_load_explicit(&s->behind, memory_order_relaxed);
        int full = atomic_load_explicit(&s->disk_full, memory_order_relaxed);
        if (behind != cam->rec_behind) {
            snprintf(why, sizeof(why), "%s: %" PRIu64 " GOPs (%" PRIu64 " packets) dropped so far",
                     behind ? "the disk is behind, whole GOPs are dropped" : "the disk caught up",
                     load(&s->dropped_gops), load(&s->dropped_packets));
            vg_log(behind ? VG_LOG_WARNING : VG_LOG_INFO, "camera '%s': recording %s", cam->cfg.name, why);
            record_health(rt, cam, behind ? "recording_behind" : "recording", why);
            cam->rec_behind = behind;
        }
        if (full != cam->rec_disk_full) {
            snprintf(why, sizeof(why), "%s", full ? "no space left on the disk: the oldest footage is deleted"
                                                  : "recording again after a full disk");
            vg_log(full ? VG_LOG_ERROR : VG_LOG_INFO, "camera '%s': %s", cam->cfg.name, why);
            record_health(rt, cam, full ? "disk_full" : "recording", why);
            cam->rec_disk_full = full;
            if (full) /* a retention pass now, not at the next interval */
                vg_storage_make_room(rt->storage);
        }
        int r = vg_recorder_check(cam->recorder, now_mono);
        if (r != 0) {
            snprintf(why, sizeof(why), "no segment closed for 3 x record.segment: the writer was %s",
                     r > 0 ? "replaced" : "abandoned and no new one could start");
            vg_log(VG_LOG_ERROR, "camera '%s': recording stalled, %s", cam->cfg.name, why);
            record_health(rt, cam, "recording_stalled", why);
        }
    }
}

bool record_storage_changed(const vg_config_t *a, const vg_config_t *b)
{
    return strcmp(a->state_dir, b->state_dir) != 0 || a->storage_max_size != b->storage_max_size ||
           a->storage_min_free != b->storage_min_free || a->storage_queue_size != b->storage_queue_size ||
           a->storage_preroll_size != b->storage_preroll_size || a->storage_interval_us != b->storage_interval_us;
}

double record_memory_mb(const vg_runtime_t *rt)
{
    double mb = 0;
    for (int i = 0; i < rt->n_cameras; i++) {
        const camera_t *cam = rt->cameras[i];
        if (!cam->recorder)
            continue;
        vg_recorder_config_t rc = {.mode = (vg_record_mode_t)cam->cfg.record_mode,
                                   .queue_bytes = (size_t)rt->cfg->storage_queue_size,
                                   .preroll_bytes = (size_t)rt->cfg->storage_preroll_size};
        mb += vg_recorder_memory_max(&rc) / (double)(1 << 20);
    }
    return mb;
}
