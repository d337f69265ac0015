/*
 * lowlight: CLAHE + gamma + chroma gain + unsharp on YUV 4:2:0.
 *
 * Why not OpenCV's CLAHE: it would add OpenCV to the daemon for one kernel,
 * it works on a whole cv::Mat with its own threading, and it cannot fold the
 * gamma into its tables; ours does the same arithmetic (checked against
 * cv2.createCLAHE in tests/test_correct_lowlight.c) and interpolates with
 * one blended table per row, 2 lookups per pixel instead of 4.
 */
#include "pipeline/correct/lowlight.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct vg_clahe {
    int max_w, max_h, tiles_x, tiles_y;
    float clip;
    uint32_t *hist;  /* tiles_x * tiles_y * 256 */
    uint8_t *lut;    /* tiles_x * tiles_y * 256, composed with post */
    float *rowlut;   /* tiles_x * 256: the two tile rows blended for one row */
    int32_t *ind1, *ind2; /* per column: tile table offsets, left and right */
    float *xa;       /* per column: weight of the right tile */
    /* geometry of the tables */
    int tw, th;
};

void vg_clahe_free(vg_clahe_t **p)
{
    if (!p || !*p)
        return;
    vg_clahe_t *c = *p;
    free(c->hist); free(c->lut); free(c->rowlut);
    free(c->ind1); free(c->ind2); free(c->xa);
    free(c);
    *p = NULL;
}

static void *alloc64(size_t n)
{
    return aligned_alloc(64, (n + 63) & ~(size_t)63);
}

int vg_clahe_new(int max_w, int max_h, int tiles_x, int tiles_y, float clip_limit,
                 vg_clahe_t **ret)
{
    if (!ret || max_w < 1 || max_h < 1 || max_w > 16384 || max_h > 16384 || tiles_x < 1 ||
        tiles_y < 1 || tiles_x > 64 || tiles_y > 64)
        return -EINVAL;
    vg_clahe_t *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->max_w = max_w; c->max_h = max_h;
    c->tiles_x = tiles_x; c->tiles_y = tiles_y;
    c->clip = clip_limit;
    size_t nt = (size_t)tiles_x * tiles_y;
    c->hist = alloc64(nt * 256 * sizeof(uint32_t));
    c->lut = alloc64(nt * 256);
    c->rowlut = alloc64((size_t)tiles_x * 256 * sizeof(float));
    c->ind1 = alloc64((size_t)max_w * sizeof(int32_t));
    c->ind2 = alloc64((size_t)max_w * sizeof(int32_t));
    c->xa = alloc64((size_t)max_w * sizeof(float));
    if (!c->hist || !c->lut || !c->rowlut || !c->ind1 || !c->ind2 || !c->xa) {
        vg_clahe_free(&c);
        return -ENOMEM;
    }
    *ret = c;
    return 0;
}

static inline int reflect101(int i, int n)
{
    return n == 1 ? 0 : (i < n ? i : 2 * (n - 1) - i);
}

/* Tile histograms (OpenCV pads to a whole number of tiles with reflect-101),
 * clipping and cumulative tables. Returns the mean of the output predicted
 * from the unclipped histograms. */
static double build_tables(vg_clahe_t *c, const uint8_t *src, int ls, int w, int h)
{
    const int TX = c->tiles_x, TY = c->tiles_y;
    /* OpenCV: if either side is not a multiple, both get padded by
     * tiles - (size % tiles), so a divisible side grows by a whole tile */
    bool pad = (w % TX) != 0 || (h % TY) != 0;
    int tw = pad ? (w + TX - w % TX) / TX : w / TX;
    int th = pad ? (h + TY - h % TY) / TY : h / TY;
    c->tw = tw;
    c->th = th;
    memset(c->hist, 0, (size_t)TX * TY * 256 * sizeof(uint32_t));
    for (int ty = 0; ty < TY; ty++) {
        uint32_t *hrow = c->hist + (size_t)ty * TX * 256;
        for (int tx = 0; tx < TX; tx++) {
            /* four partial histograms: consecutive equal pixels would
             * otherwise serialise on one counter (store forwarding) */
            uint32_t part[4][256];
            memset(part, 0, sizeof(part));
            int x0 = tx * tw, x1 = x0 + tw, xe = x1 < w ? x1 : w;
            for (int y = ty * th; y < (ty + 1) * th; y++) {
                const uint8_t *s = src + (size_t)reflect101(y, h) * ls;
                int x = x0;
                for (; x + 4 <= xe; x += 4) {
                    part[0][s[x]]++;
                    part[1][s[x + 1]]++;
                    part[2][s[x + 2]]++;
                    part[3][s[x + 3]]++;
                }
                for (; x < xe; x++)
                    part[0][s[x]]++;
                for (x = xe > x0 ? xe : x0; x < x1; x++)
                    part[0][s[reflect101(x, w)]]++;
            }
            uint32_t *hist = hrow + tx * 256;
            for (int i = 0; i < 256; i++)
                hist[i] = part[0][i] + part[1][i] + part[2][i] + part[3][i];
        }
    }
    const int total = tw * th;
    int limit = 0;
    if (c->clip > 0.0f) {
        limit = (int)((double)c->clip * total / 256);
        limit = limit > 1 ? limit : 1;
    }
    const float lut_scale = 255.0f / total;
    double acc = 0;
    for (int t = 0; t < TX * TY; t++) {
        uint32_t *hist = c->hist + (size_t)t * 256;
        uint32_t orig[256];
        memcpy(orig, hist, sizeof(orig));
        if (limit > 0) {
            int clipped = 0;
            for (int i = 0; i < 256; i++)
                if ((int)hist[i] > limit) {
                    clipped += hist[i] - limit;
                    hist[i] = limit;
                }
            int batch = clipped / 256, residual = clipped - batch * 256;
            for (int i = 0; i < 256; i++)
                hist[i] += batch;
            if (residual != 0) {
                int step = 256 / residual > 1 ? 256 / residual : 1;
                for (int i = 0; i < 256 && residual > 0; i += step, residual--)
                    hist[i]++;
            }
        }
        uint8_t *lut = c->lut + (size_t)t * 256;
        int sum = 0;
        double tacc = 0;
        for (int i = 0; i < 256; i++) {
            sum += hist[i];
            long v = lrintf((float)sum * lut_scale);
            lut[i] = (uint8_t)(v > 255 ? 255 : v);
            tacc += (double)orig[i] * lut[i];
        }
        acc += tacc;
    }
    return acc / ((double)total * TX * TY);
}

static void compose(vg_clahe_t *c, const uint8_t *post)
{
    size_t n = (size_t)c->tiles_x * c->tiles_y * 256;
    for (size_t i = 0; i < n; i++)
        c->lut[i] = post[c->lut[i]];
}

static void blend_tables(float *restrict out, const uint8_t *restrict a,
                         const uint8_t *restrict b, float wa, float wb, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = (float)a[i] * wa + (float)b[i] * wb;
}

static void interp_row(uint8_t *restrict d, const uint8_t *restrict s,
                       const float *restrict rl, const int32_t *restrict i1,
                       const int32_t *restrict i2, const float *restrict xa, int w)
{
    for (int x = 0; x < w; x++) {
        int v = s[x];
        float r = rl[i1[x] + v] * (1.0f - xa[x]) + rl[i2[x] + v] * xa[x];
        d[x] = (uint8_t)(int)(r + 0.5f); /* r is in [0, 255] */
    }
}

static void interpolate(vg_clahe_t *c, const uint8_t *src, int sls, uint8_t *dst, int dls,
                        int w, int h)
{
    const int TX = c->tiles_x, TY = c->tiles_y;
    const float inv_tw = 1.0f / c->tw, inv_th = 1.0f / c->th;
    for (int x = 0; x < w; x++) {
        float txf = x * inv_tw - 0.5f;
        int t1 = (int)floorf(txf), t2 = t1 + 1;
        c->xa[x] = txf - t1;
        t1 = t1 > 0 ? t1 : 0;
        t2 = t2 < TX - 1 ? t2 : TX - 1;
        c->ind1[x] = t1 * 256;
        c->ind2[x] = t2 * 256;
    }
    for (int y = 0; y < h; y++) {
        float tyf = y * inv_th - 0.5f;
        int t1 = (int)floorf(tyf), t2 = t1 + 1;
        float ya = tyf - t1;
        t1 = t1 > 0 ? t1 : 0;
        t2 = t2 < TY - 1 ? t2 : TY - 1;
        blend_tables(c->rowlut, c->lut + (size_t)t1 * TX * 256, c->lut + (size_t)t2 * TX * 256,
                     1.0f - ya, ya, TX * 256);
        interp_row(dst + (size_t)y * dls, src + (size_t)y * sls, c->rowlut, c->ind1, c->ind2,
                   c->xa, w);
    }
}

int vg_clahe_run(vg_clahe_t *c, const uint8_t *src, int src_ls, uint8_t *dst, int dst_ls,
                 int w, int h, const uint8_t *post, double *ret_mean)
{
    if (!c || !src || !dst || w < 1 || h < 1 || w > c->max_w || h > c->max_h)
        return -EINVAL;
    double m = build_tables(c, src, src_ls, w, h);
    if (post) {
        compose(c, post);
        double s = 0;
        /* the predicted mean moves through post approximately: use post(m) */
        int mi = (int)lrint(m);
        s = post[mi < 0 ? 0 : (mi > 255 ? 255 : mi)];
        m = s;
    }
    interpolate(c, src, src_ls, dst, dst_ls, w, h);
    if (ret_mean)
        *ret_mean = m;
    return 0;
}

void vg_gamma_lut(uint8_t lut[256], float gamma, int lo, int hi)
{
    for (int v = 0; v < 256; v++) {
        if (v <= lo) { lut[v] = (uint8_t)v; continue; }
        if (v >= hi) { lut[v] = (uint8_t)v; continue; }
        double n = (double)(v - lo) / (hi - lo);
        lut[v] = (uint8_t)lrint(lo + (hi - lo) * pow(n, gamma));
    }
}

float vg_gamma_for_mean(double mean01, double target01, float gamma_min)
{
    if (mean01 >= target01)
        return 1.0f;
    if (mean01 < 1e-3)
        return gamma_min;
    double g = log(target01) / log(mean01);
    return g < gamma_min ? gamma_min : (g > 1.0 ? 1.0f : (float)g);
}

/* ---- frame level ---- */

struct vg_lowlight {
    vg_lowlight_config_t cfg;
    vg_clahe_t *clahe;
    uint8_t gamma[256];
    float *gain;              /* per chroma column of one chroma row */
    uint8_t *rows;            /* 3 rows of luma for the unsharp mask */
};

void vg_lowlight_free(vg_lowlight_t **p)
{
    if (!p || !*p)
        return;
    vg_clahe_free(&(*p)->clahe);
    free((*p)->gain);
    free((*p)->rows);
    free(*p);
    *p = NULL;
}

int vg_lowlight_new(const vg_lowlight_config_t *cfg, vg_lowlight_t **ret)
{
    if (!cfg || !ret || cfg->max_width < 2 || cfg->max_height < 2)
        return -EINVAL;
    vg_lowlight_t *ll = calloc(1, sizeof(*ll));
    if (!ll)
        return -ENOMEM;
    ll->cfg = *cfg;
    vg_lowlight_config_t *c = &ll->cfg;
    if (!c->tiles_x) c->tiles_x = 8;
    if (!c->tiles_y) c->tiles_y = 8;
    if (c->clip_limit == 0.0f) c->clip_limit = 2.0f;
    if (c->target_mean <= 0.0f) c->target_mean = 0.45f;
    if (c->gamma_min <= 0.0f) c->gamma_min = 0.4f;
    if (c->chroma_gain_max <= 0.0f) c->chroma_gain_max = 2.0f;
    int r = vg_clahe_new(c->max_width, c->max_height, c->tiles_x, c->tiles_y, c->clip_limit,
                         &ll->clahe);
    ll->gain = alloc64(sizeof(float) * (c->max_width / 2 + 2));
    ll->rows = alloc64((size_t)3 * (c->max_width + 64));
    if (r < 0 || !ll->gain || !ll->rows) {
        vg_lowlight_free(&ll);
        return r < 0 ? r : -ENOMEM;
    }
    *ret = ll;
    return 0;
}

/* Chroma follows the luma gain of its 2x2 block, so hue and saturation stay
 * as they were (what brightening R, G and B together would do). */
static void chroma_row(uint8_t *restrict du, uint8_t *restrict dv, const uint8_t *restrict su,
                       const uint8_t *restrict sv, const uint8_t *restrict y0s,
                       const uint8_t *restrict y1s, const uint8_t *restrict y0d,
                       const uint8_t *restrict y1d, int cw, float lo, float gmax)
{
    const float gmin = 1.0f / gmax;
    for (int x = 0; x < cw; x++) {
        float a = (float)(y0s[2 * x] + y0s[2 * x + 1] + y1s[2 * x] + y1s[2 * x + 1]);
        float b = (float)(y0d[2 * x] + y0d[2 * x + 1] + y1d[2 * x] + y1d[2 * x + 1]);
        float g = (b - 4.0f * lo + 32.0f) / (a - 4.0f * lo + 32.0f);
        g = g < gmin ? gmin : (g > gmax ? gmax : g);
        float u = ((float)su[x] - 128.0f) * g + 128.5f;
        float v = ((float)sv[x] - 128.0f) * g + 128.5f;
        du[x] = (uint8_t)(u < 0.0f ? 0.0f : (u > 255.0f ? 255.0f : u));
        dv[x] = (uint8_t)(v < 0.0f ? 0.0f : (v > 255.0f ? 255.0f : v));
    }
}

static void unsharp_row(uint8_t *restrict d, const uint8_t *restrict a,
                        const uint8_t *restrict b, const uint8_t *restrict c, float amount,
                        int w)
{
    for (int x = 1; x < w - 1; x++) {
        float blur = (float)(a[x - 1] + a[x] + a[x + 1] + b[x - 1] + b[x] + b[x + 1] +
                             c[x - 1] + c[x] + c[x + 1]) * (1.0f / 9.0f);
        float v = (float)b[x] + amount * ((float)b[x] - blur) + 0.5f;
        d[x] = (uint8_t)(v < 0.0f ? 0.0f : (v > 255.0f ? 255.0f : v));
    }
}

int vg_lowlight_run(vg_lowlight_t *ll, const vg_image_t *src, vg_image_t *dst,
                    float strength, float *ret_gamma)
{
    if (!ll || !src || !dst || src->format != VG_PIX_YUV420P ||
        dst->format != VG_PIX_YUV420P || src->width != dst->width ||
        src->height != dst->height || src->width > ll->cfg.max_width ||
        src->height > ll->cfg.max_height)
        return -EINVAL;
    const int w = src->width, h = src->height;
    const int lo = src->full_range ? 0 : 16, hi = src->full_range ? 255 : 235;
    vg_clahe_t *c = ll->clahe;
    double m = build_tables(c, src->data[0], src->linesize[0], w, h);
    float g = vg_gamma_for_mean((m - lo) / (hi - lo), ll->cfg.target_mean, ll->cfg.gamma_min);
    strength = strength < 0.0f ? 0.0f : (strength > 1.0f ? 1.0f : strength);
    g = 1.0f + strength * (g - 1.0f);
    if (g < 0.999f) {
        vg_gamma_lut(ll->gamma, g, lo, hi);
        compose(c, ll->gamma);
    }
    interpolate(c, src->data[0], src->linesize[0], dst->data[0], dst->linesize[0], w, h);

    const int cw = w / 2, ch = h / 2; /* whole 2x2 blocks; odd edges copied */
    for (int y = 0; y < ch; y++) {
        const uint8_t *ys = src->data[0] + (size_t)2 * y * src->linesize[0];
        const uint8_t *yd = dst->data[0] + (size_t)2 * y * dst->linesize[0];
        chroma_row(dst->data[1] + (size_t)y * dst->linesize[1],
                   dst->data[2] + (size_t)y * dst->linesize[2],
                   src->data[1] + (size_t)y * src->linesize[1],
                   src->data[2] + (size_t)y * src->linesize[2], ys, ys + src->linesize[0], yd,
                   yd + dst->linesize[0], cw, (float)lo, ll->cfg.chroma_gain_max);
    }
    int cwf = (w + 1) / 2, chf = (h + 1) / 2;
    if (src != dst) {
        for (int y = 0; y < chf; y++)
            for (int p = 1; p <= 2; p++) {
                uint8_t *d = dst->data[p] + (size_t)y * dst->linesize[p];
                const uint8_t *s = src->data[p] + (size_t)y * src->linesize[p];
                if (y >= ch)
                    memcpy(d, s, cwf);
                else if (cwf > cw)
                    d[cw] = s[cw];
            }
    }
    if (ll->cfg.unsharp > 0.0f && h >= 3 && w >= 3) {
        /* in place on dst luma: keep the unsharpened previous/current rows */
        size_t rs = (size_t)ll->cfg.max_width + 64;
        uint8_t *r[3] = { ll->rows, ll->rows + rs, ll->rows + 2 * rs };
        memcpy(r[0], dst->data[0], w);
        memcpy(r[1], dst->data[0] + dst->linesize[0], w);
        for (int y = 1; y < h - 1; y++) {
            uint8_t *nx = r[(y + 1) % 3];
            memcpy(nx, dst->data[0] + (size_t)(y + 1) * dst->linesize[0], w);
            unsharp_row(dst->data[0] + (size_t)y * dst->linesize[0], r[(y - 1) % 3], r[y % 3],
                        nx, ll->cfg.unsharp, w);
        }
    }
    dst->full_range = src->full_range;
    dst->chroma_loc = src->chroma_loc;
    if (ret_gamma)
        *ret_gamma = g;
    return 0;
}
