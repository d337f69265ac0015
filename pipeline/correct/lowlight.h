/*
 * lowlight: brightening for night and backlight on the luma plane:
 * CLAHE (contrast-limited adaptive histogram equalisation, OpenCV's
 * createCLAHE arithmetic: same tiles, clip limit, reflect-101 padding and
 * bilinear tile interpolation), a gamma chosen from the frame's statistics
 * (composed into the tile tables, so it costs no extra pass), chroma scaled
 * with the luma gain so colours keep their hue and saturation, and an
 * optional unsharp mask.
 *
 * Owns: its tile histograms/tables and row scratch (sized at new).
 * Thread: one thread at a time per object (the worker serving the camera).
 * Blocks on: nothing; allocates nothing after new.
 */
#ifndef VG_LOWLIGHT_H
#define VG_LOWLIGHT_H

#include <stdint.h>

#include "pipeline/correct/image.h"

typedef struct vg_clahe vg_clahe_t;

/*
 * CLAHE on one 8-bit plane, for planes up to max_w x max_h.
 * tiles_x, tiles_y >= 1 (OpenCV's tileGridSize), clip_limit as OpenCV's
 * clipLimit (<= 0: no clipping). Returns 0 and *ret, -EINVAL, -ENOMEM.
 */
int vg_clahe_new(int max_w, int max_h, int tiles_x, int tiles_y, float clip_limit,
                 vg_clahe_t **ret);
void vg_clahe_free(vg_clahe_t **p);

/*
 * Equalise src (w x h, borrowed, read) into dst (may equal src). If post is
 * not NULL, each tile's table is composed with it before interpolation
 * (post[clahe(v)], e.g. a gamma curve). If ret_mean is not NULL it receives
 * the mean of the output predicted from the histograms (no extra pass).
 * Returns 0 or -EINVAL (size above the maximum).
 */
int vg_clahe_run(vg_clahe_t *c, const uint8_t *src, int src_ls, uint8_t *dst, int dst_ls,
                 int w, int h, const uint8_t *post, double *ret_mean);

/* lut[v] = gamma curve on [lo, hi] (16..235 for limited-range luma, 0..255
 * full): lo + (hi-lo) * ((v-lo)/(hi-lo))^gamma, clamped outside. */
void vg_gamma_lut(uint8_t lut[256], float gamma, int lo, int hi);

/* Gamma that maps a normalised mean (0..1) to target, limited to
 * [gamma_min, 1] (only brightens). */
float vg_gamma_for_mean(double mean01, double target01, float gamma_min);

typedef struct {
    int max_width, max_height; /* largest frame (allocation at new) */
    int tiles_x, tiles_y;      /* CLAHE grid; 0 = 8 x 8 */
    float clip_limit;          /* CLAHE clip limit; 0 = 2.0 */
    float target_mean;         /* gamma aims the mean luma here (0..1); 0 = 0.45 */
    float gamma_min;           /* strongest gamma allowed; 0 = 0.4 */
    float chroma_gain_max;     /* cap on chroma gain; 0 = 2.0 */
    float unsharp;             /* unsharp mask amount, 0 = off (e.g. 0.5) */
} vg_lowlight_config_t;

typedef struct vg_lowlight vg_lowlight_t;

int vg_lowlight_new(const vg_lowlight_config_t *cfg, vg_lowlight_t **ret);
void vg_lowlight_free(vg_lowlight_t **p);

/*
 * Brighten src (YUV420P, borrowed, read only) into dst (YUV420P of the same
 * size, e.g. from vg_image_alloc; its planes are written). strength in 0..1
 * blends the gamma towards 1 (0 = CLAHE only). dst may equal src.
 * Returns 0, -EINVAL (format/size), and on success *ret_gamma (if not NULL)
 * is the gamma used. Thread: the object's owner.
 */
int vg_lowlight_run(vg_lowlight_t *ll, const vg_image_t *src, vg_image_t *dst,
                    float strength, float *ret_gamma);

#endif
