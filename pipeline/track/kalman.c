/* kalman: see kalman.h. */
#include "pipeline/track/kalman.h"

/* Noise, as fractions of the box's size on that axis (x and w: width; y and
 * h: height). Measurement: a detector's box edges wander by about 5% of the
 * box (ByteTrack's 1/20). Acceleration: a walking person turns or stops
 * within a second (about their own height per s^2 on the centre); sizes
 * change slower. Initial velocity: unknown up to about 1.5 sizes per second. */
#define MEAS_STD 0.05f
#define ACC_POS 1.0f
#define ACC_SIZE 0.25f
#define VEL0_POS 1.5f
#define VEL0_SIZE 0.3f

static float dim(const vg_kalman_t *k, int axis)
{
    float d = k->x[2 + (axis & 1)];
    return d > 1.0f ? d : 1.0f;
}

static float meas_var(const vg_kalman_t *k, int axis)
{
    float s = MEAS_STD * dim(k, axis);
    return s * s + 0.25f; /* + half a pixel: boxes are integer pixels in the end */
}

void vg_kalman_init(vg_kalman_t *k, const float box[4])
{
    k->x[0] = 0.5f * (box[0] + box[2]);
    k->x[1] = 0.5f * (box[1] + box[3]);
    k->x[2] = box[2] - box[0];
    k->x[3] = box[3] - box[1];
    for (int a = 0; a < 4; a++) {
        float d = dim(k, a), v0 = (a < 2 ? VEL0_POS : VEL0_SIZE) * d;
        k->v[a] = 0;
        k->pxx[a] = 4.0f * meas_var(k, a);
        k->pxv[a] = 0;
        k->pvv[a] = v0 * v0;
    }
}

void vg_kalman_predict(vg_kalman_t *k, float dt, bool hold)
{
    if (!(dt > 0))
        return;
    float dt2 = dt * dt, dt3 = dt2 * dt;
    for (int a = 0; a < 4; a++) {
        float acc = (a < 2 ? ACC_POS : ACC_SIZE) * dim(k, a), q = acc * acc;
        if (hold) {
            k->v[a] = 0;
        } else {
            k->x[a] += k->v[a] * dt;
        }
        k->pxx[a] += 2.0f * dt * k->pxv[a] + dt2 * k->pvv[a] + q * dt3 / 3.0f;
        k->pxv[a] += dt * k->pvv[a] + q * dt2 / 2.0f;
        k->pvv[a] += q * dt;
    }
    if (k->x[2] < 1.0f)
        k->x[2] = 1.0f;
    if (k->x[3] < 1.0f)
        k->x[3] = 1.0f;
}

void vg_kalman_update(vg_kalman_t *k, const float box[4])
{
    float z[4] = {0.5f * (box[0] + box[2]), 0.5f * (box[1] + box[3]), box[2] - box[0], box[3] - box[1]};
    float r[4];
    for (int a = 0; a < 4; a++)
        r[a] = meas_var(k, a); /* from the prior size, before any axis moves */
    for (int a = 0; a < 4; a++) {
        float s = k->pxx[a] + r[a];
        float kx = k->pxx[a] / s, kv = k->pxv[a] / s, y = z[a] - k->x[a];
        k->x[a] += kx * y;
        k->v[a] += kv * y;
        float pxx = k->pxx[a], pxv = k->pxv[a];
        k->pxx[a] = (1.0f - kx) * pxx;
        k->pxv[a] = (1.0f - kx) * pxv;
        k->pvv[a] -= kv * pxv;
    }
    if (k->x[2] < 1.0f)
        k->x[2] = 1.0f;
    if (k->x[3] < 1.0f)
        k->x[3] = 1.0f;
}

void vg_kalman_stop_size(vg_kalman_t *k)
{
    k->v[2] = 0;
    k->v[3] = 0;
}

void vg_kalman_box(const vg_kalman_t *k, float ret_box[4])
{
    ret_box[0] = k->x[0] - 0.5f * k->x[2];
    ret_box[1] = k->x[1] - 0.5f * k->x[3];
    ret_box[2] = k->x[0] + 0.5f * k->x[2];
    ret_box[3] = k->x[1] + 0.5f * k->x[3];
}
