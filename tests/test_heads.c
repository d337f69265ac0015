/* Head decoders (models/heads): fixed raw outputs with known boxes, NMS edge
 * cases, thresholds, mapping to the source frame, shape checks. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include "models/heads/heads.h"

#define EPS 1e-3f

static void expect_box(const vg_det_t *d, float x1, float y1, float x2, float y2)
{
    cr_expect(fabsf(d->x1 - x1) < EPS && fabsf(d->y1 - y1) < EPS && fabsf(d->x2 - x2) < EPS
                  && fabsf(d->y2 - y2) < EPS,
              "box (%g %g %g %g), want (%g %g %g %g)", d->x1, d->y1, d->x2, d->y2, x1, y1, x2, y2);
}

static vg_head_t *make(const vg_head_config_t *cfg)
{
    vg_head_t *h = NULL;
    cr_assert_eq(vg_head_new(cfg, &h), 0);
    cr_assert_not_null(h);
    return h;
}

/* ---------------------------------------------------------------- NanoDet */

/* 64x64 input, strides 8/16/32 -> 8x8, 4x4, 2x2 cells; 3 classes; 8 bins. */
#define ND_C 3
#define ND_B 8
static float nd_cls[3][64 * ND_C], nd_box[3][64 * 4 * ND_B];

static void nd_setup(vg_head_tensor_t *t)
{
    memset(nd_cls, 0, sizeof(nd_cls));
    memset(nd_box, 0, sizeof(nd_box));
    const int cells[3] = {64, 16, 4};
    for (int l = 0; l < 3; l++) {
        t[2 * l] = (vg_head_tensor_t){nd_cls[l], 3, {1, cells[l], ND_C}};
        t[2 * l + 1] = (vg_head_tensor_t){nd_box[l], 3, {1, cells[l], 4 * ND_B}};
    }
}

/* one-hot bins: side s of location i at level l has distance `bin` bins */
static void nd_bins(int l, int i, const int bins[4])
{
    for (int s = 0; s < 4; s++)
        for (int b = 0; b < ND_B; b++)
            nd_box[l][(i * 4 + s) * ND_B + b] = b == bins[s] ? 30.0f : 0.0f;
}

static vg_head_config_t nd_config(vg_head_gfl_t gfl)
{
    return (vg_head_config_t){
        .kind = VG_HEAD_NANODET, .input_w = 64, .input_h = 64, .num_classes = ND_C,
        .threshold = 0.5f, .nms_iou = 0.5f, .num_levels = 3, .strides = {8, 16, 32},
        .reg_max = ND_B - 1, .gfl = gfl,
    };
}

Test(heads, nanodet_known_boxes)
{
    vg_head_tensor_t t[6];
    nd_setup(t);
    /* stride 8, cell (3, 2): class 1 at 0.9, distances 2,2,2,2 bins = 16 px */
    int i = 2 * 8 + 3;
    nd_cls[0][i * ND_C + 1] = 0.9f;
    nd_bins(0, i, (int[]){2, 2, 2, 2});
    /* stride 32, cell (1, 0): class 0 at 0.6, distances l1 t0 r1 b2 */
    nd_cls[2][1 * ND_C + 0] = 0.6f;
    nd_bins(2, 1, (int[]){1, 0, 1, 2});
    /* below threshold: ignored */
    nd_cls[1][5 * ND_C + 2] = 0.49f;
    nd_bins(1, 5, (int[]){1, 1, 1, 1});

    for (int mode = 0; mode < 2; mode++) {
        vg_head_config_t cfg = nd_config(mode ? VG_HEAD_GFL_ARGMAX : VG_HEAD_GFL_EXPECTATION);
        vg_head_t *h = make(&cfg);
        vg_det_t d[8];
        int n = vg_head_decode(h, t, 6, NULL, d, 8);
        cr_assert_eq(n, 2, "mode %d: %d detections", mode, n);
        /* centre (3.5*8, 2.5*8) = (28, 20) */
        cr_expect_eq(d[0].label, 1);
        cr_expect_float_eq(d[0].score, 0.9f, 1e-6);
        expect_box(&d[0], 12, 4, 44, 36);
        /* centre (1.5*32, 0.5*32) = (48, 16) */
        cr_expect_eq(d[1].label, 0);
        expect_box(&d[1], 16, 16, 80, 80);
        vg_head_free(&h);
        cr_expect_null(h);
    }
}

Test(heads, nanodet_expectation_vs_argmax)
{
    vg_head_tensor_t t[6];
    nd_setup(t);
    int i = 0; /* cell (0, 0) of stride 8: centre (4, 4) */
    nd_cls[0][0] = 0.8f;
    /* every side: equal logits on bins 1 and 3 -> expectation 2, arg-max 1 (first) */
    for (int s = 0; s < 4; s++)
        for (int b = 0; b < ND_B; b++)
            nd_box[0][(i * 4 + s) * ND_B + b] = (b == 1 || b == 3) ? 20.0f : -20.0f;
    vg_det_t d[4];
    vg_head_config_t cfg = nd_config(VG_HEAD_GFL_EXPECTATION);
    vg_head_t *h = make(&cfg);
    cr_assert_eq(vg_head_decode(h, t, 6, NULL, d, 4), 1);
    expect_box(&d[0], 4 - 16, 4 - 16, 4 + 16, 4 + 16);
    vg_head_free(&h);
    cfg = nd_config(VG_HEAD_GFL_ARGMAX);
    h = make(&cfg);
    cr_assert_eq(vg_head_decode(h, t, 6, NULL, d, 4), 1);
    expect_box(&d[0], 4 - 8, 4 - 8, 4 + 8, 4 + 8);
    vg_head_free(&h);
}

Test(heads, nanodet_nms_and_label_thresholds)
{
    vg_head_tensor_t t[6];
    nd_setup(t);
    /* two neighbouring cells of stride 8 with the same big box: one survives */
    for (int k = 0; k < 2; k++) {
        int i = 3 * 8 + 3 + k;
        nd_cls[0][i * ND_C + 0] = k ? 0.7f : 0.8f;
        nd_bins(0, i, (int[]){3, 3, 3, 3});
    }
    /* same place, class 2 at 0.6: another class, kept unless its own threshold says no */
    nd_cls[0][(3 * 8 + 3) * ND_C + 2] = 0.6f;
    vg_head_config_t cfg = nd_config(VG_HEAD_GFL_EXPECTATION);
    vg_head_t *h = make(&cfg);
    vg_det_t d[8];
    int n = vg_head_decode(h, t, 6, NULL, d, 8);
    cr_assert_eq(n, 2);
    cr_expect_eq(d[0].label, 0);
    cr_expect_float_eq(d[0].score, 0.8f, 1e-6);
    cr_expect_eq(d[1].label, 2);
    vg_head_stats_t st;
    vg_head_stats(h, &st);
    cr_expect_eq(st.candidates, 3);
    cr_expect_eq(st.kept, 2);
    vg_head_free(&h);

    float lt[ND_C] = {-1.0f, -1.0f, 0.65f}; /* class 2 needs 0.65 */
    cfg.label_thresholds = lt;
    h = make(&cfg);
    n = vg_head_decode(h, t, 6, NULL, d, 8);
    cr_assert_eq(n, 1);
    cr_expect_eq(d[0].label, 0);
    vg_head_free(&h);

    /* no NMS: all three */
    cfg.label_thresholds = NULL;
    cfg.nms_iou = 0.0f;
    h = make(&cfg);
    cr_expect_eq(vg_head_decode(h, t, 6, NULL, d, 8), 3);
    /* max_dets smaller than what is kept: best first, the rest counted */
    cr_expect_eq(vg_head_decode(h, t, 6, NULL, d, 1), 1);
    cr_expect_float_eq(d[0].score, 0.8f, 1e-6);
    vg_head_stats(h, &st);
    cr_expect_eq(st.truncated, 2);
    vg_head_free(&h);
}

Test(heads, nanodet_logit_scores)
{
    vg_head_tensor_t t[6];
    nd_setup(t);
    for (size_t k = 0; k < sizeof(nd_cls) / sizeof(float); k++)
        ((float *)nd_cls)[k] = -10.0f;
    nd_cls[1][0 * ND_C + 1] = logf(0.75f / 0.25f); /* sigmoid -> 0.75 */
    nd_bins(1, 0, (int[]){1, 1, 1, 1});
    vg_head_config_t cfg = nd_config(VG_HEAD_GFL_EXPECTATION);
    cfg.scores = VG_HEAD_SCORE_LOGIT;
    vg_head_t *h = make(&cfg);
    vg_det_t d[2];
    cr_assert_eq(vg_head_decode(h, t, 6, NULL, d, 2), 1);
    cr_expect_float_eq(d[0].score, 0.75f, 1e-5);
    expect_box(&d[0], 8 - 16, 8 - 16, 8 + 16, 8 + 16);
    vg_head_free(&h);
}

Test(heads, shape_mismatch_is_refused)
{
    vg_head_tensor_t t[6];
    nd_setup(t);
    vg_head_config_t cfg = nd_config(VG_HEAD_GFL_EXPECTATION);
    vg_head_t *h = make(&cfg);
    char err[160];
    cr_expect_eq(vg_head_check(h, t, 6, err, sizeof(err)), 0);
    cr_expect_eq(vg_head_check(h, t, 5, err, sizeof(err)), -EINVAL);
    cr_expect(strstr(err, "nanodet") != NULL, "%s", err);
    t[3].dims[2] = 44; /* 11 bins, not 8 */
    cr_expect_eq(vg_head_check(h, t, 6, err, sizeof(err)), -EINVAL);
    cr_expect(strstr(err, "output 3") != NULL, "%s", err);
    vg_det_t d[2] = {{1, 2, 3, 4, 0.5f, 7}};
    cr_expect_eq(vg_head_decode(h, t, 6, NULL, d, 2), -EINVAL);
    cr_expect_eq(d[0].label, 7, "dets untouched on failure");
    vg_head_free(&h);

    /* bad configs */
    vg_head_t *x = NULL;
    cfg.threshold = 1.5f;
    cr_expect_eq(vg_head_new(&cfg, &x), -EINVAL);
    cfg = nd_config(VG_HEAD_GFL_EXPECTATION);
    cfg.num_levels = 0;
    cr_expect_eq(vg_head_new(&cfg, &x), -EINVAL);
    cfg = nd_config(VG_HEAD_GFL_EXPECTATION);
    cfg.num_classes = 0;
    cr_expect_eq(vg_head_new(&cfg, &x), -EINVAL);
    cr_expect_null(x);
    vg_head_free(NULL);
    vg_head_free(&x);
}

/* ---------------------------------------------------------------- NMS */

Test(heads, nms_identical_boxes_same_class)
{
    vg_det_t d[3] = {
        {10, 10, 50, 50, 0.6f, 0}, {10, 10, 50, 50, 0.9f, 0}, {10, 10, 50, 50, 0.7f, 0},
    };
    int s[6];
    cr_assert_eq(vg_head_nms(d, 3, 0.5f, s), 1);
    cr_expect_float_eq(d[0].score, 0.9f, 1e-6);
}

Test(heads, nms_different_classes_kept)
{
    vg_det_t d[2] = {{10, 10, 50, 50, 0.6f, 0}, {10, 10, 50, 50, 0.9f, 1}};
    int s[4];
    cr_assert_eq(vg_head_nms(d, 2, 0.5f, s), 2);
    cr_expect_eq(d[0].label, 1);
    cr_expect_eq(d[1].label, 0);
}

Test(heads, nms_zero_area_dropped)
{
    vg_det_t d[4] = {
        {10, 10, 10, 50, 0.9f, 0}, /* zero width */
        {10, 10, 50, 10, 0.8f, 0}, /* zero height */
        {50, 50, 10, 10, 0.7f, 0}, /* inverted */
        {0, 0, 5, 5, 0.1f, 0},
    };
    int s[8];
    cr_assert_eq(vg_head_nms(d, 4, 0.5f, s), 1);
    expect_box(&d[0], 0, 0, 5, 5);
    vg_det_t z = {10, 10, 10, 50, 0.9f, 0};
    cr_expect_float_eq(vg_head_iou(&z, &z), 0.0f, 1e-9, "a box without area overlaps nothing");
}

Test(heads, nms_score_ties_are_deterministic)
{
    /* equal scores: lower label first, then input order; overlap at IoU 0.6 */
    vg_det_t d[4] = {
        {0, 0, 10, 10, 0.5f, 3}, {0, 0, 10, 10, 0.5f, 1}, {2, 0, 12, 10, 0.5f, 1}, {0, 0, 10, 10, 0.5f, 1},
    };
    int s[8];
    int n = vg_head_nms(d, 4, 0.5f, s);
    cr_assert_eq(n, 2);
    cr_expect_eq(d[0].label, 1);
    expect_box(&d[0], 0, 0, 10, 10); /* input #1 wins over #2 (IoU 8/12 > 0.5) and #3 (same) */
    cr_expect_eq(d[1].label, 3);
}

Test(heads, nms_threshold_is_strict)
{
    /* IoU exactly 0.5 (two 10x10 boxes overlapping on 20/3 ... use a clean case):
     * boxes [0,10]x[0,10] and [0,10]x[0,30]: inter 100, union 300 -> 1/3 */
    vg_det_t d[2] = {{0, 0, 10, 10, 0.9f, 0}, {0, 0, 10, 30, 0.8f, 0}};
    int s[4];
    cr_expect_float_eq(vg_head_iou(&d[0], &d[1]), 1.0f / 3.0f, 1e-6);
    cr_expect_eq(vg_head_nms(d, 2, 1.0f / 3.0f, s), 2, "IoU == threshold is not suppressed");
    vg_det_t e[2] = {{0, 0, 10, 10, 0.9f, 0}, {0, 0, 10, 30, 0.8f, 0}};
    cr_expect_eq(vg_head_nms(e, 2, 0.33f, s), 1);
}

Test(heads, candidate_overflow_keeps_the_best)
{
    /* 64 locations of stride 8, all class 0, scores rising with the index, far
     * apart boxes (tiny) so NMS keeps them all; scratch for 8 candidates */
    vg_head_tensor_t t[6];
    nd_setup(t);
    for (int i = 0; i < 64; i++) {
        nd_cls[0][i * ND_C] = 0.5f + 0.005f * i;
        nd_bins(0, i, (int[]){0, 0, 1, 1});
    }
    vg_head_config_t cfg = nd_config(VG_HEAD_GFL_EXPECTATION);
    cfg.max_candidates = 8;
    vg_head_t *h = make(&cfg);
    vg_det_t d[64];
    int n = vg_head_decode(h, t, 6, NULL, d, 64);
    vg_head_stats_t st;
    vg_head_stats(h, &st);
    cr_expect_eq(st.candidates, 64);
    cr_expect_eq(st.dropped, 64 - n);
    cr_assert(n >= 4 && n <= 8, "%d kept", n);
    for (int k = 0; k < n; k++)
        cr_expect_float_eq(d[k].score, 0.5f + 0.005f * (63 - k), 1e-6, "rank %d is the %d-th best", k, k);
    vg_head_free(&h);
}

/* ---------------------------------------------------------------- YOLO */

Test(heads, yolov5_objectness_times_class)
{
    float out[3][5 + 4] = {
        {100, 50, 40, 20, 0.8f, 0.1f, 0.1f, 0.9f, 0.0f}, /* 0.72 class 2 */
        {100, 52, 40, 20, 0.4f, 0.0f, 0.0f, 1.0f, 0.0f}, /* obj below 0.5 */
        {10, 10, 8, 8, 0.95f, 0.0f, 0.6f, 0.0f, 0.0f},   /* 0.57 class 1 */
    };
    vg_head_tensor_t t = {&out[0][0], 3, {1, 3, 9}};
    vg_head_config_t cfg = {.kind = VG_HEAD_YOLOV5, .input_w = 640, .input_h = 640, .num_classes = 4,
                            .threshold = 0.5f, .nms_iou = 0.45f};
    vg_head_t *h = make(&cfg);
    vg_det_t d[4];
    cr_assert_eq(vg_head_decode(h, &t, 1, NULL, d, 4), 2);
    cr_expect_eq(d[0].label, 2);
    cr_expect_float_eq(d[0].score, 0.72f, 1e-6);
    expect_box(&d[0], 80, 40, 120, 60);
    cr_expect_eq(d[1].label, 1);
    expect_box(&d[1], 6, 6, 14, 14);
    t.dims[2] = 8;
    cr_expect_eq(vg_head_check(h, &t, 1, NULL, 0), -EINVAL);
    vg_head_free(&h);
}

Test(heads, yolov8_transposed_layout)
{
    enum { N = 5, C = 3 };
    float out[(4 + C) * N] = {0};
    /* anchor 3: cx 200 cy 100 w 50 h 30, class 1 at 0.66 */
    out[0 * N + 3] = 200, out[1 * N + 3] = 100, out[2 * N + 3] = 50, out[3 * N + 3] = 30;
    out[(4 + 1) * N + 3] = 0.66f;
    /* anchor 4: overlapping, same class, lower: suppressed */
    out[0 * N + 4] = 202, out[1 * N + 4] = 100, out[2 * N + 4] = 50, out[3 * N + 4] = 30;
    out[(4 + 1) * N + 4] = 0.6f;
    /* anchor 0: class 2 at 0.3 below threshold */
    out[0] = 10, out[N] = 10, out[2 * N] = 5, out[3 * N] = 5, out[(4 + 2) * N] = 0.3f;
    vg_head_tensor_t t = {out, 3, {1, 4 + C, N}};
    vg_head_config_t cfg = {.kind = VG_HEAD_YOLOV8, .input_w = 640, .input_h = 640, .num_classes = C,
                            .threshold = 0.4f, .nms_iou = 0.5f};
    vg_head_t *h = make(&cfg);
    vg_det_t d[4];
    cr_assert_eq(vg_head_decode(h, &t, 1, NULL, d, 4), 1);
    cr_expect_eq(d[0].label, 1);
    expect_box(&d[0], 175, 85, 225, 115);
    vg_head_free(&h);
}

/* ---------------------------------------------------------------- SSD */

Test(heads, ssd_center_variance_with_background)
{
    vg_head_anchor_t an[2] = {{50, 50, 20, 40}, {150, 150, 30, 30}};
    /* scores: background + 2 classes, softmax logits */
    float sc[2 * 3] = {0, 5, 0, /* class 0 wins */ 5, 0, 0 /* background */};
    /* tx ty tw th: cx = 50 + 1*0.1*20 = 52, cy = 50 + (-1)*0.1*40 = 46,
     * w = 20*exp(0.2*ln2/0.2) = 40, h = 40 */
    float bx[2 * 4] = {1, -1, logf(2.0f) / 0.2f, 0, 0, 0, 0, 0};
    vg_head_tensor_t t[2] = {{sc, 3, {1, 2, 3}}, {bx, 3, {1, 2, 4}}};
    vg_head_config_t cfg = {.kind = VG_HEAD_SSD, .input_w = 300, .input_h = 300, .num_classes = 2,
                            .threshold = 0.5f, .nms_iou = 0.5f, .scores = VG_HEAD_SCORE_SOFTMAX,
                            .num_levels = 1, .anchors = an, .num_anchors = 2, .ssd_background = true};
    vg_head_t *h = make(&cfg);
    vg_det_t d[4];
    cr_assert_eq(vg_head_decode(h, t, 2, NULL, d, 4), 1);
    cr_expect_eq(d[0].label, 0);
    cr_expect_float_eq(d[0].score, expf(5) / (expf(5) + 2), 1e-5);
    expect_box(&d[0], 52 - 20, 46 - 20, 52 + 20, 46 + 20);
    vg_head_free(&h);
    /* y-first raw order (TF object detection API) */
    float bxy[2 * 4] = {-1, 1, 0, logf(2.0f) / 0.2f, 0, 0, 0, 0};
    t[1].data = bxy;
    cfg.ssd_yx = true;
    h = make(&cfg);
    cr_assert_eq(vg_head_decode(h, t, 2, NULL, d, 4), 1);
    expect_box(&d[0], 52 - 20, 46 - 20, 52 + 20, 46 + 20);
    vg_head_free(&h);
}

Test(heads, blazeface_anchors_and_pixel_offsets)
{
    static vg_head_anchor_t an[896];
    int n = vg_head_anchors_grid(256, 256, (int[]){16, 32}, (int[]){2, 6}, 2, 1.0f, an, 896);
    cr_assert_eq(n, 896);
    cr_expect_float_eq(an[0].cx, 8.0f, 1e-6);
    cr_expect_float_eq(an[1].cx, 8.0f, 1e-6);
    cr_expect_float_eq(an[2].cx, 24.0f, 1e-6);
    cr_expect_float_eq(an[512].cx, 16.0f, 1e-6);
    cr_expect_float_eq(an[895].cy, 240.0f, 1e-6);
    /* groups as the converted blazeface: scores 512, scores 384, boxes 512, boxes 384 */
    static float s0[512], s1[384], b0[512 * 16], b1[384 * 16];
    for (int i = 0; i < 512; i++)
        s0[i] = -20;
    for (int i = 0; i < 384; i++)
        s1[i] = -20;
    /* anchor 512 + 7: cell (1, 0) of the stride-32 grid, centre (48, 16) */
    s1[7] = 2.0f;
    b1[7 * 16 + 0] = 4, b1[7 * 16 + 1] = -2, b1[7 * 16 + 2] = 30, b1[7 * 16 + 3] = 20;
    vg_head_tensor_t t[4] = {{s0, 3, {1, 512, 1}}, {s1, 3, {1, 384, 1}}, {b0, 3, {1, 512, 16}}, {b1, 3, {1, 384, 16}}};
    vg_head_config_t cfg = {.kind = VG_HEAD_SSD, .input_w = 256, .input_h = 256, .num_classes = 1,
                            .threshold = 0.75f, .nms_iou = 0.3f, .scores = VG_HEAD_SCORE_LOGIT,
                            .num_levels = 2, .anchors = an, .num_anchors = 896,
                            .ssd_encoding = VG_HEAD_SSD_PIXEL_OFFSET};
    vg_head_t *h = make(&cfg);
    vg_det_t d[4];
    cr_assert_eq(vg_head_decode(h, t, 4, NULL, d, 4), 1);
    cr_expect_float_eq(d[0].score, 1.0f / (1.0f + expf(-2.0f)), 1e-6);
    expect_box(&d[0], 52 - 15, 14 - 10, 52 + 15, 14 + 10);
    vg_head_free(&h);
}

/* ---------------------------------------------------------------- CenterNet */

Test(heads, centernet_peaks)
{
    enum { C = 2, H = 8, W = 8 };
    static float hm[C * H * W], wh[2 * H * W], off[2 * H * W];
    memset(hm, 0, sizeof(hm));
    /* class 1 peak at (5, 2) with a weaker neighbour that is not a peak */
    hm[H * W + 2 * W + 5] = 0.9f;
    hm[H * W + 2 * W + 6] = 0.8f;
    wh[2 * W + 5] = 4, wh[H * W + 2 * W + 5] = 2;
    off[2 * W + 5] = 0.5f, off[H * W + 2 * W + 5] = 0.25f;
    /* class 0: a weak peak below threshold */
    hm[7 * W + 7] = 0.2f;
    vg_head_tensor_t t[3] = {{hm, 4, {1, C, H, W}}, {wh, 4, {1, 2, H, W}}, {off, 4, {1, 2, H, W}}};
    vg_head_config_t cfg = {.kind = VG_HEAD_CENTERNET, .input_w = 32, .input_h = 32, .num_classes = C,
                            .threshold = 0.3f, .nms_iou = 0.0f, .output_stride = 4};
    vg_head_t *h = make(&cfg);
    vg_det_t d[4];
    cr_assert_eq(vg_head_decode(h, t, 3, NULL, d, 4), 1);
    cr_expect_eq(d[0].label, 1);
    /* centre ((5.5)*4, (2.25)*4) = (22, 9), size (16, 8) */
    expect_box(&d[0], 14, 5, 30, 13);
    vg_head_free(&h);
}

Test(heads, centernet_ltrb_distances)
{
    enum { C = 2, H = 8, W = 8 };
    static float hm[C * H * W], d[4 * H * W];
    memset(hm, 0, sizeof(hm));
    /* class 0 peak at (3, 5): distances l 6, t 2, r 10, b 4 from (12, 20) */
    hm[5 * W + 3] = 0.7f;
    d[5 * W + 3] = 6, d[H * W + 5 * W + 3] = 2, d[2 * H * W + 5 * W + 3] = 10, d[3 * H * W + 5 * W + 3] = 4;
    vg_head_tensor_t t[2] = {{hm, 4, {1, C, H, W}}, {d, 4, {1, 4, H, W}}};
    vg_head_config_t cfg = {.kind = VG_HEAD_CENTERNET, .input_w = 32, .input_h = 32, .num_classes = C,
                            .threshold = 0.3f, .nms_iou = 0.5f, .output_stride = 4, .centernet_ltrb = true};
    vg_head_t *h = make(&cfg);
    vg_det_t out[4];
    cr_assert_eq(vg_head_decode(h, t, 2, NULL, out, 4), 1);
    cr_expect_eq(out[0].label, 0);
    expect_box(&out[0], 6, 18, 22, 24);
    char err[128];
    cr_expect_eq(vg_head_check(h, t, 1, err, sizeof(err)), -EINVAL);
    vg_head_free(&h);
}

/* ---------------------------------------------------------------- classifier */

Test(heads, classifier_top1)
{
    float logits[7] = {0, 0, 0, 3, 0, 1, 0};
    vg_head_tensor_t t = {logits, 2, {1, 7}};
    vg_head_config_t cfg = {.kind = VG_HEAD_CLASSIFIER, .input_w = 64, .input_h = 64, .num_classes = 7,
                            .threshold = 0.3f, .scores = VG_HEAD_SCORE_SOFTMAX};
    vg_head_t *h = make(&cfg);
    vg_det_t d[2];
    cr_assert_eq(vg_head_decode(h, &t, 1, NULL, d, 2), 1);
    cr_expect_eq(d[0].label, 3);
    float z = expf(3) + expf(1) + 5;
    cr_expect_float_eq(d[0].score, expf(3) / z, 1e-6);
    expect_box(&d[0], 0, 0, 64, 64);
    vg_head_free(&h);
    /* probabilities, top-1 below threshold: nothing */
    float p[7] = {0.2f, 0.2f, 0.2f, 0.1f, 0.1f, 0.1f, 0.1f};
    t.data = p;
    cfg.scores = VG_HEAD_SCORE_PROB;
    h = make(&cfg);
    cr_expect_eq(vg_head_decode(h, &t, 1, NULL, d, 2), 0);
    vg_head_free(&h);
}

/* ---------------------------------------------------------------- mapping */

Test(heads, letterbox_and_stretch_mapping)
{
    vg_head_xform_t xf;
    vg_head_xform_letterbox(768, 576, 416, 416, &xf);
    cr_expect_float_eq(xf.scale_x, 416.0f / 768.0f, 1e-6);
    cr_expect_float_eq(xf.scale_y, 312.0f / 576.0f, 1e-6);
    cr_expect_float_eq(xf.pad_x, 0.0f, 1e-6);
    cr_expect_float_eq(xf.pad_y, 52.0f, 1e-6);

    /* a YOLOv5 box at model (208, 208) 104x52 -> source centre (384, 288) */
    float out[1][5 + 1] = {{208, 208, 104, 52, 0.9f, 1.0f}};
    vg_head_tensor_t t = {&out[0][0], 3, {1, 1, 6}};
    vg_head_config_t cfg = {.kind = VG_HEAD_YOLOV5, .input_w = 416, .input_h = 416, .num_classes = 1,
                            .threshold = 0.5f, .nms_iou = 0.5f};
    vg_head_t *h = make(&cfg);
    vg_det_t d[2];
    cr_assert_eq(vg_head_decode(h, &t, 1, &xf, d, 2), 1);
    expect_box(&d[0], 384 - 96, 288 - 48, 384 + 96, 288 + 48);

    /* a box reaching into the border is clamped to the frame */
    out[0][1] = 52;
    cr_assert_eq(vg_head_decode(h, &t, 1, &xf, d, 2), 1);
    cr_expect_float_eq(d[0].y1, 0.0f, 1e-6);
    /* a box wholly in the border is dropped */
    out[0][1] = 20, out[0][3] = 20;
    cr_expect_eq(vg_head_decode(h, &t, 1, &xf, d, 2), 0);

    vg_head_xform_stretch(768, 576, 416, 416, &xf);
    out[0][1] = 208, out[0][3] = 52;
    cr_assert_eq(vg_head_decode(h, &t, 1, &xf, d, 2), 1);
    expect_box(&d[0], 384 - 96, 288 - 36, 384 + 96, 288 + 36);
    vg_head_free(&h);
}

Test(heads, kind_names)
{
    vg_head_kind_t k;
    cr_expect_eq(vg_head_kind_parse("nanodet", &k), 0);
    cr_expect_eq(k, VG_HEAD_NANODET);
    cr_expect_eq(vg_head_kind_parse("yolov8", &k), 0);
    cr_expect_eq(k, VG_HEAD_YOLOV8);
    cr_expect_eq(vg_head_kind_parse("classifier", &k), 0);
    cr_expect_eq(k, VG_HEAD_CLASSIFIER);
    cr_expect_eq(vg_head_kind_parse("yolo", &k), -EINVAL);
}

/* ---------------------------------------------------------------- manifests, labels */

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "models/heads/manifest.h"

static char *write_tmp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/vg_manifest_XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

Test(heads, manifest_nanodet)
{
    const char *j = "{\"name\": \"nanodet\", \"onnx\": \"nanodet.onnx\", \"head\": \"nanodet\","
                    " \"input\": [416, 416], \"colour\": \"rgb\", \"mean\": [0, 0, 0],"
                    " \"scale\": [0.00392156862745098, 0.00392156862745098, 0.00392156862745098],"
                    " \"resize\": \"letterbox\", \"pad\": 114, \"labels\": \"coco80.txt\", \"strides\": [8, 16, 32],"
                    " \"reg_max\": 10, \"class_scores\": \"probability\", \"threshold\": 0.35, \"nms_iou\": 0.6,"
                    " \"layout\": \"NCHW\", \"outputs\": [{\"name\": \"Identity\", \"shape\": [1, 2704, 80]},"
                    " {\"name\": \"Identity_3\", \"shape\": [1, 2704, 44]}]}";
    char *path = write_tmp(j);
    vg_manifest_t *m = NULL;
    char err[256] = "";
    cr_assert_eq(vg_manifest_load(path, &m, err, sizeof(err)), 0, "%s", err);
    unlink(path);
    cr_expect_eq(m->input_w, 416);
    cr_expect(m->nchw && m->letterbox);
    cr_expect_float_eq(m->pad, 114.0f, 1e-6);
    cr_expect_eq(m->channels, 3);
    cr_expect_float_eq(m->scale[2], 1.0f / 255.0f, 1e-7);
    cr_expect_str_eq(m->labels, "coco80.txt");
    cr_expect_eq(m->head.kind, VG_HEAD_NANODET);
    cr_expect_eq(m->head.num_classes, 80);
    cr_expect_eq(m->head.num_levels, 3);
    cr_expect_eq(m->head.strides[2], 32);
    cr_expect_eq(m->head.reg_max, 10);
    cr_expect_float_eq(m->head.threshold, 0.35f, 1e-6);
    cr_expect_eq(m->n_outputs, 2);
    cr_expect_eq(m->output_dims[1][2], 44);
    vg_head_t *h = NULL;
    cr_expect_eq(vg_head_new(&m->head, &h), 0);
    vg_head_free(&h);
    vg_manifest_free(&m);
    cr_expect_null(m);
}

Test(heads, manifest_blazeface_and_errors)
{
    const char *j = "{\"name\": \"blazeface\", \"onnx\": \"b.onnx\", \"head\": \"blazeface\", \"input\": [256, 256],"
                    " \"colour\": \"rgb\", \"mean\": [127.5], \"scale\": [0.0078431], \"resize\": \"stretch\","
                    " \"class_scores\": \"logit\", \"threshold\": 0.75, \"nms_iou\": 0.3, \"layout\": \"NCHW\","
                    " \"anchors\": {\"strides\": [16, 32], \"per_cell\": [2, 6]},"
                    " \"outputs\": [{\"name\": \"a\", \"shape\": [1, 512, 1]}]}";
    char *path = write_tmp(j);
    vg_manifest_t *m = NULL;
    char err[256] = "";
    cr_assert_eq(vg_manifest_load(path, &m, err, sizeof(err)), 0, "%s", err);
    unlink(path);
    cr_expect_eq(m->head.kind, VG_HEAD_SSD);
    cr_expect_eq(m->head.num_anchors, 896);
    cr_expect_eq(m->head.scores, VG_HEAD_SCORE_LOGIT);
    cr_expect_eq(m->head.ssd_encoding, VG_HEAD_SSD_PIXEL_OFFSET);
    cr_expect(!m->letterbox);
    cr_expect_float_eq(m->mean[1], 127.5f, 1e-6, "one value serves every channel");
    vg_manifest_free(&m);

    path = write_tmp("{\"name\": \"x\", \"onnx\": \"x.onnx\", \"head\": \"yolov9\", \"input\": [64, 64],"
                     " \"colour\": \"rgb\", \"mean\": [0], \"scale\": [1], \"layout\": \"NCHW\","
                     " \"outputs\": [{\"name\": \"o\", \"shape\": [1, 10]}]}");
    cr_expect_eq(vg_manifest_load(path, &m, err, sizeof(err)), -EINVAL);
    cr_expect(strstr(err, "yolov9") != NULL, "%s", err);
    cr_expect_null(m);
    unlink(path);
    path = write_tmp("{\"name\": \"x\", \"onnx\": \"x.onnx\", \"head\": \"classifier\", \"input\": [64],");
    cr_expect_eq(vg_manifest_load(path, &m, err, sizeof(err)), -EINVAL);
    cr_expect(strstr(err, path) != NULL, "the message names the file: %s", err);
    unlink(path);
    cr_expect_eq(vg_manifest_load("/nonexistent/m.json", &m, err, sizeof(err)), -ENOENT);
}

Test(heads, labels_files)
{
    vg_labels_t *l = NULL;
    cr_assert_eq(vg_labels_load(VIGIL_SOURCE_DIR "/models/labels/coco80.txt", &l), 0);
    cr_expect_eq(l->n, 80);
    cr_expect_str_eq(l->names[0], "person");
    cr_expect_str_eq(l->names[2], "car");
    cr_expect_str_eq(l->names[9], "traffic light");
    cr_expect_str_eq(l->names[79], "toothbrush");
    vg_labels_free(&l);
    cr_assert_eq(vg_labels_load(VIGIL_SOURCE_DIR "/models/labels/emotion7.txt", &l), 0);
    cr_expect_eq(l->n, 7);
    cr_expect_str_eq(l->names[3], "happy");
    vg_labels_free(&l);
    cr_expect_null(l);
    cr_expect_eq(vg_labels_load("/nonexistent/labels.txt", &l), -ENOENT);
}

/* ---------------------------------------------------------------- real models (e2e) */

/* The fixture (tests/test_convert_fixtures.py, run by ctest before this
 * suite) ran the converted models on real images and decoded them with an
 * independent numpy decoder; here the C heads decode the same raw outputs. */

#include "models/engine/npy.h"

typedef struct {
    char name[64];
    vg_det_t det[64];
    int n;
} real_case_t;

static const char *fixture_dir(void)
{
    static char dir[512];
    const char *b = getenv("VIGIL_BUILD_DIR");
    snprintf(dir, sizeof(dir), "%s/heads_real", b ? b : ".");
    return dir;
}

/* reads "label score x1 y1 x2 y2" lines; false when the file does not exist */
static bool read_dets(const char *name, const char *file, real_case_t *out)
{
    char path[768];
    snprintf(path, sizeof(path), "%s/%s/%s", fixture_dir(), name, file);
    FILE *f = fopen(path, "r");
    out->n = 0;
    if (!f)
        return false;
    vg_det_t d;
    while (out->n < 64 && fscanf(f, "%d %f %f %f %f %f", &d.label, &d.score, &d.x1, &d.y1, &d.x2, &d.y2) == 6)
        out->det[out->n++] = d;
    fclose(f);
    return true;
}

/* decodes case `name` with the C head; also reads expected.txt into exp */
static int decode_case(const char *name, const char *manifest, int nout, real_case_t *got, real_case_t *exp)
{
    char path[768], err[256] = "";
    vg_manifest_t *m = NULL;
    cr_assert_eq(vg_manifest_load(manifest, &m, err, sizeof(err)), 0, "%s", err);
    vg_head_t *h = NULL;
    cr_assert_eq(vg_head_new(&m->head, &h), 0, "%s", name);
    vg_npy_t *arr[VG_HEAD_MAX_OUTPUTS];
    vg_head_tensor_t t[VG_HEAD_MAX_OUTPUTS];
    cr_assert_eq(nout, m->n_outputs);
    for (int i = 0; i < nout; i++) {
        int n = 0;
        snprintf(path, sizeof(path), "%s/%s/out%d.npy", fixture_dir(), name, i);
        cr_assert_eq(vg_npy_read(path, &arr[i], &n, err, sizeof(err)), 0, "%s", err);
        t[i].data = arr[i]->data;
        t[i].ndim = arr[i]->ndim;
        for (int k = 0; k < arr[i]->ndim && k < 4; k++)
            t[i].dims[k] = (int)arr[i]->dims[k];
    }
    cr_assert_eq(vg_head_check(h, t, nout, err, sizeof(err)), 0, "%s: %s", name, err);
    snprintf(got->name, sizeof(got->name), "%s", name);
    got->n = vg_head_decode(h, t, nout, NULL, got->det, 64);
    cr_assert(got->n >= 0);
    for (int i = 0; i < nout; i++)
        vg_npy_free(arr[i], 1);
    vg_head_free(&h);
    vg_manifest_free(&m);

    read_dets(name, "expected.txt", exp);
    return got->n;
}

/* the model's own decoder (TF.js, no NMS) against the C head without NMS */
static void check_against_tfjs(const char *name, const char *manifest, int nout)
{
    real_case_t tfjs, got;
    if (!read_dets(name, "expected_tfjs.txt", &tfjs))
        return;
    char path[768], err[256] = "";
    vg_manifest_t *m = NULL;
    cr_assert_eq(vg_manifest_load(manifest, &m, err, sizeof(err)), 0, "%s", err);
    m->head.nms_iou = 0.0f;
    vg_head_t *h = NULL;
    cr_assert_eq(vg_head_new(&m->head, &h), 0);
    vg_npy_t *arr[VG_HEAD_MAX_OUTPUTS];
    vg_head_tensor_t t[VG_HEAD_MAX_OUTPUTS];
    for (int i = 0; i < nout; i++) {
        int n = 0;
        snprintf(path, sizeof(path), "%s/%s/out%d.npy", fixture_dir(), name, i);
        cr_assert_eq(vg_npy_read(path, &arr[i], &n, err, sizeof(err)), 0, "%s", err);
        t[i] = (vg_head_tensor_t){arr[i]->data, arr[i]->ndim, {0}};
        for (int k = 0; k < arr[i]->ndim && k < 4; k++)
            t[i].dims[k] = (int)arr[i]->dims[k];
    }
    got.n = vg_head_decode(h, t, nout, NULL, got.det, 64);
    cr_expect_eq(got.n, tfjs.n, "%s: C head %d peaks above threshold, the model's TF.js decoder %d", name, got.n,
                 tfjs.n);
    for (int i = 0; i < tfjs.n; i++) {
        bool found = false;
        for (int j = 0; j < got.n && !found; j++)
            found = got.det[j].label == tfjs.det[i].label && fabsf(got.det[j].score - tfjs.det[i].score) < 1e-3f
                    && vg_head_iou(&got.det[j], &tfjs.det[i]) > 0.99f;
        cr_expect(found, "%s: TF.js detection %d (label %d score %g) has no C twin", name, i, tfjs.det[i].label,
                  tfjs.det[i].score);
    }
    for (int i = 0; i < nout; i++)
        vg_npy_free(arr[i], 1);
    vg_head_free(&h);
    vg_manifest_free(&m);
}

Test(heads_real, c_heads_match_numpy_decoder_on_real_outputs, .timeout = 120)
{
    char path[600], name[64], manifest[512];
    snprintf(path, sizeof(path), "%s/cases.txt", fixture_dir());
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "no fixture at %s (run through ctest)", path);
    int nout, ncases = 0, persons_min = 1000, faces = 0, happy = 0;
    vg_labels_t *emo = NULL;
    cr_assert_eq(vg_labels_load(VIGIL_SOURCE_DIR "/models/labels/emotion7.txt", &emo), 0);
    while (fscanf(f, "%63s %511s %d", name, manifest, &nout) == 3) {
        real_case_t got, exp;
        decode_case(name, manifest, nout, &got, &exp);
        check_against_tfjs(name, manifest, nout);
        cr_expect_eq(got.n, exp.n, "%s: C heads %d detections, numpy %d", name, got.n, exp.n);
        for (int i = 0; i < got.n && i < exp.n; i++) {
            cr_expect_eq(got.det[i].label, exp.det[i].label, "%s #%d", name, i);
            cr_expect(fabsf(got.det[i].score - exp.det[i].score) < 1e-4f, "%s #%d: score %g vs %g", name, i,
                      got.det[i].score, exp.det[i].score);
            float iou = vg_head_iou(&got.det[i], &exp.det[i]);
            cr_expect(iou > 0.999f, "%s #%d: IoU %g with the numpy box", name, i, iou);
        }
        int persons = 0;
        for (int i = 0; i < got.n; i++)
            persons += got.det[i].label == 0;
        if ((strncmp(name, "nanodet", 7) == 0 || strncmp(name, "centernet", 9) == 0) && persons < persons_min)
            persons_min = persons;
        if (strncmp(name, "blazeface", 9) == 0) {
            cr_expect_eq(got.n, 1, "%s: one face in each quadrant of facereg.jpg, got %d", name, got.n);
            faces += got.n;
        }
        if (strncmp(name, "emotion", 7) == 0 && got.n == 1 && strcmp(emo->names[got.det[0].label], "happy") == 0)
            happy++;
        ncases++;
    }
    fclose(f);
    vg_labels_free(&emo);
    cr_expect_eq(ncases, 14, "3 vtest frames x 2 detectors, 4 face quadrants, 4 face crops");
    cr_expect(persons_min >= 3, "every vtest frame has people walking: fewest found %d", persons_min);
    cr_expect_eq(faces, 4);
    cr_expect(happy >= 2, "the two smiling women of facereg.jpg are happy: %d", happy);
}
