/* publisher.c: see publisher.h. */
#include "daemon/publisher.h"

#include "daemon/control.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#define INPROC_FMT "inproc://vigil-publisher-%p"
#define MAX_CAMERAS 256
#define OUT_CAP (64 * 1024)
#define STATS_CAP 8192 /* stats grew objects and lines (issue 11) */
/* The thread turns at least this often when idle, so that the watchdog
 * (vg_runtime_alive) sees it alive; stopping does not wait for it: stop_fd
 * wakes the thread at once. */
#define POLL_MS 50

/* One message in a camera's catch-up log: where its bytes are in data. */
typedef struct {
    uint64_t seq;
    size_t off, len;
} log_entry_t;

typedef struct {
    char name[64];
    uint64_t seq;
    bool removed;          /* removed by a reload: "status" leaves it out */
    char stats[STATS_CAP]; /* latest stats message, for "status" */
    size_t stats_len;
    /* The catch-up log: the newest published messages, at most
     * cfg.log_messages of them and cfg.log_bytes of JSON, oldest first.
     * entries is a ring of log_messages slots; data a ring of log_bytes
     * bytes in which a message may wrap around the end. Allocated when the
     * camera first publishes (once; never per message). */
    log_entry_t *entries;
    char *data;
    size_t head, count;    /* oldest entry, number of entries */
    size_t used;           /* bytes of data held */
} camera_seq_t;

struct vg_publisher {
    vg_publisher_config_t cfg;
    char inproc[64];
    void *pull, *pub, *router;
    void *zap;                    /* CURVE: the ZAP handler (REP), NULL = plain */
    char curve_secret[41];        /* Z85 */
    char curve_public[41];        /* Z85, ours: vigild's own clients (its SSE side) use it */
    pthread_t thread;
    bool thread_started;
    _Atomic int stop;             /* main writes once, then wakes the thread through stop_fd */
    int stop_fd;                  /* eventfd: readable once stop is set */
    int64_t debug_stall_at_us;    /* VIGIL_DEBUG_STALL_PUBLISHER; 0 = off */
    vg_publisher_stats_t stats;
    /* publisher thread only: */
    int n_cameras;
    camera_seq_t *cameras;        /* MAX_CAMERAS entries */
    char in[OUT_CAP];             /* the body being forwarded */
    char out[OUT_CAP];            /* the message as published */
};

struct vg_emitter {
    vg_publisher_t *pub;
    void *push;
};

static camera_seq_t *camera_entry(vg_publisher_t *p, const char *name, size_t len)
{
    for (int i = 0; i < p->n_cameras; i++)
        if (strlen(p->cameras[i].name) == len && memcmp(p->cameras[i].name, name, len) == 0)
            return &p->cameras[i];
    if (p->n_cameras >= MAX_CAMERAS || len >= sizeof(p->cameras[0].name))
        return NULL;
    camera_seq_t *c = &p->cameras[p->n_cameras++];
    memcpy(c->name, name, len);
    c->name[len] = '\0';
    c->seq = 0;
    c->stats_len = 0;
    if (p->cfg.log_messages > 0 && p->cfg.log_bytes > 0) {
        c->entries = calloc((size_t)p->cfg.log_messages, sizeof(*c->entries));
        c->data = malloc(p->cfg.log_bytes);
        if (!c->entries || !c->data) { /* no log for this camera: "since" reports a gap */
            free(c->entries);
            free(c->data);
            c->entries = NULL;
            c->data = NULL;
        }
    }
    return c;
}

static camera_seq_t *camera_find(vg_publisher_t *p, const char *name)
{
    for (int i = 0; i < p->n_cameras; i++)
        if (strcmp(p->cameras[i].name, name) == 0)
            return &p->cameras[i];
    return NULL;
}

/* Appends the message just published to the camera's catch-up log, first
 * dropping the oldest until it fits. One that could never fit empties the
 * log: what it keeps must follow on without a hole. */
static void log_append(vg_publisher_t *p, camera_seq_t *c, const char *msg, size_t len)
{
    if (!c->entries)
        return;
    size_t cap = p->cfg.log_bytes, slots = (size_t)p->cfg.log_messages;
    while (c->count > 0 && (c->count == slots || c->used + len > cap)) {
        c->used -= c->entries[c->head].len;
        c->head = (c->head + 1) % slots;
        c->count--;
    }
    if (len > cap)
        return;
    size_t off = c->count ? (c->entries[c->head].off + c->used) % cap : 0;
    if (!c->count)
        c->used = 0;
    size_t first = len < cap - off ? len : cap - off;
    memcpy(c->data + off, msg, first);
    memcpy(c->data, msg + first, len - first);
    c->entries[(c->head + c->count) % slots] = (log_entry_t){.seq = c->seq, .off = off, .len = len};
    c->count++;
    c->used += len;
}

/* Copies logged entry e into buf (at least e->len bytes). */
static void log_read(const vg_publisher_t *p, const camera_seq_t *c, const log_entry_t *e, char *buf)
{
    size_t cap = p->cfg.log_bytes;
    size_t first = e->len < cap - e->off ? e->len : cap - e->off;
    memcpy(buf, c->data + e->off, first);
    memcpy(buf + first, c->data, e->len - first);
}

/* Receives one part into buf (NUL-terminated); returns its length,
 * -EMSGSIZE when it did not fit (the rest of the part is gone), or
 * ZeroMQ's negative errno (-EAGAIN: nothing to read), and sets *more. */
static int recv_part(void *sock, char *buf, size_t cap, int flags, int *more)
{
    int n = zmq_recv(sock, buf, cap - 1, flags);
    if (n < 0)
        return -zmq_errno();
    if ((size_t)n > cap - 1)
        n = -EMSGSIZE; /* truncated */
    else
        buf[n] = '\0';
    int m = 0;
    size_t ml = sizeof(m);
    zmq_getsockopt(sock, ZMQ_RCVMORE, &m, &ml);
    *more = m;
    return n;
}

static void drain_parts(void *sock, int more)
{
    char scratch[64];
    while (more) {
        int r = recv_part(sock, scratch, sizeof(scratch), 0, &more);
        if (r < 0 && r != -EMSGSIZE)
            break;
    }
}

/* Takes one message from the PULL socket and sends it on. Returns false when
 * there was nothing to read. */
static bool forward_one(vg_publisher_t *p, int flags)
{
    char topic[128], camera[128];
    char *body = p->in;
    int more = 0;
    int tl = recv_part(p->pull, topic, sizeof(topic), flags, &more);
    if (tl < 0 && tl != -EMSGSIZE)
        return false;
    if (tl < 0 || !more) {
        drain_parts(p->pull, more);
        atomic_fetch_add_explicit(&p->stats.invalid, 1, memory_order_relaxed);
        return true;
    }
    int cl = recv_part(p->pull, camera, sizeof(camera), 0, &more);
    if (cl < 0 || !more) {
        drain_parts(p->pull, more);
        atomic_fetch_add_explicit(&p->stats.invalid, 1, memory_order_relaxed);
        return true;
    }
    if (tl == 0) { /* vg_emitter_forget: the camera was removed */
        drain_parts(p->pull, more);
        camera_seq_t *gone = camera_find(p, camera);
        if (gone) {
            gone->removed = true;
            gone->stats_len = 0;
        }
        return true;
    }
    int bl = recv_part(p->pull, body, sizeof(p->in), 0, &more);
    camera_seq_t *c = cl > 0 ? camera_entry(p, camera, (size_t)cl) : NULL;
    /* issue 11: a snapshot carries its JPEG as a third part, forwarded as is */
    zmq_msg_t blob;
    bool has_blob = false;
    if (bl >= 2 && more && c && strncmp(topic, "snap.", 5) == 0) {
        zmq_msg_init(&blob);
        has_blob = zmq_msg_recv(&blob, p->pull, 0) >= 0;
        size_t ml = sizeof(more);
        zmq_getsockopt(p->pull, ZMQ_RCVMORE, &more, &ml);
        if (!has_blob || more) {
            zmq_msg_close(&blob);
            has_blob = false;
            more = 1; /* malformed: counted below */
        }
    }
    if (bl < 2 || more || body[0] != '{' || !c) {
        drain_parts(p->pull, more);
        atomic_fetch_add_explicit(&p->stats.invalid, 1, memory_order_relaxed);
        return true;
    }
    c->seq++;
    c->removed = false;
    /* body is "{...}": splice our fields in after its brace */
    bool empty = bl == 2;
    int n = snprintf(p->out, sizeof(p->out), "{\"topic\":\"%s\",\"camera\":\"%s\",\"seq\":%" PRIu64 "%s",
                     topic, c->name, c->seq, empty ? "" : ",");
    if (n < 0 || (size_t)n + (size_t)bl > sizeof(p->out)) {
        /* cannot happen below OUT_CAP - 200 bytes of body; seq is spent, so
         * subscribers see the loss, and it is counted */
        atomic_fetch_add_explicit(&p->stats.dropped, 1, memory_order_relaxed);
        if (has_blob)
            zmq_msg_close(&blob);
        return true;
    }
    memcpy(p->out + n, body + 1, (size_t)bl - 1);
    size_t len = (size_t)n + (size_t)bl - 1;
    if (strcmp(topic, "stats") == 0 && len < STATS_CAP) {
        memcpy(c->stats, p->out, len);
        c->stats_len = len;
    }
    log_append(p, c, p->out, len);
    if (p->cfg.print_to) {
        fwrite(p->out, 1, len, p->cfg.print_to);
        fputc('\n', p->cfg.print_to);
        fflush(p->cfg.print_to);
    } else {
        /* PUB never blocks: at the high-water mark it drops for that
         * subscriber, who sees the gap in seq */
        zmq_send(p->pub, topic, (size_t)tl, ZMQ_SNDMORE | ZMQ_DONTWAIT);
        zmq_send(p->pub, p->out, len, ZMQ_DONTWAIT | (has_blob ? ZMQ_SNDMORE : 0));
        if (has_blob)
            zmq_msg_send(&blob, p->pub, ZMQ_DONTWAIT);
    }
    if (has_blob)
        zmq_msg_close(&blob);
    atomic_fetch_add_explicit(&p->stats.published, 1, memory_order_relaxed);
    return true;
}

static void send_reply_part(vg_publisher_t *p, const void *data, size_t len, bool more)
{
    zmq_send(p->router, data, len, (more ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT);
}

/* "status": the latest stats of every camera still configured. */
static size_t answer_status(vg_publisher_t *p)
{
    size_t len = (size_t)snprintf(p->out, sizeof(p->out),
                                  "{\"published\":%" PRIu64 ",\"dropped\":%" PRIu64 ",\"cameras\":[",
                                  atomic_load_explicit(&p->stats.published, memory_order_relaxed),
                                  atomic_load_explicit(&p->stats.dropped, memory_order_relaxed));
    bool first = true;
    for (int i = 0; i < p->n_cameras; i++) {
        camera_seq_t *c = &p->cameras[i];
        if (c->removed || !c->stats_len || len + c->stats_len + 4 >= sizeof(p->out))
            continue;
        if (!first)
            p->out[len++] = ',';
        memcpy(p->out + len, c->stats, c->stats_len);
        len += c->stats_len;
        first = false;
    }
    len += (size_t)snprintf(p->out + len, sizeof(p->out) - len, "]}");
    return len;
}

/* "since <camera> <seq>": a header, then every logged message after seq,
 * oldest first, one per part. When messages after seq are no longer in the
 * log, the header says which ("gap"), and what is still there follows. */
static void answer_since(vg_publisher_t *p, const vg_control_request_t *rq)
{
    camera_seq_t *c = camera_find(p, rq->camera);
    if (!c) {
        int n = snprintf(p->out, sizeof(p->out), "{\"error\":\"no camera '%s' has published\"}", rq->camera);
        send_reply_part(p, p->out, (size_t)n, false);
        return;
    }
    size_t slots = (size_t)p->cfg.log_messages, from = 0, n_after = 0;
    /* entries hold consecutive seqs: the first after rq->seq is found by
     * arithmetic, not a search */
    uint64_t oldest = c->count ? c->entries[c->head].seq : c->seq + 1;
    if (rq->seq < c->seq) {
        uint64_t want = rq->seq + 1 > oldest ? rq->seq + 1 : oldest;
        from = (size_t)(want - oldest);
        n_after = c->count - from;
    }
    int n = snprintf(p->out, sizeof(p->out),
                     "{\"camera\":\"%s\",\"since\":%" PRIu64 ",\"last\":%" PRIu64 ",\"count\":%zu", c->name,
                     rq->seq, c->seq, n_after);
    if (rq->seq + 1 < oldest && rq->seq < c->seq)
        n += snprintf(p->out + n, sizeof(p->out) - (size_t)n,
                      ",\"gap\":{\"from\":%" PRIu64 ",\"to\":%" PRIu64 ",\"missing\":%" PRIu64
                      ",\"why\":\"no longer in the catch-up log (daemon.catchup_messages, catchup_bytes)\"}",
                      rq->seq + 1, oldest - 1, oldest - 1 - rq->seq);
    n += snprintf(p->out + n, sizeof(p->out) - (size_t)n, "}");
    send_reply_part(p, p->out, (size_t)n, n_after > 0);
    for (size_t i = 0; i < n_after; i++) {
        const log_entry_t *e = &c->entries[(c->head + from + i) % slots];
        log_read(p, c, e, p->out);
        send_reply_part(p, p->out, e->len, i + 1 < n_after);
    }
}

/* Answers one control request: [identity][""][request]. */
static void answer_control(vg_publisher_t *p)
{
    char id[256], empty[8], cmd[256];
    int more = 0;
    int il = recv_part(p->router, id, sizeof(id), ZMQ_DONTWAIT, &more);
    if (il <= 0 || !more) {
        drain_parts(p->router, more);
        return;
    }
    int el = recv_part(p->router, empty, sizeof(empty), 0, &more);
    if (el != 0 || !more) {
        drain_parts(p->router, more);
        return;
    }
    int cl = recv_part(p->router, cmd, sizeof(cmd), 0, &more);
    drain_parts(p->router, more);
    vg_control_request_t rq;
    char why[128];
    zmq_send(p->router, id, (size_t)il, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(p->router, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    if (cl < 0 || vg_control_parse(cmd, (size_t)cl, &rq, why, sizeof(why)) < 0) {
        if (cl < 0)
            snprintf(why, sizeof(why), "request too long");
        int n = snprintf(p->out, sizeof(p->out), "{\"error\":\"%s\"}", why);
        send_reply_part(p, p->out, (size_t)n, false);
    } else if (rq.kind == VG_CONTROL_STATUS) {
        send_reply_part(p, p->out, answer_status(p), false);
    } else {
        answer_since(p, &rq);
    }
}

/* Reads a Z85 key from a file written by `vigil keygen`: the value of the
 * line "which: KEY", or a line that is a bare 40-character key. */
int vg_curve_read_key(const char *path, const char *which, char ret_key[41])
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    char line[256];
    int r = -ENOKEY;
    size_t wl = strlen(which);
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        const char *v = line;
        if (line[0] == '#')
            continue;
        if (!strncmp(line, which, wl) && line[wl] == ':')
            v = line + wl + 1;
        else if (strchr(line, ':'))
            continue;
        while (*v == ' ')
            v++;
        uint8_t bin[32];
        if (strlen(v) == 40 && zmq_z85_decode(bin, v)) {
            memcpy(ret_key, v, 41);
            r = 0;
            break;
        }
    }
    fclose(f);
    return r;
}

/* ZAP: is this client's public key (32 bytes) in the clients folder? */
static bool client_allowed(const vg_publisher_t *p, const uint8_t *key, size_t len)
{
    char z85[41];
    if (len != 32 || !zmq_z85_encode(z85, key, 32))
        return false;
    if (strcmp(z85, p->curve_public) == 0)
        return true; /* vigild itself (the web UI's event stream) */
    DIR *d = opendir(p->cfg.curve_clients);
    if (!d)
        return false;
    bool ok = false;
    struct dirent *de;
    while (!ok && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char path[4096], k[41];
        snprintf(path, sizeof(path), "%s/%s", p->cfg.curve_clients, de->d_name);
        ok = vg_curve_read_key(path, "public", k) == 0 && strcmp(k, z85) == 0;
    }
    closedir(d);
    return ok;
}

/* Answers one ZAP request (RFC 27): 200 for an allowed CURVE client key,
 * 400 for anything else. */
static void answer_zap(vg_publisher_t *p)
{
    zmq_msg_t part[7];
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, p->zap, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            break;
        }
        more = zmq_msg_more(&m);
        if (n < 7)
            part[n++] = m;
        else
            zmq_msg_close(&m);
    }
    if (n < 2) {
        for (int i = 0; i < n; i++)
            zmq_msg_close(&part[i]);
        return;
    }
    bool ok = n == 7 && zmq_msg_size(&part[5]) == 5 && !memcmp(zmq_msg_data(&part[5]), "CURVE", 5) &&
              client_allowed(p, zmq_msg_data(&part[6]), zmq_msg_size(&part[6]));
    zmq_send(p->zap, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(p->zap, zmq_msg_data(&part[1]), zmq_msg_size(&part[1]), ZMQ_SNDMORE);
    zmq_send(p->zap, ok ? "200" : "400", 3, ZMQ_SNDMORE);
    const char *text = ok ? "OK" : "client key not allowed";
    zmq_send(p->zap, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(p->zap, ok ? "client" : "", ok ? 6 : 0, ZMQ_SNDMORE);
    zmq_send(p->zap, "", 0, 0);
    for (int i = 0; i < n; i++)
        zmq_msg_close(&part[i]);
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Test hook (VIGIL_DEBUG_STALL_PUBLISHER=S): the thread stops turning S
 * seconds after start, until it is asked to stop, so that a test can see
 * the watchdog pings stop. */
static void debug_stall(vg_publisher_t *p)
{
    if (!p->debug_stall_at_us || mono_us() < p->debug_stall_at_us)
        return;
    /* until stop_fd says stop */
    struct pollfd pf = {.fd = p->stop_fd, .events = POLLIN};
    while (poll(&pf, 1, -1) < 0 && errno == EINTR)
        ;
}

static void *publisher_main(void *arg)
{
    vg_publisher_t *p = arg;
    zmq_pollitem_t items[4] = {{.socket = p->pull, .events = ZMQ_POLLIN},
                               {.fd = p->stop_fd, .events = ZMQ_POLLIN},
                               {.socket = p->router, .events = ZMQ_POLLIN},
                               {.socket = p->zap, .events = ZMQ_POLLIN}};
    int n_items = 2;
    if (p->router)
        n_items = 3;
    if (p->zap) { /* the ZAP handler's slot is the last one */
        items[n_items] = items[3];
        n_items++;
    }
    for (;;) {
        /* relaxed: stop_fd woke us (or POLL_MS passed); the flag itself
         * orders nothing */
        bool stop = atomic_load_explicit(&p->stop, memory_order_relaxed);
        /* relaxed: a counter the main thread compares between checks */
        atomic_fetch_add_explicit(&p->stats.loops, 1, memory_order_relaxed);
        debug_stall(p);
        int rc = zmq_poll(items, n_items, stop ? 0 : POLL_MS);
        if (rc < 0 && zmq_errno() != EINTR)
            break;
        int forwarded = 0;
        while (forwarded < 1024 && forward_one(p, ZMQ_DONTWAIT))
            forwarded++;
        if (p->router && (items[2].revents & ZMQ_POLLIN))
            answer_control(p);
        if (p->zap && (items[n_items - 1].revents & ZMQ_POLLIN))
            answer_zap(p);
        if (stop && forwarded == 0)
            break; /* every emitter is closed and the queue is empty */
    }
    return NULL;
}

static int bind_socket(void *sock, const char *what, const char *endpoint, char *err, size_t errlen)
{
    if (zmq_bind(sock, endpoint) == 0)
        return 0;
    int e = zmq_errno();
    snprintf(err, errlen, "cannot bind %s endpoint '%s': %s", what, endpoint, zmq_strerror(e));
    return -e;
}

/* CURVE server side of a socket, when configured. */
static void curve_server(vg_publisher_t *p, void *sock)
{
    if (!p->zap)
        return;
    int one = 1;
    zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof(one));
    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, p->curve_secret, 40);
    zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, "vigil", 5);
}

int vg_publisher_new(const vg_publisher_config_t *cfg, char *err, size_t errlen, vg_publisher_t **ret)
{
    vg_publisher_t *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    int r = -ENOMEM;
    p->cfg = *cfg;
    p->stop_fd = -1;
    p->cameras = calloc(MAX_CAMERAS, sizeof(*p->cameras));
    if (!p->cameras)
        goto fail;
    atomic_init(&p->stop, 0);
    p->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (p->stop_fd < 0) {
        r = -errno;
        snprintf(err, errlen, "cannot create the publisher's eventfd: %s", strerror(-r));
        goto fail;
    }
    const char *stall = getenv("VIGIL_DEBUG_STALL_PUBLISHER");
    if (stall && atof(stall) > 0)
        p->debug_stall_at_us = mono_us() + (int64_t)(atof(stall) * 1e6);
    snprintf(p->inproc, sizeof(p->inproc), INPROC_FMT, (void *)p);
    p->pull = zmq_socket(cfg->zmq_context, ZMQ_PULL);
    if (!p->pull) {
        r = -zmq_errno();
        snprintf(err, errlen, "cannot create a ZeroMQ socket: %s", zmq_strerror(-r));
        goto fail;
    }
    if ((r = bind_socket(p->pull, "internal", p->inproc, err, errlen)) < 0)
        goto fail;
    if (cfg->curve_secret_key_file && !cfg->print_to) {
        if ((r = vg_curve_read_key(cfg->curve_secret_key_file, "secret", p->curve_secret)) < 0) {
            snprintf(err, errlen, "daemon.curve.secret_key_file: no secret key in '%s': %s",
                     cfg->curve_secret_key_file, r == -ENOKEY ? "no 'secret: KEY' line (vigil keygen)" : strerror(-r));
            goto fail;
        }
        zmq_curve_public(p->curve_public, p->curve_secret);
        /* the handler answers the handshakes of both sockets; it is bound
         * before them so that no client slips in unchecked */
        p->zap = zmq_socket(cfg->zmq_context, ZMQ_REP);
        if (!p->zap || (r = bind_socket(p->zap, "ZAP", "inproc://zeromq.zap.01", err, errlen)) < 0) {
            r = r < 0 ? r : -ENOMEM;
            goto fail;
        }
    }
    if (!cfg->print_to) {
        p->pub = zmq_socket(cfg->zmq_context, ZMQ_PUB);
        int hwm = cfg->hwm > 0 ? cfg->hwm : 1000, linger = 500;
        zmq_setsockopt(p->pub, ZMQ_SNDHWM, &hwm, sizeof(hwm));
        zmq_setsockopt(p->pub, ZMQ_LINGER, &linger, sizeof(linger));
        curve_server(p, p->pub);
        if ((r = bind_socket(p->pub, "publish", cfg->endpoint, err, errlen)) < 0)
            goto fail;
    }
    if (cfg->control && cfg->control[0]) {
        p->router = zmq_socket(cfg->zmq_context, ZMQ_ROUTER);
        int linger = 0;
        zmq_setsockopt(p->router, ZMQ_LINGER, &linger, sizeof(linger));
        curve_server(p, p->router);
        if ((r = bind_socket(p->router, "control", cfg->control, err, errlen)) < 0)
            goto fail;
    }
    r = -pthread_create(&p->thread, NULL, publisher_main, p);
    if (r < 0) {
        snprintf(err, errlen, "cannot start the publisher thread: %s", strerror(-r));
        goto fail;
    }
    pthread_setname_np(p->thread, "vg-publisher");
    p->thread_started = true;
    *ret = p;
    return 0;
fail:
    vg_publisher_free(&p);
    return r;
}

static void close_socket(void **sock)
{
    if (*sock)
        zmq_close(*sock);
    *sock = NULL;
}

void vg_publisher_free(vg_publisher_t **pp)
{
    if (!pp || !*pp)
        return;
    vg_publisher_t *p = *pp;
    if (p->thread_started) {
        /* relaxed: the eventfd write below is what wakes the thread */
        atomic_store_explicit(&p->stop, 1, memory_order_relaxed);
        uint64_t one = 1;
        if (write(p->stop_fd, &one, sizeof(one)) < 0) {
            /* cannot happen with a counter far from its maximum; the thread
             * still sees the flag within POLL_MS */
        }
        pthread_join(p->thread, NULL);
    }
    if (p->stop_fd >= 0)
        close(p->stop_fd);
    close_socket(&p->router);
    close_socket(&p->pub);
    close_socket(&p->pull);
    if (p->zap) {
        int zero = 0;
        zmq_setsockopt(p->zap, ZMQ_LINGER, &zero, sizeof(zero));
    }
    close_socket(&p->zap);
    for (int i = 0; p->cameras && i < p->n_cameras; i++) {
        free(p->cameras[i].entries);
        free(p->cameras[i].data);
    }
    free(p->cameras);
    free(p);
    *pp = NULL;
}

const vg_publisher_stats_t *vg_publisher_stats(const vg_publisher_t *pub) { return &pub->stats; }

int vg_emitter_new(vg_publisher_t *pub, vg_emitter_t **ret)
{
    vg_emitter_t *em = calloc(1, sizeof(*em));
    if (!em)
        return -ENOMEM;
    em->pub = pub;
    em->push = zmq_socket(pub->cfg.zmq_context, ZMQ_PUSH);
    if (!em->push) {
        int r = -zmq_errno();
        free(em);
        return r;
    }
    /* queue up to 1000 messages for the publisher; keep them at close so a
     * stopping pipeline's last messages still go out (bounded by linger) */
    int hwm = 1000, linger = 2000;
    zmq_setsockopt(em->push, ZMQ_SNDHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(em->push, ZMQ_LINGER, &linger, sizeof(linger));
    if (zmq_connect(em->push, pub->inproc) != 0) {
        int r = -zmq_errno();
        zmq_close(em->push);
        free(em);
        return r;
    }
    *ret = em;
    return 0;
}

void vg_emitter_free(vg_emitter_t **em)
{
    if (!em || !*em)
        return;
    zmq_close((*em)->push);
    free(*em);
    *em = NULL;
}

int vg_emitter_forget(vg_emitter_t *em, const char *camera)
{
    int flags = em->pub->cfg.lossless ? 0 : ZMQ_DONTWAIT;
    if (zmq_send(em->push, "", 0, ZMQ_SNDMORE | flags) < 0)
        return -EAGAIN;
    zmq_send(em->push, camera, strlen(camera), ZMQ_SNDMORE);
    zmq_send(em->push, "{}", 2, 0);
    return 0;
}

/* issue 11: [topic][camera][json][blob] for snap.<camera> */
int vg_emitter_send_blob(void *emitter, const char *topic, const char *camera, const char *json, size_t len,
                         const void *blob, size_t blob_len)
{
    vg_emitter_t *em = emitter;
    if (!topic || !camera || !json || len < 2 || !blob)
        return -EINVAL;
    int flags = em->pub->cfg.lossless ? 0 : ZMQ_DONTWAIT;
    if (zmq_send(em->push, topic, strlen(topic), ZMQ_SNDMORE | flags) < 0) {
        atomic_fetch_add_explicit(&em->pub->stats.dropped, 1, memory_order_relaxed);
        return -EAGAIN;
    }
    zmq_send(em->push, camera, strlen(camera), ZMQ_SNDMORE);
    zmq_send(em->push, json, len, ZMQ_SNDMORE);
    zmq_send(em->push, blob, blob_len, 0);
    return 0;
}

int vg_emitter_send(void *emitter, const char *topic, const char *camera, const char *json, size_t len)
{
    vg_emitter_t *em = emitter;
    if (!topic || !topic[0] || !camera || !json || len < 2)
        return -EINVAL;
    int flags = em->pub->cfg.lossless ? 0 : ZMQ_DONTWAIT;
    /* The first part decides: once it is queued, ZeroMQ queues the rest of
     * the multipart message atomically. */
    if (zmq_send(em->push, topic, strlen(topic), ZMQ_SNDMORE | flags) < 0) {
        atomic_fetch_add_explicit(&em->pub->stats.dropped, 1, memory_order_relaxed);
        return -EAGAIN;
    }
    zmq_send(em->push, camera, strlen(camera), ZMQ_SNDMORE);
    zmq_send(em->push, json, len, 0);
    return 0;
}
