/* metrics.c: see metrics.h. */
#include "daemon/metrics.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>


#include "capture/source.h"
#include "daemon/counters.h"
#include "daemon/procstat.h"
#include "daemon/runtime.h"

/* ------------------------------------------------------------ histogram */

double vg_latency_bound_us(int i)
{
    if (i >= VG_LATENCY_BUCKETS - 1)
        return INFINITY;
    return VG_LATENCY_MIN_US * exp2(i / 3.0);
}

void vg_latency_record(vg_latency_t *h, int64_t us)
{
    int i = 0;
    if (us > VG_LATENCY_MIN_US) {
        /* smallest i with MIN * 2^(i/3) >= us; the bound test fixes the
         * rounding of log2 at exact bucket edges */
        i = (int)ceil(3.0 * log2((double)us / VG_LATENCY_MIN_US));
        if (i > 0 && vg_latency_bound_us(i - 1) >= (double)us)
            i--;
        if (i > VG_LATENCY_BUCKETS - 1)
            i = VG_LATENCY_BUCKETS - 1;
    }
    /* relaxed: counters; readers want totals, not an order with anything */
    atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_us, (uint64_t)(us > 0 ? us : 0), memory_order_relaxed);
}

void vg_latency_read(const vg_latency_t *h, uint64_t ret_counts[VG_LATENCY_BUCKETS], uint64_t *ret_sum_us)
{
    for (int i = 0; i < VG_LATENCY_BUCKETS; i++)
        /* relaxed: statistics */
        ret_counts[i] = atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
    if (ret_sum_us)
        *ret_sum_us = atomic_load_explicit(&h->sum_us, memory_order_relaxed);
}

double vg_latency_quantile_ms(const uint64_t counts[VG_LATENCY_BUCKETS], double q)
{
    uint64_t n = 0;
    for (int i = 0; i < VG_LATENCY_BUCKETS; i++)
        n += counts[i];
    if (!n)
        return 0;
    /* rank of the q-quantile, 1-based: ceil(q * n) */
    uint64_t rank = (uint64_t)ceil(q * (double)n);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (int i = 0; i < VG_LATENCY_BUCKETS; i++) {
        seen += counts[i];
        if (seen >= rank) {
            /* the overflow bucket has no upper bound: report its lower one */
            int b = i < VG_LATENCY_BUCKETS - 1 ? i : i - 1;
            return vg_latency_bound_us(b) / 1000.0;
        }
    }
    return vg_latency_bound_us(VG_LATENCY_BUCKETS - 2) / 1000.0;
}

/* ------------------------------------------------------------ rendering */

/* One family: # HELP and # TYPE lines. */
static void family(FILE *out, const char *name, const char *type, const char *help)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The per-camera counters (daemon/counters.h), one family per run of rows
 * with the same name. Label values are camera names: [A-Za-z0-9_-], nothing
 * to escape. */
static void per_camera_counters(FILE *out, const vg_runtime_snapshot_t *s)
{
    static const char *const types[] = {
        [VG_COUNTER_KIND_counter] = "counter", [VG_COUNTER_KIND_gauge] = "gauge", [VG_COUNTER_KIND_ns] = "counter"};
    for (int k = 0; k < vg_camera_counter_count; k++) {
        const vg_counter_info_t *info = &vg_camera_counter_info[k];
        if (k == 0 || strcmp(vg_camera_counter_info[k - 1].prom_family, info->prom_family) != 0)
            family(out, info->prom_family, types[info->kind], info->help);
        for (int i = 0; i < s->n_cameras; i++) {
            const vg_runtime_camera_snapshot_t *c = &s->cameras[i];
            uint64_t v = vg_camera_counter_get(&c->counters, k);
            fprintf(out, "%s{camera=\"%s\"%s%s} ", info->prom_family, c->name, info->prom_labels ? "," : "",
                    info->prom_labels ? info->prom_labels : "");
            if (info->kind == VG_COUNTER_KIND_ns)
                fprintf(out, "%.6f\n", v / 1e9);
            else
                fprintf(out, "%llu\n", (unsigned long long)v);
        }
    }
}

int vg_metrics_render(const vg_runtime_snapshot_t *s, FILE *out)
{
    per_camera_counters(out, s);

    family(out, "vigil_fps", "gauge", "Frames per second over the last stats interval, in (decoded) and out (analysed).");
    for (int i = 0; i < s->n_cameras; i++) {
        const vg_runtime_camera_snapshot_t *c = &s->cameras[i];
        fprintf(out, "vigil_fps{camera=\"%s\",stage=\"decoded\"} %.2f\n", c->name, c->fps_decoded);
        fprintf(out, "vigil_fps{camera=\"%s\",stage=\"analysed\"} %.2f\n", c->name, c->fps_analysed);
    }

    family(out, "vigil_detect_ms", "gauge", "Mean correction + detection time per run since start, milliseconds.");
    for (int i = 0; i < s->n_cameras; i++) {
        const vg_runtime_camera_snapshot_t *c = &s->cameras[i];
        fprintf(out, "vigil_detect_ms{camera=\"%s\"} %.3f\n", c->name,
                c->detect_frames ? c->detect_ns / 1e6 / (double)c->detect_frames : 0.0);
    }

    family(out, "vigil_camera_state", "gauge", "1 for the camera's current source state, 0 for the others.");
    for (int i = 0; i < s->n_cameras; i++)
        for (int st = VG_SOURCE_CONNECTING; st <= VG_SOURCE_STOPPED; st++)
            fprintf(out, "vigil_camera_state{camera=\"%s\",state=\"%s\"} %d\n", s->cameras[i].name,
                    vg_source_state_name((vg_source_state_t)st), s->cameras[i].state == st);

    /* Prometheus wants cumulative buckets; we print every third bound (the
     * powers of two of 0.1 ms), which are exact sums of ours. */
    family(out, "vigil_latency_seconds", "histogram",
           "Per frame, from decode to the analysis' messages handed to the publisher.");
    for (int i = 0; i < s->n_cameras; i++) {
        const vg_runtime_camera_snapshot_t *c = &s->cameras[i];
        uint64_t cum = 0;
        for (int b = 0; b < VG_LATENCY_BUCKETS - 1; b++) {
            cum += c->latency[b];
            if (b % 3 == 0)
                fprintf(out, "vigil_latency_seconds_bucket{camera=\"%s\",le=\"%g\"} %llu\n", c->name,
                        vg_latency_bound_us(b) / 1e6, (unsigned long long)cum);
        }
        cum += c->latency[VG_LATENCY_BUCKETS - 1];
        fprintf(out, "vigil_latency_seconds_bucket{camera=\"%s\",le=\"+Inf\"} %llu\n", c->name,
                (unsigned long long)cum);
        fprintf(out, "vigil_latency_seconds_sum{camera=\"%s\"} %.6f\n", c->name, c->latency_sum_us / 1e6);
        fprintf(out, "vigil_latency_seconds_count{camera=\"%s\"} %llu\n", c->name, (unsigned long long)cum);
    }
    family(out, "vigil_latency_interval_ms", "gauge",
           "Latency percentiles over the last stats interval (as in the stats topic), milliseconds.");
    for (int i = 0; i < s->n_cameras; i++) {
        const vg_runtime_camera_snapshot_t *c = &s->cameras[i];
        fprintf(out, "vigil_latency_interval_ms{camera=\"%s\",quantile=\"0.5\"} %.3f\n", c->name, c->latency_p50_ms);
        fprintf(out, "vigil_latency_interval_ms{camera=\"%s\",quantile=\"0.95\"} %.3f\n", c->name, c->latency_p95_ms);
        fprintf(out, "vigil_latency_interval_ms{camera=\"%s\",quantile=\"0.99\"} %.3f\n", c->name, c->latency_p99_ms);
    }

    family(out, "vigil_published_messages_total", "counter", "Messages published (all cameras).");
    fprintf(out, "vigil_published_messages_total %llu\n", (unsigned long long)s->published);
    family(out, "vigil_publish_dropped_total", "counter", "Messages dropped before the publisher (all cameras).");
    fprintf(out, "vigil_publish_dropped_total %llu\n", (unsigned long long)s->publish_dropped);
    family(out, "vigil_workers", "gauge", "Analysis worker threads.");
    fprintf(out, "vigil_workers %d\n", s->workers);
    family(out, "vigil_cameras", "gauge", "Cameras configured.");
    fprintf(out, "vigil_cameras %d\n", s->n_cameras);

    vg_procstat_t p;
    if (vg_procstat_read(&p) == 0) {
        family(out, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
        fprintf(out, "process_cpu_seconds_total %.2f\n", p.cpu_s);
        family(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
        fprintf(out, "process_resident_memory_bytes %llu\n", p.rss_bytes);
        family(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
        fprintf(out, "process_virtual_memory_bytes %llu\n", p.vsize);
        family(out, "process_threads", "gauge", "Threads of the process.");
        fprintf(out, "process_threads %ld\n", p.threads);
        if (p.start_s > 0) {
            family(out, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
            fprintf(out, "process_start_time_seconds %.2f\n", p.start_s);
        }
    }
    return ferror(out) ? -EIO : 0;
}
