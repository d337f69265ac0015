/*
 * dehaze: dark-channel-prior dehazing (He, Sun, Tang) for haze and fog.
 * The dark channel and the transmission are computed on a frame reduced to
 * at most 256 pixels a side, refined there with a guided filter (the grey
 * picture as guide), and the filter's linear coefficients are upsampled and
 * applied to the full-resolution luma ("fast guided filter", He & Sun 2015),
 * so edges stay sharp at a fraction of the cost. The atmospheric light is
 * the mean colour of the haziest 0.1% of the picture, smoothed over time per
 * camera so the picture does not flicker. The scene radiance is recovered in
 * YUV directly: J = (I - A) / t + A holds for Y, U and V as well as for RGB
 * because BT.601 is affine.
 *
 * Owns: its small planes and the per-camera atmospheric light (sized at new).
 * Thread: one thread at a time per object; an object belongs to one camera.
 * Blocks on: nothing; allocates nothing after new.
 */
#ifndef VG_DEHAZE_H
#define VG_DEHAZE_H

#include "pipeline/correct/image.h"

typedef struct {
    int max_width, max_height; /* largest frame */
    float omega;        /* haze kept for depth perception: t = 1 - omega*dark; 0 = 0.95 */
    float t_min;        /* lower bound of the transmission; 0 = 0.2 */
    float patch;        /* dark channel window, fraction of the width; 0 = 0.045 (35 px at 768) */
    float gf_radius;    /* guided filter radius, fraction of the width; 0 = 0.026 */
    float gf_eps;       /* guided filter regularisation (0..1 units); 0 = 1e-3 */
    float a_rate;       /* atmospheric light: share of the new estimate per frame; 0 = 0.1 */
} vg_dehaze_config_t;

typedef struct {
    float a_y, a_u, a_v;  /* atmospheric light used (YUV code values) */
    float mean_t;         /* mean refined transmission (before t_min) */
    float dark_mean;      /* mean dark channel of the input, 0..1 */
} vg_dehaze_info_t;

typedef struct vg_dehaze vg_dehaze_t;

int vg_dehaze_new(const vg_dehaze_config_t *cfg, vg_dehaze_t **ret);
void vg_dehaze_free(vg_dehaze_t **p);
/* Forget the smoothed atmospheric light (scene change). */
void vg_dehaze_reset(vg_dehaze_t *dh);

/*
 * Dehaze src (YUV420P, borrowed, read only) into dst (same size, another
 * buffer). strength 0..1 scales the haze removed (t' = 1 - strength*(1-t)).
 * Returns 0 and *ret_info if not NULL, or -EINVAL.
 */
int vg_dehaze_run(vg_dehaze_t *dh, const vg_image_t *src, vg_image_t *dst, float strength,
                  vg_dehaze_info_t *ret_info);

/*
 * Mean dark channel (0..1) of src on a coarse grid (every 8th pixel of every
 * 8th row, min of R,G,B, no window): a cheap haze statistic for auto.
 */
float vg_dark_channel_mean(const vg_image_t *src);

#endif
