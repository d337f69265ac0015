/* daemon/metrics: the latency histogram (bucket edges, percentiles) and the
 * Prometheus text rendering of a snapshot. The HTTP side is checked end to
 * end in test_service.c. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "capture/source.h"
#include "daemon/metrics.h"
#include "daemon/runtime.h"

Test(latency, values_land_in_the_bucket_whose_bound_covers_them)
{
    for (int i = 0; i < VG_LATENCY_BUCKETS - 1; i++) {
        double bound = vg_latency_bound_us(i);
        int64_t at = (int64_t)floor(bound); /* at (or just under) the bound: bucket i */
        int64_t above = at + 2;             /* clearly above: bucket i + 1 */
        if (i > 0 && at <= (int64_t)vg_latency_bound_us(i - 1))
            continue; /* sub-microsecond buckets cannot be told apart */
        vg_latency_t h = {0};
        uint64_t c[VG_LATENCY_BUCKETS], sum;
        vg_latency_record(&h, at);
        vg_latency_read(&h, c, &sum);
        cr_assert_eq(c[i], 1, "%lld us (bound %g) not in bucket %d", (long long)at, bound, i);
        cr_assert_eq(sum, (uint64_t)at);
        if ((double)above > vg_latency_bound_us(i) && i + 1 < VG_LATENCY_BUCKETS) {
            vg_latency_t g = {0};
            vg_latency_record(&g, above);
            vg_latency_read(&g, c, NULL);
            cr_assert_eq(c[i + 1], 1, "%lld us not in bucket %d", (long long)above, i + 1);
        }
    }
    /* below the first bound, zero and negative (a clock step) go to bucket 0;
     * beyond the last bound to the overflow bucket */
    vg_latency_t h = {0};
    uint64_t c[VG_LATENCY_BUCKETS];
    vg_latency_record(&h, 0);
    vg_latency_record(&h, -5000);
    vg_latency_record(&h, INT64_C(3600) * 1000000);
    vg_latency_read(&h, c, NULL);
    cr_assert_eq(c[0], 2);
    cr_assert_eq(c[VG_LATENCY_BUCKETS - 1], 1);
    cr_assert(isinf(vg_latency_bound_us(VG_LATENCY_BUCKETS - 1)));
}

Test(latency, percentiles_are_the_upper_bound_of_their_bucket)
{
    vg_latency_t h = {0};
    /* 90 frames at 1 ms, 9 at 20 ms, 1 at 300 ms */
    for (int i = 0; i < 90; i++)
        vg_latency_record(&h, 1000);
    for (int i = 0; i < 9; i++)
        vg_latency_record(&h, 20000);
    vg_latency_record(&h, 300000);
    uint64_t c[VG_LATENCY_BUCKETS];
    vg_latency_read(&h, c, NULL);
    double p50 = vg_latency_quantile_ms(c, 0.50), p95 = vg_latency_quantile_ms(c, 0.95),
           p99 = vg_latency_quantile_ms(c, 0.99), p100 = vg_latency_quantile_ms(c, 1.0);
    /* each within one bucket (26%) above the true value, never below */
    cr_assert(p50 >= 1.0 && p50 < 1.26, "p50 %g", p50);
    cr_assert(p95 >= 20.0 && p95 < 25.2, "p95 %g", p95);
    cr_assert(p99 >= 20.0 && p99 < 25.2, "p99 %g (rank 99 is the last 20 ms frame)", p99);
    cr_assert(p100 >= 300.0 && p100 < 378, "max %g", p100);
    uint64_t zero[VG_LATENCY_BUCKETS] = {0};
    cr_assert_eq(vg_latency_quantile_ms(zero, 0.5), 0);
}

/* One renders a hand-made snapshot: every sample line belongs to a family
 * announced by # TYPE, the values are the snapshot's, the histogram is
 * cumulative and its +Inf bucket equals _count. */
Test(metrics, render_a_snapshot_as_prometheus_text)
{
    static vg_runtime_snapshot_t s;
    memset(&s, 0, sizeof(s));
    s.n_cameras = 2;
    s.workers = 2;
    s.published = 1234;
    snprintf(s.cameras[0].name, sizeof(s.cameras[0].name), "door");
    snprintf(s.cameras[1].name, sizeof(s.cameras[1].name), "yard-2");
    s.cameras[0].decoded = 795;
    s.cameras[0].analysed = 398;
    s.cameras[0].dropped_ring = 7;
    s.cameras[0].state = VG_SOURCE_STREAMING;
    s.cameras[1].state = VG_SOURCE_RECONNECTING;
    s.cameras[1].reconnects = 3;
    s.cameras[0].fps_analysed = 5.0;
    s.cameras[0].latency[3] = 10;
    s.cameras[0].latency[10] = 5;
    s.cameras[0].latency[VG_LATENCY_BUCKETS - 1] = 1;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cr_assert_eq(vg_metrics_render(&s, f), 0);
    fclose(f);
    const char *want[] = {
        "vigil_frames_decoded_total{camera=\"door\"} 795\n",
        "vigil_frames_analysed_total{camera=\"door\"} 398\n",
        "vigil_dropped_total{camera=\"door\",stage=\"ring\",reason=\"workers_behind\"} 7\n",
        "vigil_reconnects_total{camera=\"yard-2\"} 3\n",
        "vigil_camera_state{camera=\"yard-2\",state=\"reconnecting\"} 1\n",
        "vigil_camera_state{camera=\"yard-2\",state=\"streaming\"} 0\n",
        "vigil_fps{camera=\"door\",stage=\"analysed\"} 5.00\n",
        "vigil_latency_seconds_bucket{camera=\"door\",le=\"0.0001\"} 0\n",
        /* bucket 3 ends at 0.1 ms * 2^1, bucket 10 at 0.1 ms * 2^(10/3) = 1.01 ms */
        "vigil_latency_seconds_bucket{camera=\"door\",le=\"0.0002\"} 10\n",
        "vigil_latency_seconds_bucket{camera=\"door\",le=\"0.0008\"} 10\n",
        "vigil_latency_seconds_bucket{camera=\"door\",le=\"0.0016\"} 15\n",
        "vigil_latency_seconds_bucket{camera=\"door\",le=\"0.0128\"} 15\n",
        "vigil_latency_seconds_bucket{camera=\"door\",le=\"+Inf\"} 16\n",
        "vigil_latency_seconds_count{camera=\"door\"} 16\n",
        "vigil_published_messages_total 1234\n",
        "vigil_workers 2\n",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        cr_expect_not_null(strstr(text, want[i]), "missing %s", want[i]);
    /* every sample's family was announced */
    char *copy = strdup(text);
    int samples = 0;
    for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#')
            continue;
        samples++;
        char fam[128], type[160];
        cr_assert_eq(sscanf(line, "%127[a-z_]", fam), 1, "%s", line);
        snprintf(type, sizeof(type), "# TYPE %s ", fam);
        if (strstr(text, type))
            continue;
        static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
        bool found = false;
        for (int k = 0; k < 3 && !found; k++) {
            size_t fl = strlen(fam), sl = strlen(suffixes[k]);
            if (fl > sl && !strcmp(fam + fl - sl, suffixes[k])) {
                snprintf(type, sizeof(type), "# TYPE %.*s histogram\n", (int)(fl - sl), fam);
                found = strstr(text, type) != NULL;
            }
        }
        cr_assert(found, "sample without a # TYPE: %s", line);
    }
    free(copy);
    cr_assert_gt(samples, 40);
    free(text);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        fwrite(chunk, 1, n, m);
    fclose(f);
    fclose(m);
    return buf;
}

/* The counter list (daemon/counters.h) is the one source: each counter,
 * given its own value in a snapshot, comes out on its Prometheus line with
 * that value for every camera, is summed by vg_camera_counters_add unless a
 * gauge, and docs/events.md names its Prometheus family and stats key. */
Test(metrics, every_counter_of_the_list_reaches_prometheus_totals_and_the_docs)
{
    static vg_runtime_snapshot_t s;
    memset(&s, 0, sizeof(s));
    s.n_cameras = 2;
    snprintf(s.cameras[0].name, sizeof(s.cameras[0].name), "door");
    snprintf(s.cameras[1].name, sizeof(s.cameras[1].name), "yard");
    vg_camera_counters_t sum = {0};
    for (int c = 0; c < 2; c++) {
        for (int k = 0; k < vg_camera_counter_count; k++)
            *(uint64_t *)((char *)&s.cameras[c].counters + vg_camera_counter_info[k].offset) =
                (uint64_t)(1000 * (c + 1) + k) * 1000000000ull;
        vg_camera_counters_add(&sum, &s.cameras[c].counters);
    }
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cr_assert_eq(vg_metrics_render(&s, f), 0);
    fclose(f);
    char *doc = read_text(VIGIL_SOURCE_DIR "/docs/events.md");
    cr_assert_not_null(doc);
    for (int k = 0; k < vg_camera_counter_count; k++) {
        const vg_counter_info_t *info = &vg_camera_counter_info[k];
        for (int c = 0; c < 2; c++) {
            uint64_t v = (uint64_t)(1000 * (c + 1) + k) * 1000000000ull;
            char want[256], value[64];
            if (info->kind == VG_COUNTER_KIND_ns)
                snprintf(value, sizeof(value), "%.6f", v / 1e9);
            else
                snprintf(value, sizeof(value), "%llu", (unsigned long long)v);
            snprintf(want, sizeof(want), "\n%s{camera=\"%s\"%s%s} %s\n", info->prom_family, s.cameras[c].name,
                     info->prom_labels ? "," : "", info->prom_labels ? info->prom_labels : "", value);
            cr_expect_not_null(strstr(text, want), "missing %s", want + 1);
        }
        uint64_t want_sum = info->kind == VG_COUNTER_KIND_gauge
                                ? 0
                                : (uint64_t)(1000 + k) * 1000000000ull + (uint64_t)(2000 + k) * 1000000000ull;
        cr_expect_eq(vg_camera_counter_get(&sum, k), want_sum, "%s summed", info->name);
        char name[128];
        snprintf(name, sizeof(name), "`%s", info->prom_family);
        cr_expect_not_null(strstr(doc, name), "docs/events.md does not name %s", info->prom_family);
        if (info->json_key) {
            snprintf(name, sizeof(name), "%s%s", info->json == VG_COUNTER_JSON_FRAMES    ? "`frames."
                                                  : info->json == VG_COUNTER_JSON_DROPPED ? "`dropped."
                                                  : info->json == VG_COUNTER_JSON_DETECT  ? "detect."
                                                  : info->json == VG_COUNTER_JSON_RECORD  ? "record."
                                                                                          : "`",
                     info->json_key);
            cr_expect_not_null(strstr(doc, name), "docs/events.md's stats table does not name %s", name);
        }
    }
    free(doc);
    free(text);
}
