/*
 * metrics: what vigild measures about itself, for dashboards.
 *
 * Two parts:
 *  - vg_latency_t, a fixed histogram of per-frame latency (capture to
 *    publish), one per camera: recording is one relaxed atomic increment, no
 *    allocation, so workers call it for every frame;
 *  - vg_metrics_render, the Prometheus text format (version 0.0.4) of a
 *    vg_runtime_snapshot_t, which daemon/http.c serves on GET /metrics.
 *
 * The HTTP listener (daemon/http.c) renders from a snapshot the main thread
 * hands it, never from live camera state (cameras come and go on SIGHUP).
 *
 * Owns: nothing (the histogram is the caller's memory).
 * Thread: vg_latency_record from workers; the rest from any thread.
 * Blocks on: nothing.
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
/* Writes the Prometheus text for snap (and this process's /proc/self) to
 * out. Exposed for tests and `vigil`; returns 0 or a negative errno.
 * Thread: any (the HTTP thread renders its own copy). */
int vg_metrics_render(const struct vg_runtime_snapshot *snap, FILE *out);

#endif
