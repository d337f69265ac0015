/*
 * cascade: faces and their expression, and a classifier, on top of a
 * frame's detections.
 *
 * A face detector (BlazeFace) runs on the upper part of each person box (or
 * on the whole frame), and an expression classifier (the FER2013 `emotion`
 * model) on each face found. The result rides on the detection as an
 * attribute: {"face": [x1, y1, x2, y2], "expression": "happy",
 * "expression_score": 0.83} (docs/events.md).
 * A classifier (one `vigil train classifier` made, say) runs on the boxes
 * of chosen labels (a crop widened by classify_margin on each side, as
 * `vigil dataset export` cuts its crops) and adds {"class": "staff",
 * "class_score": 0.91}. Either stage may be absent, not both.
 *
 * Crops are vg_image_t views of the frame (offset plane pointers, even
 * offsets for 4:2:0), so nothing is copied; the tensor preparation of each
 * model scales the crop to its input. A run allocates nothing.
 *
 * Owns: nothing but its config; the detectors (or their inference actors)
 * are borrowed and outlive the cascade. With actors, cameras share the
 * models: each crop runs on the model's actor thread while the worker waits
 * (crops of one frame depend on each other: faces, then their expression).
 * Thread: vg_cascade_new/free on the main thread; vg_cascade_run from the
 * camera's worker (one run at a time per cascade).
 * Blocks on: the actors, while they run this cascade's crops (behind at most
 * the batch in progress).
 */
#ifndef VG_CASCADE_H
#define VG_CASCADE_H

#include <stdbool.h>

#include "pipeline/correct/image.h"
#include "pipeline/detect.h"
#include "pipeline/inference.h"

typedef enum {
    VG_CASCADE_ON_PERSON = 0, /* faces looked for in the upper part of person boxes */
    VG_CASCADE_ON_FRAME,      /* faces looked for in the whole frame; each becomes an object */
} vg_cascade_on_t;

#define VG_CASCADE_CLASSIFY_MAX 16 /* labels a classifier may be asked to look at */

typedef struct {
    vg_detector_t *face;        /* borrowed: the face detector; NULL = no faces (needs a classifier) */
    vg_detector_t *expression;  /* borrowed: classifier run on each face; NULL = faces only */
    vg_inference_t *face_actor; /* borrowed: the actor owning `face`; NULL = run it on the caller */
    vg_inference_t *expression_actor; /* idem for `expression` */
    const vg_detector_t *detector; /* borrowed: the camera's detector, whose "person" label
                                      ON_PERSON looks for; NULL forces ON_FRAME */
    vg_cascade_on_t on;
    int max_people;             /* person boxes looked at per frame, best first; 0 = 8 */
    int min_size;               /* smallest crop side (pixels) worth a face pass; 0 = 32 */
    float expression_margin;    /* the classifier sees a square of the face box's longer side
                                   plus this fraction of it on each side; 0 = 0.2, max 2 */
    vg_detector_t *classifier;  /* borrowed: classifier run on detections; NULL = none */
    vg_inference_t *classifier_actor; /* the actor owning `classifier`; NULL = run it on the caller */
    const char *classify_on;    /* borrowed during vg_cascade_new: "person,car", labels of `detector`
                                   whose boxes are classified (labels it lacks are ignored) */
    float classify_margin;      /* each side of the box widened by this fraction; 0 = 0.1, max 1 */
} vg_cascade_config_t;

/* What the cascade found for one detection. */
typedef struct {
    bool has_face;
    float face[4];          /* x1, y1, x2, y2 in source pixels */
    float face_score;       /* 0..1 */
    int expression;         /* label index of the classifier, -1 = none */
    float expression_score; /* 0..1 */
    const char *label;      /* non-NULL for an object the cascade added (ON_FRAME): "face" */
    int cls;                /* label index of the classifier, -1 = not classified */
    float cls_score;        /* 0..1 */
} vg_cascade_attr_t;

typedef struct vg_cascade vg_cascade_t;

/*
 * Makes a cascade. cfg is copied; the detectors are borrowed and must
 * outlive it. With ON_PERSON and a detector without a "person" label (or no
 * detector) the cascade runs ON_FRAME. Returns 0 and *ret (free with
 * vg_cascade_free), -EINVAL with neither a face detector nor a classifier,
 * a classifier without a detector, or a value out of range, -ENOMEM; *ret untouched
 * on failure. Thread: main.
 */
int vg_cascade_new(const vg_cascade_config_t *cfg, vg_cascade_t **ret);

/* Frees; accepts NULL and *p == NULL; sets *p = NULL. Thread: main. */
void vg_cascade_free(vg_cascade_t **p);

/* The mode the cascade really runs in (ON_FRAME when it found no person label). */
vg_cascade_on_t vg_cascade_mode(const vg_cascade_t *c);

/*
 * Runs the cascade on img, whose detections dets[0..n) (source pixels, from
 * the camera's detector) are borrowed. ret_attrs (max entries) gets one
 * attribute per detection: ret_attrs[i] belongs to dets[i]. ON_FRAME appends
 * the faces found as new detections after the n given ones (label index -1,
 * ret_attrs[k].label = "face", box = face), at most max in all; the
 * classifier runs on dets[0..n) of its labels before the faces; when the
 * camera's detector is the face detector itself, its boxes are the faces
 * and only the expression runs (nothing appended).
 * Returns the number of detections now in dets (>= n), or a negative errno
 * from a detector (-EINVAL for n > max or a bad image); dets[0..n) are never
 * changed (on failure ret_attrs and dets[n..max) may be partly written).
 * No allocation.
 * Thread: the camera's worker.
 */
int vg_cascade_run(vg_cascade_t *c, const vg_image_t *img, vg_det_t *dets, int n, int max,
                   vg_cascade_attr_t *ret_attrs);

/* The expression's name ("happy"), or NULL for -1 / out of range. Thread: any. */
const char *vg_cascade_expression(const vg_cascade_t *c, int expression);

/* The classifier's class name, or NULL for -1 / no classifier. Thread: any. */
const char *vg_cascade_class(const vg_cascade_t *c, int cls);

/*
 * A view of the rectangle (x, y, w, h) of src, clamped to it, in *ret (no
 * copy: plane pointers offset into src). For 4:2:0 the origin is rounded
 * down to even coordinates and the size up to even (within src), so the
 * chroma planes stay aligned with the luma. Returns 0, or -EINVAL when the
 * clamped rectangle is empty (*ret untouched). Thread: any.
 */
int vg_cascade_crop(const vg_image_t *src, int x, int y, int w, int h, vg_image_t *ret);

#endif
