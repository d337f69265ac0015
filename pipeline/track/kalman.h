/*
 * kalman: constant-velocity Kalman filter on a box, in continuous time.
 *
 * State: centre x, centre y, width, height and their velocities (per
 * second, not per frame: analysis fps varies per camera and with load).
 * The four axes are independent (diagonal process and measurement noise, as
 * in SORT/ByteTrack), so the 8x8 filter is four 2x2 filters: the same result
 * for a fraction of the arithmetic. Noise scales with the box's own size on
 * that axis (width for x and w, height for y and h), so a far person and a
 * near one are followed alike; process noise is white acceleration
 * (Q = q [dt^3/3, dt^2/2; dt^2/2, dt]), so any frame interval gives the
 * same filter.
 *
 * Owns: nothing (a value type inside the tracker's tracks).
 * Thread: whoever owns the track. Blocks on: nothing.
 */
#ifndef VG_KALMAN_H
#define VG_KALMAN_H

#include <stdbool.h>

typedef struct {
    float x[4];                    /* cx, cy, w, h (pixels) */
    float v[4];                    /* their velocities (pixels/second) */
    float pxx[4], pxv[4], pvv[4];  /* per-axis covariance */
} vg_kalman_t;

/* Starts a filter on a box (x1 y1 x2 y2), velocity 0 with a wide prior. */
void vg_kalman_init(vg_kalman_t *k, const float box[4]);

/* Advances the state by dt seconds (dt <= 0: nothing). hold: the box stays
 * where it is (a stationary object), only the uncertainty grows. */
void vg_kalman_predict(vg_kalman_t *k, float dt, bool hold);

/* Corrects the state with a measured box (x1 y1 x2 y2). */
void vg_kalman_update(vg_kalman_t *k, const float box[4]);

/* Forgets the size velocities (a track that missed its detection keeps
 * moving, but does not keep growing or shrinking). */
void vg_kalman_stop_size(vg_kalman_t *k);

/* The state as a box x1 y1 x2 y2 (width and height at least 1 pixel). */
void vg_kalman_box(const vg_kalman_t *k, float ret_box[4]);

#endif
