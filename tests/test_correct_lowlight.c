/*
 * lowlight: CLAHE against OpenCV's cv2.createCLAHE (Debian python3-opencv,
 * run by tests/correct/clahe_ref.py at test time) on real frames, and the
 * frame-level brightening (gamma from statistics, chroma, source untouched).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libswscale/swscale.h>

#include "pipeline/correct/lowlight.h"
#include "tests/correct/frames.h"

static AVFrame *frame;

static void setup(void)
{
    AVFrame *f[1];
    cr_assert_eq(vgt_decode(vgt_footage("vtest.avi"), 100, 1, f), 1,
                 "cannot decode vtest.avi (run scripts/fetch-footage.sh)");
    frame = f[0];
}

static void teardown(void)
{
    av_frame_free(&frame);
}

TestSuite(correct_lowlight, .init = setup, .fini = teardown, .timeout = 120);

/* Run OpenCV's CLAHE on a plane through the reference script. */
static uint8_t *opencv_clahe(const uint8_t *p, int ls, int w, int h, float clip, int tx, int ty)
{
    char in[256], out[256], cmd[1024];
    const char *dir = getenv("VIGIL_BUILD_DIR");
    snprintf(in, sizeof(in), "%s/clahe_in_%d.raw", dir ? dir : "/tmp", getpid());
    snprintf(out, sizeof(out), "%s/clahe_out_%d.raw", dir ? dir : "/tmp", getpid());
    FILE *f = fopen(in, "wb");
    cr_assert_not_null(f);
    for (int y = 0; y < h; y++)
        fwrite(p + (size_t)y * ls, 1, w, f);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s/tests/correct/clahe_ref.py %s %s %d %d %g %d %d",
             VIGIL_SOURCE_DIR, in, out, w, h, clip, tx, ty);
    cr_assert_eq(system(cmd), 0, "reference failed: %s", cmd);
    uint8_t *r = malloc((size_t)w * h);
    f = fopen(out, "rb");
    cr_assert_not_null(f);
    cr_assert_eq(fread(r, 1, (size_t)w * h, f), (size_t)w * h);
    fclose(f);
    unlink(in);
    unlink(out);
    return r;
}

static void check_clahe(const uint8_t *p, int ls, int w, int h, float clip, int tx, int ty)
{
    uint8_t *ref = opencv_clahe(p, ls, w, h, clip, tx, ty);
    uint8_t *ours = malloc((size_t)w * h);
    vg_clahe_t *c = NULL;
    cr_assert_eq(vg_clahe_new(w, h, tx, ty, clip, &c), 0);
    cr_assert_eq(vg_clahe_run(c, p, ls, ours, w, w, h, NULL, NULL), 0);
    vg_clahe_free(&c);
    long differ = 0, changed = 0;
    int mx = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int d = abs(ours[y * w + x] - ref[y * w + x]);
            mx = d > mx ? d : mx;
            differ += d != 0;
            changed += ref[y * w + x] != p[y * ls + x];
        }
    double frac = (double)differ / ((double)w * h);
    cr_log_info("clahe %dx%d clip %g tiles %dx%d: max diff %d, %.4f%% differ, "
                "%.1f%% of pixels changed by CLAHE", w, h, clip, tx, ty, mx, 100 * frac,
                100.0 * changed / ((double)w * h));
    /* the reference must actually do something for the match to mean anything */
    cr_assert_gt(changed, (long)w * h / 4);
    cr_assert_leq(mx, 1, "max difference to OpenCV %d", mx);
    cr_assert_leq(frac, 0.01, "%.4f%% of pixels differ by 1", 100 * frac);
    free(ours);
    free(ref);
}

Test(correct_lowlight, clahe_matches_opencv_default_grid)
{
    check_clahe(frame->data[0], frame->linesize[0], frame->width, frame->height, 2.0f, 8, 8);
}

Test(correct_lowlight, clahe_matches_opencv_dark_frame)
{
    int w = frame->width, h = frame->height;
    uint8_t *d = malloc((size_t)w * h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            d[y * w + x] = (uint8_t)(16 + (frame->data[0][y * frame->linesize[0] + x] - 16) / 5);
    check_clahe(d, w, w, h, 3.0f, 8, 8);
    free(d);
}

Test(correct_lowlight, clahe_matches_opencv_padded_tiles)
{
    /* 766x570 with a 5x7 grid: neither side divides, OpenCV pads */
    check_clahe(frame->data[0], frame->linesize[0], 766, 570, 4.0f, 5, 7);
    /* width divides, height does not: OpenCV still pads both sides */
    check_clahe(frame->data[0], frame->linesize[0], 768, 570, 2.0f, 8, 8);
}

Test(correct_lowlight, clahe_matches_opencv_720p_no_clip)
{
    AVFrame *h = vgt_convert(frame, AV_PIX_FMT_YUV420P, 1280, 720, SWS_BICUBIC);
    check_clahe(h->data[0], h->linesize[0], 1280, 720, 40.0f, 8, 8);
    check_clahe(h->data[0], h->linesize[0], 1280, 720, 0.0f, 2, 3);
    av_frame_free(&h);
}

static uint64_t plane_hash(const uint8_t *p, int ls, int w, int h)
{
    uint64_t s = 1469598103934665603ull;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            s = (s ^ p[y * ls + x]) * 1099511628211ull;
    return s;
}

static double mean_plane(const uint8_t *p, int ls, int w, int h)
{
    double s = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            s += p[y * ls + x];
    return s / ((double)w * h);
}

Test(correct_lowlight, brightens_night_frame_keeps_hue_and_source)
{
    int w = frame->width, h = frame->height;
    /* night: luma to a fifth, chroma deviation to a fifth (what dimming RGB does) */
    AVFrame *night = av_frame_clone(frame);
    cr_assert_geq(av_frame_make_writable(night), 0);
    for (int p = 0; p < 3; p++) {
        int pw = p ? w / 2 : w, ph = p ? h / 2 : h, c = p ? 128 : 16;
        for (int y = 0; y < ph; y++)
            for (int x = 0; x < pw; x++) {
                uint8_t *v = &night->data[p][y * night->linesize[p] + x];
                *v = (uint8_t)(c + (*v - c) / 5);
            }
    }
    vg_image_t src, dst;
    cr_assert_eq(vg_image_from_frame(night, &src), 0);
    cr_assert_eq(vg_image_alloc(&dst, VG_PIX_YUV420P, w, h), 0);
    uint64_t before = plane_hash(src.data[0], src.linesize[0], w, h) ^
                      plane_hash(src.data[1], src.linesize[1], w / 2, h / 2);
    vg_lowlight_t *ll = NULL;
    vg_lowlight_config_t cfg = { .max_width = 1920, .max_height = 1080, .unsharp = 0.5f };
    cr_assert_eq(vg_lowlight_new(&cfg, &ll), 0);
    float g = 0;
    cr_assert_eq(vg_lowlight_run(ll, &src, &dst, 1.0f, &g), 0);
    uint64_t after = plane_hash(src.data[0], src.linesize[0], w, h) ^
                     plane_hash(src.data[1], src.linesize[1], w / 2, h / 2);
    cr_assert_eq(before, after, "the source frame was modified");

    double m0 = mean_plane(src.data[0], src.linesize[0], w, h);
    double m1 = mean_plane(dst.data[0], dst.linesize[0], w, h);
    cr_log_info("night mean %.1f -> %.1f, gamma %.3f", m0, m1, g);
    cr_assert_lt(g, 0.9f);
    cr_assert_gt((m1 - 16) / 219, 0.35, "mean luma %.1f", m1);

    /* chroma: hue kept (angle), saturation raised with the luma */
    double dang = 0, ratio = 0;
    int n = 0;
    for (int y = 0; y < h / 2; y++)
        for (int x = 0; x < w / 2; x++) {
            double u0 = src.data[1][y * src.linesize[1] + x] - 128.0;
            double v0 = src.data[2][y * src.linesize[2] + x] - 128.0;
            double u1 = dst.data[1][y * dst.linesize[1] + x] - 128.0;
            double v1 = dst.data[2][y * dst.linesize[2] + x] - 128.0;
            if (fabs(u0) + fabs(v0) < 6)
                continue;
            double a = fabs(atan2(v1, u1) - atan2(v0, u0));
            dang += a > M_PI ? 2 * M_PI - a : a;
            ratio += hypot(u1, v1) / hypot(u0, v0);
            n++;
        }
    cr_assert_gt(n, 1000);
    cr_log_info("chroma: mean hue change %.3f rad, mean gain %.2f over %d pixels", dang / n,
                ratio / n, n);
    cr_assert_lt(dang / n, 0.15);
    cr_assert_gt(ratio / n, 1.2);
    vg_lowlight_free(&ll);
    vg_lowlight_free(&ll);
    vg_image_release(&dst);
    av_frame_free(&night);
}

Test(correct_lowlight, gamma_from_statistics)
{
    cr_assert_float_eq(vg_gamma_for_mean(0.6, 0.45, 0.4f), 1.0f, 1e-6);
    cr_assert_float_eq(vg_gamma_for_mean(0.2, 0.45, 0.4f), log(0.45) / log(0.2), 1e-5);
    cr_assert_float_eq(vg_gamma_for_mean(0.01, 0.45, 0.4f), 0.4f, 1e-6);
    uint8_t lut[256];
    vg_gamma_lut(lut, 0.5f, 16, 235);
    cr_assert_eq(lut[16], 16);
    cr_assert_eq(lut[235], 235);
    cr_assert_eq(lut[70], (uint8_t)lrint(16 + 219 * sqrt(54.0 / 219)));
}
