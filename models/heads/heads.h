/*
 * heads: decode a detector's or classifier's raw float outputs into boxes.
 *
 * Kinds: NanoDet (GFL: class probabilities + 4 x (reg_max+1) distance bins
 * per location), YOLOv5 (1 x N x (5+C), objectness), YOLOv8 (1 x (4+C) x N),
 * SSD-style anchors (centre/variance or BlazeFace pixel offsets), CenterNet
 * (heat map + size + offset) and a classifier (top-1). Candidates above a
 * per-label threshold go through per-class greedy NMS; boxes are then mapped
 * from model-input pixels back to source-frame pixels through the
 * letterbox/stretch transform the tensor was prepared with.
 *
 * Owns: a copy of the config (thresholds, anchors) and the candidate scratch,
 * all sized at vg_head_new(); decoding never allocates.
 * Thread: a head is used by one thread at a time (the inference thread);
 * distinct heads are independent. The output tensors are only read.
 * Blocks on: nothing.
 */
#ifndef VG_HEADS_H
#define VG_HEADS_H

#include <stdbool.h>
#include <stddef.h>

#define VG_HEAD_MAX_LEVELS 8  /* NanoDet strides / SSD output groups */
#define VG_HEAD_MAX_OUTPUTS 16

/* One detection. Boxes are in source-frame pixels when decoded with a
 * transform, else in model-input pixels; x2 > x1, y2 > y1. */
typedef struct {
    float x1, y1, x2, y2;
    float score; /* 0..1 */
    int label;   /* class index (line of the labels file) */
} vg_det_t;

typedef enum {
    VG_HEAD_NANODET = 0,
    VG_HEAD_YOLOV5,
    VG_HEAD_YOLOV8,
    VG_HEAD_SSD,
    VG_HEAD_CENTERNET,
    VG_HEAD_CLASSIFIER,
} vg_head_kind_t;

/* How the model's class outputs are to be read. */
typedef enum {
    VG_HEAD_SCORE_PROB = 0, /* already probabilities (NanoDet here, YOLO exports) */
    VG_HEAD_SCORE_LOGIT,    /* independent logits: sigmoid */
    VG_HEAD_SCORE_SOFTMAX,  /* logits over the classes of one box: softmax */
} vg_head_score_t;

/* NanoDet distance from the 4 x (reg_max+1) bins of one side. */
typedef enum {
    VG_HEAD_GFL_EXPECTATION = 0, /* softmax over the bins, expectation x stride (NanoDet) */
    VG_HEAD_GFL_ARGMAX,          /* arg-max bin x stride (what human's nanodet.ts does) */
} vg_head_gfl_t;

/* SSD box encoding relative to an anchor (cx, cy, w, h in input pixels). */
typedef enum {
    /* raw (tx, ty, tw, th): cx = a.cx + tx*v0*a.w, cy = a.cy + ty*v1*a.h,
     * w = a.w*exp(tw*v2), h = a.h*exp(th*v3) (Caffe/TF SSD; v = variance) */
    VG_HEAD_SSD_CENTER_VARIANCE = 0,
    /* raw (dx, dy, w, h, ...): cx = a.cx + dx*a.w, cy = a.cy + dy*a.h,
     * w = w*a.w, h = h*a.h (BlazeFace, whose anchors have unit w, h) */
    VG_HEAD_SSD_PIXEL_OFFSET,
} vg_head_ssd_enc_t;

typedef struct {
    float cx, cy, w, h; /* model-input pixels */
} vg_head_anchor_t;

typedef struct {
    vg_head_kind_t kind;
    int input_w, input_h;          /* model input, pixels */
    int num_classes;               /* labels the model scores (without an SSD background) */
    float threshold;               /* keep score >= threshold ... */
    const float *label_thresholds; /* ... or >= this[label] (num_classes entries, NULL = none,
                                      negative entry = use threshold); copied */
    float nms_iou;                 /* per-class NMS: drop a box whose IoU with a better one of
                                      its class is > nms_iou; 0 = no NMS */
    int max_candidates;            /* boxes above threshold kept for NMS (the best ones);
                                      0 = 4096 */
    vg_head_score_t scores;

    /* NANODET: outputs are, per level in stride order, class scores
     * [1, N, num_classes] then bins [1, N, 4*(reg_max+1)], N = ceil(h/s)*ceil(w/s),
     * locations row-major; centre of location (x, y) = ((x+0.5)*s, (y+0.5)*s). */
    int num_levels;
    int strides[VG_HEAD_MAX_LEVELS];
    int reg_max;          /* 0 = 7 (bins = reg_max + 1) */
    vg_head_gfl_t gfl;
    bool corner_centers;  /* centres at (x*s, y*s) instead of NanoDet's ((x+0.5)*s, ...) */

    /* SSD: outputs are num_levels score tensors [1, N_g, K] then num_levels box
     * tensors [1, N_g, >= 4], anchor groups concatenated in that order.
     * K = num_classes (+1 with ssd_background: class 0 is background). */
    const vg_head_anchor_t *anchors; /* num_anchors entries, copied */
    int num_anchors;
    vg_head_ssd_enc_t ssd_encoding;
    float variance[4];    /* CENTER_VARIANCE: x, y, w, h; 0 = 0.1, 0.1, 0.2, 0.2 */
    bool ssd_yx;          /* raw boxes store y before x (TF object detection API) */
    bool ssd_background;

    /* CENTERNET: outputs heat map [1, C, H, W], size [1, 2, H, W] (w, h) and
     * offset [1, 2, H, W] (x, y), in output cells; a peak is a 3x3 local max.
     * With centernet_ltrb: heat map and [1, 4, H, W] distances left, top,
     * right, bottom in input pixels from the centre (x*s, y*s) (the
     * mobilenetv3_centernet of human-models). */
    int output_stride;    /* 0 = 4 */
    bool centernet_ltrb;
} vg_head_config_t;

/* A raw output: data plus its shape (batch 1). */
typedef struct {
    const float *data; /* borrowed */
    int ndim;
    int dims[4];
} vg_head_tensor_t;

/* Model-input pixels -> source pixels: src_x = (x - pad_x) / scale_x.
 * Same fields and meaning as pipeline/correct/tensor_prep.h's vg_tensor_xform_t. */
typedef struct {
    float scale_x, scale_y; /* model pixels per source pixel */
    float pad_x, pad_y;     /* model pixels of border on the left / top */
    int src_w, src_h;       /* clamp boxes to the frame; 0 = no clamp */
} vg_head_xform_t;

/* What the last decode did (for drop counters). */
typedef struct {
    int candidates;   /* boxes above threshold */
    int dropped;      /* of those, not kept because the scratch was full (lowest scores) */
    int kept;         /* after NMS */
    int truncated;    /* kept but not written: max_dets too small */
} vg_head_stats_t;

typedef struct vg_head vg_head_t;

/*
 * Make a head. cfg and what it points to are copied. Returns 0 and *ret
 * (free with vg_head_free), -EINVAL for an inconsistent config (unknown kind,
 * no classes, bad strides or anchors, thresholds outside 0..1), -ENOMEM.
 * *ret is untouched on failure. Thread: any (start-up).
 */
int vg_head_new(const vg_head_config_t *cfg, vg_head_t **ret);

/* Frees a head; accepts NULL and *p == NULL; sets *p = NULL. */
void vg_head_free(vg_head_t **p);

/*
 * Checks that n outputs of these shapes fit the head (data may be NULL).
 * Returns 0, or -EINVAL and writes why into err (errlen bytes, may be NULL).
 * Call it when a model is loaded: a head that does not fit its model is a
 * config error. Thread: any.
 */
int vg_head_check(const vg_head_t *h, const vg_head_tensor_t *outs, int n, char *err, size_t errlen);

/*
 * Decodes one image's outputs into at most max_dets detections, best score
 * first (ties: lower label, then earlier in the output). xf maps boxes to the
 * source frame (NULL: model-input pixels). Returns the number written (>= 0),
 * or -EINVAL when the outputs do not fit (vg_head_check); dets untouched then.
 * Thread: the head's owner.
 */
int vg_head_decode(vg_head_t *h, const vg_head_tensor_t *outs, int n, const vg_head_xform_t *xf,
                   vg_det_t *dets, int max_dets);

/* Counters of the last vg_head_decode(). Thread: the head's owner. */
void vg_head_stats(const vg_head_t *h, vg_head_stats_t *ret);

/*
 * Per-class greedy NMS in place on n boxes: sorts by score (ties: label, then
 * input order), drops a box whose IoU with a kept box of the same label is
 * > iou, and boxes of zero or negative area. scratch holds 2 * n ints.
 * Returns the number kept, first in dets (the rest of dets is the dropped
 * boxes, in no particular order). No allocation. O(n^2) in the worst case
 * (every box of one class overlapping none): vg_head_decode bounds n by
 * max_candidates. Thread: any.
 */
int vg_head_nms(vg_det_t *dets, int n, float iou, int *scratch);

/* IoU of two boxes; 0 when either has no area. Thread: any. */
float vg_head_iou(const vg_det_t *a, const vg_det_t *b);

/* The transform of a centred letterbox of src into in (same rounding as
 * vg_tensor_prep_run) and of a stretch. Thread: any. */
void vg_head_xform_letterbox(int src_w, int src_h, int in_w, int in_h, vg_head_xform_t *ret);
void vg_head_xform_stretch(int src_w, int src_h, int in_w, int in_h, vg_head_xform_t *ret);

/*
 * Anchors on grids: for each level l, a ceil(in/stride[l]) grid, row-major,
 * per_cell[l] anchors per cell centred at ((x+0.5)*s, (y+0.5)*s) with
 * w = h = size (BlazeFace: strides 16, 32; per_cell 2, 6; size 1).
 * Writes at most cap anchors; returns how many there are in all, or -EINVAL
 * for a stride < 1. Thread: any.
 */
int vg_head_anchors_grid(int in_w, int in_h, const int *strides, const int *per_cell, int levels,
                         float size, vg_head_anchor_t *ret, int cap);

/* Parses "nanodet", "yolov5", "yolov8", "ssd", "centernet", "classifier".
 * Returns 0 and *ret, or -EINVAL (*ret untouched). Thread: any. */
int vg_head_kind_parse(const char *name, vg_head_kind_t *ret);

#endif
