/*
 * track: a camera's multi-object tracker. Turns each analysed frame's
 * detections into objects with an identity, a smoothed box and a velocity,
 * and says when an object becomes real (confirmed) and when it is gone.
 *
 * Per camera, frames in order, class-aware (a detection only continues a
 * track of its own label). Each track has a constant-velocity Kalman filter
 * on its box (kalman.h). Association is ByteTrack's (Zhang et al. 2022), by
 * IoU with an exact optimal assignment (assign.h), in two stages:
 *   1. confident detections (score >= the label's min_score) against every
 *      track: tentative, tracked, and lost but still kept;
 *   2. the low-score detections (low_score <= score < min_score) against the
 *      tracks that were seen at the previous detector run and are still
 *      unmatched, with a stricter IoU: an object whose score dips stays the
 *      same object, and a low-score box never revives a lost track.
 * New tracks start only from confident detections left unmatched.
 *
 * Time is seconds (frame pts or wall time), never frame counts. A frame on
 * which the detector did not run (nothing moved, an inference drop) is
 * vg_track_coast(): not evidence of absence, tracks neither age nor end,
 * and their boxes hold still (the detector is mostly skipped because nothing
 * moved; a velocity carried over a minute would walk a still object out of
 * its box; objects that did move over a short drop are found again). A
 * lost track ends after lost_after seconds during which the detector ran and
 * did not see it (stationary_lost_after for a stationary one).
 *
 * Stationary: a track whose box keeps an IoU >= stationary_iou with where it
 * was stationary_after seconds ago is flagged stationary (and its filter
 * holds the box still); it stays one object and ends only when the detector
 * runs and no longer sees it.
 *
 * Confirmation (false positives): a track is confirmed once it was matched
 * in at least min_hits of its first confirm_frames detector runs AND the
 * median of its recent scores reaches the label's threshold (which may
 * happen later in its life). A track that cannot reach min_hits in its
 * first confirm_frames ends (reason UNCONFIRMED) without ever having been
 * confirmed. The event layer announces confirmed tracks only.
 *
 * Per-label filters (min_area, max_area, min_ratio, max_ratio) drop
 * detections before association: they start nothing and continue nothing.
 *
 * Owns: every track (a fixed pool of `capacity`), the scratch of the
 * association (cost matrix, assignment), all sized at vg_track_new; no
 * allocation per frame. Ids come from a 64-bit counter and are never reused
 * by a tracker (first_id lets an owner that rebuilds the tracker continue).
 * Thread: the worker that currently owns the camera; one call at a time.
 * Blocks on: nothing.
 */
#ifndef VG_TRACK_H
#define VG_TRACK_H

#include <stdbool.h>
#include <stdint.h>

#include "models/heads/heads.h"

/* Scores kept per track for the confirmation median (Frigate keeps 10). */
#define VG_TRACK_SCORE_HISTORY 10

/* Per-label settings (the config's `objects:` entries). A value < 0 means
 * "not set": the tracker's defaults (vg_track_config_t.defaults) apply. */
typedef struct {
    float threshold; /* median score a track needs to be confirmed (default 0.5) */
    float min_score; /* a detection at or above is confident: starts tracks, stage 1 (default 0.5) */
    float min_area;  /* box area in pixels^2; smaller boxes are dropped (default 0: none) */
    float max_area;  /* larger boxes are dropped (default 0: no limit) */
    float min_ratio; /* width / height; narrower boxes are dropped (default 0: none) */
    float max_ratio; /* wider boxes are dropped (default 0: no limit) */
} vg_track_filter_t;

typedef struct {
    int capacity;          /* tracks at once, live and lost (default 128) */
    int max_dets;          /* detections per update (default 256) */
    int min_hits;          /* matches needed for confirmation (default 3) */
    int confirm_frames;    /* ... within this many first detector runs (default 5, >= min_hits) */
    double lost_after;     /* seconds a moving track is kept unseen (default 3) */
    double stationary_lost_after; /* ... a stationary one (default 10; parked cars flicker) */
    float low_score;       /* detections below are ignored (default 0.1) */
    float match_iou;       /* stage 1: least IoU with the predicted box (default 0.2) */
    float low_match_iou;   /* stage 2: least IoU for a low-score detection (default 0.5) */
    double stationary_after; /* seconds a box must stay put to be stationary (default 3) */
    float stationary_iou;  /* ... with at least this IoU against its earlier box (default 0.7) */
    uint64_t first_id;     /* first track id (default 1; 0 is "no track") */
    vg_track_filter_t defaults;      /* for labels without their own (see vg_track_filter_t) */
    const vg_track_filter_t *labels; /* borrowed, copied at new: per label index, NULL = none */
    int n_labels;                    /* entries in labels */
} vg_track_config_t;

typedef struct {
    float x1, y1, x2, y2;
} vg_track_box_t;

typedef enum {
    VG_TRACK_END_NONE = 0,
    VG_TRACK_END_LOST,        /* unseen for lost_after while the detector ran */
    VG_TRACK_END_UNCONFIRMED, /* too few matches in its first frames: a false positive */
    VG_TRACK_END_EVICTED,     /* the pool was full and a new object needed the slot */
    VG_TRACK_END_RESET,       /* vg_track_reset (seek, reconnect, reconfiguration) */
} vg_track_end_t;

/* One object as the tracker sees it after the last call. */
typedef struct {
    uint64_t id;             /* never reused by this tracker */
    int label;
    float score;             /* last matched detection's score */
    float top_score;         /* best score so far */
    vg_track_box_t box;      /* Kalman-filtered box at the last update (predicted if unmatched) */
    vg_track_box_t det_box;  /* the last matched detection's box */
    float vx, vy;            /* velocity of the box centre, pixels/second */
    double start;            /* time of its first detection */
    double last_seen;        /* time of its last matched detection */
    int hits;                /* detections matched over its life */
    int det_index;           /* index in the last update's input, -1: not matched this update */
    bool lost;               /* not matched at the last detector run */
    bool confirmed;          /* an object worth an event (latched) */
    bool stationary;
    double stationary_since; /* time since when the box has stayed put (valid if stationary) */
    /* changes in this call, for the event layer: */
    bool confirmed_now;
    bool stationary_changed; /* stationary flipped (either way) */
    bool ended;              /* gone: reported once, then removed at the next call */
    vg_track_end_t end_reason;
} vg_track_obj_t;

/* Counters since vg_track_new. */
typedef struct {
    uint64_t updates, coasts;
    uint64_t started, confirmed, ended;
    uint64_t dropped_filtered; /* detections dropped by the per-label filters */
    uint64_t dropped_full;     /* confident detections not tracked: pool full of live tracks */
    uint64_t dropped_dets;     /* detections beyond max_dets */
} vg_track_stats_t;

typedef struct vg_track vg_track_t;

/* The defaults documented in vg_track_config_t. Thread: any. */
void vg_track_config_default(vg_track_config_t *ret);

/* Returns 0, -EINVAL (a value out of range: capacity or max_dets < 1,
 * min_hits < 1, confirm_frames < min_hits, a negative duration, scores not in
 * 0..1, low_score above a min_score, first_id 0) or -ENOMEM; *ret untouched
 * on failure. Thread: any. */
int vg_track_new(const vg_track_config_t *cfg, vg_track_t **ret);

/* Frees t (accepts NULL and *t == NULL) and sets *t = NULL. Thread: the owner. */
void vg_track_free(vg_track_t **t);

/*
 * One frame on which the detector ran: dets (borrowed, n of them, boxes in
 * source pixels; n may be 0: the detector saw nothing) at `time` seconds.
 * If ret_track_ids is not NULL, writes for each detection the id of the
 * track it now belongs to, 0 if none (filtered, low-score and unmatched, or
 * not kept). Returns 0, or -EINVAL (n < 0, dets NULL with n > 0, time not
 * finite; nothing changed then); detections
 * beyond max_dets are ignored and counted. Time going backwards counts as no
 * time passing. Thread: the owner.
 */
int vg_track_update(vg_track_t *t, double time, const vg_det_t *dets, int n, uint64_t *ret_track_ids);

/* One frame on which the detector did not run: tracks keep their state and
 * their boxes, do not age toward their end, and report no changes (a time
 * that is not finite only clears the last call's changes). Thread: the owner. */
void vg_track_coast(vg_track_t *t, double time);

/* Ends every track (reason RESET); they are reported once more by
 * vg_track_objects, ended, until the next call. Thread: the owner. */
void vg_track_reset(vg_track_t *t);

/* The objects after the last call (borrowed until the next call), oldest
 * first: live, lost and just ended ones, confirmed or not. Returns how many.
 * Thread: the owner. */
int vg_track_objects(const vg_track_t *t, const vg_track_obj_t **ret);

/* The id the next new track will get. Thread: the owner. */
uint64_t vg_track_next_id(const vg_track_t *t);

void vg_track_stats(const vg_track_t *t, vg_track_stats_t *ret);

const char *vg_track_end_name(vg_track_end_t reason);

#endif
