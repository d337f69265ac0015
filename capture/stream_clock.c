/* stream_clock.c: see stream_clock.h. */
#include "capture/stream_clock.h"

void vg_stream_clock_init(vg_stream_clock_t *c)
{
    c->now = 0;
    c->anchor_pts = INT64_MIN;
    c->anchor_time = 0;
    c->started = false;
}

void vg_stream_clock_new_session(vg_stream_clock_t *c) { c->anchor_pts = INT64_MIN; }

double vg_stream_clock_next(vg_stream_clock_t *c, int64_t pts, double seconds_per_tick, double frame_seconds)
{
    double t = c->started ? c->now + frame_seconds : 0;
    bool by_pts = false;
    if (c->started && pts != INT64_MIN && c->anchor_pts != INT64_MIN) {
        /* the difference in double: pts come from the stream and may be
         * anything, their int64 difference could overflow */
        double tp = c->anchor_time + ((double)pts - (double)c->anchor_pts) * seconds_per_tick;
        if (tp > c->now) {
            t = tp;
            by_pts = true;
        }
    }
    if (pts != INT64_MIN && !by_pts) {
        c->anchor_pts = pts;
        c->anchor_time = t;
    }
    c->started = true;
    c->now = t;
    return t;
}
