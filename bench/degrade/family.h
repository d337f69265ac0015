/*
 * degrade/family: families of degradations for measuring the corrections
 * (bench_degrade, tests/test_correct_families.c). One place for the
 * generators, so they can move to the data-amplification transforms
 * (issue 16) in one piece.
 *
 * A family (night, fog, rain, IR-like) is a parameter space. Each sample of
 * it is drawn from a seed at one of VG_DEGRADE_LEVELS strengths, in one of
 * two parts of the space:
 *   tuning    what the corrections may be tuned on;
 *   held-out  other ranges of the nuisance parameters (rain: other angles,
 *             lengths, blended and blurred streaks over a darker, noisier
 *             frame; fog: other gradient directions and airlight colours;
 *             night: shot noise, banding and hot pixels instead of gaussian
 *             noise, other gammas; IR: a hotspot, blur and shot noise),
 *             never looked at while tuning.
 * Half of the samples of each part are also JPEG-compressed (a real MJPEG
 * encode and decode through libavcodec, qscale from the seed).
 *
 * Owns: vg_degrader_t (the JPEG codec pair and a scratch frame).
 * Thread: one thread at a time per degrader; the sample functions are pure.
 * Blocks on: nothing.
 */
#ifndef VG_DEGRADE_FAMILY_H
#define VG_DEGRADE_FAMILY_H

#include <stddef.h>
#include <stdint.h>

#include "models/heads/heads.h"
#include "pipeline/correct/image.h"

enum { VG_FAM_CLEAN, VG_FAM_NIGHT, VG_FAM_FOG, VG_FAM_RAIN, VG_FAM_IR, VG_FAM_N };
enum { VG_PART_TUNE, VG_PART_HELD };
enum { VG_DEGRADE_LEVELS = 4 };

typedef struct {
    int family, part, level, variant; /* variant: which draw (odd: compressed) */
    float strength;                   /* 0..1 (level 0 = 0.25 .. level 3 = 1) */
    int jpeg_q;                       /* MJPEG qscale 2..31, 0 = not compressed */
    /* night and IR: luma = 16 + 219 * gain * vig * ((v-16)/219)^gamma, chroma * cgain */
    float gain, gamma, cgain;
    float noise;        /* gaussian read noise sigma (luma, 8-bit levels) */
    float shot;         /* shot noise: sigma += shot * sqrt(signal above black) */
    float banding;      /* row noise sigma (one offset per row per frame) */
    float hot;          /* share of hot pixels (new each frame) */
    float vignette;     /* IR hotspot: edges get (1 - vignette) of the centre */
    int blur;           /* 1: 3-tap box blur of the luma (soft IR lens) */
    /* fog: I = J t + A (1 - t), t from t_far to t_near along dir */
    float t_far, t_near;
    int dir;            /* 0 far at the top, 1 far at the bottom, 2 far at the left, 3 uniform */
    float air[3];       /* airlight Y, U, V */
    /* rain: streaks per 768x576 frame, new every frame */
    int streaks;
    int len_min, len_max;
    float angle;        /* degrees from vertical (positive leans right) */
    int amp_min, amp_max; /* additive brightness, or blend alpha in % when blend */
    int blend;          /* 1: v + a (235 - v), tapered at both ends (motion blur) */
    int width;          /* streak width in pixels (1..2) */
    float darken;       /* luma gain of the rainy frame (1 = daylight) */
} vg_degrade_params_t;

/* Sample `variant` (0..) of family/part/level, drawn from a seed made of all
 * four. Deterministic. family VG_FAM_CLEAN gives no degradation (variant odd:
 * compressed). Thread: any. */
void vg_degrade_sample(int family, int part, int level, int variant, vg_degrade_params_t *ret);

/* Names: "night", "fog", "rain", "ir", "clean"; "tuning" / "held-out".
 * vg_degrade_family_of returns the family of a name or -1. */
const char *vg_degrade_family_name(int family);
const char *vg_degrade_part_name(int part);
int vg_degrade_family_of(const char *name);

/* One line describing p into buf (snprintf semantics). */
int vg_degrade_describe(const vg_degrade_params_t *p, char *buf, size_t n);

typedef struct vg_degrader vg_degrader_t;

/* A degrader for frames up to max_w x max_h. Returns 0 and *ret, -EINVAL,
 * -ENOMEM, or a negative AVERROR when the MJPEG codec cannot be opened. */
int vg_degrader_new(int max_w, int max_h, vg_degrader_t **ret);
void vg_degrader_free(vg_degrader_t **p);

/* Degrade limited-range YUV420P src into dst (same size, another buffer)
 * with p; rng is the caller's stream (one per sample, e.g. seeded from
 * p->variant). Returns 0 or a negative errno / AVERROR. */
int vg_degrade_frame(vg_degrader_t *d, const vg_degrade_params_t *p, const vg_image_t *src,
                     vg_image_t *dst, uint64_t *rng);

/* How many of ref[0..nr) (best first) find a detection of got[0..ng) with
 * the same label at IoU >= 0.5, each used once, greedily: how recall and
 * false positives are counted against the clean frame (the bench and
 * test_correct_families count the same way). ng <= 256. Thread: any. */
int vg_degrade_match(const vg_det_t *ref, int nr, const vg_det_t *got, int ng);

#endif
