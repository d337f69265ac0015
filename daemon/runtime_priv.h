/*
 * runtime_priv.h: the runtime's own types and the functions its files
 * (runtime.c: camera lifecycle and apply; runtime_models.c: the model
 * registry; runtime_stats.c: stats, snapshot, totals, memory log) share.
 * Not a public header: only daemon/runtime*.c include it.
 *
 * Thread: as runtime.h (the main thread), unless a function says otherwise.
 */
#ifndef VG_RUNTIME_PRIV_H
#define VG_RUNTIME_PRIV_H

#include "daemon/runtime.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "capture/recorder.h"
#include "capture/source.h"
#include "daemon/live.h"
#include "daemon/publisher.h"
#include "pipeline/analysis.h"
#include "pipeline/cascade.h"
#include "pipeline/detect.h"
#include "pipeline/inference.h"
#include "pipeline/workers.h"
#include "storage/storage.h"

#define MSG_CAP 8192 /* a stats message with its objects and lines (issue 11) */
/* What of a URL or a reason goes into a message, in bytes: with JSON's
 * escapes (6 bytes per control character at worst) both still fit in
 * MSG_CAP beside the other fields. Longer ones are cut, marked "...". */
#define TEXT_MAX 256

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
    double low_score;        /* boxes kept down to this score (vg_model_low_score at load) */
    char error[512];         /* why it failed */
} model_t;

/* What the log last said of a camera's health (runtime.c, log_health). */
typedef struct {
    bool bad;         /* reconnecting or failed was logged, no recovery since */
    int state;        /* that state (vg_source_state_t) */
    char reason[512]; /* its reason, URLs redacted */
    int64_t at_us;    /* when (CLOCK_MONOTONIC) */
    unsigned repeats; /* the same state and reason again since, not logged */
} health_log_t;

/* What the analysis emits through (runtime_emit): the thread's emitter, and
 * the runtime whose storage indexes events. */
typedef struct {
    vg_emitter_t *emitter;
    struct vg_runtime *rt;
} emit_ctx_t;

typedef struct camera {
    struct vg_runtime *rt;
    vg_recorder_t *recorder;       /* NULL = not recorded; the capture thread feeds it */
    int rec_behind, rec_disk_full; /* main: recording states last reported on health */
    vg_detector_t *detector;       /* borrowed from a model_t; NULL = motion only */
    vg_inference_t *actor;         /* borrowed: the detector's actor, or NULL */
    vg_inference_t *face, *expression; /* borrowed: the cascade's models' actors */
    vg_inference_t *classifier;    /* borrowed: the classify: model's actor */
    vg_cascade_t *cascade;         /* faces -> expression, classify; NULL = none */
    vg_camera_config_t cfg;        /* copy; url points to our own copy */
    char *url;
    char url_public[TEXT_MAX];     /* url without user:password, bounded: what messages carry */
    char topic_health[96];
    vg_ring_t *ring;
    vg_frame_pool_t *pool;
    vg_analysis_t *analysis;
    vg_live_t *live;               /* hands analysed frames to the live views (daemon/live.h) */
    vg_source_t *source;
    vg_emitter_t *health_emitter;  /* used by the capture thread only */
    char health_msg[MSG_CAP];      /* capture thread only */
    health_log_t health_log;       /* capture thread only */
    pthread_mutex_t reason_lock;   /* guards reason: the capture thread writes, main reads */
    char reason[TEXT_MAX];         /* the last health report's reason, redacted and bounded */
    _Atomic uint64_t publish_lost; /* messages of this camera not handed to the publisher
                                      (queue full, or too big to build); any thread adds */
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
    emit_ctx_t worker_ctx[VG_WORKERS_MAX]; /* each worker's emit context */
    void *worker_ctx_ptr[VG_WORKERS_MAX];
    emit_ctx_t main_ctx;
    vg_storage_t *storage;   /* the index of recordings; NULL while no camera records */
    bool storage_failed;     /* it could not open: not tried again until restart */
    camera_t *cameras[VG_CONFIG_MAX_CAMERAS];
    int n_cameras;
    vg_live_registry_t *live;      /* the cameras' live slots by name, for the HTTP side */
    model_t *models[VG_CONFIG_MAX_MODELS];
    int n_models;
    int batch;               /* daemon.inference_batch at start */
    int64_t batch_wait_us;   /* daemon.inference_wait at start */
    int64_t started_us, last_stats_us;
    int64_t last_prune_us;   /* snapshot retention, last run (monotonic) */
    uint64_t last_progress; /* worker frames handled at the last watchdog check */
    uint64_t last_publisher_loops; /* publisher turns at the last watchdog check */
    /* cameras removed by reload: their totals still count */
    vg_runtime_totals_t retired_totals;
    /* the next track id of cameras stopped by a reload, by name, so that a
     * restarted camera's ids go on rising (event ids never repeat in a run) */
    struct {
        char name[VG_CONFIG_NAME_MAX];
        uint64_t next_id;
    } track_ids[VG_CONFIG_MAX_CAMERAS];
    int n_track_ids;
    char msg[MSG_CAP];
};

static inline int64_t now_us(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline uint64_t load(const _Atomic uint64_t *v)
{
    /* relaxed: statistics */
    return atomic_load_explicit(v, memory_order_relaxed);
}

/* runtime.c */
/* Stops the camera's capture, lets the workers finish its queued frames (up
 * to drain_ms), removes its queue and ends its open event. */
void camera_retire(vg_runtime_t *rt, camera_t *cam, int drain_ms, const char *reason);

/* runtime_models.c */
/* The loaded model called name among models[0..n), or NULL. */
model_t *find_model(model_t *const *models, int n, const char *name);
/* Its actor, or NULL when absent or failed to load. */
vg_inference_t *model_actor(model_t *const *models, int n, const char *name);
void model_free(model_t **pm);
/* Brings rt->models in line with cfg: unchanged models are kept, changed
 * and new ones loaded (only those a camera uses), removed ones go once no
 * camera uses them (the caller restarts those cameras first). */
void load_models(vg_runtime_t *rt, const vg_config_t *cfg, model_t **ret_models, int *ret_n);

/* runtime_record.c */
/* vg_emit_fn for the analysis: sends through ctx (emit_ctx_t) and hands
 * event.<camera> messages to the storage's index. Thread: the ctx's. */
int runtime_emit(void *ctx, const char *topic, const char *camera, const char *json, size_t len);
int runtime_emit_blob(void *ctx, const char *topic, const char *camera, const char *json, size_t len,
                      const void *blob, size_t blob_len);
/* Starts the storage thread once a camera of cfg records, or updates its
 * per-camera retention. Returns 0 or a negative errno (logged). */
int record_storage_update(vg_runtime_t *rt, const vg_config_t *cfg);
/* Creates cam->recorder when the camera records. Returns 0 or a negative
 * errno (logged; the camera runs without recording). */
int record_camera_start(vg_runtime_t *rt, camera_t *cam);
/* Worker: tells the recorder the frame's activity (motion_before: the
 * camera's motion_frames before the frame; done: detections are final). */
void record_activity(camera_t *cam, const vg_frame_t *frame, uint64_t motion_before, bool done);
/* Main: recording health (behind, disk full), stalled writers. */
void record_tick(vg_runtime_t *rt, int64_t now_mono);
/* True when the storage settings (storage.*, daemon.state_dir) differ: the
 * storage thread keeps the ones it started with. */
bool record_storage_changed(const vg_config_t *a, const vg_config_t *b);
/* MB the recorders' queues and pre-rolls may hold at most. */
double record_memory_mb(const vg_runtime_t *rt);

/* runtime_stats.c */
void add_totals(vg_runtime_totals_t *t, const camera_t *cam);
/* Copies text into buf (len >= 8) with URLs' user:password removed
 * (vg_log_redact_urls) and cut to len - 1 bytes at a UTF-8 boundary, the cut
 * marked "...". Thread: any. */
void public_text(const char *text, char *buf, size_t len);
void emit_stats(vg_runtime_t *rt, camera_t *cam, int64_t now_mono, long rss, double cpu_s);

#endif
