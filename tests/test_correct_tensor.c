/*
 * tensor_prep against libswscale + a float path on real footage (vtest.avi).
 *
 * Fair comparison: libswscale's "bilinear" downscale is a wide tent filter,
 * not the 2-tap sampling our kernel (and cv2.resize/blobFromImage) do. So the
 * reference is: libswscale converts the decoded frame to RGB24/GRAY8 at the
 * source size (its colour conversion, accurate rounding, full chroma
 * interpolation, chroma siting told to match the stream), then a plain double
 * precision 2-tap bilinear resize + mean/scale in this file. Luma-only and
 * RGB24 inputs must then match to rounding; for YUV -> RGB the only remaining
 * difference is how chroma is upsampled (swscale's vertical chroma filter is
 * not bilinear), which shows at sharp colour edges only: the mean error must
 * be under 1/255 and 99% of values within 6/255 (measured: mean 0.55/255,
 * p99 4.9/255; with the chroma smoothed first: mean 0.34, p99 2.4).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/opt.h>
#include <libswscale/swscale.h>

#include "pipeline/correct/tensor_prep.h"
#include "tests/correct/frames.h"

static AVFrame *frame; /* decoded vtest.avi frame 100, YUV420P limited range */

static void setup(void)
{
    AVFrame *f[1];
    cr_assert_eq(vgt_decode(vgt_footage("vtest.avi"), 100, 1, f), 1,
                 "cannot decode vtest.avi (run scripts/fetch-footage.sh)");
    frame = f[0];
    cr_assert_eq(frame->format, AV_PIX_FMT_YUV420P);
}

static void teardown(void)
{
    av_frame_free(&frame);
}

/* swscale at the source size, chroma siting = MPEG-2 "left". */
static AVFrame *sws_same_size(const AVFrame *f, int fmt)
{
    AVFrame *o = av_frame_alloc();
    o->format = fmt;
    o->width = f->width;
    o->height = f->height;
    cr_assert_geq(av_frame_get_buffer(o, 64), 0);
    struct SwsContext *s = sws_alloc_context();
    av_opt_set_int(s, "srcw", f->width, 0);
    av_opt_set_int(s, "srch", f->height, 0);
    av_opt_set_int(s, "src_format", f->format, 0);
    av_opt_set_int(s, "dstw", f->width, 0);
    av_opt_set_int(s, "dsth", f->height, 0);
    av_opt_set_int(s, "dst_format", fmt, 0);
    av_opt_set_int(s, "sws_flags", SWS_BILINEAR | SWS_FULL_CHR_H_INT | SWS_ACCURATE_RND, 0);
    av_opt_set_int(s, "src_h_chr_pos", 0, 0);
    av_opt_set_int(s, "src_v_chr_pos", 128, 0);
    cr_assert_geq(sws_init_context(s, NULL, NULL), 0);
    sws_scale(s, (const uint8_t *const *)f->data, f->linesize, 0, f->height, o->data,
              o->linesize);
    sws_freeContext(s);
    return o;
}

/* Double-precision 2-tap bilinear sample of channel c of a packed image. */
static double bilinear(const uint8_t *p, int ls, int bpp, int c, int w, int h, double sx,
                       double sy)
{
    sx = sx < 0 ? 0 : sx;
    sy = sy < 0 ? 0 : sy;
    int x0 = (int)sx, y0 = (int)sy;
    double fx = sx - x0, fy = sy - y0;
    if (x0 >= w - 1) { x0 = w - 1; fx = 0; }
    if (y0 >= h - 1) { y0 = h - 1; fy = 0; }
    int x1 = x0 + 1 < w ? x0 + 1 : x0, y1 = y0 + 1 < h ? y0 + 1 : y0;
    double a = p[y0 * ls + x0 * bpp + c], b = p[y0 * ls + x1 * bpp + c];
    double d = p[y1 * ls + x0 * bpp + c], e = p[y1 * ls + x1 * bpp + c];
    return (a + fx * (b - a)) * (1 - fy) + (d + fx * (e - d)) * fy;
}

typedef struct {
    double mean, max, p99; /* in units of 1/255 */
} err_t;

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/*
 * Compare tensor t (NCHW, channels C, value = pixel*scale) with the reference
 * built from ref (packed, bpp bytes per pixel) over the picture area.
 */
static err_t compare(const float *t, const vg_tensor_prep_config_t *cfg,
                     const vg_tensor_xform_t *xf, const AVFrame *ref, int bpp, int C,
                     const int *order, float scale)
{
    int W = cfg->width, H = cfg->height;
    int cw = (int)lround(ref->width * xf->scale_x), ch = (int)lround(ref->height * xf->scale_y);
    double *e = malloc(sizeof(double) * (size_t)cw * ch * C);
    size_t n = 0;
    double sum = 0, mx = 0;
    for (int k = 0; k < C; k++)
        for (int y = 0; y < ch; y++)
            for (int x = 0; x < cw; x++) {
                double sx = (x + 0.5) * ref->width / cw - 0.5;
                double sy = (y + 0.5) * ref->height / ch - 0.5;
                double r = bilinear(ref->data[0], ref->linesize[0], bpp, order[k], ref->width,
                                    ref->height, sx, sy);
                double v = t[(size_t)k * W * H + (size_t)(y + (int)xf->pad_y) * W + x +
                             (int)xf->pad_x] / scale;
                double d = fabs(v - r);
                e[n++] = d;
                sum += d;
                mx = d > mx ? d : mx;
            }
    qsort(e, n, sizeof(double), cmpd);
    err_t r = { sum / n, mx, e[(size_t)(0.99 * (n - 1))] };
    free(e);
    return r;
}

static float *run(const vg_tensor_prep_config_t *cfg, const AVFrame *f, vg_tensor_xform_t *xf)
{
    vg_tensor_prep_t *tp = NULL;
    cr_assert_eq(vg_tensor_prep_new(cfg, &tp), 0);
    float *t = aligned_alloc(64, sizeof(float) * vg_tensor_prep_size(tp) + 64);
    vg_image_t im;
    cr_assert_eq(vg_image_from_frame(f, &im), 0);
    cr_assert_eq(vg_tensor_prep_run(tp, &im, t, xf), 0);
    vg_tensor_prep_free(&tp);
    cr_assert_null(tp);
    return t;
}

#define S255 (1.0f / 255.0f)

/* A copy of f whose chroma planes are box-blurred (radius 2, twice): real
 * luma and real colours, but no sharp chroma edges, so that every sane
 * chroma upsampler gives the same values. */
static AVFrame *smooth_chroma(const AVFrame *f)
{
    AVFrame *o = av_frame_clone(f);
    cr_assert_geq(av_frame_make_writable(o), 0);
    int w = (f->width + 1) / 2, h = (f->height + 1) / 2;
    uint8_t *tmp = malloc((size_t)w * h);
    for (int p = 1; p <= 2; p++)
        for (int pass = 0; pass < 2; pass++) {
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    int s = 0, n = 0;
                    for (int dy = -2; dy <= 2; dy++)
                        for (int dx = -2; dx <= 2; dx++) {
                            int yy = y + dy, xx = x + dx;
                            if (yy < 0 || yy >= h || xx < 0 || xx >= w)
                                continue;
                            s += o->data[p][yy * o->linesize[p] + xx];
                            n++;
                        }
                    tmp[y * w + x] = (uint8_t)((s + n / 2) / n);
                }
            for (int y = 0; y < h; y++)
                memcpy(o->data[p] + y * o->linesize[p], tmp + y * w, w);
        }
    free(tmp);
    return o;
}

TestSuite(correct_tensor, .init = setup, .fini = teardown, .timeout = 60);

Test(correct_tensor, letterbox_geometry_and_border)
{
    vg_tensor_prep_config_t cfg = { .width = 416, .height = 416, .pad = 114,
                                    .mean = { 10, 20, 30 }, .scale = { 0.5f, 0.25f, 2.0f } };
    vg_tensor_xform_t xf;
    float *t = run(&cfg, frame, &xf);
    /* 768x576 -> 416x312, 52 rows of border above and below */
    cr_assert_float_eq(xf.scale_x, 416.0f / 768.0f, 1e-6);
    cr_assert_float_eq(xf.scale_y, 312.0f / 576.0f, 1e-6);
    cr_assert_float_eq(xf.pad_x, 0.0f, 0);
    cr_assert_float_eq(xf.pad_y, 52.0f, 0);
    float expect[3] = { (114 - 10) * 0.5f, (114 - 20) * 0.25f, (114 - 30) * 2.0f };
    for (int k = 0; k < 3; k++) {
        const float *p = t + (size_t)k * 416 * 416;
        cr_assert_float_eq(p[0], expect[k], 1e-5);
        cr_assert_float_eq(p[51 * 416 + 415], expect[k], 1e-5);
        cr_assert_float_eq(p[364 * 416 + 200], expect[k], 1e-5);
        /* first picture row is not border (the street is not that grey everywhere) */
        int differ = 0;
        for (int x = 0; x < 416; x++)
            differ += fabsf(p[52 * 416 + x] - expect[k]) > 1e-3f;
        cr_assert_gt(differ, 300);
    }
    free(t);
}

Test(correct_tensor, luma_matches_swscale_gray_plus_bilinear)
{
    vg_tensor_prep_config_t cfg = { .width = 416, .height = 416, .color = VG_TENSOR_GRAY,
                                    .scale = { S255 } };
    vg_tensor_xform_t xf;
    float *t = run(&cfg, frame, &xf);
    AVFrame *g = vgt_convert(frame, AV_PIX_FMT_GRAY8, frame->width, frame->height,
                             SWS_BILINEAR | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT);
    int order[1] = { 0 };
    err_t e = compare(t, &cfg, &xf, g, 1, 1, order, S255);
    cr_log_info("gray: mean %.3f max %.3f p99 %.3f (1/255)", e.mean, e.max, e.p99);
    /* swscale rounds to 8 bits; everything else is the same arithmetic */
    cr_assert_leq(e.mean, 0.5);
    cr_assert_leq(e.max, 1.0);
    av_frame_free(&g);
    free(t);
}

Test(correct_tensor, rgb_matches_swscale_rgb24_plus_bilinear)
{
    vg_tensor_prep_config_t cfg = { .width = 416, .height = 416,
                                    .scale = { S255, S255, S255 } };
    vg_tensor_xform_t xf;
    float *t = run(&cfg, frame, &xf);
    AVFrame *r = sws_same_size(frame, AV_PIX_FMT_RGB24);
    int order[3] = { 0, 1, 2 };
    err_t e = compare(t, &cfg, &xf, r, 3, 3, order, S255);
    cr_log_info("rgb: mean %.3f max %.3f p99 %.3f (1/255)", e.mean, e.max, e.p99);
    /* sharp colour edges: swscale's chroma upsampling differs there */
    cr_assert_leq(e.mean, 1.0);
    cr_assert_leq(e.p99, 6.0);
    free(t);
    av_frame_free(&r);

    /* the same frame with smooth chroma: all within rounding */
    AVFrame *sm = smooth_chroma(frame);
    t = run(&cfg, sm, &xf);
    r = sws_same_size(sm, AV_PIX_FMT_RGB24);
    e = compare(t, &cfg, &xf, r, 3, 3, order, S255);
    cr_log_info("rgb, smooth chroma: mean %.3f max %.3f p99 %.3f (1/255)", e.mean, e.max, e.p99);
    err_t es = e;
    free(t);
    vg_tensor_prep_config_t id = { .width = 768, .height = 576, .scale = { S255, S255, S255 } };
    t = run(&id, sm, &xf);
    e = compare(t, &id, &xf, r, 3, 3, order, S255);
    cr_log_info("rgb, smooth chroma, identity: mean %.3f max %.3f p99 %.3f (1/255)", e.mean, e.max, e.p99);
    /* swscale's RGB24 writer still differs from the exact BT.601 formula by
     * up to ~2 levels on 1% of the values even without any resizing (the
     * identity line above); the mean shows there is no bias */
    cr_assert_leq(es.mean, 0.5);
    cr_assert_leq(es.p99, 3.0);
    av_frame_free(&sm);
    free(t);

    /* BGR order and NHWC layout carry the same numbers */
    cfg.color = VG_TENSOR_BGR;
    cfg.layout = VG_TENSOR_NHWC;
    t = run(&cfg, frame, &xf);
    float *rgb = run(&(vg_tensor_prep_config_t){ .width = 416, .height = 416,
                                                  .scale = { S255, S255, S255 } },
                     frame, &xf);
    for (int i = 0; i < 416 * 416; i += 97)
        for (int k = 0; k < 3; k++)
            cr_assert_float_eq(t[3 * i + k], rgb[(2 - k) * 416 * 416 + i], 1e-6);
    free(rgb);
    free(t);
    av_frame_free(&r);
}

Test(correct_tensor, rgb24_input_is_exact_bilinear)
{
    AVFrame *r = sws_same_size(frame, AV_PIX_FMT_RGB24);
    vg_tensor_prep_config_t cfg = { .width = 320, .height = 320, .color = VG_TENSOR_BGR,
                                    .scale = { S255, S255, S255 } };
    vg_tensor_xform_t xf;
    float *t = run(&cfg, r, &xf);
    int order[3] = { 2, 1, 0 };
    err_t e = compare(t, &cfg, &xf, r, 3, 3, order, S255);
    cr_log_info("rgb24: mean %.5f max %.5f", e.mean, e.max);
    cr_assert_leq(e.max, 0.02); /* float vs double rounding only */
    free(t);
    av_frame_free(&r);
}

Test(correct_tensor, nv12_equals_yuv420p)
{
    AVFrame *nv = vgt_convert(frame, AV_PIX_FMT_NV12, frame->width, frame->height, SWS_POINT);
    cr_assert_not_null(nv);
    nv->color_range = frame->color_range;
    nv->chroma_location = frame->chroma_location;
    vg_tensor_prep_config_t cfg = { .width = 416, .height = 256, .scale = { S255, S255, S255 } };
    float *a = run(&cfg, frame, NULL), *b = run(&cfg, nv, NULL);
    for (int i = 0; i < 3 * 416 * 256; i++)
        cr_assert_float_eq(a[i], b[i], 1e-6, "index %d", i);
    free(a);
    free(b);
    av_frame_free(&nv);
}

Test(correct_tensor, full_range_yuvj_matches_swscale)
{
    AVFrame *j = vgt_convert(frame, AV_PIX_FMT_YUVJ420P, frame->width, frame->height,
                             SWS_POINT | SWS_ACCURATE_RND);
    cr_assert_not_null(j);
    j->chroma_location = AVCHROMA_LOC_LEFT;
    vg_tensor_prep_config_t cfg = { .width = 416, .height = 416, .scale = { S255, S255, S255 } };
    vg_tensor_xform_t xf;
    float *t = run(&cfg, j, &xf);
    AVFrame *r = sws_same_size(j, AV_PIX_FMT_RGB24);
    int order[3] = { 0, 1, 2 };
    err_t e = compare(t, &cfg, &xf, r, 3, 3, order, S255);
    cr_log_info("yuvj: mean %.3f max %.3f p99 %.3f (1/255)", e.mean, e.max, e.p99);
    cr_assert_leq(e.mean, 1.0);
    cr_assert_leq(e.p99, 6.0);
    /* and it is not read as limited range: the limited reading would stretch
     * contrast by 255/219 and miss by several levels on average */
    vg_image_t im;
    vg_image_from_frame(j, &im);
    cr_assert(im.full_range);
    free(t);
    av_frame_free(&r);
    av_frame_free(&j);
}

Test(correct_tensor, close_to_swscale_at_target_size)
{
    /* Direct comparison with libswscale scaling to 416x312 RGB24: its tent
     * filter averages more source pixels, so only the mean is close; a half
     * pixel misalignment or a colour mistake would push it far above 3. */
    vg_tensor_prep_config_t cfg = { .width = 416, .height = 312, .fit = VG_TENSOR_STRETCH,
                                    .scale = { S255, S255, S255 } };
    float *t = run(&cfg, frame, NULL);
    AVFrame *r = vgt_convert(frame, AV_PIX_FMT_RGB24, 416, 312,
                             SWS_BILINEAR | SWS_FULL_CHR_H_INT | SWS_ACCURATE_RND);
    double sum = 0;
    for (int k = 0; k < 3; k++)
        for (int y = 0; y < 312; y++)
            for (int x = 0; x < 416; x++)
                sum += fabs(t[k * 416 * 312 + y * 416 + x] * 255.0 -
                            r->data[0][y * r->linesize[0] + 3 * x + k]);
    double mean = sum / (3.0 * 416 * 312);
    cr_log_info("vs swscale at 416x312: mean |diff| %.3f /255", mean);
    cr_assert_leq(mean, 3.0);
    free(t);
    av_frame_free(&r);
}

Test(correct_tensor, whitening_gives_zero_mean_unit_std)
{
    vg_tensor_prep_config_t cfg = { .width = 416, .height = 416, .whiten = true, .pad = 114 };
    vg_tensor_xform_t xf;
    float *t = run(&cfg, frame, &xf);
    for (int k = 0; k < 3; k++) {
        double s = 0, q = 0;
        int n = 0;
        for (int y = 52; y < 364; y++)
            for (int x = 0; x < 416; x++, n++) {
                double v = t[k * 416 * 416 + y * 416 + x];
                s += v;
                q += v * v;
            }
        double m = s / n, sd = sqrt(q / n - m * m);
        cr_assert_float_eq(m, 0.0, 1e-3);
        cr_assert_float_eq(sd, 1.0, 1e-3);
        cr_assert_float_eq(t[k * 416 * 416], 0.0f, 0);
    }
    free(t);
}

Test(correct_tensor, rejects_bad_input)
{
    vg_tensor_prep_t *tp = NULL;
    vg_tensor_prep_config_t bad = { .width = 0, .height = 416 };
    cr_assert_eq(vg_tensor_prep_new(&bad, &tp), -EINVAL);
    cr_assert_null(tp);
    vg_tensor_prep_config_t cfg = { .width = 64, .height = 64, .max_src_width = 640 };
    cr_assert_eq(vg_tensor_prep_new(&cfg, &tp), 0);
    vg_image_t im;
    cr_assert_eq(vg_image_from_frame(frame, &im), 0);
    float t[3 * 64 * 64];
    cr_assert_eq(vg_tensor_prep_run(tp, &im, t, NULL), -EINVAL); /* 768 > 640 */
    vg_tensor_prep_free(&tp);
    vg_tensor_prep_free(&tp);
    AVFrame *g = vgt_convert(frame, AV_PIX_FMT_GRAY8, 64, 64, SWS_POINT);
    cr_assert_eq(vg_image_from_frame(g, &im), -ENOTSUP);
    av_frame_free(&g);
}
