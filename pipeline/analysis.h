/*
 * analysis: what a worker does with one camera's frame, and the event
 * lifecycle that follows from it.
 *
 * Today: the motion detector (motion.h) on the frame's luma; its boxes go out
 * as `det.<camera>` objects labelled "motion", and a motion event goes through
 * start / update / end on `event.<camera>` (docs/events.md). The motion result
 * stays the gate in front of CNN detection.
 *
 * Owns: the camera's motion state and event state, and a message buffer.
 * Thread: the worker that owns the camera (vg_workers claim) for
 * vg_analysis_frame; the main thread for new/flush/free, only while no worker
 * can run the camera. Counters are relaxed atomics readable by anyone.
 * Blocks on: nothing (emit must not block in live mode).
 */
#ifndef VG_ANALYSIS_H
#define VG_ANALYSIS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "pipeline/frame.h"
#include "pipeline/motion.h"

/* Hands one message to the publisher: topic "det.cam", camera "cam", body a
 * JSON object without camera and seq (the publisher adds them). Returns 0, or
 * a negative errno when the message was dropped (counted by the caller). */
typedef int (*vg_emit_fn)(void *emitter, const char *topic, const char *camera, const char *json,
                          size_t len);

typedef struct {
    const char *camera;          /* borrowed for the analysis' life */
    vg_motion_config_t motion;
    bool publish_detections;     /* det.<camera> for every analysed frame */
    double event_end_after_s;    /* stream seconds without motion that end an event (2) */
    double event_update_every_s; /* at most one update per this many stream seconds (1) */
} vg_analysis_config_t;

typedef struct {
    _Atomic uint64_t analysed;      /* frames through the motion stage */
    _Atomic uint64_t motion_frames; /* frames with at least one motion box */
    _Atomic uint64_t events;        /* events started */
    _Atomic uint64_t emit_dropped;  /* messages the publisher queue refused */
    _Atomic uint64_t errors;        /* frames the analysis could not handle (odd pixel format, ENOMEM) */
    _Atomic uint64_t analyse_ns;    /* total analysis time, for per-frame cost */
} vg_analysis_stats_t;

typedef struct vg_analysis vg_analysis_t;

int vg_analysis_new(const vg_analysis_config_t *cfg, vg_analysis_t **ret);
void vg_analysis_free(vg_analysis_t **a);

/* Analyses one frame and emits its messages through emit(emitter, ...).
 * The frame is borrowed. Thread: the camera's current worker. */
void vg_analysis_frame(vg_analysis_t *a, const vg_frame_t *frame, vg_emit_fn emit, void *emitter);

/* Ends an open event (stream ended, camera removed, daemon stopping).
 * Thread: main, while no worker runs this camera. */
void vg_analysis_flush(vg_analysis_t *a, const char *reason, vg_emit_fn emit, void *emitter);

const vg_analysis_stats_t *vg_analysis_stats(const vg_analysis_t *a);

#endif
