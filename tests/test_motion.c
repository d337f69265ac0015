/* motion detector: synthetic frames with known changes, and real footage. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "capture/reader.h"
#include "pipeline/motion.h"
#include "vg_test_util.h"

#define W 640
#define H 480

static const vg_motion_config_t defaults = {.threshold = 25, .min_area = 0.002, .width = 320};

static void fill(uint8_t *img, uint8_t v) { memset(img, v, W * H); }

static void square(uint8_t *img, int x, int y, int size, uint8_t v)
{
    for (int j = y; j < y + size; j++)
        memset(img + (size_t)j * W + x, v, (size_t)size);
}

Test(motion, rejects_bad_config)
{
    vg_motion_t *m = NULL;
    vg_motion_config_t c = defaults;
    c.threshold = 0;
    cr_assert_eq(vg_motion_new(&c, &m), -EINVAL);
    c = defaults;
    c.width = 32;
    cr_assert_eq(vg_motion_new(&c, &m), -EINVAL);
    c = defaults;
    c.min_area = 1.5;
    cr_assert_eq(vg_motion_new(&c, &m), -EINVAL);
    cr_assert_null(m);
}

Test(motion, first_frame_seeds_then_static_scene_is_quiet)
{
    vg_motion_t *m;
    cr_assert_eq(vg_motion_new(&defaults, &m), 0);
    uint8_t *img = malloc(W * H);
    fill(img, 100);
    vg_motion_result_t r;
    cr_assert_eq(vg_motion_process(m, img, W, W, H, &r), 0);
    cr_assert(r.warming_up);
    /* +-10 of noise stays under the threshold of 25 */
    srand(1);
    for (int k = 0; k < 5; k++) {
        for (int i = 0; i < W * H; i++)
            img[i] = (uint8_t)(100 + rand() % 21 - 10);
        cr_assert_eq(vg_motion_process(m, img, W, W, H, &r), 0);
        cr_assert_not(r.warming_up);
        cr_assert_eq(r.n_boxes, 0, "noise under the threshold made %d boxes", r.n_boxes);
    }
    free(img);
    vg_motion_free(&m);
    cr_assert_null(m);
}

Test(motion, finds_a_moving_square_where_it_is)
{
    vg_motion_t *m;
    cr_assert_eq(vg_motion_new(&defaults, &m), 0);
    uint8_t *img = malloc(W * H);
    vg_motion_result_t r;
    fill(img, 60);
    vg_motion_process(m, img, W, W, H, &r);
    vg_motion_process(m, img, W, W, H, &r);
    cr_assert_eq(r.n_boxes, 0);
    square(img, 200, 120, 64, 220);
    cr_assert_eq(vg_motion_process(m, img, W, W, H, &r), 0);
    cr_assert_eq(r.n_boxes, 1, "one square, %d boxes", r.n_boxes);
    const vg_motion_box_t *b = &r.boxes[0];
    /* the 3x3 dilation on a 2x downscale widens the box by up to 2 source px
     * plus rounding on each side */
    cr_assert(abs(b->x1 - 200) <= 6 && abs(b->y1 - 120) <= 6, "box starts at %d,%d", b->x1, b->y1);
    cr_assert(abs(b->x2 - 264) <= 6 && abs(b->y2 - 184) <= 6, "box ends at %d,%d", b->x2, b->y2);
    cr_assert(r.changed > 0.01 && r.changed < 0.02, "changed share %f", r.changed);
    cr_assert(b->fill > 0.8 && b->fill <= 1.0, "a solid square fills its box (%f)", b->fill);
    free(img);
    vg_motion_free(&m);
}

Test(motion, separate_objects_make_separate_boxes_largest_first)
{
    vg_motion_t *m;
    cr_assert_eq(vg_motion_new(&defaults, &m), 0);
    uint8_t *img = malloc(W * H);
    vg_motion_result_t r;
    fill(img, 60);
    vg_motion_process(m, img, W, W, H, &r);
    square(img, 20, 20, 40, 200);
    square(img, 400, 300, 80, 200);
    vg_motion_process(m, img, W, W, H, &r);
    cr_assert_eq(r.n_boxes, 2);
    cr_assert_gt(r.boxes[0].pixels, r.boxes[1].pixels);
    cr_assert(r.boxes[0].x1 >= 390 && r.boxes[0].x1 <= 400, "largest is the 80px square");
    free(img);
    vg_motion_free(&m);
}

/* A motion mask (a flag, a clock): what changes under it is not motion;
 * the same change elsewhere still is. Pixel and 0..1 polygons alike. */
Test(motion, the_motion_mask_is_ignored)
{
    vg_polygon_t masks[2] = {
        {.n = 4, .p = {{0, 0}, {100, 0}, {100, 100}, {0, 100}}},                           /* pixels */
        {.n = 4, .normalized = true, .p = {{0.5f, 0.5f}, {1, 0.5f}, {1, 1}, {0.5f, 1}}}, /* bottom right */
    };
    vg_motion_config_t c = defaults;
    c.mask = masks;
    c.n_mask = 2;
    vg_motion_t *m;
    cr_assert_eq(vg_motion_new(&c, &m), 0);
    uint8_t *img = malloc(W * H);
    vg_motion_result_t r;
    fill(img, 60);
    vg_motion_process(m, img, W, W, H, &r);
    square(img, 20, 20, 40, 200);   /* under the pixel mask */
    square(img, 400, 300, 80, 200); /* under the normalized one */
    vg_motion_process(m, img, W, W, H, &r);
    cr_expect_eq(r.n_boxes, 0, "changes under the mask are not motion (%d boxes)", r.n_boxes);
    cr_expect_lt(r.changed, 0.001);
    square(img, 400, 50, 60, 200); /* top right: not masked */
    vg_motion_process(m, img, W, W, H, &r);
    cr_assert_eq(r.n_boxes, 1);
    cr_expect(r.boxes[0].x1 >= 390 && r.boxes[0].x1 <= 400 && r.boxes[0].y1 <= 50 && r.boxes[0].y2 >= 110);
    free(img);
    vg_motion_free(&m);
    c.n_mask = VG_MOTION_MASK_MAX + 1;
    cr_expect_eq(vg_motion_new(&c, &m), -EINVAL);
}

Test(motion, ignores_blobs_below_min_area)
{
    vg_motion_t *m;
    vg_motion_config_t c = defaults;
    c.min_area = 0.01; /* 1% of the frame */
    cr_assert_eq(vg_motion_new(&c, &m), 0);
    uint8_t *img = malloc(W * H);
    vg_motion_result_t r;
    fill(img, 60);
    vg_motion_process(m, img, W, W, H, &r);
    square(img, 100, 100, 20, 200); /* 0.13% of the frame */
    vg_motion_process(m, img, W, W, H, &r);
    cr_assert_eq(r.n_boxes, 0);
    cr_assert_gt(r.changed, 0, "the change is measured even when no box is kept");
    free(img);
    vg_motion_free(&m);
}

Test(motion, lights_switching_on_is_not_motion)
{
    vg_motion_t *m;
    cr_assert_eq(vg_motion_new(&defaults, &m), 0);
    uint8_t *img = malloc(W * H);
    vg_motion_result_t r;
    fill(img, 40);
    vg_motion_process(m, img, W, W, H, &r);
    fill(img, 200);
    vg_motion_process(m, img, W, W, H, &r);
    cr_assert(r.lightswitch);
    cr_assert_eq(r.n_boxes, 0);
    /* the background was re-seeded: the bright scene is now quiet */
    vg_motion_process(m, img, W, W, H, &r);
    cr_assert_not(r.lightswitch);
    cr_assert_eq(r.n_boxes, 0);
    free(img);
    vg_motion_free(&m);
}

Test(motion, follows_a_size_change_and_honours_linesize)
{
    vg_motion_t *m;
    cr_assert_eq(vg_motion_new(&defaults, &m), 0);
    const int w2 = 1280, h2 = 720, stride = 1344; /* padded rows, as decoders give */
    uint8_t *img = malloc((size_t)stride * h2);
    memset(img, 80, (size_t)stride * h2);
    vg_motion_result_t r;
    uint8_t *small = malloc(W * H);
    fill(small, 80);
    vg_motion_process(m, small, W, W, H, &r);
    cr_assert_eq(vg_motion_process(m, img, stride, w2, h2, &r), 0);
    cr_assert(r.warming_up, "a new size starts a new background");
    for (int j = 600; j < 700; j++)
        memset(img + (size_t)j * stride + 1100, 250, 150);
    vg_motion_process(m, img, stride, w2, h2, &r);
    cr_assert_eq(r.n_boxes, 1);
    cr_assert(r.boxes[0].x1 >= 1090 && r.boxes[0].x2 <= w2 && r.boxes[0].y2 <= h2, "box %d,%d-%d,%d",
              r.boxes[0].x1, r.boxes[0].y1, r.boxes[0].x2, r.boxes[0].y2);
    free(img);
    free(small);
    vg_motion_free(&m);
}

/* vtest.avi: people walk through a street scene in almost every frame. */
Test(motion, real_footage_people_walking, .timeout = 120)
{
    const char *path = vg_test_footage("vtest.avi");
    const vg_reader_config_t rc = {.url = path, .decode_threads = 1};
    vg_reader_t *rd = NULL;
    char err[VG_READER_ERROR_MAX];
    cr_assert_eq(vg_reader_open(&rc, &rd, err, sizeof(err)), 0, "%s", err);
    AVFrame *f = av_frame_alloc();
    vg_motion_t *m;
    cr_assert_eq(vg_motion_new(&defaults, &m), 0);
    int frames = 0, with_motion = 0, boxes = 0;
    while (frames < 200 && vg_reader_read(rd, f) == 0) {
        vg_motion_result_t r;
        cr_assert_eq(vg_motion_process(m, f->data[0], f->linesize[0], f->width, f->height, &r), 0);
        frames++;
        with_motion += r.n_boxes > 0;
        for (int i = 0; i < r.n_boxes; i++) {
            const vg_motion_box_t *b = &r.boxes[i];
            cr_assert(b->x1 >= 0 && b->y1 >= 0 && b->x2 <= f->width && b->y2 <= f->height && b->x1 < b->x2 &&
                          b->y1 < b->y2,
                      "box out of the frame: %d,%d-%d,%d", b->x1, b->y1, b->x2, b->y2);
            boxes++;
        }
        cr_assert_lt(r.changed, 0.5, "a walking crowd is not a light switch");
    }
    cr_assert_eq(frames, 200);
    cr_assert_gt(with_motion, 150, "people walk in most frames; motion in %d of 200", with_motion);
    cr_assert_gt(boxes, with_motion, "several walkers make several boxes");
    vg_motion_free(&m);
    av_frame_free(&f);
    vg_reader_free(&rd);
}
