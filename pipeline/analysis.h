/*
 * analysis: what a worker does with one camera's frame: the per-frame
 * driver of motion, corrections, detection, tracking and events.
 *
 * Per frame: the motion detector (motion.h) on the frame's luma; then, when a
 * detector is configured and the gate allows (detect.when: always, or
 * on_motion when motion boxes were found), the image corrections
 * (pipeline/correct, on an analysis copy) and the CNN detector (detect.h).
 * The detector keeps boxes down to the tracker's low_score; those below
 * their label's min_score (the detection threshold by default) only feed
 * the tracker's second stage. Every frame then goes to the camera's events
 * (events.h: object masks, tracker, zones, lines, per-object start / update
 * / end on `event.<camera>`): frames the detector ran on as detections,
 * others (on_motion without motion, a dropped or failed inference) as a
 * coast, which ages nothing. A camera without a detector tracks its motion
 * boxes as objects labelled "motion" (every analysed frame is a detector
 * run for it). `det.<camera>` carries the confident detections not dropped
 * by an object mask, each with its track_id (or the motion boxes), and
 * snapshots (snapshot.h) go out on `snap.<camera>` (docs/events.md).
 *
 * With an inference actor (cfg.inference), detection is asynchronous: the
 * frame's tensor is prepared here (the camera's own preparer) and submitted;
 * vg_analysis_frame returns VG_ANALYSIS_PARKED and the camera's frame waits
 * until the actor calls back (cfg.detected), after which
 * vg_analysis_resume finishes it (cascade, events, messages). Without one,
 * the detector runs on the calling thread (tools, tests).
 *
 * Owns: the camera's motion state, event state, correction state, tensor
 * preparer, the parked frame's partial results, and a message buffer.
 * Thread: the worker that owns the camera (vg_workers claim) for
 * vg_analysis_frame/resume; the main thread for new/flush/free, only while
 * no worker can run the camera and no frame is parked. Counters are relaxed
 * atomics readable by anyone.
 * Blocks on: nothing in live mode (emit must not block); with
 * wait_for_inference (lossless replay), on a free inference slot; the
 * cascade's models, while their actor runs a crop.
 */
#ifndef VG_ANALYSIS_H
#define VG_ANALYSIS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "pipeline/correct/mode.h"
#include "pipeline/detect_when.h"
#include "pipeline/cascade.h"
#include "pipeline/events.h"
#include "pipeline/frame.h"
#include "pipeline/inference.h"
#include "pipeline/jsonw.h"
#include "pipeline/motion.h"
#include "pipeline/snapshot.h"
#include "pipeline/track/track.h"
#include "pipeline/zones.h"

/* Hands one message to the publisher: topic "det.cam", camera "cam", body a
 * JSON object without camera and seq (the publisher adds them). Returns 0, or
 * a negative errno when the message was dropped (counted by the caller). */
typedef int (*vg_emit_fn)(void *emitter, const char *topic, const char *camera, const char *json,
                          size_t len);

/* Hands a message with a binary third part to the publisher: [topic][json][blob]
 * (snapshots). Same contract as vg_emit_fn; blob is copied. */
typedef int (*vg_emit_blob_fn)(void *emitter, const char *topic, const char *camera, const char *json,
                               size_t len, const void *blob, size_t blob_len);

typedef struct {
    const char *camera;          /* borrowed for the analysis' life */
    vg_motion_config_t motion;
    bool publish_detections;     /* det.<camera> for every analysed frame */
    vg_track_config_t track;     /* the tracker's settings; capacity 0 = vg_track_config_default */
    double update_every_s;       /* at most one update per object per this many stream seconds (1) */
    const vg_object_filter_t *objects; int n_objects; /* per-label filters and masks (copied) */
    const vg_zone_t *zones; int n_zones;              /* (copied) */
    const vg_line_t *lines; int n_lines;              /* (copied) */
    vg_snapshot_config_t snapshots;                   /* enabled false = none */
    vg_emit_blob_fn emit_snapshot; /* snap.<camera> goes through it, with the emitter of the call */
    vg_detector_t *detector;     /* borrowed; NULL = motion only. With inference, the actor's own
                                    (labels, names and its preparer settings only) */
    vg_cascade_t *cascade;       /* borrowed; faces and expressions on the detections; NULL = none */
    vg_inference_t *inference;   /* borrowed; the detector's actor; NULL = run the detector here */
    bool wait_for_inference;     /* no free slot: wait (lossless replay) instead of dropping */
    /* called on the inference thread when a parked frame's detections are in
     * (must not block: vg_workers_resume); required with inference */
    void (*detected)(void *arg);
    void *detected_arg;
    vg_detect_when_t detect_when;
    vg_correct_mode_t correct_mode; /* image corrections before detection */
    uint32_t correct_mask;
} vg_analysis_config_t;

typedef struct {
    _Atomic uint64_t analysed;      /* frames through the motion stage */
    _Atomic uint64_t motion_frames; /* frames with at least one motion box */
    _Atomic uint64_t events;        /* events started */
    _Atomic uint64_t snapshots;     /* snapshots encoded */
    _Atomic uint64_t snapshot_errors; /* snapshot files that could not be written */
    _Atomic uint64_t emit_dropped;  /* messages the publisher queue refused */
    _Atomic uint64_t errors;        /* frames the analysis could not handle (odd pixel format, ENOMEM) */
    _Atomic uint64_t analyse_ns;    /* total analysis time, for per-frame cost */
    _Atomic uint64_t detect_frames; /* frames the detector ran on */
    _Atomic uint64_t detections;    /* objects it found */
    _Atomic uint64_t detect_ns;     /* time in correction + detection */
    _Atomic uint64_t detect_errors; /* detector runs that failed */
    _Atomic uint64_t detect_dropped;/* frames whose detection the full inference queue refused */
    _Atomic uint64_t detect_wait_ns;/* time parked frames waited for the actor (queue + run) */
    _Atomic uint32_t correct_active;/* VG_CORRECT_* applied to the last detected frame */
} vg_analysis_stats_t;

typedef struct vg_analysis vg_analysis_t;

int vg_analysis_new(const vg_analysis_config_t *cfg, vg_analysis_t **ret);
void vg_analysis_free(vg_analysis_t **a);

enum {
    VG_ANALYSIS_DONE = 0,   /* the frame is analysed and its messages emitted */
    VG_ANALYSIS_PARKED = 1, /* its detection is with the actor: keep the frame, resume later */
};

/* Analyses one frame and emits its messages through emit(emitter, ...).
 * The frame is borrowed until VG_ANALYSIS_DONE is returned, or until
 * vg_analysis_resume returns. Thread: the camera's current worker. */
int vg_analysis_frame(vg_analysis_t *a, const vg_frame_t *frame, vg_emit_fn emit, void *emitter);

/* Finishes the parked frame (the same frame) once cfg.detected was called.
 * Thread: the camera's current worker. */
void vg_analysis_resume(vg_analysis_t *a, const vg_frame_t *frame, vg_emit_fn emit, void *emitter);

/* Ends every open event with `reason` (stream ended, camera removed, daemon
 * stopping). Thread: main, while no worker runs this camera. */
void vg_analysis_flush(vg_analysis_t *a, const char *reason, vg_emit_fn emit, void *emitter);

const vg_analysis_stats_t *vg_analysis_stats(const vg_analysis_t *a);

/* What the last vg_analysis_frame found, for a caller that drives the
 * analysis itself (`vigil detect` prints and draws it). */
typedef struct {
    int n;                          /* detections; -1 when the detector did not run on the frame */
    int error;                      /* 0, or the negative errno that stopped the frame or its detection */
    uint32_t corrected;             /* VG_CORRECT_* applied before detection */
    const vg_det_t *dets;           /* n of them, best first; borrowed from the analysis */
    const vg_cascade_attr_t *attrs; /* the cascade's, per detection; NULL without a cascade */
    const uint64_t *track_ids;      /* per detection, the track it belongs to (0 = none) */
    vg_image_t image;               /* what the detector ran on (n >= 0): a view of the frame or
                                       of the correction copy */
} vg_analysis_result_t;

/* Fills ret with the last frame's result, once the frame is finished
 * (vg_analysis_frame returned VG_ANALYSIS_DONE, or vg_analysis_resume
 * returned). The pointers and image stay valid until the next
 * vg_analysis_frame, and image only while the frame is held.
 * Thread: the camera's current worker (the caller of vg_analysis_frame). */
void vg_analysis_last(const vg_analysis_t *a, vg_analysis_result_t *ret);

/* One object of the last frame the detector ran on (a motion box on a
 * camera without a detector), for a live view's overlay. */
typedef struct {
    const char *label; /* the detector's label (NULL: numeric, see label_index) or "motion";
                        * valid while the detector lives: copy it */
    int label_index;
    float score;
    int box[4];        /* source pixels x1 y1 x2 y2 */
} vg_analysis_object_t;

/* Copies up to max objects of the last frame that had a detection result
 * (or motion result, without a detector) into ret; returns how many. No
 * allocation; cheap, but only worth calling when someone looks (the live
 * view, daemon/live.h). Thread: the camera's current worker, after
 * vg_analysis_frame returned DONE or after vg_analysis_resume. */
int vg_analysis_objects(const vg_analysis_t *a, vg_analysis_object_t *ret, int max);

/* Writes one element of a det message's "objects" (docs/events.md): label
 * (its index when label is NULL), score, box, track_id (null when 0), and
 * the cascade's attributes when at is not NULL. Shared with `vigil detect`.
 * Thread: any. */
void vg_analysis_write_object(vg_jsonw_t *w, const char *label, const vg_det_t *d, const vg_cascade_t *cascade,
                              const vg_cascade_attr_t *at, uint64_t track_id);

/* The id the camera's next track will get: a restarted camera passes it
 * as track.first_id so that track ids (and event ids) go on rising.
 * Thread: main, while no worker runs the camera. */
uint64_t vg_analysis_next_track_id(const vg_analysis_t *a);

/* Writes the `objects` and `lines` members of the camera's stats message
 * (vg_events_write_stats). Thread: any (relaxed reads). */
void vg_analysis_write_objects_stats(const vg_analysis_t *a, vg_jsonw_t *w);

#endif
