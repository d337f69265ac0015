/* Issue 10, the daemon's side: nothing lost without a word, nothing leaked.
 * The real vigild on real footage and sockets: credentials never leave the
 * config, a late subscriber learns why a camera failed, health messages
 * always fit, reloads forget removed cameras and apply log_level, and a
 * subscriber that restarts catches up from the control socket's log. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <jansson.h>
#include <zmq.h>

#include "vg_test_vigild.h"

typedef vg_test_vigild_t daemon_t;

static char control_ep[320];

/* daemon: with the test's publish endpoint, a control socket beside it,
 * stats every 500 ms, then extra_daemon; cameras: the YAML under it. */
static void write_config(daemon_t *d, const char *extra_daemon, const char *cameras)
{
    char text[16384];
    snprintf(control_ep, sizeof(control_ep), "ipc://%s/control", d->dir);
    snprintf(text, sizeof(text),
             "daemon:\n  publish: %s\n  control: %s\n  stats_interval: 500ms\n%s"
             "cameras:\n%s",
             d->endpoint, control_ep, extra_daemon ? extra_daemon : "", cameras);
    vg_test_write_file(d->config, text);
}

/* The next message whose topic starts with prefix, within timeout_ms. */
static json_t *recv_topic(daemon_t *d, const char *prefix, int timeout_ms, char *topic, size_t len)
{
    long long end = vg_test_now_ms() + timeout_ms;
    while (vg_test_now_ms() < end) {
        json_t *m = vg_test_recv_json(d->sub, (int)(end - vg_test_now_ms()), topic, len);
        if (!m)
            return NULL;
        if (strncmp(topic, prefix, strlen(prefix)) == 0)
            return m;
        json_decref(m);
    }
    return NULL;
}

/* One request on the control socket; the parts of the answer into parts[]
 * (strings the caller frees); returns how many. */
static int control_request(const char *req, char **parts, int max)
{
    void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_REQ);
    int timeout = 5000, zero = 0, n = 0;
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
    cr_assert_eq(zmq_connect(s, control_ep), 0);
    cr_assert_geq(zmq_send(s, req, strlen(req), 0), 0);
    int more = 1;
    size_t ml = sizeof(more);
    while (more && n < max) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, s, 0) < 0) {
            zmq_msg_close(&m);
            break;
        }
        parts[n] = strndup(zmq_msg_data(&m), zmq_msg_size(&m));
        n++;
        zmq_msg_close(&m);
        zmq_getsockopt(s, ZMQ_RCVMORE, &more, &ml);
    }
    zmq_close(s);
    zmq_ctx_term(ctx);
    return n;
}

static char *status_json(void)
{
    char *parts[1] = {NULL};
    cr_assert_eq(control_request("status", parts, 1), 1, "no answer to status");
    return parts[0];
}

Test(losses, credentials_never_leave_the_config_and_stats_say_why, .timeout = 60)
{
    daemon_t d;
    vg_test_vigild_prepare(&d, "creds");
    /* port 1 on loopback refuses at once: the camera reconnects, reporting why */
    write_config(&d, NULL,
                 "  door:\n    url: rtsp://admin:s3cr3t@127.0.0.1:1/stream\n    timeout: 1s\n"
                 "  yard:\n    url: http://viewer:hunter2@127.0.0.1:1/video.mjpg\n    timeout: 1s\n");
    vg_test_vigild_start(&d);
    char topic[128];
    int health = 0, stats_with_reason = 0;
    long long end = vg_test_now_ms() + 8000;
    while (vg_test_now_ms() < end && (health < 4 || stats_with_reason < 2)) {
        json_t *m = vg_test_recv_json(d.sub, 500, topic, sizeof(topic));
        if (!m)
            continue;
        char *text = json_dumps(m, 0);
        cr_assert_null(strstr(text, "s3cr3t"), "a password went out: %s", text);
        cr_assert_null(strstr(text, "hunter2"), "a password went out: %s", text);
        cr_assert_null(strstr(text, "admin"), "a user name went out: %s", text);
        if (!strncmp(topic, "health.", 7)) {
            const char *url = json_string_value(json_object_get(m, "url"));
            cr_assert(url && (!strcmp(url, "rtsp://127.0.0.1:1/stream") || !strcmp(url, "http://127.0.0.1:1/video.mjpg")),
                      "url %s", url);
            health++;
        }
        const char *state = json_string_value(json_object_get(m, "state"));
        const char *reason = json_string_value(json_object_get(m, "reason"));
        if (!strcmp(topic, "stats") && state && strcmp(state, "connecting") != 0) {
            /* a subscriber that joins now learns why from stats alone */
            cr_assert(reason && reason[0], "stats of a %s camera without a reason: %s", state, text);
            stats_with_reason++;
        }
        free(text);
        json_decref(m);
    }
    cr_assert_geq(health, 4);
    cr_assert_geq(stats_with_reason, 2);
    char *status = status_json();
    cr_assert_null(strstr(status, "s3cr3t"), "%s", status);
    cr_assert_null(strstr(status, "hunter2"), "%s", status);
    cr_assert(strstr(status, "\"reason\":\""), "status has the reason: %s", status);
    free(status);
    const char *err = vg_test_vigild_stderr(&d);
    cr_assert(strstr(err, "door"), "the failure is logged: %s", err);
    cr_assert_null(strstr(err, "s3cr3t"), "%s", err);
    cr_assert_null(strstr(err, "hunter2"), "%s", err);
    cr_assert_eq(vg_test_vigild_stop(&d, SIGTERM, 10000), 0);
}

Test(losses, a_2500_character_url_still_gets_its_health_messages, .timeout = 60)
{
    daemon_t d;
    vg_test_vigild_prepare(&d, "longurl");
    static char cams[8192];
    int n = snprintf(cams, sizeof(cams), "  long:\n    timeout: 1s\n    url: rtsp://127.0.0.1:1/");
    for (int i = 0; i < 2500; i++)
        cams[n++] = (char)('a' + i % 26);
    snprintf(cams + n, sizeof(cams) - (size_t)n, "\n");
    write_config(&d, NULL, cams);
    vg_test_vigild_start(&d);
    char topic[128];
    json_t *m = recv_topic(&d, "health.long", 8000, topic, sizeof(topic));
    cr_assert_not_null(m, "no health message for a camera with a long URL");
    cr_assert_str_eq(json_string_value(json_object_get(m, "state")), "connecting");
    const char *url = json_string_value(json_object_get(m, "url"));
    cr_assert(url && strlen(url) < 300 && strstr(url, "...") && !strncmp(url, "rtsp://127.0.0.1:1/abc", 22),
              "url cut and marked: %s", url);
    json_decref(m);
    m = recv_topic(&d, "health.long", 8000, topic, sizeof(topic));
    cr_assert_not_null(m, "no second health message");
    json_decref(m);
    m = recv_topic(&d, "stats", 4000, topic, sizeof(topic));
    cr_assert_not_null(m);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(m, "dropped"), "publish")), 0);
    json_decref(m);
    cr_assert_eq(vg_test_vigild_stop(&d, SIGTERM, 10000), 0);
}

Test(losses, status_forgets_cameras_removed_by_a_reload_and_log_level_applies, .timeout = 90)
{
    daemon_t d;
    vg_test_vigild_prepare(&d, "reload");
    char cams[4096];
    const char *clip = vg_test_footage("vtest.avi");
    snprintf(cams, sizeof(cams), "  a:\n    url: %s\n    loop: true\n  b:\n    url: %s\n    loop: true\n", clip, clip);
    write_config(&d, "  log_level: error\n", cams);
    vg_test_vigild_start(&d);
    char topic[128];
    bool a = false, b = false;
    long long end = vg_test_now_ms() + 15000;
    while (vg_test_now_ms() < end && !(a && b)) {
        json_t *m = recv_topic(&d, "stats", 1000, topic, sizeof(topic));
        const char *c = m ? json_string_value(json_object_get(m, "camera")) : NULL;
        a = a || (c && !strcmp(c, "a"));
        b = b || (c && !strcmp(c, "b"));
        json_decref(m);
    }
    cr_assert(a && b);
    char *status = status_json();
    cr_assert(strstr(status, "\"camera\":\"b\""), "%s", status);
    free(status);
    snprintf(cams, sizeof(cams), "  a:\n    url: %s\n    loop: true\n", clip);
    write_config(&d, "  log_level: info\n", cams);
    kill(d.proc.pid, SIGHUP);
    /* two stats rounds after the reload */
    int rounds = 0;
    end = vg_test_now_ms() + 10000;
    while (vg_test_now_ms() < end && rounds < 2) {
        json_t *m = recv_topic(&d, "stats", 1000, topic, sizeof(topic));
        rounds += m != NULL;
        json_decref(m);
    }
    status = status_json();
    cr_assert(strstr(status, "\"camera\":\"a\""), "%s", status);
    cr_assert_null(strstr(status, "\"camera\":\"b\""), "a removed camera is still listed: %s", status);
    free(status);
    const char *err = vg_test_vigild_stderr(&d);
    cr_assert(strstr(err, "log_level error -> info"), "the change is said: %s", err);
    cr_assert(strstr(err, "reloaded"), "the new level (info) is applied: %s", err);
    cr_assert_eq(vg_test_vigild_stop(&d, SIGTERM, 10000), 0);
}

/* ------------------------------------------------------------- catch-up */

Test(losses, since_answers_what_is_in_the_log_and_says_what_is_gone, .timeout = 60)
{
    daemon_t d;
    vg_test_vigild_prepare(&d, "gap");
    char cams[4096];
    snprintf(cams, sizeof(cams), "  a:\n    url: %s\n    loop: true\n", vg_test_footage("vtest.avi"));
    write_config(&d, "  catchup_messages: 5\n", cams);
    vg_test_vigild_start(&d);
    char topic[128];
    long long last = 0;
    long long end = vg_test_now_ms() + 15000;
    while (vg_test_now_ms() < end && last < 20) {
        json_t *m = vg_test_recv_json(d.sub, 1000, topic, sizeof(topic));
        if (m)
            last = json_integer_value(json_object_get(m, "seq"));
        json_decref(m);
    }
    cr_assert_geq(last, 20);
    char *parts[16] = {NULL};
    int n = control_request("since a 1", parts, 16);
    cr_assert_geq(n, 6, "a header and the 5 messages of the log");
    json_error_t e;
    json_t *h = json_loads(parts[0], 0, &e);
    cr_assert_not_null(h, "%s", parts[0]);
    json_t *gap = json_object_get(h, "gap");
    cr_assert_not_null(gap, "messages 2.. are gone and the answer says so: %s", parts[0]);
    long long newest = json_integer_value(json_object_get(h, "last"));
    cr_assert_eq(json_integer_value(json_object_get(gap, "from")), 2);
    cr_assert_eq(json_integer_value(json_object_get(gap, "to")), newest - 5);
    cr_assert_eq(json_integer_value(json_object_get(h, "count")), 5);
    cr_assert_eq(n, 6);
    for (int i = 1; i < n; i++) {
        json_t *m = json_loads(parts[i], 0, &e);
        cr_assert_not_null(m, "%s", parts[i]);
        cr_assert_eq(json_integer_value(json_object_get(m, "seq")), newest - 5 + i, "in order: %s", parts[i]);
        cr_assert_str_eq(json_string_value(json_object_get(m, "camera")), "a");
        json_decref(m);
    }
    json_decref(h);
    for (int i = 0; i < n; i++)
        free(parts[i]);
    /* nothing missed, nothing to send; an unknown camera and a bad request */
    char req[64];
    snprintf(req, sizeof(req), "since a %lld", newest + 1000);
    n = control_request(req, parts, 16);
    cr_assert_eq(n, 1);
    cr_assert(strstr(parts[0], "\"count\":0") && !strstr(parts[0], "gap"), "%s", parts[0]);
    free(parts[0]);
    n = control_request("since nobody 0", parts, 16);
    cr_assert(n == 1 && strstr(parts[0], "\"error\""), "%s", parts[0]);
    free(parts[0]);
    n = control_request("since a", parts, 16);
    cr_assert(n == 1 && strstr(parts[0], "since <camera> <seq>"), "%s", parts[0]);
    free(parts[0]);
    cr_assert_eq(vg_test_vigild_stop(&d, SIGTERM, 10000), 0);
}

/* Starts `vigil events ARGS > out` (through sh, exec'd: the pid is vigil's). */
static void spawn_events(vg_test_proc_t *p, const char *args, const char *out)
{
    char bin[4096], cmd[8192];
    vg_test_build_path("tools/vigil", bin, sizeof(bin));
    snprintf(cmd, sizeof(cmd), "exec %s events %s > %s", bin, args, out);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    cr_assert_eq(vg_test_spawn(argv, p), 0);
}

/* Reads camera a's seqs from a file of JSON lines (a torn last line, from a
 * kill -9, is left out); returns how many. */
static int read_seqs(const char *path, long long *seqs, int max)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    static char line[262144];
    int n = 0;
    while (n < max && fgets(line, sizeof(line), f)) {
        if (!strchr(line, '\n'))
            break;
        json_error_t e;
        json_t *m = json_loads(line, 0, &e);
        cr_assert_not_null(m, "not JSON: %s", line);
        if (!strcmp(json_string_value(json_object_get(m, "camera")), "a"))
            seqs[n++] = json_integer_value(json_object_get(m, "seq"));
        json_decref(m);
    }
    fclose(f);
    return n;
}

Test(losses, a_subscriber_killed_and_restarted_misses_nothing, .timeout = 90)
{
    daemon_t d;
    vg_test_vigild_prepare(&d, "resume");
    char cams[4096];
    snprintf(cams, sizeof(cams), "  a:\n    url: %s\n    loop: true\n    analysis_fps: 10\n",
             vg_test_footage("vtest.avi"));
    write_config(&d, NULL, cams);
    vg_test_vigild_start(&d);
    char topic[128];
    json_t *m = recv_topic(&d, "det.a", 15000, topic, sizeof(topic));
    cr_assert_not_null(m, "camera a runs");
    json_decref(m);
    char out1[256], out2[256], args[1024];
    snprintf(out1, sizeof(out1), "%s/events1.jsonl", d.dir);
    snprintf(out2, sizeof(out2), "%s/events2.jsonl", d.dir);
    snprintf(args, sizeof(args), "--resume --endpoint %s --control %s", d.endpoint, control_ep);
    vg_test_proc_t p1, p2;
    spawn_events(&p1, args, out1);
    usleep(3000 * 1000);
    kill(p1.pid, SIGKILL);
    vg_test_wait(&p1, 5000);
    static long long s1[100000], s2[100000];
    int n1 = read_seqs(out1, s1, 100000);
    cr_assert_gt(n1, 20, "the first subscriber printed");
    /* messages go out while nobody listens */
    usleep(2000 * 1000);
    snprintf(args, sizeof(args), "--endpoint %s --control %s --since a=%lld", d.endpoint, control_ep, s1[n1 - 1]);
    spawn_events(&p2, args, out2);
    usleep(3000 * 1000);
    vg_test_stop(&p2, SIGTERM, 5000);
    int n2 = read_seqs(out2, s2, 100000);
    cr_assert_gt(n2, 40, "the second caught up and went on");
    for (int i = 1; i < n1; i++)
        cr_assert_eq(s1[i], s1[i - 1] + 1, "first run: seq %lld after %lld", s1[i], s1[i - 1]);
    cr_assert_eq(s2[0], s1[n1 - 1] + 1, "the restart begins right after the last seq printed");
    for (int i = 1; i < n2; i++)
        cr_assert_eq(s2[i], s2[i - 1] + 1, "second run: seq %lld after %lld", s2[i], s2[i - 1]);
    cr_assert_eq(vg_test_vigild_stop(&d, SIGTERM, 10000), 0);
}

/* ------------------------------------------------------- --check-config */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* A TCP listener on 127.0.0.1 (a port in use); returns its fd, port in *port. */
static int listen_somewhere(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(fd, 4), 0);
    socklen_t l = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &l);
    *port = ntohs(a.sin_port);
    return fd;
}

/* Runs vigild --check-config on text; returns its exit status, stderr in err. */
static int check_config(const char *dir, const char *text, char *err, size_t errlen)
{
    char path[512], bin[4096];
    snprintf(path, sizeof(path), "%s/check.yaml", dir);
    vg_test_write_file(path, text);
    vg_test_build_path("daemon/vigild", bin, sizeof(bin));
    char *argv[] = {bin, "--check-config", path, NULL};
    vg_test_proc_t p;
    cr_assert_eq(vg_test_spawn(argv, &p), 0);
    int st = vg_test_wait(&p, 30000);
    err[0] = '\0';
    vg_test_read_stderr(&p, err, errlen);
    vg_test_stop(&p, SIGKILL, 1000);
    return st;
}

Test(losses, check_config_checks_endpoints_and_model_files, .timeout = 120)
{
    daemon_t d;
    vg_test_vigild_prepare(&d, "check");
    const char *cache = getenv("VIGIL_CACHE_DIR");
    cr_assert_not_null(cache);
    int busy_port, busy = listen_somewhere(&busy_port);
    char busy_ep[64], busy_http[64];
    snprintf(busy_ep, sizeof(busy_ep), "tcp://127.0.0.1:%d", busy_port);
    snprintf(busy_http, sizeof(busy_http), "127.0.0.1:%d", busy_port);
    /* line numbers below count from this template */
    static const char tmpl[] = "daemon:\n"                 /* 1 */
                               "  state_dir: %s\n"         /* 2 */
                               "  publish: %s\n"           /* 3 */
                               "  control: ipc://%s/ctl\n" /* 4 */
                               "  metrics: \"%s\"\n"       /* 5 */
                               "models:\n"                 /* 6 */
                               "  det:\n"                  /* 7 */
                               "    path: %s\n"            /* 8 */
                               "    head: %s\n"            /* 9 */
                               "    input: [416, 416]\n"   /* 10 */
                               "%s"                        /* 11: extra model keys */
                               "cameras:\n  a:\n    url: /dev/null\n    detect: { model: det }\n";
    char pub[256], text[8192], err[8192];
    snprintf(pub, sizeof(pub), "ipc://%s/pub", d.dir);
    struct {
        const char *publish, *metrics, *path, *head, *extra, *expect;
    } cases[] = {
        {pub, "", "models/nanodet.onnx", "nanodet", "", NULL},
        {pub, "127.0.0.1:0", "models/nanodet.onnx", "nanodet", "    color: rgb\n    letterbox: true\n", NULL},
        /* item 7: a written value that contradicts the manifest */
        {pub, "", "models/nanodet.onnx", "nanodet", "    color: bgr\n", ":11: models.det.color: 'bgr', but the manifest"},
        {pub, "", "models/nanodet.onnx", "nanodet", "    letterbox: false\n", ":11: models.det.letterbox: false, but"},
        {pub, "", "models/nanodet.onnx", "classifier", "", ":9: models.det.head: 'classifier', but the manifest"},
        /* item 8: files */
        {pub, "", "models/missing.onnx", "nanodet", "", ":8: models.det.path: cannot read '"},
        {pub, "", "models/coco80.txt", "nanodet", "", ":8: models.det.path: cannot load '"},
        /* item 8: endpoints */
        {"ipc:///nonexistent-vigil-dir/pub", "", "models/nanodet.onnx", "nanodet", "",
         ":3: daemon.publish: the folder '/nonexistent-vigil-dir' of 'ipc:///nonexistent-vigil-dir/pub' does not exist"},
        {busy_ep, "", "models/nanodet.onnx", "nanodet", "", ":3: daemon.publish: cannot bind 'tcp://127.0.0.1:"},
        {pub, busy_http, "models/nanodet.onnx", "nanodet", "", ":5: daemon.metrics: cannot listen on '127.0.0.1:"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(text, sizeof(text), tmpl, cache, cases[i].publish, d.dir, cases[i].metrics, cases[i].path,
                 cases[i].head, cases[i].extra);
        int st = check_config(d.dir, text, err, sizeof(err));
        if (!cases[i].expect) {
            cr_expect_eq(st, 0, "case %zu refused: %s", i, err);
            continue;
        }
        cr_expect_eq(st, 1, "case %zu passed, wanted '%s'", i, cases[i].expect);
        cr_expect(strstr(err, "/check.yaml") && strstr(err, cases[i].expect), "case %zu: wanted '%s', got: %s", i,
                  cases[i].expect, err);
    }
    close(busy);
    vg_test_vigild_stop(&d, SIGTERM, 1000);
}

/* ------------------------------------------------------------- metrics */

#include <fcntl.h>
#include <poll.h>

/* A TCP connection from src (e.g. "127.0.0.2") to 127.0.0.1:port that has
 * sent only the start of a request: a slow client. */
static int slow_client(const char *src, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in from = {.sin_family = AF_INET}, to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, src, &from.sin_addr);
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    cr_assert_eq(bind(fd, (struct sockaddr *)&from, sizeof(from)), 0, "bind %s", src);
    cr_assert_eq(connect(fd, (struct sockaddr *)&to, sizeof(to)), 0);
    cr_assert_eq(write(fd, "GET /met", 8), 8);
    return fd;
}

/* GET /metrics from 127.0.0.1 within timeout_ms: true when an HTTP answer
 * came (503 before vigild's first snapshot counts: it was served). */
static bool metrics_answer(int port, int timeout_ms)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    connect(fd, (struct sockaddr *)&to, sizeof(to));
    long long end = vg_test_now_ms() + timeout_ms;
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    bool ok = false;
    if (poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLOUT)) {
        const char *req = "GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n";
        if (write(fd, req, strlen(req)) == (ssize_t)strlen(req)) {
            char buf[64] = "";
            size_t have = 0;
            while (have < 12 && vg_test_now_ms() < end) {
                p = (struct pollfd){.fd = fd, .events = POLLIN};
                if (poll(&p, 1, (int)(end - vg_test_now_ms())) != 1)
                    break;
                ssize_t n = read(fd, buf + have, sizeof(buf) - 1 - have);
                if (n <= 0)
                    break;
                have += (size_t)n;
            }
            buf[have] = '\0';
            ok = strncmp(buf, "HTTP/1.0 ", 9) == 0 || strncmp(buf, "HTTP/1.1 ", 9) == 0;
        }
    }
    close(fd);
    return ok;
}

Test(losses, slow_clients_cannot_shut_out_metrics, .timeout = 60)
{
    daemon_t d;
    vg_test_vigild_prepare(&d, "slowloris");
    char cams[1024];
    snprintf(cams, sizeof(cams), "  a:\n    url: %s\n    loop: true\n", vg_test_footage("vtest.avi"));
    write_config(&d, "  metrics: 127.0.0.1:0\n", cams);
    vg_test_vigild_start(&d);
    int port = 0;
    long long end = vg_test_now_ms() + 10000;
    while (!port && vg_test_now_ms() < end) {
        const char *p = strstr(vg_test_vigild_stderr(&d), "metrics on port ");
        if (p)
            port = atoi(p + strlen("metrics on port "));
        else
            usleep(100 * 1000);
    }
    cr_assert_gt(port, 0, "%s", d.err);
    cr_assert(metrics_answer(port, 3000));
    /* 40 slow clients on other addresses of the loopback */
    int slow[40];
    char src[32];
    for (int i = 0; i < 40; i++) {
        snprintf(src, sizeof(src), "127.0.0.%d", 2 + i % 5);
        slow[i] = slow_client(src, port);
    }
    usleep(300 * 1000);
    cr_assert(metrics_answer(port, 2000), "40 slow connections shut /metrics out");
    /* silent ones from the scraper's own address fill its share (16) and
     * are timed out (10 s of nothing) */
    int own[16];
    for (int i = 0; i < 16; i++)
        own[i] = slow_client("127.0.0.1", port);
    usleep(300 * 1000);
    long long t0 = vg_test_now_ms();
    bool ok = false;
    while (!ok && vg_test_now_ms() - t0 < 20000)
        ok = metrics_answer(port, 1000);
    cr_assert(ok, "slow connections are never timed out");
    cr_assert_lt(vg_test_now_ms() - t0, 14000, "a slow connection lasted %lld ms", vg_test_now_ms() - t0);
    for (int i = 0; i < 40; i++)
        close(slow[i]);
    for (int i = 0; i < 16; i++)
        close(own[i]);
    cr_assert_eq(vg_test_vigild_stop(&d, SIGTERM, 10000), 0);
}

/* ---------------------------------------------------------------- CURVE */

/* Runs `vigil ARGS` to completion; returns its status. */
static int run_vigil(const char *args)
{
    char bin[4096], cmd[8192];
    vg_test_build_path("tools/vigil", bin, sizeof(bin));
    snprintf(cmd, sizeof(cmd), "%s %s > /dev/null", bin, args);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Lines `vigil events` wrote into path. */
static int count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int n = 0, ch;
    while ((ch = fgetc(f)) != EOF)
        n += ch == '\n';
    fclose(f);
    return n;
}

Test(losses, curve_lets_in_only_allowed_client_keys, .timeout = 90)
{
    daemon_t d;
    vg_test_vigild_prepare(&d, "curve");
    char keys[256], clients[256], args[2048], cams[1024], extra[1024];
    snprintf(keys, sizeof(keys), "%s/keys", d.dir);
    snprintf(clients, sizeof(clients), "%s/clients", d.dir);
    cr_assert_eq(mkdir(keys, 0700), 0);
    cr_assert_eq(mkdir(clients, 0700), 0);
    snprintf(args, sizeof(args), "keygen vigild --dir %s", keys);
    cr_assert_eq(run_vigil(args), 0);
    snprintf(args, sizeof(args), "keygen alice --dir %s", keys);
    cr_assert_eq(run_vigil(args), 0);
    snprintf(args, sizeof(args), "keygen mallory --dir %s", keys);
    cr_assert_eq(run_vigil(args), 0);
    cr_assert_neq(run_vigil(args), 0, "keygen must not overwrite a key");
    char cp[1024];
    snprintf(cp, sizeof(cp), "cp %s/alice.pub %s/", keys, clients);
    cr_assert_eq(system(cp), 0);
    struct stat st;
    snprintf(cp, sizeof(cp), "%s/alice.key", keys);
    cr_assert_eq(stat(cp, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600, "the key pair is private");
    snprintf(extra, sizeof(extra), "  http: 127.0.0.1:0\n  curve:\n    secret_key_file: %s/vigild.key\n    clients: %s\n",
             keys, clients);
    snprintf(cams, sizeof(cams), "  a:\n    url: %s\n    loop: true\n", vg_test_footage("vtest.avi"));
    write_config(&d, extra, cams);
    /* the test's own plain subscriber (vg_test_vigild) is one that gets nothing */
    vg_test_vigild_start(&d);
    char out[4][256];
    vg_test_proc_t p[4];
    const char *who[4] = {"alice", "mallory", "plain", "wrong-server"};
    for (int i = 0; i < 4; i++) {
        snprintf(out[i], sizeof(out[i]), "%s/%s.jsonl", d.dir, who[i]);
        if (i == 0 || i == 1)
            snprintf(args, sizeof(args), "--endpoint %s --server-key %s/vigild.pub --key %s/%s.key", d.endpoint, keys,
                     keys, who[i]);
        else if (i == 2)
            snprintf(args, sizeof(args), "--endpoint %s", d.endpoint);
        else /* alice's key, but she takes mallory for the server */
            snprintf(args, sizeof(args), "--endpoint %s --server-key %s/mallory.pub --key %s/alice.key", d.endpoint,
                     keys, keys);
        spawn_events(&p[i], args, out[i]);
    }
    usleep(4000 * 1000);
    for (int i = 0; i < 4; i++)
        vg_test_stop(&p[i], SIGTERM, 5000);
    cr_assert_gt(count_lines(out[0]), 10, "the allowed client receives");
    /* vigild's own web UI subscribes with the daemon's key pair: its event
     * stream still carries messages (events of the looping clip) */
    const char *mp = strstr(vg_test_vigild_stderr(&d), "metrics on port ");
    cr_assert_not_null(mp, "%s", d.err);
    int port = atoi(mp + strlen("metrics on port "));
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    cr_assert_eq(connect(fd, (struct sockaddr *)&to, sizeof(to)), 0);
    const char *req = "GET /api/events/stream HTTP/1.0\r\nLast-Event-ID: 0\r\n\r\n";
    cr_assert_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    static char sse[65536];
    size_t have = 0;
    long long sse_end = vg_test_now_ms() + 5000;
    while (vg_test_now_ms() < sse_end && have + 1 < sizeof(sse) && !strstr(sse, "data: {\"topic\":")) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, 200) != 1)
            continue;
        ssize_t n = read(fd, sse + have, sizeof(sse) - 1 - have);
        if (n <= 0)
            break;
        have += (size_t)n;
        sse[have] = '\0';
    }
    close(fd);
    cr_assert(strstr(sse, "data: {\"topic\":"), "the web UI's stream is empty under CURVE: %s", sse);
    for (int i = 1; i < 4; i++)
        cr_assert_eq(count_lines(out[i]), 0, "%s received something", who[i]);
    char topic[64];
    cr_assert_null(vg_test_recv_json(d.sub, 500, topic, sizeof(topic)), "a plain SUB received %s", topic);
    /* --check-config reads the key pair */
    char text[2048], err[4096];
    snprintf(text, sizeof(text), "daemon:\n  publish: ipc://%s/p2\n  control: \"\"\n  curve:\n    secret_key_file: %s/alice.pub\n"
             "    clients: %s\n", d.dir, keys, clients);
    cr_assert_eq(check_config(d.dir, text, err, sizeof(err)), 1);
    cr_assert(strstr(err, ":5: daemon.curve.secret_key_file: no secret key in '"), "%s", err);
    /* the control socket: only alice gets an answer */
    char bin[4096], cmd[8192];
    vg_test_build_path("tools/vigil", bin, sizeof(bin));
    snprintf(cmd, sizeof(cmd), "%s status --endpoint %s --server-key %s/vigild.pub --key %s/alice.key --json > %s/st",
             bin, control_ep, keys, keys, d.dir);
    cr_assert_eq(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "%s/st", d.dir);
    cr_assert_eq(count_lines(cmd), 1);
    snprintf(cmd, sizeof(cmd), "%s status --endpoint %s --server-key %s/vigild.pub --key %s/mallory.key --json "
             "> /dev/null 2>&1", bin, control_ep, keys, keys);
    cr_assert_neq(system(cmd), 0, "mallory got a status");
    snprintf(cmd, sizeof(cmd), "%s status --endpoint %s --json > /dev/null 2>&1", bin, control_ep);
    cr_assert_neq(system(cmd), 0, "a plain client got a status");
    /* adding a key needs no restart */
    snprintf(cp, sizeof(cp), "cp %s/mallory.pub %s/", keys, clients);
    cr_assert_eq(system(cp), 0);
    snprintf(cmd, sizeof(cmd), "%s status --endpoint %s --server-key %s/vigild.pub --key %s/mallory.key --json "
             "> /dev/null 2>&1", bin, control_ep, keys, keys);
    cr_assert_eq(system(cmd), 0, "a key added to the folder is let in");
    cr_assert_eq(vg_test_vigild_stop(&d, SIGTERM, 10000), 0);
}
