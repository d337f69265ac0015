/*
 * frame: a decoded frame on its way from a camera's capture thread to a
 * worker, and the fixed pool those frames live in.
 *
 * Owns: vg_frame_pool_t owns every vg_frame_t and its AVFrame shell for the
 * life of a camera; the pixel buffers are reference-counted by libavcodec's
 * own pools. Nothing here allocates after vg_frame_pool_new.
 * Thread: the capture thread takes frames (vg_frame_pool_get); the worker that
 * finished with a frame returns it (vg_frame_pool_put). One of each at a time:
 * the free list is a vg_ring_t with the worker as producer and the capture
 * thread as consumer.
 * Blocks on: nothing (vg_frame_pool_wait: poll, when asked to wait).
 */
#ifndef VG_FRAME_H
#define VG_FRAME_H

#include <stdint.h>

#include <libavutil/frame.h>

#include "pipeline/ring.h"

typedef struct vg_frame {
    AVFrame *av;      /* decoded picture; a reference, unref'd on put */
    int64_t wall_us;  /* wall-clock time it was decoded (CLOCK_REALTIME, us) */
    int64_t pts;      /* stream pts in the stream's time base, or AV_NOPTS_VALUE */
    double pts_time;  /* pts in seconds from the stream's start (monotonic over loops) */
    uint64_t index;   /* decoded-frame number from 0, over the camera's life */
} vg_frame_t;

typedef struct vg_frame_pool vg_frame_pool_t;

/* A pool of `count` frames (count <= 65535). Returns 0, -ENOMEM or -EINVAL.
 * Thread: any, before sharing. */
int vg_frame_pool_new(uint32_t count, vg_frame_pool_t **ret);

/* Frees every frame (unref'ing any picture still held); the caller must have
 * taken back all frames from rings first. Accepts NULL. */
void vg_frame_pool_free(vg_frame_pool_t **pool);

/* A free frame with no picture, or NULL when all are in use.
 * Thread: the capture thread. */
vg_frame_t *vg_frame_pool_get(vg_frame_pool_t *pool);

/* Unrefs the picture and returns the frame to the pool. Accepts NULL.
 * Thread: the camera's current consumer (a worker), or any thread once capture
 * and workers have stopped. The capture thread never puts while workers run:
 * it keeps frames it evicted and reuses them itself (one producer only).
 * Never blocks. */
void vg_frame_pool_put(vg_frame_pool_t *pool, vg_frame_t *frame);

/* Lets vg_frame_pool_wait be used (lossless replay). Returns 0 or a
 * negative errno. Thread: any, before the pool is shared. */
int vg_frame_pool_enable_wait(vg_frame_pool_t *pool);

/* Waits until a frame is back in the pool, stop_fd is readable, or
 * timeout_ms passes; as vg_ring_wait. Thread: the capture thread.
 * Blocks on: poll. */
int vg_frame_pool_wait(vg_frame_pool_t *pool, int stop_fd, int timeout_ms);

/* Frames currently in the pool's free list (snapshot). */
uint32_t vg_frame_pool_available(const vg_frame_pool_t *pool);

#endif
