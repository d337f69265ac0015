/* v4l2: format negotiation on the capability tables of real kinds of
 * cameras, the frame converters on a real frame of footage (MJPEG through
 * libavcodec, YUYV through swscale, checked against the ffmpeg CLI), and what
 * a camera source does with paths that are not cameras (missing: retried like
 * an unplugged camera; /dev/null: refused with a clear reason).
 *
 * Not tested here: streaming from a real device. This machine is a container
 * without kernel modules (no modprobe, no /lib/modules, no /dev/video*), so
 * neither the `vivid` virtual driver nor v4l2loopback can be loaded; the
 * ioctl/mmap/DQBUF path and a real unplug (ENODEV on DQBUF) need a host
 * where `modprobe vivid` works (vivid offers YUYV and many other formats at
 * many sizes, which would exercise enum_modes and the streaming loop). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <libavutil/pixdesc.h>
#include <linux/videodev2.h>

#include "capture/source.h"
#include "capture/v4l2.h"
#include "daemon/config.h"
#include "vg_test_util.h"

#define N(a) (sizeof(a) / sizeof(*(a)))
#define MJPG V4L2_PIX_FMT_MJPEG
#define YUYV V4L2_PIX_FMT_YUYV

static vg_v4l2_mode_t choose(const vg_v4l2_mode_t *modes, size_t n, uint32_t w, uint32_t h, double fps)
{
    vg_v4l2_request_t req = {w, h, fps};
    vg_v4l2_mode_t m = {0};
    int r = vg_v4l2_choose_format(modes, n, &req, &m);
    cr_assert_eq(r, 0, "choose_format(%ux%u@%g) = %d", w, h, fps, r);
    return m;
}

static double fps_of(const vg_v4l2_mode_t *m) { return (double)m->interval_den / m->interval_num; }

static void assert_mode(vg_v4l2_mode_t m, uint32_t fmt, uint32_t w, uint32_t h, double fps, int line)
{
    char got[5] = {0}, want[5] = {0};
    memcpy(got, &m.pixfmt, 4);
    memcpy(want, &fmt, 4);
    cr_assert_eq(m.pixfmt, fmt, "line %d: format %s, want %s", line, got, want);
    cr_assert_eq(m.width, w, "line %d: width %u, want %u", line, m.width, w);
    cr_assert_eq(m.height, h, "line %d: height %u, want %u", line, m.height, h);
    cr_assert_float_eq(fps_of(&m), fps, 0.01, "line %d: fps %g, want %g", line, fps_of(&m), fps);
}
#define ASSERT_MODE(m, fmt, w, h, fps) assert_mode((m), (fmt), (w), (h), (fps), __LINE__)

/* A USB 2 webcam of the C920 kind: MJPEG at every size at 30 fps, YUYV
 * limited by bandwidth at the large sizes. */
static const vg_v4l2_mode_t webcam[] = {
    {YUYV, 640, 480, 1, 30, false},   {YUYV, 640, 480, 1, 15, false},   {YUYV, 1280, 720, 1, 10, false},
    {YUYV, 1280, 720, 1, 5, false},   {YUYV, 1920, 1080, 1, 5, false},  {MJPG, 640, 480, 1, 30, false},
    {MJPG, 640, 480, 1, 15, false},   {MJPG, 1280, 720, 1, 30, false},  {MJPG, 1280, 720, 1, 15, false},
    {MJPG, 1920, 1080, 1, 30, false}, {MJPG, 1920, 1080, 1, 15, false},
};

Test(v4l2_choose, webcam_prefers_mjpeg_at_the_requested_size)
{
    vg_v4l2_mode_t m = choose(webcam, N(webcam), 1280, 720, 30);
    ASSERT_MODE(m, MJPG, 1280, 720, 30);
    /* both formats do 640x480@30: MJPEG wins the tie */
    m = choose(webcam, N(webcam), 640, 480, 30);
    ASSERT_MODE(m, MJPG, 640, 480, 30);
    m = choose(webcam, N(webcam), 1920, 1080, 15);
    ASSERT_MODE(m, MJPG, 1920, 1080, 15);
}

Test(v4l2_choose, rate_before_format)
{
    /* 720p at 10 fps is only offered in YUYV; MJPEG's 15 is 50% off */
    vg_v4l2_mode_t m = choose(webcam, N(webcam), 1280, 720, 10);
    ASSERT_MODE(m, YUYV, 1280, 720, 10);
    /* 1080p at 5 fps: YUYV has it exactly */
    m = choose(webcam, N(webcam), 1920, 1080, 5);
    ASSERT_MODE(m, YUYV, 1920, 1080, 5);
}

Test(v4l2_choose, yuyv_only_camera_closest_size_and_rate)
{
    static const vg_v4l2_mode_t cam[] = {
        {YUYV, 320, 240, 1, 30, false}, {YUYV, 640, 480, 1, 30, false},
        {YUYV, 640, 480, 1, 15, false}, {YUYV, 800, 600, 1, 20, false},
    };
    /* 720p is not offered: 800x600 is nearest (480+120 vs 640+240) */
    vg_v4l2_mode_t m = choose(cam, N(cam), 1280, 720, 30);
    ASSERT_MODE(m, YUYV, 800, 600, 20);
    m = choose(cam, N(cam), 640, 480, 12);
    ASSERT_MODE(m, YUYV, 640, 480, 15);
    /* only 30 at 320x240: a rate above the request is what there is */
    m = choose(cam, N(cam), 320, 240, 5);
    ASSERT_MODE(m, YUYV, 320, 240, 30);
}

Test(v4l2_choose, closest_size_ties_go_to_the_larger)
{
    static const vg_v4l2_mode_t cam[] = {
        {MJPG, 640, 480, 1, 30, false}, {MJPG, 1024, 768, 1, 30, false}, {MJPG, 1280, 600, 1, 30, false},
    };
    vg_v4l2_mode_t m = choose(cam, N(cam), 800, 600, 30);
    ASSERT_MODE(m, MJPG, 640, 480, 30); /* 160+120 < 224+168 < 480+0 */
    /* 960x540: 640x480 and 1280x600 are both 380 away */
    static const vg_v4l2_mode_t tie[] = {{MJPG, 640, 480, 1, 30, false}, {MJPG, 1280, 600, 1, 30, false}};
    m = choose(tie, N(tie), 960, 540, 30);
    ASSERT_MODE(m, MJPG, 1280, 600, 30);
    m = choose(tie + 1, 1, 960, 540, 30);
    ASSERT_MODE(m, MJPG, 1280, 600, 30);
    static const vg_v4l2_mode_t tie2[] = {{MJPG, 1280, 600, 1, 30, false}, {MJPG, 640, 480, 1, 30, false}};
    m = choose(tie2, N(tie2), 960, 540, 30);
    ASSERT_MODE(m, MJPG, 1280, 600, 30);
}

Test(v4l2_choose, rates_closest_below_costs_more)
{
    static const vg_v4l2_mode_t cam[] = {
        {YUYV, 640, 480, 1, 30, false}, {YUYV, 640, 480, 1, 15, false},
        {YUYV, 640, 480, 1, 10, false}, {YUYV, 640, 480, 2, 15, false}, /* 7.5 fps */
        {YUYV, 640, 480, 1001, 30000, false},                           /* 29.97 fps */
    };
    /* 12: 15 is 25% above, 10 is 17% below (counts 33%) */
    ASSERT_MODE(choose(cam, N(cam), 640, 480, 12), YUYV, 640, 480, 15);
    ASSERT_MODE(choose(cam, N(cam), 640, 480, 9), YUYV, 640, 480, 10);
    ASSERT_MODE(choose(cam, N(cam), 640, 480, 7), YUYV, 640, 480, 7.5);
    ASSERT_MODE(choose(cam, N(cam), 640, 480, 29.97), YUYV, 640, 480, 29.97);
    ASSERT_MODE(choose(cam, N(cam), 640, 480, 30), YUYV, 640, 480, 30);
    /* no preference: the fastest */
    ASSERT_MODE(choose(cam, N(cam), 640, 480, 0), YUYV, 640, 480, 30);
}

Test(v4l2_choose, no_preference_takes_the_largest_fastest)
{
    vg_v4l2_mode_t m = choose(webcam, N(webcam), 0, 0, 0);
    ASSERT_MODE(m, MJPG, 1920, 1080, 30);
}

Test(v4l2_choose, odd_formats)
{
    /* a Bayer sensor: libv4l2 offers RGB24, BGR24, YUV420 and YVU420
     * converted in software; YUV420 is the one we take */
    static const vg_v4l2_mode_t bayer[] = {
        {V4L2_PIX_FMT_SGRBG8, 640, 480, 1, 30, false}, {V4L2_PIX_FMT_RGB24, 640, 480, 1, 30, true},
        {V4L2_PIX_FMT_BGR24, 640, 480, 1, 30, true},   {V4L2_PIX_FMT_YUV420, 640, 480, 1, 30, true},
        {V4L2_PIX_FMT_YVU420, 640, 480, 1, 30, true},
    };
    vg_v4l2_mode_t m = choose(bayer, N(bayer), 1280, 720, 30);
    ASSERT_MODE(m, V4L2_PIX_FMT_YUV420, 640, 480, 30);
    cr_assert(m.emulated);

    /* a camera that says JPEG rather than MJPG (some Microdia/Sonix) */
    static const vg_v4l2_mode_t jpeg[] = {
        {V4L2_PIX_FMT_JPEG, 640, 480, 1, 30, false}, {V4L2_PIX_FMT_UYVY, 640, 480, 1, 30, false},
    };
    ASSERT_MODE(choose(jpeg, N(jpeg), 640, 480, 30), V4L2_PIX_FMT_JPEG, 640, 480, 30);

    /* raw formats swscale reads: the size decides before the format */
    static const vg_v4l2_mode_t raw[] = {
        {V4L2_PIX_FMT_GREY, 1280, 720, 1, 30, false}, {V4L2_PIX_FMT_NV12, 640, 480, 1, 30, false},
    };
    ASSERT_MODE(choose(raw, N(raw), 1280, 720, 30), V4L2_PIX_FMT_GREY, 1280, 720, 30);
    ASSERT_MODE(choose(raw, N(raw), 640, 480, 30), V4L2_PIX_FMT_NV12, 640, 480, 30);

    /* H.264 only (and a zero-size entry): nothing we can use */
    static const vg_v4l2_mode_t h264[] = {
        {V4L2_PIX_FMT_H264, 1920, 1080, 1, 30, false}, {YUYV, 0, 0, 1, 30, false},
    };
    vg_v4l2_request_t req = {1280, 720, 30};
    vg_v4l2_mode_t out = {.width = 4242};
    cr_assert_eq(vg_v4l2_choose_format(h264, N(h264), &req, &out), -ENOTSUP);
    cr_assert_eq(out.width, 4242, "*ret is untouched on failure");
    cr_assert_eq(vg_v4l2_choose_format(h264, 0, &req, &out), -EINVAL);
    cr_assert_eq(vg_v4l2_format_rank(V4L2_PIX_FMT_H264), -1);
}

Test(v4l2_choose, unknown_rates_and_native_over_emulated)
{
    /* a driver that does not enumerate intervals, and a native YUV420 next
     * to libv4l2's emulated copy */
    static const vg_v4l2_mode_t cam[] = {
        {V4L2_PIX_FMT_YUV420, 640, 480, 0, 0, true},
        {V4L2_PIX_FMT_YUV420, 640, 480, 0, 0, false},
        {V4L2_PIX_FMT_RGB24, 640, 480, 0, 0, true},
    };
    vg_v4l2_request_t req = {640, 480, 30};
    vg_v4l2_mode_t m;
    cr_assert_eq(vg_v4l2_choose_format(cam, N(cam), &req, &m), 0);
    cr_assert_eq(m.pixfmt, V4L2_PIX_FMT_YUV420);
    cr_assert(!m.emulated, "the native format beats the same one emulated");
    /* an exact known rate beats an unknown one */
    static const vg_v4l2_mode_t mixed[] = {
        {MJPG, 640, 480, 0, 0, false}, {YUYV, 640, 480, 1, 30, false},
    };
    ASSERT_MODE(choose(mixed, N(mixed), 640, 480, 30), YUYV, 640, 480, 30);
}

Test(v4l2_url, device_paths)
{
    cr_assert(vg_v4l2_url_is_device("/dev/video0"));
    cr_assert(vg_v4l2_url_is_device("/dev/v4l/by-id/usb-046d_HD_Pro_Webcam_C920-video-index0"));
    cr_assert(!vg_v4l2_url_is_device("/dev/null"), "a char device of another major");
    cr_assert(!vg_v4l2_url_is_device("rtsp://192.0.2.10/stream1"));
    cr_assert(!vg_v4l2_url_is_device(vg_test_footage("vtest.avi")));
    cr_assert(vg_source_url_is_network("/dev/video3"), "V4L2 devices are live and reconnect");
    cr_assert(!vg_source_url_is_network("/tmp/clip.mp4"));
}

/* ---- converters on a real frame ---- */

#define FW 640
#define FH 480

static const char *fixture_dir(void)
{
    static char dir[1024];
    const char *b = getenv("VIGIL_BUILD_DIR");
    snprintf(dir, sizeof(dir), "%s/v4l2-fixtures", b && *b ? b : "/tmp");
    return dir;
}

/* One frame of vtest.avi at 640x480: as YUV420P (ref), as YUYV (what a
 * camera sends), YUYV converted back by the ffmpeg CLI (ref), and as JPEG. */
static void make_fixtures(void)
{
    const char *d = fixture_dir();
    char marker[1100], cmd[4096];
    snprintf(marker, sizeof(marker), "%s/frame.jpg", d);
    if (access(marker, R_OK) == 0)
        return;
    const char *src = vg_test_footage("vtest.avi");
    snprintf(cmd, sizeof(cmd),
             "set -e; mkdir -p '%s'; cd '%s'; "
             "ffmpeg -v error -y -ss 10 -i '%s' -frames:v 1 -vf scale=%d:%d -pix_fmt yuv420p -f rawvideo frame.yuv420; "
             "ffmpeg -v error -y -f rawvideo -pix_fmt yuv420p -s %dx%d -i frame.yuv420 -pix_fmt yuyv422 -f rawvideo frame.yuyv; "
             "ffmpeg -v error -y -f rawvideo -pix_fmt yuyv422 -s %dx%d -i frame.yuyv -pix_fmt yuv420p -f rawvideo frame.yuyv.yuv420; "
             "ffmpeg -v error -y -f rawvideo -pix_fmt yuv420p -s %dx%d -i frame.yuv420 -q:v 3 -f mjpeg frame.jpg.tmp; "
             "mv frame.jpg.tmp frame.jpg",
             d, d, src, FW, FH, FW, FH, FW, FH, FW, FH);
    cr_assert_eq(system(cmd), 0, "making fixtures with the ffmpeg CLI failed: %s", cmd);
}

static uint8_t *slurp(const char *name, size_t *ret_len)
{
    char path[1100];
    snprintf(path, sizeof(path), "%s/%s", fixture_dir(), name);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *ret_len = (size_t)n;
    return buf;
}

/* Mean and max absolute difference between a plane of frame and a packed
 * reference plane. */
static void plane_diff(const AVFrame *fr, int plane, const uint8_t *ref, int w, int h, double *mean, int *max)
{
    long long sum = 0;
    *max = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int d = abs((int)fr->data[plane][y * fr->linesize[plane] + x] - (int)ref[y * w + x]);
            sum += d;
            if (d > *max)
                *max = d;
        }
    *mean = (double)sum / ((double)w * h);
}

Test(v4l2_conv, yuyv_to_yuv420p_matches_ffmpeg)
{
    make_fixtures();
    size_t n, nref;
    uint8_t *yuyv = slurp("frame.yuyv", &n);
    uint8_t *ref = slurp("frame.yuyv.yuv420", &nref);
    cr_assert_eq(n, (size_t)FW * FH * 2);
    cr_assert_eq(nref, (size_t)FW * FH * 3 / 2);

    /* a driver stride with padding at the end of each line */
    const uint32_t bpl = FW * 2 + 96;
    uint8_t *padded = calloc(bpl, FH);
    for (int y = 0; y < FH; y++)
        memcpy(padded + (size_t)y * bpl, yuyv + (size_t)y * FW * 2, FW * 2);

    vg_v4l2_conv_t *tight = NULL, *strided = NULL;
    cr_assert_eq(vg_v4l2_conv_new(YUYV, FW, FH, 0, &tight), 0);
    cr_assert_eq(vg_v4l2_conv_new(YUYV, FW, FH, bpl, &strided), 0);
    AVFrame *a = av_frame_alloc(), *b = av_frame_alloc();
    cr_assert_eq(vg_v4l2_conv_run(tight, yuyv, n, a), 0);
    cr_assert_eq(vg_v4l2_conv_run(strided, padded, (size_t)bpl * FH, b), 0);
    cr_assert_eq(a->format, AV_PIX_FMT_YUV420P);
    cr_assert_eq(a->width, FW);
    cr_assert_eq(a->height, FH);
    cr_assert_eq(a->linesize[0] % 64, 0, "lines aligned for SIMD");

    const uint8_t *refp[3] = {ref, ref + FW * FH, ref + FW * FH + FW * FH / 4};
    for (int p = 0; p < 3; p++) {
        int w = p ? FW / 2 : FW, h = p ? FH / 2 : FH;
        double mean;
        int max;
        plane_diff(a, p, refp[p], w, h, &mean, &max);
        /* same library, possibly other filter flags: chroma within a step;
         * a wrong stride or swapped U/V is off by tens */
        cr_assert(mean < 0.6 && max <= 2, "plane %d: mean |diff| %.3f, max %d vs the ffmpeg CLI", p, mean, max);
        for (int y = 0; y < h; y++)
            cr_assert_eq(memcmp(a->data[p] + y * a->linesize[p], b->data[p] + y * b->linesize[p], (size_t)w), 0,
                         "plane %d line %d differs with a padded stride", p, y);
    }

    /* pictures come from a pool: after unref, the next one reuses the buffer */
    uint8_t *first = a->data[0];
    av_frame_unref(a);
    cr_assert_eq(vg_v4l2_conv_run(tight, yuyv, n, a), 0);
    cr_assert_eq(a->data[0], first, "the picture buffer was not recycled");

    /* a short buffer (the driver lost the end of the frame) is refused */
    AVFrame *c = av_frame_alloc();
    cr_assert_eq(vg_v4l2_conv_run(tight, yuyv, n - 100, c), AVERROR_INVALIDDATA);
    cr_assert_null(c->buf[0], "ret stays empty on failure");

    /* the picture outlives its converter */
    vg_v4l2_conv_free(&tight);
    cr_assert_null(tight);
    double mean;
    int max;
    plane_diff(a, 0, refp[0], FW, FH, &mean, &max);
    cr_assert(mean < 0.6);
    av_frame_free(&a);
    av_frame_free(&b);
    av_frame_free(&c);
    vg_v4l2_conv_free(&strided);
    vg_v4l2_conv_free(&strided); /* NULL is fine */
    free(padded);
    free(yuyv);
    free(ref);
}

Test(v4l2_conv, yuv420_from_libv4l2_is_copied)
{
    make_fixtures();
    size_t n;
    uint8_t *yuv = slurp("frame.yuv420", &n);
    vg_v4l2_conv_t *c = NULL;
    cr_assert_eq(vg_v4l2_conv_new(V4L2_PIX_FMT_YUV420, FW, FH, FW, &c), 0);
    AVFrame *f = av_frame_alloc();
    cr_assert_eq(vg_v4l2_conv_run(c, yuv, n, f), 0);
    const uint8_t *refp[3] = {yuv, yuv + FW * FH, yuv + FW * FH + FW * FH / 4};
    for (int p = 0; p < 3; p++) {
        double mean;
        int max;
        plane_diff(f, p, refp[p], p ? FW / 2 : FW, p ? FH / 2 : FH, &mean, &max);
        cr_assert_eq(max, 0, "plane %d: a same-format conversion is a copy (max diff %d)", p, max);
    }
    av_frame_free(&f);
    vg_v4l2_conv_free(&c);
    free(yuv);
}

static double psnr_y(const AVFrame *f, const uint8_t *ref)
{
    double se = 0;
    for (int y = 0; y < FH; y++)
        for (int x = 0; x < FW; x++) {
            double d = (double)f->data[0][y * f->linesize[0] + x] - ref[y * FW + x];
            se += d * d;
        }
    double mse = se / (FW * FH);
    return mse > 0 ? 10 * log10(255.0 * 255.0 / mse) : 99;
}

Test(v4l2_conv, mjpeg_decodes_through_libavcodec)
{
    make_fixtures();
    size_t njpg, nref;
    uint8_t *jpg = slurp("frame.jpg", &njpg);
    uint8_t *ref = slurp("frame.yuv420", &nref);
    /* a V4L2 buffer is bigger than the JPEG in it: bytesused tells */
    size_t cap = (size_t)FW * FH * 2;
    uint8_t *buf = calloc(1, cap);
    memcpy(buf, jpg, njpg);

    vg_v4l2_conv_t *c = NULL;
    cr_assert_eq(vg_v4l2_conv_new(MJPG, FW, FH, 0, &c), 0);
    AVFrame *f = av_frame_alloc();
    uint8_t *pic = NULL;
    for (int i = 0; i < 3; i++) { /* the decoder keeps working frame after frame */
        cr_assert_eq(vg_v4l2_conv_run(c, buf, njpg, f), 0, "decode %d", i);
        if (i == 1)
            pic = f->data[0];
        if (i == 2)
            cr_assert_eq(f->data[0], pic, "libavcodec's frame pool hands the same picture back");
        cr_assert(f->format == AV_PIX_FMT_YUVJ420P || f->format == AV_PIX_FMT_YUVJ422P, "format %s",
                  av_get_pix_fmt_name(f->format));
        cr_assert_eq(f->width, FW);
        cr_assert_eq(f->height, FH);
        double p = psnr_y(f, ref);
        cr_assert(p > 30.0, "luma PSNR %.1f dB against the frame before JPEG", p);
        av_frame_unref(f);
    }
    /* not a JPEG (no SOI marker) */
    cr_assert_eq(vg_v4l2_conv_run(c, ref, 4096, f), AVERROR_INVALIDDATA);
    cr_assert_null(f->buf[0]);
    /* a JPEG of another size than negotiated (cameras that code 1080p as
     * 1920x1088) comes out at its own size */
    vg_v4l2_conv_t *other = NULL;
    cr_assert_eq(vg_v4l2_conv_new(MJPG, 320, 240, 0, &other), 0);
    cr_assert_eq(vg_v4l2_conv_run(other, buf, njpg, f), 0);
    cr_assert_eq(f->width, FW);
    cr_assert_eq(f->height, FH);
    av_frame_unref(f);
    vg_v4l2_conv_free(&other);
    /* larger than a raw picture of the negotiated size: refused before decoding */
    cr_assert_eq(vg_v4l2_conv_new(MJPG, 64, 64, 0, &other), 0);
    uint8_t *big = calloc(1, 64 * 64 * 2 + 65536 + 1);
    memcpy(big, jpg, 4);
    cr_assert_eq(vg_v4l2_conv_run(other, big, 64 * 64 * 2 + 65536 + 1, f), AVERROR_INVALIDDATA);
    cr_assert_null(f->buf[0]);
    free(big);
    vg_v4l2_conv_free(&other);
    cr_assert_eq(vg_v4l2_conv_new(V4L2_PIX_FMT_H264, FW, FH, 0, &other), -ENOTSUP);
    vg_v4l2_conv_free(&other);
    av_frame_free(&f);
    vg_v4l2_conv_free(&c);
    free(buf);
    free(jpg);
    free(ref);
}

/* ---- paths that are not (yet) cameras ---- */

Test(v4l2_open, not_a_v4l2_device)
{
    char why[512] = "";
    vg_v4l2_t *cam = (vg_v4l2_t *)0x1;
    vg_v4l2_request_t req = {640, 480, 30};
    int r = vg_v4l2_open("/dev/null", &req, &cam, why, sizeof(why));
    cr_assert_eq(r, -ENOTTY, "r = %d (%s)", r, why);
    cr_assert_eq(cam, (vg_v4l2_t *)0x1, "*ret untouched on failure");
    cr_assert(strstr(why, "'/dev/null' is not a V4L2 device"), "why: %s", why);

    /* a by-id style symlink: the message names the link and its target */
    char link[1200];
    snprintf(link, sizeof(link), "%s/usb-vigil_test-video-index0", fixture_dir());
    mkdir(fixture_dir(), 0755);
    unlink(link);
    cr_assert_eq(symlink("/dev/null", link), 0);
    r = vg_v4l2_open(link, &req, &cam, why, sizeof(why));
    cr_assert_eq(r, -ENOTTY);
    cr_assert(strstr(why, link) && strstr(why, "(/dev/null) is not a V4L2 device"), "why: %s", why);
    unlink(link);

    /* a regular file */
    r = vg_v4l2_open(vg_test_footage("vtest.avi"), &req, &cam, why, sizeof(why));
    cr_assert_eq(r, -ENOTTY, "why: %s", why);
}

Test(v4l2_open, missing_device)
{
    char why[512] = "";
    vg_v4l2_t *cam = NULL;
    int r = vg_v4l2_open("/dev/v4l/by-id/usb-vigil-missing-video-index0", NULL, &cam, why, sizeof(why));
    cr_assert_eq(r, -ENOENT);
    cr_assert_null(cam);
    cr_assert(strstr(why, "'/dev/v4l/by-id/usb-vigil-missing-video-index0': No such file or directory"), "why: %s",
              why);
}

/* What a camera source reported. */
#define MAX_EVENTS 64
typedef struct {
    pthread_mutex_t lock;
    int n;
    vg_source_state_t states[MAX_EVENTS];
    char reasons[MAX_EVENTS][512];
} probe_t;

static void on_health(void *opaque, vg_source_state_t st, const char *reason)
{
    probe_t *p = opaque;
    pthread_mutex_lock(&p->lock);
    if (p->n < MAX_EVENTS) {
        p->states[p->n] = st;
        snprintf(p->reasons[p->n], sizeof(p->reasons[0]), "%s", reason);
        p->n++;
    }
    pthread_mutex_unlock(&p->lock);
}

static int count_state(probe_t *p, vg_source_state_t st)
{
    pthread_mutex_lock(&p->lock);
    int c = 0;
    for (int i = 0; i < p->n; i++)
        c += p->states[i] == st;
    pthread_mutex_unlock(&p->lock);
    return c;
}

static bool wait_count(probe_t *p, vg_source_state_t st, int want, int timeout_ms)
{
    long long end = vg_test_now_ms() + timeout_ms;
    while (vg_test_now_ms() < end) {
        if (count_state(p, st) >= want)
            return true;
        usleep(20000);
    }
    return false;
}

/* A camera missing at start is retried like an unplugged one; when its node
 * appears (here: a /dev/video* name that is a link to /dev/null) the loop
 * opens it again, and a node that is not a camera ends the source with a
 * clear reason instead of retrying for ever. */
Test(v4l2_source, missing_camera_is_retried_then_reopened, .timeout = 60)
{
    char path[128];
    snprintf(path, sizeof(path), "/dev/video-vigil-test-%d", (int)getpid());
    unlink(path);
    probe_t probe = {.lock = PTHREAD_MUTEX_INITIALIZER};
    vg_ring_t *ring = NULL;
    vg_frame_pool_t *pool = NULL;
    cr_assert_eq(vg_ring_new(4, &ring), 0);
    cr_assert_eq(vg_frame_pool_new(5, &pool), 0);
    vg_source_config_t sc = {
        .name = "cam", .url = path, .analysis_fps = 5, .timeout_us = 2000000, .backoff_min_us = 50000,
        .backoff_max_us = 200000, .ring = ring, .pool = pool, .health = on_health, .opaque = &probe,
    };
    vg_source_t *src = NULL;
    cr_assert_eq(vg_source_new(&sc, &src), 0);
    cr_assert(wait_count(&probe, VG_SOURCE_RECONNECTING, 3, 20000), "3 retries while the camera is missing");
    cr_assert(!vg_source_done(src), "a missing camera does not end the source");
    cr_assert_eq(count_state(&probe, VG_SOURCE_FAILED), 0);
    pthread_mutex_lock(&probe.lock);
    cr_assert_eq(probe.states[0], VG_SOURCE_CONNECTING);
    for (int i = 0; i < probe.n; i++)
        if (probe.states[i] == VG_SOURCE_RECONNECTING) {
            char want[256];
            snprintf(want, sizeof(want), "cannot open '%s': No such file or directory", path);
            cr_assert_str_eq(probe.reasons[i], want);
        }
    pthread_mutex_unlock(&probe.lock);
    cr_assert_geq(atomic_load(&vg_source_stats(src)->reconnects), 3);

    /* the node appears, but it is not a camera */
    if (symlink("/dev/null", path) != 0) {
        int e = errno;
        vg_source_free(&src);
        cr_skip_test("cannot create %s (%s): the reopen half needs root", path, strerror(e));
    }
    bool failed = wait_count(&probe, VG_SOURCE_FAILED, 1, 20000);
    unlink(path);
    cr_assert(failed, "the reopened node is refused");
    long long end = vg_test_now_ms() + 5000;
    while (!vg_source_done(src) && vg_test_now_ms() < end)
        usleep(10000);
    cr_assert(vg_source_done(src));
    pthread_mutex_lock(&probe.lock);
    const char *last = probe.reasons[probe.n - 1];
    cr_assert_eq(probe.states[probe.n - 1], VG_SOURCE_FAILED);
    cr_assert(strstr(last, path) && strstr(last, "(/dev/null) is not a V4L2 device"), "reason: %s", last);
    pthread_mutex_unlock(&probe.lock);
    cr_assert_eq(atomic_load(&vg_source_stats(src)->queued), 0);
    vg_source_free(&src);
    cr_assert_eq(vg_frame_pool_available(pool), 5, "every frame back in the pool");
    vg_frame_pool_free(&pool);
    vg_ring_free(&ring);
}

/* ---- the camera config keys ---- */

Test(v4l2_config, size_and_fps_keys)
{
    static const char yaml[] = "cameras:\n"
                               "  desk:\n"
                               "    url: /dev/video0\n"
                               "    v4l2: { size: [640, 480], fps: 15 }\n"
                               "  hall:\n"
                               "    url: /dev/v4l/by-id/usb-x-video-index0\n";
    char err[512] = "";
    vg_config_t *cfg = NULL;
    cr_assert_eq(vg_config_parse("t.yaml", yaml, sizeof(yaml) - 1, err, sizeof(err), &cfg), 0, "%s", err);
    const vg_camera_config_t *desk = vg_config_find_camera(cfg, "desk"), *hall = vg_config_find_camera(cfg, "hall");
    cr_assert(desk && hall);
    cr_assert_eq(desk->v4l2_width, 640);
    cr_assert_eq(desk->v4l2_height, 480);
    cr_assert_float_eq(desk->v4l2_fps, 15.0, 1e-9);
    cr_assert_eq(hall->v4l2_width, VG_V4L2_DEFAULT_WIDTH);
    cr_assert_eq(hall->v4l2_height, VG_V4L2_DEFAULT_HEIGHT);
    cr_assert_float_eq(hall->v4l2_fps, VG_V4L2_DEFAULT_FPS, 1e-9);
    cr_assert(!vg_camera_config_equal(desk, hall), "a changed mode restarts the camera on reload");
    vg_config_free(&cfg);

    static const char bad[] = "cameras:\n"
                              "  desk:\n"
                              "    url: /dev/video0\n"
                              "    v4l2:\n"
                              "      size: [8, 480]\n";
    cr_assert_eq(vg_config_parse("t.yaml", bad, sizeof(bad) - 1, err, sizeof(err), &cfg), -EINVAL);
    cr_assert(strstr(err, "t.yaml:5:") && strstr(err, "v4l2.size"), "err: %s", err);
}
