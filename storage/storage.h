/*
 * storage: vigild's one writer of the index (storage/index.h), and the
 * retention of footage.
 *
 * A thread owns the index: the recorders' closed segments and the events of
 * the event.<camera> topic reach it through a queue (vg_storage_segment,
 * vg_storage_event never block), so the index has one writer. At start the
 * index is opened (a corrupt one moved aside and rebuilt) and reindexed
 * from the files: segments a crash left out of the index are added.
 *
 * Retention, every interval_us and when asked (vg_storage_make_room):
 *  - by age, per camera: a segment older than retain.continuous days
 *    (continuous footage) or retain.motion days (motion/objects footage)
 *    goes, unless an event's span overlaps it, then retain.events days
 *    (the longest of those that apply); event rows and their snapshot
 *    files go after retain.events days;
 *  - by size, over every camera: while the recordings exceed max_size or
 *    the filesystem has less than min_free, the oldest segment goes, those
 *    that belong to events last.
 * The open segment of a recorder is never in the index, so never deleted.
 *
 * Owns: the index connection and the storage thread.
 * Thread: new/set_cameras/free from the main thread; segment/event/
 * make_room from any thread; vg_storage_retain_pass from the index's
 * owner (tests call it with their own clock).
 * Blocks on: the disk, on its own thread only (and vg_storage_new's reindex).
 */
#ifndef VG_STORAGE_H
#define VG_STORAGE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/recorder.h"
#include "storage/index.h"

typedef struct {
    char camera[64];
    double continuous_days, motion_days, events_days; /* retain.* */
    int64_t pre_capture_us, post_capture_us;          /* an event's span of footage */
} vg_storage_camera_t;

typedef struct {
    const char *state_dir;     /* copied */
    uint64_t max_size;         /* bytes of recordings; 0 = no limit */
    uint64_t min_free;         /* bytes left free on the filesystem; 0 = no limit */
    int64_t interval_us;       /* retention pass period; 0 = 30 s */
    const vg_storage_camera_t *cameras; /* copied; retain per camera */
    int n_cameras;
    vg_storage_camera_t fallback; /* footage of a camera not (or no longer) configured */
} vg_storage_config_t;

/* Relaxed atomics (statistics); the storage thread writes them. */
typedef struct {
    _Atomic uint64_t segments;  /* segments indexed since start */
    _Atomic uint64_t deleted;   /* segments deleted by retention */
    _Atomic uint64_t deleted_bytes;
    _Atomic uint64_t events;    /* event messages indexed */
    _Atomic uint64_t errors;    /* index writes that failed */
    _Atomic uint64_t used;      /* bytes of recordings after the last pass */
    _Atomic int low_space;      /* 1: after the last pass min_free or max_size still not met */
} vg_storage_stats_t;

typedef struct vg_storage vg_storage_t;

/* What the start-up reindex found (for the daemon's log). */
typedef struct {
    bool rebuilt;              /* the index was corrupt and started anew */
    int added, removed, recovered;
} vg_storage_startup_t;

/* Opens the index, reindexes from the files and starts the thread. Returns 0
 * or a negative errno with the cause in err. Thread: main. */
int vg_storage_new(const vg_storage_config_t *cfg, vg_storage_t **ret, vg_storage_startup_t *ret_startup,
                   char *err, size_t errlen);

/* Hands a closed segment to the index (recorder's on_segment). Never blocks
 * (a mutex held for a list append). Thread: any. */
void vg_storage_segment(vg_storage_t *st, const vg_record_segment_t *seg);

/* Hands an event.<camera> message body (JSON, docs/events.md) to the index.
 * Thread: any. */
void vg_storage_event(vg_storage_t *st, const char *camera, const char *json, size_t len);

/* Asks for a retention pass now (a recorder hit a full disk). Thread: any. */
void vg_storage_make_room(vg_storage_t *st);

/* Replaces the per-camera retention (reload). Returns 0 or -ENOMEM.
 * Thread: main. */
int vg_storage_set_cameras(vg_storage_t *st, const vg_storage_camera_t *cameras, int n);

/* The counters, valid until vg_storage_free. Thread: any (relaxed loads). */
const vg_storage_stats_t *vg_storage_stats(const vg_storage_t *st);

/* Stops the thread after it indexed what was queued, closes the index.
 * Accepts NULL. Thread: main. */
void vg_storage_free(vg_storage_t **st);

/* One retention pass on ix at now_us (UTC). free_bytes: the filesystem's
 * free space, or UINT64_MAX to ask statvfs. Writes the segments deleted
 * and the bytes left to *ret_deleted and *ret_used (may be NULL). Returns 1
 * when max_size and min_free are met, 0 when they could not be (nothing
 * left to delete), -EIO. Thread: the index's owner. */
int vg_storage_retain_pass(vg_index_t *ix, const vg_storage_config_t *cfg, int64_t now_us, uint64_t free_bytes,
                           int *ret_deleted, uint64_t *ret_used);

#endif
