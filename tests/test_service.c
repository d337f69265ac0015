/* vigild as a service (issue 6), end to end with the real daemon:
 *  - sd_notify: a NOTIFY_SOCKET of our own sees READY, WATCHDOG pings,
 *    RELOADING/READY around SIGHUP and STOPPING on SIGTERM, in order; a
 *    stalled pipeline (VIGIL_DEBUG_STALL_WORKERS) stops the pings;
 *  - reconnect: a GStreamer RTSP server killed, stopped and restarted on the
 *    same port: health goes stalled/reconnecting -> streaming and analysis
 *    resumes every time, while a file camera's seq rises without a gap;
 *  - metrics: GET /metrics over a real socket agrees with the stats topic;
 *  - the journal: failing and recovering cameras are logged once, with
 *    their reasons and without URL passwords.
 * No assertion here is on wall-clock time: waits are bounded, but what is
 * checked is order and counts. */
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <jansson.h>
#include <zmq.h>

#include "vg_test_vigild.h"

/* ------------------------------------------------------------ the daemon */

typedef vg_test_vigild_t daemon_t;

/* Binds a unix datagram socket as systemd does for Type=notify, with
 * SO_PASSCRED so that each message says which process sent it, and points
 * NOTIFY_SOCKET at it (the daemon inherits our environment). */
static void notify_bind(daemon_t *d, int watchdog_ms)
{
    snprintf(d->notify, sizeof(d->notify), "%s/notify", d->dir);
    d->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(d->notify_fd, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", d->notify);
    cr_assert_eq(bind(d->notify_fd, (struct sockaddr *)&a, sizeof(a)), 0, "bind %s: %s", d->notify, strerror(errno));
    int one = 1;
    cr_assert_eq(setsockopt(d->notify_fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
    setenv("NOTIFY_SOCKET", d->notify, 1);
    char us[32];
    snprintf(us, sizeof(us), "%d", watchdog_ms * 1000);
    setenv("WATCHDOG_USEC", us, 1);
    /* sd_watchdog_enabled() accepts a missing WATCHDOG_PID; we cannot know
     * vigild's pid before it starts */
    unsetenv("WATCHDOG_PID");
}

static int count_in(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* Ends a test's vigild whatever state it is in (it may have stopped). */
static void daemon_cleanup(daemon_t *d) { vg_test_vigild_stop(d, SIGKILL, 5000); }

/* ------------------------------------------------------------ sd_notify */

typedef struct {
    char lines[4096][64]; /* every notify line, in arrival order (truncated) */
    int n;
    int wrong_sender;     /* messages from another pid than vigild's */
} notes_t;

/* Receives notify datagrams for up to ms (or until one carries `until`),
 * appending their lines. Returns true when `until` arrived. */
static bool notes_collect(daemon_t *d, notes_t *nt, int ms, const char *until)
{
    long long end = vg_test_now_ms() + ms;
    while (vg_test_now_ms() < end) {
        struct pollfd p = {.fd = d->notify_fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            continue;
        char buf[4096];
        union {
            struct cmsghdr h;
            char space[CMSG_SPACE(sizeof(struct ucred))];
        } ctl;
        struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf) - 1};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = &ctl, .msg_controllen = sizeof(ctl)};
        ssize_t n = recvmsg(d->notify_fd, &mh, MSG_DONTWAIT);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
            struct ucred cr;
            memcpy(&cr, CMSG_DATA(c), sizeof(cr));
            if (cr.pid != d->proc.pid)
                nt->wrong_sender++;
        }
        bool hit = false;
        for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            cr_assert_lt(nt->n, 4096);
            snprintf(nt->lines[nt->n++], sizeof(nt->lines[0]), "%s", line);
            if (until && strcmp(line, until) == 0)
                hit = true;
        }
        if (hit)
            return true;
    }
    return false;
}

static int notes_find(const notes_t *nt, const char *line, int from)
{
    for (int i = from; i < nt->n; i++)
        if (strcmp(nt->lines[i], line) == 0)
            return i;
    return -1;
}

static int notes_count(const notes_t *nt, const char *line, int from, int to)
{
    int k = 0;
    for (int i = from; i < to && i < nt->n; i++)
        k += strcmp(nt->lines[i], line) == 0;
    return k;
}

static void write_street(daemon_t *d, const char *extra)
{
    char text[8192];
    snprintf(text, sizeof(text),
             "daemon:\n  publish: %s\n  control: \"\"\n  stats_interval: 500ms\n"
             "cameras:\n  street:\n    url: %s\n    realtime: true\n    loop: true\n    analysis_fps: 5\n%s",
             d->endpoint, vg_test_footage("vtest.avi"), extra ? extra : "");
    vg_test_write_file(d->config, text);
}

/* READY=1 waits until every camera has opened (street, a file) or failed
 * for a reason (ghost: nothing listens on port 9, it goes reconnecting):
 * the STATUS= sent with READY=1 already counts street as streaming. */
Test(service, sd_notify_ready_watchdog_reload_stopping_in_order, .timeout = 120)
{
    static daemon_t d;
    static notes_t nt;
    vg_test_vigild_prepare(&d, "svc");
    write_street(&d, "  ghost:\n    url: rtsp://127.0.0.1:9/none\n    analysis_fps: 5\n    timeout: 1s\n");
    notify_bind(&d, 1000); /* WatchdogSec=1s: a ping every 500 ms */
    vg_test_vigild_start(&d);

    cr_assert(notes_collect(&d, &nt, 30000, "READY=1"), "no READY=1; stderr: %s", vg_test_vigild_stderr(&d));
    int ready = notes_find(&nt, "READY=1", 0);
    notes_collect(&d, &nt, 1000, NULL);
    int status_at_ready = -1;
    for (int i = ready; i < nt.n && status_at_ready < 0; i++)
        if (!strncmp(nt.lines[i], "STATUS=", 7))
            status_at_ready = i;
    cr_assert_geq(status_at_ready, 0, "a STATUS= with READY=1");
    cr_assert(!strncmp(nt.lines[status_at_ready], "STATUS=1/2 cameras streaming", 28),
              "at READY=1 the file camera streams and the ghost does not: %s", nt.lines[status_at_ready]);
    cr_assert(strstr(vg_test_vigild_stderr(&d), "ready after"), "vigild logs when it is ready: %s", d.err);
    /* three pings while running */
    for (int k = 0; k < 60 && notes_count(&nt, "WATCHDOG=1", ready, nt.n) < 3; k++)
        notes_collect(&d, &nt, 500, NULL);
    cr_assert_geq(notes_count(&nt, "WATCHDOG=1", ready, nt.n), 3, "watchdog pings after READY; stderr: %s",
                  vg_test_vigild_stderr(&d));
    cr_assert_eq(notes_count(&nt, "WATCHDOG=1", 0, ready), 0, "no ping before READY=1");
    bool status = false;
    for (int i = 0; i < nt.n; i++)
        status |= strncmp(nt.lines[i], "STATUS=", 7) == 0 && strstr(nt.lines[i], "cameras streaming");
    cr_assert(status, "a STATUS= summary");

    int before_hup = nt.n;
    kill(d.proc.pid, SIGHUP);
    cr_assert(notes_collect(&d, &nt, 30000, "RELOADING=1"), "no RELOADING=1 after SIGHUP");
    int reloading = notes_find(&nt, "RELOADING=1", before_hup);
    cr_assert(notes_find(&nt, "READY=1", reloading) > reloading || notes_collect(&d, &nt, 30000, "READY=1"),
              "no READY=1 after RELOADING=1");
    int ready2 = notes_find(&nt, "READY=1", reloading);
    cr_assert_gt(ready2, reloading);
    for (int k = 0; k < 60 && notes_count(&nt, "WATCHDOG=1", ready2, nt.n) < 2; k++)
        notes_collect(&d, &nt, 500, NULL);
    cr_assert_geq(notes_count(&nt, "WATCHDOG=1", ready2, nt.n), 2, "pings go on after the reload");

    int before_term = nt.n;
    kill(d.proc.pid, SIGTERM);
    cr_assert(notes_collect(&d, &nt, 30000, "STOPPING=1"), "no STOPPING=1 after SIGTERM");
    int stopping = notes_find(&nt, "STOPPING=1", before_term);
    cr_assert_eq(vg_test_wait(&d.proc, 20000), 0, "vigild exits 0 after SIGTERM; stderr: %s", vg_test_vigild_stderr(&d));
    notes_collect(&d, &nt, 200, NULL); /* whatever was still queued */
    cr_assert_eq(notes_count(&nt, "WATCHDOG=1", stopping, nt.n), 0, "no ping after STOPPING=1");
    cr_assert_eq(notes_count(&nt, "READY=1", 0, nt.n), 2, "READY=1 at start and after the reload only");
    cr_assert_eq(nt.wrong_sender, 0, "every notification comes from vigild itself");
    daemon_cleanup(&d);
}

/* The hooks make every worker (or the publisher thread) stop 2 s after
 * start; that must stop the pings (systemd would then kill and restart
 * vigild). Checked by order, not by time: after the first "withholding" log
 * line, no ping may arrive while vigild logs three more of them. */
static void stalled_stops_the_pings(const char *hook, const char *why)
{
    static daemon_t d;
    static notes_t nt;
    vg_test_vigild_prepare(&d, "svc");
    write_street(&d, NULL);
    notify_bind(&d, 1000);
    setenv(hook, "2", 1);
    vg_test_vigild_start(&d);
    unsetenv(hook);

    cr_assert(notes_collect(&d, &nt, 30000, "READY=1"), "no READY=1; stderr: %s", vg_test_vigild_stderr(&d));
    const char *withhold = "withholding the watchdog ping";
    long long end = vg_test_now_ms() + 60000;
    while (vg_test_now_ms() < end && count_in(vg_test_vigild_stderr(&d), withhold) < 1)
        notes_collect(&d, &nt, 100, NULL);
    cr_assert_geq(count_in(d.err, withhold), 1, "vigild never said it withholds the ping; stderr: %s", d.err);
    char expect[256];
    snprintf(expect, sizeof(expect), "%s; %s", why, withhold);
    cr_assert(strstr(d.err, expect), "the log names the stuck stage (%s): %s", why, d.err);
    /* every datagram sent before that line was written is queued by now */
    notes_collect(&d, &nt, 50, NULL);
    int pings_before = notes_count(&nt, "WATCHDOG=1", 0, nt.n);
    cr_assert_geq(pings_before, 1, "pings while the pipeline still moved");
    int mark = nt.n;
    while (vg_test_now_ms() < end && count_in(vg_test_vigild_stderr(&d), withhold) < 4)
        notes_collect(&d, &nt, 100, NULL);
    cr_assert_geq(count_in(d.err, withhold), 4, "vigild keeps checking; stderr: %s", d.err);
    cr_assert_eq(notes_count(&nt, "WATCHDOG=1", mark, nt.n), 0, "a ping while the pipeline was stuck");

    kill(d.proc.pid, SIGTERM);
    cr_assert(notes_collect(&d, &nt, 30000, "STOPPING=1"));
    cr_assert_eq(vg_test_wait(&d.proc, 20000), 0, "a stuck pipeline still stops cleanly");
    daemon_cleanup(&d);
}

Test(service, stalled_workers_stop_the_watchdog_pings, .timeout = 120)
{
    stalled_stops_the_pings("VIGIL_DEBUG_STALL_WORKERS", "workers made no progress with frames waiting");
}

Test(service, a_stalled_publisher_stops_the_watchdog_pings, .timeout = 120)
{
    stalled_stops_the_pings("VIGIL_DEBUG_STALL_PUBLISHER", "the publisher thread made no progress");
}

/* ------------------------------------------------------------ messages */

typedef struct {
    const char *name;
    long long first_seq, last_seq;
    int gaps;
    int det;
    int streaming, stalled, reconnecting; /* health reports of each state */
    int time_went_back;   /* det messages whose pts_time was below the one before */
    double last_pts_time;
    char state[32];
    json_t *last_stats; /* owned */
} cam_t;

static void account(cam_t *cams, int n, const char *topic, json_t *m)
{
    const char *camera = json_string_value(json_object_get(m, "camera"));
    cr_assert_not_null(camera);
    cam_t *c = NULL;
    for (int i = 0; i < n; i++)
        if (!strcmp(cams[i].name, camera))
            c = &cams[i];
    cr_assert_not_null(c, "unknown camera %s", camera);
    long long seq = json_integer_value(json_object_get(m, "seq"));
    if (c->last_seq && seq != c->last_seq + 1)
        c->gaps++;
    if (!c->first_seq)
        c->first_seq = seq;
    c->last_seq = seq;
    if (!strncmp(topic, "det.", 4)) {
        double t = json_number_value(json_object_get(m, "pts_time"));
        if (c->det && t < c->last_pts_time)
            c->time_went_back++;
        c->last_pts_time = t;
        c->det++;
    } else if (!strncmp(topic, "health.", 7)) {
        const char *st = json_string_value(json_object_get(m, "state"));
        cr_assert_not_null(st);
        cr_assert_not_null(json_string_value(json_object_get(m, "reason")));
        snprintf(c->state, sizeof(c->state), "%s", st);
        c->streaming += !strcmp(st, "streaming");
        c->stalled += !strcmp(st, "stalled");
        c->reconnecting += !strcmp(st, "reconnecting");
    } else if (!strcmp(topic, "stats")) {
        json_decref(c->last_stats);
        c->last_stats = json_incref(m);
    }
}

static void collect(daemon_t *d, cam_t *cams, int n, int ms, bool (*done)(cam_t *, void *), void *arg)
{
    long long end = vg_test_now_ms() + ms;
    while (vg_test_now_ms() < end && !(done && done(cams, arg))) {
        char topic[256];
        json_t *m = vg_test_recv_json(d->sub, 100, topic, sizeof(topic));
        if (!m)
            continue;
        account(cams, n, topic, m);
        json_decref(m);
    }
}

/* ------------------------------------------------------------ reconnect */

static void server_start(vg_test_proc_t *srv, int port, char *url, size_t urllen)
{
    char script[4096], ports[16];
    snprintf(script, sizeof(script), "%s/tests/servers/rtsp_server.py", VIGIL_SOURCE_DIR);
    snprintf(ports, sizeof(ports), "%d", port);
    char *argv[] = {"/usr/bin/python3", script, "--clip", (char *)vg_test_footage("vtest.mp4"), "--port", ports,
                    "--loop", "--max-seconds", "120", NULL};
    cr_assert_eq(vg_test_spawn(argv, srv), 0);
    char line[512];
    if (!vg_test_read_line(srv, "READY ", line, sizeof(line), 30000)) {
        char err[4096] = "";
        vg_test_read_stderr(srv, err, sizeof(err));
        vg_test_stop(srv, SIGKILL, 2000);
        cr_assert_fail("RTSP server did not start on port %d: %s", port, err);
    }
    snprintf(url, urllen, "%s", line + 6);
}

typedef struct {
    int det, streaming, stalled, reconnecting;
} net_mark_t;

static bool net_lost(cam_t *c, void *arg)
{
    const net_mark_t *m = arg;
    return c[0].reconnecting > m->reconnecting;
}

static bool net_stalled(cam_t *c, void *arg)
{
    const net_mark_t *m = arg;
    return c[0].stalled > m->stalled && c[0].reconnecting > m->reconnecting;
}

/* back: health says streaming again, and a few frames were analysed since */
static bool net_back(cam_t *c, void *arg)
{
    const net_mark_t *m = arg;
    return c[0].streaming > m->streaming && c[0].det >= m->det + 5;
}

/* Three outages of the RTSP camera "net": the server killed (SIGKILL: the
 * connection resets), the server frozen (SIGSTOP: the connection stays
 * open, nothing arrives: "stalled" after the camera's timeout), the server
 * stopped cleanly (SIGTERM). Each time it comes back on the same port, and
 * "net" must stream and be analysed again; "file" must not notice. */
Test(service, rtsp_camera_reconnects_three_times_and_the_file_camera_never_gaps, .timeout = 180)
{
    static daemon_t d;
    vg_test_vigild_prepare(&d, "svc");
    vg_test_proc_t srv;
    char url[512];
    server_start(&srv, 0, url, sizeof(url));
    int port = 0;
    cr_assert_eq(sscanf(strrchr(url, ':') + 1, "%d", &port), 1, "url %s", url);
    char text[8192];
    snprintf(text, sizeof(text),
             "daemon:\n  publish: %s\n  control: \"\"\n  stats_interval: 1s\n"
             "cameras:\n"
             "  net:\n    url: %s\n    analysis_fps: 5\n    timeout: 2s\n"
             "  file:\n    url: %s\n    realtime: true\n    loop: true\n    analysis_fps: 5\n",
             d.endpoint, url, vg_test_footage("vtest.avi"));
    vg_test_write_file(d.config, text);
    vg_test_vigild_start(&d);
    cam_t cams[2] = {{.name = "net"}, {.name = "file"}};
    net_mark_t m = {0};
    collect(&d, cams, 2, 40000, net_back, &m);
    cr_assert(net_back(cams, &m), "net never streamed from %s (state %s); stderr: %s", url, cams[0].state,
              vg_test_vigild_stderr(&d));

    static const int how[3] = {SIGKILL, SIGSTOP, SIGTERM};
    static const char *name[3] = {"killed", "frozen", "stopped"};
    for (int k = 0; k < 3; k++) {
        m = (net_mark_t){cams[0].det, cams[0].streaming, cams[0].stalled, cams[0].reconnecting};
        int file_det = cams[1].det;
        kill(srv.pid, how[k]);
        if (how[k] == SIGSTOP) {
            collect(&d, cams, 2, 30000, net_stalled, &m);
            cr_assert(net_stalled(cams, &m), "outage %d (%s): no stalled+reconnecting (state %s)", k + 1, name[k],
                      cams[0].state);
        } else {
            collect(&d, cams, 2, 30000, net_lost, &m);
            cr_assert(net_lost(cams, &m), "outage %d (%s): no reconnecting (state %s)", k + 1, name[k],
                      cams[0].state);
        }
        vg_test_stop(&srv, SIGKILL, 5000); /* also ends a frozen one */
        char url2[512];
        server_start(&srv, port, url2, sizeof(url2));
        cr_assert_str_eq(url2, url, "the server came back on the same port");
        m.det = cams[0].det;
        m.streaming = cams[0].streaming;
        collect(&d, cams, 2, 40000, net_back, &m);
        cr_assert(net_back(cams, &m), "outage %d (%s): net did not come back (state %s, det %d -> %d)", k + 1,
                  name[k], cams[0].state, m.det, cams[0].det);
        cr_assert_gt(cams[1].det, file_det, "the file camera kept being analysed during outage %d", k + 1);
    }
    cr_assert_str_eq(cams[0].state, "streaming");
    cr_assert_geq(cams[0].reconnecting, 3);
    cr_assert_geq(cams[0].stalled, 1, "the frozen server was reported as stalled");
    cr_assert_eq(cams[1].gaps, 0, "the file camera's seq rose by one throughout");
    cr_assert_eq(cams[0].gaps, 0, "the network camera's seq rose by one throughout");
    /* each session of the server starts its timestamps again: the stream
     * time must not (a reconnect that went back in time left the camera
     * blind until the old time came round: issue 10 item 1) */
    cr_assert_eq(cams[0].time_went_back, 0, "pts_time went back %d times across the reconnects",
                 cams[0].time_went_back);
    cr_assert_eq(cams[1].time_went_back, 0, "the looping file's pts_time never goes back");
    cr_assert_eq(cams[1].reconnecting + cams[1].stalled, 0, "the file camera was not affected");
    /* stats agree: reconnects counted; the file camera streams on (its
     * first health reports may predate our subscription: stats repeat it) */
    collect(&d, cams, 2, 1500, NULL, NULL);
    cr_assert_not_null(cams[0].last_stats);
    cr_assert_not_null(cams[1].last_stats);
    cr_assert_str_eq(json_string_value(json_object_get(cams[1].last_stats, "state")), "streaming");
    cr_assert_geq(json_integer_value(json_object_get(cams[0].last_stats, "reconnects")), 3);
    cr_assert_eq(json_integer_value(json_object_get(cams[1].last_stats, "reconnects")), 0);
    vg_test_stop(&srv, SIGTERM, 5000);
    cr_assert_eq(vg_test_stop(&d.proc, SIGTERM, 20000), 0);
    json_decref(cams[0].last_stats);
    json_decref(cams[1].last_stats);
    daemon_cleanup(&d);
}

/* ------------------------------------------------------------ journal */

static bool late_back(cam_t *c, void *arg)
{
    (void)arg;
    return c[1].streaming > 0;
}

static bool late_retried(cam_t *c, void *arg)
{
    (void)arg;
    return c[1].reconnecting >= 3;
}

/* Lines of text that contain every one of a and b. */
static int lines_with(const char *text, const char *a, const char *b)
{
    int n = 0;
    for (const char *p = text; *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char line[2048];
        snprintf(line, sizeof(line), "%.*s", (int)len, p);
        n += strstr(line, a) && strstr(line, b);
        p += len + (eol ? 1 : 0);
    }
    return n;
}

/* The journal knows (issue 9): a camera whose file is missing is logged as
 * failed once, with the reason; an RTSP camera whose port refuses
 * connections is logged as reconnecting once, though it retries several
 * times, and once its server appears, as streaming again; the good camera
 * is not mentioned; the password in the RTSP URL never reaches the log. */
Test(service, failing_and_recovering_cameras_reach_the_log_once_with_their_reason, .timeout = 120)
{
    static daemon_t d;
    vg_test_vigild_prepare(&d, "jrn");
    /* a port that refuses: bound, then closed (the server takes it later) */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    int port = ntohs(a.sin_port);
    close(fd);
    char missing[256], text[8192];
    snprintf(missing, sizeof(missing), "%s/no-such-clip.mp4", d.dir);
    snprintf(text, sizeof(text),
             "daemon:\n  publish: %s\n  control: \"\"\n  stats_interval: 1s\n"
             "cameras:\n"
             "  gone:\n    url: %s\n"
             "  late:\n    url: rtsp://watcher:s3cr3t-pw@127.0.0.1:%d/cam\n    analysis_fps: 5\n    timeout: 2s\n"
             "  street:\n    url: %s\n    realtime: true\n    loop: true\n    analysis_fps: 5\n",
             d.endpoint, missing, port, vg_test_footage("vtest.avi"));
    vg_test_write_file(d.config, text);
    vg_test_vigild_start(&d);
    cam_t cams[3] = {{.name = "gone"}, {.name = "late"}, {.name = "street"}};
    collect(&d, cams, 3, 60000, late_retried, NULL);
    cr_assert(late_retried(cams, NULL), "late did not retry 3 times (state %s); stderr: %s", cams[1].state,
              vg_test_vigild_stderr(&d));
    vg_test_proc_t srv;
    char url[512];
    server_start(&srv, port, url, sizeof(url));
    collect(&d, cams, 3, 60000, late_back, NULL);
    cr_assert(late_back(cams, NULL), "late never streamed from %s (state %s); stderr: %s", url, cams[1].state,
              vg_test_vigild_stderr(&d));
    /* the lines were written before the health messages that we saw went
     * out; give the pipe a moment all the same */
    long long end = vg_test_now_ms() + 5000;
    while (vg_test_now_ms() < end && !lines_with(vg_test_vigild_stderr(&d), "camera 'late' is streaming again", ""))
        usleep(50000);
    const char *err = vg_test_vigild_stderr(&d);
    vg_test_stop(&srv, SIGTERM, 5000);
    cr_assert_eq(lines_with(err, "camera 'gone' failed: ", "no-such-clip.mp4"), 1,
                 "the missing file is logged once as failed, with its path; stderr: %s", err);
    cr_assert_eq(lines_with(err, "camera 'gone'", ""), 1, "and nothing else about it; stderr: %s", err);
    cr_assert_eq(lines_with(err, "camera 'late' is reconnecting: ", ""), 1,
                 "%d retries, one warning (the same reason within a minute); stderr: %s", cams[1].reconnecting, err);
    cr_assert_eq(lines_with(err, "camera 'late' is streaming again: ", "it was reconnecting: "), 1,
                 "the recovery is logged once, with what it recovered from; stderr: %s", err);
    cr_assert_eq(lines_with(err, "camera 'street'", ""), 0, "the good camera is not mentioned; stderr: %s", err);
    cr_assert_null(strstr(err, "s3cr3t-pw"), "the URL's password reached the log: %s", err);
    cr_assert_null(strstr(err, "watcher:"), "the URL's user reached the log: %s", err);
    cr_assert_eq(vg_test_stop(&d.proc, SIGTERM, 20000), 0);
    daemon_cleanup(&d);
}

/* ------------------------------------------------------------ metrics */

/* GET path over a plain socket; returns the HTTP status, body in body. */
static int http_get(int port, const char *path, char *body, size_t len)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0, "connect :%d: %s", port, strerror(errno));
    char req[256];
    int rl = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    cr_assert_eq(write(fd, req, (size_t)rl), rl);
    static char resp[1 << 20];
    size_t have = 0;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        cr_assert_gt(poll(&p, 1, 10000), 0, "no HTTP answer");
        ssize_t n = read(fd, resp + have, sizeof(resp) - 1 - have);
        cr_assert_geq(n, 0);
        if (n == 0)
            break;
        have += (size_t)n;
        cr_assert_lt(have, sizeof(resp) - 1, "answer too long");
    }
    close(fd);
    resp[have] = '\0';
    int status = 0;
    cr_assert_eq(sscanf(resp, "HTTP/1.%*d %d", &status), 1, "not HTTP: %.200s", resp);
    const char *b = strstr(resp, "\r\n\r\n");
    cr_assert_not_null(b);
    snprintf(body, len, "%s", b + 4);
    if (status == 200)
        cr_assert(strstr(resp, "Content-Type: text/plain; version=0.0.4"), "Prometheus content type: %.300s", resp);
    return status;
}

/* The value of the sample "series" (name{labels}) in a Prometheus page. */
static double sample(const char *page, const char *series)
{
    size_t l = strlen(series);
    for (const char *p = page; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (!strncmp(p, series, l) && p[l] == ' ')
            return strtod(p + l + 1, NULL);
    cr_assert_fail("no sample %s in:\n%.2000s", series, page);
    return NAN;
}

static bool has_family(const char *page, const char *name, const char *type)
{
    char want[256];
    snprintf(want, sizeof(want), "# TYPE %s %s\n", name, type);
    return strstr(page, want) != NULL;
}

static bool street_ended(cam_t *c, void *arg)
{
    (void)arg;
    return c[0].last_stats != NULL;
}

/* The clip replayed to its end (realtime: false), so every counter is final;
 * /metrics must then say exactly what the last stats message says. The
 * stats interval is an hour: the only stats message is the one vigild sends
 * when it stops, whose interval covers the whole run, so its latency
 * percentiles cover every frame of the histogram. */
Test(service, metrics_over_http_agree_with_the_stats_topic, .timeout = 120)
{
    static daemon_t d;
    vg_test_vigild_prepare(&d, "svc");
    char text[8192];
    snprintf(text, sizeof(text),
             "daemon:\n  publish: %s\n  control: \"\"\n  stats_interval: 1h\n  metrics: 127.0.0.1:0\n"
             "cameras:\n  street:\n    url: %s\n    realtime: false\n    analysis_fps: 5\n",
             d.endpoint, vg_test_footage("vtest.avi"));
    vg_test_write_file(d.config, text);
    vg_test_vigild_start(&d);
    int port = 0;
    long long end = vg_test_now_ms() + 20000;
    while (vg_test_now_ms() < end && !port) {
        const char *p = strstr(vg_test_vigild_stderr(&d), "metrics on port ");
        if (p)
            port = atoi(p + strlen("metrics on port "));
        else
            usleep(50000);
    }
    cr_assert_gt(port, 0, "vigild did not say where metrics are; stderr: %s", d.err);

    static char page[1 << 20];
    /* until the clip has ended and every queued frame was analysed */
    end = vg_test_now_ms() + 60000;
    bool done = false;
    while (vg_test_now_ms() < end && !done) {
        int st = http_get(port, "/metrics", page, sizeof(page));
        cr_assert(st == 200 || st == 503, "status %d", st);
        done = st == 200 && sample(page, "vigil_camera_state{camera=\"street\",state=\"eof\"}") == 1 &&
               sample(page, "vigil_ring_fill{camera=\"street\"}") == 0 &&
               sample(page, "vigil_frames_analysed_total{camera=\"street\"}") ==
                   sample(page, "vigil_frames_queued_total{camera=\"street\"}") &&
               sample(page, "vigil_latency_seconds_count{camera=\"street\"}") ==
                   sample(page, "vigil_frames_analysed_total{camera=\"street\"}");
        if (!done)
            usleep(200000);
    }
    cr_assert(done, "the replay did not finish; last page:\n%.3000s", page);
    static const char *const families[][2] = {
        {"vigil_packets_total", "counter"},        {"vigil_frames_decoded_total", "counter"},
        {"vigil_frames_skipped_total", "counter"}, {"vigil_frames_queued_total", "counter"},
        {"vigil_frames_analysed_total", "counter"}, {"vigil_dropped_total", "counter"},
        {"vigil_decode_errors_total", "counter"},  {"vigil_reconnects_total", "counter"},
        {"vigil_fps", "gauge"},                    {"vigil_detect_ms", "gauge"},
        {"vigil_latency_seconds", "histogram"},    {"vigil_latency_interval_ms", "gauge"},
        {"process_cpu_seconds_total", "counter"},  {"process_resident_memory_bytes", "gauge"},
    };
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
        cr_expect(has_family(page, families[i][0], families[i][1]), "no # TYPE %s %s", families[i][0],
                  families[i][1]);
    double decoded = sample(page, "vigil_frames_decoded_total{camera=\"street\"}");
    double analysed = sample(page, "vigil_frames_analysed_total{camera=\"street\"}");
    /* vtest.avi: 795 frames at 10 fps, sampled to 5 fps (as replay_vtest) */
    cr_assert_eq(decoded, 795);
    cr_assert_eq(analysed, 398);
    cr_assert_eq(sample(page, "vigil_frames_skipped_total{camera=\"street\"}"), 795 - 398);
    cr_assert_eq(sample(page, "vigil_dropped_total{camera=\"street\",stage=\"ring\",reason=\"workers_behind\"}"), 0,
                 "a replay (realtime: false) waits instead of dropping");
    double rss = sample(page, "process_resident_memory_bytes");
    cr_assert(rss > 10e6 && rss < 2e9, "rss %.0f", rss);
    double cpu = sample(page, "process_cpu_seconds_total");
    cr_assert_gt(cpu, 0);
    /* the histogram: cumulative, ends at +Inf = count = every analysed frame */
    double les[64], cum[64];
    int nb = 0;
    const char *pfx = "vigil_latency_seconds_bucket{camera=\"street\",le=\"";
    for (const char *p = strstr(page, pfx); p; p = strstr(p + 1, pfx)) {
        cr_assert_lt(nb, 64);
        const char *q = p + strlen(pfx);
        les[nb] = !strncmp(q, "+Inf", 4) ? INFINITY : strtod(q, NULL);
        cum[nb] = strtod(strchr(q, ' ') + 1, NULL);
        if (nb > 0) {
            cr_assert_gt(les[nb], les[nb - 1]);
            cr_assert_geq(cum[nb], cum[nb - 1], "buckets are cumulative");
        }
        nb++;
    }
    cr_assert_geq(nb, 10);
    cr_assert(isinf(les[nb - 1]));
    cr_assert_eq(cum[nb - 1], analysed);
    cr_assert_gt(sample(page, "vigil_latency_seconds_sum{camera=\"street\"}"), 0);
    /* the same listener serves the web UI and the API (daemon.metrics is
     * daemon.http's old name); an unknown path is a JSON 404 */
    cr_assert_eq(http_get(port, "/api/nope", text, sizeof(text)), 404);
    cr_assert(strstr(text, "\"status\":404"), "%s", text);

    /* now the last stats message, sent as vigild stops */
    cam_t cams[1] = {{.name = "street"}};
    kill(d.proc.pid, SIGTERM);
    collect(&d, cams, 1, 20000, street_ended, NULL);
    cr_assert_eq(vg_test_wait(&d.proc, 20000), 0);
    json_t *s = cams[0].last_stats;
    cr_assert_not_null(s, "no stats message when vigild stopped");
    json_t *fr = json_object_get(s, "frames");
    cr_assert_eq(json_integer_value(json_object_get(fr, "decoded")), decoded);
    cr_assert_eq(json_integer_value(json_object_get(fr, "analysed")), analysed);
    cr_assert_eq(json_integer_value(json_object_get(fr, "packets")), sample(page, "vigil_packets_total{camera=\"street\"}"));
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(s, "dropped"), "ring")), 0);
    json_t *lat = json_object_get(s, "latency_ms");
    cr_assert_eq(json_integer_value(json_object_get(lat, "frames")), analysed,
                 "the one stats interval covers every frame of the histogram");
    double p50 = json_number_value(json_object_get(lat, "p50")), p95 = json_number_value(json_object_get(lat, "p95")),
           p99 = json_number_value(json_object_get(lat, "p99"));
    cr_assert(0 < p50 && p50 <= p95 && p95 <= p99, "p50 %g p95 %g p99 %g", p50, p95, p99);
    /* the median lies in the /metrics bucket that holds rank ceil(n/2) */
    double rank = ceil(analysed * 0.5);
    int b = 0;
    while (cum[b] < rank)
        b++;
    double lo = b > 0 ? les[b - 1] * 1000 : 0, hi = les[b] * 1000;
    cr_assert(p50 > lo && p50 <= hi + 1e-3, "stats p50 %g ms outside the metrics bucket (%g, %g] ms", p50, lo, hi);
    json_t *proc = json_object_get(s, "process");
    cr_assert_geq(json_number_value(json_object_get(proc, "cpu_seconds")), cpu - 0.01,
                  "cpu time at stop is not below the one scraped earlier");
    json_decref(s);
    daemon_cleanup(&d);
}
