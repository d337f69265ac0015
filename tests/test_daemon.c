/* vigild end to end: the real daemon on real footage, real ZeroMQ
 * subscribers, real signals. Checks the message contract of docs/events.md. */
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <jansson.h>
#include <zmq.h>

#include "vg_test_vigild.h"

typedef vg_test_vigild_t daemon_t;

/* Writes the config: `cameras` is the YAML under "cameras:". */
static void write_config(daemon_t *d, const char *cameras, const char *extra_daemon)
{
    char text[8192];
    snprintf(text, sizeof(text),
             "daemon:\n  publish: %s\n  control: \"\"\n  stats_interval: 500ms\n%s"
             "cameras:\n%s",
             d->endpoint, extra_daemon ? extra_daemon : "", cameras);
    vg_test_write_file(d->config, text);
}

/* This suite stops vigild as systemd does, and expects it gone in 10 s. */
static int daemon_stop(daemon_t *d) { return vg_test_vigild_stop(d, SIGTERM, 10000); }

/* Receives one message; NULL on timeout. Checks the envelope every message
 * must have (docs/events.md): topic part equals "topic", camera, seq >= 1,
 * time in ISO 8601 UTC with milliseconds. */
static json_t *recv_msg(daemon_t *d, int timeout_ms, char *topic, size_t topiclen)
{
    json_t *m = vg_test_recv_json(d->sub, timeout_ms, topic, topiclen);
    if (!m)
        return NULL;
    cr_assert_str_eq(json_string_value(json_object_get(m, "topic")), topic);
    const char *camera = json_string_value(json_object_get(m, "camera"));
    cr_assert_not_null(camera, "%s: no camera", topic);
    if (strcmp(topic, "stats") != 0) {
        const char *dot = strchr(topic, '.');
        cr_assert(dot && strcmp(dot + 1, camera) == 0, "topic %s vs camera %s", topic, camera);
    }
    cr_assert(json_is_integer(json_object_get(m, "seq")) && json_integer_value(json_object_get(m, "seq")) >= 1);
    regex_t re;
    regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$", REG_EXTENDED | REG_NOSUB);
    const char *t = json_string_value(json_object_get(m, "time"));
    cr_assert(t && regexec(&re, t, 0, NULL, 0) == 0, "time %s", t ? t : "(none)");
    regfree(&re);
    return m;
}

typedef struct {
    char name[64];
    long long last_seq;
    int gaps;
    int det, events_start, events_end, stats, health, snaps;
    char start_tids[4096]; /* ",id," of every start's track_id: a reused one is counted */
    int reused_tids;
    int connecting; /* health "connecting" reports */
    int persons;    /* det objects labelled person */
    int faces, happy; /* det objects labelled face, and those with expression happy */
    char last_state[32];
    long long analysed; /* from the last stats */
    long long infer_runs, infer_images; /* detect.inference_* from the last stats */
    long long queued;
} cam_seen_t;

typedef struct {
    cam_seen_t cams[8];
    int n;
} seen_t;

static cam_seen_t *cam(seen_t *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->cams[i].name, name) == 0)
            return &s->cams[i];
    cr_assert_lt(s->n, 8);
    cam_seen_t *c = &s->cams[s->n++];
    memset(c, 0, sizeof(*c));
    snprintf(c->name, sizeof(c->name), "%s", name);
    return c;
}

/* Checks one message's topic-specific fields and tallies it. */
static void account(seen_t *s, const char *topic, json_t *m)
{
    cam_seen_t *c = cam(s, json_string_value(json_object_get(m, "camera")));
    long long seq = json_integer_value(json_object_get(m, "seq"));
    if (c->last_seq && seq != c->last_seq + 1)
        c->gaps++;
    c->last_seq = seq;
    if (strncmp(topic, "det.", 4) == 0) {
        c->det++;
        json_t *w = json_object_get(m, "width"), *h = json_object_get(m, "height");
        cr_assert(json_is_integer(w) && json_is_integer(h));
        cr_assert(json_is_integer(json_object_get(m, "pts")), "det carries the frame's pts");
        cr_assert(json_is_number(json_object_get(m, "pts_time")));
        size_t i;
        json_t *o;
        json_array_foreach(json_object_get(m, "objects"), i, o)
        {
            json_t *b = json_object_get(o, "box");
            cr_assert_eq(json_array_size(b), 4);
            long long x1 = json_integer_value(json_array_get(b, 0)), y1 = json_integer_value(json_array_get(b, 1));
            long long x2 = json_integer_value(json_array_get(b, 2)), y2 = json_integer_value(json_array_get(b, 3));
            cr_assert(0 <= x1 && x1 < x2 && x2 <= json_integer_value(w) && 0 <= y1 && y1 < y2 &&
                          y2 <= json_integer_value(h),
                      "box %lld,%lld-%lld,%lld outside the frame", x1, y1, x2, y2);
            cr_assert_not_null(json_string_value(json_object_get(o, "label")));
            json_t *tid = json_object_get(o, "track_id");
            cr_assert(json_is_null(tid) || (json_is_integer(tid) && json_integer_value(tid) > 0), "track_id");
            if (!strcmp(json_string_value(json_object_get(o, "label")), "person"))
                c->persons++;
            if (!strcmp(json_string_value(json_object_get(o, "label")), "face")) {
                c->faces++;
                const char *ex = json_string_value(json_object_get(json_object_get(o, "attributes"), "expression"));
                cr_assert_not_null(ex, "a face carries its expression");
                c->happy += !strcmp(ex, "happy");
            }
            double sc = json_number_value(json_object_get(o, "score"));
            cr_assert(sc >= 0 && sc <= 1);
        }
    } else if (strncmp(topic, "event.", 6) == 0) {
        const char *type = json_string_value(json_object_get(m, "type"));
        cr_assert(type && (!strcmp(type, "start") || !strcmp(type, "update") || !strcmp(type, "end")));
        cr_assert_not_null(json_string_value(json_object_get(m, "id")));
        cr_assert_not_null(json_string_value(json_object_get(m, "label")));
        cr_assert(json_is_number(json_object_get(m, "score")) && json_is_number(json_object_get(m, "top_score")));
        cr_assert_eq(json_array_size(json_object_get(m, "box")), 4);
        cr_assert(json_is_array(json_object_get(m, "zones")));
        cr_assert_not_null(json_string_value(json_object_get(m, "start")));
        if (!strcmp(type, "end"))
            cr_assert_not_null(json_string_value(json_object_get(m, "end")));
        else
            cr_assert(json_is_null(json_object_get(m, "end")));
        /* per-object events (docs/events.md) */
        cr_assert(json_is_integer(json_object_get(m, "track_id")) && json_integer_value(json_object_get(m, "track_id")) > 0);
        cr_assert(json_is_integer(json_object_get(m, "area")));
        cr_assert_eq(json_array_size(json_object_get(m, "velocity")), 2);
        cr_assert(json_is_boolean(json_object_get(m, "stationary")));
        json_t *since = json_object_get(m, "stationary_since");
        cr_assert(json_is_true(json_object_get(m, "stationary")) ? json_is_string(since) : json_is_null(since));
        cr_assert(json_is_array(json_object_get(m, "entered_zones")) && json_is_array(json_object_get(m, "loitering")));
        cr_assert(json_is_array(json_object_get(m, "crossed")));
        cr_assert(json_is_boolean(json_object_get(m, "has_snapshot")));
        cr_assert(json_is_object(json_object_get(m, "attributes")));
        cr_assert(json_is_number(json_object_get(m, "start_pts_time")));
        cr_assert(!strcmp(type, "end") == json_is_string(json_object_get(m, "reason")), "reason on end only");
        cr_assert(!strcmp(type, "update") == json_is_array(json_object_get(m, "changes")), "changes on update only");
        json_t *b = json_object_get(m, "box");
        cr_assert(json_integer_value(json_array_get(b, 0)) < json_integer_value(json_array_get(b, 2)) &&
                      json_integer_value(json_array_get(b, 1)) < json_integer_value(json_array_get(b, 3)),
                  "an event's box is not empty");
        c->events_start += !strcmp(type, "start");
        c->events_end += !strcmp(type, "end");
        if (!strcmp(type, "start")) {
            char tid[32];
            snprintf(tid, sizeof(tid), ",%lld,", json_integer_value(json_object_get(m, "track_id")));
            if (strstr(c->start_tids, tid))
                c->reused_tids++;
            else if (strlen(c->start_tids) + strlen(tid) < sizeof(c->start_tids))
                strcat(c->start_tids, tid + (c->start_tids[0] ? 1 : 0));
        }
    } else if (strncmp(topic, "snap.", 5) == 0) {
        const void *jpeg;
        size_t len = vg_test_last_blob(&jpeg);
        cr_assert_gt(len, 100, "a snapshot carries its JPEG as a third part");
        cr_assert_eq((long long)len, json_integer_value(json_object_get(m, "bytes")));
        cr_assert(((const unsigned char *)jpeg)[0] == 0xFF && ((const unsigned char *)jpeg)[1] == 0xD8, "a JPEG");
        cr_assert_not_null(json_string_value(json_object_get(m, "id")));
        c->snaps++;
    } else if (strcmp(topic, "stats") == 0) {
        c->stats++;
        json_t *fr = json_object_get(m, "frames");
        cr_assert(json_is_integer(json_object_get(fr, "decoded")));
        c->analysed = json_integer_value(json_object_get(fr, "analysed"));
        c->queued = json_integer_value(json_object_get(fr, "queued"));
        json_t *det = json_object_get(m, "detect");
        c->infer_runs = json_integer_value(json_object_get(det, "inference_runs"));
        c->infer_images = json_integer_value(json_object_get(det, "inference_images"));
        /* stats repeat the source state, for subscribers that joined late */
        const char *st = json_string_value(json_object_get(m, "state"));
        cr_assert_not_null(st);
        snprintf(c->last_state, sizeof(c->last_state), "%s", st);
        cr_assert(json_is_object(json_object_get(m, "dropped")));
        cr_assert(json_is_integer(json_object_get(json_object_get(m, "process"), "rss_bytes")));
        cr_assert_gt(json_integer_value(json_object_get(json_object_get(m, "process"), "rss_bytes")), 0);
    } else if (strncmp(topic, "health.", 7) == 0) {
        c->health++;
        const char *st = json_string_value(json_object_get(m, "state"));
        cr_assert_not_null(st);
        cr_assert_not_null(json_string_value(json_object_get(m, "reason")));
        snprintf(c->last_state, sizeof(c->last_state), "%s", st);
        c->connecting += !strcmp(st, "connecting");
    } else {
        cr_assert_fail("unknown topic %s", topic);
    }
}

/* Receives for up to ms, or until done(s) says so. */
static void collect(daemon_t *d, seen_t *s, int ms, bool (*done)(seen_t *))
{
    long long end = vg_test_now_ms() + ms;
    while (vg_test_now_ms() < end && !(done && done(s))) {
        char topic[256];
        json_t *m = recv_msg(d, 200, topic, sizeof(topic));
        if (!m)
            continue;
        account(s, topic, m);
        json_decref(m);
    }
}

static char camera_yaml[4096];
static const char *camera_block(const char *name, const char *url, const char *extra)
{
    static char buf[2048];
    snprintf(buf, sizeof(buf), "  %s:\n    url: %s\n    realtime: true\n    analysis_fps: 5\n%s", name, url,
             extra ? extra : "");
    return buf;
}

Test(daemon, check_config_accepts_the_example_and_refuses_a_broken_file, .timeout = 60)
{
    char bin[4096];
    vg_test_build_path("daemon/vigild", bin, sizeof(bin));
    /* --check-config binds the endpoints and loads the models: the example,
     * with its state_dir at the cache's models, its endpoints in a private
     * folder and its HTTP port free (5555, 8080 may be taken on this machine) */
    char example[4096], cmd[16384], dir[] = "/tmp/vigil-example-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    snprintf(example, sizeof(example), "%s/vigil.yaml", dir);
    snprintf(cmd, sizeof(cmd),
             "sed -e 's#state_dir: /var/lib/vigil#state_dir: %s#' -e 's#publish: tcp://127.0.0.1:5555#publish: ipc://%s/pub#' "
             "-e 's#control: tcp://127.0.0.1:5556#control: ipc://%s/ctl#' -e 's#http: 127.0.0.1:8080#http: 127.0.0.1:0#' "
             "%s/etc/vigil.yaml > %s",
             getenv("VIGIL_CACHE_DIR"), dir, dir, VIGIL_SOURCE_DIR, example);
    cr_assert_eq(system(cmd), 0);
    char *ok[] = {bin, "--check-config", example, NULL};
    vg_test_proc_t p;
    cr_assert_eq(vg_test_spawn(ok, &p), 0);
    cr_assert_eq(vg_test_wait(&p, 20000), 0, "the example configuration must validate");
    char broken[] = "/tmp/vigil-broken-XXXXXX";
    int fd = mkstemp(broken);
    const char *text = "daemon:\n  workers: 2\ncameras:\n  door:\n    url: /dev/null\n    analysis_fsp: 5\n";
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char *bad[] = {bin, "--check-config", broken, NULL};
    cr_assert_eq(vg_test_spawn(bad, &p), 0);
    cr_assert_eq(vg_test_wait(&p, 20000), 1);
    char err[4096] = "";
    vg_test_read_stderr(&p, err, sizeof(err));
    char expect[256];
    snprintf(expect, sizeof(expect), "%s:6: cameras.door.analysis_fsp:", broken);
    cr_assert(strstr(err, expect), "stderr: %s", err);
    vg_test_stop(&p, SIGTERM, 1000);
    unlink(broken);
    unlink(example);
    rmdir(dir);
}

static bool street_has_enough(seen_t *s)
{
    cam_seen_t *c = cam(s, "street");
    return c->det >= 10 && c->stats >= 2 && c->events_start >= 1;
}

Test(daemon, publishes_det_event_health_stats_with_rising_seq, .timeout = 120)
{
    daemon_t d;
    vg_test_vigild_prepare(&d, "e2e");
    write_config(&d, camera_block("street", vg_test_footage("vtest.avi"), NULL), NULL);
    vg_test_vigild_start(&d);
    seen_t s = {0};
    collect(&d, &s, 30000, street_has_enough);
    cam_seen_t *c = cam(&s, "street");
    cr_assert_geq(c->det, 10, "det messages: %d", c->det);
    cr_assert_geq(c->stats, 2, "stats messages: %d", c->stats);
    cr_assert_geq(c->events_start, 1, "people walking must start a motion event");
    cr_assert_eq(c->gaps, 0, "seq must rise by one per camera");
    cr_assert_eq(daemon_stop(&d), 0, "SIGTERM exits 0");
}

static bool three_cameras_seen(seen_t *s)
{
    return cam(s, "a")->det >= 5 && cam(s, "b")->det >= 5;
}

Test(daemon, sighup_restarts_only_changed_cameras_and_refuses_a_broken_file, .timeout = 180)
{
    daemon_t d;
    vg_test_vigild_prepare(&d, "e2e");
    const char *clip = vg_test_footage("vtest.avi");
    snprintf(camera_yaml, sizeof(camera_yaml), "%s", camera_block("a", clip, NULL));
    strcat(camera_yaml, camera_block("b", clip, NULL));
    write_config(&d, camera_yaml, NULL);
    vg_test_vigild_start(&d);
    seen_t s = {0};
    collect(&d, &s, 30000, three_cameras_seen);
    cr_assert_geq(cam(&s, "a")->det, 5);
    int a_connecting = cam(&s, "a")->connecting, b_connecting = cam(&s, "b")->connecting;
    /* change b, add c, keep a */
    snprintf(camera_yaml, sizeof(camera_yaml), "%s", camera_block("a", clip, NULL));
    strcat(camera_yaml, camera_block("b", clip, "    motion:\n      threshold: 30\n"));
    strcat(camera_yaml, camera_block("c", clip, NULL));
    write_config(&d, camera_yaml, NULL);
    kill(d.proc.pid, SIGHUP);
    int a_before = cam(&s, "a")->det;
    long long end = vg_test_now_ms() + 30000;
    while (vg_test_now_ms() < end && (cam(&s, "c")->det < 5 || cam(&s, "a")->det < a_before + 10))
        collect(&d, &s, 200, NULL);
    cr_assert_geq(cam(&s, "c")->det, 5, "the added camera runs");
    cr_assert_gt(cam(&s, "b")->connecting, b_connecting, "the changed camera restarted");
    cr_assert_eq(cam(&s, "a")->connecting, a_connecting, "the unchanged camera was not touched");
    cr_assert_eq(cam(&s, "a")->gaps, 0, "the unchanged camera's seq has no gap");
    cr_assert_eq(cam(&s, "b")->gaps, 0, "a restarted camera's seq continues");
    cr_assert_eq(cam(&s, "b")->reused_tids, 0, "a restarted camera's track ids go on rising");
    /* a broken file is refused; everything keeps running */
    vg_test_write_file(d.config, "daemon:\n  workers: banana\n");
    kill(d.proc.pid, SIGHUP);
    int c_before = cam(&s, "c")->det;
    collect(&d, &s, 3000, NULL);
    cr_assert_gt(cam(&s, "c")->det, c_before, "cameras keep running after a refused reload");
    char err[16384] = "";
    vg_test_read_stderr(&d.proc, err, sizeof(err));
    cr_assert(strstr(err, "reload refused") && strstr(err, "daemon.workers"), "stderr: %s", err);
    cr_assert_eq(daemon_stop(&d), 0);
}

static bool street_ended(seen_t *s) { return !strcmp(cam(s, "street")->last_state, "eof") && cam(s, "street")->stats > 0 && cam(s, "street")->analysed == 398; }

Test(daemon, a_broken_camera_is_reported_and_the_others_run, .timeout = 120)
{
    daemon_t d;
    vg_test_vigild_prepare(&d, "e2e");
    snprintf(camera_yaml, sizeof(camera_yaml), "%s", camera_block("ghost", "/nonexistent/cam.mp4", NULL));
    strcat(camera_yaml, camera_block("street", vg_test_footage("vtest.avi"), NULL));
    write_config(&d, camera_yaml, NULL);
    vg_test_vigild_start(&d);
    seen_t s = {0};
    collect(&d, &s, 30000, street_has_enough);
    collect(&d, &s, 1000, NULL); /* at least one stats round for the ghost */
    cr_assert_geq(cam(&s, "street")->det, 10);
    cr_assert_str_eq(cam(&s, "ghost")->last_state, "failed");
    cr_assert_eq(cam(&s, "ghost")->det, 0);
    cr_assert_eq(daemon_stop(&d), 0);
}

Test(daemon, a_subscriber_that_never_reads_does_not_slow_the_pipeline, .timeout = 180)
{
    daemon_t d;
    vg_test_vigild_prepare(&d, "e2e");
    /* a replayed file (not realtime): the pipeline runs as fast as it can */
    write_config(&d,
                 "  street:\n    url: PLACEHOLDER\n    realtime: false\n    analysis_fps: 5\n",
                 "  publish_hwm: 10\n");
    char text[4096];
    snprintf(text, sizeof(text),
             "daemon:\n  publish: %s\n  control: \"\"\n  stats_interval: 200ms\n  publish_hwm: 10\n"
             "cameras:\n  street:\n    url: %s\n    realtime: false\n    analysis_fps: 5\n",
             d.endpoint, vg_test_footage("vtest.avi"));
    vg_test_write_file(d.config, text);
    /* the lazy subscriber connects first and never reads */
    void *ctx = zmq_ctx_new();
    void *lazy = zmq_socket(ctx, ZMQ_SUB);
    int rcvhwm = 10, zero = 0;
    zmq_setsockopt(lazy, ZMQ_RCVHWM, &rcvhwm, sizeof(rcvhwm));
    zmq_setsockopt(lazy, ZMQ_LINGER, &zero, sizeof(zero));
    zmq_setsockopt(lazy, ZMQ_SUBSCRIBE, "", 0);
    zmq_connect(lazy, d.endpoint);
    vg_test_vigild_start(&d);
    seen_t s = {0};
    collect(&d, &s, 60000, street_ended);
    cam_seen_t *c = cam(&s, "street");
    cr_assert_str_eq(c->last_state, "eof", "the clip played to its end");
    cr_assert_eq(c->analysed, 398, "every sampled frame was analysed (%lld)", c->analysed);
    cr_assert_eq(c->queued, 398);
    zmq_close(lazy);
    zmq_ctx_term(ctx);
    cr_assert_eq(daemon_stop(&d), 0);
}

Test(daemon, an_endpoint_in_use_is_a_clear_error, .timeout = 60)
{
    void *ctx = zmq_ctx_new();
    void *squatter = zmq_socket(ctx, ZMQ_PUB);
    cr_assert_eq(zmq_bind(squatter, "tcp://127.0.0.1:*"), 0);
    char ep[256];
    size_t len = sizeof(ep);
    zmq_getsockopt(squatter, ZMQ_LAST_ENDPOINT, ep, &len);
    daemon_t d;
    vg_test_vigild_prepare(&d, "e2e");
    snprintf(d.endpoint, sizeof(d.endpoint), "%s", ep);
    write_config(&d, camera_block("street", vg_test_footage("vtest.avi"), NULL), NULL);
    vg_test_vigild_start(&d);
    cr_assert_eq(vg_test_wait(&d.proc, 20000), 1, "vigild must exit 1");
    char err[4096] = "";
    vg_test_read_stderr(&d.proc, err, sizeof(err));
    char expect[512];
    snprintf(expect, sizeof(expect), "cannot bind publish endpoint '%s': Address already in use", ep);
    cr_assert(strstr(err, expect), "stderr: %s", err);
    daemon_stop(&d);
    zmq_close(squatter);
    zmq_ctx_term(ctx);
}

static bool persons_seen(seen_t *s) { return cam(s, "street")->persons >= 20 && cam(s, "street")->events_start >= 1; }

/* The default detector (NanoDet converted from the npm weights by
 * scripts/fetch-models.sh) finds the people walking in vtest.avi. */
Test(daemon, recognises_people_with_the_default_detector, .timeout = 180)
{
    daemon_t d;
    vg_test_vigild_prepare(&d, "e2e");
    char models[4096], text[8192];
    const char *cache = getenv("VIGIL_CACHE_DIR");
    snprintf(models, sizeof(models), "%s/models/nanodet.onnx", cache && *cache ? cache : VIGIL_CACHE_DIR);
    cr_assert_eq(access(models, R_OK), 0, "%s is missing: run scripts/fetch-models.sh", models);
    snprintf(text, sizeof(text),
             "daemon:\n  publish: %s\n  control: \"\"\n  stats_interval: 1s\n"
             "models:\n  detector:\n    path: %s\n    head: nanodet\n    input: [416, 416]\n"
             "cameras:\n  street:\n    url: %s\n    realtime: true\n    analysis_fps: 5\n"
             "    detect: { model: detector, when: always }\n",
             d.endpoint, models, vg_test_footage("vtest.avi"));
    vg_test_write_file(d.config, text);
    vg_test_vigild_start(&d);
    seen_t s = {0};
    collect(&d, &s, 60000, persons_seen);
    cr_assert_geq(cam(&s, "street")->persons, 20, "person detections: %d", cam(&s, "street")->persons);
    cr_assert_geq(cam(&s, "street")->events_start, 1);
    cr_assert_eq(cam(&s, "street")->gaps, 0);
    cr_assert_eq(daemon_stop(&d), 0);
}

/* vtest.avi through vigild with the default detector, zones, a line and
 * snapshots: one event per tracked object (every start has one end, ids
 * and track ids never reused, no event for a detection seen in one frame),
 * the parked van one stationary object for the whole clip, line counters
 * that agree with the events, snapshots that are JPEGs on snap.street and
 * files in state_dir. Prints the figures. */
typedef struct {
    seen_t s;
    json_t *events; /* every event message, in order */
    json_t *tracks; /* track id -> frames it appeared in on det.street */
    json_t *last_stats;
    json_t *started;   /* ids whose start was seen */
    int snap_before_start;
    vg_test_proc_t *client; /* `vigil events --snapshots`, whose stdout is drained */
} objects_run_t;

static void collect_objects(daemon_t *d, objects_run_t *r, int ms)
{
    long long end = vg_test_now_ms() + ms, eof_at = 0;
    while (vg_test_now_ms() < end) {
        char topic[256], sink[65536];
        while (r->client && read(r->client->out_fd, sink, sizeof(sink)) > 0)
            ; /* its JSON lines are not checked here: its JPEGs are */
        json_t *m = recv_msg(d, 200, topic, sizeof(topic));
        cam_seen_t *c = cam(&r->s, "street");
        if (!eof_at && !strcmp(c->last_state, "eof"))
            eof_at = vg_test_now_ms();
        if (eof_at && vg_test_now_ms() > eof_at + 2000 && c->events_end == c->events_start)
            break; /* the ends of end of stream and a stats round after them */
        if (!m)
            continue;
        account(&r->s, topic, m);
        if (!strncmp(topic, "event.", 6)) {
            json_array_append(r->events, m);
            json_object_set_new(r->started, json_string_value(json_object_get(m, "id")), json_true());
        } else if (!strncmp(topic, "snap.", 5)) {
            r->snap_before_start += !json_object_get(r->started, json_string_value(json_object_get(m, "id")));
        } else if (!strncmp(topic, "det.", 4)) {
            size_t i;
            json_t *o;
            json_array_foreach(json_object_get(m, "objects"), i, o)
            {
                json_t *tid = json_object_get(o, "track_id");
                if (!json_is_integer(tid))
                    continue;
                char key[32];
                snprintf(key, sizeof(key), "%lld", json_integer_value(tid));
                json_t *n = json_object_get(r->tracks, key);
                json_object_set_new(r->tracks, key, json_integer(n ? json_integer_value(n) + 1 : 1));
            }
        } else if (!strcmp(topic, "stats")) {
            json_decref(r->last_stats);
            r->last_stats = json_incref(m);
        }
        json_decref(m);
    }
}

/* Both files exist, are not empty and have the same bytes. */
static bool same_file(const char *a, const char *b)
{
    static char x[1 << 20], y[1 << 20];
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    size_t na = fa ? fread(x, 1, sizeof(x), fa) : 0, nb = fb ? fread(y, 1, sizeof(y), fb) : 0;
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return na > 0 && na == nb && memcmp(x, y, na) == 0;
}

Test(daemon, vtest_one_event_per_object_and_the_van_is_one_stationary_object, .timeout = 400)
{
    daemon_t d;
    vg_test_vigild_prepare(&d, "e2e");
    char models[4096], text[8192];
    const char *cache = getenv("VIGIL_CACHE_DIR");
    snprintf(models, sizeof(models), "%s/models/nanodet.onnx", cache && *cache ? cache : VIGIL_CACHE_DIR);
    cr_assert_eq(access(models, R_OK), 0, "%s is missing: run scripts/fetch-models.sh", models);
    snprintf(text, sizeof(text),
             "daemon:\n  publish: %s\n  control: \"\"\n  stats_interval: 500ms\n  publish_hwm: 100000\n"
             "  state_dir: %s\n"
             "models:\n  detector:\n    path: %s\n    head: nanodet\n    input: [416, 416]\n"
             "cameras:\n  street:\n    url: %s\n    realtime: false\n    analysis_fps: 5\n"
             "    detect: { model: detector, when: always }\n"
             "    zones:\n      near: { points: [[0, 0.5], [1, 0.5], [1, 1], [0, 1]], inertia: 2, labels: [person] }\n"
             "    lines:\n      middle: { points: [[384, 0], [384, 576]], labels: [person] }\n"
             "    snapshots: { enabled: true }\n",
             d.endpoint, d.dir, models, vg_test_footage("vtest.avi"));
    vg_test_write_file(d.config, text);
    /* `vigil events --snapshots DIR` saves what snap.street carries */
    char bin[4096], saved[512];
    vg_test_build_path("tools/vigil", bin, sizeof(bin));
    snprintf(saved, sizeof(saved), "%s/saved", d.dir);
    cr_assert_eq(mkdir(saved, 0755), 0);
    char *args[] = {bin, "events", "--endpoint", d.endpoint, "--topic", "snap.", "--snapshots", saved,
                    "--until-eof", NULL};
    vg_test_proc_t client;
    cr_assert_eq(vg_test_spawn(args, &client), 0);
    usleep(500000); /* subscribed before the first message */
    vg_test_vigild_start(&d);
    objects_run_t r = {.events = json_array(), .tracks = json_object(), .started = json_object(), .client = &client};
    collect_objects(&d, &r, 300000);
    cam_seen_t *c = cam(&r.s, "street");
    cr_assert_str_eq(c->last_state, "eof", "the clip played to its end");
    cr_assert_eq(c->gaps, 0, "no message lost");
    cr_assert_eq(c->events_start, c->events_end, "every start has an end");

    /* per id: start first, end last, once each; ids and track ids unique */
    json_t *ids = json_object(), *tids = json_object();
    int persons = 0, vans = 0, crossings_in = 0, crossings_out = 0, with_snapshot = 0, in_zone = 0;
    size_t i;
    json_t *m;
    json_array_foreach(r.events, i, m)
    {
        const char *id = json_string_value(json_object_get(m, "id"));
        const char *type = json_string_value(json_object_get(m, "type"));
        json_t *st = json_object_get(ids, id);
        const char *state = st ? json_string_value(st) : NULL;
        if (!strcmp(type, "start")) {
            cr_assert_null(state, "%s started twice (ids are never reused)", id);
            char tid[32];
            snprintf(tid, sizeof(tid), "%lld", json_integer_value(json_object_get(m, "track_id")));
            cr_assert_null(json_object_get(tids, tid), "track id %s reused", tid);
            json_object_set_new(tids, tid, json_true());
            /* a tracked object: its detections are on det.street in more than one frame */
            json_t *frames = json_object_get(r.tracks, tid);
            cr_assert(frames && json_integer_value(frames) >= 2, "event %s: its track is in %lld det frame(s)", id,
                      frames ? json_integer_value(frames) : 0LL);
            json_object_set_new(ids, id, json_string("open"));
            continue;
        }
        cr_assert_str_eq(state ? state : "(none)", "open", "%s: %s outside start..end", id, type);
        if (strcmp(type, "end") != 0)
            continue;
        json_object_set_new(ids, id, json_string("ended"));
        const char *label = json_string_value(json_object_get(m, "label"));
        json_t *box = json_object_get(m, "box");
        double cx = (json_integer_value(json_array_get(box, 0)) + json_integer_value(json_array_get(box, 2))) / 2.0;
        double cy = (json_integer_value(json_array_get(box, 1)) + json_integer_value(json_array_get(box, 3))) / 2.0;
        if (!strcmp(label, "person")) {
            persons++;
            size_t k;
            json_t *x;
            json_array_foreach(json_object_get(m, "crossed"), k, x)
            {
                cr_assert_str_eq(json_string_value(json_object_get(x, "line")), "middle");
                const char *dir = json_string_value(json_object_get(x, "direction"));
                crossings_in += !strcmp(dir, "in");
                crossings_out += !strcmp(dir, "out");
            }
            in_zone += json_array_size(json_object_get(m, "entered_zones")) > 0;
        } else {
            cr_assert_eq(json_array_size(json_object_get(m, "crossed")), 0, "the line is about people");
        }
        if ((!strcmp(label, "car") || !strcmp(label, "truck") || !strcmp(label, "bus")) && cx > 630 && cx < 740 &&
            cy > 30 && cy < 110) {
            /* the white van parked at the top right */
            vans++;
            cr_expect(json_is_true(json_object_get(m, "stationary")), "the van is stationary");
            cr_expect_lt(json_number_value(json_object_get(m, "start_pts_time")), 2.0, "seen from the start");
            cr_expect_gt(json_number_value(json_object_get(m, "pts_time")), 75.0, "... to the end of the clip");
            cr_expect_str_eq(json_string_value(json_object_get(m, "reason")), "end of stream");
        }
        if (json_is_true(json_object_get(m, "has_snapshot"))) {
            with_snapshot++;
            /* the file vigild wrote and the one vigil events saved: the same last snapshot */
            char path[1024], copy[1024];
            snprintf(path, sizeof(path), "%s/snapshots/street/%s.jpg", d.dir, id);
            snprintf(copy, sizeof(copy), "%s/%s.jpg", saved, id);
            cr_expect(same_file(path, copy), "%s and %s differ (or one is missing)", path, copy);
        }
    }
    cr_expect_eq(vans, 1, "the parked van is one object for the whole clip (%d events)", vans);
    cr_expect(persons >= 15 && persons <= 80, "%d person events", persons);
    cr_expect_gt(crossings_in, 0, "people cross the middle leftwards");
    cr_expect_gt(crossings_out, 0, "... and rightwards");
    cr_expect_gt(in_zone, 0, "people walk in the near half");
    cr_expect_gt(with_snapshot, persons / 2, "most events have a snapshot (%d of %d)", with_snapshot,
                 c->events_start);
    cr_expect_geq(c->snaps, with_snapshot, "snap.street messages");
    cr_expect_eq(r.snap_before_start, 0, "a snapshot follows its event's start");
    /* the last stats agree with the events */
    cr_assert_not_null(r.last_stats);
    json_t *op = json_object_get(json_object_get(r.last_stats, "objects"), "person");
    cr_expect_eq(json_integer_value(json_object_get(op, "events")), persons, "stats objects.person.events");
    cr_expect_eq(json_integer_value(json_object_get(op, "present")), 0, "nobody left after the end");
    json_t *lp = json_object_get(json_object_get(json_object_get(r.last_stats, "lines"), "middle"), "person");
    cr_expect_eq(json_integer_value(json_object_get(lp, "in")), crossings_in);
    cr_expect_eq(json_integer_value(json_object_get(lp, "out")), crossings_out);
    cr_expect_eq(json_integer_value(json_object_get(r.last_stats, "events")), c->events_start);
    fprintf(stderr,
            "vtest.avi: %d events (%d person), %zu track ids, van events %d, middle line in %d out %d, "
            "%d with a snapshot, %d snap messages\n",
            c->events_start, persons, json_object_size(tids), vans, crossings_in, crossings_out, with_snapshot,
            c->snaps);
    json_decref(ids);
    json_decref(tids);
    json_decref(r.events);
    json_decref(r.tracks);
    json_decref(r.last_stats);
    json_decref(r.started);
    cr_expect_eq(vg_test_wait(&client, 10000), 0, "vigil events --until-eof exits 0 after the clip");
    vg_test_stop(&client, SIGTERM, 1000);
    cr_assert_eq(daemon_stop(&d), 0);
}

/* A model file that is not a model: refused with a clear message; the
 * camera that wanted it runs with motion only, the others run as usual. */
Test(daemon, a_broken_model_is_refused_and_cameras_keep_running, .timeout = 120)
{
    daemon_t d;
    vg_test_vigild_prepare(&d, "e2e");
    char bad[256], text[8192];
    snprintf(bad, sizeof(bad), "%s/broken.onnx", d.dir);
    vg_test_write_file(bad, "this is not an ONNX file");
    snprintf(text, sizeof(text),
             "daemon:\n  publish: %s\n  control: \"\"\n  stats_interval: 500ms\n"
             "models:\n  detector:\n    path: %s\n    head: nanodet\n    input: [416, 416]\n"
             "cameras:\n  street:\n    url: %s\n    realtime: true\n    analysis_fps: 5\n"
             "    detect: { model: detector, when: always }\n",
             d.endpoint, bad, vg_test_footage("vtest.avi"));
    vg_test_write_file(d.config, text);
    vg_test_vigild_start(&d);
    seen_t s = {0};
    collect(&d, &s, 30000, street_has_enough);
    cr_assert_geq(cam(&s, "street")->det, 10, "the camera runs without its model");
    char err[16384] = "";
    vg_test_read_stderr(&d.proc, err, sizeof(err));
    cr_assert(strstr(err, "model 'detector': cannot load") && strstr(err, "broken.onnx"), "stderr: %s", err);
    cr_assert_eq(daemon_stop(&d), 0);
}

static bool faces_seen(seen_t *s) { return cam(s, "faces")->faces >= 8; }

/* The face -> expression cascade in the daemon: opencv-doc's facereg.jpg
 * (four faces, one broad smile) made into a lossless clip. */
Test(daemon, finds_faces_and_their_expression, .timeout = 180)
{
    daemon_t d;
    vg_test_vigild_prepare(&d, "e2e");
    const char *cache = getenv("VIGIL_CACHE_DIR");
    cache = cache && *cache ? cache : VIGIL_CACHE_DIR;
    char photo[4096], clip[512], cmd[8192], text[8192];
    snprintf(photo, sizeof(photo), "%s/images/facereg.jpg", cache);
    cr_assert_eq(access(photo, R_OK), 0, "%s is missing: run scripts/fetch-footage.sh", photo);
    snprintf(clip, sizeof(clip), "%s/faces.mp4", d.dir);
    snprintf(cmd, sizeof(cmd),
             "ffmpeg -nostdin -v error -y -loop 1 -i %s -t 2 -r 5 -c:v libx264 -qp 0 -pix_fmt yuv420p %s", photo,
             clip);
    cr_assert_eq(system(cmd), 0, "ffmpeg could not make the clip");
    snprintf(text, sizeof(text),
             "daemon:\n  publish: %s\n  control: \"\"\n"
             "models:\n  face:\n    path: %s/models/blazeface.onnx\n    head: ssd\n    input: [256, 256]\n"
             "    threshold: 0.75\n    nms_iou: 0.3\n"
             "  emotion:\n    path: %s/models/emotion.onnx\n    head: classifier\n    input: [64, 64]\n"
             "    color: gray\n"
             "cameras:\n  faces:\n    url: %s\n    realtime: true\n    analysis_fps: 5\n"
             "    detect: { when: always }\n    faces: { model: face, expression: emotion, on: frame }\n",
             d.endpoint, cache, cache, clip);
    vg_test_write_file(d.config, text);
    vg_test_vigild_start(&d);
    seen_t s = {0};
    collect(&d, &s, 30000, faces_seen);
    cr_assert_geq(cam(&s, "faces")->faces, 8, "faces found: %d", cam(&s, "faces")->faces);
    cr_assert_geq(cam(&s, "faces")->happy, 2, "the broad smile reads as happy (%d)", cam(&s, "faces")->happy);
    cr_assert_eq(daemon_stop(&d), 0);
}

static bool batched_enough(seen_t *s)
{
    return cam(s, "a")->persons >= 20 && cam(s, "b")->persons >= 20 && cam(s, "b")->infer_runs > 10;
}

/* inference_batch 2: two cameras' frames share engine runs on the inference
 * thread, and both still get their people. */
Test(daemon, batches_two_cameras_on_the_inference_thread, .timeout = 180)
{
    daemon_t d;
    vg_test_vigild_prepare(&d, "e2e");
    char models[4096], text[8192];
    const char *cache = getenv("VIGIL_CACHE_DIR");
    snprintf(models, sizeof(models), "%s/models/nanodet.onnx", cache && *cache ? cache : VIGIL_CACHE_DIR);
    const char *clip = vg_test_footage("vtest.avi");
    snprintf(text, sizeof(text),
             "daemon:\n  publish: %s\n  control: \"\"\n  stats_interval: 500ms\n  workers: 2\n"
             "  inference_batch: 2\n  inference_wait: 50ms\n"
             "models:\n  detector:\n    path: %s\n    head: nanodet\n    input: [416, 416]\n"
             "cameras:\n"
             "  a:\n    url: %s\n    realtime: false\n    detect: { model: detector, when: always }\n"
             "  b:\n    url: %s\n    realtime: false\n    detect: { model: detector, when: always }\n",
             d.endpoint, models, clip, clip);
    vg_test_write_file(d.config, text);
    vg_test_vigild_start(&d);
    seen_t s = {0};
    collect(&d, &s, 90000, batched_enough);
    cr_assert_geq(cam(&s, "a")->persons, 20);
    cr_assert_geq(cam(&s, "b")->persons, 20);
    cam_seen_t *b = cam(&s, "b");
    cr_assert_gt(b->infer_runs, 10, "the inference thread ran (%lld runs)", b->infer_runs);
    cr_assert_gt(b->infer_images, b->infer_runs, "some runs carried both cameras' frames (%lld images in %lld runs)",
                 b->infer_images, b->infer_runs);
    cr_assert_leq(b->infer_images, 2 * b->infer_runs, "never more than the batch");
    cr_assert_eq(daemon_stop(&d), 0);
}
