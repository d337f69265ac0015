/* http.c: see http.h. The listener, routing, responses, static files,
 * /metrics, /api/stats and /api/cameras. */
#include "daemon/http_priv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture/source.h"
#include "daemon/counters.h"
#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/procstat.h"

/* Connections: a browser opens about six at once (a grid of live views
 * takes one each); one address may hold PER_CLIENT, all of them TOTAL. An
 * idle connection is closed after TIMEOUT_S (streams send at least every
 * few seconds). */
#define HTTP_PER_CLIENT 16u
#define HTTP_TOTAL 128u
#define HTTP_TIMEOUT_S 10u
#define HTTP_STACK (256u * 1024u) /* per connection thread; the handlers keep big buffers on the heap */

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ------------------------------------------------------------ responses */

void http_common_headers(struct MHD_Response *r)
{
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
                            "object-src 'none'; frame-ancestors 'none'");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
}

enum MHD_Result http_send(struct MHD_Connection *c, unsigned status, const char *type, char *body, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    http_common_headers(r);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result http_json(struct MHD_Connection *c, unsigned status, json_t *obj)
{
    char *text = obj ? json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;
    json_decref(obj);
    if (!text)
        return MHD_NO;
    return http_send(c, status, "application/json", text, strlen(text));
}

enum MHD_Result http_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return http_json(c, status, json_pack("{s:i,s:s}", "status", (int)status, "error", msg));
}

const char *http_arg(struct MHD_Connection *c, const char *key)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
    return v && v[0] ? v : NULL;
}

int http_parse_time(const char *s, int64_t *ret_us)
{
    struct tm tm = {0};
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p)
        return -EINVAL;
    int64_t us = 0;
    if (*p == '.') {
        int64_t scale = 100000;
        for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
            us += (*p - '0') * scale;
    }
    int64_t off_s = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int hh, mm;
        if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
            return -EINVAL;
        off_s = (hh * 3600 + mm * 60) * (*p == '+' ? 1 : -1);
        p += 6;
    }
    if (*p)
        return -EINVAL;
    *ret_us = ((int64_t)timegm(&tm) - off_s) * 1000000 + us;
    return 0;
}

/* ------------------------------------------------------------ snapshot */

/* A copy of the last snapshot (caller frees), or NULL before the first. */
static vg_runtime_snapshot_t *snapshot_copy(vg_http_t *h)
{
    vg_runtime_snapshot_t *s = malloc(sizeof(*s));
    if (!s)
        return NULL;
    pthread_mutex_lock(&h->lock);
    bool have = h->have;
    if (have)
        memcpy(s, h->shared, vg_runtime_snapshot_size(h->shared));
    pthread_mutex_unlock(&h->lock);
    if (!have) {
        free(s);
        return NULL;
    }
    return s;
}

static uint64_t dropped_frames(const vg_runtime_camera_snapshot_t *c)
{
    return c->dropped_ring + c->dropped_pool + c->dropped_shutdown;
}

void vg_http_update(vg_http_t *h, const vg_runtime_snapshot_t *snap)
{
    int64_t now = mono_us();
    bool sample = now - h->hist_last_us >= HTTP_HISTORY_EVERY_US;
    vg_procstat_t p = {0};
    if (sample)
        vg_procstat_read(&p);
    pthread_mutex_lock(&h->lock);
    memcpy(h->shared, snap, vg_runtime_snapshot_size(snap));
    h->have = true;
    if (sample) {
        http_sample_t *s = &h->history[h->hist_next];
        s->time_us = snap->time_us;
        s->cpu_percent = 100.0 * (p.cpu_s - h->hist_cpu_s) / ((now - h->hist_last_us) / 1e6);
        s->rss_bytes = p.rss_bytes;
        s->n = snap->n_cameras;
        for (int i = 0; i < snap->n_cameras; i++) {
            const vg_runtime_camera_snapshot_t *c = &snap->cameras[i];
            snprintf(s->cam[i].name, sizeof(s->cam[i].name), "%s", c->name);
            s->cam[i].fps_analysed = (float)c->fps_analysed;
            s->cam[i].fps_decoded = (float)c->fps_decoded;
            s->cam[i].p50_ms = (float)c->latency_p50_ms;
            s->cam[i].p99_ms = (float)c->latency_p99_ms;
            s->cam[i].dropped = dropped_frames(c);
        }
        h->hist_next = (h->hist_next + 1) % HTTP_HISTORY;
        if (h->hist_n < HTTP_HISTORY)
            h->hist_n++;
        h->hist_last_us = now;
        h->hist_cpu_s = p.cpu_s;
    }
    pthread_mutex_unlock(&h->lock);
}

static void iso_time(int64_t us, char buf[32])
{
    time_t t = (time_t)(us / 1000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, 32 - n, ".%03dZ", (int)(us / 1000 % 1000));
}

static enum MHD_Result route_metrics(vg_http_t *h, struct MHD_Connection *c)
{
    vg_runtime_snapshot_t *s = snapshot_copy(h);
    if (!s)
        return http_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "starting");
    char *body = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&body, &len);
    int r = f ? vg_metrics_render(s, f) : -ENOMEM;
    if (f)
        fclose(f);
    free(s);
    if (r < 0) {
        free(body);
        return http_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot render the metrics");
    }
    return http_send(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body, len);
}

static json_t *camera_counters(const vg_runtime_camera_snapshot_t *c)
{
    json_t *o = json_object();
    for (int k = 0; k < vg_camera_counter_count; k++)
        json_object_set_new(o, vg_camera_counter_info[k].name,
                            json_integer((json_int_t)vg_camera_counter_get(&c->counters, k)));
    return o;
}

static enum MHD_Result route_stats(vg_http_t *h, struct MHD_Connection *c)
{
    vg_runtime_snapshot_t *s = snapshot_copy(h);
    if (!s)
        return http_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "starting");
    char t[32];
    iso_time(s->time_us, t);
    vg_procstat_t p = {0};
    vg_procstat_read(&p);
    json_t *cams = json_array();
    for (int i = 0; i < s->n_cameras; i++) {
        const vg_runtime_camera_snapshot_t *k = &s->cameras[i];
        json_array_append_new(
            cams, json_pack("{s:s,s:f,s:f,s:{s:f,s:f,s:f},s:I,s:o}", "name", k->name, "fps_decoded", k->fps_decoded,
                            "fps_analysed", k->fps_analysed, "latency_ms", "p50", k->latency_p50_ms, "p95",
                            k->latency_p95_ms, "p99", k->latency_p99_ms, "dropped",
                            (json_int_t)dropped_frames(k), "counters", camera_counters(k)));
    }
    json_t *o = json_pack("{s:s,s:i,s:I,s:I,s:{s:f,s:I,s:i},s:o}", "time", t, "workers", s->workers, "published",
                          (json_int_t)s->published, "publish_dropped", (json_int_t)s->publish_dropped, "process",
                          "cpu_seconds", p.cpu_s, "rss_bytes", (json_int_t)p.rss_bytes, "threads", (int)p.threads,
                          "cameras", cams);
    free(s);
    return http_json(c, MHD_HTTP_OK, o);
}

static enum MHD_Result route_history(vg_http_t *h, struct MHD_Connection *c)
{
    json_t *samples = json_array();
    pthread_mutex_lock(&h->lock);
    for (int k = 0; k < h->hist_n; k++) {
        const http_sample_t *s = &h->history[(h->hist_next - h->hist_n + k + HTTP_HISTORY) % HTTP_HISTORY];
        char t[32];
        iso_time(s->time_us, t);
        json_t *cams = json_object();
        for (int i = 0; i < s->n; i++)
            json_object_set_new(cams, s->cam[i].name,
                                json_pack("{s:f,s:f,s:f,s:f,s:I}", "fps_analysed", (double)s->cam[i].fps_analysed,
                                          "fps_decoded", (double)s->cam[i].fps_decoded, "p50_ms",
                                          (double)s->cam[i].p50_ms, "p99_ms", (double)s->cam[i].p99_ms,
                                          "dropped", (json_int_t)s->cam[i].dropped));
        json_array_append_new(samples, json_pack("{s:s,s:f,s:I,s:o}", "time", t, "cpu_percent", s->cpu_percent,
                                                 "rss_bytes", (json_int_t)s->rss_bytes, "cameras", cams));
    }
    pthread_mutex_unlock(&h->lock);
    return http_json(c, MHD_HTTP_OK,
                     json_pack("{s:i,s:o}", "interval_s", (int)(HTTP_HISTORY_EVERY_US / 1000000), "samples", samples));
}

static enum MHD_Result route_cameras(vg_http_t *h, struct MHD_Connection *c)
{
    vg_runtime_snapshot_t *s = snapshot_copy(h);
    if (!s)
        return http_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "starting");
    json_t *cams = json_array();
    for (int i = 0; i < s->n_cameras; i++) {
        const vg_runtime_camera_snapshot_t *k = &s->cameras[i];
        char state[32] = "", reason[512] = "";
        const char *st = vg_source_state_name((vg_source_state_t)k->state);
        if (h->events && http_events_health(h->events, k->name, state, sizeof(state), reason, sizeof(reason)) &&
            strcmp(state, st) != 0)
            reason[0] = '\0'; /* the reason was for an older state */
        json_t *o = json_pack("{s:s,s:s,s:s,s:i,s:i,s:f,s:f,s:I,s:{s:f,s:f,s:f},s:s?,s:n}", "name", k->name, "state",
                              st, "reason", reason, "width", k->width, "height", k->height, "fps_decoded",
                              k->fps_decoded, "fps_analysed", k->fps_analysed, "dropped",
                              (json_int_t)dropped_frames(k), "latency_ms", "p50", k->latency_p50_ms, "p95",
                              k->latency_p95_ms, "p99", k->latency_p99_ms, "model", k->model[0] ? k->model : NULL,
                              "recording");
        json_array_append_new(cams, o);
    }
    free(s);
    return http_json(c, MHD_HTTP_OK, json_pack("{s:o}", "cameras", cams));
}

/* ------------------------------------------------------------ static files */

static const char *content_type(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {{".html", "text/html; charset=utf-8"},
                 {".js", "text/javascript; charset=utf-8"},
                 {".mjs", "text/javascript; charset=utf-8"},
                 {".css", "text/css; charset=utf-8"},
                 {".svg", "image/svg+xml"},
                 {".png", "image/png"},
                 {".ico", "image/x-icon"},
                 {".json", "application/json"},
                 {".txt", "text/plain; charset=utf-8"}};
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

static enum MHD_Result route_static(vg_http_t *h, struct MHD_Connection *c, const char *url)
{
    if (strcmp(url, "/") == 0)
        url = "/index.html";
    /* only plain names below the root: no "..", no hidden files, no NUL */
    if (url[0] != '/' || strstr(url, "/.") || strstr(url, "\\") || strlen(url) > 200)
        return http_error(c, MHD_HTTP_NOT_FOUND, "no such page: %s", url);
    char path[PATH_MAX + 256];
    snprintf(path, sizeof(path), "%s%s", h->web_root, url);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        return http_error(c, MHD_HTTP_NOT_FOUND, "no such page: %s", url);
    }
    struct MHD_Response *r = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
    if (!r) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type(path));
    http_common_headers(r);
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* ------------------------------------------------------------ routing */

/* "/api/cameras/NAME/REST" -> name (decoded, bounded) and rest. */
static bool split_name(const char *s, char *name, size_t len, const char **ret_rest)
{
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    if (n == 0 || n >= len)
        return false;
    memcpy(name, s, n);
    name[n] = '\0';
    *ret_rest = slash ? slash : "";
    return true;
}

static bool is_public(const char *method, const char *url)
{
    if (strcmp(method, "POST") == 0)
        return strcmp(url, "/api/login") == 0;
    return strcmp(url, "/api/session") == 0 || strcmp(url, "/login.html") == 0 || strcmp(url, "/login.js") == 0 ||
           strcmp(url, "/style.css") == 0 || strcmp(url, "/favicon.svg") == 0;
}

static enum MHD_Result route_get(vg_http_t *h, struct MHD_Connection *c, const char *url, const char *user)
{
    char name[160];
    const char *rest;
    if (strcmp(url, "/metrics") == 0)
        return route_metrics(h, c);
    if (strncmp(url, "/api/", 5) != 0)
        return route_static(h, c, url);
    const char *a = url + 5;
    if (strcmp(a, "stats") == 0)
        return route_stats(h, c);
    if (strcmp(a, "stats/history") == 0)
        return route_history(h, c);
    if (strcmp(a, "cameras") == 0)
        return route_cameras(h, c);
    if (strcmp(a, "session") == 0)
        return http_json(c, MHD_HTTP_OK,
                         json_pack("{s:b,s:s?,s:b}", "auth", h->auth.n_users > 0, "user", user[0] ? user : NULL,
                                   "logged_in", h->auth.n_users == 0 || user[0]));
    if (strncmp(a, "cameras/", 8) == 0 && split_name(a + 8, name, sizeof(name), &rest)) {
        if (strcmp(rest, "/latest.jpg") == 0)
            return http_live_jpeg(h, c, name);
        if (strcmp(rest, "/live.mjpeg") == 0)
            return http_live_mjpeg(h, c, name);
    }
    if (strcmp(a, "events/stream") == 0)
        return http_events_stream(h, c);
    bool footage = http_footage_on(h);
    if (strcmp(a, "events") == 0)
        return footage ? http_footage_events(h, c) : http_events_list(h, c);
    if (strncmp(a, "events/", 7) == 0 && split_name(a + 7, name, sizeof(name), &rest)) {
        if (!rest[0])
            return footage ? http_footage_event(h, c, name) : http_events_one(h, c, name);
        if (strcmp(rest, "/snapshot.jpg") == 0 || strcmp(rest, "/clip.mp4") == 0) {
            if (!footage)
                return http_error(c, MHD_HTTP_NOT_FOUND, "no recordings: snapshots and clips come from the "
                                  "index of recordings (record.mode)");
            return rest[1] == 's' ? http_footage_snapshot(h, c, name) : http_footage_event_clip(h, c, name);
        }
    }
    if (strcmp(a, "recordings") == 0)
        return http_footage_recordings(h, c);
    if (strncmp(a, "recordings/", 11) == 0 && split_name(a + 11, name, sizeof(name), &rest) &&
        strcmp(rest, "/clip.mp4") == 0)
        return http_footage_clip(h, c, name);
    return http_error(c, MHD_HTTP_NOT_FOUND, "no such API: %s", url);
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_len, void **con_cls)
{
    (void)version;
    vg_http_t *h = cls;
    http_req_t *rq = *con_cls;
    if (!rq) {
        if (!(rq = calloc(1, sizeof(*rq))))
            return MHD_NO;
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        const struct sockaddr *sa = ci ? ci->client_addr : NULL;
        if (sa && sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, rq->ip, sizeof(rq->ip));
        else if (sa && sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, rq->ip, sizeof(rq->ip));
        *con_cls = rq;
        return MHD_YES;
    }
    if (*upload_len) {
        if (rq->len + *upload_len > HTTP_UPLOAD_MAX) {
            rq->too_big = true;
        } else {
            char *b = realloc(rq->body, rq->len + *upload_len + 1);
            if (!b)
                return MHD_NO;
            memcpy(b + rq->len, upload, *upload_len);
            rq->len += *upload_len;
            b[rq->len] = '\0';
            rq->body = b;
        }
        *upload_len = 0;
        return MHD_YES;
    }
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    bool post = strcmp(method, "POST") == 0;
    if (!get && !post)
        return http_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "%s is not served", method);
    char user[64] = "";
    /* checked on public routes too: /api/session says who is logged in */
    bool authed = http_auth_check(&h->auth, c, rq->ip, user);
    if (!authed && !is_public(method, url)) {
        if (get && strncmp(url, "/api/", 5) != 0 && strcmp(url, "/metrics") != 0 &&
            (strcmp(url, "/") == 0 || strstr(url, ".html"))) {
            struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
            if (!r)
                return MHD_NO;
            MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, "/login.html");
            http_common_headers(r);
            enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_SEE_OTHER, r);
            MHD_destroy_response(r);
            return ret;
        }
        return http_error(c, MHD_HTTP_UNAUTHORIZED, "log in first (POST /api/login)");
    }
    if (post) {
        if (rq->too_big)
            return http_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "request body over %d bytes", HTTP_UPLOAD_MAX);
        if (strcmp(url, "/api/login") == 0)
            return http_auth_login(&h->auth, c, rq);
        if (strcmp(url, "/api/logout") == 0)
            return http_auth_logout(&h->auth, c);
        return http_error(c, strncmp(url, "/api/", 5) == 0 ? MHD_HTTP_NOT_FOUND : MHD_HTTP_METHOD_NOT_ALLOWED,
                          "no such action: POST %s", url);
    }
    return route_get(h, c, url, user);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode why)
{
    (void)cls;
    (void)c;
    (void)why;
    http_req_t *rq = *con_cls;
    if (rq) {
        free(rq->body);
        free(rq);
    }
    *con_cls = NULL;
}

/* ------------------------------------------------------------ lifecycle */

/* "[tcp://|http://]HOST:PORT", ":PORT" or "PORT" -> host ("" = loopback), port. */
static int parse_listen(const char *listen, char *host, size_t hostlen, char *port, size_t portlen)
{
    const char *s = listen;
    if (!strncmp(s, "tcp://", 6))
        s += 6;
    else if (!strncmp(s, "http://", 7))
        s += 7;
    const char *colon = strrchr(s, ':');
    const char *p = colon ? colon + 1 : s;
    if (!p[0] || strspn(p, "0123456789") != strlen(p) || strlen(p) > 5 || atoi(p) > 65535)
        return -EINVAL;
    size_t hl = colon ? (size_t)(colon - s) : 0;
    if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') { /* [IPv6] */
        s++;
        hl -= 2;
    }
    if (hl >= hostlen)
        return -EINVAL;
    memcpy(host, s, hl);
    host[hl] = '\0';
    snprintf(port, portlen, "%s", p);
    return 0;
}

static bool is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) ||
               (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return false;
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    char chunk[4096];
    size_t n;
    while (m && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        fwrite(chunk, 1, n, m);
    if (m)
        fclose(m);
    fclose(f);
    return buf;
}

const char *vg_http_default_web_root(const char *configured, char *buf, size_t len)
{
    if (configured && configured[0]) {
        snprintf(buf, len, "%s", configured);
        return buf;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    exe[n > 0 ? n : 0] = '\0';
    /* a build folder holds CMakeCache.txt above the binary's folder */
    char probe[PATH_MAX + 32];
    char *slash = strrchr(exe, '/');
    if (slash) {
        *slash = '\0';
        slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            snprintf(probe, sizeof(probe), "%s/CMakeCache.txt", exe);
            if (access(probe, F_OK) == 0) {
                snprintf(buf, len, "%s/web", VIGIL_SOURCE_DIR);
                return buf;
            }
        }
    }
    snprintf(buf, len, "%s/web", VIGIL_DATA_DIR);
    return buf;
}

int vg_http_new(const vg_http_config_t *cfg, char *err, size_t errlen, vg_http_t **ret)
{
    char host[256], port[8];
    if (parse_listen(cfg->listen, host, sizeof(host), port, sizeof(port)) < 0) {
        snprintf(err, errlen, "daemon.http: '%s' is not HOST:PORT (e.g. 127.0.0.1:8080)", cfg->listen);
        return -EINVAL;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV}, *ai = NULL;
    const char *node = !host[0] ? "127.0.0.1" : !strcmp(host, "*") ? NULL : host;
    int g = getaddrinfo(node, port, &hints, &ai);
    if (g != 0) {
        snprintf(err, errlen, "daemon.http: cannot resolve '%s': %s", cfg->listen, gai_strerror(g));
        return -EINVAL;
    }
    vg_http_t *h = calloc(1, sizeof(*h));
    int r = -ENOMEM;
    if (!h)
        goto fail;
    pthread_mutex_init(&h->lock, NULL);
    h->live = cfg->live;
    h->loopback = is_loopback(ai->ai_addr);
    snprintf(h->web_root, sizeof(h->web_root), "%s", cfg->web_root ? cfg->web_root : "");
    snprintf(h->state_dir, sizeof(h->state_dir), "%s", cfg->state_dir ? cfg->state_dir : "");
    atomic_store_explicit(&h->recording, cfg->recording, memory_order_relaxed);
    h->shared = malloc(sizeof(*h->shared));
    h->history = calloc(HTTP_HISTORY, sizeof(*h->history));
    /* the first sample 2 s after start, once fps and latency have a value */
    h->hist_last_us = mono_us() - HTTP_HISTORY_EVERY_US + 2000000;
    vg_procstat_t p0 = {0};
    vg_procstat_read(&p0);
    h->hist_cpu_s = p0.cpu_s;
    if (!h->shared || !h->history)
        goto fail;
    bool tls = cfg->tls_cert && cfg->tls_cert[0];
    if (tls != (cfg->tls_key && cfg->tls_key[0])) {
        snprintf(err, errlen, "daemon.http_tls_cert and daemon.http_tls_key go together");
        r = -EINVAL;
        goto fail;
    }
    if (tls) {
        h->tls_cert = read_text(cfg->tls_cert);
        h->tls_key = read_text(cfg->tls_key);
        if (!h->tls_cert || !h->tls_key) {
            r = -errno ? -errno : -EIO;
            snprintf(err, errlen, "cannot read '%s': %s", h->tls_cert ? cfg->tls_key : cfg->tls_cert,
                     strerror(errno));
            goto fail;
        }
    }
    if ((r = http_auth_init(&h->auth, cfg->users_file, tls, err, errlen)) < 0)
        goto fail;
    if (!h->loopback && h->auth.n_users == 0) {
        snprintf(err, errlen,
                 "daemon.http: '%s' is reachable beyond this host and nobody can log in: name a users file "
                 "in daemon.http_users (`vigil passwd NAME --file FILE` adds one), or listen on 127.0.0.1",
                 cfg->listen);
        r = -EPERM;
        goto fail;
    }
    if (cfg->publish && cfg->publish[0] && (r = http_events_new(h, cfg->publish, cfg->curve_key_file, err, errlen, &h->events)) < 0)
        goto fail;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
                     (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0) | (tls ? MHD_USE_TLS : 0);
    errno = 0;
    if (tls)
        h->httpd = MHD_start_daemon(flags, 0, NULL, NULL, answer, h, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                                    MHD_OPTION_CONNECTION_LIMIT, HTTP_TOTAL, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                                    HTTP_PER_CLIENT, MHD_OPTION_CONNECTION_TIMEOUT, HTTP_TIMEOUT_S,
                                    MHD_OPTION_THREAD_STACK_SIZE, (size_t)HTTP_STACK, MHD_OPTION_NOTIFY_COMPLETED,
                                    completed, h, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
                                    MHD_OPTION_HTTPS_MEM_CERT, h->tls_cert, MHD_OPTION_HTTPS_MEM_KEY, h->tls_key,
                                    MHD_OPTION_END);
    else
        h->httpd = MHD_start_daemon(flags, 0, NULL, NULL, answer, h, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                                    MHD_OPTION_CONNECTION_LIMIT, HTTP_TOTAL, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                                    HTTP_PER_CLIENT, MHD_OPTION_CONNECTION_TIMEOUT, HTTP_TIMEOUT_S,
                                    MHD_OPTION_THREAD_STACK_SIZE, (size_t)HTTP_STACK, MHD_OPTION_NOTIFY_COMPLETED,
                                    completed, h, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_END);
    if (!h->httpd) {
        r = errno ? -errno : -EADDRINUSE;
        snprintf(err, errlen, "cannot listen on '%s' for HTTP: %s", cfg->listen,
                 tls && !errno ? "TLS setup failed (certificate or key)" : strerror(-r));
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->httpd, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : atoi(port);
    freeaddrinfo(ai);
    *ret = h;
    return 0;
fail:
    freeaddrinfo(ai);
    vg_http_free(&h);
    return r;
}

int vg_http_port(const vg_http_t *h) { return h->port; }

void vg_http_set_recording(vg_http_t *h, bool recording)
{
    atomic_store_explicit(&h->recording, recording, memory_order_relaxed);
}

void vg_http_free(vg_http_t **ph)
{
    vg_http_t *h = ph ? *ph : NULL;
    if (!h)
        return;
    /* relaxed: streams poll it at least every 0.5 s; nothing rides on it */
    atomic_store_explicit(&h->stopping, true, memory_order_relaxed);
    if (h->httpd)
        MHD_stop_daemon(h->httpd);
    http_events_free(&h->events);
    http_footage_free();
    http_auth_fini(&h->auth);
    pthread_mutex_destroy(&h->lock);
    free(h->shared);
    free(h->history);
    free(h->tls_cert);
    free(h->tls_key);
    free(h);
    *ph = NULL;
}
