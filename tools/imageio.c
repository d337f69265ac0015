/* imageio.c: see imageio.h. */
#include "tools/imageio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libavcodec/avcodec.h>
#include <libswscale/swscale.h>
#include <turbojpeg.h>

#include "capture/reader.h"

void vg_img_release(vg_img_t *img)
{
    if (!img)
        return;
    free(img->data);
    *img = (vg_img_t){0};
}

static int convert(const AVFrame *f, vg_img_t *img, int channels)
{
    size_t need = (size_t)f->width * f->height * channels;
    if (!img->data || img->width != f->width || img->height != f->height || img->channels != channels) {
        uint8_t *d = realloc(img->data, need);
        if (!d)
            return -ENOMEM;
        *img = (vg_img_t){d, f->width, f->height, channels};
    }
    struct SwsContext *sws = sws_getContext(f->width, f->height, (enum AVPixelFormat)f->format, f->width, f->height,
                                            channels == 1 ? AV_PIX_FMT_GRAY8 : AV_PIX_FMT_RGB24,
                                            SWS_BILINEAR | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, NULL, NULL, NULL);
    if (!sws)
        return -ENOMEM;
    uint8_t *dst[4] = {img->data};
    int ls[4] = {f->width * channels};
    sws_scale(sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst, ls);
    sws_freeContext(sws);
    return 0;
}

int vg_img_from_frame(const AVFrame *f, vg_img_t *img) { return convert(f, img, 3); }

int vg_img_read(const char *path, vg_img_t *ret, char *err, size_t errlen)
{
    vg_reader_t *rd = NULL;
    const vg_reader_config_t rc = {.url = path, .decode_threads = 1};
    int r = vg_reader_open(&rc, &rd, err, errlen);
    if (r < 0)
        return r;
    AVFrame *f = av_frame_alloc();
    if (!f) {
        vg_reader_free(&rd);
        return -ENOMEM;
    }
    if ((r = vg_reader_read(rd, f)) < 0)
        snprintf(err, errlen, "%s", *vg_reader_error(rd) ? vg_reader_error(rd) : "no picture");
    else {
        vg_img_t img = {0};
        bool grey = f->format == AV_PIX_FMT_GRAY8;
        if ((r = convert(f, &img, grey ? 1 : 3)) < 0)
            snprintf(err, errlen, "cannot convert '%s'", path);
        else
            *ret = img;
    }
    av_frame_free(&f);
    vg_reader_free(&rd);
    return r;
}

static bool is_png(const char *path)
{
    size_t n = strlen(path);
    return n > 4 && strcasecmp(path + n - 4, ".png") == 0;
}

static int write_file(const char *path, const uint8_t *data, size_t n)
{
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return -errno;
    int r = fwrite(data, 1, n, fp) == n ? 0 : -EIO;
    if (fclose(fp) != 0 && r == 0)
        r = -errno;
    return r;
}

static int write_png(const char *path, const uint8_t *p, int stride, int w, int h, int channels)
{
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_PNG);
    if (!codec)
        return -ENOTSUP;
    AVCodecContext *enc = avcodec_alloc_context3(codec);
    AVFrame *f = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    int r = -ENOMEM;
    if (!enc || !f || !pkt)
        goto out;
    enc->width = w;
    enc->height = h;
    enc->pix_fmt = channels == 1 ? AV_PIX_FMT_GRAY8 : AV_PIX_FMT_RGB24;
    enc->time_base = (AVRational){1, 25};
    if ((r = avcodec_open2(enc, codec, NULL)) < 0)
        goto out;
    f->format = enc->pix_fmt;
    f->width = w;
    f->height = h;
    if ((r = av_frame_get_buffer(f, 0)) < 0)
        goto out;
    for (int y = 0; y < h; y++)
        memcpy(f->data[0] + (size_t)y * f->linesize[0], p + (size_t)y * stride, (size_t)w * channels);
    if ((r = avcodec_send_frame(enc, f)) < 0 || (r = avcodec_send_frame(enc, NULL)) < 0 ||
        (r = avcodec_receive_packet(enc, pkt)) < 0)
        goto out;
    r = write_file(path, pkt->data, (size_t)pkt->size);
out:
    av_packet_free(&pkt);
    av_frame_free(&f);
    avcodec_free_context(&enc);
    return r;
}

int vg_img_write(const char *path, const vg_img_t *img, int x, int y, int w, int h, int quality)
{
    if (x < 0) w += x, x = 0;
    if (y < 0) h += y, y = 0;
    if (x + w > img->width) w = img->width - x;
    if (y + h > img->height) h = img->height - y;
    if (w <= 0 || h <= 0)
        return -EINVAL;
    const uint8_t *p = img->data + ((size_t)y * img->width + x) * img->channels;
    int stride = img->width * img->channels;
    if (is_png(path))
        return write_png(path, p, stride, w, h, img->channels);
    tjhandle tj = tjInitCompress();
    if (!tj)
        return -ENOMEM;
    unsigned char *buf = NULL;
    unsigned long size = 0;
    int r = tjCompress2(tj, p, w, stride, h, img->channels == 1 ? TJPF_GRAY : TJPF_RGB, &buf, &size,
                        img->channels == 1 ? TJSAMP_GRAY : TJSAMP_420, quality, TJFLAG_ACCURATEDCT) == 0
                ? write_file(path, buf, size)
                : -EIO;
    tjFree(buf);
    tjDestroy(tj);
    return r;
}

int vg_mkdirs(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return -ENAMETOOLONG;
    for (char *s = buf + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -errno;
        *s = '/';
    }
    if (mkdir(buf, 0755) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}
