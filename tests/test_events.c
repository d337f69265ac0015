/* pipeline/events, zones and snapshot on synthetic tracks: the lifecycle
 * (start once confirmed, no event for a one-frame detection, end after
 * lost_after with a reason, coasting ages nothing, ids never reused), zones
 * (enter, leave, inertia, loitering, labels, required_zones), lines (both
 * directions, counters), object masks, and snapshots (the best unclipped
 * frame is the one chosen; the JPEG decodes). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>
#include <turbojpeg.h>

#include "pipeline/events.h"
#include "pipeline/snapshot.h"
#include "pipeline/zones.h"

#define W 640
#define H 480

static const char *const labels[] = {"person", "car", "dog"};

/* Every event message, parsed. */
typedef struct {
    json_t *msgs[4096];
    int n;
} sink_t;

static int sink_emit(void *emitter, const char *topic, const char *camera, const char *json, size_t len)
{
    sink_t *s = emitter;
    cr_assert_str_eq(topic, "event.cam");
    cr_assert_str_eq(camera, "cam");
    json_error_t e;
    json_t *m = json_loadb(json, len, 0, &e);
    cr_assert_not_null(m, "not JSON: %.*s", (int)len, json);
    cr_assert_lt(s->n, 4096);
    s->msgs[s->n++] = m;
    return 0;
}

static void sink_free(sink_t *s)
{
    for (int i = 0; i < s->n; i++)
        json_decref(s->msgs[i]);
    s->n = 0;
}

static const char *str(json_t *m, const char *k) { return json_string_value(json_object_get(m, k)); }

/* Messages of type `type` ("" = any). */
static int count(const sink_t *s, const char *type)
{
    int n = 0;
    for (int i = 0; i < s->n; i++)
        n += !type[0] || strcmp(str(s->msgs[i], "type"), type) == 0;
    return n;
}

/* The last message with `key` containing string `value` in its array. */
static bool array_has(json_t *m, const char *key, const char *value)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(m, key), i, v) if (json_is_string(v) && strcmp(json_string_value(v), value) == 0)
        return true;
    return false;
}

static vg_events_config_t base_config(void)
{
    vg_events_config_t c = {.camera = "cam", .threshold = 0.5f, .update_every_s = 0.001, .labels = labels,
                            .n_labels = 3};
    vg_track_config_default(&c.track);
    return c;
}

static vg_events_frame_t frame(double t)
{
    return (vg_events_frame_t){.wall_us = 1800000000000000LL + (int64_t)(t * 1e6), .pts = (int64_t)(t * 10),
                               .pts_time = t, .width = W, .height = H};
}

/* A person 40x100 whose bottom centre is at (x, y). */
static vg_det_t person_at(float x, float y, float score)
{
    return (vg_det_t){.x1 = x - 20, .y1 = y - 100, .x2 = x + 20, .y2 = y, .score = score, .label = 0};
}

static vg_polygon_t rect(float x1, float y1, float x2, float y2, bool normalized)
{
    return (vg_polygon_t){.n = 4, .normalized = normalized, .p = {{x1, y1}, {x2, y1}, {x2, y2}, {x1, y2}}};
}

Test(events, confirmed_tracks_start_end_after_lost_after_and_ids_are_not_reused)
{
    vg_events_config_t c = base_config();
    c.update_every_s = 1;
    vg_events_t *e;
    cr_assert_eq(vg_events_new(&c, &e), 0);
    sink_t s = {0};
    double t = 0;
    /* a false positive seen in one frame only: no event, ever */
    vg_det_t fp = person_at(500, 400, 0.9f);
    vg_events_detected(e, &(vg_events_frame_t){0}, NULL, NULL, 0, sink_emit, &s, NULL); /* an empty first frame */
    vg_events_frame_t f = frame(t += 0.2);
    vg_events_detected(e, &f, &fp, NULL, 1, sink_emit, &s, NULL);
    /* a person walking for 4 s */
    uint64_t ids[1];
    for (int i = 0; i < 20; i++) {
        vg_det_t d = person_at(100 + 10 * i, 300, 0.8f);
        f = frame(t += 0.2);
        vg_events_detected(e, &f, &d, NULL, 1, sink_emit, &s, ids);
        cr_assert_gt(ids[0], 0);
    }
    cr_expect_eq(count(&s, "start"), 1, "one start: the one-frame detection makes none");
    cr_expect_eq(count(&s, "update"), 0, "walking alone is not a material change");
    /* the detector skips a minute of frames (on_motion, nothing moved): no end */
    for (int i = 0; i < 300; i++) {
        f = frame(t += 0.2);
        vg_events_coast(e, &f, sink_emit, &s);
    }
    cr_expect_eq(count(&s, "end"), 0, "coasting ages nothing");
    /* then it runs and sees nothing: the end after lost_after (3 s) */
    int frames = 0;
    while (count(&s, "end") == 0 && frames < 100) {
        f = frame(t += 0.2);
        vg_events_detected(e, &f, NULL, NULL, 0, sink_emit, &s, NULL);
        frames++;
    }
    cr_assert_eq(count(&s, "end"), 1);
    cr_expect(frames >= 14 && frames <= 17, "ended after %d frames of 0.2 s (lost_after 3 s)", frames);
    json_t *start = s.msgs[0], *end = s.msgs[s.n - 1];
    cr_expect_str_eq(str(end, "reason"), "not seen");
    cr_expect_str_eq(str(start, "id"), str(end, "id"));
    cr_expect(json_is_string(json_object_get(end, "end")) && json_is_null(json_object_get(start, "end")));
    cr_expect_str_eq(str(start, "label"), "person");
    /* every documented field is there */
    static const char *const fields[] = {"time", "pts", "pts_time", "type", "id", "track_id", "label", "score",
                                         "top_score", "box", "area", "velocity", "stationary", "stationary_since",
                                         "zones", "entered_zones", "loitering", "crossed", "has_snapshot",
                                         "attributes", "start", "start_pts_time", "end"};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        cr_expect_not_null(json_object_get(start, fields[i]), "start lacks %s", fields[i]);
    /* the end's box is where the person was last seen, walking right at 50 px/s */
    json_t *box = json_object_get(end, "box");
    cr_expect_eq(json_integer_value(json_array_get(box, 0)), 100 + 10 * 19 - 20);
    double vx = json_number_value(json_array_get(json_object_get(start, "velocity"), 0));
    cr_expect(vx > 30 && vx < 70, "velocity %g px/s, walking at 50", vx);
    /* a second person at the same place later: a new id */
    for (int i = 0; i < 5; i++) {
        vg_det_t d = person_at(100, 300, 0.8f);
        f = frame(t += 0.2);
        vg_events_detected(e, &f, &d, NULL, 1, sink_emit, &s, NULL);
    }
    cr_assert_eq(count(&s, "start"), 2);
    const char *id2 = NULL;
    for (int i = 0; i < s.n; i++)
        if (!strcmp(str(s.msgs[i], "type"), "start"))
            id2 = str(s.msgs[i], "id");
    cr_expect_str_neq(id2, str(start, "id"), "ids are never reused");
    /* flushing ends it with the reason given */
    vg_events_flush(e, "vigil stopping", sink_emit, &s);
    cr_expect_eq(count(&s, "end"), 2);
    cr_expect_str_eq(str(s.msgs[s.n - 1], "reason"), "vigil stopping");
    cr_expect_eq(vg_events_started(e), 2);
    sink_free(&s);
    vg_events_free(&e);
}

/* A person walks across a zone and back out; with inertia 3, entering and
 * leaving count after 3 frames; loitering after 2 s; a dog (not in the
 * zone's labels) never enters. */
Test(events, zones_enter_leave_inertia_loiter_and_labels)
{
    vg_zone_t z = {.name = "yard", .poly = rect(0.25f, 0.5f, 0.75f, 1.0f, true), .inertia = 3,
                   .loitering_time = 2.0, .n_labels = 1, .labels = {"person"}};
    vg_events_config_t c = base_config();
    c.zones = &z;
    c.n_zones = 1;
    vg_events_t *e;
    cr_assert_eq(vg_events_new(&c, &e), 0);
    sink_t s = {0};
    double t = 0;
    /* the zone is x 160..480, y 240..480 */
    int entered_at = -1, left_at = -1, loiter_at = -1;
    for (int i = 0; i < 60; i++) {
        float x = i < 30 ? 105 + 10 * i : 105 + 10 * (60 - i); /* in, then back out */
        vg_det_t d[2] = {person_at(x, 400, 0.9f), {.x1 = x - 15, .y1 = 420, .x2 = x + 15, .y2 = 450, .score = 0.9f,
                                                   .label = 2}};
        vg_events_frame_t f = frame(t += 0.2);
        int before = s.n;
        vg_events_detected(e, &f, d, NULL, 2, sink_emit, &s, NULL);
        for (int k = before; k < s.n; k++) {
            json_t *m = s.msgs[k];
            if (strcmp(str(m, "label"), "dog") == 0) {
                cr_expect_eq(json_array_size(json_object_get(m, "zones")), 0, "the zone is about people");
                continue;
            }
            if (entered_at < 0 && array_has(m, "zones", "yard"))
                entered_at = i;
            if (entered_at >= 0 && left_at < 0 && !array_has(m, "zones", "yard"))
                left_at = i;
            if (loiter_at < 0 && array_has(m, "loitering", "yard"))
                loiter_at = i;
        }
    }
    /* the bottom centre is inside from x = 165 (i = 6); with inertia 3, counted at i = 8 */
    cr_expect_eq(entered_at, 8, "entered at frame %d", entered_at);
    /* outside from x = 155 (i = 55); counted at i = 57 */
    cr_expect_eq(left_at, 57, "left at frame %d", left_at);
    /* 2 s (10 frames) after entering */
    cr_expect_eq(loiter_at, 18, "loitering at frame %d", loiter_at);
    /* the update that says it entered names the change */
    bool zone_change = false;
    for (int i = 0; i < s.n; i++)
        if (!strcmp(str(s.msgs[i], "type"), "update")) {
            size_t k;
            json_t *v;
            json_array_foreach(json_object_get(s.msgs[i], "changes"), k, v) zone_change |=
                !strcmp(json_string_value(v), "zone");
        }
    cr_expect(zone_change);
    sink_free(&s);
    vg_events_free(&e);
}

/* A brief step into the zone, shorter than the inertia, is not an entry. */
Test(events, inertia_ignores_a_brief_step_in)
{
    vg_zone_t z = {.name = "yard", .poly = rect(200, 0, 640, 480, false), .inertia = 3};
    vg_events_config_t c = base_config();
    c.zones = &z;
    c.n_zones = 1;
    vg_events_t *e;
    cr_assert_eq(vg_events_new(&c, &e), 0);
    sink_t s = {0};
    double t = 0;
    for (int i = 0; i < 20; i++) {
        float x = (i == 8 || i == 9) ? 220 : 150; /* two frames inside */
        vg_det_t d = person_at(x, 400, 0.9f);
        vg_events_frame_t f = frame(t += 0.2);
        vg_events_detected(e, &f, &d, NULL, 1, sink_emit, &s, NULL);
    }
    for (int i = 0; i < s.n; i++)
        cr_expect_eq(json_array_size(json_object_get(s.msgs[i], "entered_zones")), 0);
    sink_free(&s);
    vg_events_free(&e);
}

/* required_zones: the person in the street never starts an event; the one
 * who walks into the driveway does, once inside. */
Test(events, required_zones_start_only_objects_that_entered)
{
    vg_zone_t z = {.name = "drive", .poly = rect(0, 0.6f, 1, 1, true), .inertia = 1, .required = true};
    vg_events_config_t c = base_config();
    c.zones = &z;
    c.n_zones = 1;
    vg_events_t *e;
    cr_assert_eq(vg_events_new(&c, &e), 0);
    sink_t s = {0};
    double t = 0;
    int started_at = -1;
    for (int i = 0; i < 30; i++) {
        vg_det_t d[2] = {person_at(100, 200, 0.9f), person_at(400, 200 + 10 * i, 0.9f)};
        vg_events_frame_t f = frame(t += 0.2);
        vg_events_detected(e, &f, d, NULL, 2, sink_emit, &s, NULL);
        if (started_at < 0 && count(&s, "start") > 0)
            started_at = i;
    }
    cr_expect_eq(count(&s, "start"), 1, "only the one who entered the driveway");
    /* y > 288 (0.6 of 480): i = 9 (y = 290) */
    cr_expect_eq(started_at, 9);
    cr_expect(array_has(s.msgs[0], "entered_zones", "drive"));
    sink_free(&s);
    vg_events_free(&e);
}

/* A line crossed both ways: "in" to the right-hand side of a->b as seen on
 * the picture, "out" back; counters per label in the stats. */
Test(events, lines_count_both_directions)
{
    /* a vertical line top to bottom: its right-hand side (facing down) is x < 320 */
    vg_line_t l = {.name = "gate", .a = {320, 0}, .b = {320, 480}};
    vg_events_config_t c = base_config();
    c.lines = &l;
    c.n_lines = 1;
    vg_events_t *e;
    cr_assert_eq(vg_events_new(&c, &e), 0);
    sink_t s = {0};
    double t = 0;
    for (int i = 0; i < 40; i++) {
        float x = i < 20 ? 400 - 10 * i : 210 + 10 * (i - 20); /* right to left, then back */
        vg_det_t d = person_at(x, 400, 0.9f);
        vg_events_frame_t f = frame(t += 0.2);
        vg_events_detected(e, &f, &d, NULL, 1, sink_emit, &s, NULL);
    }
    json_t *last = s.msgs[s.n - 1];
    json_t *crossed = json_object_get(last, "crossed");
    cr_assert_eq(json_array_size(crossed), 2, "crossed twice");
    cr_expect_str_eq(str(json_array_get(crossed, 0), "line"), "gate");
    cr_expect_str_eq(str(json_array_get(crossed, 0), "direction"), "in");
    cr_expect_str_eq(str(json_array_get(crossed, 1), "direction"), "out");
    char buf[4096];
    vg_jsonw_t w;
    vg_jsonw_init(&w, buf, sizeof(buf));
    vg_jsonw_object_begin(&w);
    vg_events_write_stats(e, &w);
    vg_jsonw_object_end(&w);
    int len = vg_jsonw_finish(&w);
    cr_assert_gt(len, 0);
    json_error_t je;
    json_t *st = json_loadb(buf, (size_t)len, 0, &je);
    cr_assert_not_null(st, "%s", buf);
    json_t *gp = json_object_get(json_object_get(json_object_get(st, "lines"), "gate"), "person");
    cr_expect_eq(json_integer_value(json_object_get(gp, "in")), 1, "%s", buf);
    cr_expect_eq(json_integer_value(json_object_get(gp, "out")), 1, "%s", buf);
    json_t *op = json_object_get(json_object_get(st, "objects"), "person");
    cr_expect_eq(json_integer_value(json_object_get(op, "present")), 1, "%s", buf);
    cr_expect_eq(json_integer_value(json_object_get(op, "events")), 1, "%s", buf);
    json_decref(st);
    sink_free(&s);
    vg_events_free(&e);
}

/* An object mask for person drops persons whose feet are on it (a statue),
 * not cars there, nor persons elsewhere. */
Test(events, object_masks_drop_what_they_cover)
{
    vg_object_filter_t o = {.label = "person", .filter = {-1, -1, -1, -1, -1, -1}, .n_mask = 1,
                            .mask = {rect(0, 0, 0.5f, 1, true)}};
    vg_events_config_t c = base_config();
    c.objects = &o;
    c.n_objects = 1;
    vg_events_t *e;
    cr_assert_eq(vg_events_new(&c, &e), 0);
    sink_t s = {0};
    double t = 0;
    for (int i = 0; i < 10; i++) {
        vg_det_t d[3] = {person_at(100, 400, 0.9f), person_at(500, 400, 0.9f),
                         {.x1 = 50, .y1 = 100, .x2 = 200, .y2 = 200, .score = 0.9f, .label = 1}};
        uint64_t ids[3];
        vg_events_frame_t f = frame(t += 0.2);
        vg_events_detected(e, &f, d, NULL, 3, sink_emit, &s, ids);
        cr_expect_eq(ids[0], 0, "the masked person belongs to no track");
        cr_expect(vg_events_masked(e, &d[0]) && !vg_events_masked(e, &d[1]) && !vg_events_masked(e, &d[2]));
    }
    int persons = 0, cars = 0;
    for (int i = 0; i < s.n; i++)
        if (!strcmp(str(s.msgs[i], "type"), "start")) {
            persons += !strcmp(str(s.msgs[i], "label"), "person");
            cars += !strcmp(str(s.msgs[i], "label"), "car");
            if (!strcmp(str(s.msgs[i], "label"), "person"))
                cr_expect_eq(json_integer_value(json_array_get(json_object_get(s.msgs[i], "box"), 0)), 480);
        }
    cr_expect_eq(persons, 1);
    cr_expect_eq(cars, 1);
    sink_free(&s);
    vg_events_free(&e);
}

/* Snapshots: the callback sees the best score x area among unclipped
 * boxes; a box cut by the frame edge never makes one even with the best
 * score; the event then says has_snapshot. */
typedef struct {
    int calls;
    float best_q;
    vg_track_box_t box;
} snaps_t;

static int on_snap(void *arg, const vg_events_snap_t *s)
{
    snaps_t *x = arg;
    x->calls++;
    float q = s->score * (s->box.x2 - s->box.x1) * (s->box.y2 - s->box.y1);
    cr_expect_gt(q, x->best_q, "a snapshot only when it improves");
    x->best_q = q;
    x->box = s->box;
    cr_expect(s->box.x1 >= 2 && s->box.x2 <= W - 2, "never a box cut by the edge");
    return 0;
}

Test(events, snapshot_is_the_best_unclipped_frame)
{
    snaps_t x = {0};
    vg_events_config_t c = base_config();
    c.snapshot = on_snap;
    c.snapshot_arg = &x;
    c.snapshot_every_s = 0.001;
    vg_events_t *e;
    cr_assert_eq(vg_events_new(&c, &e), 0);
    sink_t s = {0};
    double t = 0;
    /* scores over the walk; the best (0.95) comes when the box is cut by the
     * right edge; the best unclipped one is 0.9 at frame 6 */
    static const float score[] = {0.6f, 0.7f, 0.65f, 0.8f, 0.75f, 0.7f, 0.9f, 0.85f, 0.8f, 0.95f};
    float best_q = 0;
    int best_i = -1;
    for (int i = 0; i < 10; i++) {
        float x0 = 400 + 24 * i; /* the box's right edge reaches 640 at i = 9 */
        vg_det_t d = person_at(x0, 400, score[i]);
        if (i == 9)
            d.x2 = W;
        vg_events_frame_t f = frame(t += 0.2);
        vg_events_detected(e, &f, &d, NULL, 1, sink_emit, &s, NULL);
        float q = score[i] * (d.x2 - d.x1) * (d.y2 - d.y1);
        if (i >= 2 && d.x2 <= W - 2 && q > best_q) { /* announced from frame 2 on (min_hits 3) */
            best_q = q;
            best_i = i;
        }
    }
    cr_expect_eq(best_i, 6);
    cr_expect_float_eq(x.best_q, best_q, 1e-3, "the chosen snapshot is the best unclipped frame");
    cr_expect_float_eq(x.box.x1, 400 + 24 * 6 - 20, 1e-3);
    cr_expect(json_is_true(json_object_get(s.msgs[s.n - 1], "has_snapshot")));
    sink_free(&s);
    vg_events_free(&e);
}

/* The encoder: a JPEG that decodes to the frame's size (or the crop, the
 * height asked), and the file written atomically. */
Test(events, snapshot_jpeg_decodes_and_is_written)
{
    vg_image_t img;
    cr_assert_eq(vg_image_alloc(&img, VG_PIX_YUV420P, W, H), 0);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            img.data[0][(size_t)y * img.linesize[0] + x] = (uint8_t)(x ^ y);
    for (int p = 1; p < 3; p++)
        for (int y = 0; y < H / 2; y++)
            memset(img.data[p] + (size_t)y * img.linesize[p], 128, W / 2);
    char dir[] = "/tmp/vigil-snap-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    vg_snapshot_config_t sc = {.enabled = true, .overlay = true, .quality = 80};
    snprintf(sc.dir, sizeof(sc.dir), "%s/snapshots/cam", dir);
    struct {
        bool crop;
        int height, w, h;
    } cases[] = {{false, 0, W, H}, {false, 240, 320, 240}, {true, 0, 80, 200}};
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        sc.crop = cases[k].crop;
        sc.height = cases[k].height;
        vg_snapshot_t *s;
        cr_assert_eq(vg_snapshot_new(&sc, &s), 0);
        vg_events_snap_t req = {.event_id = "cam-1-7", .label = "person", .score = 0.9f,
                                .box = {300, 200, 340, 300}};
        const uint8_t *jpeg;
        size_t len;
        cr_assert_eq(vg_snapshot_encode(s, &img, &req, &jpeg, &len), 0);
        tjhandle tj = tjInitDecompress();
        int w, h, sub, cs;
        cr_assert_eq(tjDecompressHeader3(tj, jpeg, (unsigned long)len, &w, &h, &sub, &cs), 0);
        cr_expect_eq(w, cases[k].w, "case %zu: width %d", k, w);
        cr_expect_eq(h, cases[k].h, "case %zu: height %d", k, h);
        unsigned char *pix = malloc((size_t)w * h);
        cr_assert_eq(tjDecompress2(tj, jpeg, (unsigned long)len, pix, w, 0, h, TJPF_GRAY, 0), 0);
        if (!cases[k].crop && !cases[k].height) {
            /* the overlay: the box's left edge is drawn bright, the picture kept elsewhere */
            cr_expect_gt(pix[(size_t)250 * w + 301], 120);
            int v = pix[(size_t)100 * w + 100], want = 100 ^ 100;
            cr_expect(abs(v - want) < 24, "pixel %d, want %d", v, want);
        }
        free(pix);
        tjDestroy(tj);
        cr_assert_eq(vg_snapshot_write(s, "cam-1-7", jpeg, len), 0);
        char path[600];
        snprintf(path, sizeof(path), "%s/cam-1-7.jpg", sc.dir);
        FILE *f = fopen(path, "rb");
        cr_assert_not_null(f);
        fseek(f, 0, SEEK_END);
        cr_expect_eq((size_t)ftell(f), len);
        fclose(f);
        vg_snapshot_free(&s);
    }
    cr_expect_eq(vg_snapshot_prune(sc.dir, 3600), 0, "nothing older than an hour");
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "touch -d '2 days ago' %s/cam-1-7.jpg", sc.dir);
    cr_assert_eq(system(cmd), 0);
    cr_expect_eq(vg_snapshot_prune(sc.dir, 86400), 1, "the 2-day-old file goes with a 1-day retention");
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
    vg_image_release(&img);
}

/* The geometry itself. */
Test(zones, geometry)
{
    vg_polygon_t sq = rect(0, 0, 10, 10, false);
    cr_expect(vg_polygon_contains(&sq, 5, 5));
    cr_expect(!vg_polygon_contains(&sq, 15, 5));
    cr_expect(!vg_polygon_self_intersects(&sq));
    vg_polygon_t bow = {.n = 4, .p = {{0, 0}, {10, 10}, {10, 0}, {0, 10}}};
    cr_expect(vg_polygon_self_intersects(&bow));
    vg_polygon_t scaled;
    vg_polygon_t n = rect(0.5f, 0.5f, 1, 1, true);
    vg_polygon_scale(&n, 640, 480, &scaled);
    cr_expect(scaled.p[0].x == 320 && scaled.p[0].y == 240 && !scaled.normalized);
    vg_point_t a = {0, 0}, b = {0, 10};
    /* a->b points down; its right-hand side on the picture is x < 0 */
    cr_expect_eq(vg_segment_cross(a, b, (vg_point_t){1, 5}, (vg_point_t){-1, 5}), 1);
    cr_expect_eq(vg_segment_cross(a, b, (vg_point_t){-1, 5}, (vg_point_t){1, 5}), -1);
    cr_expect_eq(vg_segment_cross(a, b, (vg_point_t){1, 15}, (vg_point_t){-1, 15}), 0, "past the end");
    cr_expect_eq(vg_segment_cross(a, b, (vg_point_t){1, 5}, (vg_point_t){2, 5}), 0);
}
