/* heads: the decoders, one per kind of head, and their shape checks.
 * Each turns raw outputs into candidates (vg_head_push, model-input pixels);
 * NMS and mapping to the source frame happen in heads.c. */
#include "heads_internal.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>


/* [N, C] or [1, N, C] */
static bool as_matrix(const vg_head_tensor_t *t, int *rows, int *cols)
{
    if (t->ndim == 2) {
        *rows = t->dims[0];
        *cols = t->dims[1];
    } else if (t->ndim == 3 && t->dims[0] == 1) {
        *rows = t->dims[1];
        *cols = t->dims[2];
    } else {
        return false;
    }
    return *rows > 0 && *cols > 0;
}

/* [C, H, W] or [1, C, H, W] */
static bool as_chw(const vg_head_tensor_t *t, int *c, int *h, int *w)
{
    int o = t->ndim == 4 ? 1 : 0;
    if (!(t->ndim == 3 || (t->ndim == 4 && t->dims[0] == 1)))
        return false;
    *c = t->dims[o];
    *h = t->dims[o + 1];
    *w = t->dims[o + 2];
    return *c > 0 && *h > 0 && *w > 0;
}

static inline float sigmoid(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

/* score of one raw value when classes are independent */
static inline float indep(vg_head_score_t mode, float raw)
{
    return mode == VG_HEAD_SCORE_LOGIT ? sigmoid(raw) : raw;
}

/* softmax of K values read with a stride, into out */
static void softmax(const float *raw, int stride, int k, float *out)
{
    float m = raw[0];
    for (int i = 1; i < k; i++)
        m = fmaxf(m, raw[(size_t)i * stride]);
    float sum = 0.0f;
    for (int i = 0; i < k; i++) {
        out[i] = expf(raw[(size_t)i * stride] - m);
        sum += out[i];
    }
    for (int i = 0; i < k; i++)
        out[i] /= sum;
}

/* ---------------------------------------------------------------- NanoDet */

static int level_cells(const vg_head_t *h, int l)
{
    int s = h->cfg.strides[l];
    return ((h->cfg.input_w + s - 1) / s) * ((h->cfg.input_h + s - 1) / s);
}

static int check_nanodet(const vg_head_t *h, const vg_head_tensor_t *o, int n, char *err, size_t errlen)
{
    int levels = h->cfg.num_levels, bins = 4 * (h->cfg.reg_max + 1);
    if (n != 2 * levels)
        return vg_head_fail(err, errlen, "nanodet: %d outputs, want %d (class and box per stride)", n, 2 * levels);
    for (int l = 0; l < levels; l++) {
        int r, c, want = level_cells(h, l);
        if (!as_matrix(&o[2 * l], &r, &c) || r != want || c != h->cfg.num_classes)
            return vg_head_fail(err, errlen, "nanodet: output %d is not [1, %d, %d] class scores", 2 * l, want,
                       h->cfg.num_classes);
        if (!as_matrix(&o[2 * l + 1], &r, &c) || r != want || c != bins)
            return vg_head_fail(err, errlen, "nanodet: output %d is not [1, %d, %d] distance bins", 2 * l + 1, want, bins);
    }
    return 0;
}

/* distance of one side from its bins */
static float gfl_side(const float *b, int nb, vg_head_gfl_t mode)
{
    int arg = 0;
    float m = b[0];
    for (int i = 1; i < nb; i++)
        if (b[i] > m) {
            m = b[i];
            arg = i;
        }
    if (mode == VG_HEAD_GFL_ARGMAX)
        return (float)arg;
    float sum = 0.0f, acc = 0.0f;
    for (int i = 0; i < nb; i++) {
        float e = expf(b[i] - m);
        sum += e;
        acc += e * (float)i;
    }
    return acc / sum;
}

static void decode_nanodet(vg_head_t *h, const vg_head_tensor_t *o)
{
    const vg_head_config_t *cfg = &h->cfg;
    int nc = cfg->num_classes, nb = cfg->reg_max + 1;
    float off = cfg->corner_centers ? 0.0f : 0.5f;
    float *sc = h->cls;
    for (int l = 0; l < cfg->num_levels; l++) {
        int s = cfg->strides[l], gw = (cfg->input_w + s - 1) / s, cells = level_cells(h, l);
        const float *cls = o[2 * l].data, *box = o[2 * l + 1].data;
        for (int i = 0; i < cells; i++) {
            const float *c = cls + (size_t)i * nc;
            if (cfg->scores == VG_HEAD_SCORE_SOFTMAX) {
                softmax(c, 1, nc, sc);
            } else {
                float m = c[0];
                for (int k = 1; k < nc; k++)
                    m = fmaxf(m, c[k]);
                if (indep(cfg->scores, m) < h->min_thr)
                    continue;
                for (int k = 0; k < nc; k++)
                    sc[k] = indep(cfg->scores, c[k]);
            }
            const float *b = box + (size_t)i * 4 * nb;
            float cx = ((float)(i % gw) + off) * s, cy = ((float)(i / gw) + off) * s;
            float dl = gfl_side(b, nb, cfg->gfl) * s, dt = gfl_side(b + nb, nb, cfg->gfl) * s;
            float dr = gfl_side(b + 2 * nb, nb, cfg->gfl) * s, db = gfl_side(b + 3 * nb, nb, cfg->gfl) * s;
            for (int k = 0; k < nc; k++)
                if (sc[k] >= h->thr[k])
                    vg_head_push(h, cx - dl, cy - dt, cx + dr, cy + db, sc[k], k);
        }
    }
}

/* ---------------------------------------------------------------- YOLO */

static int check_yolov5(const vg_head_t *h, const vg_head_tensor_t *o, int n, char *err, size_t errlen)
{
    int r, c;
    if (n != 1 || !as_matrix(&o[0], &r, &c) || c != 5 + h->cfg.num_classes)
        return vg_head_fail(err, errlen, "yolov5: want one [1, N, %d] output (cx cy w h obj + %d classes)",
                   5 + h->cfg.num_classes, h->cfg.num_classes);
    return 0;
}

static void decode_yolov5(vg_head_t *h, const vg_head_tensor_t *o)
{
    int rows = 0, cols = 0;
    as_matrix(&o[0], &rows, &cols);
    int nc = h->cfg.num_classes;
    vg_head_score_t mode = h->cfg.scores;
    float *sc = h->cls;
    for (int i = 0; i < rows; i++) {
        const float *r = o[0].data + (size_t)i * cols;
        float obj = indep(mode == VG_HEAD_SCORE_SOFTMAX ? VG_HEAD_SCORE_PROB : mode, r[4]);
        if (obj < h->min_thr)
            continue; /* score = obj * class probability <= obj */
        if (mode == VG_HEAD_SCORE_SOFTMAX)
            softmax(r + 5, 1, nc, sc);
        else
            for (int k = 0; k < nc; k++)
                sc[k] = indep(mode, r[5 + k]);
        float x1 = r[0] - r[2] * 0.5f, y1 = r[1] - r[3] * 0.5f, x2 = r[0] + r[2] * 0.5f, y2 = r[1] + r[3] * 0.5f;
        for (int k = 0; k < nc; k++) {
            float s = obj * sc[k];
            if (s >= h->thr[k])
                vg_head_push(h, x1, y1, x2, y2, s, k);
        }
    }
}

/* [1, 4 + C, N] or [4 + C, N] */
static int check_yolov8(const vg_head_t *h, const vg_head_tensor_t *o, int n, char *err, size_t errlen)
{
    int r, c;
    if (n != 1 || !as_matrix(&o[0], &r, &c) || r != 4 + h->cfg.num_classes)
        return vg_head_fail(err, errlen, "yolov8: want one [1, %d, N] output (cx cy w h + %d classes)",
                   4 + h->cfg.num_classes, h->cfg.num_classes);
    return 0;
}

static void decode_yolov8(vg_head_t *h, const vg_head_tensor_t *o)
{
    int rows = 0, n = 0;
    as_matrix(&o[0], &rows, &n);
    int nc = h->cfg.num_classes;
    const float *d = o[0].data;
    const float *cx = d, *cy = d + n, *w = d + 2 * (size_t)n, *hh = d + 3 * (size_t)n;
    if (h->cfg.scores == VG_HEAD_SCORE_SOFTMAX) {
        float *sc = h->cls;
        for (int i = 0; i < n; i++) {
            softmax(d + 4 * (size_t)n + i, n, nc, sc);
            for (int k = 0; k < nc; k++)
                if (sc[k] >= h->thr[k])
                    vg_head_push(h, cx[i] - w[i] * 0.5f, cy[i] - hh[i] * 0.5f, cx[i] + w[i] * 0.5f,
                                 cy[i] + hh[i] * 0.5f, sc[k], k);
        }
        return;
    }
    /* class-major: each class row is contiguous, so this reads memory in order */
    for (int k = 0; k < nc; k++) {
        const float *row = d + (size_t)(4 + k) * n;
        for (int i = 0; i < n; i++) {
            float s = indep(h->cfg.scores, row[i]);
            if (s >= h->thr[k])
                vg_head_push(h, cx[i] - w[i] * 0.5f, cy[i] - hh[i] * 0.5f, cx[i] + w[i] * 0.5f,
                             cy[i] + hh[i] * 0.5f, s, k);
        }
    }
}

/* ---------------------------------------------------------------- SSD */

static int check_ssd(const vg_head_t *h, const vg_head_tensor_t *o, int n, char *err, size_t errlen)
{
    int g = h->cfg.num_levels, k = h->cfg.num_classes + (h->cfg.ssd_background ? 1 : 0), total = 0;
    if (n != 2 * g)
        return vg_head_fail(err, errlen, "ssd: %d outputs, want %d (%d score groups then their boxes)", n, 2 * g, g);
    for (int i = 0; i < g; i++) {
        int rs, cs, rb, cb;
        if (!as_matrix(&o[i], &rs, &cs) || cs != k)
            return vg_head_fail(err, errlen, "ssd: output %d is not [1, N, %d] scores", i, k);
        if (!as_matrix(&o[g + i], &rb, &cb) || cb < 4 || rb != rs)
            return vg_head_fail(err, errlen, "ssd: output %d is not [1, %d, >= 4] boxes", g + i, rs);
        total += rs;
    }
    if (total != h->cfg.num_anchors)
        return vg_head_fail(err, errlen, "ssd: outputs hold %d boxes, config has %d anchors", total, h->cfg.num_anchors);
    return 0;
}

static void decode_ssd(vg_head_t *h, const vg_head_tensor_t *o)
{
    const vg_head_config_t *cfg = &h->cfg;
    int g = cfg->num_levels, nc = cfg->num_classes, bg = cfg->ssd_background ? 1 : 0, k = nc + bg;
    float *sc = h->cls;
    int a = 0;
    for (int grp = 0; grp < g; grp++) {
        int rows = 0, cols = 0, bcols = 0;
        as_matrix(&o[grp], &rows, &cols);
        as_matrix(&o[g + grp], &rows, &bcols);
        for (int i = 0; i < rows; i++, a++) {
            const float *s = o[grp].data + (size_t)i * k;
            if (cfg->scores == VG_HEAD_SCORE_SOFTMAX) {
                softmax(s, 1, k, sc);
            } else {
                float m = s[bg];
                for (int c = bg + 1; c < k; c++)
                    m = fmaxf(m, s[c]);
                if (indep(cfg->scores, m) < h->min_thr)
                    continue;
                for (int c = 0; c < k; c++)
                    sc[c] = indep(cfg->scores, s[c]);
            }
            const float *b = o[g + grp].data + (size_t)i * bcols;
            const vg_head_anchor_t *an = &h->anchors[a];
            float tx = cfg->ssd_yx ? b[1] : b[0], ty = cfg->ssd_yx ? b[0] : b[1];
            float tw = cfg->ssd_yx ? b[3] : b[2], th = cfg->ssd_yx ? b[2] : b[3];
            float cx, cy, w, hh;
            if (cfg->ssd_encoding == VG_HEAD_SSD_PIXEL_OFFSET) {
                cx = an->cx + tx * an->w;
                cy = an->cy + ty * an->h;
                w = tw * an->w;
                hh = th * an->h;
            } else {
                cx = an->cx + tx * cfg->variance[0] * an->w;
                cy = an->cy + ty * cfg->variance[1] * an->h;
                w = an->w * expf(tw * cfg->variance[2]);
                hh = an->h * expf(th * cfg->variance[3]);
            }
            for (int c = 0; c < nc; c++)
                if (sc[c + bg] >= h->thr[c])
                    vg_head_push(h, cx - w * 0.5f, cy - hh * 0.5f, cx + w * 0.5f, cy + hh * 0.5f, sc[c + bg], c);
        }
    }
}

/* ---------------------------------------------------------------- CenterNet */

static int check_centernet(const vg_head_t *h, const vg_head_tensor_t *o, int n, char *err, size_t errlen)
{
    int c, hh, w, c2, h2, w2;
    bool ltrb = h->cfg.centernet_ltrb;
    if (n != (ltrb ? 2 : 3))
        return vg_head_fail(err, errlen, "centernet: %d outputs, want %s", n,
                   ltrb ? "2 (heat map, distances)" : "3 (heat map, size, offset)");
    if (!as_chw(&o[0], &c, &hh, &w) || c != h->cfg.num_classes)
        return vg_head_fail(err, errlen, "centernet: output 0 is not a [1, %d, H, W] heat map", h->cfg.num_classes);
    for (int i = 1; i < n; i++)
        if (!as_chw(&o[i], &c2, &h2, &w2) || c2 != (ltrb ? 4 : 2) || h2 != hh || w2 != w)
            return vg_head_fail(err, errlen, "centernet: output %d is not [1, %d, %d, %d]", i, ltrb ? 4 : 2, hh, w);
    return 0;
}

static void decode_centernet(vg_head_t *h, const vg_head_tensor_t *o)
{
    int nc = 0, hh = 0, w = 0;
    as_chw(&o[0], &nc, &hh, &w);
    float s = (float)h->cfg.output_stride;
    size_t plane = (size_t)hh * w;
    const float *wh = o[1].data, *off = h->cfg.centernet_ltrb ? NULL : o[2].data;
    vg_head_score_t mode = h->cfg.scores == VG_HEAD_SCORE_SOFTMAX ? VG_HEAD_SCORE_PROB : h->cfg.scores;
    for (int c = 0; c < nc; c++) {
        const float *hm = o[0].data + c * plane;
        for (int y = 0; y < hh; y++)
            for (int x = 0; x < w; x++) {
                float v = hm[(size_t)y * w + x];
                if (indep(mode, v) < h->thr[c])
                    continue;
                bool peak = true; /* 3x3 max pool equality, as CenterNet does */
                for (int dy = -1; dy <= 1 && peak; dy++)
                    for (int dx = -1; dx <= 1; dx++) {
                        int yy = y + dy, xx = x + dx;
                        if (yy < 0 || yy >= hh || xx < 0 || xx >= w)
                            continue;
                        if (hm[(size_t)yy * w + xx] > v) {
                            peak = false;
                            break;
                        }
                    }
                if (!peak)
                    continue;
                size_t p = (size_t)y * w + x;
                if (!off) { /* ltrb distances in input pixels from (x*s, y*s) */
                    float cx = (float)x * s, cy = (float)y * s;
                    vg_head_push(h, cx - wh[p], cy - wh[plane + p], cx + wh[2 * plane + p], cy + wh[3 * plane + p],
                                 indep(mode, v), c);
                    continue;
                }
                float cx = ((float)x + off[p]) * s, cy = ((float)y + off[plane + p]) * s;
                float bw = wh[p] * s, bh = wh[plane + p] * s;
                vg_head_push(h, cx - bw * 0.5f, cy - bh * 0.5f, cx + bw * 0.5f, cy + bh * 0.5f, indep(mode, v), c);
            }
    }
}

/* ---------------------------------------------------------------- classifier */

static int numel(const vg_head_tensor_t *t)
{
    long n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= t->dims[i];
    return n > 0x7fffffff ? -1 : (int)n;
}

static int check_classifier(const vg_head_t *h, const vg_head_tensor_t *o, int n, char *err, size_t errlen)
{
    if (n != 1 || numel(&o[0]) != h->cfg.num_classes || o[0].dims[0] != (o[0].ndim == 1 ? h->cfg.num_classes : 1))
        return vg_head_fail(err, errlen, "classifier: want one [1, %d] output, got %d outputs", h->cfg.num_classes, n);
    return 0;
}

static void decode_classifier(vg_head_t *h, const vg_head_tensor_t *o)
{
    int nc = h->cfg.num_classes;
    float *sc = h->cls;
    if (h->cfg.scores == VG_HEAD_SCORE_SOFTMAX)
        softmax(o[0].data, 1, nc, sc);
    else
        for (int k = 0; k < nc; k++)
            sc[k] = indep(h->cfg.scores, o[0].data[k]);
    int best = 0;
    for (int k = 1; k < nc; k++)
        if (sc[k] > sc[best])
            best = k;
    if (sc[best] >= h->thr[best])
        vg_head_push(h, 0.0f, 0.0f, (float)h->cfg.input_w, (float)h->cfg.input_h, sc[best], best);
}

/* ---------------------------------------------------------------- dispatch */

int vg_head_check_kind(const vg_head_t *h, const vg_head_tensor_t *o, int n, char *err, size_t errlen)
{
    switch (h->cfg.kind) {
    case VG_HEAD_NANODET: return check_nanodet(h, o, n, err, errlen);
    case VG_HEAD_YOLOV5: return check_yolov5(h, o, n, err, errlen);
    case VG_HEAD_YOLOV8: return check_yolov8(h, o, n, err, errlen);
    case VG_HEAD_SSD: return check_ssd(h, o, n, err, errlen);
    case VG_HEAD_CENTERNET: return check_centernet(h, o, n, err, errlen);
    case VG_HEAD_CLASSIFIER: return check_classifier(h, o, n, err, errlen);
    }
    return -EINVAL;
}

void vg_head_decode_kind(vg_head_t *h, const vg_head_tensor_t *o)
{
    switch (h->cfg.kind) {
    case VG_HEAD_NANODET: decode_nanodet(h, o); break;
    case VG_HEAD_YOLOV5: decode_yolov5(h, o); break;
    case VG_HEAD_YOLOV8: decode_yolov8(h, o); break;
    case VG_HEAD_SSD: decode_ssd(h, o); break;
    case VG_HEAD_CENTERNET: decode_centernet(h, o); break;
    case VG_HEAD_CLASSIFIER: decode_classifier(h, o); break;
    }
}
