/*
 * temporal: motion-adaptive denoise, streak removal, noise estimate.
 * Why ours: FFmpeg's hqdn3d/atadenoise are filter-graph filters on whole
 * frames with their own buffering, and they are not motion-gated; OpenCV's
 * fastNlMeansDenoising costs seconds per 720p frame.
 */
#include "pipeline/correct/temporal.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static void *alloc64(size_t n)
{
    return aligned_alloc(64, (n + 63) & ~(size_t)63);
}

float vg_noise_estimate(const uint8_t *p, int ls, int w, int h)
{
    enum { B = 16, NB = 4096 };
    /* histogram of block sigmas in 1/16 level steps up to 64 levels */
    uint32_t hist[1024] = { 0 };
    int nb = 0;
    for (int by = 1; by + B + 1 < h && nb < NB * 64; by += 2 * B) {
        for (int bx = 1; bx + B + 1 < w; bx += B) {
            int acc = 0;
            for (int y = by; y < by + B; y++) {
                const uint8_t *a = p + (size_t)(y - 1) * ls, *b = p + (size_t)y * ls,
                              *c = p + (size_t)(y + 1) * ls;
                for (int x = bx; x < bx + B; x++) {
                    int l = a[x - 1] - 2 * a[x] + a[x + 1] - 2 * b[x - 1] + 4 * b[x] -
                            2 * b[x + 1] + c[x - 1] - 2 * c[x] + c[x + 1];
                    acc += l < 0 ? -l : l;
                }
            }
            /* Immerkaer: sigma = sqrt(pi/2) / 6 * mean |L| */
            float s = 0.20888568f * acc / (B * B);
            int i = (int)(s * 16.0f);
            hist[i < 1023 ? i : 1023]++;
            nb++;
        }
    }
    if (!nb)
        return 0.0f;
    int want = nb / 10, acc = 0;
    for (int i = 0; i < 1024; i++) {
        acc += hist[i];
        if (acc > want)
            return (i + 0.5f) / 16.0f;
    }
    return 64.0f;
}

/* ---- denoise ---- */

enum { ACC_SHIFT = 6 }; /* history kept as value * 64 in uint16 */

struct vg_denoise {
    int max_w, max_h;
    int w, h;          /* size of the history; 0 = not primed */
    uint16_t *acc[3];  /* per plane history */
    float *diff[3];    /* luma: signed differences of 3 rows (ring) */
    float *alpha[2];   /* luma weights of the current row pair (for chroma) */
};

void vg_denoise_free(vg_denoise_t **p)
{
    if (!p || !*p)
        return;
    for (int i = 0; i < 3; i++) {
        free((*p)->acc[i]);
        free((*p)->diff[i]);
    }
    free((*p)->alpha[0]);
    free((*p)->alpha[1]);
    free(*p);
    *p = NULL;
}

int vg_denoise_new(int max_w, int max_h, vg_denoise_t **ret)
{
    if (!ret || max_w < 4 || max_h < 4 || max_w > 16384 || max_h > 16384)
        return -EINVAL;
    vg_denoise_t *dn = calloc(1, sizeof(*dn));
    if (!dn)
        return -ENOMEM;
    dn->max_w = max_w;
    dn->max_h = max_h;
    size_t n = (size_t)max_w * max_h, cn = (size_t)((max_w + 1) / 2) * ((max_h + 1) / 2);
    dn->acc[0] = alloc64(n * 2);
    dn->acc[1] = alloc64(cn * 2);
    dn->acc[2] = alloc64(cn * 2);
    bool ok = dn->acc[0] && dn->acc[1] && dn->acc[2];
    for (int i = 0; i < 3; i++)
        ok = ok && (dn->diff[i] = alloc64(sizeof(float) * (max_w + 16)));
    for (int i = 0; i < 2; i++)
        ok = ok && (dn->alpha[i] = alloc64(sizeof(float) * (max_w + 16)));
    if (!ok) {
        vg_denoise_free(&dn);
        return -ENOMEM;
    }
    *ret = dn;
    return 0;
}

void vg_denoise_reset(vg_denoise_t *dn)
{
    if (dn)
        dn->w = dn->h = 0;
}

static void prime_plane(uint16_t *restrict acc, const uint8_t *restrict s, int ls, int w, int h)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            acc[(size_t)y * w + x] = (uint16_t)(s[(size_t)y * ls + x] << ACC_SHIFT);
}

static void diff_row(float *restrict d, const uint8_t *restrict s,
                     const uint16_t *restrict acc, int w)
{
    for (int x = 0; x < w; x++)
        d[x] = (float)s[x] - (float)acc[x] * (1.0f / (1 << ACC_SHIFT));
    d[-1] = d[0];
    d[w] = d[w - 1];
}

/*
 * One luma row, columns [x0, x1): the weight of the current frame grows from
 * amin (static) to 1 (moving) with the 3x3 mean of the signed difference to
 * the history (noise in that mean is sigma/3) and with the pixel's own
 * difference. With SPATIAL, moving pixels are blended towards their 3x3 box
 * (needs columns x0-1 .. x1 to exist). Inlined with constant SPATIAL so that
 * both variants are branch-free loops the compiler vectorizes.
 */
static inline __attribute__((always_inline)) void
luma_span(uint8_t *restrict out, uint16_t *restrict acc, float *restrict alpha,
          const uint8_t *restrict s0, const uint8_t *restrict s1, const uint8_t *restrict s2,
          const float *restrict d0, const float *restrict d1, const float *restrict d2,
          int x0, int x1, float lo, float inv_span, float plo, float pinv, float amin,
          const bool SPATIAL, float spatial)
{
    for (int x = x0; x < x1; x++) {
        float m = (d0[x - 1] + d0[x] + d0[x + 1] + d1[x - 1] + d1[x] + d1[x + 1] + d2[x - 1] +
                   d2[x] + d2[x + 1]) * (1.0f / 9.0f);
        m = m < 0.0f ? -m : m;
        float pd = d1[x] < 0.0f ? -d1[x] : d1[x];
        float k = (m - lo) * inv_span;
        float kp = (pd - plo) * pinv;
        k = k > kp ? k : kp;
        k = k < 0.0f ? 0.0f : (k > 1.0f ? 1.0f : k);
        float a = amin + (1.0f - amin) * k;
        float cur = (float)s1[x];
        if (SPATIAL) {
            float box = (float)(s0[x - 1] + s0[x] + s0[x + 1] + s1[x - 1] + s1[x] + s1[x + 1] +
                                s2[x - 1] + s2[x] + s2[x + 1]) * (1.0f / 9.0f);
            cur += spatial * k * (box - cur);
        }
        float prev = (float)acc[x] * (1.0f / (1 << ACC_SHIFT));
        float v = prev + a * (cur - prev);
        v = v < 0.0f ? 0.0f : (v > 255.0f ? 255.0f : v);
        acc[x] = (uint16_t)(v * (1 << ACC_SHIFT) + 0.5f);
        out[x] = (uint8_t)(v + 0.5f);
        alpha[x] = a;
    }
}

static void luma_row(uint8_t *restrict out, uint16_t *restrict acc, float *restrict alpha,
                     const uint8_t *restrict s0, const uint8_t *restrict s1,
                     const uint8_t *restrict s2, const float *restrict d0,
                     const float *restrict d1, const float *restrict d2, int w, float lo,
                     float inv_span, float plo, float pinv, float amin, float spatial)
{
    if (spatial <= 0.0f) {
        luma_span(out, acc, alpha, s0, s1, s2, d0, d1, d2, 0, w, lo, inv_span, plo, pinv,
                  amin, false, 0.0f);
        return;
    }
    /* the first and last columns have no left/right neighbour: no spatial */
    luma_span(out, acc, alpha, s0, s1, s2, d0, d1, d2, 0, 1, lo, inv_span, plo, pinv, amin,
              false, 0.0f);
    luma_span(out, acc, alpha, s0, s1, s2, d0, d1, d2, 1, w - 1, lo, inv_span, plo, pinv,
              amin, true, spatial);
    luma_span(out, acc, alpha, s0, s1, s2, d0, d1, d2, w - 1, w, lo, inv_span, plo, pinv,
              amin, false, 0.0f);
}

static void chroma_row(uint8_t *restrict out, uint16_t *restrict acc, const uint8_t *restrict s,
                       const float *restrict a0, const float *restrict a1, int cw)
{
    for (int x = 0; x < cw; x++) {
        float a = a0[2 * x] > a0[2 * x + 1] ? a0[2 * x] : a0[2 * x + 1];
        float b = a1[2 * x] > a1[2 * x + 1] ? a1[2 * x] : a1[2 * x + 1];
        a = a > b ? a : b;
        float prev = (float)acc[x] * (1.0f / (1 << ACC_SHIFT));
        float v = prev + a * ((float)s[x] - prev);
        acc[x] = (uint16_t)(v * (1 << ACC_SHIFT) + 0.5f);
        out[x] = (uint8_t)(v + 0.5f);
    }
}

int vg_denoise_run(vg_denoise_t *dn, const vg_image_t *src, vg_image_t *dst, float sigma,
                   float strength, float spatial)
{
    if (!dn || !src || !dst || src->format != VG_PIX_YUV420P ||
        dst->format != VG_PIX_YUV420P || src->width != dst->width ||
        src->height != dst->height || src->width > dn->max_w || src->height > dn->max_h ||
        src->width < 4 || src->height < 4 || src->data[0] == dst->data[0])
        return -EINVAL;
    const int w = src->width, h = src->height, cw = (w + 1) / 2, ch = (h + 1) / 2;
    if (sigma <= 0.0f)
        sigma = vg_noise_estimate(src->data[0], src->linesize[0], w, h);
    if (sigma < 0.5f)
        sigma = 0.5f;
    if (dn->w != w || dn->h != h) {
        prime_plane(dn->acc[0], src->data[0], src->linesize[0], w, h);
        prime_plane(dn->acc[1], src->data[1], src->linesize[1], cw, ch);
        prime_plane(dn->acc[2], src->data[2], src->linesize[2], cw, ch);
        dn->w = w;
        dn->h = h;
        if (dst != src)
            vg_image_copy(dst, src);
        return 0;
    }
    strength = strength < 0.0f ? 0.0f : (strength > 1.0f ? 1.0f : strength);
    spatial = spatial < 0.0f ? 0.0f : (spatial > 1.0f ? 1.0f : spatial);
    const float amin = 1.0f - 0.8f * strength;
    /* 3x3 mean: noise sigma/3; static below 1 sigma, moving above 2 sigma.
     * pixel: moving beyond 4 sigma (full at 6). */
    const float lo = sigma, inv_span = 1.0f / sigma;
    const float plo = 4.0f * sigma, pinv = 1.0f / (2.0f * sigma);
    const uint8_t *Y = src->data[0];
    const int ls = src->linesize[0];
    /* rows of differences with one float of margin on each side */
    float *d[3] = { dn->diff[0] + 8, dn->diff[1] + 8, dn->diff[2] + 8 };
    diff_row(d[0], Y, dn->acc[0], w);
    diff_row(d[1], Y + ls, dn->acc[0] + w, w);
    for (int y = 0; y < h; y++) {
        int ym = y > 0 ? y - 1 : 0, yp = y + 1 < h ? y + 1 : h - 1;
        float *dm = y > 0 ? d[(y - 1) % 3] : d[0];
        float *dc = d[y % 3];
        float *dp = d[yp % 3];
        if (y + 1 < h && y >= 1)
            diff_row(dp, Y + (size_t)yp * ls, dn->acc[0] + (size_t)yp * w, w);
        luma_row(dst->data[0] + (size_t)y * dst->linesize[0], dn->acc[0] + (size_t)y * w,
                 dn->alpha[y & 1] + 8, Y + (size_t)ym * ls, Y + (size_t)y * ls,
                 Y + (size_t)yp * ls, dm, dc, dp, w, lo, inv_span, plo, pinv, amin, spatial);
        if ((y & 1) || y == h - 1) {
            int cy = y / 2;
            const float *a0 = dn->alpha[0] + 8, *a1 = (y & 1) ? dn->alpha[1] + 8 : a0;
            /* odd width: the last chroma column reads alpha[w], keep it valid */
            dn->alpha[0][8 + w] = dn->alpha[0][8 + w - 1];
            dn->alpha[1][8 + w] = dn->alpha[1][8 + w - 1];
            for (int p = 1; p <= 2; p++)
                chroma_row(dst->data[p] + (size_t)cy * dst->linesize[p],
                           dn->acc[p] + (size_t)cy * cw,
                           src->data[p] + (size_t)cy * src->linesize[p], a0, a1, cw);
        }
    }
    dst->full_range = src->full_range;
    dst->chroma_loc = src->chroma_loc;
    return 0;
}

/* ---- derain ---- */

struct vg_derain {
    int max_w, max_h, w, h, n; /* n: frames seen since (re)start, saturates at 2 */
    uint8_t *prev[2];          /* luma of the two previous frames, derained */
    uint8_t *held;             /* per pixel: frames in a row it was replaced */
    int cur;                   /* which of prev[] is the older */
    int downpour;              /* the last frame was a downpour (DOWNPOUR_PERMILLE) */
};

void vg_derain_free(vg_derain_t **p)
{
    if (!p || !*p)
        return;
    free((*p)->prev[0]);
    free((*p)->prev[1]);
    free((*p)->held);
    free(*p);
    *p = NULL;
}

int vg_derain_new(int max_w, int max_h, vg_derain_t **ret)
{
    if (!ret || max_w < 8 || max_h < 2 || max_w > 16384 || max_h > 16384)
        return -EINVAL;
    vg_derain_t *dr = calloc(1, sizeof(*dr));
    if (!dr)
        return -ENOMEM;
    dr->max_w = max_w;
    dr->max_h = max_h;
    dr->prev[0] = alloc64((size_t)max_w * max_h);
    dr->prev[1] = alloc64((size_t)max_w * max_h);
    dr->held = alloc64((size_t)max_w * max_h);
    if (!dr->prev[0] || !dr->prev[1] || !dr->held) {
        vg_derain_free(&dr);
        return -ENOMEM;
    }
    *ret = dr;
    return 0;
}

void vg_derain_reset(vg_derain_t *dr)
{
    if (dr) {
        dr->n = 0;
        dr->downpour = 0;
    }
}

/*
 * A pixel is a streak when it is brighter than the previous (derained)
 * frames by more than tr, the previous frames agree (nothing moved there or
 * within 2R beside), and the brightening is thin: the pixels R columns left
 * and right are not brightened as much, or one of them is (another streak
 * beside it in heavy rain) but the pixel 2R away on that side is not (as it
 * would be inside a person walking in). The removal takes the darker
 * previous frame as the background (a streak the history kept does not hide
 * the next one). In a downpour (the last frame had more than
 * DOWNPOUR_PERMILLE of its pixels found as streaks with agreement asked at
 * the pixel only) the agreement is asked at the pixel only: the streaks
 * beside it make the history disagree there, and the strict test would
 * leave most streaks in (bench_degrade rain family with auto, full run:
 * tuning part 32% -> 49% of the lost detections recovered, held-out 8% ->
 * 22%); it
 * costs thin moving things (legs) their brightening where they are new, so
 * lighter rain keeps the strict test (test_correct_temporal: moving pixels
 * changed 0.5% with 2000 streaks a frame, 4% with the loose test). The
 * count (auto's statistic) always uses the strict test and the brighter
 * previous frame, so noise and compression artefacts on a dry scene do not
 * read as rain. A streak takes the background, unless the pixel was taken
 * for one HELD_MAX frames in a row: a streak lasts one frame, so what stays
 * bright is real.
 */
/* frames in a row a pixel may be replaced; then it is taken as real */
#define HELD_MAX 2
/* streak pixels (per mille, loose test) above which the next frame is
 * taken as a downpour: 2000 streaks of 8..23 px on 768x576 stay below */
#define DOWNPOUR_PERMILLE 75

static inline int imax(int a, int b) { return a > b ? a : b; }
static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int iabsd(int a, int b) { return a > b ? a - b : b - a; }

/* WRITE = false only counts (the auto statistic); inlined with a constant. */
static inline __attribute__((always_inline)) int
streak_span(uint8_t *restrict out, uint8_t *restrict held, const uint8_t *restrict s,
            const uint8_t *restrict p1, const uint8_t *restrict p2, int w, int tr, int ts,
            int loose, int *restrict ret_cand, const bool WRITE)
{
    enum { R = 3 };
    int n = 0, nc = 0;
    if (WRITE)
        for (int x = 0; x < 2 * R; x++) {
            out[x] = s[x];
            out[w - 1 - x] = s[w - 1 - x];
            held[x] = held[w - 1 - x] = 0;
        }
    /* branch-free so that it vectorizes (int lanes) */
    for (int x = 2 * R; x < w - 2 * R; x++) {
        /* the removal takes the darker previous frame as background, the
         * count the brighter (certain streaks only) */
        int bg, bl, br, bll, brr, agree, agree_nb;
        if (WRITE) {
            bg = imin(p1[x], p2[x]);
            bl = imin(p1[x - R], p2[x - R]);
            br = imin(p1[x + R], p2[x + R]);
            bll = imin(p1[x - 2 * R], p2[x - 2 * R]);
            brr = imin(p1[x + 2 * R], p2[x + 2 * R]);
        } else {
            bg = imax(p1[x], p2[x]);
            bl = imax(p1[x - R], p2[x - R]);
            br = imax(p1[x + R], p2[x + R]);
            bll = imax(p1[x - 2 * R], p2[x - 2 * R]);
            brr = imax(p1[x + 2 * R], p2[x + 2 * R]);
        }
        agree = iabsd(p1[x], p2[x]) <= ts;
        agree_nb = (iabsd(p1[x - R], p2[x - R]) <= ts) & (iabsd(p1[x + R], p2[x + R]) <= ts) &
                   (iabsd(p1[x - 2 * R], p2[x - 2 * R]) <= ts) &
                   (iabsd(p1[x + 2 * R], p2[x + 2 * R]) <= ts);
        int d = s[x] - bg;
        /* not brightened as much R columns left / right, and 2R away */
        int l = 2 * (s[x - R] - bl) < d, r = 2 * (s[x + R] - br) < d;
        int ll = 2 * (s[x - 2 * R] - bll) < d;
        int rr = 2 * (s[x + 2 * R] - brr) < d;
        /* thin: dark on both sides; or dark on one side and, on the other,
         * bright only R away (another streak beside it), not 2R away as
         * inside a person */
        int thin = (l & r) | (l & rr) | (r & ll);
        /* cand: a streak by the loose test (counted to tell a downpour) */
        int cand = agree & (d > tr) & thin;
        int streak = cand & (agree_nb | (WRITE & loose));
        if (WRITE) {
            /* a streak lasts one frame: what stays bright is kept */
            streak &= held[x] < HELD_MAX;
            nc += cand;
            out[x] = (uint8_t)(streak ? bg : s[x]);
            held[x] = (uint8_t)(streak ? held[x] + 1 : 0);
        }
        n += streak;
    }
    if (WRITE)
        *ret_cand += nc;
    return n;
}

static int derain_row(uint8_t *restrict out, uint8_t *restrict held, const uint8_t *restrict s,
                      const uint8_t *restrict p1, const uint8_t *restrict p2, int w, int tr,
                      int ts, int loose, int *ret_cand)
{
    return streak_span(out, held, s, p1, p2, w, tr, ts, loose, ret_cand, true);
}

static void streak_thresholds(float sigma, int *tr, int *ts)
{
    *tr = (int)(8.0f + 3.0f * sigma);
    *ts = (int)(4.0f + 2.0f * sigma);
}

int vg_streak_count(const uint8_t *s, const uint8_t *p1, const uint8_t *p2, int w, float sigma)
{
    int tr, ts;
    if (w < 8)
        return 0;
    streak_thresholds(sigma, &tr, &ts);
    return streak_span(NULL, NULL, s, p1, p2, w, tr, ts, 0, NULL, false);
}

int vg_derain_run(vg_derain_t *dr, const vg_image_t *src, vg_image_t *dst, float sigma)
{
    if (!dr || !src || !dst || src->format != VG_PIX_YUV420P ||
        dst->format != VG_PIX_YUV420P || src->width != dst->width ||
        src->height != dst->height || src->width > dr->max_w || src->height > dr->max_h ||
        src->width < 8 || src->data[0] == dst->data[0])
        return -EINVAL;
    const int w = src->width, h = src->height;
    if (dr->w != w || dr->h != h) {
        dr->w = w;
        dr->h = h;
        dr->n = 0;
    }
    if (sigma <= 0.0f)
        sigma = vg_noise_estimate(src->data[0], src->linesize[0], w, h);
    int tr, ts;
    streak_thresholds(sigma, &tr, &ts);
    uint8_t *older = dr->prev[dr->cur], *newer = dr->prev[dr->cur ^ 1];
    int replaced = 0, cand = 0;
    if (dst != src) {
        for (int p = 1; p <= 2; p++)
            for (int y = 0; y < (h + 1) / 2; y++)
                memcpy(dst->data[p] + (size_t)y * dst->linesize[p],
                       src->data[p] + (size_t)y * src->linesize[p], (w + 1) / 2);
    }
    for (int y = 0; y < h; y++) {
        const uint8_t *s = src->data[0] + (size_t)y * src->linesize[0];
        uint8_t *o = dst->data[0] + (size_t)y * dst->linesize[0];
        if (dr->n >= 2) {
            /* older becomes the newest input: save s there after use */
            replaced += derain_row(o, dr->held + (size_t)y * w, s, newer + (size_t)y * w,
                                   older + (size_t)y * w, w, tr, ts, dr->downpour, &cand);
        } else {
            if (o != s)
                memcpy(o, s, w);
            memset(dr->held + (size_t)y * w, 0, w);
        }
        /* the history is what came out: a streak in an earlier frame
         * neither raises the background nor makes the frames disagree */
        memcpy(older + (size_t)y * w, o, w);
    }
    dr->cur ^= 1;
    dr->downpour = cand > (long)w * h * DOWNPOUR_PERMILLE / 1000;
    if (dr->n < 2)
        dr->n++;
    dst->full_range = src->full_range;
    dst->chroma_loc = src->chroma_loc;
    return replaced;
}
