/* heads: lifecycle, candidate scratch, NMS, mapping to the source frame.
 * The per-kind decoders are in heads_kinds.c. */
#include "heads_internal.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_CANDIDATES 4096


int vg_head_kind_parse(const char *name, vg_head_kind_t *ret)
{
    static const struct { const char *name; vg_head_kind_t kind; } kinds[] = {
        {"nanodet", VG_HEAD_NANODET}, {"yolov5", VG_HEAD_YOLOV5}, {"yolov8", VG_HEAD_YOLOV8},
        {"ssd", VG_HEAD_SSD}, {"centernet", VG_HEAD_CENTERNET}, {"classifier", VG_HEAD_CLASSIFIER},
    };
    if (!name)
        return -EINVAL;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strcmp(name, kinds[i].name) == 0) {
            *ret = kinds[i].kind;
            return 0;
        }
    return -EINVAL;
}

static bool valid_threshold(float t)
{
    return t >= 0.0f && t <= 1.0f;
}

int vg_head_new(const vg_head_config_t *cfg, vg_head_t **ret)
{
    if (!cfg || !ret || cfg->kind < VG_HEAD_NANODET || cfg->kind > VG_HEAD_CLASSIFIER)
        return -EINVAL;
    if (cfg->num_classes < 1 || cfg->input_w < 1 || cfg->input_h < 1 || !valid_threshold(cfg->threshold)
        || cfg->nms_iou < 0.0f || cfg->nms_iou > 1.0f || cfg->max_candidates < 0)
        return -EINVAL;
    if (cfg->label_thresholds)
        for (int i = 0; i < cfg->num_classes; i++)
            if (cfg->label_thresholds[i] > 1.0f)
                return -EINVAL;
    if (cfg->kind == VG_HEAD_NANODET) {
        if (cfg->num_levels < 1 || cfg->num_levels > VG_HEAD_MAX_LEVELS || cfg->reg_max < 0 || cfg->reg_max > 64)
            return -EINVAL;
        for (int l = 0; l < cfg->num_levels; l++)
            if (cfg->strides[l] < 1)
                return -EINVAL;
    }
    if (cfg->kind == VG_HEAD_SSD) {
        if (!cfg->anchors || cfg->num_anchors < 1 || cfg->num_levels < 1 || cfg->num_levels > VG_HEAD_MAX_LEVELS / 2
            || (cfg->ssd_encoding != VG_HEAD_SSD_CENTER_VARIANCE && cfg->ssd_encoding != VG_HEAD_SSD_PIXEL_OFFSET))
            return -EINVAL;
    }
    if (cfg->kind == VG_HEAD_CENTERNET && cfg->output_stride < 0)
        return -EINVAL;

    vg_head_t *h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    h->cfg = *cfg;
    if (h->cfg.kind == VG_HEAD_NANODET && h->cfg.reg_max == 0)
        h->cfg.reg_max = 7;
    if (h->cfg.output_stride == 0)
        h->cfg.output_stride = 4;
    if (h->cfg.variance[0] == 0.0f && h->cfg.variance[1] == 0.0f && h->cfg.variance[2] == 0.0f
        && h->cfg.variance[3] == 0.0f) {
        h->cfg.variance[0] = h->cfg.variance[1] = 0.1f;
        h->cfg.variance[2] = h->cfg.variance[3] = 0.2f;
    }
    h->cap = cfg->max_candidates ? cfg->max_candidates : DEFAULT_MAX_CANDIDATES;
    h->thr = calloc((size_t)cfg->num_classes, sizeof(*h->thr));
    h->cand = calloc((size_t)h->cap, sizeof(*h->cand));
    h->order = calloc((size_t)h->cap * 2, sizeof(*h->order));
    h->sorted = calloc((size_t)h->cap, sizeof(*h->sorted));
    h->cls = calloc((size_t)cfg->num_classes + 1, sizeof(*h->cls));
    if (!h->thr || !h->cand || !h->order || !h->sorted || !h->cls)
        goto fail;
    h->min_thr = 1.0f;
    for (int i = 0; i < cfg->num_classes; i++) {
        float t = cfg->label_thresholds && cfg->label_thresholds[i] >= 0.0f ? cfg->label_thresholds[i] : cfg->threshold;
        h->thr[i] = t;
        if (t < h->min_thr)
            h->min_thr = t;
    }
    h->cfg.label_thresholds = h->thr;
    if (cfg->kind == VG_HEAD_SSD) {
        h->anchors = malloc((size_t)cfg->num_anchors * sizeof(*h->anchors));
        if (!h->anchors)
            goto fail;
        memcpy(h->anchors, cfg->anchors, (size_t)cfg->num_anchors * sizeof(*h->anchors));
        h->cfg.anchors = h->anchors;
    } else {
        h->cfg.anchors = NULL;
    }
    *ret = h;
    return 0;
fail:
    vg_head_free(&h);
    return -ENOMEM;
}

void vg_head_free(vg_head_t **p)
{
    if (!p || !*p)
        return;
    vg_head_t *h = *p;
    free(h->thr);
    free(h->cand);
    free(h->order);
    free(h->sorted);
    free(h->cls);
    free(h->anchors);
    free(h);
    *p = NULL;
}

void vg_head_stats(const vg_head_t *h, vg_head_stats_t *ret)
{
    *ret = h->st;
}

/* ---------------------------------------------------------------- candidates */

static int cmp_float_desc(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

/* The scratch is full: keep the better half (in output order), raise the
 * floor to the score of the first one let go. O(cap log cap), only when a
 * frame has more than max_candidates boxes above threshold. */
static void shrink(vg_head_t *h)
{
    for (int i = 0; i < h->n; i++)
        h->sorted[i] = h->cand[i].score;
    qsort(h->sorted, (size_t)h->n, sizeof(float), cmp_float_desc);
    float cut = h->sorted[h->n / 2];
    int k = 0;
    for (int i = 0; i < h->n; i++)
        if (h->cand[i].score > cut)
            h->cand[k++] = h->cand[i];
    h->st.dropped += h->n - k;
    h->n = k;
    if (cut > h->floor)
        h->floor = cut;
    h->has_floor = true;
}

void vg_head_push(vg_head_t *h, float x1, float y1, float x2, float y2, float score, int label)
{
    if (!(x2 > x1) || !(y2 > y1))
        return; /* no area (or NaN): not a detection */
    h->st.candidates++;
    if (h->has_floor && score <= h->floor) {
        h->st.dropped++;
        return;
    }
    if (h->n == h->cap) {
        shrink(h);
        if (score <= h->floor) {
            h->st.dropped++;
            return;
        }
    }
    h->cand[h->n++] = (vg_det_t){x1, y1, x2, y2, score, label};
}

/* ---------------------------------------------------------------- NMS */

float vg_head_iou(const vg_det_t *a, const vg_det_t *b)
{
    float aa = (a->x2 - a->x1) * (a->y2 - a->y1);
    float ab = (b->x2 - b->x1) * (b->y2 - b->y1);
    if (!(aa > 0.0f) || !(ab > 0.0f))
        return 0.0f;
    float iw = fminf(a->x2, b->x2) - fmaxf(a->x1, b->x1);
    float ih = fminf(a->y2, b->y2) - fmaxf(a->y1, b->y1);
    if (iw <= 0.0f || ih <= 0.0f)
        return 0.0f;
    float inter = iw * ih;
    return inter / (aa + ab - inter);
}

static int cmp_det(const void *pa, const void *pb, void *ctx)
{
    const vg_det_t *d = ctx;
    int ia = *(const int *)pa, ib = *(const int *)pb;
    const vg_det_t *a = &d[ia], *b = &d[ib];
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    if (a->label != b->label)
        return a->label < b->label ? -1 : 1;
    return (ia > ib) - (ia < ib);
}

int vg_head_nms(vg_det_t *dets, int n, float iou, int *scratch)
{
    int *p = scratch; /* n ints: order, then the permutation; mark: n more */
    int m = 0;
    for (int i = 0; i < n; i++)
        if (dets[i].x2 > dets[i].x1 && dets[i].y2 > dets[i].y1)
            p[m++] = i;
    int valid = m;
    qsort_r(p, (size_t)valid, sizeof(int), cmp_det, dets);
    /* greedy: p[0..valid) in score order; suppressed entries become -1 - idx */
    for (int i = 0; i < valid; i++) {
        if (p[i] < 0)
            continue;
        const vg_det_t *a = &dets[p[i]];
        for (int j = i + 1; j < valid; j++)
            if (p[j] >= 0 && dets[p[j]].label == a->label && vg_head_iou(a, &dets[p[j]]) > iou)
                p[j] = -1 - p[j];
    }
    /* full permutation: kept (in order), then everything else */
    int kept = 0;
    for (int i = 0; i < valid; i++)
        if (p[i] >= 0)
            p[kept++] = p[i];
    /* the others fill p[kept..n) so that p is a permutation of 0..n-1 */
    int *mark = scratch + n;
    memset(mark, 0, (size_t)n * sizeof(int));
    for (int q = 0; q < kept; q++)
        mark[p[q]] = 1;
    for (int i = 0, k = kept; i < n; i++)
        if (!mark[i])
            p[k++] = i;
    /* apply dets_new[j] = dets_old[p[j]] in place, cycle by cycle */
    for (int i = 0; i < n; i++) {
        if (p[i] < 0)
            continue;
        vg_det_t tmp = dets[i];
        int j = i;
        for (;;) {
            int k = p[j];
            p[j] = -1 - k;
            if (k == i) {
                dets[j] = tmp;
                break;
            }
            dets[j] = dets[k];
            j = k;
        }
    }
    return kept;
}

/* ---------------------------------------------------------------- transforms */

void vg_head_xform_letterbox(int src_w, int src_h, int in_w, int in_h, vg_head_xform_t *ret)
{
    double s = fmin((double)in_w / src_w, (double)in_h / src_h);
    int cw = (int)lround(src_w * s), ch = (int)lround(src_h * s);
    cw = cw < 1 ? 1 : cw > in_w ? in_w : cw;
    ch = ch < 1 ? 1 : ch > in_h ? in_h : ch;
    *ret = (vg_head_xform_t){
        .scale_x = (float)cw / src_w, .scale_y = (float)ch / src_h,
        .pad_x = (float)((in_w - cw) / 2), .pad_y = (float)((in_h - ch) / 2),
        .src_w = src_w, .src_h = src_h,
    };
}

void vg_head_xform_stretch(int src_w, int src_h, int in_w, int in_h, vg_head_xform_t *ret)
{
    *ret = (vg_head_xform_t){
        .scale_x = (float)in_w / src_w, .scale_y = (float)in_h / src_h,
        .pad_x = 0.0f, .pad_y = 0.0f, .src_w = src_w, .src_h = src_h,
    };
}

static float clampf(float v, float lo, float hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* ---------------------------------------------------------------- anchors */

int vg_head_anchors_grid(int in_w, int in_h, const int *strides, const int *per_cell, int levels,
                         float size, vg_head_anchor_t *ret, int cap)
{
    int n = 0;
    for (int l = 0; l < levels; l++) {
        int s = strides[l];
        if (s < 1 || per_cell[l] < 0)
            return -EINVAL;
        int gw = (in_w + s - 1) / s, gh = (in_h + s - 1) / s;
        for (int y = 0; y < gh; y++)
            for (int x = 0; x < gw; x++)
                for (int a = 0; a < per_cell[l]; a++, n++)
                    if (n < cap && ret)
                        ret[n] = (vg_head_anchor_t){(x + 0.5f) * s, (y + 0.5f) * s, size, size};
    }
    return n;
}

/* ---------------------------------------------------------------- decode */

int vg_head_check(const vg_head_t *h, const vg_head_tensor_t *outs, int n, char *err, size_t errlen)
{
    if (!outs || n < 1 || n > VG_HEAD_MAX_OUTPUTS)
        return vg_head_fail(err, errlen, "%d outputs (max %d)", n, VG_HEAD_MAX_OUTPUTS);
    for (int i = 0; i < n; i++)
        if (outs[i].ndim < 1 || outs[i].ndim > 4)
            return vg_head_fail(err, errlen, "output %d has %d dimensions", i, outs[i].ndim);
    return vg_head_check_kind(h, outs, n, err, errlen);
}

int vg_head_decode(vg_head_t *h, const vg_head_tensor_t *outs, int n, const vg_head_xform_t *xf,
                   vg_det_t *dets, int max_dets)
{
    if (!h || !dets || max_dets < 0)
        return -EINVAL;
    int r = vg_head_check(h, outs, n, NULL, 0);
    if (r < 0)
        return r;
    for (int i = 0; i < n; i++)
        if (!outs[i].data)
            return -EINVAL;
    h->n = 0;
    h->floor = 0.0f;
    h->has_floor = false;
    memset(&h->st, 0, sizeof(h->st));
    vg_head_decode_kind(h, outs);

    float iou = h->cfg.nms_iou > 0.0f ? h->cfg.nms_iou : 1.0f; /* > 1 never holds: no NMS */
    int kept = vg_head_nms(h->cand, h->n, iou, h->order);
    h->st.kept = kept;
    int w = 0;
    for (int i = 0; i < kept && w < max_dets; i++) {
        vg_det_t d = h->cand[i];
        if (xf) {
            d.x1 = (d.x1 - xf->pad_x) / xf->scale_x;
            d.x2 = (d.x2 - xf->pad_x) / xf->scale_x;
            d.y1 = (d.y1 - xf->pad_y) / xf->scale_y;
            d.y2 = (d.y2 - xf->pad_y) / xf->scale_y;
            if (xf->src_w > 0) {
                d.x1 = clampf(d.x1, 0.0f, (float)xf->src_w);
                d.x2 = clampf(d.x2, 0.0f, (float)xf->src_w);
            }
            if (xf->src_h > 0) {
                d.y1 = clampf(d.y1, 0.0f, (float)xf->src_h);
                d.y2 = clampf(d.y2, 0.0f, (float)xf->src_h);
            }
            if (!(d.x2 > d.x1) || !(d.y2 > d.y1))
                continue; /* wholly in the letterbox border */
        }
        dets[w++] = d;
    }
    h->st.truncated = kept - w > 0 ? kept - w : 0;
    return w;
}
