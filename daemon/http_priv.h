/*
 * http_priv.h: what daemon/http*.c share. Not a public header.
 * Thread: connection threads unless a function says otherwise.
 */
#ifndef VG_HTTP_PRIV_H
#define VG_HTTP_PRIV_H

#include "daemon/http.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

#include "daemon/config.h"
#include "daemon/live.h"
#include "daemon/runtime.h"

#define HTTP_UPLOAD_MAX 4096       /* POST bodies (login) */
#define HTTP_MAX_USERS 64
#define HTTP_MAX_SESSIONS 128
#define HTTP_RATE_SLOTS 64         /* client addresses tracked for failed logins */
#define HTTP_HISTORY 360           /* samples of /api/stats/history: 1 h at 10 s */
#define HTTP_HISTORY_EVERY_US (10 * 1000000LL)

/* One request's state, from its first callback to its completion. */
typedef struct {
    char ip[64];                   /* the client's address, for logs and the rate limit */
    char *body;                    /* POST body, at most HTTP_UPLOAD_MAX bytes */
    size_t len;
    bool too_big;
    bool started;
} http_req_t;

typedef struct {
    char name[64];
    char hash[192];                /* crypto_pwhash_str */
} http_user_t;

typedef struct {
    char token[65];                /* 32 random bytes, hex; "" = free */
    char user[64];
    int64_t expires_us;            /* CLOCK_MONOTONIC */
} http_session_t;

typedef struct {
    char ip[64];
    int failures;                  /* in the current window */
    int64_t window_us, blocked_until_us;
} http_rate_t;

typedef struct {
    int n_users;
    http_user_t users[HTTP_MAX_USERS];
    pthread_mutex_t lock;          /* sessions and rate */
    pthread_mutex_t verify_lock;   /* one crypto_pwhash at a time (64 MiB each) */
    http_session_t sessions[HTTP_MAX_SESSIONS];
    http_rate_t rate[HTTP_RATE_SLOTS];
    bool secure;                   /* TLS: cookies get Secure */
} http_auth_t;

typedef struct {
    int64_t time_us;
    double cpu_percent;            /* of one core, over the sample */
    uint64_t rss_bytes;
    int n;
    struct {
        char name[64];
        float fps_analysed, fps_decoded, p50_ms, p99_ms;
        uint64_t dropped;          /* total since the camera started */
    } cam[VG_CONFIG_MAX_CAMERAS];
} http_sample_t;

typedef struct http_events http_events_t;

struct vg_http {
    struct MHD_Daemon *httpd;
    int port;
    bool loopback;
    _Atomic bool stopping;         /* streams end when set (main writes, connection threads poll) */
    char web_root[PATH_MAX];
    vg_live_registry_t *live;
    pthread_mutex_t lock;          /* guards shared, have, history */
    vg_runtime_snapshot_t *shared; /* main writes (update), requests copy */
    bool have;
    http_sample_t *history;        /* ring of HTTP_HISTORY */
    int hist_next, hist_n;
    int64_t hist_last_us;
    double hist_cpu_s;             /* process CPU seconds at the last sample */
    http_auth_t auth;
    http_events_t *events;
    char *tls_cert, *tls_key;      /* PEM text, kept while libmicrohttpd runs */
    char state_dir[PATH_MAX];      /* the index of recordings is there; "" = none */
    _Atomic bool recording;        /* some camera records: events come from the index */
};

/* ---- http.c: responses */
/* Queues body (taken: freed by libmicrohttpd) with the content type and the
 * common security headers. */
enum MHD_Result http_send(struct MHD_Connection *c, unsigned status, const char *type, char *body, size_t len);
/* Queues obj (taken) as JSON. */
enum MHD_Result http_json(struct MHD_Connection *c, unsigned status, json_t *obj);
/* {"status": N, "error": "message"}. */
enum MHD_Result http_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Adds the headers every response carries. */
void http_common_headers(struct MHD_Response *r);
/* A query argument, or NULL. */
const char *http_arg(struct MHD_Connection *c, const char *key);
/* "2026-01-02T03:04:05.678Z" (or without ms / with offset) -> us since the
 * epoch; -EINVAL. */
int http_parse_time(const char *s, int64_t *ret_us);

/* ---- http_auth.c */
int http_auth_init(http_auth_t *a, const char *users_file, bool secure, char *err, size_t errlen);
void http_auth_fini(http_auth_t *a);
/* True when the request carries a valid session, token or Basic credentials
 * (or when there are no users). *ret_user gets the name (or ""). */
bool http_auth_check(http_auth_t *a, struct MHD_Connection *c, const char *ip, char ret_user[64]);
enum MHD_Result http_auth_login(http_auth_t *a, struct MHD_Connection *c, const http_req_t *rq);
enum MHD_Result http_auth_logout(http_auth_t *a, struct MHD_Connection *c);

/* ---- http_events.c */
int http_events_new(vg_http_t *h, const char *publish, const char *curve_key_file, char *err, size_t errlen,
                    http_events_t **ret);
void http_events_free(http_events_t **e);
/* The last health message of a camera: state and reason (URLs redacted)
 * into the buffers; false when none came yet. */
bool http_events_health(http_events_t *e, const char *camera, char *state, size_t slen, char *reason,
                        size_t rlen);
enum MHD_Result http_events_list(vg_http_t *h, struct MHD_Connection *c);
enum MHD_Result http_events_one(vg_http_t *h, struct MHD_Connection *c, const char *id);
enum MHD_Result http_events_stream(vg_http_t *h, struct MHD_Connection *c);
/* The latest message of an event kept in memory (a new reference), or NULL. */
json_t *http_events_lookup(http_events_t *e, const char *id);

/* ---- http_footage.c: the index of recordings (storage/index.h) */
/* True when events and footage come from the index (recording is on). */
bool http_footage_on(vg_http_t *h);
enum MHD_Result http_footage_events(vg_http_t *h, struct MHD_Connection *c);
enum MHD_Result http_footage_event(vg_http_t *h, struct MHD_Connection *c, const char *id);
enum MHD_Result http_footage_snapshot(vg_http_t *h, struct MHD_Connection *c, const char *id);
enum MHD_Result http_footage_event_clip(vg_http_t *h, struct MHD_Connection *c, const char *id);
enum MHD_Result http_footage_clip(vg_http_t *h, struct MHD_Connection *c, const char *camera);
enum MHD_Result http_footage_recordings(vg_http_t *h, struct MHD_Connection *c);
/* Closes the cached clips. Thread: main, after the listener stopped. */
void http_footage_free(void);

/* ---- http_live.c */
enum MHD_Result http_live_jpeg(vg_http_t *h, struct MHD_Connection *c, const char *camera);
enum MHD_Result http_live_mjpeg(vg_http_t *h, struct MHD_Connection *c, const char *camera);

#endif
