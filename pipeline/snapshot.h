/*
 * snapshot: a camera's event snapshots as JPEG (libturbojpeg): the frame,
 * or the object's box with a margin (crop), scaled to a height, with the
 * box and its label drawn (overlay), encoded straight from the YUV planes; and written
 * as <dir>/<event-id>.jpg atomically (a temporary file renamed over).
 *
 * Called only when an event's snapshot improves (events.h: a better score x
 * area, box not cut by the frame edge, at most once per `every` per event),
 * so the cost (a copy of the picture, the encode, a file write into the page
 * cache: a few ms at 720p) is paid a few times per object, not per frame.
 * The write happens on the worker: a small file into the page cache;
 * moving it to a writer thread is left for when the recorder brings one.
 *
 * Owns: the turbojpeg compressor, the planes of the picture being encoded
 * and the JPEG buffer, sized on the first snapshot and again only when a
 * bigger picture comes (no allocation per frame or per snapshot in steady
 * state).
 * Thread: the worker that owns the camera; one call at a time.
 * Blocks on: the file write (page cache).
 */
#ifndef VG_SNAPSHOT_H
#define VG_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/correct/image.h"
#include "pipeline/events.h"

typedef struct {
    bool enabled;
    bool corrected;  /* from the corrected analysis copy (the analysis picks the image) */
    bool overlay;    /* draw the box and "label NN%" */
    bool crop;       /* the box with a margin of half its size, not the whole frame */
    int height;      /* scale to this height (0 = as is) */
    int quality;     /* 1..100 (0 = 80) */
    double every_s;  /* at most one snapshot per event this often (events.h) */
    char dir[512];   /* where files go ("" = none): state_dir/snapshots/<camera> */
} vg_snapshot_config_t;

typedef struct vg_snapshot vg_snapshot_t;

/* Returns 0, -EINVAL or -ENOMEM (the compressor could not be made); creates
 * no directory (the first write does). Thread: any. */
int vg_snapshot_new(const vg_snapshot_config_t *cfg, vg_snapshot_t **ret);
/* Frees s (accepts NULL and *s == NULL) and sets *s = NULL. Thread: the owner. */
void vg_snapshot_free(vg_snapshot_t **s);

/* Encodes img (YUV 4:2:0 planar, NV12 or RGB24; borrowed) for snap. On
 * success *ret_jpeg (owned by s, valid until the next call) and *ret_len.
 * Returns 0, -ENOMEM, -ENOTSUP (pixel format) or -EIO (the encoder failed).
 * Thread: the owner. */
int vg_snapshot_encode(vg_snapshot_t *s, const vg_image_t *img, const vg_events_snap_t *snap, const uint8_t **ret_jpeg,
                       size_t *ret_len);

/* Writes jpeg as <dir>/<event_id>.jpg through a temporary file and rename
 * (readers never see half a file), making dir if needed. 0 when the config
 * has no dir. Returns 0 or a negative errno. Thread: the owner. */
int vg_snapshot_write(vg_snapshot_t *s, const char *event_id, const uint8_t *jpeg, size_t len);

/* Deletes *.jpg files in dir older than max_age_s (0 = none). Returns the
 * number deleted or a negative errno (-ENOENT: no dir yet). Thread: any
 * (the daemon's main thread; it touches only files). */
int vg_snapshot_prune(const char *dir, double max_age_s);

#endif
