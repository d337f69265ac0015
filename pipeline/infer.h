/*
 * infer: the inference thread. Workers hand it an image to run through a
 * detector and wait; it gathers the requests of several cameras into one
 * engine run of up to the detector's batch size, waiting at most `wait_us`
 * after the first request for others to join, then decodes each image's
 * detections and wakes its worker.
 *
 * A worker never queues behind a full batch: when `batch` requests are
 * already waiting, vg_infer_run returns -EAGAIN at once and the caller
 * counts the frame's detection as dropped (capture is never blocked; the
 * camera's ring drops its oldest frames if the workers fall behind).
 *
 * Owns: the thread, the request queue (fixed, batch entries; requests live
 * on the waiting workers' stacks).
 * Thread: new/free on the main thread; vg_infer_run from workers.
 * Blocks on: workers wait for their result (one engine run); the thread
 * waits on its condition variable.
 */
#ifndef VG_INFER_H
#define VG_INFER_H

#include <stdint.h>

#include "pipeline/detect.h"

typedef struct vg_infer vg_infer_t;

/* Starts the thread for detector d (borrowed; batch = vg_detector_batch(d)).
 * wait_us: how long the first request of a batch waits for company.
 * Returns 0, -ENOMEM or a pthread error. */
int vg_infer_new(vg_detector_t *d, int64_t wait_us, vg_infer_t **ret);

/* Stops the thread (after the batch it is running) and frees. Accepts NULL. */
void vg_infer_free(vg_infer_t **q);

/* Runs img (borrowed until return) through the detector; returns the number
 * of detections written to dets (at most max), -EAGAIN when the queue is
 * full (nothing run), or a negative errno from the engine.
 * Thread: a worker; blocks until its batch has run. */
int vg_infer_run(vg_infer_t *q, const vg_image_t *img, vg_det_t *dets, int max);

/* Engine runs so far and images they carried (batching efficiency). */
void vg_infer_counts(vg_infer_t *q, uint64_t *ret_runs, uint64_t *ret_images);

#endif
