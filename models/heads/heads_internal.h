/* heads: what heads.c and heads_kinds.c share. Not a public header. */
#ifndef VG_HEADS_INTERNAL_H
#define VG_HEADS_INTERNAL_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "models/heads/heads.h"

/* Writes a message into err (when given) and returns -EINVAL: the one way
 * heads, kinds and manifests report a bad input. */
__attribute__((format(printf, 3, 4))) static inline int vg_head_fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

struct vg_head {
    vg_head_config_t cfg;      /* copy; label_thresholds and anchors point below */
    float *thr;                /* per-label threshold, num_classes */
    float min_thr;             /* lowest of thr: cheap early rejection */
    vg_head_anchor_t *anchors; /* SSD: num_anchors */
    vg_det_t *cand;            /* candidates of the current decode, cap */
    int n, cap;
    int *order;                /* NMS scratch, 2 * cap */
    float *sorted;             /* scratch for shrinking a full candidate list, cap */
    float *cls;                /* class scores of one box, num_classes + 1 */
    float floor;               /* after a shrink: scores <= floor are dropped */
    bool has_floor;
    vg_head_stats_t st;
};

/* Adds a candidate in model-input pixels (skips boxes without area). */
void vg_head_push(vg_head_t *h, float x1, float y1, float x2, float y2, float score, int label);

int vg_head_check_kind(const vg_head_t *h, const vg_head_tensor_t *outs, int n, char *err, size_t errlen);
void vg_head_decode_kind(vg_head_t *h, const vg_head_tensor_t *outs);

#endif
