/*
 * workers: the pool of analysis threads, and the scheduler that hands each
 * camera's frames to exactly one worker at a time, in frame order.
 *
 * A camera joins as a "queue": its ring (filled by its capture thread), its
 * frame pool, and a handler. A worker claims a queue with a compare-and-swap,
 * pops up to a few frames in order, runs the handler on each, returns each
 * frame to the pool, and releases the claim; the claim's acquire/release hands
 * the ring's consumer side and the camera's analysis state from one worker to
 * the next. Capture threads call vg_workers_notify after a push; idle workers
 * sleep on an eventfd.
 *
 * A handler may park its frame (VG_WORKER_PARKED): it handed the frame's
 * detection to an inference actor and the rest of its analysis waits for the
 * result. The worker moves on to other cameras; the camera is not run until
 * vg_workers_resume (from the actor's done callback), after which a worker
 * runs the camera's resume handler on the parked frame, then its next frames.
 * So a camera's frames are still analysed one at a time, in order.
 *
 * Owns: the worker threads, the eventfd, the queue table (fixed size).
 * Thread: vg_workers_new/add/remove/stop/free from the main thread;
 * vg_workers_notify from capture threads; handlers run on worker threads.
 * Blocks on: workers block in read(eventfd) when no queue has work; remove and
 * drain wait on a condition variable (bounded) for workers to let go.
 */
#ifndef VG_WORKERS_H
#define VG_WORKERS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "pipeline/frame.h"
#include "pipeline/ring.h"

#define VG_WORKERS_MAX 64
#define VG_WORKERS_MAX_QUEUES 64

typedef struct vg_workers vg_workers_t;

enum {
    VG_WORKER_DONE = 0,   /* the frame goes back to the pool */
    VG_WORKER_PARKED = 1, /* the handler keeps the frame until vg_workers_resume */
};

/* Runs on a worker thread with exclusive use of the camera's state for the
 * call. worker_ctx is the context given for that worker at vg_workers_new.
 * The frame is borrowed: it returns to the pool after the handler, unless
 * the handler returns VG_WORKER_PARKED. */
typedef int (*vg_worker_handler_fn)(void *camera, vg_frame_t *frame, void *worker_ctx);

/* Runs on a worker thread, with the same exclusivity, on a frame the handler
 * parked, once vg_workers_resume was called; the frame then goes back to the
 * pool. */
typedef void (*vg_worker_resume_fn)(void *camera, vg_frame_t *frame, void *worker_ctx);

/* Starts n worker threads (1..VG_WORKERS_MAX); worker_ctx[i] (may be NULL as a
 * whole) is handed to handlers running on worker i. The contexts are borrowed
 * and must outlive the pool. Returns 0 or a negative errno. Thread: main. */
int vg_workers_new(int n, void *const *worker_ctx, vg_workers_t **ret);

/* Adds a camera. ring, pool and camera are borrowed until vg_workers_remove;
 * resume may be NULL for a handler that never parks. Returns the queue id
 * (>= 0), or -ENOSPC when the table is full. Thread: main. */
int vg_workers_add(vg_workers_t *w, vg_ring_t *ring, vg_frame_pool_t *pool, vg_worker_handler_fn handler,
                   vg_worker_resume_fn resume, void *camera);

/* The parked frame of the queue may go on (its inference result is in):
 * a worker will run the resume handler. Never blocks (a store and one
 * eventfd write). Thread: any (an inference actor's done callback). */
void vg_workers_resume(vg_workers_t *w, int queue);

/* Waits until the queue's ring is empty and no frame of it is parked or in a
 * handler (workers keep processing it), for at most timeout_ms. Returns 0,
 * or -ETIMEDOUT with frames left.
 * Thread: main; the camera's capture thread must have stopped. */
int vg_workers_drain(vg_workers_t *w, int queue, int timeout_ms);

/* Removes a camera: waits for the worker holding it (one frame's work at
 * most) and for its parked frame to be resumed (one inference run at most),
 * then returns any frames left in its ring to its pool and returns how many
 * that was (the caller counts them as dropped). Thread: main; the camera's
 * capture thread must have stopped. */
int vg_workers_remove(vg_workers_t *w, int queue);

/* A frame was pushed. Never blocks (one eventfd write). Thread: capture. */
void vg_workers_notify(vg_workers_t *w);

/* Frames handled so far by worker i (a heartbeat for the watchdog).
 * Thread: any. */
uint64_t vg_workers_progress(const vg_workers_t *w, int i);
/* Number of worker threads. Thread: any. */
int vg_workers_count(const vg_workers_t *w);

/* Stops and joins the workers (after the current frame), frees the pool.
 * Queues still registered keep their frames: remove them first. Accepts NULL.
 * Thread: main. */
void vg_workers_free(vg_workers_t **w);

#endif
