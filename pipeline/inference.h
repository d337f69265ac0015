/*
 * inference: the actor that owns one loaded model. One thread per model runs
 * its engine; nobody else touches it (DESIGN §3).
 *
 * Two kinds of request reach it:
 *  - prepared frames (the cameras' detectors): a worker takes a slot
 *    (vg_inference_slot_take), writes the model's input tensor into it with
 *    the camera's own preparer, and submits it with a done callback; then it
 *    moves on to other cameras. The thread gathers up to `batch` submitted
 *    slots into one engine run (waiting at most `wait_us` for company),
 *    decodes each slot's detections into the buffer the submitter gave, frees
 *    the slot and calls its done callback. When every slot is taken, the
 *    frame's detection is dropped by the caller (counted), unless it asked to
 *    wait (replay, lossless).
 *  - images run one at a time while the caller waits (vg_inference_run: the
 *    cascade's face and expression models, on crops of a frame): the thread
 *    prepares and runs them with the detector's own preparer.
 *
 * Owns: the thread, the detector (taken at new, freed at free), the slots
 * and their tensors (allocated once at new; a tensor's pages become resident
 * when first used).
 * Thread: new/free on the main thread; slot_take/submit/run from workers;
 * done callbacks run on the inference thread and must not block.
 * Blocks on: the thread waits on its queue (condition variable); vg_inference_run
 * waits for its image's run; slot_take with wait waits for a free slot.
 */
#ifndef VG_INFERENCE_H
#define VG_INFERENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/correct/tensor_prep.h"
#include "pipeline/detect.h"

typedef struct vg_inference vg_inference_t;

/* Called on the inference thread once a submitted slot's detections are in
 * the submitter's dets: result is their count, or a negative errno when the
 * run failed. Must not block (keep result, wake the camera's worker). */
typedef void (*vg_inference_done_fn)(void *arg, int result);

/* One prepared frame's trip through the model: the submitter writes the
 * tensor (vg_detector_input_size floats) and fills xform, src_w/src_h and
 * dets/max (pipeline/detect.h). */
typedef vg_detect_prepared_t vg_inference_slot_t;

/* Starts the actor for detector d (taken: the actor owns it from now on,
 * also on failure, where it is freed). Slots: `slots` (1..64) prepared frames
 * in flight; wait_us: how long the first frame of a batch waits for company
 * (batch = vg_detector_batch(d)). Returns 0, -EINVAL, -ENOMEM or a pthread
 * error. Thread: main. */
int vg_inference_new(vg_detector_t *d, int slots, int64_t wait_us, vg_inference_t **ret);

/* Stops the thread after what is queued has run (done callbacks included)
 * and frees the actor and its detector. Accepts NULL. Thread: main. */
void vg_inference_free(vg_inference_t **q);

/* The detector (for labels, names, a camera's own preparer). Its run
 * functions belong to the actor's thread: do not call them elsewhere. */
vg_detector_t *vg_inference_detector(const vg_inference_t *q);

/* Takes a free slot into *ret_slot. wait: block until one is free (lossless
 * replay); else -EAGAIN when all are in flight (the caller counts the drop).
 * -ESHUTDOWN once the actor stops. Thread: a worker. */
int vg_inference_slot_take(vg_inference_t *q, bool wait, vg_inference_slot_t **ret_slot);

/* Gives back a slot taken but not submitted (its tensor could not be made).
 * Thread: a worker. */
void vg_inference_slot_cancel(vg_inference_t *q, vg_inference_slot_t *slot);

/* Queues a filled slot; done(arg, result) runs on the inference thread when
 * the detections are in. The slot is the actor's again from this call on.
 * Never blocks. Thread: a worker. */
void vg_inference_submit(vg_inference_t *q, vg_inference_slot_t *slot, vg_inference_done_fn done, void *arg);

/* Runs img (borrowed until return) through the model with the detector's
 * own preparer and returns the number of detections written to dets (at
 * most max), or a negative errno. Thread: a worker; blocks until it has run
 * (behind at most the batch in progress). */
int vg_inference_run(vg_inference_t *q, const vg_image_t *img, vg_det_t *dets, int max);

/* Engine runs so far and images they carried (batching efficiency).
 * Thread: any. */
void vg_inference_counts(vg_inference_t *q, uint64_t *ret_runs, uint64_t *ret_images);

/* Bytes the actor holds: the engine's and the slots' tensors. Thread: any. */
size_t vg_inference_memory(const vg_inference_t *q);

#endif
