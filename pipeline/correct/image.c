/* image: borrowed views of AVFrames and start-up allocated planes. */
#include "pipeline/correct/image.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>

int vg_image_from_frame(const AVFrame *f, vg_image_t *ret)
{
    if (!f || !ret || f->width <= 0 || f->height <= 0 || !f->data[0])
        return -EINVAL;
    vg_image_t im = { .width = f->width, .height = f->height };
    int planes;
    switch (f->format) {
    case AV_PIX_FMT_YUV420P: im.format = VG_PIX_YUV420P; planes = 3;
        im.full_range = f->color_range == AVCOL_RANGE_JPEG; break;
    case AV_PIX_FMT_YUVJ420P: im.format = VG_PIX_YUV420P; planes = 3;
        im.full_range = true; break;
    case AV_PIX_FMT_NV12: im.format = VG_PIX_NV12; planes = 2;
        im.full_range = f->color_range == AVCOL_RANGE_JPEG; break;
    case AV_PIX_FMT_RGB24: im.format = VG_PIX_RGB24; planes = 1;
        im.full_range = true; break;
    default:
        return -ENOTSUP;
    }
    im.chroma_loc = f->chroma_location == AVCHROMA_LOC_CENTER ? VG_CHROMA_CENTER
                                                              : VG_CHROMA_LEFT;
    if (f->format == AV_PIX_FMT_YUVJ420P && f->chroma_location == AVCHROMA_LOC_UNSPECIFIED)
        im.chroma_loc = VG_CHROMA_CENTER; /* JPEG siting */
    for (int i = 0; i < planes; i++) {
        if (!f->data[i] || f->linesize[i] <= 0)
            return -ENOTSUP;
        im.data[i] = f->data[i];
        im.linesize[i] = f->linesize[i];
    }
    *ret = im;
    return 0;
}

static int plane_geometry(vg_pix_t format, int w, int h, int i, int *pw, int *ph)
{
    *pw = *ph = 0;
    int cw = (w + 1) / 2, ch = (h + 1) / 2;
    switch (format) {
    case VG_PIX_YUV420P:
        if (i == 0) { *pw = w; *ph = h; } else { *pw = cw; *ph = ch; }
        return 3;
    case VG_PIX_NV12:
        if (i == 0) { *pw = w; *ph = h; } else { *pw = 2 * cw; *ph = ch; }
        return 2;
    case VG_PIX_RGB24:
        *pw = 3 * w; *ph = h;
        return 1;
    }
    return 0;
}

static int image_alloc(vg_image_t *img, vg_pix_t format, int w, int h, bool fill)
{
    if (!img)
        return -EINVAL;
    memset(img, 0, sizeof(*img));
    if (w <= 0 || h <= 0 || w > 16384 || h > 16384)
        return -EINVAL;
    int pw, ph, n = plane_geometry(format, w, h, 0, &pw, &ph);
    if (!n)
        return -EINVAL;
    img->format = format;
    img->width = w;
    img->height = h;
    for (int i = 0; i < n; i++) {
        plane_geometry(format, w, h, i, &pw, &ph);
        int ls = (pw + 63) & ~63;
        /* one spare row: kernels may read a row past the last one */
        img->data[i] = aligned_alloc(64, (size_t)ls * (ph + 1));
        if (!img->data[i]) {
            vg_image_release(img);
            return -ENOMEM;
        }
        if (fill)
            memset(img->data[i], i ? 128 : 0, (size_t)ls * (ph + 1));
        else /* the spare row only: the rest stays untouched, so not resident */
            memset(img->data[i] + (size_t)ls * ph, i ? 128 : 0, (size_t)ls);
        img->linesize[i] = ls;
    }
    return 0;
}

int vg_image_alloc(vg_image_t *img, vg_pix_t format, int w, int h)
{
    return image_alloc(img, format, w, h, true);
}

int vg_image_reserve(vg_image_t *img, vg_pix_t format, int w, int h)
{
    return image_alloc(img, format, w, h, false);
}

void vg_image_release(vg_image_t *img)
{
    if (!img)
        return;
    for (int i = 0; i < 3; i++)
        free(img->data[i]);
    memset(img, 0, sizeof(*img));
}

int vg_image_copy(vg_image_t *dst, const vg_image_t *src)
{
    if (!dst || !src || dst->format != src->format || dst->width != src->width ||
        dst->height != src->height)
        return -EINVAL;
    for (int i = 0; i < 3 && src->data[i]; i++) {
        int pw = 0, ph = 0;
        plane_geometry(src->format, src->width, src->height, i, &pw, &ph);
        for (int y = 0; y < ph; y++)
            memcpy(dst->data[i] + (size_t)y * dst->linesize[i],
                   src->data[i] + (size_t)y * src->linesize[i], pw);
    }
    dst->full_range = src->full_range;
    dst->chroma_loc = src->chroma_loc;
    return 0;
}
