/*
 * dehaze: a real frame (vtest.avi) hazed with the atmospheric scattering
 * model I = J*t + A*(1-t) at a known, depth-like t and a known A, then
 * dehazed: the result must be >= 6 dB closer to J (PSNR) than the hazy input.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "pipeline/correct/dehaze.h"
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

TestSuite(correct_dehaze, .init = setup, .fini = teardown, .timeout = 120);

/* Depth-like transmission: far (top) hazier than near (bottom). */
static double trans(double y, double h, double t_top, double t_bottom)
{
    return t_top + (t_bottom - t_top) * (y / h);
}

/* Haze J (limited-range YUV420P) with light A given in YUV code values. */
static void haze(vg_image_t *out, const AVFrame *J, const double A[3], double t_top,
                 double t_bottom)
{
    int W = J->width, H = J->height;
    for (int p = 0; p < 3; p++) {
        int pw = p ? W / 2 : W, ph = p ? H / 2 : H, sc = p ? 2 : 1;
        for (int y = 0; y < ph; y++) {
            double t = trans(y * sc + 0.5 * (sc - 1), H, t_top, t_bottom);
            for (int x = 0; x < pw; x++) {
                double v = J->data[p][y * J->linesize[p] + x] * t + A[p] * (1 - t);
                out->data[p][y * out->linesize[p] + x] = (uint8_t)lrint(v);
            }
        }
    }
}

static void check(double t_top, double t_bottom, const double A[3], double min_gain)
{
    int W = frame->width, H = frame->height;
    vg_image_t hz, out;
    cr_assert_eq(vg_image_alloc(&hz, VG_PIX_YUV420P, W, H), 0);
    cr_assert_eq(vg_image_alloc(&out, VG_PIX_YUV420P, W, H), 0);
    haze(&hz, frame, A, t_top, t_bottom);
    vg_dehaze_t *dh = NULL;
    vg_dehaze_config_t cfg = { .max_width = 1920, .max_height = 1080 };
    cr_assert_eq(vg_dehaze_new(&cfg, &dh), 0);
    vg_dehaze_info_t info;
    cr_assert_eq(vg_dehaze_run(dh, &hz, &out, 1.0f, &info), 0);
    double p_hazy = vgt_psnr(hz.data[0], hz.linesize[0], frame->data[0], frame->linesize[0], W, H);
    double p_out = vgt_psnr(out.data[0], out.linesize[0], frame->data[0], frame->linesize[0], W, H);
    double c_hazy = vgt_psnr(hz.data[1], hz.linesize[1], frame->data[1], frame->linesize[1], W / 2, H / 2);
    double c_out = vgt_psnr(out.data[1], out.linesize[1], frame->data[1], frame->linesize[1], W / 2, H / 2);
    cr_log_info("t %.2f..%.2f A (%.0f,%.0f,%.0f): luma PSNR %.2f -> %.2f dB (+%.2f), U %.2f -> %.2f; "
                "A estimated (%.1f,%.1f,%.1f), mean t %.2f, dark mean %.2f",
                t_top, t_bottom, A[0], A[1], A[2], p_hazy, p_out, p_out - p_hazy, c_hazy, c_out,
                info.a_y, info.a_u, info.a_v, info.mean_t, info.dark_mean);
    cr_assert_geq(p_out - p_hazy, min_gain, "PSNR gain %.2f dB", p_out - p_hazy);
    cr_assert_gt(c_out, c_hazy); /* colours come back too */
    cr_assert_lt(fabs(info.a_y - A[0]), 25.0, "atmospheric light %.1f vs %.1f", info.a_y, A[0]);
    vg_dehaze_free(&dh);
    vg_dehaze_free(&dh);
    vg_image_release(&hz);
    vg_image_release(&out);
}

Test(correct_dehaze, recovers_depth_like_fog)
{
    const double A[3] = { 215, 128, 130 }; /* light grey, slightly warm */
    check(0.35, 0.75, A, 6.0);
}

Test(correct_dehaze, recovers_uniform_haze)
{
    const double A[3] = { 200, 131, 126 };
    check(0.5, 0.5, A, 6.0);
}

Test(correct_dehaze, atmospheric_light_is_smoothed_over_time)
{
    int W = frame->width, H = frame->height;
    vg_image_t hz, out;
    cr_assert_eq(vg_image_alloc(&hz, VG_PIX_YUV420P, W, H), 0);
    cr_assert_eq(vg_image_alloc(&out, VG_PIX_YUV420P, W, H), 0);
    vg_dehaze_t *dh = NULL;
    vg_dehaze_config_t cfg = { .max_width = W, .max_height = H };
    cr_assert_eq(vg_dehaze_new(&cfg, &dh), 0);
    const double A1[3] = { 200, 128, 128 }, A2[3] = { 235, 128, 128 };
    vg_dehaze_info_t i1, i2;
    haze(&hz, frame, A1, 0.5, 0.5);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(vg_dehaze_run(dh, &hz, &out, 1.0f, &i1), 0);
    haze(&hz, frame, A2, 0.5, 0.5);
    cr_assert_eq(vg_dehaze_run(dh, &hz, &out, 1.0f, &i2), 0);
    double first = i2.a_y - i1.a_y;
    for (int i = 0; i < 60; i++)
        cr_assert_eq(vg_dehaze_run(dh, &hz, &out, 1.0f, &i2), 0);
    double total = i2.a_y - i1.a_y;
    /* one frame moves the light by about a tenth of the way (a_rate 0.1) */
    cr_log_info("A %.1f: +%.2f after one frame, +%.2f after 61 frames of brighter haze",
                i1.a_y, first, total);
    cr_assert_gt(total, 10.0);
    cr_assert(first > 0.05 * total && first < 0.2 * total, "first step %.2f of %.2f", first,
              total);
    vg_dehaze_free(&dh);
    vg_image_release(&hz);
    vg_image_release(&out);
}
