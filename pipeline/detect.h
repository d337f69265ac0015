/*
 * detect: one CNN detector (or classifier) ready to run on an analysis
 * image: the engine (models/engine), its head decoder (models/heads), its
 * labels, and the fused tensor preparation (pipeline/correct/tensor_prep)
 * writing straight into the engine's input buffer.
 *
 * The preprocessing (size, layout, colour, mean/scale, letterbox or stretch)
 * comes from the manifest that scripts/fetch-models.sh writes beside each
 * converted model (<model>.json); thresholds and precision come from the
 * config. A model without a manifest is described by the config alone.
 *
 * Owns: the engine instance, head, labels, its own tensor preparer.
 * Thread: one owner at a time. In vigild the owner is the model's inference
 * actor (pipeline/inference.h), the only thread that runs it; tools and
 * tests that hold a detector run it on their own thread. Labels and names
 * (const functions) may be read by anyone while it lives.
 * Blocks on: nothing (a run is CPU work).
 */
#ifndef VG_DETECT_H
#define VG_DETECT_H

#include <stdbool.h>
#include <stddef.h>

#include "models/heads/heads.h"
#include "pipeline/correct/image.h"
#include "pipeline/correct/tensor_prep.h"

#define VG_DETECT_MAX 64      /* detections kept per frame */
#define VG_DETECT_MAX_BATCH 16 /* images per engine run */
#define VG_DETECT_MAX_SOURCE_WIDTH 8192 /* widest image a detector takes (8K) */
/* For a model without a manifest whose config sets no threshold / nms_iou */
#define VG_DETECT_DEFAULT_THRESHOLD 0.35f
#define VG_DETECT_DEFAULT_NMS_IOU 0.45f

typedef struct vg_detector vg_detector_t;

/* Which of a vg_detector_config_t's preprocessing fields were given on
 * purpose (in a config file) rather than left at their defaults. */
enum {
    VG_DETECTOR_GIVEN_HEAD = 1u << 0,
    VG_DETECTOR_GIVEN_INPUT = 1u << 1,
    VG_DETECTOR_GIVEN_COLOR = 1u << 2,
    VG_DETECTOR_GIVEN_MEAN = 1u << 3,
    VG_DETECTOR_GIVEN_SCALE = 1u << 4,
    VG_DETECTOR_GIVEN_LETTERBOX = 1u << 5,
};

/* What a detector is made from, besides its files. A model with a manifest
 * (<model>.json) takes its head, input, colour, mean/scale and letterbox from
 * it; these fields describe a model without one. A field marked in `given`
 * that disagrees with the manifest is an error naming the key ("head",
 * "input", ...), never silently overridden. */
typedef struct {
    char name[64];      /* for messages: "model 'detector': ..." */
    char head[16];      /* yolov5 | yolov8 | nanodet | ssd | centernet | classifier */
    int input_w, input_h;
    double threshold;   /* score threshold 0..1; < 0 = the manifest's, else VG_DETECT_DEFAULT_THRESHOLD */
    double nms_iou;     /* NMS IoU 0..1; < 0 = the manifest's, else VG_DETECT_DEFAULT_NMS_IOU */
    char precision[8];  /* fp32 | bf16; "" = fp32 */
    char color[8];      /* rgb | bgr | gray; "" = rgb */
    float mean[3];      /* x = pixel * scale - mean */
    float scale[3];
    bool letterbox;     /* letterbox (true) or stretch (false) */
    double low_score;   /* > 0 and below the threshold: boxes are kept down to this score (the
                           tracker's low-score stage); vg_detector_threshold still says threshold */
    unsigned given;     /* VG_DETECTOR_GIVEN_*: fields set on purpose, checked against a manifest */
} vg_detector_config_t;

/* Loads model `m` (paths already resolved: onnx_path, labels_path may be
 * NULL). Returns 0, or a negative errno with one line in err naming the model
 * and the cause ("model 'detector': cannot load '/x.onnx': ..."). A given
 * field that contradicts the manifest fails with -EINVAL and err starting
 * with the key: "head: 'classifier', but the manifest '/x.json' says
 * 'nanodet' ...". Thread: any (the new detector's owner). */
int vg_detector_new(const vg_detector_config_t *m, const char *onnx_path, const char *labels_path,
                    vg_detector_t **ret, char *err, size_t errlen);
void vg_detector_free(vg_detector_t **d);

/* The same with an engine planned for `batch` images per run (1..16), for
 * the inference actor (pipeline/inference.h), and `threads` oneDNN threads per
 * run (1 in the daemon: DESIGN §9; more for benchmarks). */
int vg_detector_new_batch(const vg_detector_config_t *m, const char *onnx_path, const char *labels_path, int batch,
                          int threads, vg_detector_t **ret, char *err, size_t errlen);
int vg_detector_batch(const vg_detector_t *d);

/* The input tensor one image makes (what vg_detector_run feeds the engine),
 * for checking the path against other runtimes: writes the floats into dst
 * (n >= their count, which is returned) and the box mapping into
 * ret_xform[4] = {scale_x, scale_y, pad_x, pad_y} (model pixels per source
 * pixel, border). Negative errno on failure. Thread: the owner. */
int vg_detector_prepare(vg_detector_t *d, const vg_image_t *img, float *dst, size_t n, float ret_xform[4]);

/* A model input written elsewhere (by a camera's worker, with a preparer
 * from vg_detector_preparer_new) and what its detections need. */
typedef struct {
    float *tensor;            /* vg_detector_input_size() floats, the model's input for one image */
    vg_tensor_xform_t xform;  /* from vg_tensor_prep_run: maps boxes back to the source */
    int src_w, src_h;         /* the source image's size */
    vg_det_t *dets;           /* where the detections go */
    int max;
} vg_detect_prepared_t;

/* A preparer of this model's input (the settings of its own), for a thread
 * that prepares tensors while another runs the model. Free it with
 * vg_tensor_prep_free. Returns 0 or a negative errno. Thread: any. */
int vg_detector_preparer_new(const vg_detector_t *d, vg_tensor_prep_t **ret);

/* Floats in one image's input tensor. Thread: any. */
size_t vg_detector_input_size(const vg_detector_t *d);

/* The detection threshold (config, else manifest, else the default),
 * whatever low_score the head keeps boxes down to. Thread: any. */
float vg_detector_threshold(const vg_detector_t *d);

/* Runs k (1..batch) prepared inputs in one engine run (copied into the
 * engine's input); ret_n[i] gets input i's detection count (written into
 * in[i].dets) or a negative errno. Returns 0 or the engine's error.
 * Thread: the owner. */
int vg_detector_run_prepared(vg_detector_t *d, const vg_detect_prepared_t *in, int k, int *ret_n);

/* Runs k (1..batch) images in one engine run; ret_n[i] gets image i's
 * detection count (written into dets[i], at most max[i]) or a negative
 * errno. Returns 0 or the engine's error. Thread: the owner. */
int vg_detector_run_batch(vg_detector_t *d, const vg_image_t *const *imgs, int k, vg_det_t *const *dets,
                          const int *max, int *ret_n);

/* Runs on img and writes at most max detections (boxes in img's pixels, best
 * first) into dets; returns how many, or a negative errno.
 * Thread: the owner. */
int vg_detector_run(vg_detector_t *d, const vg_image_t *img, vg_det_t *dets, int max);

/* Runs on img and copies the model's first output (as the model gives it:
 * for a classifier, its class scores before any threshold) into ret, at most
 * n values. Returns the output's number of values (may exceed n), or a
 * negative errno. Thread: the owner. */
int vg_detector_scores(vg_detector_t *d, const vg_image_t *img, float *ret, int n);

/* The label's name ("person"), or NULL when out of range; the model's name.
 * Thread: any. */
const char *vg_detector_label(const vg_detector_t *d, int label);
const char *vg_detector_name(const vg_detector_t *d);

/* The number of labels the head scores. Thread: any. */
int vg_detector_classes(const vg_detector_t *d);

/* The labels file a model's manifest names ("coco80.txt"), looked for beside
 * the model, then in each folder of dirs (NULL-terminated; the caller knows
 * where labels are installed); true and its path in buf when found.
 * Thread: any; blocks on file reads. */
bool vg_detector_find_labels(const char *onnx, const char *const *dirs, char *buf, size_t len);
/* Bytes the engine holds (activation arena + packed weights, approximately).
 * Thread: any. */
size_t vg_detector_memory(const vg_detector_t *d);

#endif
