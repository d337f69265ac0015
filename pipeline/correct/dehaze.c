/*
 * dehaze: dark channel prior on a reduced frame + fast guided filter.
 * Why ours: OpenCV has no dehazing; its ximgproc.guidedFilter at full
 * resolution costs ~86 ms per 720p frame, and FFmpeg has no DCP filter.
 */
#include "pipeline/correct/dehaze.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum { SMAX = 256, NPL = 12 };

/* fminf/fmaxf are libm calls at -O2 (NaN rules); these inline and vectorize */
#define MINF(a, b) ((a) < (b) ? (a) : (b))
#define MAXF(a, b) ((a) > (b) ? (a) : (b))

struct vg_dehaze {
    vg_dehaze_config_t cfg;
    float *pl[NPL];      /* small planes, SMAX*SMAX each */
    float *ra;           /* one small row of a or b, plus a copy of its last value */
    float *up[2][2];     /* [slot][a, b]: two small rows of the coefficients,
                          * interpolated to full width (see coefficient_rows) */
    int up_row[2];       /* the small row each slot holds, -1 none */
    int32_t *xi;         /* full-res column -> small column, */
    float *xf;           /* and the weight of the next one */
    int32_t *colsum[3];  /* the reduction's column sums of Y, U, V rows */
    bool have_a;
    float A[3];          /* smoothed atmospheric light, RGB 0..255 */
};

enum { P_R, P_G, P_B, P_I, P_DARK, P_TMP, P_T, P_MI, P_MP, P_A, P_B2, P_TMP2 };

static void *alloc64(size_t n)
{
    return aligned_alloc(64, (n + 63) & ~(size_t)63);
}

void vg_dehaze_free(vg_dehaze_t **p)
{
    if (!p || !*p)
        return;
    vg_dehaze_t *dh = *p;
    for (int i = 0; i < NPL; i++)
        free(dh->pl[i]);
    free(dh->ra);
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 2; k++)
            free(dh->up[i][k]);
    free(dh->xi); free(dh->xf);
    for (int i = 0; i < 3; i++)
        free(dh->colsum[i]);
    free(dh);
    *p = NULL;
}

int vg_dehaze_new(const vg_dehaze_config_t *cfg, vg_dehaze_t **ret)
{
    if (!cfg || !ret || cfg->max_width < 8 || cfg->max_height < 8 || cfg->max_width > 16384 ||
        cfg->max_height > 16384)
        return -EINVAL;
    vg_dehaze_t *dh = calloc(1, sizeof(*dh));
    if (!dh)
        return -ENOMEM;
    dh->cfg = *cfg;
    vg_dehaze_config_t *c = &dh->cfg;
    if (c->omega <= 0) c->omega = 0.95f;
    if (c->t_min <= 0) c->t_min = 0.2f;
    if (c->patch <= 0) c->patch = 0.045f;
    if (c->gf_radius <= 0) c->gf_radius = 0.026f;
    if (c->gf_eps <= 0) c->gf_eps = 1e-3f;
    if (c->a_rate <= 0 || c->a_rate > 1) c->a_rate = 0.1f;
    bool ok = true;
    for (int i = 0; i < NPL; i++)
        ok = ok && (dh->pl[i] = alloc64(sizeof(float) * (SMAX + 2) * (SMAX + 3)));
    int mw = cfg->max_width + 16;
    ok = ok && (dh->ra = alloc64(sizeof(float) * (SMAX + 2)));
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 2; k++)
            ok = ok && (dh->up[i][k] = alloc64(sizeof(float) * mw));
    ok = ok && (dh->xi = alloc64(sizeof(int32_t) * mw)) && (dh->xf = alloc64(sizeof(float) * mw));
    for (int i = 0; i < 3; i++)
        ok = ok && (dh->colsum[i] = alloc64(sizeof(int32_t) * mw));
    if (!ok) {
        vg_dehaze_free(&dh);
        return -ENOMEM;
    }
    *ret = dh;
    return 0;
}

void vg_dehaze_reset(vg_dehaze_t *dh)
{
    if (dh)
        dh->have_a = false;
}

/* BT.601 YUV (code values) <-> RGB 0..255 */
typedef struct { float ys, yo, cs; } range_t;

static range_t range_of(const vg_image_t *im)
{
    return im->full_range ? (range_t){ 1.0f, 0.0f, 1.0f }
                          : (range_t){ 255.0f / 219.0f, 16.0f, 255.0f / 224.0f };
}

static void rgb_to_yuv(const float rgb[3], range_t r, float yuv[3])
{
    float y = 0.299f * rgb[0] + 0.587f * rgb[1] + 0.114f * rgb[2];
    yuv[0] = y / r.ys + r.yo;
    yuv[1] = (rgb[2] - y) / 1.772f / r.cs + 128.0f;
    yuv[2] = (rgb[0] - y) / 1.402f / r.cs + 128.0f;
}

static void row_min(float *restrict d, const float *restrict s, int n)
{
    for (int x = 0; x < n; x++)
        d[x] = MINF(d[x], s[x]);
}

/* Separable min filter of radius r, clamped borders. The vertical pass runs
 * along rows so that it vectorizes. */
static void min_filter(float *restrict dst, const float *restrict src, float *restrict tmp,
                       int w, int h, int r)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float m = src[y * w + x];
            for (int k = -r; k <= r; k++) {
                int xx = x + k < 0 ? 0 : (x + k >= w ? w - 1 : x + k);
                m = MINF(m, src[y * w + xx]);
            }
            tmp[y * w + x] = m;
        }
    for (int y = 0; y < h; y++) {
        memcpy(dst + y * w, tmp + y * w, sizeof(float) * w);
        for (int k = -r; k <= r; k++) {
            int yy = y + k < 0 ? 0 : (y + k >= h ? h - 1 : y + k);
            if (yy != y)
                row_min(dst + y * w, tmp + yy * w, w);
        }
    }
}

static void row_axpy(float *restrict acc, const float *restrict s, float k, int n)
{
    for (int x = 0; x < n; x++)
        acc[x] += k * s[x];
}

static void row_scale(float *restrict d, const float *restrict s, float k, int n)
{
    for (int x = 0; x < n; x++)
        d[x] = s[x] * k;
}

/* Mean over a (2r+1)^2 window, clipped at the borders (running sums; the
 * vertical pass keeps one running sum per column and vectorizes). tmp must
 * hold w*h + w floats. */
static void box_filter(float *restrict dst, const float *restrict src, float *restrict tmp,
                       int w, int h, int r)
{
    for (int y = 0; y < h; y++) {
        const float *s = src + y * w;
        float *t = tmp + y * w;
        float acc = 0;
        int n = 0;
        for (int x = 0; x <= r && x < w; x++) { acc += s[x]; n++; }
        for (int x = 0; x < w; x++) {
            t[x] = acc / n;
            int xa = x + r + 1, xr = x - r;
            if (xa < w) { acc += s[xa]; n++; }
            if (xr >= 0) { acc -= s[xr]; n--; }
        }
    }
    float *col = tmp + (size_t)w * h;
    memset(col, 0, sizeof(float) * w);
    int n = 0;
    for (int y = 0; y <= r && y < h; y++) {
        row_axpy(col, tmp + y * w, 1.0f, w);
        n++;
    }
    for (int y = 0; y < h; y++) {
        row_scale(dst + y * w, col, 1.0f / n, w);
        int ya = y + r + 1, yr = y - r;
        if (ya < h) { row_axpy(col, tmp + ya * w, 1.0f, w); n++; }
        if (yr >= 0) { row_axpy(col, tmp + yr * w, -1.0f, w); n--; }
    }
}

/* out[x] = small row c interpolated at full-width column x (xi, xf), for
 * n columns. c is copied first with its last value repeated, so that the
 * last column's right neighbour (weight 0) is a number. */
static void upsample_row(float *restrict out, float *restrict pad, const float *restrict c, int sw,
                         const int32_t *restrict xi, const float *restrict xf, int n)
{
    memcpy(pad, c, sizeof(float) * (size_t)sw);
    pad[sw] = pad[sw - 1];
    for (int x = 0; x < n; x++)
        out[x] = pad[xi[x]] + xf[x] * (pad[xi[x] + 1] - pad[xi[x]]);
}

/* Recover one plane row: v' = (v - A)/t + A with t = a*guide + b, clamped;
 * a and b blended between two full-width coefficient rows (weight fy), read
 * at the guide's columns. Inlined with a constant GSTEP (1 luma, 2 chroma)
 * so that both loops vectorize on contiguous or strided loads. */
static inline __attribute__((always_inline)) void
recover_span(uint8_t *restrict d, const uint8_t *restrict s, const uint8_t *restrict g,
             const int GSTEP, const float *restrict a0, const float *restrict a1,
             const float *restrict b0, const float *restrict b1, float fy, int n, float gscale,
             float goff, float A, float tmin, float strength)
{
    for (int x = 0; x < n; x++) {
        float a = a0[GSTEP * x] + fy * (a1[GSTEP * x] - a0[GSTEP * x]);
        float b = b0[GSTEP * x] + fy * (b1[GSTEP * x] - b0[GSTEP * x]);
        float t = a * ((float)g[GSTEP * x] - goff) * gscale + b;
        t = 1.0f - strength * (1.0f - t);
        t = t < tmin ? tmin : (t > 1.0f ? 1.0f : t);
        float v = ((float)s[x] - A) / t + A + 0.5f;
        d[x] = (uint8_t)(v < 0.0f ? 0.0f : (v > 255.0f ? 255.0f : v));
    }
}

static void recover_luma(uint8_t *restrict d, const uint8_t *restrict s,
                         const float *const up0[2], const float *const up1[2], float fy, int n,
                         float gscale, float goff, float A, float tmin, float strength)
{
    recover_span(d, s, s, 1, up0[0], up1[0], up0[1], up1[1], fy, n, gscale, goff, A, tmin,
                 strength);
}

static void recover_chroma(uint8_t *restrict d, const uint8_t *restrict s,
                           const uint8_t *restrict g, const float *const up0[2],
                           const float *const up1[2], float fy, int n, float gscale, float goff,
                           float A, float tmin, float strength)
{
    recover_span(d, s, g, 2, up0[0], up1[0], up0[1], up1[1], fy, n, gscale, goff, A, tmin,
                 strength);
}

/* The slot holding small row r of the coefficients (ca, cb) at full width,
 * filled now if no slot has it; keep names the slot the caller still needs
 * (the other row of the pair), which is not overwritten. Rows advance
 * monotonically down the picture, so each small row is interpolated about
 * once per frame (its cost is 1/f of a per-pixel interpolation). */
static int coefficient_rows(vg_dehaze_t *dh, int r, int keep, const float *ca, const float *cb,
                            int sw, int W)
{
    for (int k = 0; k < 2; k++)
        if (dh->up_row[k] == r)
            return k;
    int k = dh->up_row[0] == keep ? 1 : 0;
    upsample_row(dh->up[k][0], dh->ra, ca + (size_t)r * sw, sw, dh->xi, dh->xf, W);
    upsample_row(dh->up[k][1], dh->ra, cb + (size_t)r * sw, sw, dh->xi, dh->xf, W);
    dh->up_row[k] = r;
    return k;
}

/* colsum[x] = sum of f rows of a plane, for n columns */
static void column_sums(int32_t *restrict colsum, const uint8_t *restrict p, int ls, int f,
                        int n)
{
    for (int x = 0; x < n; x++)
        colsum[x] = 0;
    for (int j = 0; j < f; j++)
        for (int x = 0; x < n; x++)
            colsum[x] += p[(size_t)j * ls + x];
}

static inline void axis(float s, int n, int32_t *i, float *f)
{
    if (s <= 0) { *i = 0; *f = 0; return; }
    int k = (int)s;
    if (k >= n - 1) { *i = n - 1; *f = 0; return; }
    *i = k;
    *f = s - k;
}

int vg_dehaze_run(vg_dehaze_t *dh, const vg_image_t *src, vg_image_t *dst, float strength,
                  vg_dehaze_info_t *ret_info)
{
    if (!dh || !src || !dst || src->format != VG_PIX_YUV420P ||
        dst->format != VG_PIX_YUV420P || src->width != dst->width ||
        src->height != dst->height || src->width > dh->cfg.max_width ||
        src->height > dh->cfg.max_height || src->width < 8 || src->height < 8 ||
        src->data[0] == dst->data[0])
        return -EINVAL;
    const int W = src->width, H = src->height;
    const int big = W > H ? W : H;
    const int f = 2 * ((big + 2 * SMAX - 1) / (2 * SMAX)); /* even, small side <= SMAX */
    const int sw = W / f, sh = H / f, n = sw * sh, hf = f / 2;
    const range_t rg = range_of(src);
    float *R = dh->pl[P_R], *G = dh->pl[P_G], *B = dh->pl[P_B], *I = dh->pl[P_I];
    float *dark = dh->pl[P_DARK], *tmp = dh->pl[P_TMP], *T = dh->pl[P_T];

    /* 1. reduce: f x f luma blocks, f/2 x f/2 chroma blocks -> RGB and grey */
    const float inv_l = 1.0f / (f * f), inv_c = 1.0f / (hf * hf);
    int32_t *cs = dh->colsum[0], *cu = dh->colsum[1], *cv = dh->colsum[2];
    for (int y = 0; y < sh; y++) {
        /* sums of f rows (f/2 for chroma) per column, then groups of columns */
        column_sums(cs, src->data[0] + (size_t)y * f * src->linesize[0], src->linesize[0], f,
                    sw * f);
        column_sums(cu, src->data[1] + (size_t)y * hf * src->linesize[1], src->linesize[1],
                    hf, sw * hf);
        column_sums(cv, src->data[2] + (size_t)y * hf * src->linesize[2], src->linesize[2],
                    hf, sw * hf);
        for (int x = 0; x < sw; x++) {
            int sy = 0, su = 0, sv = 0;
            for (int i = 0; i < f; i++)
                sy += cs[x * f + i];
            for (int i = 0; i < hf; i++) {
                su += cu[x * hf + i];
                sv += cv[x * hf + i];
            }
            float yy = (sy * inv_l - rg.yo) * rg.ys;
            float uu = (su * inv_c - 128.0f) * rg.cs, vv = (sv * inv_c - 128.0f) * rg.cs;
            int k = y * sw + x;
            R[k] = MINF(MAXF(yy + 1.402f * vv, 0.0f), 255.0f);
            G[k] = MINF(MAXF(yy - 0.344136f * uu - 0.714136f * vv, 0.0f), 255.0f);
            B[k] = MINF(MAXF(yy + 1.772f * uu, 0.0f), 255.0f);
            I[k] = MINF(MAXF(yy, 0.0f), 255.0f) * (1.0f / 255.0f);
            dark[k] = MINF(R[k], MINF(G[k], B[k]));
        }
    }
    /* window sizes scale with the picture: the same scene at another
     * resolution gets the same dehazing */
    int pr = (int)lrintf(dh->cfg.patch * W / (2.0f * f));
    pr = pr < 1 ? 1 : pr;
    min_filter(T, dark, tmp, sw, sh, pr); /* T: dark channel of I */

    /* 2. atmospheric light: mean colour of the 0.1% haziest pixels */
    uint32_t hist[256] = { 0 };
    double dsum = 0;
    for (int k = 0; k < n; k++) {
        hist[(int)T[k]]++;
        dsum += T[k];
    }
    int want = n / 1000 > 0 ? n / 1000 : 1, th = 255, cnt = 0;
    for (; th > 0; th--) {
        cnt += hist[th];
        if (cnt >= want)
            break;
    }
    double acc[3] = { 0 };
    int m = 0;
    for (int k = 0; k < n; k++)
        if ((int)T[k] >= th) {
            acc[0] += R[k]; acc[1] += G[k]; acc[2] += B[k];
            m++;
        }
    float Anew[3];
    for (int c = 0; c < 3; c++)
        Anew[c] = MAXF((float)(acc[c] / (m ? m : 1)), 60.0f); /* a night sky is not haze */
    if (!dh->have_a) {
        memcpy(dh->A, Anew, sizeof(Anew));
        dh->have_a = true;
    } else {
        for (int c = 0; c < 3; c++)
            dh->A[c] += dh->cfg.a_rate * (Anew[c] - dh->A[c]);
    }
    const float *A = dh->A;

    /* 3. transmission: 1 - omega * dark channel of I/A */
    for (int k = 0; k < n; k++)
        dark[k] = MINF(R[k] / A[0], MINF(G[k] / A[1], B[k] / A[2]));
    min_filter(T, dark, tmp, sw, sh, pr);
    for (int k = 0; k < n; k++)
        T[k] = 1.0f - dh->cfg.omega * T[k];

    /* 4. guided filter coefficients at small scale (guide: grey I) */
    int gr = (int)lrintf(dh->cfg.gf_radius * W / f);
    gr = gr < 1 ? 1 : gr;
    float *mI = dh->pl[P_MI], *mP = dh->pl[P_MP], *ca = dh->pl[P_A], *cb = dh->pl[P_B2];
    float *t2 = dh->pl[P_TMP2];
    box_filter(mI, I, tmp, sw, sh, gr);
    box_filter(mP, T, tmp, sw, sh, gr);
    for (int k = 0; k < n; k++) {
        R[k] = I[k] * T[k]; /* R, G reused as scratch from here on */
        G[k] = I[k] * I[k];
    }
    box_filter(ca, R, tmp, sw, sh, gr);  /* mean(I*p) */
    box_filter(cb, G, tmp, sw, sh, gr);  /* mean(I*I) */
    for (int k = 0; k < n; k++) {
        float cov = ca[k] - mI[k] * mP[k], var = cb[k] - mI[k] * mI[k];
        float a = cov / (var + dh->cfg.gf_eps);
        R[k] = a;
        G[k] = mP[k] - a * mI[k];
    }
    box_filter(ca, R, tmp, sw, sh, gr);
    box_filter(cb, G, t2, sw, sh, gr);
    double tsum = 0;
    for (int k = 0; k < n; k++)
        tsum += ca[k] * I[k] + cb[k];

    /* 5. full resolution: t = mean_a * I + mean_b, J = (I - A)/t + A */
    float Ay[3];
    rgb_to_yuv(A, rg, Ay);
    const float gscale = rg.ys / 255.0f, goff = rg.yo;
    const float sx = 1.0f / f;
    for (int x = 0; x < W; x++)
        axis((x + 0.5f) * sx - 0.5f, sw, &dh->xi[x], &dh->xf[x]);
    const int cw = (W + 1) / 2, ch = (H + 1) / 2;
    strength = strength < 0 ? 0 : (strength > 1 ? 1 : strength);
    dh->up_row[0] = dh->up_row[1] = -1;
    for (int y = 0; y < H; y++) {
        int32_t i; float fy;
        axis((y + 0.5f) * sx - 0.5f, sh, &i, &fy);
        int j = i + 1 < sh ? i + 1 : i;
        int ki = coefficient_rows(dh, i, j, ca, cb, sw, W);
        int kj = coefficient_rows(dh, j, i, ca, cb, sw, W);
        const float *up0[2] = { dh->up[ki][0], dh->up[ki][1] };
        const float *up1[2] = { dh->up[kj][0], dh->up[kj][1] };
        const uint8_t *s = src->data[0] + (size_t)y * src->linesize[0];
        recover_luma(dst->data[0] + (size_t)y * dst->linesize[0], s, up0, up1, fy, W, gscale,
                     goff, Ay[0], dh->cfg.t_min, strength);
        /* a chroma sample sits at luma column 2x of an even row (the same
         * axis() position), so it reads the luma-width rows every other
         * column */
        if ((y & 1) == 0 && y / 2 < ch) {
            int cy = y / 2;
            for (int p = 1; p <= 2; p++)
                recover_chroma(dst->data[p] + (size_t)cy * dst->linesize[p],
                               src->data[p] + (size_t)cy * src->linesize[p], s, up0, up1, fy,
                               cw, gscale, goff, Ay[p], dh->cfg.t_min, strength);
        }
    }
    dst->full_range = src->full_range;
    dst->chroma_loc = src->chroma_loc;
    if (ret_info) {
        ret_info->a_y = Ay[0];
        ret_info->a_u = Ay[1];
        ret_info->a_v = Ay[2];
        ret_info->mean_t = (float)(tsum / n);
        ret_info->dark_mean = (float)(dsum / n / 255.0);
    }
    return 0;
}

float vg_dark_channel_mean(const vg_image_t *src)
{
    if (!src || src->format != VG_PIX_YUV420P || src->width < 16 || src->height < 16)
        return 0.0f;
    const range_t rg = range_of(src);
    double s = 0;
    int n = 0;
    for (int y = 4; y < src->height - 1; y += 8) {
        const uint8_t *Y = src->data[0] + (size_t)y * src->linesize[0];
        const uint8_t *U = src->data[1] + (size_t)(y / 2) * src->linesize[1];
        const uint8_t *V = src->data[2] + (size_t)(y / 2) * src->linesize[2];
        for (int x = 4; x < src->width - 1; x += 8) {
            float yy = (Y[x] - rg.yo) * rg.ys;
            float uu = (U[x / 2] - 128.0f) * rg.cs, vv = (V[x / 2] - 128.0f) * rg.cs;
            float r = yy + 1.402f * vv, g = yy - 0.344136f * uu - 0.714136f * vv,
                  b = yy + 1.772f * uu;
            float d = MINF(r, MINF(g, b));
            s += d < 0 ? 0 : (d > 255 ? 255 : d);
            n++;
        }
    }
    return n ? (float)(s / n / 255.0) : 0.0f;
}
