/*
 * http: vigild's one HTTP listener (daemon.http, or its old name
 * daemon.metrics): the web UI's static files, the JSON API under /api/ and
 * Prometheus' /metrics, on libmicrohttpd.
 *
 *   http.c         listener, routing, JSON errors, static files, /metrics,
 *                  /api/stats (+ /history), /api/cameras
 *   http_auth.c    users file (`vigil passwd`), sessions, login, rate limit
 *   http_events.c  a ZeroMQ SUB on the daemon's own PUB endpoint: SSE
 *                  (/api/events/stream) and the recent events in memory
 *                  (/api/events while nothing is recorded)
 *   http_footage.c the index of recordings (storage/index.h): events,
 *                  snapshots, clips (stream copy, range requests), segments
 *   http_live.c    latest.jpg and live.mjpeg from the cameras' live slots
 *                  (daemon/live.h), JPEG by libturbojpeg
 *
 * Security: bound beyond loopback, vigild refuses to start without users;
 * with users, every route but the login needs a session cookie (HttpOnly,
 * SameSite=Strict), a bearer token or Basic credentials. Nothing changes
 * state on GET. Each connection has its own thread (streams block on their
 * next frame or event), a 10 s idle timeout, and a client address may hold
 * only a few connections at once, so slow clients cannot lock others out.
 *
 * Why a snapshot and not the runtime's atomics: cameras are created and
 * freed by the main thread on SIGHUP, so HTTP threads must not walk the
 * camera table. The main thread copies the counters every tick
 * (vg_http_update); requests read that copy under a mutex held for a memcpy.
 *
 * Owns: the listening socket, libmicrohttpd's threads, the SUB thread and
 * its socket (own ZeroMQ context), the snapshot copy and the stats history.
 * Thread: new/update/free from the main thread; requests on libmicrohttpd's
 * connection threads. Blocks on: vg_http_free joins every connection thread
 * (streams notice within 0.5 s) and the SUB thread.
 */
#ifndef VG_HTTP_H
#define VG_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct vg_runtime_snapshot;
struct vg_live_registry;
typedef struct vg_http vg_http_t;

typedef struct {
    const char *listen;      /* [tcp://|http://]HOST:PORT; a bare PORT or :PORT binds 127.0.0.1 */
    const char *web_root;    /* folder of the UI files (resolved, see vg_http_default_web_root) */
    const char *users_file;  /* NULL or "" = no users */
    const char *tls_cert, *tls_key; /* PEM files, both or neither; NULL or "" = plain HTTP */
    const char *publish;     /* the daemon's PUB endpoint, which the SSE side subscribes to; NULL = none */
    const char *curve_key_file; /* daemon.curve.secret_key_file: with CURVE on publish, the SSE side
                                   subscribes with the daemon's own key pair (which the ZAP handler
                                   lets in); NULL = plain */
    struct vg_live_registry *live; /* borrowed until vg_http_free; NULL = no live views */
    const char *state_dir;   /* daemon.state_dir: the index of recordings; NULL = none */
    bool recording;          /* some camera records (see vg_http_set_recording) */
} vg_http_config_t;

/* Starts listening. Returns 0, or a negative errno with the cause in err:
 * "cannot listen on '...': Address already in use", or -EPERM when the
 * address is beyond loopback and the users file names nobody.
 * Thread: main. */
int vg_http_new(const vg_http_config_t *cfg, char *err, size_t errlen, vg_http_t **ret);

/* The port actually bound. Thread: any. */
int vg_http_port(const vg_http_t *h);

/* Whether some camera records: then /api/events and its snapshots and clips
 * come from the index of recordings in state_dir, else from the events kept
 * in memory. Thread: main (after a reload). */
void vg_http_set_recording(vg_http_t *h, bool recording);

/* Hands the HTTP side a new snapshot (copied; snap is borrowed) and, every
 * 10 s, a sample for /api/stats/history. Thread: main. */
void vg_http_update(vg_http_t *h, const struct vg_runtime_snapshot *snap);

/* Stops the listener and every thread, frees. Accepts NULL; sets *h = NULL.
 * Thread: main. */
void vg_http_free(vg_http_t **h);

/* daemon.web_root when set; otherwise the source tree's web/ for a vigild
 * that runs from its build folder, else the installed share/vigil/web.
 * Thread: any. */
const char *vg_http_default_web_root(const char *configured, char *buf, size_t len);

#endif
