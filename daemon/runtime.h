/*
 * runtime: one running pipeline: the publisher, the worker pool and the
 * cameras (ring, frame pool, capture thread, analysis each), built from a
 * config and changed camera by camera on reload. vigild and `vigil replay`
 * both run it.
 *
 * Owns: the ZeroMQ context, publisher, workers, every camera and its emitter.
 * Thread: the main thread calls everything here; capture threads and workers
 * run inside.
 * Blocks on: vg_runtime_free and camera removal wait (bounded) for workers to
 * drain rings; nothing else.
 */
#ifndef VG_RUNTIME_H
#define VG_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "daemon/config.h"
#include "daemon/counters.h"
#include "daemon/metrics.h"

typedef struct {
    FILE *print_to;   /* replay: print JSON lines instead of publishing */
    bool lossless;    /* replay: block instead of dropping between stages */
    double speed;     /* replay of realtime files: pace at this many times their rate; 0 = 1 */
} vg_runtime_options_t;

/* Every camera's counters summed (daemon/counters.h; gauges stay 0). */
typedef struct {
    VG_CAMERA_COUNTER_FIELDS;
    uint64_t published;
    double elapsed_s;
} vg_runtime_totals_t;

typedef struct vg_runtime vg_runtime_t;

/* Sets the process's allocator for a long-running pipeline: buffers of
 * 128 KiB and more (frames, tensors, the model file while it loads) get
 * their own mappings and go back to the system when freed. glibc otherwise
 * raises its mmap threshold after the first large free (the 15 MB model
 * file), after which every later big buffer lands in the heap and its
 * freed pages stay resident: 15 MB of RSS with the default model. Call
 * once, first thing in main. Thread: main, before any other thread. */
void vg_runtime_tune_process(void);

/* Starts the publisher, the workers and every camera of cfg. cfg is borrowed
 * until vg_runtime_free or the next vg_runtime_apply. A camera whose source
 * cannot be opened is not an error here: it reports on health.<camera>.
 * Returns 0, or a negative errno with the cause in err (e.g. the publish
 * endpoint is in use). Thread: main. */
int vg_runtime_new(const vg_config_t *cfg, const vg_runtime_options_t *opt, char *err, size_t errlen,
                   vg_runtime_t **ret);

/* Applies a new config: cameras that were removed or changed are stopped
 * (their open events end), new and changed ones start; unchanged cameras keep
 * running untouched. Daemon-level changes (publish endpoint, workers) need a
 * restart and are reported in err with a positive return. Returns 0 or >0.
 * Thread: main. */
int vg_runtime_apply(vg_runtime_t *rt, const vg_config_t *cfg, char *msg, size_t msglen);

/* Housekeeping, called from the main loop: retires cameras whose source
 * ended, and emits `stats` when stats_interval has passed (or force).
 * Returns the number of cameras whose capture is still running.
 * Thread: main. */
int vg_runtime_tick(vg_runtime_t *rt, bool force_stats);

/* Number of cameras configured, and how many are streaming right now.
 * Thread: main. */
int vg_runtime_cameras(const vg_runtime_t *rt, int *ret_streaming);

/* Cameras still opening their source for the first time or again (state
 * connecting). vigild sends READY=1 once this is 0: every camera has been
 * opened or has failed for a reason it reported on health.<camera>.
 * Thread: main. */
int vg_runtime_opening(const vg_runtime_t *rt);

/* Logs what the rings, frame pools, decoders, corrections and models will
 * hold at most, from each camera's decoded size (1080p for one not open
 * yet), beside the resident size now. vigild calls it at READY=1, when
 * every camera has opened or failed. Thread: main. */
void vg_runtime_log_memory(const vg_runtime_t *rt);

/* Totals over every camera since start (summaries). Thread: main. */
void vg_runtime_totals(const vg_runtime_t *rt, vg_runtime_totals_t *ret);

/* One camera's counters at one moment (see vg_runtime_snapshot). Counters
 * are totals since the camera (re)started; fps and latency_p* cover the last
 * stats interval, the same figures as its last `stats` message. */
typedef struct {
    char name[64];
    char model[64];                 /* detector name, "" when none */
    int state;                      /* vg_source_state_t */
    int width, height;
    VG_CAMERA_COUNTER_FIELDS;       /* daemon/counters.h: packets, decoded, ... */
    double fps_decoded, fps_analysed;  /* over the last stats interval */
    double latency_p50_ms, latency_p95_ms, latency_p99_ms; /* idem */
    uint64_t latency[VG_LATENCY_BUCKETS]; /* histogram since start (not cumulative) */
    uint64_t latency_sum_us;
} vg_runtime_camera_snapshot_t;

typedef struct vg_runtime_snapshot {
    int64_t time_us;                /* CLOCK_REALTIME when taken */
    int workers;
    uint64_t published, publish_dropped, publish_invalid;
    int n_cameras;
    vg_runtime_camera_snapshot_t cameras[VG_CONFIG_MAX_CAMERAS];
} vg_runtime_snapshot_t;

/* Copies every camera's counters into ret (no allocation). Only the first
 * n_cameras entries are written. Thread: main. */
void vg_runtime_snapshot(vg_runtime_t *rt, vg_runtime_snapshot_t *ret);

/* Bytes of a snapshot that hold data: copy this much, not sizeof.
 * Thread: any. */
size_t vg_runtime_snapshot_size(const vg_runtime_snapshot_t *snap);

/* Watchdog: true when workers and publisher made progress since the last
 * call, or had nothing to do. When false, *ret_why (if not NULL) says which
 * one is stuck (a static string). Call it at most every 100 ms: the
 * publisher turns every 50 ms when idle. Thread: main. */
bool vg_runtime_alive(vg_runtime_t *rt, const char **ret_why);

struct vg_live_registry;
/* The cameras' live-view slots by name (daemon/live.h), for the HTTP
 * listener; valid until vg_runtime_free. Thread: main (the registry itself
 * is then safe from any thread). */
struct vg_live_registry *vg_runtime_live(vg_runtime_t *rt);

/* Stops capture, lets the workers drain the rings (at most drain_ms), ends
 * open events, flushes the publisher, frees everything. Accepts NULL.
 * Thread: main. */
void vg_runtime_free(vg_runtime_t **rt, int drain_ms);

#endif
