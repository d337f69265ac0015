/* Test helpers for the correction suites: decode real footage through
 * capture/reader.h, convert with libswscale, compare planes. */
#ifndef VG_TEST_CORRECT_FRAMES_H
#define VG_TEST_CORRECT_FRAMES_H

#include <stdint.h>

#include <libavutil/frame.h>

#include "pipeline/correct/image.h"

/* Path of a clip in $VIGIL_CACHE_DIR/footage (static buffer). */
const char *vgt_footage(const char *name);

/* Decode frames [first, first+n) of a clip into out[] (AVFrames the caller
 * frees). Returns the number decoded or a negative AVERROR. */
int vgt_decode(const char *path, int first, int n, AVFrame **out);

/* Convert/scale f to fmt at w x h with swscale flags; returns a new frame. */
AVFrame *vgt_convert(const AVFrame *f, int fmt, int w, int h, int flags);

/* PSNR of two 8-bit planes. */
double vgt_psnr(const uint8_t *a, int la, const uint8_t *b, int lb, int w, int h);

/* Deterministic standard normal (Box-Muller on a xorshift). */
double vgt_gauss(uint64_t *state);

#endif

/* Degradations of a limited-range YUV420P frame into out (same size):
 * CLEAN copy; DARK luma and chroma deviation to a fifth (night); HAZE the
 * scattering model with depth-like t 0.35..0.75 and A = grey 215; NOISE
 * gaussian sigma 8 on luma, 4 on chroma; RAIN 300 thin bright slanted
 * streaks (new ones every frame) and sigma 2 noise. */
enum { VGT_CLEAN, VGT_DARK, VGT_HAZE, VGT_NOISE, VGT_RAIN };
void vgt_degrade(vg_image_t *out, const AVFrame *in, int kind, uint64_t *rng);
