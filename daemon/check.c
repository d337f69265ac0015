/* check.c: see check.h. */
#include "daemon/check.h"

#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

#include "daemon/model_map.h"
#include "daemon/publisher.h"
#include "pipeline/detect.h"

static int fail(const vg_config_t *cfg, char *err, size_t errlen, int line, const char *key, int r,
                const char *fmt, const char *a, const char *b)
{
    char what[9000];
    /* cut to fit err: a path may be long */
    if (snprintf(what, sizeof(what), fmt, a, b) < 0)
        what[0] = '\0';
    if (snprintf(err, errlen, "%s:%d: %s: %s", cfg->path ? cfg->path : "(config)", line, key, what) < 0 && errlen)
        err[0] = '\0';
    return r;
}

/* A ZeroMQ endpoint vigild will bind: the folder of an ipc:// path exists,
 * a tcp:// address can be bound now (not in use, a local address). */
static int check_endpoint(const vg_config_t *cfg, const char *key, const char *ep, int line, char *err,
                          size_t errlen)
{
    if (!ep || !ep[0])
        return 0;
    if (!strncmp(ep, "ipc://", 6)) {
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s", ep + 6);
        char *slash = strrchr(dir, '/');
        if (slash)
            *(slash == dir ? slash + 1 : slash) = '\0';
        else
            snprintf(dir, sizeof(dir), ".");
        struct stat st;
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
            return fail(cfg, err, errlen, line, key, -ENOENT, "the folder '%s' of '%s' does not exist", dir, ep);
        return 0;
    }
    void *ctx = zmq_ctx_new();
    void *s = ctx ? zmq_socket(ctx, ZMQ_PUB) : NULL;
    int r = 0;
    if (!s) {
        r = fail(cfg, err, errlen, line, key, -ENOMEM, "cannot create a ZeroMQ socket to try '%s'%s", ep, "");
    } else if (zmq_bind(s, ep) != 0) {
        int e = zmq_errno();
        r = fail(cfg, err, errlen, line, key, -e, "cannot bind '%s': %s", ep, zmq_strerror(e));
    }
    if (s) {
        int zero = 0;
        zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
        zmq_close(s);
    }
    if (ctx)
        zmq_ctx_term(ctx);
    return r;
}

/* The HTTP listener (daemon.http, or its old name daemon.metrics):
 * HOST:PORT can be listened on now (port 0 always can). */
static int check_metrics(const vg_config_t *cfg, char *err, size_t errlen)
{
    bool http = cfg->http && cfg->http[0];
    const char *s = http ? cfg->http : cfg->metrics;
    const char *key = http ? "daemon.http" : "daemon.metrics";
    int line = http ? cfg->line_http : cfg->line_metrics;
    if (!s || !s[0])
        return 0;
    const char *hp = !strncmp(s, "tcp://", 6) ? s + 6 : !strncmp(s, "http://", 7) ? s + 7 : s;
    const char *colon = strrchr(hp, ':');
    char host[256], port[8];
    snprintf(host, sizeof(host), "%.*s", (int)(colon - hp), hp);
    snprintf(port, sizeof(port), "%s", colon + 1);
    if (atoi(port) == 0)
        return 0;
    char *h = host;
    if (h[0] == '[' && h[strlen(h) - 1] == ']') {
        h[strlen(h) - 1] = '\0';
        h++;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai = NULL;
    int g = getaddrinfo(strcmp(h, "*") == 0 ? NULL : h, port, &hints, &ai);
    if (g != 0)
        return fail(cfg, err, errlen, line, key, -EINVAL, "cannot resolve '%s': %s", s,
                    gai_strerror(g));
    int r = 0, fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)); /* as libmicrohttpd does */
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        r = -errno;
        fail(cfg, err, errlen, line, key, r, "cannot listen on '%s': %s", s, strerror(-r));
    }
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    return r;
}

/* The key a detector error names ("head: ...", "input: ...") and its line. */
static const char *error_key(const vg_model_config_t *m, const char *why, int *ret_line)
{
    static const struct { const char *key; size_t line; } keys[] = {
        {"head", offsetof(vg_model_config_t, line_head)},
        {"input", offsetof(vg_model_config_t, line_input)},
        {"color", offsetof(vg_model_config_t, line_color)},
        {"mean", offsetof(vg_model_config_t, line_mean)},
        {"scale", offsetof(vg_model_config_t, line_scale)},
        {"letterbox", offsetof(vg_model_config_t, line_letterbox)},
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        size_t n = strlen(keys[i].key);
        if (!strncmp(why, keys[i].key, n) && why[n] == ':') {
            int line = *(const int *)((const char *)m + keys[i].line);
            *ret_line = line ? line : m->line;
            return keys[i].key;
        }
    }
    *ret_line = m->line_path ? m->line_path : m->line;
    return "path";
}

/* A model: its file exists and loads as ONNX, its labels exist, and what
 * the config wrote agrees with its manifest: loaded the one way vigild
 * loads it (vg_model_load), its error mapped to the key it names. */
static int check_model(const vg_config_t *cfg, const vg_model_config_t *m, FILE *notes, char *err,
                       size_t errlen)
{
    char key[128], onnx[4096];
    int line = m->line_path ? m->line_path : m->line;
    snprintf(key, sizeof(key), "models.%s.path", m->name);
    if (notes && vg_config_resolve_path(cfg, m->path, onnx, sizeof(onnx)) == 0) {
        char manifest[4200];
        size_t n = strlen(onnx);
        snprintf(manifest, sizeof(manifest), "%.*s.json", (int)(n > 5 && !strcmp(onnx + n - 5, ".onnx") ? n - 5 : n),
                 onnx);
        if (access(manifest, R_OK) != 0)
            fprintf(notes, "%s:%d: %s: note: no manifest '%s': head, input, color, mean, scale and letterbox come "
                    "from the config alone\n", cfg->path ? cfg->path : "(config)", line, key, manifest);
    }
    vg_detector_t *det = NULL;
    char why[1024];
    int r = vg_model_load(cfg, m, 1, &det, why, sizeof(why));
    if (r < 0) {
        /* "model 'X': head: ..." -> models.X.head at its line */
        char prefix[96];
        int n = snprintf(prefix, sizeof(prefix), "model '%s': ", m->name);
        const char *rest = !strncmp(why, prefix, (size_t)n) ? why + n : why;
        int kline;
        const char *k = error_key(m, rest, &kline);
        if (!strcmp(k, "path") && !strncmp(rest, "cannot read labels", 18)) {
            k = "labels";
            kline = m->line;
        } else if (strcmp(k, "path") != 0) {
            rest += strlen(k) + 2; /* the message starts with the key */
        }
        snprintf(key, sizeof(key), "models.%s.%s", m->name, k);
        return fail(cfg, err, errlen, kline, key, r, "%s%s", rest, "");
    }
    vg_detector_free(&det);
    return 0;
}

/* daemon.curve: the key pair can be read, the clients folder exists. */
static int check_curve(const vg_config_t *cfg, char *err, size_t errlen)
{
    if (!cfg->curve_secret_key_file)
        return 0;
    char key[41];
    int r = vg_curve_read_key(cfg->curve_secret_key_file, "secret", key);
    if (r < 0)
        return fail(cfg, err, errlen, cfg->line_curve, "daemon.curve.secret_key_file", r, "no secret key in '%s': %s",
                    cfg->curve_secret_key_file, r == -ENOKEY ? "no 'secret: KEY' line (vigil keygen)" : strerror(-r));
    struct stat st;
    if (stat(cfg->curve_clients, &st) != 0 || !S_ISDIR(st.st_mode))
        return fail(cfg, err, errlen, cfg->line_curve_clients, "daemon.curve.clients", -ENOENT, "'%s' is not a folder%s",
                    cfg->curve_clients, "");
    return 0;
}

int vg_check_config(const vg_config_t *cfg, FILE *notes, char *err, size_t errlen)
{
    int r;
    if ((r = check_curve(cfg, err, errlen)) < 0)
        return r;
    if ((r = check_endpoint(cfg, "daemon.publish", cfg->publish, cfg->line_publish, err, errlen)) < 0 ||
        (r = check_endpoint(cfg, "daemon.control", cfg->control, cfg->line_control, err, errlen)) < 0 ||
        (r = check_metrics(cfg, err, errlen)) < 0)
        return r;
    for (int i = 0; i < cfg->n_models; i++)
        if ((r = check_model(cfg, &cfg->models[i], notes, err, errlen)) < 0)
            return r;
    return 0;
}
