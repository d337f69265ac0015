/* v4l2.c: see v4l2.h. */
#include "capture/v4l2.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <libv4l2.h>
#include <linux/videodev2.h>

#include <libavcodec/avcodec.h>
#include <libavutil/buffer.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>

#define V4L2_MAJOR 81
#define PIC_ALIGN 64 /* line alignment of converted pictures (AVX-512 loads) */

/* ---- formats and negotiation (pure) ---- */

bool vg_v4l2_url_is_device(const char *url)
{
    if (!url)
        return false;
    if (strncmp(url, "/dev/video", 10) == 0 || strncmp(url, "/dev/v4l/", 9) == 0)
        return true;
    struct stat st;
    return url[0] == '/' && stat(url, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == V4L2_MAJOR;
}

/* The pixel format swscale reads for a raw V4L2 format, or AV_PIX_FMT_NONE. */
static enum AVPixelFormat raw_av_format(uint32_t pixfmt)
{
    switch (pixfmt) {
    case V4L2_PIX_FMT_YUYV: return AV_PIX_FMT_YUYV422;
    case V4L2_PIX_FMT_UYVY: return AV_PIX_FMT_UYVY422;
    case V4L2_PIX_FMT_YUV420: return AV_PIX_FMT_YUV420P;
    case V4L2_PIX_FMT_NV12: return AV_PIX_FMT_NV12;
    case V4L2_PIX_FMT_RGB24: return AV_PIX_FMT_RGB24;
    case V4L2_PIX_FMT_BGR24: return AV_PIX_FMT_BGR24;
    case V4L2_PIX_FMT_GREY: return AV_PIX_FMT_GRAY8;
    default: return AV_PIX_FMT_NONE;
    }
}

static bool is_jpeg(uint32_t pixfmt) { return pixfmt == V4L2_PIX_FMT_MJPEG || pixfmt == V4L2_PIX_FMT_JPEG; }

int vg_v4l2_format_rank(uint32_t pixfmt)
{
    if (is_jpeg(pixfmt))
        return 0;
    if (pixfmt == V4L2_PIX_FMT_YUYV)
        return 1;
    if (pixfmt == V4L2_PIX_FMT_YUV420)
        return 2;
    return raw_av_format(pixfmt) != AV_PIX_FMT_NONE ? 3 : -1;
}

static double mode_fps(const vg_v4l2_mode_t *m)
{
    return (m->interval_num && m->interval_den) ? (double)m->interval_den / m->interval_num : 0.0;
}

/* Relative distance of a mode's rate from the requested one. */
static double rate_cost(const vg_v4l2_mode_t *m, double want)
{
    double fps = mode_fps(m);
    if (fps <= 0)
        return 0.25;
    if (want <= 0)
        return 1.0 / fps; /* no preference: the fastest wins */
    return fps >= want ? (fps - want) / want : 2.0 * (want - fps) / want;
}

/* <0 when a is a better choice than b. */
static int compare_modes(const vg_v4l2_mode_t *a, const vg_v4l2_mode_t *b, const vg_v4l2_request_t *req)
{
    if (req->width || req->height) {
        int64_t da = llabs((int64_t)a->width - req->width) + llabs((int64_t)a->height - req->height);
        int64_t db = llabs((int64_t)b->width - req->width) + llabs((int64_t)b->height - req->height);
        if (da != db)
            return da < db ? -1 : 1;
    }
    uint64_t area_a = (uint64_t)a->width * a->height, area_b = (uint64_t)b->width * b->height;
    if (area_a != area_b)
        return area_a > area_b ? -1 : 1;
    double ra = rate_cost(a, req->fps), rb = rate_cost(b, req->fps);
    if (fabs(ra - rb) > 1e-9)
        return ra < rb ? -1 : 1;
    int ka = vg_v4l2_format_rank(a->pixfmt), kb = vg_v4l2_format_rank(b->pixfmt);
    if (ka != kb)
        return ka < kb ? -1 : 1;
    if (a->emulated != b->emulated)
        return a->emulated ? 1 : -1;
    return 0;
}

int vg_v4l2_choose_format(const vg_v4l2_mode_t *modes, size_t n, const vg_v4l2_request_t *req,
                          vg_v4l2_mode_t *ret)
{
    if (!modes || !n || !req || !ret)
        return -EINVAL;
    const vg_v4l2_mode_t *best = NULL;
    for (size_t i = 0; i < n; i++) {
        if (vg_v4l2_format_rank(modes[i].pixfmt) < 0 || !modes[i].width || !modes[i].height)
            continue;
        if (!best || compare_modes(&modes[i], best, req) < 0)
            best = &modes[i];
    }
    if (!best)
        return -ENOTSUP;
    *ret = *best;
    return 0;
}

/* ---- converter ---- */

struct vg_v4l2_conv {
    uint32_t pixfmt, width, height, bytesperline;
    /* MJPEG */
    AVCodecContext *dec;
    AVPacket *pkt;
    AVBufferPool *pkt_pool;   /* packets: the JPEG copied out of the mmap buffer */
    size_t pkt_size;          /* payload capacity of a pool packet */
    /* raw */
    struct SwsContext *sws;
    enum AVPixelFormat src_fmt;
    AVBufferPool *pic_pool;   /* YUV420P pictures */
    int pic_size;
};

static void fourcc_str(uint32_t f, char out[5])
{
    for (int i = 0; i < 4; i++) {
        char c = (char)((f >> (8 * i)) & 0xff);
        out[i] = (c >= 32 && c < 127) ? c : '?';
    }
    out[4] = '\0';
}

int vg_v4l2_conv_new(uint32_t pixfmt, uint32_t width, uint32_t height, uint32_t bytesperline,
                     vg_v4l2_conv_t **ret)
{
    if (!ret || !width || !height || width > 16384 || height > 16384)
        return -EINVAL;
    if (vg_v4l2_format_rank(pixfmt) < 0)
        return -ENOTSUP;
    vg_v4l2_conv_t *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->pixfmt = pixfmt;
    c->width = width;
    c->height = height;
    int r = -ENOMEM;
    if (is_jpeg(pixfmt)) {
        const AVCodec *codec = avcodec_find_decoder(AV_CODEC_ID_MJPEG);
        if (!codec) {
            r = -ENOTSUP;
            goto fail;
        }
        c->dec = avcodec_alloc_context3(codec);
        c->pkt = av_packet_alloc();
        /* a JPEG is smaller than the raw 4:2:2 picture except for absurd
         * quality settings; larger buffers are refused as corrupt */
        c->pkt_size = (size_t)width * height * 2 + 65536;
        c->pkt_pool = av_buffer_pool_init(c->pkt_size + AV_INPUT_BUFFER_PADDING_SIZE, NULL);
        if (!c->dec || !c->pkt || !c->pkt_pool)
            goto fail;
        c->dec->thread_count = 1; /* one picture at a time: frame threads only add latency */
        c->dec->width = (int)width;
        c->dec->height = (int)height;
        r = avcodec_open2(c->dec, codec, NULL);
        if (r < 0)
            goto fail;
    } else {
        c->src_fmt = raw_av_format(pixfmt);
        const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(c->src_fmt);
        int minline = av_image_get_linesize(c->src_fmt, (int)width, 0);
        c->bytesperline = bytesperline ? bytesperline : (uint32_t)minline;
        if (!d || minline <= 0 || c->bytesperline < (uint32_t)minline) {
            r = -EINVAL;
            goto fail;
        }
        c->pic_size = av_image_get_buffer_size(AV_PIX_FMT_YUV420P, (int)width, (int)height, PIC_ALIGN);
        if (c->pic_size <= 0) {
            r = c->pic_size < 0 ? c->pic_size : -EINVAL;
            goto fail;
        }
        c->pic_pool = av_buffer_pool_init((size_t)c->pic_size, NULL);
        c->sws = sws_getContext((int)width, (int)height, c->src_fmt, (int)width, (int)height,
                                AV_PIX_FMT_YUV420P, SWS_BILINEAR, NULL, NULL, NULL);
        if (!c->pic_pool || !c->sws)
            goto fail;
    }
    *ret = c;
    return 0;
fail:
    vg_v4l2_conv_free(&c);
    return r;
}

/* Bytes a raw buffer must hold, and its plane pointers and strides. */
static size_t raw_planes(const vg_v4l2_conv_t *c, const uint8_t *data, const uint8_t *planes[4], int strides[4])
{
    size_t bpl = c->bytesperline, h = c->height;
    memset(planes, 0, 4 * sizeof(*planes));
    memset(strides, 0, 4 * sizeof(*strides));
    planes[0] = data;
    strides[0] = (int)bpl;
    switch (c->src_fmt) {
    case AV_PIX_FMT_YUV420P: /* Y, then U and V at half the stride */
        planes[1] = data + bpl * h;
        strides[1] = (int)(bpl / 2);
        planes[2] = planes[1] + (bpl / 2) * ((h + 1) / 2);
        strides[2] = (int)(bpl / 2);
        return bpl * h + 2 * (bpl / 2) * ((h + 1) / 2);
    case AV_PIX_FMT_NV12: /* Y, then interleaved UV at the same stride */
        planes[1] = data + bpl * h;
        strides[1] = (int)bpl;
        return bpl * h + bpl * ((h + 1) / 2);
    default: /* packed: one plane */
        return bpl * (h - 1) + (size_t)av_image_get_linesize(c->src_fmt, (int)c->width, 0);
    }
}

static int run_raw(vg_v4l2_conv_t *c, const uint8_t *data, size_t bytesused, AVFrame *ret)
{
    const uint8_t *planes[4];
    int strides[4];
    if (bytesused < raw_planes(c, data, planes, strides))
        return AVERROR_INVALIDDATA; /* a short frame: the driver lost part of it */
    AVBufferRef *buf = av_buffer_pool_get(c->pic_pool);
    if (!buf)
        return AVERROR(ENOMEM);
    int r = av_image_fill_arrays(ret->data, ret->linesize, buf->data, AV_PIX_FMT_YUV420P, (int)c->width,
                                 (int)c->height, PIC_ALIGN);
    if (r < 0) {
        av_buffer_unref(&buf);
        return r;
    }
    ret->buf[0] = buf;
    ret->format = AV_PIX_FMT_YUV420P;
    ret->width = (int)c->width;
    ret->height = (int)c->height;
    ret->color_range = AVCOL_RANGE_MPEG;
    r = sws_scale(c->sws, planes, strides, 0, (int)c->height, ret->data, ret->linesize);
    if (r <= 0) {
        av_frame_unref(ret);
        return r < 0 ? r : AVERROR_EXTERNAL;
    }
    return 0;
}

static int run_jpeg(vg_v4l2_conv_t *c, const uint8_t *data, size_t bytesused, AVFrame *ret)
{
    if (bytesused < 4 || bytesused > c->pkt_size || data[0] != 0xff || data[1] != 0xd8)
        return AVERROR_INVALIDDATA; /* empty, oversized, or no SOI marker */
    AVBufferRef *buf = av_buffer_pool_get(c->pkt_pool);
    if (!buf)
        return AVERROR(ENOMEM);
    memcpy(buf->data, data, bytesused);
    memset(buf->data + bytesused, 0, AV_INPUT_BUFFER_PADDING_SIZE);
    c->pkt->buf = buf; /* the packet takes the reference */
    c->pkt->data = buf->data;
    c->pkt->size = (int)bytesused;
    int r = avcodec_send_packet(c->dec, c->pkt);
    av_packet_unref(c->pkt);
    if (r < 0)
        return r;
    r = avcodec_receive_frame(c->dec, ret);
    if (r < 0)
        return r == AVERROR(EAGAIN) ? AVERROR_INVALIDDATA : r;
    /* the size is the JPEG's own: some cameras code 1920x1088 for 1080p */
    if (ret->decode_error_flags || (ret->flags & AV_FRAME_FLAG_CORRUPT)) {
        av_frame_unref(ret);
        return AVERROR_INVALIDDATA;
    }
    return 0;
}

int vg_v4l2_conv_run(vg_v4l2_conv_t *c, const uint8_t *data, size_t bytesused, AVFrame *ret)
{
    if (!c || !data || !ret)
        return AVERROR(EINVAL);
    return c->dec ? run_jpeg(c, data, bytesused, ret) : run_raw(c, data, bytesused, ret);
}

void vg_v4l2_conv_free(vg_v4l2_conv_t **pc)
{
    if (!pc || !*pc)
        return;
    vg_v4l2_conv_t *c = *pc;
    avcodec_free_context(&c->dec);
    av_packet_free(&c->pkt);
    av_buffer_pool_uninit(&c->pkt_pool); /* frees once outstanding buffers return */
    av_buffer_pool_uninit(&c->pic_pool);
    sws_freeContext(c->sws);
    free(c);
    *pc = NULL;
}

/* ---- device ---- */

typedef struct {
    void *start;
    size_t length;
} mapping_t;

struct vg_v4l2 {
    char path[PATH_MAX];      /* as configured */
    char real[PATH_MAX];      /* the device node it resolved to */
    int fd;                   /* libv4l2 fd; -1 when closed */
    bool streaming;
    mapping_t maps[VG_V4L2_BUFFERS];
    unsigned nmaps;
    int held;                 /* index of the buffer we hold (dequeued), -1 = none */
    size_t held_bytes;
    vg_v4l2_mode_t mode;      /* negotiated */
    uint32_t bytesperline;
    vg_v4l2_conv_t *conv;
    char desc[96];
};

/* "'/dev/v4l/by-id/x' (/dev/video0)" or "'/dev/video0'". */
static const char *name_of(const vg_v4l2_t *cam, char *buf, size_t len)
{
    if (cam->real[0] && strcmp(cam->real, cam->path) != 0)
        snprintf(buf, len, "'%s' (%s)", cam->path, cam->real);
    else
        snprintf(buf, len, "'%s'", cam->path);
    return buf;
}

static int xioctl(int fd, unsigned long req, void *arg)
{
    int r;
    do
        r = v4l2_ioctl(fd, req, arg);
    while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : 0;
}

static void add_mode(vg_v4l2_mode_t *modes, size_t *n, uint32_t fmt, bool emulated, uint32_t w, uint32_t h,
                     uint32_t num, uint32_t den)
{
    if (*n < VG_V4L2_MAX_MODES)
        modes[(*n)++] = (vg_v4l2_mode_t){fmt, w, h, num, den, emulated};
}

/* Snaps want into [min, max] on the step grid. */
static uint32_t snap(uint32_t want, uint32_t min, uint32_t max, uint32_t step)
{
    if (want < min)
        want = min;
    if (want > max)
        want = max;
    if (step > 1)
        want = min + (want - min) / step * step;
    return want;
}

/* Adds one mode per frame interval the device offers at fmt, w x h. */
static void enum_intervals(int fd, const vg_v4l2_request_t *req, uint32_t fmt, bool emulated, uint32_t w,
                           uint32_t h, vg_v4l2_mode_t *modes, size_t *n)
{
    size_t before = *n;
    for (uint32_t i = 0; i < 64; i++) { /* bounded: a driver that never says EINVAL */
        struct v4l2_frmivalenum fi = {.index = i, .pixel_format = fmt, .width = w, .height = h};
        if (xioctl(fd, VIDIOC_ENUM_FRAMEINTERVALS, &fi) < 0)
            break;
        if (fi.type == V4L2_FRMIVAL_TYPE_DISCRETE) {
            add_mode(modes, n, fmt, emulated, w, h, fi.discrete.numerator, fi.discrete.denominator);
            continue;
        }
        /* stepwise/continuous: the ends, and the request if it lies between */
        const struct v4l2_fract *lo = &fi.stepwise.min, *hi = &fi.stepwise.max;
        add_mode(modes, n, fmt, emulated, w, h, lo->numerator, lo->denominator);
        add_mode(modes, n, fmt, emulated, w, h, hi->numerator, hi->denominator);
        if (req->fps > 0 && lo->numerator && hi->numerator) {
            double fmax = (double)lo->denominator / lo->numerator, fmin = (double)hi->denominator / hi->numerator;
            if (req->fps > fmin && req->fps < fmax)
                add_mode(modes, n, fmt, emulated, w, h, 1000, (uint32_t)lround(req->fps * 1000));
        }
        break;
    }
    if (*n == before)
        add_mode(modes, n, fmt, emulated, w, h, 0, 0); /* no interval enumeration: rate unknown */
}

/* Every (format, size, interval) the device (and libv4l2's emulation) offers,
 * into modes; *ret_n of them. Returns 0, or the error that ended the format
 * enumeration early (the camera went away while we asked). */
static int enum_modes(int fd, const vg_v4l2_request_t *req, vg_v4l2_mode_t *modes, size_t *ret_n)
{
    size_t n = 0;
    uint32_t rw = req->width ? req->width : UINT32_MAX, rh = req->height ? req->height : UINT32_MAX;
    for (uint32_t f = 0; f < 128; f++) {
        struct v4l2_fmtdesc fd_ = {.index = f, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
        int r = xioctl(fd, VIDIOC_ENUM_FMT, &fd_);
        if (r == -EINVAL)
            break; /* the end of the list */
        if (r < 0)
            return r;
        uint32_t fmt = fd_.pixelformat;
        bool emulated = (fd_.flags & V4L2_FMT_FLAG_EMULATED) != 0;
        if (vg_v4l2_format_rank(fmt) < 0)
            continue;
        size_t before = n;
        for (uint32_t s = 0; s < 256; s++) {
            struct v4l2_frmsizeenum fs = {.index = s, .pixel_format = fmt};
            if (xioctl(fd, VIDIOC_ENUM_FRAMESIZES, &fs) < 0)
                break;
            if (fs.type == V4L2_FRMSIZE_TYPE_DISCRETE) {
                enum_intervals(fd, req, fmt, emulated, fs.discrete.width, fs.discrete.height, modes, &n);
                continue;
            }
            const struct v4l2_frmsize_stepwise *sw = &fs.stepwise;
            enum_intervals(fd, req, fmt, emulated, sw->min_width, sw->min_height, modes, &n);
            enum_intervals(fd, req, fmt, emulated, sw->max_width, sw->max_height, modes, &n);
            enum_intervals(fd, req, fmt, emulated, snap(rw, sw->min_width, sw->max_width, sw->step_width),
                           snap(rh, sw->min_height, sw->max_height, sw->step_height), modes, &n);
            break;
        }
        if (n == before) /* no size enumeration: ask for the request, S_FMT adjusts it */
            add_mode(modes, &n, fmt, emulated, req->width ? req->width : VG_V4L2_DEFAULT_WIDTH,
                     req->height ? req->height : VG_V4L2_DEFAULT_HEIGHT, 0, 0);
    }
    *ret_n = n;
    return 0;
}

static int negotiate(vg_v4l2_t *cam, const vg_v4l2_request_t *req, char *why, size_t whylen)
{
    char nm[2 * PATH_MAX + 8];
    vg_v4l2_mode_t *modes = calloc(VG_V4L2_MAX_MODES, sizeof(*modes)); /* once per open */
    if (!modes) {
        snprintf(why, whylen, "out of memory");
        return -ENOMEM;
    }
    size_t n = 0;
    int r = enum_modes(cam->fd, req, modes, &n);
    vg_v4l2_mode_t m;
    if (r == 0)
        r = n ? vg_v4l2_choose_format(modes, n, req, &m) : -ENOTSUP;
    free(modes);
    if (r < 0 && r != -ENOTSUP) {
        snprintf(why, whylen, "%s: cannot list formats (VIDIOC_ENUM_FMT): %s", name_of(cam, nm, sizeof(nm)),
                 strerror(-r));
        return r;
    }
    if (r < 0) {
        snprintf(why, whylen, "%s offers no format vigil can use (MJPEG, YUYV, YUV420, UYVY, NV12, RGB24, GREY)",
                 name_of(cam, nm, sizeof(nm)));
        return -EOPNOTSUPP;
    }
    struct v4l2_format fmt = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
    fmt.fmt.pix.pixelformat = m.pixfmt;
    fmt.fmt.pix.width = m.width;
    fmt.fmt.pix.height = m.height;
    fmt.fmt.pix.field = V4L2_FIELD_NONE;
    r = xioctl(cam->fd, VIDIOC_S_FMT, &fmt);
    if (r < 0) {
        snprintf(why, whylen, "%s: cannot set format (VIDIOC_S_FMT): %s", name_of(cam, nm, sizeof(nm)), strerror(-r));
        return r;
    }
    /* the driver may adjust the size, or (rarely) refuse the format */
    m.width = fmt.fmt.pix.width;
    m.height = fmt.fmt.pix.height;
    if (fmt.fmt.pix.pixelformat != m.pixfmt) {
        if (vg_v4l2_format_rank(fmt.fmt.pix.pixelformat) < 0) {
            snprintf(why, whylen, "%s: the driver replaced the format with one vigil cannot use",
                     name_of(cam, nm, sizeof(nm)));
            return -EOPNOTSUPP;
        }
        m.pixfmt = fmt.fmt.pix.pixelformat;
    }
    cam->bytesperline = is_jpeg(m.pixfmt) ? 0 : fmt.fmt.pix.bytesperline;
    struct v4l2_streamparm parm = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
    if (m.interval_num && m.interval_den) {
        parm.parm.capture.timeperframe = (struct v4l2_fract){m.interval_num, m.interval_den};
    } else if (req->fps > 0) {
        parm.parm.capture.timeperframe = (struct v4l2_fract){1000, (uint32_t)lround(req->fps * 1000)};
    }
    /* not every driver sets the rate; what it reports back is what we get */
    if (parm.parm.capture.timeperframe.numerator && xioctl(cam->fd, VIDIOC_S_PARM, &parm) == 0 &&
        parm.parm.capture.timeperframe.numerator) {
        m.interval_num = parm.parm.capture.timeperframe.numerator;
        m.interval_den = parm.parm.capture.timeperframe.denominator;
    }
    cam->mode = m;
    char cc[5];
    fourcc_str(m.pixfmt, cc);
    snprintf(cam->desc, sizeof(cam->desc), "%s %.4gfps%s", cc, mode_fps(&m),
             m.emulated ? " (converted by libv4l2)" : "");
    r = vg_v4l2_conv_new(m.pixfmt, m.width, m.height, cam->bytesperline, &cam->conv);
    if (r < 0)
        snprintf(why, whylen, "%s: cannot convert %s: %s", name_of(cam, nm, sizeof(nm)), cam->desc, av_err2str(r));
    return r;
}

static int start_streaming(vg_v4l2_t *cam, char *why, size_t whylen)
{
    char nm[2 * PATH_MAX + 8];
    struct v4l2_requestbuffers rb = {.count = VG_V4L2_BUFFERS, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
                                     .memory = V4L2_MEMORY_MMAP};
    int r = xioctl(cam->fd, VIDIOC_REQBUFS, &rb);
    if (r < 0 || rb.count < 2) {
        snprintf(why, whylen, "%s: cannot get mmap buffers (VIDIOC_REQBUFS): %s", name_of(cam, nm, sizeof(nm)),
                 r < 0 ? strerror(-r) : "fewer than 2 granted");
        return r < 0 ? r : -ENOMEM;
    }
    for (unsigned i = 0; i < rb.count && i < VG_V4L2_BUFFERS; i++) {
        struct v4l2_buffer b = {.index = i, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
        r = xioctl(cam->fd, VIDIOC_QUERYBUF, &b);
        if (r < 0)
            goto fail;
        void *p = v4l2_mmap(NULL, b.length, PROT_READ | PROT_WRITE, MAP_SHARED, cam->fd, b.m.offset);
        if (p == MAP_FAILED) {
            r = -errno;
            goto fail;
        }
        cam->maps[i] = (mapping_t){p, b.length};
        cam->nmaps = i + 1;
        r = xioctl(cam->fd, VIDIOC_QBUF, &b);
        if (r < 0)
            goto fail;
    }
    enum v4l2_buf_type type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    r = xioctl(cam->fd, VIDIOC_STREAMON, &type);
    if (r < 0)
        goto fail;
    cam->streaming = true;
    return 0;
fail:
    snprintf(why, whylen, "%s: cannot start mmap streaming: %s", name_of(cam, nm, sizeof(nm)), strerror(-r));
    return r;
}

int vg_v4l2_open(const char *path, const vg_v4l2_request_t *req, vg_v4l2_t **ret, char *why, size_t whylen)
{
    static const vg_v4l2_request_t none = {0, 0, 0};
    if (!path || !ret)
        return -EINVAL;
    if (!req)
        req = &none;
    char nm[2 * PATH_MAX + 8];
    vg_v4l2_t *cam = calloc(1, sizeof(*cam));
    if (!cam) {
        snprintf(why, whylen, "out of memory");
        return -ENOMEM;
    }
    cam->fd = -1;
    cam->held = -1;
    snprintf(cam->path, sizeof(cam->path), "%s", path);
    int r;
    /* by-id names are symlinks that udev moves on replug: resolve each time */
    if (!realpath(path, cam->real)) {
        r = -errno;
        cam->real[0] = '\0';
        snprintf(why, whylen, "cannot open '%s': %s", path, strerror(-r));
        goto fail;
    }
    int fd = open(cam->real, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        r = -errno;
        snprintf(why, whylen, "cannot open %s: %s", name_of(cam, nm, sizeof(nm)), strerror(-r));
        goto fail;
    }
    struct v4l2_capability cap = {0};
    if (ioctl(fd, VIDIOC_QUERYCAP, &cap) < 0) {
        int e = errno;
        r = e == ENOTTY || e == EINVAL ? -ENOTTY : -e;
        if (r == -ENOTTY)
            snprintf(why, whylen, "%s is not a V4L2 device (VIDIOC_QUERYCAP: %s)", name_of(cam, nm, sizeof(nm)),
                     strerror(e));
        else /* e.g. unplugged between open and here */
            snprintf(why, whylen, "cannot query %s (VIDIOC_QUERYCAP): %s", name_of(cam, nm, sizeof(nm)), strerror(e));
        close(fd);
        goto fail;
    }
    /* libv4l2 takes the fd over: from here on it is closed with v4l2_close */
    cam->fd = v4l2_fd_open(fd, 0);
    if (cam->fd < 0) {
        r = -errno;
        snprintf(why, whylen, "%s: libv4l2 cannot use it: %s", name_of(cam, nm, sizeof(nm)), strerror(-r));
        close(fd);
        goto fail;
    }
    uint32_t caps = (cap.capabilities & V4L2_CAP_DEVICE_CAPS) ? cap.device_caps : cap.capabilities;
    if (!(caps & V4L2_CAP_VIDEO_CAPTURE) || !(caps & V4L2_CAP_STREAMING)) {
        r = -EOPNOTSUPP;
        snprintf(why, whylen, "%s (%.32s) cannot %s%s", name_of(cam, nm, sizeof(nm)), (const char *)cap.card,
                 !(caps & V4L2_CAP_VIDEO_CAPTURE) ? "capture video (a metadata or output node?)" : "",
                 (caps & V4L2_CAP_VIDEO_CAPTURE) && !(caps & V4L2_CAP_STREAMING) ? "stream (no mmap I/O)" : "");
        goto fail;
    }
    r = negotiate(cam, req, why, whylen);
    if (r < 0)
        goto fail;
    r = start_streaming(cam, why, whylen);
    if (r < 0)
        goto fail;
    *ret = cam;
    return 0;
fail:
    vg_v4l2_free(&cam);
    return r;
}

static bool unplug_errno(int e) { return e == ENODEV || e == EIO || e == ENXIO; }

/* Gives the held buffer back to the driver. */
static int requeue(vg_v4l2_t *cam)
{
    if (cam->held < 0)
        return 0;
    struct v4l2_buffer b = {.index = (uint32_t)cam->held, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
                            .memory = V4L2_MEMORY_MMAP};
    cam->held = -1;
    return xioctl(cam->fd, VIDIOC_QBUF, &b);
}

int vg_v4l2_next(vg_v4l2_t *cam, int64_t timeout_us, int stop_fd, int64_t *ret_pts_us, char *why, size_t whylen)
{
    char nm[2 * PATH_MAX + 8];
    int r = requeue(cam);
    if (r < 0)
        goto failed;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int64_t deadline = (int64_t)t0.tv_sec * 1000000 + t0.tv_nsec / 1000 + timeout_us;
    bool poll_error = false; /* the last poll said POLLERR/POLLHUP/POLLNVAL */
    for (;;) {
        struct v4l2_buffer b = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
        r = xioctl(cam->fd, VIDIOC_DQBUF, &b);
        if (r == 0) {
            if (b.index >= cam->nmaps) {
                r = -EPROTO;
                goto failed;
            }
            cam->held = (int)b.index;
            if ((b.flags & V4L2_BUF_FLAG_ERROR) || b.bytesused == 0) {
                /* a damaged frame (USB packet loss): give it back, wait on */
                if ((r = requeue(cam)) < 0)
                    goto failed;
                continue;
            }
            cam->held_bytes = b.bytesused < cam->maps[b.index].length ? b.bytesused : cam->maps[b.index].length;
            int64_t pts = (int64_t)b.timestamp.tv_sec * 1000000 + b.timestamp.tv_usec;
            if (pts == 0) { /* drivers that leave it out */
                struct timespec now;
                clock_gettime(CLOCK_MONOTONIC, &now);
                pts = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
            }
            *ret_pts_us = pts;
            return 0;
        }
        if (r != -EAGAIN)
            goto failed;
        if (poll_error) {
            /* an error on poll and still nothing to dequeue: do not spin */
            if (access(cam->real, F_OK) != 0) {
                snprintf(why, whylen, "%s unplugged (the device node is gone)", name_of(cam, nm, sizeof(nm)));
                return -ENODEV;
            }
            snprintf(why, whylen, "%s: capture failed: poll reports an error on the device",
                     name_of(cam, nm, sizeof(nm)));
            return -EIO;
        }
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t left = deadline - ((int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000);
        if (left <= 0) {
            /* a camera unplugged while nothing was queued may only show as
             * silence, and its node vanishes */
            if (access(cam->real, F_OK) != 0) {
                snprintf(why, whylen, "%s unplugged (the device node is gone)", name_of(cam, nm, sizeof(nm)));
                return -ENODEV;
            }
            snprintf(why, whylen, "%s: no frame for %.1fs (timed out)", name_of(cam, nm, sizeof(nm)),
                     timeout_us / 1e6);
            return -ETIMEDOUT;
        }
        struct pollfd p[2] = {{.fd = cam->fd, .events = POLLIN}, {.fd = stop_fd, .events = POLLIN}};
        int pr = poll(p, stop_fd >= 0 ? 2 : 1, (int)((left + 999) / 1000));
        if (pr < 0 && errno != EINTR) {
            r = -errno;
            goto failed;
        }
        if (pr > 0 && stop_fd >= 0 && (p[1].revents & POLLIN)) {
            snprintf(why, whylen, "stop requested");
            return -ECANCELED;
        }
        /* POLLERR/POLLHUP: the next DQBUF says why (ENODEV or EIO after unplug) */
        poll_error = pr > 0 && (p[0].revents & (POLLERR | POLLHUP | POLLNVAL)) && !(p[0].revents & POLLIN);
    }
failed:
    if (unplug_errno(-r)) {
        snprintf(why, whylen, "%s unplugged (%s)", name_of(cam, nm, sizeof(nm)), strerror(-r));
        return -ENODEV;
    }
    snprintf(why, whylen, "%s: capture failed: %s", name_of(cam, nm, sizeof(nm)), strerror(-r));
    return r;
}

int vg_v4l2_convert(vg_v4l2_t *cam, AVFrame *ret)
{
    if (cam->held < 0)
        return AVERROR(EINVAL);
    return vg_v4l2_conv_run(cam->conv, cam->maps[cam->held].start, cam->held_bytes, ret);
}

const vg_v4l2_mode_t *vg_v4l2_mode(const vg_v4l2_t *cam) { return &cam->mode; }

const char *vg_v4l2_describe(const vg_v4l2_t *cam) { return cam->desc; }

void vg_v4l2_free(vg_v4l2_t **pcam)
{
    if (!pcam || !*pcam)
        return;
    vg_v4l2_t *cam = *pcam;
    if (cam->fd >= 0) {
        if (cam->streaming) {
            enum v4l2_buf_type type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
            xioctl(cam->fd, VIDIOC_STREAMOFF, &type); /* fails after unplug; closing frees anyway */
        }
        for (unsigned i = 0; i < cam->nmaps; i++)
            v4l2_munmap(cam->maps[i].start, cam->maps[i].length);
        v4l2_close(cam->fd);
    }
    vg_v4l2_conv_free(&cam->conv);
    free(cam);
    *pcam = NULL;
}
