/*
 * tensor_prep: the fused "letterbox + colour conversion + mean/scale + layout"
 * pass from a decoded frame (YUV420P/YUVJ420P, NV12, RGB24) straight into a
 * model's float input tensor, replacing libswscale + separate float passes.
 *
 * Sampling is bilinear with pixel centres aligned (the convention of
 * cv2.resize INTER_LINEAR, which detectors are trained with); chroma is
 * sampled bilinearly at its own siting; colour is BT.601 (limited or full
 * range from the image).
 *
 * Owns: its coordinate tables and row scratch (sized at vg_tensor_prep_new()).
 * Thread: one thread at a time per object (one per worker); the tensor is
 * written, the source image only read.
 * Blocks on: nothing; allocates nothing after new.
 */
#ifndef VG_TENSOR_PREP_H
#define VG_TENSOR_PREP_H

#include <stdbool.h>

#include "pipeline/correct/image.h"

typedef enum { VG_TENSOR_NCHW = 0, VG_TENSOR_NHWC } vg_tensor_layout_t;
typedef enum { VG_TENSOR_RGB = 0, VG_TENSOR_BGR, VG_TENSOR_GRAY } vg_tensor_color_t;
typedef enum { VG_TENSOR_LETTERBOX = 0, VG_TENSOR_STRETCH } vg_tensor_fit_t;

typedef struct {
    int width, height;           /* tensor spatial size, e.g. 416 x 416 */
    vg_tensor_layout_t layout;   /* NCHW (planes) or NHWC (interleaved) */
    vg_tensor_color_t color;     /* channel order of the tensor; GRAY = 1 channel */
    vg_tensor_fit_t fit;         /* keep aspect ratio and pad, or stretch */
    float mean[3];               /* per tensor channel, in 0..255 units */
    float scale[3];              /* value = (pixel - mean[c]) * scale[c]; 0 means 1 */
    float pad;                   /* letterbox border as a pixel value (0..255), e.g. 114 */
    bool whiten;                 /* then (value - frame mean) / frame std per channel,
                                    over the picture area; border set to 0 */
    int max_src_width;           /* widest source accepted; 0 = 4096 */
} vg_tensor_prep_config_t;

/* Maps tensor coordinates back to the source: src_x = (x - pad_x) / scale_x. */
typedef struct {
    float scale_x, scale_y; /* tensor pixels per source pixel */
    float pad_x, pad_y;     /* tensor pixels of border on the left / top */
} vg_tensor_xform_t;

typedef struct vg_tensor_prep vg_tensor_prep_t;

/*
 * Make a preparer. cfg is copied. Returns 0 and *ret (caller frees with
 * vg_tensor_prep_free), or -EINVAL for a bad config, -ENOMEM.
 * Thread: any (start-up).
 */
int vg_tensor_prep_new(const vg_tensor_prep_config_t *cfg, vg_tensor_prep_t **ret);
void vg_tensor_prep_free(vg_tensor_prep_t **p);

/* Number of floats the tensor holds: width * height * channels. */
int vg_tensor_prep_size(const vg_tensor_prep_t *tp);

/*
 * Write the tensor for src into dst (vg_tensor_prep_size() floats, borrowed,
 * 64-byte alignment recommended). src is borrowed and only read.
 * Returns 0 and, if ret_xform is not NULL, the mapping back to the source;
 * -EINVAL for an empty source or one wider than max_src_width (dst and
 * *ret_xform untouched). Thread: the object's owner.
 */
int vg_tensor_prep_run(vg_tensor_prep_t *tp, const vg_image_t *src, float *restrict dst,
                       vg_tensor_xform_t *ret_xform);

#endif
