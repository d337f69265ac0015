/*
 * temporal: per-camera filters that look at previous frames:
 *  - denoise: motion-adaptive recursive average (strong where the picture is
 *    static, pass-through where it moves) with an optional light spatial
 *    filter on moving pixels (night);
 *  - derain: suppresses short bright streaks (rain, snow) where the two
 *    previous frames agree (no motion) and the brightening is thin. The
 *    history is the derained picture, so in heavy rain a streak in an
 *    earlier frame neither raises the background nor makes the frames
 *    disagree; a pixel held back two frames in a row is let through (what
 *    stays bright is real: a light switched on, a wire);
 *  - vg_noise_estimate: the noise sigma of a luma plane.
 *
 * Owns: the per-camera history (accumulators, previous luma), sized at new.
 * Thread: one thread at a time per object; the object belongs to a camera
 * and sees that camera's frames in order.
 * Blocks on: nothing; allocates nothing after new.
 */
#ifndef VG_TEMPORAL_H
#define VG_TEMPORAL_H

#include <stdint.h>

#include "pipeline/correct/image.h"

/*
 * Noise sigma (in 8-bit levels) of a plane: Immerkaer's Laplacian estimate
 * per 16x16 block, on every other block row, and the 10th percentile of the
 * blocks, so edges and texture do not count as noise. O(w*h/2).
 */
float vg_noise_estimate(const uint8_t *p, int ls, int w, int h);

typedef struct vg_denoise vg_denoise_t;

/* max_w x max_h: largest frame. Returns 0 and *ret, -EINVAL, -ENOMEM. */
int vg_denoise_new(int max_w, int max_h, vg_denoise_t **ret);
void vg_denoise_free(vg_denoise_t **p);

/* Forget the history (scene cut, camera moved, size change). */
void vg_denoise_reset(vg_denoise_t *dn);

/*
 * Denoise src (YUV420P, borrowed, read only) into dst (same size, another
 * buffer: dst must not be src). sigma: noise level in 8-bit levels (<= 0: estimated here).
 * strength 0..1 (1: the average keeps 80% of the history where static).
 * spatial 0..1: 3x3 smoothing blended into moving pixels (0 = off).
 * The first frame after new/reset, or a size change, passes through and
 * primes the history. Returns 0 or -EINVAL.
 */
int vg_denoise_run(vg_denoise_t *dn, const vg_image_t *src, vg_image_t *dst, float sigma,
                   float strength, float spatial);

typedef struct vg_derain vg_derain_t;

int vg_derain_new(int max_w, int max_h, vg_derain_t **ret);
void vg_derain_free(vg_derain_t **p);
/* Forget the previous frames (the next two pass through). */
void vg_derain_reset(vg_derain_t *dr);

/*
 * Remove bright streaks from src's luma into dst (another buffer of the
 * same size; chroma copied). sigma as for denoise. The first two frames pass through.
 * Returns the number of luma pixels replaced (>= 0), or -EINVAL.
 */
int vg_derain_run(vg_derain_t *dr, const vg_image_t *src, vg_image_t *dst, float sigma);

/*
 * Pixels of row s that derain would treat as a streak, given the same row of
 * the two previous frames (p1 newer, p2 older): the rain statistic of auto.
 * Thread: any (pure).
 */
int vg_streak_count(const uint8_t *s, const uint8_t *p1, const uint8_t *p2, int w, float sigma);

#endif
