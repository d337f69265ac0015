/* http_events.c: the HTTP side's view of the daemon's messages. One thread
 * subscribes to the daemon's own PUB endpoint (event. and health.) with a
 * ZeroMQ SUB socket, so the publisher never waits for a browser: a slow or
 * stuck SSE client only falls behind in this module's bounded ring, and the
 * SUB socket drops at its high-water mark like any other subscriber.
 *
 * Kept in memory (bounded, lost on restart): the last RING messages for
 * Server-Sent Events (/api/events/stream, resumable with Last-Event-ID), the
 * last MAX_EVENTS events by id with their latest message (/api/events when
 * nothing is recorded), and each camera's last health state and reason.
 * See http.h. */
#include "daemon/http_priv.h"
#include "pipeline/monotonic.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "daemon/log.h"
#include "daemon/publisher.h"

#define RING 512         /* messages kept for SSE clients that fall behind */
#define MAX_EVENTS 1000  /* events kept for /api/events */
#define KEEPALIVE_US (5 * 1000000LL)

typedef struct {
    uint64_t id;         /* from 1; 0 = empty */
    char kind[8];        /* "event" | "health" (the SSE event name) */
    char *json;
} msg_t;

typedef struct {
    uint64_t serial;     /* arrival order of the event's first message, from 1; 0 = empty */
    char id[128];
    char camera[64];
    char label[64];
    int64_t start_us;
    json_t *last;        /* its latest message */
} ev_t;

typedef struct {
    char camera[64];
    char state[32];
    char reason[512];    /* URLs redacted */
} health_t;

struct http_events {
    vg_http_t *h;
    void *ctx, *sub;
    int wake;            /* eventfd: stop */
    pthread_t thread;
    bool started;
    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t cond;  /* a new message */
    msg_t ring[RING];
    uint64_t next_id;     /* id of the next message */
    ev_t events[MAX_EVENTS];
    uint64_t next_serial;
    int n_health;
    health_t health[VG_CONFIG_MAX_CAMERAS];
};

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Caller holds e->lock. */
static void remember_event(http_events_t *e, json_t *msg)
{
    const char *id = json_string_value(json_object_get(msg, "id"));
    if (!id)
        return;
    ev_t *ev = NULL;
    for (int i = 0; i < MAX_EVENTS && !ev; i++)
        if (e->events[i].serial && strcmp(e->events[i].id, id) == 0)
            ev = &e->events[i];
    if (!ev) {
        /* a new event takes the slot of the oldest */
        ev = &e->events[0];
        for (int i = 0; i < MAX_EVENTS; i++) {
            if (!e->events[i].serial) {
                ev = &e->events[i];
                break;
            }
            if (e->events[i].serial < ev->serial)
                ev = &e->events[i];
        }
        json_decref(ev->last);
        memset(ev, 0, sizeof(*ev));
        ev->serial = ++e->next_serial;
        snprintf(ev->id, sizeof(ev->id), "%s", id);
        const char *cam = json_string_value(json_object_get(msg, "camera"));
        const char *label = json_string_value(json_object_get(msg, "label"));
        snprintf(ev->camera, sizeof(ev->camera), "%s", cam ? cam : "");
        snprintf(ev->label, sizeof(ev->label), "%s", label ? label : "");
        const char *start = json_string_value(json_object_get(msg, "start"));
        if (!start || http_parse_time(start, &ev->start_us) < 0)
            ev->start_us = 0;
    } else {
        json_decref(ev->last);
    }
    ev->last = json_incref(msg);
}

/* Caller holds e->lock. */
static void remember_health(http_events_t *e, json_t *msg)
{
    const char *cam = json_string_value(json_object_get(msg, "camera"));
    const char *state = json_string_value(json_object_get(msg, "state"));
    const char *reason = json_string_value(json_object_get(msg, "reason"));
    if (!cam || !state)
        return;
    health_t *h = NULL;
    for (int i = 0; i < e->n_health && !h; i++)
        if (strcmp(e->health[i].camera, cam) == 0)
            h = &e->health[i];
    if (!h) {
        if (e->n_health == VG_CONFIG_MAX_CAMERAS)
            return;
        h = &e->health[e->n_health++];
        snprintf(h->camera, sizeof(h->camera), "%s", cam);
    }
    snprintf(h->state, sizeof(h->state), "%s", state);
    vg_log_redact_urls(reason ? reason : "", h->reason, sizeof(h->reason));
}

static void on_message(http_events_t *e, const char *topic, size_t tlen, const char *json, size_t jlen)
{
    bool event = tlen > 6 && memcmp(topic, "event.", 6) == 0;
    bool health = tlen > 7 && memcmp(topic, "health.", 7) == 0;
    if (!event && !health)
        return;
    json_error_t jerr;
    json_t *msg = json_loadb(json, jlen, 0, &jerr);
    if (!msg)
        return;
    if (health) {
        /* the health message quotes the camera's URL: never hand out its credentials */
        const char *url = json_string_value(json_object_get(msg, "url"));
        if (url) {
            char clean[1024];
            json_object_set_new(msg, "url", json_string(vg_log_redact_urls(url, clean, sizeof(clean))));
        }
    }
    /* events go out as published; health with its URL cleaned */
    char *text = event ? strndup(json, jlen) : json_dumps(msg, JSON_COMPACT | JSON_REAL_PRECISION(9));
    pthread_mutex_lock(&e->lock);
    if (event)
        remember_event(e, msg);
    else
        remember_health(e, msg);
    if (text) {
        msg_t *m = &e->ring[e->next_id % RING];
        free(m->json);
        m->id = e->next_id++;
        snprintf(m->kind, sizeof(m->kind), "%s", event ? "event" : "health");
        m->json = text;
        pthread_cond_broadcast(&e->cond);
    }
    pthread_mutex_unlock(&e->lock);
    json_decref(msg);
}

static void *sub_thread(void *arg)
{
    http_events_t *e = arg;
    zmq_msg_t part;
    zmq_msg_init(&part);
    char topic[256];
    for (;;) {
        zmq_pollitem_t items[2] = {{.socket = e->sub, .events = ZMQ_POLLIN}, {.fd = e->wake, .events = ZMQ_POLLIN}};
        if (zmq_poll(items, 2, -1) < 0 && zmq_errno() != EINTR)
            break;
        if (items[1].revents)
            break;
        if (!items[0].revents)
            continue;
        /* [topic][json] (a third part, a snapshot, is skipped) */
        size_t tlen = 0;
        bool have_json = false;
        int partno = 0;
        for (int more = 1; more; partno++) {
            if (zmq_msg_recv(&part, e->sub, ZMQ_DONTWAIT) < 0)
                break;
            more = zmq_msg_more(&part);
            if (partno == 0) {
                tlen = zmq_msg_size(&part) < sizeof(topic) ? zmq_msg_size(&part) : sizeof(topic) - 1;
                memcpy(topic, zmq_msg_data(&part), tlen);
            } else if (partno == 1 && !have_json) {
                have_json = true;
                on_message(e, topic, tlen, zmq_msg_data(&part), zmq_msg_size(&part));
            }
        }
    }
    zmq_msg_close(&part);
    return NULL;
}

/* The PUB endpoint as a SUB can connect to it: a wildcard bind becomes the
 * loopback address. */
static void connect_endpoint(const char *publish, char *buf, size_t len)
{
    const char *hosts[] = {"tcp://*:", "tcp://0.0.0.0:", "tcp://[::]:"};
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++)
        if (strncmp(publish, hosts[i], strlen(hosts[i])) == 0) {
            snprintf(buf, len, "tcp://127.0.0.1:%s", publish + strlen(hosts[i]));
            return;
        }
    snprintf(buf, len, "%s", publish);
}

int http_events_new(vg_http_t *h, const char *publish, const char *curve_key_file, char *err, size_t errlen,
                    http_events_t **ret)
{
    http_events_t *e = calloc(1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    e->h = h;
    e->next_id = 1;
    e->wake = -1;
    pthread_mutex_init(&e->lock, NULL);
    vg_cond_init_monotonic(&e->cond);
    char endpoint[512];
    connect_endpoint(publish, endpoint, sizeof(endpoint));
    int r = -ENOMEM;
    if ((e->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
        r = -errno;
        goto fail;
    }
    if (!(e->ctx = zmq_ctx_new()) || !(e->sub = zmq_socket(e->ctx, ZMQ_SUB)))
        goto fail;
    int hwm = 10000, linger = 0;
    zmq_setsockopt(e->sub, ZMQ_RCVHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(e->sub, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(e->sub, ZMQ_SUBSCRIBE, "event.", 6);
    zmq_setsockopt(e->sub, ZMQ_SUBSCRIBE, "health.", 7);
    if (curve_key_file) {
        /* CURVE on publish: we are the daemon, so we use its own key pair,
         * which its ZAP handler lets in */
        char pub[41], sec[41];
        if ((r = vg_curve_read_key(curve_key_file, "secret", sec)) < 0 || zmq_curve_public(pub, sec) != 0) {
            r = r < 0 ? r : -EINVAL;
            snprintf(err, errlen, "daemon.http: no CURVE key pair in '%s'", curve_key_file);
            goto fail;
        }
        zmq_setsockopt(e->sub, ZMQ_CURVE_SERVERKEY, pub, 40);
        zmq_setsockopt(e->sub, ZMQ_CURVE_PUBLICKEY, pub, 40);
        zmq_setsockopt(e->sub, ZMQ_CURVE_SECRETKEY, sec, 40);
    }
    if (zmq_connect(e->sub, endpoint) < 0) {
        r = -zmq_errno();
        snprintf(err, errlen, "daemon.http: cannot subscribe to '%s': %s", endpoint, zmq_strerror(-r));
        goto fail;
    }
    if ((r = -pthread_create(&e->thread, NULL, sub_thread, e)) < 0) {
        snprintf(err, errlen, "daemon.http: cannot start a thread: %s", strerror(-r));
        goto fail;
    }
    e->started = true;
    *ret = e;
    return 0;
fail:
    http_events_free(&e);
    return r;
}

void http_events_free(http_events_t **pe)
{
    http_events_t *e = pe ? *pe : NULL;
    if (!e)
        return;
    if (e->started) {
        uint64_t one = 1;
        if (write(e->wake, &one, sizeof(one)) < 0) {
            /* an eventfd write fails only on overflow: it is set already */
        }
        pthread_join(e->thread, NULL);
    }
    if (e->sub)
        zmq_close(e->sub);
    if (e->ctx)
        zmq_ctx_term(e->ctx);
    if (e->wake >= 0)
        close(e->wake);
    for (int i = 0; i < RING; i++)
        free(e->ring[i].json);
    for (int i = 0; i < MAX_EVENTS; i++)
        json_decref(e->events[i].last);
    pthread_mutex_destroy(&e->lock);
    pthread_cond_destroy(&e->cond);
    free(e);
    *pe = NULL;
}

bool http_events_health(http_events_t *e, const char *camera, char *state, size_t slen, char *reason,
                        size_t rlen)
{
    bool found = false;
    pthread_mutex_lock(&e->lock);
    for (int i = 0; i < e->n_health && !found; i++)
        if (strcmp(e->health[i].camera, camera) == 0) {
            snprintf(state, slen, "%s", e->health[i].state);
            snprintf(reason, rlen, "%s", e->health[i].reason);
            found = true;
        }
    pthread_mutex_unlock(&e->lock);
    return found;
}

/* ------------------------------------------------------------ /api/events */

static bool has_zone(json_t *msg, const char *zone)
{
    const char *keys[] = {"zones", "entered_zones"};
    for (int k = 0; k < 2; k++) {
        json_t *arr = json_object_get(msg, keys[k]), *v;
        size_t i;
        json_array_foreach(arr, i, v)
        {
            if (json_is_string(v) && strcmp(json_string_value(v), zone) == 0)
                return true;
        }
    }
    return false;
}

static int by_serial_desc(const void *a, const void *b)
{
    const ev_t *x = *(const ev_t *const *)a, *y = *(const ev_t *const *)b;
    return x->serial < y->serial ? 1 : x->serial > y->serial ? -1 : 0;
}

enum MHD_Result http_events_list(vg_http_t *h, struct MHD_Connection *c)
{
    http_events_t *e = h->events;
    if (!e)
        return http_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no event stream (daemon.publish is not set)");
    const char *camera = http_arg(c, "camera"), *label = http_arg(c, "label"), *zone = http_arg(c, "zone");
    const char *from_s = http_arg(c, "from"), *to_s = http_arg(c, "to"), *limit_s = http_arg(c, "limit");
    const char *before_s = http_arg(c, "before");
    int64_t from = INT64_MIN, to = INT64_MAX;
    if ((from_s && http_parse_time(from_s, &from) < 0) || (to_s && http_parse_time(to_s, &to) < 0))
        return http_error(c, MHD_HTTP_BAD_REQUEST, "from/to: expected ISO 8601 like 2026-01-02T03:04:05Z");
    long limit = limit_s ? strtol(limit_s, NULL, 10) : 50;
    if (limit < 1 || limit > 500)
        return http_error(c, MHD_HTTP_BAD_REQUEST, "limit: 1..500");
    uint64_t before_serial = UINT64_MAX;
    int64_t before_time = INT64_MAX;
    if (before_s) {
        char *end;
        unsigned long long v = strtoull(before_s, &end, 10);
        if (!*end)
            before_serial = v;
        else if (http_parse_time(before_s, &before_time) < 0)
            return http_error(c, MHD_HTTP_BAD_REQUEST, "before: the previous page's `next`, or an ISO 8601 time");
    }
    const ev_t **sel = malloc(MAX_EVENTS * sizeof(*sel));
    if (!sel)
        return MHD_NO;
    json_t *list = json_array();
    int n = 0, kept = 0;
    pthread_mutex_lock(&e->lock);
    for (int i = 0; i < MAX_EVENTS; i++) {
        const ev_t *ev = &e->events[i];
        if (!ev->serial)
            continue;
        kept++;
        if ((camera && strcmp(ev->camera, camera) != 0) || (label && strcmp(ev->label, label) != 0) ||
            ev->start_us < from || ev->start_us >= to || ev->serial >= before_serial ||
            ev->start_us >= before_time || (zone && !has_zone(ev->last, zone)))
            continue;
        sel[n++] = ev;
    }
    qsort(sel, (size_t)n, sizeof(*sel), by_serial_desc);
    int shown = n < limit ? n : (int)limit;
    for (int i = 0; i < shown; i++)
        json_array_append(list, sel[i]->last);
    char next[32] = "";
    if (n > shown)
        snprintf(next, sizeof(next), "%llu", (unsigned long long)sel[shown - 1]->serial);
    pthread_mutex_unlock(&e->lock);
    free(sel);
    return http_json(c, MHD_HTTP_OK,
                     json_pack("{s:o,s:s?,s:s,s:i,s:i}", "events", list, "next", next[0] ? next : NULL, "source",
                               "memory", "kept", kept, "max_kept", MAX_EVENTS));
}

json_t *http_events_lookup(http_events_t *e, const char *id)
{
    json_t *found = NULL;
    pthread_mutex_lock(&e->lock);
    for (int i = 0; i < MAX_EVENTS && !found; i++)
        if (e->events[i].serial && strcmp(e->events[i].id, id) == 0)
            found = json_incref(e->events[i].last);
    pthread_mutex_unlock(&e->lock);
    return found;
}

enum MHD_Result http_events_one(vg_http_t *h, struct MHD_Connection *c, const char *id)
{
    json_t *found = h->events ? http_events_lookup(h->events, id) : NULL;
    if (!found)
        return http_error(c, MHD_HTTP_NOT_FOUND, "no event '%s' (events are kept in memory: the last %d)", id,
                          MAX_EVENTS);
    return http_json(c, MHD_HTTP_OK, found);
}

/* ------------------------------------------------------------ SSE */

typedef struct {
    vg_http_t *h;
    uint64_t cursor;     /* id of the last message sent */
    char *pending;       /* formatted, not yet handed to libmicrohttpd */
    size_t len, off, cap;
    int64_t last_send_us;
} sse_t;

static int pend(sse_t *s, const char *a, const char *b, const char *c)
{
    size_t need = s->len + strlen(a) + strlen(b) + strlen(c) + 1;
    if (need > s->cap) {
        char *p = realloc(s->pending, need * 2);
        if (!p)
            return -ENOMEM;
        s->pending = p;
        s->cap = need * 2;
    }
    s->len += (size_t)sprintf(s->pending + s->len, "%s%s%s", a, b, c);
    return 0;
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    sse_t *s = cls;
    http_events_t *e = s->h->events;
    while (s->off == s->len) {
        s->off = s->len = 0;
        /* relaxed: polled every 0.5 s */
        if (atomic_load_explicit(&s->h->stopping, memory_order_relaxed))
            return MHD_CONTENT_READER_END_OF_STREAM;
        pthread_mutex_lock(&e->lock);
        if (e->next_id - 1 > s->cursor) {
            uint64_t oldest = e->next_id > RING ? e->next_id - RING : 1;
            if (s->cursor + 1 < oldest) {
                char note[64];
                snprintf(note, sizeof(note), ": %llu messages dropped (client too slow)\n\n",
                         (unsigned long long)(oldest - s->cursor - 1));
                pend(s, note, "", "");
                s->cursor = oldest - 1;
            }
            /* everything there is, in one write */
            for (uint64_t id = s->cursor + 1; id < e->next_id; id++) {
                const msg_t *m = &e->ring[id % RING];
                char head[64];
                snprintf(head, sizeof(head), "id: %llu\nevent: %s\ndata: ", (unsigned long long)m->id, m->kind);
                if (pend(s, head, m->json, "\n\n") < 0)
                    break;
                s->cursor = id;
            }
        } else {
            struct timespec until;
            vg_deadline_in(&until, 500000);
            pthread_cond_timedwait(&e->cond, &e->lock, &until);
        }
        pthread_mutex_unlock(&e->lock);
        if (s->len == 0 && mono_us() - s->last_send_us >= KEEPALIVE_US)
            pend(s, ": keepalive\n\n", "", ""); /* keeps the idle timeout and proxies away */
    }
    size_t n = s->len - s->off < max ? s->len - s->off : max;
    memcpy(buf, s->pending + s->off, n);
    s->off += n;
    s->last_send_us = mono_us();
    return (ssize_t)n;
}

static void sse_free(void *cls)
{
    sse_t *s = cls;
    free(s->pending);
    free(s);
}

enum MHD_Result http_events_stream(vg_http_t *h, struct MHD_Connection *c)
{
    http_events_t *e = h->events;
    if (!e)
        return http_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no event stream (daemon.publish is not set)");
    sse_t *s = calloc(1, sizeof(*s));
    if (!s)
        return MHD_NO;
    s->h = h;
    s->last_send_us = mono_us();
    pthread_mutex_lock(&e->lock);
    s->cursor = e->next_id - 1; /* from now on ... */
    pthread_mutex_unlock(&e->lock);
    const char *last = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Last-Event-ID");
    if (last) { /* ... or from where a reconnecting browser left off */
        unsigned long long v = strtoull(last, NULL, 10);
        if (v < s->cursor)
            s->cursor = v;
    }
    pend(s, "retry: 2000\n\n", "", "");
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, sse_read, s, sse_free);
    if (!r) {
        sse_free(s);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    http_common_headers(r);
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}
