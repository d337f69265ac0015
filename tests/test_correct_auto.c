/*
 * correct (auto and the entry point): on clean vtest.avi auto chooses
 * nothing; on darkened, hazed and noised versions it chooses the matching
 * correction; it toggles at most once in a steady clip; a change of scene
 * switches once, after the hysteresis delay; LIST/OFF modes; the decoded
 * frame is never written.
 */
#include <criterion/criterion.h>
#include <string.h>

#include <libswscale/swscale.h>

#include "pipeline/correct/correct.h"
#include "tests/correct/frames.h"

enum { NF = 60 };
static AVFrame *clip[NF];

static void load(const char *name, int first)
{
    cr_assert_eq(vgt_decode(vgt_footage(name), first, NF, clip), NF,
                 "cannot decode %s (run scripts/fetch-footage.sh)", name);
}

static void teardown(void)
{
    for (int i = 0; i < NF; i++)
        av_frame_free(&clip[i]);
}

static void setup(void)
{
    load("vtest.avi", 0);
}

TestSuite(correct_auto, .init = setup, .fini = teardown, .timeout = 120);

static vg_correct_state_t *auto_state(void)
{
    vg_correct_state_t *st = NULL;
    vg_correct_config_t cfg = { .max_width = 1920, .max_height = 1080,
                                .mode = VG_CORRECT_MODE_AUTO };
    cr_assert_eq(vg_correct_new(&cfg, &st), 0);
    return st;
}

/* Run a degraded version of the clip; returns the last mask, counts toggles. */
static uint32_t run_clip(vg_correct_state_t *st, int kind, int *toggles, int from, int to)
{
    vg_image_t im;
    cr_assert_eq(vg_image_alloc(&im, VG_PIX_YUV420P, clip[0]->width, clip[0]->height), 0);
    uint64_t rng = 1234 + kind;
    int last = -1;
    for (int i = from; i < to; i++) {
        vgt_degrade(&im, clip[i], kind, &rng);
        vg_image_t out;
        int m = vg_correct_apply_image(st, &im, &out);
        cr_assert_geq(m, 0);
        cr_assert_eq((uint32_t)m, vg_correct_active(st));
        if (last >= 0 && m != last)
            (*toggles)++;
        last = m;
    }
    vg_image_release(&im);
    return (uint32_t)last;
}

static void expect(int kind, uint32_t want, const char *what)
{
    vg_correct_state_t *st = auto_state();
    int toggles = 0;
    uint32_t m = run_clip(st, kind, &toggles, 0, NF);
    vg_correct_stats_t s;
    vg_correct_get_stats(st, &s);
    char names[64];
    vg_correct_names(m, names, sizeof(names));
    cr_log_info("%s: chose '%s' (toggles %d); luma mean %.3f p5 %.3f p95 %.3f dark %.3f "
                "noise %.2f chroma %.1f rain %.2f", what, names, toggles, s.luma_mean, s.luma_p5,
                s.luma_p95, s.dark_mean, s.noise, s.chroma, s.rain);
    cr_assert_eq(m, want, "%s: chose '%s'", what, names);
    cr_assert_leq(toggles, 1, "%s: %d toggles in a steady clip", what, toggles);
    vg_correct_free(&st);
    vg_correct_free(&st);
}

Test(correct_auto, clean_chooses_nothing)
{
    expect(VGT_CLEAN, 0, "clean");
}

Test(correct_auto, clean_h264_chooses_nothing)
{
    teardown();
    load("vtest.mp4", 300);
    expect(VGT_CLEAN, 0, "clean H.264, frames 300..359");
}

Test(correct_auto, night_chooses_low_light)
{
    expect(VGT_DARK, VG_CORRECT_LOW_LIGHT, "dark");
}

Test(correct_auto, haze_chooses_dehaze)
{
    expect(VGT_HAZE, VG_CORRECT_DEHAZE, "haze");
}

Test(correct_auto, noise_chooses_denoise)
{
    expect(VGT_NOISE, VG_CORRECT_DENOISE, "noise");
}

Test(correct_auto, rain_chooses_derain)
{
    expect(VGT_RAIN, VG_CORRECT_DERAIN, "rain");
}

Test(correct_auto, scene_change_switches_once_after_hysteresis)
{
    vg_correct_state_t *st = auto_state();
    int toggles = 0;
    cr_assert_eq(run_clip(st, VGT_CLEAN, &toggles, 0, 10), 0);
    cr_assert_eq(toggles, 0);
    /* night falls: not at the first dark frame (smoothing + ON_FRAMES), but soon */
    vg_image_t im, out;
    cr_assert_eq(vg_image_alloc(&im, VG_PIX_YUV420P, clip[0]->width, clip[0]->height), 0);
    uint64_t rng = 1;
    int on_at = -1;
    for (int i = 10; i < 30; i++) {
        vgt_degrade(&im, clip[i], VGT_DARK, &rng);
        int m = vg_correct_apply_image(st, &im, &out);
        if (on_at < 0 && (m & VG_CORRECT_LOW_LIGHT))
            on_at = i;
        if (on_at >= 0)
            cr_assert(m & VG_CORRECT_LOW_LIGHT, "flickered off at frame %d", i);
    }
    cr_log_info("low light on after %d dark frames", on_at - 10 + 1);
    cr_assert_gt(on_at, 10 + 2);
    cr_assert_lt(on_at, 10 + 15);
    /* day again: still on at first (off needs a longer streak), then off once */
    toggles = 0;
    uint32_t m = run_clip(st, VGT_CLEAN, &toggles, 30, 35);
    cr_assert_eq(m, VG_CORRECT_LOW_LIGHT);
    cr_assert_eq(toggles, 0);
    m = run_clip(st, VGT_CLEAN, &toggles, 35, NF);
    cr_assert_eq(m, 0);
    cr_assert_eq(toggles, 1);
    vg_image_release(&im);
    vg_correct_free(&st);
}

static uint64_t frame_hash(const AVFrame *f)
{
    uint64_t h = 1469598103934665603ull;
    for (int p = 0; p < 3; p++) {
        int pw = p ? f->width / 2 : f->width, ph = p ? f->height / 2 : f->height;
        for (int y = 0; y < ph; y++)
            for (int x = 0; x < pw; x++)
                h = (h ^ f->data[p][y * f->linesize[p] + x]) * 1099511628211ull;
    }
    return h;
}

Test(correct_auto, list_mode_applies_all_and_leaves_source_alone)
{
    vg_correct_state_t *st = NULL;
    uint32_t all = VG_CORRECT_LOW_LIGHT | VG_CORRECT_DEHAZE | VG_CORRECT_DENOISE |
                   VG_CORRECT_DERAIN;
    vg_correct_config_t cfg = { .max_width = 768, .max_height = 576,
                                .mode = VG_CORRECT_MODE_LIST, .mask = all };
    cr_assert_eq(vg_correct_new(&cfg, &st), 0);
    for (int i = 0; i < 5; i++) {
        uint64_t before = frame_hash(clip[i]);
        vg_image_t out;
        cr_assert_eq(vg_correct_apply(st, clip[i], &out), (int)all);
        cr_assert_eq(frame_hash(clip[i]), before, "the decoded frame was written");
        cr_assert_neq(out.data[0], clip[i]->data[0]);
        cr_assert_eq(out.width, clip[i]->width);
        /* corrected: differs from the source somewhere */
        long diff = 0;
        for (int y = 0; y < out.height; y++)
            diff += memcmp(out.data[0] + y * out.linesize[0],
                           clip[i]->data[0] + y * clip[i]->linesize[0], out.width) != 0;
        cr_assert_gt(diff, out.height / 2);
    }
    char names[64];
    cr_assert_eq(vg_correct_names(vg_correct_active(st), names, sizeof(names)),
                 (int)strlen("low_light,dehaze,denoise,derain"));
    cr_assert_str_eq(names, "low_light,dehaze,denoise,derain");
    vg_correct_free(&st);

    /* too large a frame is refused */
    cfg.max_width = 640;
    cr_assert_eq(vg_correct_new(&cfg, &st), 0);
    vg_image_t out;
    cr_assert_eq(vg_correct_apply(st, clip[0], &out), -EINVAL);
    vg_correct_free(&st);
}

Test(correct_auto, off_mode_is_a_view_of_the_frame)
{
    vg_correct_state_t *st = NULL;
    vg_correct_config_t cfg = { .max_width = 768, .max_height = 576,
                                .mode = VG_CORRECT_MODE_OFF };
    cr_assert_eq(vg_correct_new(&cfg, &st), 0);
    vg_image_t out;
    cr_assert_eq(vg_correct_apply(st, clip[0], &out), 0);
    cr_assert_eq(out.data[0], clip[0]->data[0]);
    cr_assert_eq(out.data[1], clip[0]->data[1]);
    vg_correct_free(&st);
    cr_assert_str_eq(vg_correct_name(VG_CORRECT_DENOISE), "denoise");
    cr_assert_null(vg_correct_name(1u << 7));
    char b[8];
    cr_assert_eq(vg_correct_names(0, b, sizeof(b)), 0);
    cr_assert_str_eq(b, "");
    /* truncation follows snprintf */
    cr_assert_eq(vg_correct_names(VG_CORRECT_LOW_LIGHT | VG_CORRECT_DEHAZE, b, sizeof(b)), 16);
    cr_assert_eq(strlen(b), 7);
}

static vg_correct_state_t *list_state(uint32_t mask)
{
    vg_correct_state_t *st = NULL;
    vg_correct_config_t cfg = { .max_width = 1280, .max_height = 720,
                                .mode = VG_CORRECT_MODE_LIST, .mask = mask };
    cr_assert_eq(vg_correct_new(&cfg, &st), 0);
    return st;
}

Test(correct_auto, odd_sizes_nv12_and_full_range)
{
    uint32_t all = VG_CORRECT_LOW_LIGHT | VG_CORRECT_DEHAZE | VG_CORRECT_DENOISE |
                   VG_CORRECT_DERAIN;
    /* odd width and height (a cropped view of the decoded frame) */
    vg_correct_state_t *st = list_state(all);
    for (int i = 0; i < 4; i++) {
        vg_image_t im, out;
        cr_assert_eq(vg_image_from_frame(clip[i], &im), 0);
        im.width = 767;
        im.height = 575;
        cr_assert_eq(vg_correct_apply_image(st, &im, &out), (int)all);
        cr_assert_eq(out.width, 767);
        cr_assert_eq(out.height, 575);
    }
    vg_correct_free(&st);

    /* NV12 gives exactly what the same frame in YUV420P gives */
    vg_correct_state_t *a = list_state(all), *b = list_state(all);
    for (int i = 0; i < 4; i++) {
        AVFrame *nv = vgt_convert(clip[i], AV_PIX_FMT_NV12, clip[i]->width, clip[i]->height,
                                  SWS_POINT);
        nv->color_range = clip[i]->color_range;
        vg_image_t oa, ob;
        cr_assert_eq(vg_correct_apply(a, clip[i], &oa), (int)all);
        cr_assert_eq(vg_correct_apply(b, nv, &ob), (int)all);
        for (int p = 0; p < 3; p++) {
            int pw = p ? oa.width / 2 : oa.width, ph = p ? oa.height / 2 : oa.height;
            for (int y = 0; y < ph; y++)
                cr_assert_eq(memcmp(oa.data[p] + y * oa.linesize[p],
                                    ob.data[p] + y * ob.linesize[p], pw), 0,
                             "plane %d row %d differs", p, y);
        }
        av_frame_free(&nv);
    }
    vg_correct_free(&a);
    vg_correct_free(&b);

    /* full range (YUVJ420P): brightening keeps the 0..255 scale */
    st = list_state(VG_CORRECT_LOW_LIGHT);
    AVFrame *j = vgt_convert(clip[0], AV_PIX_FMT_YUVJ420P, clip[0]->width, clip[0]->height,
                             SWS_POINT);
    vg_image_t out;
    cr_assert_eq(vg_correct_apply(st, j, &out), (int)VG_CORRECT_LOW_LIGHT);
    cr_assert(out.full_range);
    int lo = 255, hi = 0;
    for (int y = 0; y < out.height; y++)
        for (int x = 0; x < out.width; x++) {
            int v = out.data[0][y * out.linesize[0] + x];
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
    cr_log_info("full range low light: luma %d..%d", lo, hi);
    cr_assert_lt(lo, 16);
    cr_assert_gt(hi, 235);
    av_frame_free(&j);
    vg_correct_free(&st);

    /* RGB24 passes through uncorrected; other formats are refused */
    st = list_state(all);
    AVFrame *rgb = vgt_convert(clip[0], AV_PIX_FMT_RGB24, 320, 240, SWS_BILINEAR);
    cr_assert_eq(vg_correct_apply(st, rgb, &out), 0);
    cr_assert_eq(out.data[0], rgb->data[0]);
    AVFrame *y422 = vgt_convert(clip[0], AV_PIX_FMT_YUV422P, 320, 240, SWS_BILINEAR);
    cr_assert_eq(vg_correct_apply(st, y422, &out), -ENOTSUP);
    av_frame_free(&rgb);
    av_frame_free(&y422);
    vg_correct_free(&st);
}
