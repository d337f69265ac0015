/*
 * events: a camera's objects and their lifecycle on `event.<camera>`.
 *
 * Each frame on which the detector ran goes through the tracker
 * (pipeline/track) after the object masks dropped what they cover; a frame
 * without detection coasts the tracker. A confirmed track becomes an event
 * (`start`, once it entered a required zone if the camera has any); zones
 * (with inertia and loitering), lines, stationarity, attributes and better
 * snapshots make `update`s, at most one per object per update_every seconds
 * (a change made during the quiet time goes out when it ends); the track's
 * end is the event's `end`, with a reason. The JSON is docs/events.md's.
 *
 * Ids: "<camera>-<start ms>-<track id>": the tracker never reuses a track id
 * and a camera restarted by a reload starts at a later time, so an id is
 * never reused in a daemon run.
 *
 * Owns: the tracker, per-object event state (a fixed pool as large as the
 * tracker's), zones/lines/masks scaled to the frame size (redone only when
 * the size changes), per-label counters. No allocation per frame.
 * Thread: the worker that owns the camera (one call at a time); the
 * counters read by vg_events_write_stats are relaxed atomics, readable by
 * any thread.
 * Blocks on: nothing (emit and the snapshot callback must not block).
 */
#ifndef VG_EVENTS_H
#define VG_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/heads/heads.h"
#include "pipeline/jsonw.h"
#include "pipeline/track/track.h"
#include "pipeline/zones.h"

#define VG_EVENTS_MAX_LABELS 128 /* label names a camera's objects can have */

/* Hands one message to the publisher (see vg_emit_fn in analysis.h). */
typedef int (*vg_events_emit_fn)(void *emitter, const char *topic, const char *camera, const char *json,
                                 size_t len);

/* The frame a call is about. */
typedef struct {
    int64_t wall_us;  /* wall-clock time of the frame */
    int64_t pts;      /* stream pts, or INT64_MIN (AV_NOPTS_VALUE) */
    double pts_time;  /* stream seconds (never goes back): the tracker's clock */
    int width, height;
} vg_events_frame_t;

/* What a detection may carry besides its box (the cascade's findings: face,
 * expression, and the class of cameras.X.classify). */
typedef struct {
    bool has_face;
    float face[4];
    float face_score;
    const char *expression; /* NULL = none */
    float expression_score;
    const char *cls;        /* the classifier's class, NULL = none */
    float cls_score;
} vg_events_attr_t;

/* A snapshot request: this object's box in this frame is its best so far. */
typedef struct {
    const char *event_id;
    const char *label;
    float score;
    vg_track_box_t box; /* the detection's box, source pixels */
} vg_events_snap_t;

typedef struct {
    const char *camera;         /* borrowed for the life of the events */
    vg_track_config_t track;    /* labels/n_labels are ignored: built from `objects` */
    float threshold;            /* the detector's threshold: default min_score/threshold of every label */
    double update_every_s;      /* updates per object at most this often (default 1) */
    const char *const *labels;  /* label names by index (borrowed, n_labels of them) */
    int n_labels;
    const vg_object_filter_t *objects; int n_objects; /* copied */
    const vg_zone_t *zones; int n_zones;              /* copied */
    const vg_line_t *lines; int n_lines;              /* copied */
    /* Called on the camera's worker when an announced object's snapshot
     * improves (better score x area, box not cut by the frame edge, at most
     * once per snapshot_every_s per object). Returns 0 when a snapshot was
     * made (the event's has_snapshot becomes true, an update follows), or a
     * negative errno. NULL = no snapshots. */
    int (*snapshot)(void *arg, const vg_events_snap_t *snap);
    void *snapshot_arg;
    double snapshot_every_s;    /* default 1 */
} vg_events_config_t;

typedef struct vg_events vg_events_t;

/* Returns 0, -EINVAL (tracker settings out of range, too many labels) or
 * -ENOMEM; *ret untouched on failure. Thread: any. */
int vg_events_new(const vg_events_config_t *cfg, vg_events_t **ret);
/* Frees e (accepts NULL and *e == NULL) and sets *e = NULL; no message is
 * emitted (vg_events_flush first). Thread: the owner. */
void vg_events_free(vg_events_t **e);

/*
 * A frame on which the detector ran: dets (borrowed, n; label = index into
 * cfg.labels; attrs NULL or n entries). Drops detections in their label's
 * object mask (keep[i] = false then, if keep is not NULL), runs the tracker,
 * emits start/update/end. ret_track_ids (NULL or n entries) gets each
 * detection's track id, 0 for none. Thread: the owner.
 */
void vg_events_detected(vg_events_t *e, const vg_events_frame_t *f, const vg_det_t *dets,
                        const vg_events_attr_t *attrs, int n, vg_events_emit_fn emit, void *emitter,
                        uint64_t *ret_track_ids);

/* A frame on which the detector did not run: objects coast (no aging),
 * pending updates and loitering still go out. Thread: the owner. */
void vg_events_coast(vg_events_t *e, const vg_events_frame_t *f, vg_events_emit_fn emit, void *emitter);

/* Ends every open event with `reason` (stream ended, camera stopping) at
 * the last frame's time. Thread: the owner, or main while no worker runs
 * the camera. */
void vg_events_flush(vg_events_t *e, const char *reason, vg_events_emit_fn emit, void *emitter);

/* Writes the `objects` member of a stats message: per label, objects
 * present now and events started; per line and label, crossings in and
 * out. Thread: any (relaxed reads). */
void vg_events_write_stats(const vg_events_t *e, vg_jsonw_t *w);

/* The least score a detection of this label needs to be confident (start
 * and continue tracks in stage 1, be published on det.). Thread: any. */
float vg_events_min_score(const vg_events_t *e, int label);

/* True when d's bottom centre is in its label's object mask (geometry as
 * scaled by the last vg_events_detected). Thread: the owner. */
bool vg_events_masked(const vg_events_t *e, const vg_det_t *d);

/* The id the next new track will get (for an owner that rebuilds the
 * events and wants ids to go on: vg_track_config_t.first_id). Thread: the
 * owner, or main while no worker runs the camera. */
uint64_t vg_events_next_track_id(const vg_events_t *e);

/* Events started since new. Thread: any. */
uint64_t vg_events_started(const vg_events_t *e);

/* The tracker's counters. Thread: the owner. */
void vg_events_track_stats(const vg_events_t *e, vg_track_stats_t *ret);

#endif
