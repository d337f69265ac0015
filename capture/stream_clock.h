/*
 * stream_clock: a camera's stream time, the `pts_time` of its frames and the
 * clock that sampling to analysis_fps follows. It is built from the decoded
 * pictures' timestamps but never goes back: a timestamp that jumps back (a
 * file that loops, streams cut together, a camera's clock reset), a picture
 * without one, and the first picture of a new session (an RTSP reconnect,
 * a replugged camera) all advance it by one nominal frame instead. So the
 * sampling never waits for an old time to come round again, which used to
 * leave a reconnected camera blind for as long as its previous session had
 * lasted.
 *
 * Owns: four numbers. Thread: the capture thread of its camera.
 * Blocks on: nothing.
 */
#ifndef VG_STREAM_CLOCK_H
#define VG_STREAM_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    double now;        /* seconds: the last picture's stream time */
    /* where the timestamps were last taken as they are: the first pts of a
     * session or after a jump back. Times are anchor_time + (pts -
     * anchor_pts) * time base, not a sum of steps, so 10 frames of 0.1 s
     * are 1.0 s exactly (rate limits compare these times). */
    int64_t anchor_pts;   /* INT64_MIN (AV_NOPTS_VALUE) = none in this session yet */
    double anchor_time;
    bool started;      /* a picture was seen */
} vg_stream_clock_t;

/* A clock at 0 with no picture seen. Thread: any. */
void vg_stream_clock_init(vg_stream_clock_t *c);

/* A new session begins (reopened input, rewound file): its first picture
 * continues the clock one frame on, whatever its pts. Thread: capture. */
void vg_stream_clock_new_session(vg_stream_clock_t *c);

/* The stream time of the next picture, given its pts (INT64_MIN = none), the
 * stream's time base as seconds per tick, and the seconds of one nominal
 * frame (1 / the stream's frame rate). Time is measured from the anchor;
 * forward steps of any size are kept (a gap is real time); a result that
 * would not be after the last picture's becomes one nominal frame after it,
 * and the anchor moves there.
 * Thread: capture. */
double vg_stream_clock_next(vg_stream_clock_t *c, int64_t pts, double seconds_per_tick, double frame_seconds);

#endif
