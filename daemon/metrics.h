/*
 * metrics: what vigild measures about itself, for dashboards.
 *
 * Two parts:
 *  - vg_latency_t, a fixed histogram of per-frame latency (capture to
 *    publish), one per camera: recording is one relaxed atomic increment, no
 *    allocation, so workers call it for every frame;
 *  - vg_metrics_t, an HTTP listener (libmicrohttpd, its own thread) that
 *    answers GET /metrics in the Prometheus text format (version 0.0.4)
 *    from the latest vg_runtime_snapshot_t the main thread handed it.
 *
 * Why a snapshot and not the runtime's atomics: cameras are created and
 * freed by the main thread on SIGHUP, so an HTTP thread that walked the
 * camera table would race with camera_free. The main thread copies the
 * counters (a few hundred bytes per camera) every tick and swaps them in
 * under a mutex; a scrape therefore sees values at most one tick (100 ms)
 * old, all taken at the same moment, and never touches a camera.
 *
 * Owns: the listening socket and libmicrohttpd's thread; a copy of the last
 * snapshot.
 * Thread: vg_metrics_new/update/free from the main thread; the HTTP thread
 * only reads the copy (under the mutex) and /proc/self.
 * Blocks on: vg_metrics_update takes a mutex held only for a memcpy;
 * vg_metrics_free joins the HTTP thread (bounded by open connections,
 * which time out after 10 s).
 */
#ifndef VG_METRICS_H
#define VG_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Latency buckets: bucket i counts latencies <= VG_LATENCY_MIN_US * 2^(i/3)
 * (three buckets per octave, each 26% wider than the last), from 0.1 ms to
 * 2^21 * 0.1 ms = 210 s; the last bucket counts everything above. A
 * percentile read from it is the upper bound of its bucket: at most 26% high. */
#define VG_LATENCY_MIN_US 100
#define VG_LATENCY_BUCKETS 64

typedef struct {
    _Atomic uint64_t buckets[VG_LATENCY_BUCKETS]; /* counts, not cumulative */
    _Atomic uint64_t sum_us;                      /* for the mean (Prometheus _sum) */
} vg_latency_t;

/* Upper bound of bucket i in microseconds (INFINITY for the last).
 * Thread: any. */
double vg_latency_bound_us(int i);

/* Counts one latency. Thread: any (relaxed atomics; one writer per camera at
 * a time in practice, but several would be correct too). */
void vg_latency_record(vg_latency_t *h, int64_t us);

/* Copies the counts (each read relaxed: a statistic, not a consistent cut).
 * Thread: any. */
void vg_latency_read(const vg_latency_t *h, uint64_t ret_counts[VG_LATENCY_BUCKETS], uint64_t *ret_sum_us);

/* The q-quantile (0 < q <= 1) of counts (a histogram, or the difference of
 * two reads), in milliseconds: the upper bound of the bucket holding it.
 * Returns 0 when counts are all 0. Thread: any. */
double vg_latency_quantile_ms(const uint64_t counts[VG_LATENCY_BUCKETS], double q);

struct vg_runtime_snapshot; /* daemon/runtime.h */
typedef struct vg_metrics vg_metrics_t;

/* Listens on `listen`: "HOST:PORT", optionally prefixed with tcp:// or
 * http:// (HOST may be a name, an IPv4 address, [IPv6], or * for all; PORT 0
 * picks a free port, see vg_metrics_port). Returns 0, or a negative errno
 * with the cause in err ("cannot listen on '...': Address already in use").
 * Thread: main. */
int vg_metrics_new(const char *listen, char *err, size_t errlen, vg_metrics_t **ret);

/* The port actually bound. Thread: any. */
int vg_metrics_port(const vg_metrics_t *m);

/* Hands the HTTP thread a new snapshot (copied; snap is borrowed).
 * Thread: main. */
void vg_metrics_update(vg_metrics_t *m, const struct vg_runtime_snapshot *snap);

/* Stops the listener and frees. Accepts NULL; sets *m = NULL. Thread: main. */
void vg_metrics_free(vg_metrics_t **m);

/* Writes the Prometheus text for snap (and this process's /proc/self) to
 * out. Exposed for tests and `vigil`; returns 0 or a negative errno.
 * Thread: any (the HTTP thread renders its own copy). */
int vg_metrics_render(const struct vg_runtime_snapshot *snap, FILE *out);

#endif
