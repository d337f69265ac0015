/*
 * correct: the one entry point a worker calls per analysed frame. It keeps a
 * camera's correction state (scene statistics, the current choice, temporal
 * histories, atmospheric light, analysis-copy buffers), chooses corrections
 * (auto, with hysteresis) or applies the configured list, and returns the
 * analysis copy. The decoded frame is never written.
 *
 * Order of application: derain -> denoise -> dehaze -> low light (clean the
 * noise before brightening it).
 *
 * Owns: everything in vg_correct_state_t, including the analysis-copy planes
 * (allocated at vg_correct_new for max_width x max_height). Memory per
 * camera in AUTO mode is about 13 bytes per pixel of the maximum size
 * (1080p: ~26 MB: two analysis copies + an NV12 de-interleave buffer, the
 * denoise history in 16 bits, two previous luma planes and a count plane
 * for derain, dehaze's reduced planes, two CLAHE tables: colour and IR);
 * LIST allocates only what it lists (plus the copies), OFF
 * nothing. The analysis copies are reserved, not touched: on a clean scene,
 * where auto applies nothing, they cost no resident memory.
 * Thread: one thread at a time per state (the worker currently serving the
 * camera); states of different cameras are independent.
 * Blocks on: nothing; allocates nothing after new.
 */
#ifndef VG_CORRECT_H
#define VG_CORRECT_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/correct/mode.h"
#include "pipeline/correct/image.h"

struct AVFrame;

typedef struct {
    int max_width, max_height;  /* largest frame of this camera (e.g. 1920x1080) */
    vg_correct_mode_t mode;     /* OFF, AUTO, LIST */
    uint32_t mask;              /* VG_CORRECT_* when mode == LIST */
} vg_correct_config_t;

/* Scene statistics, smoothed over frames (what auto decides on). */
typedef struct {
    float luma_mean;    /* 0..1 of the nominal range */
    float luma_p5, luma_p95;
    float dark_mean;    /* mean dark channel, 0..1 */
    float noise;        /* noise sigma, 8-bit levels */
    float chroma;       /* mean |U-128|+|V-128|: ~0 on greyscale/IR */
    float rain;         /* thin bright one-frame streaks, per 1000 pixels (every 4th row) */
    int grey;           /* 1 if the picture is greyscale (IR night mode) */
    /* what the corrections did to the last frame (1 when nothing ran) */
    float gain;         /* mean luma above black, out / in */
    float detail_gain;  /* mean |horizontal luma step|, out / in: how much fine
                         * detail (and noise) was amplified */
} vg_correct_stats_t;

typedef struct vg_correct_state vg_correct_state_t;

/* Pictures smaller than this (either side) are not corrected: the filters'
 * windows do not fit. vg_correct_new/apply refuse them with -EINVAL. */
#define VG_CORRECT_MIN_SIZE 16

/*
 * Make a camera's correction state. cfg is copied. Returns 0 and *ret,
 * -EINVAL (bad size or mode), -ENOMEM. Thread: any (start-up, reload).
 */
int vg_correct_new(const vg_correct_config_t *cfg, vg_correct_state_t **ret);
void vg_correct_free(vg_correct_state_t **p);

/*
 * Correct one frame of the camera. in is borrowed and only read (keep it
 * referenced while *ret_analysis_copy is used: when nothing is applied the
 * copy is a view of in's planes). On success *ret_analysis_copy describes
 * the picture to analyse (in the state's buffers when a correction ran;
 * valid until the next call) and the return value is the VG_CORRECT_* mask
 * applied (>= 0). Frames other than YUV420P/YUVJ420P/NV12 (e.g. RGB24) pass
 * through uncorrected (mask 0); other pixel formats give -ENOTSUP.
 * -EINVAL for a NULL/oversized frame. *ret_analysis_copy untouched on failure.
 * Thread: the worker serving this camera.
 */
int vg_correct_apply(vg_correct_state_t *st, const struct AVFrame *in,
                     vg_image_t *ret_analysis_copy);

/* The same on a vg_image_t (tests, tools). */
int vg_correct_apply_image(vg_correct_state_t *st, const vg_image_t *in,
                           vg_image_t *ret_analysis_copy);

/* Current choice (what the last frame got) and the smoothed statistics.
 * Thread: the state's owner (copy them out for stats/health). */
uint32_t vg_correct_active(const vg_correct_state_t *st);
void vg_correct_get_stats(const vg_correct_state_t *st, vg_correct_stats_t *ret);

/*
 * The score a detection on the last analysis copy must reach, for a model
 * whose own threshold is `threshold`: the threshold raised with the gain the
 * corrections applied (brightening amplifies the noise under the noise
 * floor, and the detector sees objects in it). `threshold` itself when
 * nothing was applied. The analysis drops detections below it.
 * Thread: the state's owner.
 */
float vg_correct_min_score(const vg_correct_state_t *st, float threshold);

/* Short name of one VG_CORRECT_* bit ("low_light", "dehaze", "denoise",
 * "derain"), NULL for anything else. */
const char *vg_correct_name(uint32_t bit);

/* Comma-separated names of mask into buf ("" for 0, e.g. "low_light,denoise").
 * Returns the length written (snprintf semantics: may exceed n-1). */
int vg_correct_names(uint32_t mask, char *buf, size_t n);

#endif
