/*
 * tensor_prep: one pass per tensor row: blend the two source rows it needs
 * (vertical bilinear, the whole width, a contiguous loop), resample them
 * horizontally with per-column index/weight tables (gathers), convert
 * BT.601 YUV to RGB, apply mean/scale and store in the tensor layout.
 * Why ours and not libswscale + a float loop: that is three passes over the
 * picture (scale, convert, normalise) and swscale's "bilinear" downscale is a
 * wide tent, not the 2-tap sampling detectors are trained with.
 */
#include "pipeline/correct/tensor_prep.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct vg_tensor_prep {
    vg_tensor_prep_config_t cfg;
    int channels;
    int maxw;
    /* geometry of the last source (tables are rebuilt when it changes) */
    int sw, sh, sfmt, sloc;
    int cw, ch;   /* picture area inside the tensor */
    int px, py;   /* border left / top */
    float ry;     /* source rows per tensor row */
    int32_t *xi, *cxi; /* per tensor column: left source (luma / chroma) column */
    float *xf, *cxf;   /* and the weight of the right one */
    float *r0, *r1, *r2;  /* vertically blended rows (maxw + 1 each) */
    float *t0, *t1, *t2;  /* horizontally resampled rows (width each) */
    float mul[3], add[3]; /* per tensor channel: value = pixel * mul + add */
};

void vg_tensor_prep_free(vg_tensor_prep_t **p)
{
    if (!p || !*p)
        return;
    vg_tensor_prep_t *tp = *p;
    free(tp->xi); free(tp->cxi); free(tp->xf); free(tp->cxf);
    free(tp->r0); free(tp->r1); free(tp->r2);
    free(tp->t0); free(tp->t1); free(tp->t2);
    free(tp);
    *p = NULL;
}

static void *falloc(size_t n)
{
    return aligned_alloc(64, ((n * 4) + 63) & ~(size_t)63);
}

int vg_tensor_prep_new(const vg_tensor_prep_config_t *cfg, vg_tensor_prep_t **ret)
{
    if (!cfg || !ret || cfg->width <= 0 || cfg->height <= 0 || cfg->width > 8192 ||
        cfg->height > 8192 || cfg->max_src_width < 0 || cfg->max_src_width > 16384 ||
        (unsigned)cfg->layout > VG_TENSOR_NHWC || (unsigned)cfg->color > VG_TENSOR_GRAY ||
        (unsigned)cfg->fit > VG_TENSOR_STRETCH)
        return -EINVAL;
    vg_tensor_prep_t *tp = calloc(1, sizeof(*tp));
    if (!tp)
        return -ENOMEM;
    tp->cfg = *cfg;
    tp->channels = cfg->color == VG_TENSOR_GRAY ? 1 : 3;
    tp->maxw = cfg->max_src_width ? cfg->max_src_width : 4096;
    int w = cfg->width, rw = tp->maxw + 8;
    tp->xi = falloc(w); tp->cxi = falloc(w); tp->xf = falloc(w); tp->cxf = falloc(w);
    tp->r0 = falloc(rw); tp->r1 = falloc(rw); tp->r2 = falloc(rw);
    tp->t0 = falloc(w); tp->t1 = falloc(w); tp->t2 = falloc(w);
    if (!tp->xi || !tp->cxi || !tp->xf || !tp->cxf || !tp->r0 || !tp->r1 || !tp->r2 ||
        !tp->t0 || !tp->t1 || !tp->t2) {
        vg_tensor_prep_free(&tp);
        return -ENOMEM;
    }
    for (int c = 0; c < 3; c++) {
        float s = cfg->scale[c] != 0.0f ? cfg->scale[c] : 1.0f;
        tp->mul[c] = cfg->whiten ? 1.0f : s;
        tp->add[c] = cfg->whiten ? 0.0f : -cfg->mean[c] * s;
    }
    tp->sw = -1;
    *ret = tp;
    return 0;
}

int vg_tensor_prep_size(const vg_tensor_prep_t *tp)
{
    return tp->cfg.width * tp->cfg.height * tp->channels;
}

/* Left sample index and right weight for a sample at coordinate s in [0, n). */
static inline void axis_sample(float s, int n, int32_t *i, float *f)
{
    if (s <= 0.0f) { *i = 0; *f = 0.0f; return; }
    int k = (int)s;
    if (k >= n - 1) { *i = n - 1; *f = 0.0f; return; }
    *i = k;
    *f = s - (float)k;
}

static void build_tables(vg_tensor_prep_t *tp, const vg_image_t *src)
{
    int W = tp->cfg.width, H = tp->cfg.height;
    tp->sw = src->width; tp->sh = src->height;
    tp->sfmt = src->format; tp->sloc = src->chroma_loc;
    if (tp->cfg.fit == VG_TENSOR_STRETCH) {
        tp->cw = W; tp->ch = H;
    } else {
        double s = fmin((double)W / src->width, (double)H / src->height);
        tp->cw = (int)lround(src->width * s);
        tp->ch = (int)lround(src->height * s);
        if (tp->cw < 1) tp->cw = 1;
        if (tp->ch < 1) tp->ch = 1;
        if (tp->cw > W) tp->cw = W;
        if (tp->ch > H) tp->ch = H;
    }
    tp->px = (W - tp->cw) / 2;
    tp->py = (H - tp->ch) / 2;
    float rx = (float)src->width / tp->cw;
    tp->ry = (float)src->height / tp->ch;
    int cwid = (src->width + 1) / 2;
    float coff = src->chroma_loc == VG_CHROMA_CENTER ? 0.5f : 0.0f;
    for (int x = 0; x < tp->cw; x++) {
        float s = (x + 0.5f) * rx - 0.5f;
        axis_sample(s, src->width, &tp->xi[x], &tp->xf[x]);
        axis_sample((s - coff) * 0.5f, cwid, &tp->cxi[x], &tp->cxf[x]);
    }
}

/* r[x] = a[x] + f * (b[x] - a[x]) for n bytes, then one repeated sample. */
static void vblend(float *restrict r, const uint8_t *restrict a, const uint8_t *restrict b,
                   float f, int n)
{
    for (int x = 0; x < n; x++)
        r[x] = (float)a[x] + f * (float)(b[x] - a[x]);
    r[n] = r[n - 1];
}

/* The same for limited-range luma, clamped to 16..235 first: a converter
 * clamps each source pixel (super-black/white are common at picture edges),
 * so interpolating unclamped values would disagree by up to 16 levels. */
static void vblend_luma(float *restrict r, const uint8_t *restrict a,
                        const uint8_t *restrict b, float f, int n)
{
    for (int x = 0; x < n; x++) {
        int p = a[x] < 16 ? 16 : (a[x] > 235 ? 235 : a[x]);
        int q = b[x] < 16 ? 16 : (b[x] > 235 ? 235 : b[x]);
        r[x] = (float)p + f * (float)(q - p);
    }
    r[n] = r[n - 1];
}

/* De-interleaving blend of a 2-channel (NV12 UV) or 3-channel (RGB24) row. */
static void vblend2(float *restrict u, float *restrict v, const uint8_t *restrict a,
                    const uint8_t *restrict b, float f, int n)
{
    for (int x = 0; x < n; x++) {
        u[x] = (float)a[2 * x] + f * (float)(b[2 * x] - a[2 * x]);
        v[x] = (float)a[2 * x + 1] + f * (float)(b[2 * x + 1] - a[2 * x + 1]);
    }
    u[n] = u[n - 1];
    v[n] = v[n - 1];
}

static void vblend3(float *restrict p, float *restrict q, float *restrict r,
                    const uint8_t *restrict a, const uint8_t *restrict b, float f, int n)
{
    for (int x = 0; x < n; x++) {
        p[x] = (float)a[3 * x] + f * (float)(b[3 * x] - a[3 * x]);
        q[x] = (float)a[3 * x + 1] + f * (float)(b[3 * x + 1] - a[3 * x + 1]);
        r[x] = (float)a[3 * x + 2] + f * (float)(b[3 * x + 2] - a[3 * x + 2]);
    }
    p[n] = p[n - 1];
    q[n] = q[n - 1];
    r[n] = r[n - 1];
}

/* t[x] = row sampled at (xi[x], xf[x]) for the n picture columns. */
static void hsample(float *restrict t, const float *restrict row, const int32_t *restrict xi,
                    const float *restrict xf, int n)
{
    for (int x = 0; x < n; x++) {
        float a = row[xi[x]], b = row[xi[x] + 1];
        t[x] = a + xf[x] * (b - a);
    }
}

static inline float clamp255(float v)
{
    return v < 0.0f ? 0.0f : (v > 255.0f ? 255.0f : v);
}

/*
 * In place: (t0,t1,t2) = (Y,U,V) -> (R,G,B) in 0..255, BT.601.
 */
static void yuv_to_rgb(float *restrict t0, float *restrict t1, float *restrict t2, int n,
                       bool full)
{
    float ys = full ? 1.0f : 255.0f / 219.0f, yo = full ? 0.0f : 16.0f;
    float cs = full ? 1.0f : 255.0f / 224.0f;
    float kr = 1.402f * cs, kgu = 0.344136f * cs, kgv = 0.714136f * cs, kb = 1.772f * cs;
    for (int x = 0; x < n; x++) {
        float y = (t0[x] - yo) * ys, u = t1[x] - 128.0f, v = t2[x] - 128.0f;
        t0[x] = clamp255(y + kr * v);
        t1[x] = clamp255(y - kgu * u - kgv * v);
        t2[x] = clamp255(y + kb * u);
    }
}

static void luma_full(float *restrict t0, int n, bool full)
{
    float ys = full ? 1.0f : 255.0f / 219.0f, yo = full ? 0.0f : 16.0f;
    for (int x = 0; x < n; x++)
        t0[x] = clamp255((t0[x] - yo) * ys);
}

static void rgb_to_gray(float *restrict t0, const float *restrict t1,
                        const float *restrict t2, int n)
{
    for (int x = 0; x < n; x++)
        t0[x] = 0.299f * t0[x] + 0.587f * t1[x] + 0.114f * t2[x];
}

static void store_plane(float *restrict d, const float *restrict t, float mul, float add, int n)
{
    for (int x = 0; x < n; x++)
        d[x] = t[x] * mul + add;
}

static void store_hwc(float *restrict d, const float *restrict a, const float *restrict b,
                      const float *restrict c, const float *mul, const float *add, int n)
{
    float m0 = mul[0], m1 = mul[1], m2 = mul[2], a0 = add[0], a1 = add[1], a2 = add[2];
    for (int x = 0; x < n; x++) {
        d[3 * x] = a[x] * m0 + a0;
        d[3 * x + 1] = b[x] * m1 + a1;
        d[3 * x + 2] = c[x] * m2 + a2;
    }
}

static void fill(float *restrict d, float v, int n)
{
    for (int x = 0; x < n; x++)
        d[x] = v;
}

/* Sample source row pair for tensor row ty into t0,t1,t2 as R,G,B (or gray in t0). */
static void sample_row(vg_tensor_prep_t *tp, const vg_image_t *src, int ty)
{
    int sw = src->width, sh = src->height, cw = tp->cw;
    bool gray = tp->channels == 1;
    int32_t y0; float fy;
    float sy = (ty + 0.5f) * tp->ry - 0.5f;
    axis_sample(sy, sh, &y0, &fy);
    int y1 = y0 + 1 < sh ? y0 + 1 : y0;
    const uint8_t *a = src->data[0] + (size_t)y0 * src->linesize[0];
    const uint8_t *b = src->data[0] + (size_t)y1 * src->linesize[0];
    if (src->format == VG_PIX_RGB24) {
        vblend3(tp->r0, tp->r1, tp->r2, a, b, fy, sw);
        hsample(tp->t0, tp->r0, tp->xi, tp->xf, cw);
        hsample(tp->t1, tp->r1, tp->xi, tp->xf, cw);
        hsample(tp->t2, tp->r2, tp->xi, tp->xf, cw);
        if (gray)
            rgb_to_gray(tp->t0, tp->t1, tp->t2, cw);
        return;
    }
    if (src->full_range)
        vblend(tp->r0, a, b, fy, sw);
    else
        vblend_luma(tp->r0, a, b, fy, sw);
    hsample(tp->t0, tp->r0, tp->xi, tp->xf, cw);
    if (gray) {
        luma_full(tp->t0, cw, src->full_range);
        return;
    }
    int ch = (sh + 1) / 2, cwid = (sw + 1) / 2;
    int32_t c0; float fc;
    axis_sample((sy - 0.5f) * 0.5f, ch, &c0, &fc);
    int c1 = c0 + 1 < ch ? c0 + 1 : c0;
    if (src->format == VG_PIX_NV12) {
        vblend2(tp->r1, tp->r2, src->data[1] + (size_t)c0 * src->linesize[1],
                src->data[1] + (size_t)c1 * src->linesize[1], fc, cwid);
    } else {
        vblend(tp->r1, src->data[1] + (size_t)c0 * src->linesize[1],
               src->data[1] + (size_t)c1 * src->linesize[1], fc, cwid);
        vblend(tp->r2, src->data[2] + (size_t)c0 * src->linesize[2],
               src->data[2] + (size_t)c1 * src->linesize[2], fc, cwid);
    }
    hsample(tp->t1, tp->r1, tp->cxi, tp->cxf, cw);
    hsample(tp->t2, tp->r2, tp->cxi, tp->cxf, cw);
    yuv_to_rgb(tp->t0, tp->t1, tp->t2, cw, src->full_range);
}

int vg_tensor_prep_run(vg_tensor_prep_t *tp, const vg_image_t *src, float *restrict dst,
                       vg_tensor_xform_t *ret_xform)
{
    if (!tp || !src || !dst || src->width < 1 || src->height < 1 || !src->data[0] ||
        src->width > tp->maxw)
        return -EINVAL;
    if (src->width != tp->sw || src->height != tp->sh || (int)src->format != tp->sfmt ||
        (int)src->chroma_loc != tp->sloc)
        build_tables(tp, src);

    const int W = tp->cfg.width, H = tp->cfg.height, C = tp->channels;
    const int cw = tp->cw, px = tp->px, py = tp->py;
    const bool hwc = tp->cfg.layout == VG_TENSOR_NHWC && C == 3;
    const size_t plane = (size_t)W * H;
    /* channel k of the tensor takes t[order[k]] (t0,t1,t2 = R,G,B) */
    float *t[3] = { tp->t0, tp->t1, tp->t2 };
    int order[3] = { 0, 1, 2 };
    if (tp->cfg.color == VG_TENSOR_BGR) { order[0] = 2; order[2] = 0; }
    float padv[3];
    for (int k = 0; k < C; k++)
        padv[k] = tp->cfg.pad * tp->mul[k] + tp->add[k];
    double sum[3] = { 0 }, sq[3] = { 0 };

    for (int ty = 0; ty < H; ty++) {
        int row = ty - py;
        bool picture = row >= 0 && row < tp->ch;
        if (picture)
            sample_row(tp, src, row);
        if (hwc) {
            float *d = dst + (size_t)ty * W * 3;
            if (!picture) {
                for (int x = 0; x < W; x++)
                    for (int k = 0; k < 3; k++)
                        d[3 * x + k] = padv[k];
                continue;
            }
            for (int x = 0; x < px; x++)
                for (int k = 0; k < 3; k++)
                    d[3 * x + k] = padv[k];
            store_hwc(d + 3 * px, t[order[0]], t[order[1]], t[order[2]], tp->mul, tp->add, cw);
            for (int x = px + cw; x < W; x++)
                for (int k = 0; k < 3; k++)
                    d[3 * x + k] = padv[k];
        } else {
            for (int k = 0; k < C; k++) {
                float *d = dst + k * plane + (size_t)ty * W;
                if (!picture) {
                    fill(d, padv[k], W);
                    continue;
                }
                fill(d, padv[k], px);
                store_plane(d + px, t[order[k]], tp->mul[k], tp->add[k], cw);
                fill(d + px + cw, padv[k], W - px - cw);
            }
        }
        if (picture && tp->cfg.whiten) {
            for (int k = 0; k < C; k++) {
                const float *s = t[order[k]];
                float a = 0.0f, b = 0.0f;
                for (int x = 0; x < cw; x++) {
                    a += s[x];
                    b += s[x] * s[x];
                }
                sum[k] += a;
                sq[k] += b;
            }
        }
    }
    if (tp->cfg.whiten) {
        /* second pass: this costs another read+write of the tensor, only
         * for models that ask for per-frame whitening */
        double n = (double)cw * tp->ch;
        float m[3], is[3];
        for (int k = 0; k < C; k++) {
            double mean = sum[k] / n, var = sq[k] / n - mean * mean;
            m[k] = (float)mean;
            is[k] = (float)(1.0 / sqrt(var > 1e-6 ? var : 1e-6));
        }
        for (int ty = 0; ty < H; ty++) {
            bool picture = ty >= py && ty < py + tp->ch;
            for (int k = 0; k < C; k++) {
                float mk = m[k], ik = is[k];
                if (hwc) {
                    float *d = dst + (size_t)ty * W * 3;
                    for (int x = 0; x < W; x++) {
                        bool in = picture && x >= px && x < px + cw;
                        d[3 * x + k] = in ? (d[3 * x + k] - mk) * ik : 0.0f;
                    }
                } else {
                    float *d = dst + k * plane + (size_t)ty * W;
                    if (!picture) {
                        fill(d, 0.0f, W);
                        continue;
                    }
                    fill(d, 0.0f, px);
                    for (int x = px; x < px + cw; x++)
                        d[x] = (d[x] - mk) * ik;
                    fill(d + px + cw, 0.0f, W - px - cw);
                }
            }
        }
    }
    if (ret_xform) {
        ret_xform->scale_x = (float)cw / src->width;
        ret_xform->scale_y = (float)tp->ch / src->height;
        ret_xform->pad_x = (float)px;
        ret_xform->pad_y = (float)py;
    }
    return 0;
}
