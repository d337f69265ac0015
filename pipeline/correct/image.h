/*
 * image: a plain description of an 8-bit picture (planes, linesizes, size,
 * pixel layout, YUV range and chroma siting) that the correction kernels and
 * the tensor preparation read and write.
 *
 * Owns: nothing when made by vg_image_from_frame() (a borrowed view of an
 * AVFrame); its planes when made by vg_image_alloc() (start-up only).
 * Thread: any; a vg_image_t is a value, the caller keeps the frame it views
 * alive and unshared for writing.
 * Blocks on: nothing.
 */
#ifndef VG_IMAGE_H
#define VG_IMAGE_H

#include <stdbool.h>
#include <stdint.h>

struct AVFrame;

typedef enum {
    VG_PIX_YUV420P = 0, /* three planes, chroma halved both ways (YUVJ420P too) */
    VG_PIX_NV12,        /* Y plane + interleaved UV plane, chroma halved */
    VG_PIX_RGB24,       /* one packed R,G,B plane */
} vg_pix_t;

typedef enum {
    VG_CHROMA_LEFT = 0, /* MPEG-2/H.264 default: co-sited with even luma columns */
    VG_CHROMA_CENTER,   /* JPEG/MPEG-1: between luma samples both ways */
} vg_chroma_loc_t;

typedef struct vg_image {
    vg_pix_t format;
    int width, height;          /* luma size in pixels */
    bool full_range;            /* YUV: 0..255 (JPEG) instead of 16..235/240 */
    vg_chroma_loc_t chroma_loc; /* YUV 4:2:0 chroma siting */
    uint8_t *data[3];           /* planes; unused ones NULL */
    int linesize[3];            /* bytes per row of each plane (> 0) */
} vg_image_t;

/*
 * Fill *ret with a borrowed view of f's planes (no copy). Accepts
 * AV_PIX_FMT_YUV420P, YUVJ420P, NV12 and RGB24; YUV range comes from
 * color_range (YUVJ420P is always full), siting from chroma_location
 * (unspecified means left).
 * Returns 0, -EINVAL for a NULL/empty frame, -ENOTSUP for another pixel
 * format or a negative linesize (*ret untouched on failure).
 * Thread: any.
 */
int vg_image_from_frame(const struct AVFrame *f, vg_image_t *ret);

/*
 * Allocate planes for a w x h image of the given format (rows 64-byte
 * aligned, linesize a multiple of 64). For start-up, never per frame.
 * Returns 0 or -EINVAL / -ENOMEM (*img zeroed on failure).
 */
int vg_image_alloc(vg_image_t *img, vg_pix_t format, int w, int h);

/*
 * The same, but the planes' contents are undefined until written (only the
 * spare row past the last is set): their pages cost no resident memory
 * until a kernel first writes them. For output buffers that kernels fill
 * whole, such as the analysis copies a camera may never need.
 */
int vg_image_reserve(vg_image_t *img, vg_pix_t format, int w, int h);

/* Free planes from vg_image_alloc(); accepts a zeroed image. */
void vg_image_release(vg_image_t *img);

/* Copy src into dst (same format and size; dst's planes are written).
 * Returns 0 or -EINVAL when they do not match. */
int vg_image_copy(vg_image_t *dst, const vg_image_t *src);

#endif
