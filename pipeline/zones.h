/*
 * zones: the geometry of a camera's zones, lines and masks, and the types
 * that describe them (the daemon's config fills these; pipeline/ owns them).
 *
 * A polygon or line is given either in source-frame pixels or in 0..1 of
 * the frame (`normalized`: every coordinate of it lies in 0..1); it is scaled
 * to pixels once the frame size is known (vg_polygon_scale), never per frame.
 * An object is "at" the bottom centre of its box, where feet or wheels touch
 * the ground: zones, lines and object masks test that point.
 *
 * Owns: nothing (plain values).
 * Thread: any; pure functions.
 * Blocks on: nothing.
 */
#ifndef VG_ZONES_H
#define VG_ZONES_H

#include <stdbool.h>

#include "pipeline/track/track.h"

#define VG_POLYGON_MAX_POINTS 16
#define VG_ZONES_MAX 8         /* zones per camera */
#define VG_LINES_MAX 8         /* lines per camera */
#define VG_OBJECTS_MAX 8       /* labels with their own filter (objects:) per camera */
#define VG_MASK_MAX_POLYGONS 4 /* polygons in one object mask */
#define VG_MOTION_MASK_MAX 8   /* polygons in a motion mask */
#define VG_ZONE_MAX_LABELS 8   /* labels a zone or line is about */
#define VG_ZONE_NAME_MAX 64
#define VG_LABEL_NAME_MAX 32

typedef struct {
    float x, y;
} vg_point_t;

typedef struct {
    int n;            /* points, 3..VG_POLYGON_MAX_POINTS */
    bool normalized;  /* points in 0..1 of the frame (else source pixels) */
    vg_point_t p[VG_POLYGON_MAX_POINTS];
} vg_polygon_t;

typedef struct {
    char name[VG_ZONE_NAME_MAX];
    vg_polygon_t poly;
    int inertia;           /* detector frames the point must be inside (outside) before entering (leaving) counts */
    double loitering_time; /* seconds in the zone after which an update says so; 0 = off */
    bool required;         /* events start only for objects that entered a required zone */
    int n_labels;          /* 0 = every label */
    char labels[VG_ZONE_MAX_LABELS][VG_LABEL_NAME_MAX];
} vg_zone_t;

/* A line from a to b. Crossing it towards the right-hand side of a->b (as
 * seen on the picture, y down) is direction "in", the other way "out". */
typedef struct {
    char name[VG_ZONE_NAME_MAX];
    vg_point_t a, b;
    bool normalized;
    int n_labels; /* 0 = every label */
    char labels[VG_ZONE_MAX_LABELS][VG_LABEL_NAME_MAX];
} vg_line_t;

/* One label's settings (the config's objects: entries). */
typedef struct {
    char label[VG_LABEL_NAME_MAX];
    vg_track_filter_t filter; /* < 0 = the tracker's default */
    int n_mask;               /* detections whose bottom centre is in one of these are dropped */
    vg_polygon_t mask[VG_MASK_MAX_POLYGONS];
} vg_object_filter_t;

/* True when (x, y) is inside p (even-odd rule; p in pixels). Thread: any. */
bool vg_polygon_contains(const vg_polygon_t *p, float x, float y);

/* True when two edges of p that are not neighbours intersect, or p has two
 * equal consecutive points. Thread: any. */
bool vg_polygon_self_intersects(const vg_polygon_t *p);

/* p in pixels of a w x h frame (a normalized polygon is scaled, a pixel one
 * copied). Thread: any. */
void vg_polygon_scale(const vg_polygon_t *p, int w, int h, vg_polygon_t *ret);

/* A point scaled the same way. Thread: any. */
vg_point_t vg_point_scale(vg_point_t p, bool normalized, int w, int h);

/* Whether the move from p to q crosses the segment a-b: +1 towards the
 * right-hand side of a->b ("in"), -1 towards its left ("out"), 0 when it
 * does not cross (touching an end counts once: from strictly one side to
 * the other side or onto the line). Thread: any. */
int vg_segment_cross(vg_point_t a, vg_point_t b, vg_point_t p, vg_point_t q);

/* True when label is in labels[0..n) or n == 0. Thread: any. */
bool vg_zone_label_matches(const char (*labels)[VG_LABEL_NAME_MAX], int n, const char *label);

#endif
