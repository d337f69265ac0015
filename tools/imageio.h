/*
 * tools/imageio: reading and writing whole 8-bit pictures for the CLI's
 * dataset tools (vigil augment, vigil dataset export): any picture FFmpeg
 * reads, through the capture's reader, into packed grey or RGB; JPEG written
 * with libturbojpeg, PNG with libavcodec.
 * Thread: the caller's; no shared state.
 */
#ifndef VG_TOOLS_IMAGEIO_H
#define VG_TOOLS_IMAGEIO_H

#include <stdbool.h>
#include <stdint.h>

#include <libavutil/frame.h>

/* A packed picture; data is malloc'd (free with vg_img_release). */
typedef struct {
    uint8_t *data;
    int width, height, channels; /* channels 1 (grey) or 3 (RGB) */
} vg_img_t;

/* Reads the first picture of path: grey stays grey, anything else becomes
 * RGB. Returns 0, or a negative errno / AVERROR with err filled. */
int vg_img_read(const char *path, vg_img_t *ret, char *err, size_t errlen);

/* Converts a decoded frame to packed RGB into *img, reusing its buffer when
 * the size is the same (so no allocation per frame of one stream). */
int vg_img_from_frame(const AVFrame *f, vg_img_t *img);

/* Writes the w x h rectangle at (x, y) of img (clamped) as path: .png by
 * libavcodec, anything else JPEG at quality q. Returns 0 or a negative errno. */
int vg_img_write(const char *path, const vg_img_t *img, int x, int y, int w, int h, int quality);

void vg_img_release(vg_img_t *img);

/* mkdir -p; 0 or a negative errno. */
int vg_mkdirs(const char *path);

#endif
