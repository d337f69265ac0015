/*
 * motion: finds moving regions in a camera's frames, on downscaled luma.
 *
 * The frame's Y plane is box-averaged to `width` columns (320 by default),
 * compared with a running background (exponential average, 8.8 fixed point,
 * updated slower where motion is), thresholded, dilated 3x3, and labelled
 * into 8-connected components; components smaller than min_area become
 * noise, the rest are boxes in source-frame pixels. A sudden change of most
 * of the picture (lights switched, camera exposure jump) re-seeds the
 * background and is reported as `lightswitch` rather than as motion.
 *
 * A motion mask (polygons, pixels or 0..1 of the frame) is rasterised at the
 * downscaled size when the buffers are sized; masked pixels never count as
 * changed.
 *
 * Owns: the per-camera background and scratch buffers, sized on the first
 * frame and again only if the frame size changes (no allocation per frame).
 * Thread: the worker that currently owns the camera; one call at a time.
 * Blocks on: nothing.
 */
#ifndef VG_MOTION_H
#define VG_MOTION_H

#include <stdbool.h>
#include <stdint.h>

#include "pipeline/zones.h"

#define VG_MOTION_MAX_BOXES 32

typedef struct {
    int threshold;    /* luma difference counted as change, 1..255 (default 25) */
    double min_area;  /* smallest component, fraction of the frame (default 0.002) */
    int width;        /* downscaled width, 64..1920 (default 320) */
    const vg_polygon_t *mask; /* regions ignored (a clock, a flag, trees): borrowed, copied at new */
    int n_mask;               /* 0..VG_MOTION_MASK_MAX */
} vg_motion_config_t;

typedef struct {
    int x1, y1, x2, y2; /* source-frame pixels, x2/y2 exclusive */
    int pixels;         /* changed pixels in the component (downscaled units) */
    double fill;        /* pixels over the box's area (downscaled), 0..1 */
} vg_motion_box_t;

typedef struct {
    int n_boxes;                 /* boxes, largest first */
    vg_motion_box_t boxes[VG_MOTION_MAX_BOXES];
    int n_dropped_boxes;         /* components beyond VG_MOTION_MAX_BOXES */
    double changed;              /* changed share of the frame, 0..1 */
    bool lightswitch;            /* background re-seeded this frame */
    bool warming_up;             /* first frame: background just seeded */
} vg_motion_result_t;

typedef struct vg_motion vg_motion_t;

/* Returns 0, -EINVAL (config out of range) or -ENOMEM. */
int vg_motion_new(const vg_motion_config_t *cfg, vg_motion_t **ret);
void vg_motion_free(vg_motion_t **motion);

/* Analyses one frame's luma plane (8-bit, `linesize` bytes per row).
 * Returns 0 and fills *ret_result; -ENOMEM if a size change needed memory
 * that could not be had (*ret_result then untouched). */
int vg_motion_process(vg_motion_t *motion, const uint8_t *luma, int linesize, int width,
                      int height, vg_motion_result_t *ret_result);

/* Forget the background (e.g. after a seek or reconnect). */
void vg_motion_reset(vg_motion_t *motion);

#endif
