/* http_live.c: GET /api/cameras/{c}/latest.jpg and live.mjpeg. Frames come
 * from the camera's live slot (daemon/live.h) only while a request watches;
 * each request converts and encodes on its own connection thread (libswscale
 * to full-range YUV 4:2:0 at the asked width, boxes drawn on that copy when
 * asked, libturbojpeg), never on the worker. Query: boxes=1 draws the
 * objects of the frame's last detection; width=N scales down (keeps the
 * aspect ratio); both optional. See http.h. */
#include "daemon/http_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libswscale/swscale.h>
#include <turbojpeg.h>

#define JPEG_QUALITY 75
#define LATEST_WAIT_MS 3000      /* latest.jpg waits this long for a frame */
#define MJPEG_REPEAT_US 2000000  /* a stalled camera's last frame is sent again this often */
#define BOUNDARY "vigilframe"

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* One request's encoder: its buffers grow to the largest frame once. */
typedef struct {
    tjhandle tj;
    struct SwsContext *sws;
    uint8_t *yuv;               /* YUVJ420P planes, contiguous */
    size_t yuv_cap;
    unsigned char *jpeg;        /* tj's buffer */
    unsigned long jpeg_len;
    AVFrame *frame;             /* our reference to the slot's frame */
    vg_live_object_t objs[VG_LIVE_MAX_OBJECTS];
    bool boxes;
    int max_width;              /* 0 = the source's */
} enc_t;

static void enc_free(enc_t *e)
{
    if (!e)
        return;
    if (e->tj)
        tjDestroy(e->tj);
    sws_freeContext(e->sws);
    free(e->yuv);
    tjFree(e->jpeg);
    av_frame_free(&e->frame);
    free(e);
}

static enc_t *enc_new(struct MHD_Connection *c)
{
    enc_t *e = calloc(1, sizeof(*e));
    if (!e || !(e->tj = tjInitCompress()) || !(e->frame = av_frame_alloc())) {
        enc_free(e);
        return NULL;
    }
    const char *b = http_arg(c, "boxes");
    e->boxes = b && strcmp(b, "0") != 0 && strcmp(b, "false") != 0;
    const char *w = http_arg(c, "width");
    e->max_width = w ? atoi(w) : 0;
    if (e->max_width < 0)
        e->max_width = 0;
    return e;
}

/* Full-range YUV of a few box colours (BT.601, as JPEG uses). */
static const uint8_t palette[][3] = {
    {149, 43, 21},   /* green */
    {225, 0, 148},   /* yellow */
    {178, 171, 0},   /* cyan */
    {105, 212, 234}, /* magenta */
    {76, 85, 255},   /* red */
    {29, 255, 107},  /* blue */
};

static void fill(uint8_t *p, int stride, int x1, int y1, int x2, int y2, uint8_t v)
{
    for (int y = y1; y < y2; y++)
        memset(p + (size_t)y * (size_t)stride + x1, v, (size_t)(x2 - x1));
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Draws the box outline into the YUV420 planes (w x h), in source pixels
 * scaled by sx, sy. */
static void draw_box(uint8_t *planes[3], int w, int h, const vg_live_object_t *o, double sx, double sy)
{
    unsigned hash = 5381;
    for (const char *p = o->label; *p; p++)
        hash = hash * 33 + (unsigned char)*p;
    const uint8_t *col = palette[hash % (sizeof(palette) / sizeof(palette[0]))];
    int t = w >= 960 ? 4 : 2; /* even: chroma lines stay aligned */
    int x1 = clampi((int)(o->box[0] * sx), 0, w - t) & ~1, y1 = clampi((int)(o->box[1] * sy), 0, h - t) & ~1;
    int x2 = clampi((int)(o->box[2] * sx), x1 + t, w) & ~1, y2 = clampi((int)(o->box[3] * sy), y1 + t, h) & ~1;
    if (x2 - x1 < t || y2 - y1 < t)
        return;
    int cw = w / 2;
    const int rects[4][4] = {{x1, y1, x2, y1 + t}, {x1, y2 - t, x2, y2}, {x1, y1, x1 + t, y2}, {x2 - t, y1, x2, y2}};
    for (int k = 0; k < 4; k++) {
        const int *r = rects[k];
        fill(planes[0], w, r[0], r[1], r[2], r[3], col[0]);
        fill(planes[1], cw, r[0] / 2, r[1] / 2, r[2] / 2, r[3] / 2, col[1]);
        fill(planes[2], cw, r[0] / 2, r[1] / 2, r[2] / 2, r[3] / 2, col[2]);
    }
}

/* e->frame (with n objects) -> e->jpeg. Returns 0 or a negative errno. */
static int encode(enc_t *e, int n)
{
    const AVFrame *f = e->frame;
    int w = f->width, h = f->height;
    if (e->max_width > 0 && e->max_width < w) {
        h = (int)((int64_t)h * e->max_width / w);
        w = e->max_width;
    }
    w &= ~1;
    h &= ~1;
    if (w < 16 || h < 16)
        return -EINVAL;
    size_t need = (size_t)w * h * 3 / 2;
    if (need > e->yuv_cap) {
        free(e->yuv);
        if (!(e->yuv = malloc(need)))
            return -ENOMEM;
        e->yuv_cap = need;
    }
    uint8_t *planes[3] = {e->yuv, e->yuv + (size_t)w * h, e->yuv + (size_t)w * h + (size_t)(w / 2) * (h / 2)};
    int strides[3] = {w, w / 2, w / 2};
    /* to full range: JPEG's YCbCr is full range, a camera's usually is not */
    e->sws = sws_getCachedContext(e->sws, f->width, f->height, (enum AVPixelFormat)f->format, w, h,
                                  AV_PIX_FMT_YUVJ420P, SWS_BILINEAR, NULL, NULL, NULL);
    if (!e->sws)
        return -EINVAL;
    if (sws_scale(e->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, planes, strides) != h)
        return -EINVAL;
    if (e->boxes)
        for (int i = 0; i < n; i++)
            draw_box(planes, w, h, &e->objs[i], (double)w / f->width, (double)h / f->height);
    const unsigned char *cplanes[3] = {planes[0], planes[1], planes[2]};
    if (tjCompressFromYUVPlanes(e->tj, cplanes, w, strides, h, TJSAMP_420, &e->jpeg, &e->jpeg_len, JPEG_QUALITY,
                                TJFLAG_FASTDCT) < 0)
        return -EIO;
    return 0;
}

static vg_live_t *find(vg_http_t *h, const char *camera)
{
    return h->live ? vg_live_registry_get(h->live, camera) : NULL;
}

enum MHD_Result http_live_jpeg(vg_http_t *h, struct MHD_Connection *c, const char *camera)
{
    vg_live_t *l = find(h, camera);
    if (!l)
        return http_error(c, MHD_HTTP_NOT_FOUND, "no camera '%s'", camera);
    enc_t *e = enc_new(c);
    if (!e) {
        vg_live_unref(&l);
        return MHD_NO;
    }
    vg_live_watch(l, +1);
    uint64_t seq = 0;
    int n = vg_live_take(l, &seq, LATEST_WAIT_MS, e->frame, e->objs, NULL);
    vg_live_watch(l, -1);
    vg_live_unref(&l);
    enum MHD_Result ret;
    if (n < 0) {
        ret = http_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no frame from camera '%s' in %d s", camera,
                         LATEST_WAIT_MS / 1000);
    } else if (encode(e, n) < 0) {
        ret = http_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot encode camera '%s''s frame", camera);
    } else {
        char *body = malloc(e->jpeg_len);
        ret = body ? (memcpy(body, e->jpeg, e->jpeg_len), http_send(c, MHD_HTTP_OK, "image/jpeg", body, e->jpeg_len))
                   : MHD_NO;
    }
    enc_free(e);
    return ret;
}

typedef struct {
    vg_http_t *h;
    vg_live_t *live;
    enc_t *enc;
    uint64_t seq;
    char *part;          /* the multipart part being sent */
    size_t len, off, cap;
    int64_t last_us;     /* when the last part was made */
} mjpeg_t;

/* Wraps e->jpeg as one part into s->part. */
static int make_part(mjpeg_t *s)
{
    char head[128];
    int hl = snprintf(head, sizeof(head), "--" BOUNDARY "\r\nContent-Type: image/jpeg\r\nContent-Length: %lu\r\n\r\n",
                      s->enc->jpeg_len);
    size_t need = (size_t)hl + s->enc->jpeg_len + 2;
    if (need > s->cap) {
        free(s->part);
        if (!(s->part = malloc(need)))
            return -ENOMEM;
        s->cap = need;
    }
    memcpy(s->part, head, (size_t)hl);
    memcpy(s->part + hl, s->enc->jpeg, s->enc->jpeg_len);
    memcpy(s->part + hl + s->enc->jpeg_len, "\r\n", 2);
    s->len = need;
    s->off = 0;
    s->last_us = mono_us();
    return 0;
}

static ssize_t mjpeg_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    mjpeg_t *s = cls;
    while (s->off == s->len) {
        /* relaxed: polled every 0.5 s */
        if (atomic_load_explicit(&s->h->stopping, memory_order_relaxed))
            return MHD_CONTENT_READER_END_OF_STREAM;
        int n = vg_live_take(s->live, &s->seq, 500, s->enc->frame, s->enc->objs, NULL);
        if (n == -ESHUTDOWN)
            return MHD_CONTENT_READER_END_OF_STREAM; /* the camera went away */
        if (n == -ETIMEDOUT) {
            if (s->len && mono_us() - s->last_us >= MJPEG_REPEAT_US) {
                s->off = 0; /* the same picture again: the connection stays alive */
                s->last_us = mono_us();
            }
            continue;
        }
        if (n < 0 || encode(s->enc, n) < 0 || make_part(s) < 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    size_t k = s->len - s->off < max ? s->len - s->off : max;
    memcpy(buf, s->part + s->off, k);
    s->off += k;
    return (ssize_t)k;
}

static void mjpeg_free(void *cls)
{
    mjpeg_t *s = cls;
    vg_live_watch(s->live, -1);
    vg_live_unref(&s->live);
    enc_free(s->enc);
    free(s->part);
    free(s);
}

enum MHD_Result http_live_mjpeg(vg_http_t *h, struct MHD_Connection *c, const char *camera)
{
    vg_live_t *l = find(h, camera);
    if (!l)
        return http_error(c, MHD_HTTP_NOT_FOUND, "no camera '%s'", camera);
    mjpeg_t *s = calloc(1, sizeof(*s));
    if (!s || !(s->enc = enc_new(c))) {
        free(s);
        vg_live_unref(&l);
        return MHD_NO;
    }
    s->h = h;
    s->live = l;
    vg_live_watch(l, +1);
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 65536, mjpeg_read, s, mjpeg_free);
    if (!r) {
        mjpeg_free(s);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "multipart/x-mixed-replace; boundary=" BOUNDARY);
    http_common_headers(r);
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}
