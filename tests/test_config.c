/* Tests for daemon/config.c: every refusal gives its exact one-line error,
 * valid files give every value, defaults, the example etc/vigil.yaml, camera
 * equality for reload, durations, and docs/config.md matching the schema. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/config.h"

/* Criterion runs each test in a child and ignores LeakSanitizer's exit status
 * there (a leak is printed but the test passes), so under ASan every test ends
 * with an explicit leak check that fails it (as a crash). */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) && !defined(__SANITIZE_ADDRESS__)
#define __SANITIZE_ADDRESS__ 1 /* clang spells it __has_feature */
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
static void leak_check(void) {
    /* cr_assert in .fini is printed but does not fail the test: crash instead */
    if (__lsan_do_recoverable_leak_check() != 0)
        abort();
}
TestSuite(config, .fini = leak_check);
#endif

#define MODEL "models:\n  det:\n    path: d.onnx\n    head: nanodet\n    input: [416, 416]\n"
#define CAM "cameras:\n  a:\n    url: x\n"

static int parse(const char *text, vg_config_t **cfg, char *err, size_t errlen) {
    return vg_config_parse("t.yaml", text, strlen(text), err, errlen, cfg);
}

static vg_config_t *parse_ok(const char *text) {
    vg_config_t *cfg = NULL;
    char err[VG_CONFIG_ERROR_MAX];
    int r = parse(text, &cfg, err, sizeof err);
    cr_assert_eq(r, 0, "parse failed (%d): %s\n--- config:\n%s", r, err, text);
    cr_assert_not_null(cfg);
    return cfg;
}

/* ---------------------------------------------------------------- refusals */

typedef struct {
    const char *yaml;
    const char *error;
} bad_t;

static const bad_t bad[] = {
    {"", "t.yaml:1: (top level): the configuration is empty"},
    {"# only a comment\n", "t.yaml:1: (top level): the configuration is empty"},
    {"- a\n- b\n", "t.yaml:1: (top level): expected a mapping with daemon:, models: and cameras:"},
    {"daemon:\n  workers: 1\n---\ndaemon:\n  workers: 2\n",
     "t.yaml:3: (top level): only one YAML document is allowed"},
    /* unknown keys, with and without a suggestion */
    {"daemon:\n  publsh: tcp://a:1\n", "t.yaml:2: daemon.publsh: unknown key (did you mean 'publish'?)"},
    {"daemon:\n  frobnicate: 1\n", "t.yaml:2: daemon.frobnicate: unknown key"},
    {"camera:\n  a:\n    url: x\n", "t.yaml:1: camera: unknown key (did you mean 'cameras'?)"},
    {CAM "    analysis_fsp: 5\n",
     "t.yaml:4: cameras.a.analysis_fsp: unknown key (did you mean 'analysis_fps'?)"},
    {CAM "    motion:\n      treshold: 5\n",
     "t.yaml:5: cameras.a.motion.treshold: unknown key (did you mean 'threshold'?)"},
    {"daemon:\n  analysis_fps: 5\n",
     "t.yaml:2: daemon.analysis_fps: unknown key here (did you mean cameras.NAME.analysis_fps?)"},
    {CAM "    threshold: 5\n", "t.yaml:4: cameras.a.threshold: unknown key here (did you mean "
                               "models.NAME.threshold or cameras.NAME.motion.threshold?)"},
    {"? [a]\n: 1\n", "t.yaml:1: (top level): expected a plain key"},
    {MODEL "    lables: l.txt\n", "t.yaml:6: models.det.lables: unknown key (did you mean 'labels'?)"},
    /* wrong types */
    {CAM "    analysis_fps: fast\n", "t.yaml:4: cameras.a.analysis_fps: expected a number"},
    {CAM "    analysis_fps: .nan\n", "t.yaml:4: cameras.a.analysis_fps: expected a number"},
    {CAM "    realtime: yes\n", "t.yaml:4: cameras.a.realtime: expected true or false"},
    {"daemon:\n  publish_detections: 1\n",
     "t.yaml:2: daemon.publish_detections: expected true or false"},
    {CAM "    decode_threads: 2.5\n", "t.yaml:4: cameras.a.decode_threads: expected a whole number"},
    {CAM "    timeout: 5\n", "t.yaml:4: cameras.a.timeout: expected a duration like 500ms, 5s, 2m"},
    {CAM "    timeout: 5 s\n", "t.yaml:4: cameras.a.timeout: expected a duration like 500ms, 5s, 2m"},
    {CAM "    timeout: 5w\n", "t.yaml:4: cameras.a.timeout: expected a duration like 500ms, 5s, 2m"},
    /* zones, lines, masks, objects (issue 11) */
    {CAM "    zones:\n      door:\n        points: [[0, 0], [1, 0]]\n",
     "t.yaml:6: cameras.a.zones.door.points: a polygon needs at least 3 points, got 2"},
    {CAM "    zones:\n      door:\n        points: [[0, 0], [1, 1], [1, 0], [0, 1]]\n",
     "t.yaml:6: cameras.a.zones.door.points: the polygon crosses itself (or repeats a point)"},
    {CAM "    zones:\n      door:\n        inertia: 3\n",
     "t.yaml:5: cameras.a.zones.door: missing required key 'points'"},
    {CAM "    zones:\n      door: { points: [[0, 0], [1, 0], [1, 1]], intertia: 2 }\n",
     "t.yaml:5: cameras.a.zones.door.intertia: unknown key (did you mean 'inertia'?)"},
    {CAM "    zones:\n      door: { points: [[0, 0], [1, 0], [1, 1]] }\n    required_zones: [gate]\n",
     "t.yaml:6: cameras.a.required_zones: no zone named 'gate' under zones:"},
    {"cameras:\n  a:\n    url: /dev/video0\n    v4l2: { size: [640, 480] }\n"
     "    zones:\n      door: { points: [[10, 10], [700, 10], [700, 400]] }\n",
     "t.yaml:6: cameras.a.zones.door.points: point [700, 10] is outside the 640x480 frame"},
    {CAM "    lines:\n      gate: { points: [[0.5, 0.1], [0.5, 0.1]] }\n",
     "t.yaml:5: cameras.a.lines.gate.points: the two points are the same"},
    {CAM "    lines:\n      gate: { points: [[0.5, 0.1], [0.5, 0.9], [0.2, 0.2]] }\n",
     "t.yaml:5: cameras.a.lines.gate.points: 3 points, at most 2"},
    {CAM "    motion_mask: [[[0, 0], [1, 0]]]\n",
     "t.yaml:4: cameras.a.motion_mask: a polygon needs at least 3 points, got 2"},
    {CAM "    objects:\n      person: { threshold: 1.5 }\n",
     "t.yaml:5: cameras.a.objects.person.threshold: 1.5 is out of range 0..1"},
    {"cameras:\n  a:\n    url: [a, b]\n", "t.yaml:3: cameras.a.url: expected a string"},
    {"daemon: 5\n", "t.yaml:1: daemon: expected a mapping of keys to values"},
    {CAM "    detect: on\n", "t.yaml:4: cameras.a.detect: expected a mapping of keys to values"},
    {"cameras:\n  - url: x\n", "t.yaml:2: cameras: expected a mapping of camera names to settings"},
    {"models:\n  det:\n    path: d.onnx\n    head: nanodet\n    input: [416]\n", "t.yaml:5: models.det.input: expected [width, height] like [416, 416]"},
    {MODEL "    mean: [1, 2]\n", "t.yaml:6: models.det.mean: expected a number or a list of 3 numbers"},
    {MODEL "    scale: [1, x, 2]\n", "t.yaml:6: models.det.scale: expected a number"},
    /* out of range */
    {CAM "    analysis_fps: 0\n", "t.yaml:4: cameras.a.analysis_fps: 0 is out of range 0.1..120"},
    {CAM "    analysis_fps: 121\n", "t.yaml:4: cameras.a.analysis_fps: 121 is out of range 0.1..120"},
    {CAM "    decode_threads: 17\n", "t.yaml:4: cameras.a.decode_threads: 17 is out of range 0..16"},
    {"daemon:\n  workers: -1\n", "t.yaml:2: daemon.workers: -1 is out of range 0..64"},
    {"daemon:\n  workers: 99999999999999999999\n",
     "t.yaml:2: daemon.workers: 99999999999999999999 is out of range 0..64"},
    {CAM "    timeout: 50ms\n", "t.yaml:4: cameras.a.timeout: 50ms is out of range 100ms..10m"},
    {"daemon:\n  stats_interval: 2h\n",
     "t.yaml:2: daemon.stats_interval: 2h is out of range 100ms..1h"},
    {CAM "    ring_size: 6\n", "t.yaml:4: cameras.a.ring_size: 6 is not a power of two (2, 4, ... 64)"},
    {CAM "    ring_size: 128\n", "t.yaml:4: cameras.a.ring_size: 128 is out of range 2..64"},
    {CAM "    motion: { threshold: 0 }\n",
     "t.yaml:4: cameras.a.motion.threshold: 0 is out of range 1..255"},
    {MODEL "    threshold: 1.5\n", "t.yaml:6: models.det.threshold: 1.5 is out of range 0..1"},
    {"models:\n  det:\n    path: d.onnx\n    head: nanodet\n    input: [0, 416]\n",
     "t.yaml:5: models.det.input: 0 is out of range 1..4096"},
    /* enums */
    {CAM "    rtsp_transport: http\n", "t.yaml:4: cameras.a.rtsp_transport: expected one of: tcp, udp"},
    {MODEL CAM "    detect: { model: det, when: sometimes }\n",
     "t.yaml:9: cameras.a.detect.when: expected one of: always, on_motion, never"},
    {"daemon:\n  log_level: verbose\n",
     "t.yaml:2: daemon.log_level: expected one of: error, warning, info, debug"},
    {"models:\n  det:\n    path: d.onnx\n    head: yolov9\n    input: [416, 416]\n",
     "t.yaml:4: models.det.head: expected one of: yolov5, yolov8, nanodet, ssd, centernet, classifier"},
    {CAM "    correct: maybe\n",
     "t.yaml:4: cameras.a.correct: expected auto, off or a list of: low_light, dehaze, denoise, derain"},
    {CAM "    correct: [low_light, fog]\n",
     "t.yaml:4: cameras.a.correct: expected one of: low_light, dehaze, denoise, derain"},
    {CAM "    correct:\n      - denoise\n      - denoise\n",
     "t.yaml:6: cameras.a.correct: denoise is listed twice"},
    /* strings */
    {"daemon:\n  publish: \"\"\n", "t.yaml:2: daemon.publish: must not be empty"},
    {"daemon:\n  publish: localhost:5555\n",
     "t.yaml:2: daemon.publish: 'localhost:5555' is not a ZeroMQ endpoint vigild can bind: expected "
     "tcp://127.0.0.1:5555 or ipc:///run/vigil/events"},
    /* endpoints (issue 10 item 8): the syntax and port range vigild binds */
    {"daemon:\n  publish: bogus://\n",
     "t.yaml:2: daemon.publish: 'bogus://' is not a ZeroMQ endpoint vigild can bind: expected "
     "tcp://127.0.0.1:5555 or ipc:///run/vigil/events"},
    {"daemon:\n  publish: tcp://127.0.0.1:99999\n",
     "t.yaml:2: daemon.publish: 'tcp://127.0.0.1:99999': port 99999 is out of range 1..65535"},
    {"daemon:\n  control: tcp://127.0.0.1:0\n",
     "t.yaml:2: daemon.control: 'tcp://127.0.0.1:0': port 0 is out of range 1..65535"},
    {"daemon:\n  control: tcp://127.0.0.1:x\n",
     "t.yaml:2: daemon.control: 'tcp://127.0.0.1:x': the port must be a number 1..65535"},
    {"daemon:\n  publish: tcp://127.0.0.1\n",
     "t.yaml:2: daemon.publish: 'tcp://127.0.0.1' needs HOST:PORT, e.g. tcp://127.0.0.1:5555"},
    {"daemon:\n  publish: ipc://\n",
     "t.yaml:2: daemon.publish: 'ipc://' has no path: expected ipc:///run/vigil/events"},
    {"daemon:\n  publish: tcp://127.0.0.1:7000\n  control: tcp://127.0.0.1:7000\n",
     "t.yaml:3: daemon.control: 'tcp://127.0.0.1:7000' is the same endpoint as daemon.publish"},
    {"daemon:\n  control: tcp://*:5555\n",
     "t.yaml:2: daemon.control: 'tcp://*:5555' is the same endpoint as daemon.publish"},
    {"daemon:\n  metrics: 127.0.0.1:5556\n",
     "t.yaml:2: daemon.metrics: '127.0.0.1:5556' is the same port as daemon.control 'tcp://127.0.0.1:5556'"},
    {"daemon:\n  http: 127.0.0.1:5555\n",
     "t.yaml:2: daemon.http: '127.0.0.1:5555' is the same port as daemon.publish 'tcp://127.0.0.1:5555'"},
    {"daemon:\n  http: \":8080\"\n",
     "t.yaml:2: daemon.http: ':8080' has no host: write 127.0.0.1:8080 for this machine only, or "
     "0.0.0.0:8080 for every interface"},
    /* a metrics address without a host (issue 10 item 9) */
    {"daemon:\n  metrics: \":9108\"\n",
     "t.yaml:2: daemon.metrics: ':9108' has no host: write 127.0.0.1:9108 for this machine only, or "
     "0.0.0.0:9108 for every interface"},
    {"daemon:\n  metrics: tcp://:9108\n",
     "t.yaml:2: daemon.metrics: 'tcp://:9108' has no host: write 127.0.0.1:9108 for this machine only, or "
     "0.0.0.0:9108 for every interface"},
    /* lenient values (issue 10 item 15): strings are not numbers */
    {CAM "    ring_size: !!str 4\n",
     "t.yaml:4: cameras.a.ring_size: expected a whole number, not a string (!!str 4)"},
    {CAM "    ring_size: \"4\"\n",
     "t.yaml:4: cameras.a.ring_size: expected a whole number, not the quoted string \"4\" (remove the quotes)"},
    {CAM "    ring_size: '4'\n",
     "t.yaml:4: cameras.a.ring_size: expected a whole number, not the quoted string \"4\" (remove the quotes)"},
    {CAM "    ring_size: 64.0\n", "t.yaml:4: cameras.a.ring_size: expected a whole number"},
    {CAM "    ring_size: 1e1\n", "t.yaml:4: cameras.a.ring_size: expected a whole number"},
    {CAM "    analysis_fps: !!str 5\n",
     "t.yaml:4: cameras.a.analysis_fps: expected a number, not a string (!!str 5)"},
    {CAM "    analysis_fps: \"5\"\n",
     "t.yaml:4: cameras.a.analysis_fps: expected a number, not the quoted string \"5\" (remove the quotes)"},
    {CAM "    realtime: \"true\"\n",
     "t.yaml:4: cameras.a.realtime: expected true or false, not the quoted string \"true\" (remove the quotes)"},
    {MODEL "    mean: [1, \"2\", 3]\n",
     "t.yaml:6: models.det.mean: expected a number, not the quoted string \"2\" (remove the quotes)"},
    {"models:\n  det:\n    path: d.onnx\n    head: nanodet\n    input: [416, !!str 416]\n",
     "t.yaml:5: models.det.input: expected a whole number, not a string (!!str 416)"},
    {"cameras:\n  a:\n    url: ~\n", "t.yaml:3: cameras.a.url: must not be empty (it has no value)"},
    {"cameras:\n  a:\n    url: null\n", "t.yaml:3: cameras.a.url: must not be empty (it has no value)"},
    {"cameras:\n  a:\n    url:\n", "t.yaml:3: cameras.a.url: must not be empty (it has no value)"},
    {"daemon:\n  stats_interval: 99999999999999h\n",
     "t.yaml:2: daemon.stats_interval: 99999999999999h is out of range 100ms..1h"},
    {CAM "    timeout: 1e400s\n", "t.yaml:4: cameras.a.timeout: 1e400s is out of range 100ms..10m"},
    /* required keys, names, references */
    {"cameras:\n  a:\n    loop: true\n", "t.yaml:2: cameras.a: missing required key 'url'"},
    {"cameras:\n  a:\n", "t.yaml:2: cameras.a: missing required key 'url'"},
    {"models:\n  det:\n    path: d.onnx\n    input: [416, 416]\n",
     "t.yaml:2: models.det: missing required key 'head'"},
    {"cameras:\n  front door:\n    url: x\n",
     "t.yaml:2: cameras: 'front door' is not a valid camera name (1 to 63 of A-Z a-z 0-9 _ -)"},
    {"models:\n  det.v2:\n    path: d.onnx\n",
     "t.yaml:2: models: 'det.v2' is not a valid model name (1 to 63 of A-Z a-z 0-9 _ -)"},
    {"cameras:\n  a234567890123456789012345678901234567890123456789012345678901234:\n    url: x\n",
     "t.yaml:2: cameras: 'a234567890123456789012345678901234567890123456789012345678901234' is not a "
     "valid camera name (1 to 63 of A-Z a-z 0-9 _ -)"},
    {MODEL CAM "    detect: { model: nope }\n",
     "t.yaml:9: cameras.a.detect.model: no model named 'nope' (defined: det)"},
    {CAM "    detect:\n      model: det\n",
     "t.yaml:5: cameras.a.detect.model: no model named 'det' (no models are defined)"},
    {MODEL CAM "    faces: { model: face }\n",
     "t.yaml:9: cameras.a.faces.model: no model named 'face' (defined: det)"},
    {MODEL CAM "    faces:\n      model: det\n      expression: emo\n",
     "t.yaml:11: cameras.a.faces.expression: no model named 'emo' (defined: det)"},
    {MODEL CAM "    faces:\n      expression: det\n",
     "t.yaml:10: cameras.a.faces.expression: needs faces.model (the face detector whose faces it classifies)"},
    {MODEL CAM "    faces: { model: det, on: body }\n",
     "t.yaml:9: cameras.a.faces.on: expected one of: person, frame"},
    {MODEL CAM "    faces: { model: det, mode: frame }\n",
     "t.yaml:9: cameras.a.faces.mode: unknown key (did you mean 'model'?)"},
    {CAM "    detect: { model: \"a b\" }\n",
     "t.yaml:4: cameras.a.detect.model: 'a b' is not a valid name (1 to 63 of A-Z a-z 0-9 _ -)"},
    {"cameras:\n  a:\n    url: x\n    detect: { model: \"a\\nb\\tc\" }\n",
     "t.yaml:4: cameras.a.detect.model: 'a?b?c' is not a valid name (1 to 63 of A-Z a-z 0-9 _ -)"},
    {"cameras:\n  \"a\\nb\": { url: x }\n",
     "t.yaml:2: cameras: 'a?b' is not a valid camera name (1 to 63 of A-Z a-z 0-9 _ -)"},
        /* duplicates */
    {CAM "    url: y\n", "t.yaml:4: cameras.a.url: duplicate key (first on line 3)"},
    {CAM "  a:\n    url: y\n", "t.yaml:4: cameras.a: duplicate key (first on line 2)"},
    {"daemon:\n  workers: 1\ndaemon:\n  workers: 2\n", "t.yaml:3: daemon: duplicate key (first on line 1)"},
    /* YAML syntax, as libyaml words it */
    {"daemon:\n  workers: [1, 2\n",
     "t.yaml:3: YAML syntax: did not find expected ',' or ']' while parsing a flow sequence started on "
     "line 2"},
    {"daemon:\n\tworkers: 1\n",
     "t.yaml:2: YAML syntax: found character that cannot start any token while scanning for the next "
     "token started on line 2"},
    {"daemon:\n  state_dir: \xff\n", "t.yaml:2: YAML syntax: invalid leading UTF-8 octet"},
};

Test(config, refusals_give_the_exact_line) {
    cr_assert_geq(sizeof bad / sizeof bad[0], 30);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vg_config_t *cfg = (vg_config_t *)(uintptr_t)0x1; /* must stay untouched */
        char err[VG_CONFIG_ERROR_MAX] = "";
        int r = parse(bad[i].yaml, &cfg, err, sizeof err);
        cr_expect_eq(r, -EINVAL, "case %zu: returned %d\n--- config:\n%s", i, r, bad[i].yaml);
        cr_expect_eq(cfg, (vg_config_t *)(uintptr_t)0x1, "case %zu: *ret_config was touched", i);
        cr_expect_str_eq(err, bad[i].error, "case %zu:\n   got: %s\nwanted: %s", i, err, bad[i].error);
    }
}

/* More than VG_CONFIG_MAX_CAMERAS cameras / VG_CONFIG_MAX_MODELS models. */
Test(config, too_many_cameras_and_models) {
    char text[16384], err[VG_CONFIG_ERROR_MAX];
    size_t n = (size_t)snprintf(text, sizeof text, "cameras:\n");
    for (int i = 0; i <= VG_CONFIG_MAX_CAMERAS; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "  c%d:\n    url: x\n", i);
    vg_config_t *cfg = NULL;
    cr_assert_eq(parse(text, &cfg, err, sizeof err), -EINVAL);
    cr_expect_str_eq(err, "t.yaml:130: cameras: more than 64 cameras");
    cr_expect_null(cfg);

    /* exactly the maximum is fine */
    char *last = strstr(text, "  c64:");
    *last = '\0';
    cfg = parse_ok(text);
    cr_expect_eq(cfg->n_cameras, VG_CONFIG_MAX_CAMERAS);
    cr_expect_str_eq(cfg->cameras[63].name, "c63");
    vg_config_free(&cfg);

    n = (size_t)snprintf(text, sizeof text, "models:\n");
    for (int i = 0; i <= VG_CONFIG_MAX_MODELS; i++)
        n += (size_t)snprintf(text + n, sizeof text - n,
                              "  m%d: { path: m.onnx, head: ssd, input: [300, 300] }\n", i);
    cr_assert_eq(parse(text, &cfg, err, sizeof err), -EINVAL);
    cr_expect_str_eq(err, "t.yaml:18: models: more than 16 models");
}

Test(config, missing_file) {
    vg_config_t *cfg = NULL;
    char err[VG_CONFIG_ERROR_MAX];
    cr_assert_eq(vg_config_load("/nonexistent/vigil.yaml", err, sizeof err, &cfg), -ENOENT);
    cr_expect_str_eq(err, "/nonexistent/vigil.yaml: No such file or directory");
    cr_expect_null(cfg);
    cr_assert_eq(vg_config_load("/", err, sizeof err, &cfg), -EISDIR);
    cr_expect_str_eq(err, "/: Is a directory");
}

/* Deep nesting is refused early (libyaml's cost grows with depth per token),
 * files over 1 MiB are refused before parsing. */
Test(config, bounded_input) {
    char text[128], err[VG_CONFIG_ERROR_MAX];
    vg_config_t *cfg = NULL;
    snprintf(text, sizeof text, "daemon: %.*s", 40, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[");
    cr_assert_eq(parse(text, &cfg, err, sizeof err), -EINVAL);
    cr_expect_str_eq(err, "t.yaml:1: YAML syntax: nested deeper than 32 levels");

    char path[] = "/tmp/vigil-config-big-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    FILE *f = fdopen(fd, "w");
    for (int i = 0; i < 60000; i++) /* 20 bytes a line: 1.2 MB */
        fprintf(f, "# comment %09d\n", i);
    fclose(f);
    cr_expect_eq(vg_config_load(path, err, sizeof err, &cfg), -EFBIG);
    char want[128];
    snprintf(want, sizeof want, "%s: File too large", path);
    cr_expect_str_eq(err, want);
    cr_expect_null(cfg);
    unlink(path);
}

Test(config, error_buffer_is_bounded) {
    vg_config_t *cfg = NULL;
    char err[12];
    memset(err, 'z', sizeof err);
    cr_assert_eq(parse(CAM "    analysis_fps: 0\n", &cfg, err, sizeof err), -EINVAL);
    cr_expect_str_eq(err, "t.yaml:4: c");
    cr_assert_eq(parse(CAM "    analysis_fps: 0\n", &cfg, NULL, 0), -EINVAL);
    cr_expect_null(cfg);
}

/* ------------------------------------------------------------ valid files */

static const char full[] = "daemon:\n"
                           "  publish: ipc:///run/vigil/events\n"
                           "  control: \"\"\n"
                           "  workers: 3\n"
                           "  state_dir: /srv/vigil\n"
                           "  stats_interval: 250ms\n"
                           "  publish_hwm: 50\n"
                           "  publish_detections: false\n"
                           "  log_level: debug\n"
                           "cameras:\n" /* before models: references resolve after the parse */
                           "  gate-1:\n"
                           "    url: rtsp://192.0.2.1/s\n"
                           "    realtime: false\n"
                           "    loop: true\n"
                           "    analysis_fps: 2.5\n"
                           "    decode_threads: 0\n"
                           "    timeout: 2m\n"
                           "    rtsp_transport: udp\n"
                           "    ring_size: 16\n"
                           "    detect: { model: yolo, when: always }\n"
                           "    correct: [derain, low_light]\n"
                           "    motion: { threshold: 40, min_area: 0.01, width: 640 }\n"
                           "  yard_2:\n"
                           "    url: /dev/video0\n"
                           "    correct: auto\n"
                           "models:\n"
                           "  yolo:\n"
                           "    path: /m/yolo.onnx\n"
                           "    head: yolov8\n"
                           "    input: [640, 384]\n"
                           "    labels: /m/coco.txt\n"
                           "    threshold: 0.5\n"
                           "    nms_iou: 0.6\n"
                           "    precision: bf16\n"
                           "    color: bgr\n"
                           "    mean: [1, 2.5, 3]\n"
                           "    scale: 0.5\n"
                           "    letterbox: false\n";

Test(config, every_value_parsed) {
    vg_config_t *cfg = parse_ok(full);
    cr_expect_str_eq(cfg->path, "t.yaml");
    cr_expect_str_eq(cfg->publish, "ipc:///run/vigil/events");
    cr_expect_str_eq(cfg->control, "");
    cr_expect_eq(cfg->workers, 3);
    cr_expect_str_eq(cfg->state_dir, "/srv/vigil");
    cr_expect_eq(cfg->stats_interval_us, 250000);
    cr_expect_eq(cfg->publish_hwm, 50);
    cr_expect_eq(cfg->publish_detections, false);
    cr_expect_str_eq(cfg->log_level, "debug");

    cr_assert_eq(cfg->n_models, 1);
    const vg_model_config_t *m = vg_config_find_model(cfg, "yolo");
    cr_assert_eq(m, &cfg->models[0]);
    cr_expect_str_eq(m->path, "/m/yolo.onnx");
    cr_expect_str_eq(m->head, "yolov8");
    cr_expect_eq(m->input_w, 640);
    cr_expect_eq(m->input_h, 384);
    cr_expect_str_eq(m->labels, "/m/coco.txt");
    cr_expect_eq(m->threshold, 0.5);
    cr_expect_eq(m->nms_iou, 0.6);
    cr_expect_str_eq(m->precision, "bf16");
    cr_expect_str_eq(m->color, "bgr");
    cr_expect_eq(m->mean[0], 1.0f);
    cr_expect_eq(m->mean[1], 2.5f);
    cr_expect_eq(m->mean[2], 3.0f);
    for (int i = 0; i < 3; i++)
        cr_expect_eq(m->scale[i], 0.5f);
    cr_expect_eq(m->letterbox, false);
    cr_expect_eq(m->line, 27);
    cr_expect_null(vg_config_find_model(cfg, "nope"));

    cr_assert_eq(cfg->n_cameras, 2);
    const vg_camera_config_t *c = &cfg->cameras[0];
    cr_expect_str_eq(c->name, "gate-1");
    cr_expect_str_eq(c->url, "rtsp://192.0.2.1/s");
    cr_expect_eq(c->realtime, false);
    cr_expect_eq(c->loop, true);
    cr_expect_eq(c->analysis_fps, 2.5);
    cr_expect_eq(c->decode_threads, 0);
    cr_expect_eq(c->timeout_us, 120000000);
    cr_expect_str_eq(c->rtsp_transport, "udp");
    cr_expect_eq(c->ring_size, 16);
    cr_expect_str_eq(c->detect_model, "yolo");
    cr_expect_eq(c->detect_when, VG_DETECT_ALWAYS);
    cr_expect_eq(c->correct_mode, VG_CORRECT_MODE_LIST);
    cr_expect_eq(c->correct_mask, VG_CORRECT_DERAIN | VG_CORRECT_LOW_LIGHT);
    cr_expect_eq(c->motion_threshold, 40);
    cr_expect_eq(c->motion_min_area, 0.01);
    cr_expect_eq(c->motion_width, 640);
    cr_expect_eq(c->line, 11);
    cr_expect_eq(cfg->cameras[1].correct_mode, VG_CORRECT_MODE_AUTO);
    cr_expect_eq(cfg->cameras[1].line, 23);
    vg_config_free(&cfg);
    cr_expect_null(cfg);
    vg_config_free(&cfg); /* NULL is fine */
    vg_config_free(NULL);
}

static void expect_camera_defaults(const vg_camera_config_t *c) {
    cr_expect_eq(c->realtime, true);
    cr_expect_eq(c->loop, false);
    cr_expect_eq(c->analysis_fps, 5.0);
    cr_expect_eq(c->decode_threads, 1);
    cr_expect_eq(c->timeout_us, 10000000);
    cr_expect_str_eq(c->rtsp_transport, "tcp");
    cr_expect_eq(c->ring_size, 2);
    cr_expect_str_eq(c->detect_model, "");
    cr_expect_eq(c->detect_when, VG_DETECT_ON_MOTION);
    cr_expect_eq(c->correct_mode, VG_CORRECT_MODE_OFF);
    cr_expect_eq(c->correct_mask, 0u);
    cr_expect_eq(c->motion_threshold, 25);
    cr_expect_eq(c->motion_min_area, 0.002);
    cr_expect_eq(c->motion_width, 320);
}

static void expect_daemon_defaults(const vg_config_t *cfg) {
    cr_expect_str_eq(cfg->publish, "tcp://127.0.0.1:5555");
    cr_expect_str_eq(cfg->control, "tcp://127.0.0.1:5556");
    cr_expect_eq(cfg->workers, 0);
    cr_expect_str_eq(cfg->state_dir, "/var/lib/vigil");
    cr_expect_eq(cfg->stats_interval_us, 5000000);
    cr_expect_eq(cfg->publish_hwm, 1000);
    cr_expect_eq(cfg->publish_detections, true);
    cr_expect_str_eq(cfg->log_level, "info");
}

Test(config, defaults) {
    vg_config_t *cfg = parse_ok(MODEL CAM "    detect: { model: det }\n");
    expect_daemon_defaults(cfg);
    const vg_model_config_t *m = &cfg->models[0];
    cr_expect_null(m->labels);
    cr_expect_eq(m->threshold, -1, "unset: the model's own (its manifest's)");
    cr_expect_eq(m->nms_iou, -1, "unset: the model's own (its manifest's)");
    cr_expect_str_eq(m->precision, "fp32");
    cr_expect_str_eq(m->color, "rgb");
    for (int i = 0; i < 3; i++) {
        cr_expect_eq(m->mean[i], 0.0f);
        cr_expect(fabsf(m->scale[i] - 1.0f / 255.0f) < 1e-8f, "scale[%d] = %g", i, m->scale[i]);
    }
    cr_expect_eq(m->letterbox, true);
    cr_assert_eq(cfg->n_cameras, 1);
    cr_expect_str_eq(cfg->cameras[0].detect_model, "det");
    vg_camera_config_t c = cfg->cameras[0];
    c.detect_model[0] = '\0';
    expect_camera_defaults(&c);
    vg_config_free(&cfg);

    /* empty sections are allowed and give defaults */
    cfg = parse_ok("daemon:\nmodels:\ncameras:\n");
    expect_daemon_defaults(cfg);
    cr_expect_eq(cfg->n_models, 0);
    cr_expect_eq(cfg->n_cameras, 0);
    vg_config_free(&cfg);

    /* correct: [] is the same as off; a missing labels stays NULL, "" too */
    cfg = parse_ok(CAM "    correct: []\n" MODEL "    labels: \"\"\n");
    cr_expect_eq(cfg->cameras[0].correct_mode, VG_CORRECT_MODE_OFF);
    cr_expect_null(cfg->models[0].labels);
    vg_config_free(&cfg);
}

/* vigil replay --config keeps the daemon settings and replaces the cameras
 * by the one replayed: it lowers n_cameras and adds one, whose slot held the
 * config's first camera. Its URL must not leak (ASan: the suite's leak check). */
Test(config, add_camera_over_a_dropped_one_frees_it) {
    vg_config_t *cfg = parse_ok("cameras:\n  a:\n    url: rtsp://u:p@10.0.0.1/a\n  b:\n    url: /b.mp4\n");
    cfg->n_cameras = 0;
    vg_camera_config_t *c = vg_config_add_camera(cfg, "replay", "/clip.mp4");
    cr_assert_not_null(c);
    cr_expect_eq(c, &cfg->cameras[0]);
    cr_expect_str_eq(c->url, "/clip.mp4");
    cr_expect_eq(cfg->n_cameras, 1);
    vg_config_free(&cfg); /* frees cameras[1] too (every slot) */
}

Test(config, new_default_and_add_camera) {
    vg_config_t *cfg = NULL;
    cr_assert_eq(vg_config_new_default(&cfg), 0);
    expect_daemon_defaults(cfg);
    cr_expect_eq(cfg->n_cameras, 0);
    char url[] = "/tmp/clip.mp4";
    vg_camera_config_t *c = vg_config_add_camera(cfg, "replay", url);
    cr_assert_not_null(c);
    url[0] = 'X'; /* copied, not borrowed */
    cr_expect_str_eq(c->url, "/tmp/clip.mp4");
    cr_expect_str_eq(c->name, "replay");
    expect_camera_defaults(c);
    cr_expect_eq(cfg->n_cameras, 1);
    cr_expect_null(vg_config_add_camera(cfg, "bad name", "x"));
    cr_expect_null(vg_config_add_camera(cfg, "", "x"));
    cr_expect_null(vg_config_add_camera(cfg, "replay", "y"), "a second camera named replay");
    for (int i = 1; i < VG_CONFIG_MAX_CAMERAS; i++) {
        char name[16];
        snprintf(name, sizeof name, "c%d", i);
        cr_assert_not_null(vg_config_add_camera(cfg, name, "x"));
    }
    cr_expect_null(vg_config_add_camera(cfg, "full", "x"));
    cr_expect_eq(cfg->n_cameras, VG_CONFIG_MAX_CAMERAS);
    vg_config_free(&cfg);
}

Test(config, example_file_parses) {
    vg_config_t *cfg = NULL;
    char err[VG_CONFIG_ERROR_MAX];
    int r = vg_config_load(VIGIL_SOURCE_DIR "/etc/vigil.yaml", err, sizeof err, &cfg);
    cr_assert_eq(r, 0, "%s", err);
    cr_expect_eq(cfg->n_models, 2);
    const vg_model_config_t *d = vg_config_find_model(cfg, "detector");
    cr_assert_not_null(d);
    cr_expect_str_eq(d->path, "models/nanodet.onnx");
    cr_expect_str_eq(d->head, "nanodet");
    cr_expect_eq(d->input_w, 416);
    cr_expect_str_eq(d->labels, "models/coco80.txt");
    const vg_model_config_t *e = vg_config_find_model(cfg, "emotion");
    cr_assert_not_null(e);
    cr_expect_str_eq(e->head, "classifier");
    cr_expect_str_eq(e->color, "gray");
    cr_expect_eq(e->input_w, 64);
    cr_expect_str_eq(e->labels, "models/emotion7.txt");
    cr_assert_eq(cfg->n_cameras, 1);
    cr_expect_str_eq(cfg->cameras[0].name, "street");
    cr_expect_str_eq(cfg->cameras[0].url, "/var/lib/vigil/footage/vtest.avi");
    cr_expect_str_eq(cfg->cameras[0].detect_model, "detector");
    cr_expect_eq(cfg->cameras[0].correct_mode, VG_CORRECT_MODE_AUTO);
    vg_config_free(&cfg);
}

/* ------------------------------------------------------------------ faces */

Test(config, faces) {
    static const char *models = "models:\n"
                                "  det: { path: d.onnx, head: nanodet, input: [416, 416] }\n"
                                "  face: { path: f.onnx, head: ssd, input: [256, 256] }\n"
                                "  emo: { path: e.onnx, head: classifier, input: [64, 64] }\n";
    char text[1024];
    snprintf(text, sizeof text, "%scameras:\n  a:\n    url: x\n    detect: { model: det }\n"
             "    faces: { model: face, expression: emo, on: frame }\n  b:\n    url: y\n", models);
    vg_config_t *cfg = parse_ok(text);
    cr_expect_str_eq(cfg->cameras[0].faces_model, "face");
    cr_expect_str_eq(cfg->cameras[0].faces_expression, "emo");
    cr_expect_eq(cfg->cameras[0].faces_on, VG_FACES_ON_FRAME);
    /* default: off, on person boxes */
    cr_expect_str_eq(cfg->cameras[1].faces_model, "");
    cr_expect_str_eq(cfg->cameras[1].faces_expression, "");
    cr_expect_eq(cfg->cameras[1].faces_on, VG_FACES_ON_PERSON);
    cr_expect_not(vg_camera_config_equal(&cfg->cameras[0], &cfg->cameras[1]));
    /* each faces key counts for reload equality */
    static const char *changes[][2] = {
        {"model: face,", "model: det,"}, {"expression: emo", "expression: face"}, {"on: frame", "on: person"}};
    for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
        char v[1024];
        const char *at = strstr(text, changes[i][0]);
        cr_assert_not_null(at);
        snprintf(v, sizeof v, "%.*s%s%s", (int)(at - text), text, changes[i][1], at + strlen(changes[i][0]));
        vg_config_t *o = parse_ok(v);
        cr_expect_not(vg_camera_config_equal(&cfg->cameras[0], &o->cameras[0]), "'%s' -> '%s' unnoticed",
                      changes[i][0], changes[i][1]);
        vg_config_free(&o);
    }
    /* faces only (no classifier) and no detector: fine */
    vg_config_t *only = parse_ok("models:\n  face: { path: f.onnx, head: ssd, input: [256, 256] }\n"
                                 "cameras:\n  a: { url: x, faces: { model: face } }\n");
    cr_expect_str_eq(only->cameras[0].faces_model, "face");
    cr_expect_str_eq(only->cameras[0].detect_model, "");
    vg_config_free(&only);
    vg_config_free(&cfg);
}

/* cameras.X.classify: a model reference and a list of the detector's labels. */
Test(config, classify)
{
    const char *text = "models:\n  det: { path: d.onnx, head: nanodet, input: [416, 416] }\n"
                       "  cls: { path: c.onnx, head: classifier, input: [32, 32] }\n"
                       "cameras:\n  a:\n    url: x\n    detect: { model: det }\n"
                       "    classify: { model: cls, on: [person, \"traffic light\"] }\n"
                       "  b: { url: y, classify: { model: cls } }\n  c: { url: z }\n";
    vg_config_t *cfg = parse_ok(text);
    cr_expect_str_eq(cfg->cameras[0].classify_model, "cls");
    cr_expect_str_eq(cfg->cameras[0].classify_on, "person,traffic light");
    cr_expect_str_eq(cfg->cameras[1].classify_on, "person", "default: person boxes");
    cr_expect_str_eq(cfg->cameras[2].classify_model, "");
    vg_config_t *o = parse_ok("models:\n  det: { path: d.onnx, head: nanodet, input: [416, 416] }\n"
                              "  cls: { path: c.onnx, head: classifier, input: [32, 32] }\n"
                              "cameras:\n  a:\n    url: x\n    detect: { model: det }\n"
                              "    classify: { model: cls, on: car }\n");
    cr_expect_str_eq(o->cameras[0].classify_on, "car", "one label without brackets");
    cr_expect_not(vg_camera_config_equal(&cfg->cameras[0], &o->cameras[0]), "classify.on counts for reload");
    vg_config_free(&o);
    vg_config_free(&cfg);
    char err[VG_CONFIG_ERROR_MAX];
    o = NULL;
    cr_expect_lt(parse("cameras:\n  a: { url: x, classify: { model: nope } }\n", &o, err, sizeof err), 0);
    cr_expect(strstr(err, "classify.model") != NULL && strstr(err, "nope") != NULL, "%s", err);
    cr_expect_lt(parse("cameras:\n  a: { url: x, classify: { on: [\"a,b\"] } }\n", &o, err, sizeof err), 0);
    cr_expect(strstr(err, "without commas") != NULL, "%s", err);
}

/* ------------------------------------------------------- reload equality */

static const char *cam_base = "cameras:\n"
                              "  a:\n"
                              "    url: rtsp://h/1\n"
                              "    realtime: true\n"
                              "    loop: false\n"
                              "    analysis_fps: 5\n"
                              "    decode_threads: 1\n"
                              "    timeout: 10s\n"
                              "    rtsp_transport: tcp\n"
                              "    ring_size: 2\n"
                              "    detect: { model: m, when: on_motion }\n"
                              "    correct: [dehaze]\n"
                              "    motion: { threshold: 25, min_area: 0.002, width: 320 }\n"
                              "models:\n"
                              "  m: { path: m.onnx, head: ssd, input: [300, 300] }\n"
                              "  n: { path: n.onnx, head: ssd, input: [300, 300] }\n";

/* cam_base with `from` replaced by `to` */
static vg_config_t *variant(const char *from, const char *to) {
    char text[2048];
    const char *at = strstr(cam_base, from);
    cr_assert_not_null(at, "'%s' not in the base config", from);
    snprintf(text, sizeof text, "%.*s%s%s", (int)(at - cam_base), cam_base, to, at + strlen(from));
    return parse_ok(text);
}

Test(config, camera_equality) {
    static const char *changes[][2] = {
        {"a:\n", "b:\n"},
        {"rtsp://h/1", "rtsp://h/2"},
        {"realtime: true", "realtime: false"},
        {"loop: false", "loop: true"},
        {"analysis_fps: 5", "analysis_fps: 5.5"},
        {"decode_threads: 1", "decode_threads: 2"},
        {"timeout: 10s", "timeout: 11s"},
        {"rtsp_transport: tcp", "rtsp_transport: udp"},
        {"ring_size: 2", "ring_size: 8"},
        {"model: m,", "model: n,"},
        {"when: on_motion", "when: always"},
        {"correct: [dehaze]", "correct: auto"},
        {"correct: [dehaze]", "correct: [dehaze, denoise]"},
        {"threshold: 25", "threshold: 26"},
        {"min_area: 0.002", "min_area: 0.003"},
        {"width: 320", "width: 321"},
    };
    vg_config_t *base = parse_ok(cam_base);
    for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
        vg_config_t *v = variant(changes[i][0], changes[i][1]);
        cr_expect_not(vg_camera_config_equal(&base->cameras[0], &v->cameras[0]),
                      "changing '%s' to '%s' went unnoticed", changes[i][0], changes[i][1]);
        vg_config_free(&v);
    }
    /* Moved down by a comment, keys reordered, defaults spelled out or not:
     * the camera runs the same and must not be restarted. */
    vg_config_t *same = variant("cameras:\n", "# a comment\n\ncameras:\n");
    cr_expect_neq(same->cameras[0].line, base->cameras[0].line);
    cr_expect(vg_camera_config_equal(&base->cameras[0], &same->cameras[0]));
    vg_config_free(&same);
    same = parse_ok("models:\n  m: { path: m.onnx, head: ssd, input: [300, 300] }\n"
                    "cameras:\n  a:\n    correct: [dehaze]\n    detect: { model: m }\n"
                    "    url: rtsp://h/1\n");
    cr_expect(vg_camera_config_equal(&base->cameras[0], &same->cameras[0]));
    vg_config_free(&same);
    vg_config_free(&base);
}

Test(config, model_equality) {
    static const char *changes[][2] = {
        {"path: m.onnx", "path: m2.onnx"}, {"head: ssd", "head: yolov5"},
        {"input: [300, 300]", "input: [300, 301]"}, {"{ path: m.onnx", "{ labels: l.txt, path: m.onnx"},
        {"{ path: m.onnx", "{ threshold: 0.3, path: m.onnx"}, {"{ path: m.onnx", "{ nms_iou: 0.3, path: m.onnx"},
        {"{ path: m.onnx", "{ precision: bf16, path: m.onnx"}, {"{ path: m.onnx", "{ color: bgr, path: m.onnx"},
        {"{ path: m.onnx", "{ mean: 1, path: m.onnx"},   {"{ path: m.onnx", "{ scale: 1, path: m.onnx"},
        {"{ path: m.onnx", "{ letterbox: false, path: m.onnx"},
    };
    vg_config_t *base = parse_ok(cam_base);
    for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
        vg_config_t *v = variant(changes[i][0], changes[i][1]);
        cr_expect_not(vg_model_config_equal(&base->models[0], &v->models[0]),
                      "changing '%s' to '%s' went unnoticed", changes[i][0], changes[i][1]);
        vg_config_free(&v);
    }
    vg_config_t *same = variant("{ path: m.onnx", "{ precision: fp32, path: m.onnx");
    cr_expect(vg_model_config_equal(&base->models[0], &same->models[0]));
    vg_config_free(&same);
    vg_config_free(&base);
}

Test(config, find_camera) {
    vg_config_t *cfg = parse_ok(full);
    cr_expect_eq(vg_config_find_camera(cfg, "yard_2"), &cfg->cameras[1]);
    cr_expect_eq(vg_config_find_camera(cfg, "gate-1"), &cfg->cameras[0]);
    cr_expect_null(vg_config_find_camera(cfg, "yard"));
    cr_expect_null(vg_config_find_camera(cfg, NULL));
    vg_config_free(&cfg);
}

static void touch(const char *path) {
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot create %s", path);
    fclose(f);
}

/* Relative paths: state_dir first, then the config file's folder. */
Test(config, resolve_path) {
    char tmpl[] = "/tmp/vigil-config-XXXXXX", p[4096], text[1024], err[VG_CONFIG_ERROR_MAX];
    const char *dir = mkdtemp(tmpl);
    cr_assert_not_null(dir);
    snprintf(p, sizeof p, "%s/state", dir);
    cr_assert_eq(mkdir(p, 0700), 0);
    snprintf(p, sizeof p, "%s/etc", dir);
    cr_assert_eq(mkdir(p, 0700), 0);
    snprintf(p, sizeof p, "%s/state/both.onnx", dir);
    touch(p);
    snprintf(p, sizeof p, "%s/etc/both.onnx", dir);
    touch(p);
    snprintf(p, sizeof p, "%s/etc/beside.onnx", dir);
    touch(p);
    snprintf(p, sizeof p, "%s/etc/vigil.yaml", dir);
    snprintf(text, sizeof text, "daemon: { state_dir: %s/state }\n", dir);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    vg_config_t *cfg = NULL;
    cr_assert_eq(vg_config_load(p, err, sizeof err, &cfg), 0, "%s", err);

    char buf[4096], want[4096];
    cr_expect_eq(vg_config_resolve_path(cfg, "both.onnx", buf, sizeof buf), 0);
    snprintf(want, sizeof want, "%s/state/both.onnx", dir);
    cr_expect_str_eq(buf, want);
    cr_expect_eq(vg_config_resolve_path(cfg, "beside.onnx", buf, sizeof buf), 0);
    snprintf(want, sizeof want, "%s/etc/beside.onnx", dir);
    cr_expect_str_eq(buf, want);
    cr_expect_eq(vg_config_resolve_path(cfg, "absent.onnx", buf, sizeof buf), -ENOENT);
    snprintf(want, sizeof want, "%s/state/absent.onnx", dir);
    cr_expect_str_eq(buf, want);
    cr_expect_eq(vg_config_resolve_path(cfg, want, buf, sizeof buf), -ENOENT);
    snprintf(want, sizeof want, "%s/etc/beside.onnx", dir);
    cr_expect_eq(vg_config_resolve_path(cfg, want, buf, sizeof buf), 0);
    cr_expect_str_eq(buf, want);
    cr_expect_eq(vg_config_resolve_path(cfg, "both.onnx", buf, 8), -ENAMETOOLONG);
    cr_expect_eq(vg_config_resolve_path(cfg, "", buf, sizeof buf), -EINVAL);
    vg_config_free(&cfg);

    const char *names[] = {"state/both.onnx", "etc/both.onnx", "etc/beside.onnx", "etc/vigil.yaml",
                           "state", "etc", ""};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        cr_expect_eq(remove(p), 0, "cannot remove %s", p);
    }
}

/* YAML merge keys: cameras share settings through an anchor. */
Test(config, merge_keys) {
    vg_config_t *cfg = parse_ok("models:\n"
                                "  det: { path: d.onnx, head: ssd, input: [300, 300] }\n"
                                "cameras:\n"
                                "  a: &cam\n"
                                "    url: rtsp://h/a\n"
                                "    analysis_fps: 2\n"
                                "    detect: { model: det, when: always }\n"
                                "    motion: { threshold: 40 }\n"
                                "  b:\n"
                                "    url: rtsp://h/b\n" /* explicit keys win, before or after << */
                                "    <<: *cam\n"
                                "    motion: { width: 640 }\n"
                                "  c:\n"
                                "    <<: [{ analysis_fps: 7, loop: true }, *cam]\n"
                                "    url: rtsp://h/c\n");
    cr_assert_eq(cfg->n_cameras, 3);
    const vg_camera_config_t *b = &cfg->cameras[1], *c = &cfg->cameras[2];
    cr_expect_str_eq(b->url, "rtsp://h/b");
    cr_expect_eq(b->analysis_fps, 2.0);
    cr_expect_str_eq(b->detect_model, "det");
    cr_expect_eq(b->detect_when, VG_DETECT_ALWAYS);
    cr_expect_eq(b->motion_threshold, 25, "motion: is replaced whole, not merged key by key");
    cr_expect_eq(b->motion_width, 640);
    cr_expect_str_eq(c->url, "rtsp://h/c");
    cr_expect_eq(c->analysis_fps, 7.0, "the first merge source wins");
    cr_expect_eq(c->loop, true);
    cr_expect_eq(c->motion_threshold, 40);
    cr_expect_eq(c->line, 13);
    vg_config_free(&cfg);

    static const bad_t merge_bad[] = {
        {CAM "  b:\n    <<: 5\n", "t.yaml:5: cameras.b: expected a mapping to merge"},
        {CAM "  b:\n    <<: [5]\n", "t.yaml:5: cameras.b: expected a mapping to merge"},
        {"cameras:\n  a: &c\n    url: x\n    <<: *c\n", "t.yaml:4: cameras.a.<<: merges nested too deep or too many"},
        {"cameras:\n  a: &c\n    url: x\n    detect: { model: nope }\n  b:\n    <<: *c\n",
         "t.yaml:4: cameras.a.detect.model: no model named 'nope' (no models are defined)"},
        {"x: &c { url: y }\n", "t.yaml:1: x: unknown key"},
        {CAM "  b:\n    <<: { url: y, fps: 5 }\n", "t.yaml:5: cameras.b.fps: unknown key"},
        {CAM "  b:\n    <<: { url: y }\n    <<: { url: z }\n",
         "t.yaml:6: cameras.b.<<: duplicate key (first on line 5)"},
    };
    for (size_t i = 0; i < sizeof merge_bad / sizeof merge_bad[0]; i++) {
        char err[VG_CONFIG_ERROR_MAX] = "";
        cr_expect_eq(parse(merge_bad[i].yaml, &cfg, err, sizeof err), -EINVAL, "case %zu", i);
        cr_expect_str_eq(err, merge_bad[i].error, "case %zu:\n   got: %s\nwanted: %s", i, err,
                         merge_bad[i].error);
    }
}

/* -------------------------------------------------------------- durations */

Test(config, durations) {
    static const struct {
        const char *text;
        int64_t us;
    } good[] = {
        {"250us", 250},         {"500ms", 500000},     {"5s", 5000000},   {"2m", 120000000},
        {"1h", 3600000000LL},   {"0s", 0},             {"1.5s", 1500000}, {"0.25ms", 250},
        {"48h", 172800000000LL}, {"10d", 864000000000LL},
    };
    static const char *const refused[] = {"5", "0", "", "s", "5 s", " 5s", "-5s", "5sec", "5S",
                                          "5w", "ms", "5ms5", ".5s", "nans", "infs"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t us = -1;
        cr_expect_eq(vg_config_parse_duration(good[i].text, &us), 0, "'%s' refused", good[i].text);
        cr_expect_eq(us, good[i].us, "'%s' gave %lld", good[i].text, (long long)us);
    }
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        int64_t us = 42;
        cr_expect_eq(vg_config_parse_duration(refused[i], &us), -EINVAL, "'%s' accepted", refused[i]);
        cr_expect_eq(us, 42, "'%s': ret_us touched on failure", refused[i]);
    }
    int64_t us;
    cr_expect_eq(vg_config_parse_duration(NULL, &us), -EINVAL);
    /* durations, but too long for any key: the caller says "out of range" */
    static const char *const huge[] = {"99999999999999h", "1e400s", "9300000000000000000us"};
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        us = 42;
        cr_expect_eq(vg_config_parse_duration(huge[i], &us), -ERANGE, "'%s'", huge[i]);
        cr_expect_eq(us, 42);
    }
}

/* A model's preprocessing keys written out are marked, so that one that
 * contradicts the model's manifest is refused; defaults are not marked. */
Test(config, model_keys_written_out_are_told_from_defaults) {
    vg_config_t *cfg = parse_ok(MODEL "    color: rgb\n    letterbox: true\n"
                                "  other:\n    path: o.onnx\n    head: ssd\n    input: [300, 300]\n"
                                "    mean: 0.5\n    scale: [1, 1, 1]\n");
    const vg_model_config_t *a = vg_config_find_model(cfg, "det"), *b = vg_config_find_model(cfg, "other");
    cr_expect_eq(a->given, VG_MODEL_GIVEN_HEAD | VG_MODEL_GIVEN_INPUT | VG_MODEL_GIVEN_COLOR |
                               VG_MODEL_GIVEN_LETTERBOX);
    cr_expect_eq(b->given, VG_MODEL_GIVEN_HEAD | VG_MODEL_GIVEN_INPUT | VG_MODEL_GIVEN_MEAN |
                               VG_MODEL_GIVEN_SCALE);
    cr_expect_eq(a->line_path, 3);
    cr_expect_eq(a->line_head, 4);
    cr_expect_eq(a->line_color, 6);
    cr_expect_eq(b->line_mean, 12);
    /* the same values, one written out and one defaulted, are not equal:
     * reload must check the written one against the manifest */
    vg_config_t *d = parse_ok(MODEL);
    cr_expect_not(vg_model_config_equal(a, vg_config_find_model(d, "det")));
    vg_config_free(&d);
    vg_config_free(&cfg);
}

/* daemon.publish/control/metrics lines are kept for later checks. */
Test(config, daemon_endpoint_lines) {
    vg_config_t *cfg = parse_ok("daemon:\n  workers: 1\n  publish: ipc:///tmp/x\n  metrics: 127.0.0.1:9108\n");
    cr_expect_eq(cfg->line_publish, 3);
    cr_expect_eq(cfg->line_metrics, 4);
    cr_expect_eq(cfg->line_control, 0);
    vg_config_free(&cfg);
}

/* ------------------------------------------------------------------- docs */

static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0;
    FILE *out = open_memstream(&buf, &cap);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, n, out);
    fclose(f);
    fclose(out);
    *len = cap;
    return buf;
}

Test(config, docs_match_the_schema) {
    char *dump = NULL;
    size_t dump_len = 0;
    FILE *out = open_memstream(&dump, &dump_len);
    cr_assert_eq(vg_config_dump_schema(out), 0);
    fclose(out);
    /* Leave the fresh dump in the build folder, to copy over docs/config.md. */
    const char *build = getenv("VIGIL_BUILD_DIR");
    char fresh[4096];
    snprintf(fresh, sizeof fresh, "%s/config.md", build ? build : ".");
    FILE *f = fopen(fresh, "w");
    if (f) {
        fwrite(dump, 1, dump_len, f);
        fclose(f);
    }
    size_t doc_len = 0;
    char *doc = read_all(VIGIL_SOURCE_DIR "/docs/config.md", &doc_len);
    cr_assert_not_null(doc, "docs/config.md is missing");
    cr_expect(doc_len == dump_len && memcmp(doc, dump, dump_len) == 0,
              "docs/config.md differs from the schema; regenerate: cp %s %s/docs/config.md", fresh,
              VIGIL_SOURCE_DIR);

    /* Every key of the schema is shown (and commented) in etc/vigil.yaml. */
    size_t ex_len = 0;
    char *example = read_all(VIGIL_SOURCE_DIR "/etc/vigil.yaml", &ex_len);
    cr_assert_not_null(example);
    int keys = 0;
    for (char *row = strstr(dump, "\n| `"); row; row = strstr(row + 1, "\n| `")) {
        char key[128];
        if (sscanf(row, "\n| `%127[^`]`", key) != 1)
            continue;
        const char *leaf = strrchr(key, '.');
        leaf = leaf ? leaf + 1 : key;
        char needle[140];
        snprintf(needle, sizeof needle, "%s:", leaf);
        cr_expect_not_null(strstr(example, needle), "etc/vigil.yaml does not show '%s'", key);
        keys++;
    }
    cr_expect_eq(keys, 21 + 11 + 43 + 8 + 5, "the dump lists %d keys", keys);
    free(example);
    free(doc);
    free(dump);
}

/* zones, lines, masks and per-label filters land in the camera's config,
 * normalised or pixel polygons told apart, required_zones marked. */
Test(config, objects_zones_lines_and_masks) {
    vg_config_t *cfg = NULL;
    char err[VG_CONFIG_ERROR_MAX] = "";
    const char *text = "cameras:\n  a:\n    url: x\n"
                       "    track: { min_hits: 2, lost_after: 5s, low_score: 0.2 }\n"
                       "    objects:\n      person: { min_score: 0.4, mask: [[[0, 0], [100, 0], [100, 50]]] }\n"
                       "    zones:\n      drive: { points: [[0.1, 0.5], [0.9, 0.5], [0.9, 1.0], [0.1, 1.0]], "
                       "inertia: 2, loitering_time: 30s, labels: [person, car] }\n"
                       "      street: { points: [[0, 0], [640, 0], [640, 100]] }\n"
                       "    required_zones: [drive]\n"
                       "    lines:\n      gate: { points: [[0.5, 0.2], [0.5, 0.9]] }\n"
                       "    motion_mask: [[[0.8, 0], [1, 0], [1, 0.1], [0.8, 0.1]]]\n"
                       "    snapshots: { enabled: true, height: 360, retain: 2d }\n";
    cr_assert_eq(parse(text, &cfg, err, sizeof err), 0, "%s", err);
    const vg_camera_config_t *c = &cfg->cameras[0];
    cr_expect_eq(c->track_min_hits, 2);
    cr_expect_eq(c->track_lost_after_us, 5000000);
    cr_expect_float_eq(c->track_low_score, 0.2, 1e-9);
    cr_assert_eq(c->n_objects, 1);
    cr_expect_str_eq(c->objects[0].label, "person");
    cr_expect_float_eq(c->objects[0].filter.min_score, 0.4f, 1e-6);
    cr_expect_lt(c->objects[0].filter.threshold, 0, "not given: the default");
    cr_expect_eq(c->objects[0].n_mask, 1);
    cr_expect(0 == (c->objects[0].mask[0].normalized));
    cr_assert_eq(c->n_zones, 2);
    cr_expect_str_eq(c->zones[0].name, "drive");
    cr_expect(c->zones[0].poly.normalized && c->zones[0].poly.n == 4 && c->zones[0].required);
    cr_expect_eq(c->zones[0].inertia, 2);
    cr_expect_float_eq(c->zones[0].loitering_time, 30.0, 1e-9);
    cr_expect_eq(c->zones[0].n_labels, 2);
    cr_expect_str_eq(c->zones[0].labels[1], "car");
    cr_expect(c->zones[1].poly.normalized == false && c->zones[1].required == false && c->zones[1].inertia == 3);
    cr_assert_eq(c->n_lines, 1);
    cr_expect(c->lines[0].normalized && c->lines[0].a.x == 0.5f && c->lines[0].b.y == 0.9f);
    cr_expect_eq(c->n_motion_mask, 1);
    cr_expect(c->snap_enabled && c->snap_height == 360 && c->snap_retain_us == 2 * 86400000000LL);
    /* a changed zone is a changed camera (reload restarts it) */
    vg_config_t *cfg2 = NULL;
    cr_assert_eq(parse(text, &cfg2, err, sizeof err), 0, "%s", err);
    cr_expect(vg_camera_config_equal(&cfg->cameras[0], &cfg2->cameras[0]));
    cfg2->cameras[0].zones[0].inertia = 4;
    cr_expect(0 == (vg_camera_config_equal(&cfg->cameras[0], &cfg2->cameras[0])));
    vg_config_free(&cfg2);
    vg_config_free(&cfg);
}
