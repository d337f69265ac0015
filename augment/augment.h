/*
 * augment: data amplification and degradation, one implementation for the
 * trainer (through libvigil_augment.so and ctypes), `vigil augment`, and
 * the benches that degrade footage (bench/degrade).
 *
 * A recipe is a short list of transforms, each a row of one table
 * (vg_augment_table()) with its parameters: geometric (translate, rotate,
 * scale, mirror, crop), photometric (brightness, contrast, gamma, gauss,
 * poisson, saltpepper, blur, jpeg) and the conditions vigil corrects
 * (night, fog, rain, ir). Text form, one transform per line or separated by
 * ';', '#' starts a comment:
 *     mirror p=0.5
 *     rotate deg=-10:10 p=0.8
 *     fog t_far=0.12 t_near=0.45 airlight=210
 * A value "lo:hi" is drawn uniformly per image; p is the chance that the
 * transform applies to an image (default 1). A step may also be the name of a
 * built-in recipe ("amplify", "conditions", "night", "fog", "rain", "noise",
 * "ir"), expanded in place.
 *
 * Determinism: an image's random draws come from (seed, index) only, so
 * image i of a set gets the same result whatever order or batch it is
 * processed in, and vg_augment_describe() + the seed reproduce a set.
 *
 * Images are 8-bit, interleaved, 1 (grey) or 3 (RGB) channels; the YUV
 * 4:2:0 entry (vg_augment_apply_yuv420) serves footage and applies the
 * photometric transforms and conditions only.
 *
 * Owns: a vg_augment_t owns its recipe copy, scratch buffers sized at
 * vg_augment_new for the largest image, and a TurboJPEG handle; applying
 * allocates nothing.
 * Thread: a vg_augment_t is used by one thread at a time; make one per
 * thread. Recipes are read-only after parsing and may be shared.
 * Blocks on: nothing.
 */
#ifndef VG_AUGMENT_H
#define VG_AUGMENT_H

#include <stddef.h>
#include <stdint.h>

#define VG_AUGMENT_MAX_STEPS 32
#define VG_AUGMENT_MAX_PARAMS 8

/* An 8-bit interleaved image; data is borrowed. */
typedef struct {
    uint8_t *data;
    int width, height;
    int channels; /* 1 or 3 */
    int stride;   /* bytes per row, >= width * channels */
} vg_aug_image_t;

/* One parameter of a transform in the table. */
typedef struct {
    const char *key;
    double def_lo, def_hi; /* default range (equal: a fixed value) */
    double min, max;       /* accepted values */
    const char *doc;
} vg_aug_param_t;

typedef enum { VG_AUG_GEOMETRIC, VG_AUG_PHOTOMETRIC, VG_AUG_CONDITION } vg_aug_kind_t;

/* One row of the table: a transform and its parameters. */
typedef struct {
    const char *name;
    vg_aug_kind_t kind;
    int n_params;
    vg_aug_param_t params[VG_AUGMENT_MAX_PARAMS];
    const char *doc;
} vg_aug_transform_t;

/* One step of a recipe: a transform of the table with its ranges. */
typedef struct {
    int transform; /* index into the table */
    double lo[VG_AUGMENT_MAX_PARAMS], hi[VG_AUGMENT_MAX_PARAMS];
    double p; /* 0..1 */
} vg_aug_step_t;

typedef struct {
    int n_steps;
    vg_aug_step_t steps[VG_AUGMENT_MAX_STEPS];
} vg_augment_recipe_t;

typedef struct vg_augment vg_augment_t;

/* The table of transforms, and its length in *ret_n. Thread: any. */
const vg_aug_transform_t *vg_augment_table(int *ret_n);

/* The text of a built-in recipe ("amplify", "night", ...), or NULL. Thread: any. */
const char *vg_augment_builtin(const char *name);

/*
 * Parses recipe text (or a built-in name) into *ret. Returns 0, or -EINVAL
 * with a message in err ("line 2: rotate: unknown parameter 'angle'");
 * *ret untouched on failure. Thread: any.
 */
int vg_augment_recipe_parse(const char *text, vg_augment_recipe_t *ret, char *err, size_t errlen);

/*
 * Writes the recipe back as text, every parameter explicit, one step a
 * line (the form that reproduces a set). Returns the length it needs (as
 * snprintf), negative errno on a bad recipe. Thread: any.
 */
int vg_augment_recipe_format(const vg_augment_recipe_t *r, char *buf, size_t n);

/*
 * Makes an augmenter for images up to max_w x max_h with up to 3 channels.
 * The recipe is copied. Returns 0 and *ret (free with vg_augment_free),
 * -EINVAL, -ENOMEM, -ENOTSUP when the recipe has jpeg and this build has no
 * libturbojpeg; *ret untouched on failure. Thread: any (start-up).
 */
int vg_augment_new(const vg_augment_recipe_t *recipe, int max_w, int max_h, vg_augment_t **ret);

/* Frees; accepts NULL and *p == NULL; sets *p = NULL. Thread: the augmenter's user. */
void vg_augment_free(vg_augment_t **p);

/*
 * Applies the recipe to img in place, with the random draws of image
 * `index` under `seed`. Returns 0, -EINVAL for an image larger than the
 * augmenter's or a bad channel count, a negative errno from the JPEG codec.
 * No allocation. Thread: the augmenter's user.
 */
int vg_augment_apply(vg_augment_t *a, vg_aug_image_t *img, uint64_t seed, uint64_t index);

/*
 * The same on a YUV 4:2:0 picture (three planes; full_range 0..255, else
 * luma 16..235 and chroma 16..240), for footage: photometric transforms and
 * conditions act on luma (and pull chroma toward grey where the condition
 * does: night, fog, ir); geometric steps and jpeg give -ENOTSUP before
 * anything is written. Thread: the augmenter's user.
 */
int vg_augment_apply_yuv420(vg_augment_t *a, uint8_t *const planes[3], const int linesize[3], int width,
                            int height, int full_range, uint64_t seed, uint64_t index);

/* ---- flat entry points for ctypes (the trainer): handles and batches ---- */

/* vg_augment_new from recipe text; NULL on any error (err says why).
 * Thread: any. */
vg_augment_t *vg_augment_open(const char *recipe_text, int max_w, int max_h, char *err, size_t errlen);

/*
 * n images of w x h x c, packed (stride w * c), in and out may be the
 * same buffer; image k gets index first_index + k. Returns 0 or a negative
 * errno. Thread: the augmenter's user.
 */
int vg_augment_batch(vg_augment_t *a, const uint8_t *in, uint8_t *out, int n, int w, int h, int c, uint64_t seed,
                     uint64_t first_index);

/* vg_augment_free for ctypes. Thread: the augmenter's user. */
void vg_augment_close(vg_augment_t *a);

#endif
