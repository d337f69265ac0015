/*
 * live: the hand-over of a camera's analysed frames to its live views
 * (GET /api/cameras/{c}/latest.jpg and live.mjpeg, daemon/http_live.c).
 *
 * Per camera one slot: a reference to the last offered AVFrame and the
 * objects the analysis saw on it. The camera's worker offers a frame after
 * analysing it (vg_live_offer); the slot takes it only while someone
 * watches (a viewer count the HTTP threads raise and lower) and at most
 * max_fps times per second, and never waits: if an HTTP thread holds the
 * slot's lock at that moment, the frame is skipped. With no viewer an
 * offer is one relaxed atomic load. JPEG encoding and box drawing happen on
 * the HTTP connection's thread, from its own reference to the frame.
 *
 * Slots are reference-counted: the camera holds one, the registry one, and
 * each HTTP request that uses it one, so a camera removed on SIGHUP while a
 * browser streams it frees nothing under the stream (which then ends).
 *
 * Owns: per slot, one AVFrame reference (only while watched) and a copy of
 * its objects; the registry owns a table of slots by camera name.
 * Thread: vg_live_offer from the camera's current worker; new/unref and the
 * registry's put/remove from the main thread; get/watch/take from HTTP
 * threads. Blocks on: nothing in vg_live_offer (trylock); the HTTP side
 * waits on a condition variable for the next frame, bounded by a timeout.
 */
#ifndef VG_LIVE_H
#define VG_LIVE_H

#include <stdbool.h>
#include <stdint.h>

#include <libavutil/frame.h>

#include "pipeline/analysis.h"
#include "pipeline/frame.h"

#define VG_LIVE_MAX_OBJECTS 32

typedef struct {
    char label[32];
    float score;
    int box[4]; /* source pixels x1 y1 x2 y2 */
} vg_live_object_t;

typedef struct vg_live vg_live_t;
typedef struct vg_live_registry vg_live_registry_t;

/* A slot for camera `camera` handing over at most max_fps frames a second
 * (> 0). One reference, the caller's. Returns 0, -EINVAL or -ENOMEM.
 * Thread: main. */
int vg_live_new(const char *camera, double max_fps, vg_live_t **ret);

/* Takes one more reference; returns l. Thread: any. */
vg_live_t *vg_live_ref(vg_live_t *l);

/* Drops a reference (the last frees the slot and its frame). Accepts NULL;
 * sets *l = NULL. Thread: any. */
void vg_live_unref(vg_live_t **l);

/* Worker: offers the frame it just analysed and the analysis' objects on
 * it. Takes a reference to f->av only when watched, due (max_fps) and the
 * slot is free; otherwise returns at once. f and a are borrowed. Accepts a
 * NULL slot. Never blocks. Thread: the camera's current worker. */
void vg_live_offer(vg_live_t *l, const vg_frame_t *f, const vg_analysis_t *a);

/* The camera's name (fixed for the slot's life). Thread: any. */
const char *vg_live_camera(const vg_live_t *l);

/* A viewer arrives (+1) or leaves (-1). While the count is above 0 the
 * worker hands frames over; when it falls to 0 the slot lets go of its
 * frame. Thread: HTTP. */
void vg_live_watch(vg_live_t *l, int delta);

/* Waits up to timeout_ms for a frame newer than *seq (0 = any frame), then
 * puts a new reference to it in dst (unref'd first), its objects in
 * ret_objects (VG_LIVE_MAX_OBJECTS) and its sequence number in *seq.
 * Returns the number of objects (>= 0), -ETIMEDOUT when no newer frame came
 * (dst untouched), -ESHUTDOWN once vg_live_close was called, -ENOMEM.
 * Thread: HTTP (blocks on the slot's condition variable). */
int vg_live_take(vg_live_t *l, uint64_t *seq, int timeout_ms, AVFrame *dst, vg_live_object_t *ret_objects,
                 int64_t *ret_wall_us);

/* The camera is going away: wakes every waiter and makes vg_live_take
 * return -ESHUTDOWN. Thread: main. */
void vg_live_close(vg_live_t *l);

/* The table of slots by camera name. Thread: main for new/free/put/remove;
 * any for get. */
int vg_live_registry_new(vg_live_registry_t **ret);
void vg_live_registry_free(vg_live_registry_t **r);
/* Adds l under its camera's name (the registry takes a reference), replacing
 * any slot of that name. Returns 0 or -ENOSPC. */
int vg_live_registry_put(vg_live_registry_t *r, vg_live_t *l);
/* Removes l (if it is the one registered under its name) and closes it. */
void vg_live_registry_remove(vg_live_registry_t *r, vg_live_t *l);
/* The slot of camera `name` with a new reference (caller unrefs), or NULL. */
vg_live_t *vg_live_registry_get(vg_live_registry_t *r, const char *name);

#endif
