/* test_stream_clock: the stream time that sampling follows never goes back
 * (issue 10 items 1 and 2): a reconnect whose first picture has no pts, a
 * stream whose timestamps jump back (files cut together), and a looping
 * file all keep it rising by about one frame, so no frame is skipped
 * waiting for an old time to come round again. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "capture/stream_clock.h"

#define NOPTS INT64_MIN
static const double TB = 1.0 / 90000, FRAME = 0.1; /* 90 kHz ticks, 10 fps */

/* Criterion's float asserts evaluate their arguments twice: step once here. */
static double next(vg_stream_clock_t *c, int64_t pts) { return vg_stream_clock_next(c, pts, TB, FRAME); }
#define assert_next(c, pts, want, ...)                                                                          \
    do {                                                                                                        \
        double got_ = next(c, pts);                                                                             \
        cr_assert_float_eq(got_, want, 1e-9, __VA_ARGS__);                                                      \
    } while (0)

Test(stream_clock, follows_pts_forward)
{
    vg_stream_clock_t c;
    vg_stream_clock_init(&c);
    assert_next(&c, 900000, 0.0, "the first picture is time 0");
    assert_next(&c, 909000, 0.1, "step");
    /* a real gap of 5 s is kept: it is time that passed */
    assert_next(&c, 909000 + 450000, 5.1, "step");
}

Test(stream_clock, reconnect_without_pts_goes_on)
{
    vg_stream_clock_t c;
    vg_stream_clock_init(&c);
    for (int i = 0; i < 150; i++) /* a 15 s session */
        vg_stream_clock_next(&c, 123456 + (int64_t)i * 9000, TB, FRAME);
    double before = c.now;
    vg_stream_clock_new_session(&c);
    /* the new session's first picture has no pts, the next ones start near 0 */
    double first = vg_stream_clock_next(&c, NOPTS, TB, FRAME);
    double second = vg_stream_clock_next(&c, 0, TB, FRAME);
    double third = vg_stream_clock_next(&c, 9000, TB, FRAME);
    cr_assert_float_eq(first, before + FRAME, 1e-9);
    cr_assert_float_eq(second, first + FRAME, 1e-9, "a session's first pts continues the clock");
    cr_assert_float_eq(third, second + 0.1, 1e-9);
}

Test(stream_clock, backward_jumps_advance_one_frame)
{
    vg_stream_clock_t c;
    vg_stream_clock_init(&c);
    double prev = -1;
    /* four copies of a 2 s stream cut together: pts 0..1.9 s four times */
    for (int copy = 0; copy < 4; copy++)
        for (int i = 0; i < 20; i++) {
            double t = vg_stream_clock_next(&c, 126000 + (int64_t)i * 9000, TB, FRAME);
            cr_assert_gt(t, prev, "copy %d frame %d: %f after %f", copy, i, t, prev);
            if (prev >= 0)
                cr_assert_lt(t - prev, 0.1 + 1e-6, "copy %d frame %d: %f after %f: one frame at most", copy, i, t, prev);
            prev = t;
        }
    cr_assert_float_eq(prev, 7.9, 1e-6, "80 pictures at 10 fps: 7.9 s");
}

Test(stream_clock, repeated_or_missing_pts)
{
    vg_stream_clock_t c;
    vg_stream_clock_init(&c);
    vg_stream_clock_next(&c, 1000, TB, FRAME);
    assert_next(&c, 1000, 0.1, "the same pts again: one frame on");
    assert_next(&c, NOPTS, 0.2, "no pts: one frame on");
    /* the repeated pts was placed at 0.1: the stream goes on from there */
    assert_next(&c, 1000 + 9000 * 3, 0.4, "after a picture without pts, time is measured from the last pts seen");
    /* absurd pts do not overflow */
    vg_stream_clock_next(&c, INT64_MAX, TB, FRAME);
    double t = vg_stream_clock_next(&c, INT64_MIN + 1, TB, FRAME);
    cr_assert(t > 0.5 && t < 1e20, "%g", t);
}

Test(stream_clock, times_are_not_a_sum_of_steps)
{
    /* rate limits compare stream times ("an update at most once a second"):
     * they must be what the timestamps say, not a running sum whose rounding
     * drifts (10 x 0.1 s summed is 0.9999999999999999) */
    vg_stream_clock_t c;
    vg_stream_clock_init(&c);
    for (int64_t i = 0; i < 2000; i++) {
        double t = vg_stream_clock_next(&c, 5000 + i * 3003, TB, 1001.0 / 30000);
        cr_assert_eq(t, (double)(i * 3003) * TB, "frame %lld: %.17g", (long long)i, t);
    }
}
