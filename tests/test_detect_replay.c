/*
 * `vigil detect` and `vigil replay` answer alike: on the same clip (the first
 * seconds of vtest.avi) with the same config (the NanoDet model, detection on
 * every frame, corrections forced on), every frame gets the same objects from
 * both: same labels in the same order, boxes within a pixel, scores within
 * 1e-3, and the same corrections. The CLI drives the workers' analysis
 * itself and the daemon runs capture -> ring -> workers -> publisher, so this
 * fails when one of them decodes, converts, corrects or loads the model
 * differently. A control run of `vigil detect --correct off` must disagree,
 * which shows the comparison sees a divergence of that size.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/reader.h"

#define CLIP_FRAMES 30

static const char *env(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

/* The clip: the first CLIP_FRAMES packets of vtest.avi copied as they are
 * (no re-encoding) through the reader's packet callback. */
typedef struct {
    AVFormatContext *oc;
    AVRational in_tb;
    int written;
    int error;
} copy_t;

static void copy_packet(void *opaque, const AVPacket *pkt)
{
    copy_t *c = opaque;
    if (c->written >= CLIP_FRAMES || c->error < 0)
        return;
    AVPacket *p = av_packet_clone(pkt);
    if (!p) {
        c->error = AVERROR(ENOMEM);
        return;
    }
    p->stream_index = 0;
    av_packet_rescale_ts(p, c->in_tb, c->oc->streams[0]->time_base);
    int r = av_interleaved_write_frame(c->oc, p);
    av_packet_free(&p);
    if (r < 0)
        c->error = r;
    else
        c->written++;
}

static int copy_done(void *opaque)
{
    const copy_t *c = opaque;
    return c->written >= CLIP_FRAMES || c->error < 0;
}

static void make_clip(const char *src, const char *dst)
{
    copy_t c = {0};
    const vg_reader_config_t rc = {.url = src, .decode_threads = 1, .on_packet = copy_packet,
                                   .interrupt = copy_done, .opaque = &c};
    vg_reader_t *rd = NULL;
    char err[VG_READER_ERROR_MAX];
    cr_assert_eq(vg_reader_open(&rc, &rd, err, sizeof(err)), 0, "%s (run scripts/fetch-footage.sh)", err);
    const AVStream *in = vg_reader_stream(rd);
    c.in_tb = in->time_base;
    cr_assert_geq(avformat_alloc_output_context2(&c.oc, NULL, NULL, dst), 0);
    AVStream *st = avformat_new_stream(c.oc, NULL);
    cr_assert_not_null(st);
    cr_assert_geq(avcodec_parameters_copy(st->codecpar, in->codecpar), 0);
    st->time_base = in->time_base;
    cr_assert_geq(avio_open(&c.oc->pb, dst, AVIO_FLAG_WRITE), 0, "cannot write %s", dst);
    cr_assert_geq(avformat_write_header(c.oc, NULL), 0);
    AVFrame *f = av_frame_alloc();
    int r;
    while ((r = vg_reader_read(rd, f)) == 0)
        ;
    cr_assert_eq(r, AVERROR_EXIT, "the copy stops itself after %d packets: %s", CLIP_FRAMES, av_err2str(r));
    cr_assert_eq(c.error, 0, "writing %s: %s", dst, av_err2str(c.error));
    cr_assert_eq(c.written, CLIP_FRAMES);
    cr_assert_geq(av_write_trailer(c.oc), 0);
    avio_closep(&c.oc->pb);
    avformat_free_context(c.oc);
    av_frame_free(&f);
    vg_reader_free(&rd);
}

/* One analysed frame: its corrections and objects, as a tool printed them. */
typedef struct {
    bool seen;
    char corrections[64];
    json_t *objects;
} frame_t;

/* Runs cmd and keeps, per frame number, the lines that carry one: every
 * line of `vigil detect`, the det.<camera> lines of `vigil replay`. */
static void run(const char *cmd, frame_t *frames, int n)
{
    FILE *fp = popen(cmd, "r");
    cr_assert_not_null(fp);
    static char line[1 << 16];
    while (fgets(line, sizeof(line), fp)) {
        json_error_t je;
        json_t *root = json_loads(line, 0, &je);
        cr_assert_not_null(root, "%s: not JSON: %s", cmd, line);
        const char *topic = json_string_value(json_object_get(root, "topic"));
        json_t *fn = json_object_get(root, "frame");
        if ((topic && strncmp(topic, "det.", 4) != 0) || !json_is_integer(fn)) {
            json_decref(root);
            continue;
        }
        json_int_t i = json_integer_value(fn);
        cr_assert(i >= 0 && i < n, "%s: frame %lld of a %d-frame clip", cmd, (long long)i, n);
        cr_assert(!frames[i].seen, "%s: frame %lld twice", cmd, (long long)i);
        cr_assert(json_is_true(json_object_get(root, "detected")), "%s: frame %lld not detected", cmd, (long long)i);
        frames[i].seen = true;
        const char *corr = json_string_value(json_object_get(root, "corrections"));
        snprintf(frames[i].corrections, sizeof(frames[i].corrections), "%s", corr ? corr : "");
        frames[i].objects = json_incref(json_object_get(root, "objects"));
        json_decref(root);
    }
    cr_assert_eq(pclose(fp), 0, "%s failed", cmd);
}

static void release(frame_t *frames, int n)
{
    for (int i = 0; i < n; i++)
        json_decref(frames[i].objects);
}

/* Why frame a and frame b differ, into why; false when they agree. The
 * corrections named count only with check_corrections. */
static bool differ(const frame_t *a, const frame_t *b, bool check_corrections, char *why, size_t len)
{
    if (check_corrections && strcmp(a->corrections, b->corrections) != 0) {
        snprintf(why, len, "corrections '%s' vs '%s'", a->corrections, b->corrections);
        return true;
    }
    size_t n = json_array_size(a->objects);
    if (n != json_array_size(b->objects)) {
        snprintf(why, len, "%zu objects vs %zu", n, json_array_size(b->objects));
        return true;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *oa = json_array_get(a->objects, i), *ob = json_array_get(b->objects, i);
        const char *la = json_string_value(json_object_get(oa, "label"));
        const char *lb = json_string_value(json_object_get(ob, "label"));
        if (!la || !lb || strcmp(la, lb) != 0) {
            snprintf(why, len, "object %zu: label %s vs %s", i, la ? la : "?", lb ? lb : "?");
            return true;
        }
        double sa = json_number_value(json_object_get(oa, "score"));
        double sb = json_number_value(json_object_get(ob, "score"));
        if (fabs(sa - sb) > 1e-3) {
            snprintf(why, len, "object %zu (%s): score %.4f vs %.4f", i, la, sa, sb);
            return true;
        }
        json_t *ba = json_object_get(oa, "box"), *bb = json_object_get(ob, "box");
        for (size_t k = 0; k < 4; k++) {
            double va = json_number_value(json_array_get(ba, k)), vb = json_number_value(json_array_get(bb, k));
            if (json_array_size(ba) != 4 || json_array_size(bb) != 4 || fabs(va - vb) > 1.0) {
                snprintf(why, len, "object %zu (%s): box[%zu] %.0f vs %.0f", i, la, k, va, vb);
                return true;
            }
        }
    }
    return false;
}

Test(detect_replay, same_detections_per_frame, .timeout = 600)
{
    const char *bd = getenv("VIGIL_BUILD_DIR");
    cr_assert_not_null(bd, "run through ctest (VIGIL_BUILD_DIR)");
    const char *cache = env("VIGIL_CACHE_DIR", VIGIL_CACHE_DIR);
    char src[4096], clip[4096], conf[4096], vigil[4096];
    snprintf(src, sizeof(src), "%s/footage/vtest.avi", cache);
    snprintf(clip, sizeof(clip), "%s/detect_replay_vtest.avi", bd);
    snprintf(conf, sizeof(conf), "%s/detect_replay.yaml", bd);
    snprintf(vigil, sizeof(vigil), "%s/tools/vigil", bd);
    make_clip(src, clip);

    /* every frame analysed (120 fps > the clip's 10), the detector on each,
     * two corrections forced on (denoise keeps state from frame to frame, so
     * order matters too) */
    FILE *f = fopen(conf, "w");
    cr_assert_not_null(f);
    fprintf(f,
            "daemon:\n"
            "  workers: 2\n"
            "models:\n"
            "  detector:\n"
            "    path: %s/models/nanodet.onnx\n"
            "    head: nanodet\n"
            "    input: [416, 416]\n"
            "cameras:\n"
            "  agree:\n"
            "    url: %s\n"
            "    analysis_fps: 120\n"
            "    detect: { model: detector, when: always }\n"
            "    correct: [low_light, denoise]\n",
            cache, clip);
    cr_assert_eq(fclose(f), 0);

    static frame_t replay[CLIP_FRAMES], detect[CLIP_FRAMES], uncorrected[CLIP_FRAMES];
    char cmd[16384];
    snprintf(cmd, sizeof(cmd), "'%s' replay '%s' --config '%s' 2>/dev/null", vigil, clip, conf);
    run(cmd, replay, CLIP_FRAMES);
    snprintf(cmd, sizeof(cmd), "'%s' detect '%s' --config '%s'", vigil, clip, conf);
    run(cmd, detect, CLIP_FRAMES);
    snprintf(cmd, sizeof(cmd), "'%s' detect '%s' --config '%s' --correct off", vigil, clip, conf);
    run(cmd, uncorrected, CLIP_FRAMES);

    int objects = 0, diverged = 0;
    for (int i = 0; i < CLIP_FRAMES; i++) {
        cr_assert(replay[i].seen, "vigil replay reported no detections for frame %d", i);
        cr_assert(detect[i].seen, "vigil detect reported no line for frame %d", i);
        cr_assert(uncorrected[i].seen, "vigil detect --correct off reported no line for frame %d", i);
        char why[256];
        cr_expect(!differ(&detect[i], &replay[i], true, why, sizeof(why)), "frame %d: detect vs replay: %s", i, why);
        cr_expect_str_eq(detect[i].corrections, "low_light,denoise", "frame %d", i);
        objects += (int)json_array_size(replay[i].objects);
        diverged += differ(&uncorrected[i], &replay[i], false, why, sizeof(why)); /* the objects only */
    }
    cr_expect_geq(objects, CLIP_FRAMES * 2, "people walk through vtest.avi: %d objects in %d frames", objects,
                  CLIP_FRAMES);
    cr_expect_geq(diverged, CLIP_FRAMES / 2,
                  "without the corrections `vigil detect` must disagree with the replay (differs on %d of %d "
                  "frames): else this comparison cannot see a divergence",
                  diverged, CLIP_FRAMES);
    release(replay, CLIP_FRAMES);
    release(detect, CLIP_FRAMES);
    release(uncorrected, CLIP_FRAMES);
}
