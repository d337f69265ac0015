/* test_detector: pipeline/detect's loading rules on the real converted
 * models: a config value given on purpose that contradicts the model's
 * manifest is refused with the key named (issue 10 item 7: `head:
 * classifier, input: [64, 64]` on nanodet.onnx used to run as NanoDet
 * without a word); values left at their defaults, or agreeing, load. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pipeline/detect.h"

static const char *cache(void)
{
    const char *c = getenv("VIGIL_CACHE_DIR");
    return c && *c ? c : VIGIL_CACHE_DIR;
}

/* nanodet.onnx with config c; returns vg_detector_new's result, err filled. */
static int load_nanodet(vg_detector_config_t *c, char *err, size_t errlen)
{
    char onnx[1024];
    snprintf(onnx, sizeof(onnx), "%s/models/nanodet.onnx", cache());
    struct stat st;
    cr_assert_eq(stat(onnx, &st), 0, "no %s (run scripts/fetch-models.sh)", onnx);
    snprintf(c->name, sizeof(c->name), "det");
    c->threshold = c->nms_iou = -1;
    vg_detector_t *d = NULL;
    err[0] = '\0';
    int r = vg_detector_new(c, onnx, NULL, &d, err, errlen);
    cr_assert_eq(r == 0, d != NULL, "a detector exactly when it succeeds");
    vg_detector_free(&d);
    return r;
}

Test(detector, manifest_wins_over_defaults)
{
    /* what a config without those keys maps to: defaults, nothing given */
    vg_detector_config_t c = {.head = "classifier", .input_w = 64, .input_h = 64, .letterbox = false,
                              .scale = {1, 1, 1}};
    char err[1024];
    cr_assert_eq(load_nanodet(&c, err, sizeof(err)), 0, "%s", err);
}

Test(detector, agreeing_values_load)
{
    vg_detector_config_t c = {.head = "nanodet", .input_w = 416, .input_h = 416,
                              .given = VG_DETECTOR_GIVEN_HEAD | VG_DETECTOR_GIVEN_INPUT};
    char err[1024];
    cr_assert_eq(load_nanodet(&c, err, sizeof(err)), 0, "%s", err);
}

Test(detector, conflicting_head_is_refused)
{
    vg_detector_config_t c = {.head = "classifier", .input_w = 416, .input_h = 416,
                              .given = VG_DETECTOR_GIVEN_HEAD | VG_DETECTOR_GIVEN_INPUT};
    char err[1024];
    cr_assert_eq(load_nanodet(&c, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "model 'det': head: 'classifier'") && strstr(err, "'nanodet'"), "%s", err);
}

Test(detector, conflicting_input_is_refused)
{
    vg_detector_config_t c = {.head = "nanodet", .input_w = 64, .input_h = 64,
                              .given = VG_DETECTOR_GIVEN_HEAD | VG_DETECTOR_GIVEN_INPUT};
    char err[1024];
    cr_assert_eq(load_nanodet(&c, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "input: [64, 64]") && strstr(err, "[416, 416]"), "%s", err);
}

Test(detector, conflicting_preprocessing_is_refused)
{
    struct {
        vg_detector_config_t c;
        const char *key;
    } cases[] = {
        {{.color = "bgr", .given = VG_DETECTOR_GIVEN_COLOR}, "color: 'bgr'"},
        {{.letterbox = false, .given = VG_DETECTOR_GIVEN_LETTERBOX}, "letterbox: false"},
        {{.scale = {1, 1, 1}, .given = VG_DETECTOR_GIVEN_SCALE}, "scale: [1, 1, 1]"},
        {{.mean = {1, 2, 3}, .given = VG_DETECTOR_GIVEN_MEAN}, "mean: [1, 2, 3]"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        char err[1024];
        cr_assert_eq(load_nanodet(&cases[i].c, err, sizeof(err)), -EINVAL, "case %zu loaded", i);
        cr_assert(strstr(err, cases[i].key), "case %zu: %s", i, err);
    }
}
