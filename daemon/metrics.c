/* metrics.c: see metrics.h. */
#include "daemon/metrics.h"

#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

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

/* ------------------------------------------------------------ HTTP */

struct vg_metrics {
    struct MHD_Daemon *httpd;
    int port;
    pthread_mutex_t lock;           /* guards shared */
    vg_runtime_snapshot_t *shared;  /* main writes (update), HTTP thread copies */
    vg_runtime_snapshot_t *scratch; /* HTTP thread only: its own copy to render from */
    bool have;                      /* shared holds a snapshot */
};

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_len, void **con_cls)
{
    (void)version;
    (void)upload;
    (void)upload_len;
    (void)con_cls;
    vg_metrics_t *m = cls;
    const char *text = NULL;
    unsigned status = MHD_HTTP_OK;
    char *body = NULL;
    size_t len = 0;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        status = MHD_HTTP_METHOD_NOT_ALLOWED;
        text = "GET /metrics\n";
    } else if (strcmp(url, "/metrics") != 0) {
        status = MHD_HTTP_NOT_FOUND;
        text = "vigild serves /metrics only\n";
    } else {
        /* MHD runs one request at a time on its internal thread, so scratch
         * needs no lock of its own */
        pthread_mutex_lock(&m->lock);
        bool have = m->have;
        if (have)
            memcpy(m->scratch, m->shared, vg_runtime_snapshot_size(m->shared));
        pthread_mutex_unlock(&m->lock);
        if (!have) {
            status = MHD_HTTP_SERVICE_UNAVAILABLE;
            text = "starting\n";
        } else {
            FILE *f = open_memstream(&body, &len);
            if (!f || vg_metrics_render(m->scratch, f) < 0) {
                if (f)
                    fclose(f);
                free(body);
                return MHD_NO;
            }
            fclose(f);
        }
    }
    struct MHD_Response *r = body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
                                  : MHD_create_response_from_buffer(strlen(text), (void *)text,
                                                                    MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            body ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* "[tcp://|http://]HOST:PORT" -> host, port. */
static int parse_listen(const char *listen, char *host, size_t hostlen, char *port, size_t portlen)
{
    const char *s = listen;
    if (!strncmp(s, "tcp://", 6))
        s += 6;
    else if (!strncmp(s, "http://", 7))
        s += 7;
    const char *colon = strrchr(s, ':');
    if (!colon || !colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1) || strlen(colon + 1) > 5 ||
        atoi(colon + 1) > 65535)
        return -EINVAL;
    size_t hl = (size_t)(colon - s);
    if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') { /* [IPv6] */
        s++;
        hl -= 2;
    }
    if (hl >= hostlen)
        return -EINVAL;
    memcpy(host, s, hl);
    host[hl] = '\0';
    snprintf(port, portlen, "%s", colon + 1);
    return 0;
}

int vg_metrics_new(const char *listen, char *err, size_t errlen, vg_metrics_t **ret)
{
    char host[256], port[8];
    if (parse_listen(listen, host, sizeof(host), port, sizeof(port)) < 0) {
        snprintf(err, errlen, "daemon.metrics: '%s' is not HOST:PORT (e.g. 127.0.0.1:9108)", listen);
        return -EINVAL;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV}, *ai = NULL;
    int g = getaddrinfo(!host[0] || !strcmp(host, "*") ? NULL : host, port, &hints, &ai);
    if (g != 0) {
        snprintf(err, errlen, "daemon.metrics: cannot resolve '%s': %s", listen, gai_strerror(g));
        return -EINVAL;
    }
    vg_metrics_t *m = calloc(1, sizeof(*m));
    int r = -ENOMEM;
    if (!m)
        goto fail;
    pthread_mutex_init(&m->lock, NULL);
    m->shared = malloc(sizeof(*m->shared));
    m->scratch = malloc(sizeof(*m->scratch));
    if (!m->shared || !m->scratch)
        goto fail;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    errno = 0;
    /* a dashboard or two scrape us: a few connections, short timeouts, so
     * that a client that stalls cannot hold the thread for long */
    m->httpd = MHD_start_daemon(flags, 0, NULL, NULL, answer, m, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                                MHD_OPTION_CONNECTION_LIMIT, 16u, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
                                MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_END);
    if (!m->httpd) {
        r = errno ? -errno : -EADDRINUSE;
        snprintf(err, errlen, "cannot listen on '%s' for metrics: %s", listen, strerror(-r));
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(m->httpd, MHD_DAEMON_INFO_BIND_PORT);
    m->port = info ? info->port : atoi(port);
    freeaddrinfo(ai);
    *ret = m;
    return 0;
fail:
    freeaddrinfo(ai);
    vg_metrics_free(&m);
    return r;
}

int vg_metrics_port(const vg_metrics_t *m) { return m->port; }

void vg_metrics_update(vg_metrics_t *m, const vg_runtime_snapshot_t *snap)
{
    pthread_mutex_lock(&m->lock);
    memcpy(m->shared, snap, vg_runtime_snapshot_size(snap));
    m->have = true;
    pthread_mutex_unlock(&m->lock);
}

void vg_metrics_free(vg_metrics_t **pm)
{
    vg_metrics_t *m = pm ? *pm : NULL;
    if (!m)
        return;
    if (m->httpd)
        MHD_stop_daemon(m->httpd);
    pthread_mutex_destroy(&m->lock);
    free(m->shared);
    free(m->scratch);
    free(m);
    *pm = NULL;
}
