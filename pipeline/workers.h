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
 * Owns: the worker threads, the eventfd, the queue table (fixed size).
 * Thread: vg_workers_new/add/remove/stop/free from the main thread;
 * vg_workers_notify from capture threads; handlers run on worker threads.
 * Blocks on: workers block in read(eventfd) when no queue has work; remove and
 * drain wait (bounded) for workers to let go.
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

/* Runs on a worker thread with exclusive use of the camera's state for the
 * call. worker_ctx is the context given for that worker at vg_workers_new.
 * The frame is borrowed: it returns to the pool after the handler. */
typedef void (*vg_worker_handler_fn)(void *camera, vg_frame_t *frame, void *worker_ctx);

/* Starts n worker threads (1..VG_WORKERS_MAX); worker_ctx[i] (may be NULL as a
 * whole) is handed to handlers running on worker i. The contexts are borrowed
 * and must outlive the pool. Returns 0 or a negative errno. */
int vg_workers_new(int n, void *const *worker_ctx, vg_workers_t **ret);

/* Adds a camera. ring, pool and camera are borrowed until vg_workers_remove.
 * Returns the queue id (>= 0), or -ENOSPC when the table is full. */
int vg_workers_add(vg_workers_t *w, vg_ring_t *ring, vg_frame_pool_t *pool,
                   vg_worker_handler_fn handler, void *camera);

/* Waits until the queue's ring is empty (workers keep processing it), for at
 * most timeout_ms. Returns 0, or -ETIMEDOUT with frames left.
 * Thread: main; the camera's capture thread must have stopped. */
int vg_workers_drain(vg_workers_t *w, int queue, int timeout_ms);

/* Removes a camera: waits for the worker holding it (one frame's work at
 * most), then returns any frames left in its ring to its pool and returns how
 * many that was (the caller counts them as dropped). Thread: main; the
 * camera's capture thread must have stopped. */
int vg_workers_remove(vg_workers_t *w, int queue);

/* Capture threads: a frame was pushed. Never blocks (one eventfd write). */
void vg_workers_notify(vg_workers_t *w);

/* Frames handled so far by worker i (a heartbeat for the watchdog). */
uint64_t vg_workers_progress(const vg_workers_t *w, int i);
int vg_workers_count(const vg_workers_t *w);

/* Stops and joins the workers (after the current frame), frees the pool.
 * Queues still registered keep their frames: remove them first. Accepts NULL. */
void vg_workers_free(vg_workers_t **w);

#endif
