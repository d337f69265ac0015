/* stream_clock.c: see stream_clock.h. */
#include "capture/stream_clock.h"

void vg_stream_clock_init(vg_stream_clock_t *c)
{
    c->now = 0;
    c->prev_pts = INT64_MIN;
    c->started = false;
}

void vg_stream_clock_new_session(vg_stream_clock_t *c) { c->prev_pts = INT64_MIN; }

double vg_stream_clock_next(vg_stream_clock_t *c, int64_t pts, double seconds_per_tick, double frame_seconds)
{
    double t = c->started ? c->now + frame_seconds : 0;
    if (c->started && pts != INT64_MIN && c->prev_pts != INT64_MIN) {
        /* the difference in double: pts come from the stream and may be
         * anything, their int64 difference could overflow */
        double by_pts = c->prev_pts_time + ((double)pts - (double)c->prev_pts) * seconds_per_tick;
        if (by_pts > c->now)
            t = by_pts;
    }
    if (pts != INT64_MIN) {
        c->prev_pts = pts;
        c->prev_pts_time = t;
    }
    c->started = true;
    c->now = t;
    return t;
}
