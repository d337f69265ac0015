/*
 * correct: scene statistics, auto choice with hysteresis, and the chain.
 *
 * Auto (per camera, per analysed frame, ~0.3 ms at 720p):
 *   statistics on a subsampled grid (luma histogram, dark channel, chroma),
 *   the noise estimate every 4th frame; smoothed with an exponential average;
 *   a correction switches on when its "on" condition has held for ON_FRAMES
 *   frames in a row and off when its "off" condition has held for OFF_FRAMES;
 *   between the two thresholds nothing changes (hysteresis).
 */
#include "pipeline/correct/correct.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/frame.h>

#include "pipeline/correct/dehaze.h"
#include "pipeline/correct/lowlight.h"
#include "pipeline/correct/temporal.h"

enum { ON_FRAMES = 5, OFF_FRAMES = 15, NOISE_EVERY = 4 };
#define EMA 0.2f
#define ALL_BITS (VG_CORRECT_LOW_LIGHT | VG_CORRECT_DEHAZE | VG_CORRECT_DENOISE | VG_CORRECT_DERAIN)

struct vg_correct_state {
    vg_correct_config_t cfg;
    vg_lowlight_t *ll;
    vg_lowlight_t *ll_grey; /* greyscale (IR) scenes: a lower clip limit */
    vg_dehaze_t *dh;
    vg_denoise_t *dn;
    vg_derain_t *dr;
    vg_image_t buf[2];      /* analysis copies, ping-pong */
    vg_image_t planar;      /* NV12 de-interleaved */
    vg_correct_stats_t st;  /* smoothed */
    bool have_stats;
    uint64_t frames;
    uint32_t active;        /* current choice */
    int streak_on[4], streak_off[4]; /* frames the on/off condition held, per bit */
    uint8_t *rows[2];       /* every 4th luma row of the two previous frames (rain) */
    int rows_have;          /* how many of rows[] are filled (0..2) */
    int rows_w, rows_h;     /* their geometry */
};

const char *vg_correct_name(uint32_t bit)
{
    switch (bit) {
    case VG_CORRECT_LOW_LIGHT: return "low_light";
    case VG_CORRECT_DEHAZE: return "dehaze";
    case VG_CORRECT_DENOISE: return "denoise";
    case VG_CORRECT_DERAIN: return "derain";
    }
    return NULL;
}

int vg_correct_names(uint32_t mask, char *buf, size_t n)
{
    int len = 0;
    if (n)
        buf[0] = '\0';
    for (int i = 0; i < 4; i++) {
        if (!(mask & (1u << i)))
            continue;
        int r = snprintf(buf ? buf + (len < (int)n ? len : (int)n) : NULL,
                         len < (int)n ? n - len : 0, "%s%s", len ? "," : "",
                         vg_correct_name(1u << i));
        len += r;
    }
    return len;
}

void vg_correct_free(vg_correct_state_t **p)
{
    if (!p || !*p)
        return;
    vg_correct_state_t *st = *p;
    vg_lowlight_free(&st->ll);
    vg_lowlight_free(&st->ll_grey);
    vg_dehaze_free(&st->dh);
    vg_denoise_free(&st->dn);
    vg_derain_free(&st->dr);
    vg_image_release(&st->buf[0]);
    vg_image_release(&st->buf[1]);
    vg_image_release(&st->planar);
    free(st->rows[0]);
    free(st->rows[1]);
    free(st);
    *p = NULL;
}

int vg_correct_new(const vg_correct_config_t *cfg, vg_correct_state_t **ret)
{
    if (!cfg || !ret || cfg->max_width < 16 || cfg->max_height < 16 ||
        cfg->max_width > 8192 || cfg->max_height > 8192 ||
        (unsigned)cfg->mode > VG_CORRECT_MODE_LIST || (cfg->mask & ~ALL_BITS))
        return -EINVAL;
    vg_correct_state_t *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    st->cfg = *cfg;
    int r = 0;
    if (cfg->mode != VG_CORRECT_MODE_OFF) {
        int w = cfg->max_width, h = cfg->max_height;
        /* in LIST mode only what is listed; in AUTO everything may be needed */
        uint32_t need = cfg->mode == VG_CORRECT_MODE_LIST ? cfg->mask : ALL_BITS;
        if (need & VG_CORRECT_LOW_LIGHT && r >= 0)
            /* clip 4 (OpenCV's usual 2 is too timid after denoising):
             * bench_degrade night recovered 48% at 2, 58% at 4, 62% at 6
             * with more false positives */
            r = vg_lowlight_new(&(vg_lowlight_config_t){ .max_width = w, .max_height = h,
                                                         .clip_limit = 4.0f },
                                &st->ll);
        if (need & VG_CORRECT_LOW_LIGHT && r >= 0)
            /* IR pictures are noisier and have no colour to tell objects
             * apart: clip 2 recovers more there (bench_degrade families,
             * IR tuning part 64% -> 67% of the lost detections) with fewer
             * false positives (held-out part +0.80 -> +0.50 per frame over
             * uncorrected, before the score floor) */
            r = vg_lowlight_new(&(vg_lowlight_config_t){ .max_width = w, .max_height = h,
                                                         .clip_limit = 2.0f },
                                &st->ll_grey);
        if (need & VG_CORRECT_DEHAZE && r >= 0)
            r = vg_dehaze_new(&(vg_dehaze_config_t){ .max_width = w, .max_height = h },
                              &st->dh);
        if (need & VG_CORRECT_DENOISE && r >= 0)
            r = vg_denoise_new(w, h, &st->dn);
        if (need & VG_CORRECT_DERAIN && r >= 0)
            r = vg_derain_new(w, h, &st->dr);
        if (r >= 0)
            r = vg_image_reserve(&st->buf[0], VG_PIX_YUV420P, w, h);
        if (r >= 0)
            r = vg_image_reserve(&st->buf[1], VG_PIX_YUV420P, w, h);
        if (r >= 0)
            r = vg_image_reserve(&st->planar, VG_PIX_YUV420P, w, h);
        if (r >= 0) {
            size_t n = (size_t)w * (h / 4 + 1);
            st->rows[0] = malloc(n);
            st->rows[1] = malloc(n);
            if (!st->rows[0] || !st->rows[1])
                r = -ENOMEM;
        }
    }
    if (r < 0) {
        vg_correct_free(&st);
        return r;
    }
    *ret = st;
    return 0;
}

uint32_t vg_correct_active(const vg_correct_state_t *st)
{
    return st ? st->active : 0;
}

void vg_correct_get_stats(const vg_correct_state_t *st, vg_correct_stats_t *ret)
{
    if (st && ret)
        *ret = st->st;
}

/* A score floor rising with the luma gain: +0.02 per doubling, and +0.01
 * per 8-bit level of noise the brightening leaves above 4 (the input's noise
 * times the gain, halved for the denoising), at most +0.12 in all.
 * Brightening lifts what lay under the noise floor, and the detector finds
 * objects in it at low scores, the same scores as the faint real objects
 * brightening recovers: the floor trades a few of those for many of the
 * phantoms. bench_degrade families, tuning part, false positives per frame
 * over uncorrected: night +0.23 -> +0.03 with the gain term (recovered 60%
 * -> 50%, 30-frame segments); IR +0.18 -> +0.02 with the noise term added
 * (48% -> 40%, the full run; the gain term alone left the noisiest IR at
 * +0.6). Dehazing and derain keep the mean and add nothing:
 * dehazing's extra detections are mostly real objects the clean frame holds
 * below the threshold (docs/corrections.md). */
float vg_correct_min_score(const vg_correct_state_t *st, float threshold)
{
    if (!st || !st->active || st->st.gain <= 1.0f)
        return threshold;
    const float g = st->st.gain, noise = st->st.noise * g * 0.5f;
    float add = 0.02f * log2f(g) + (noise > 4.0f ? 0.01f * (noise - 4.0f) : 0.0f);
    return threshold + (add < 0.12f ? add : 0.12f);
}

/* ---- statistics ---- */

static void frame_stats(vg_correct_state_t *st, const vg_image_t *im)
{
    const int lo = im->full_range ? 0 : 16, hi = im->full_range ? 255 : 235;
    uint32_t hist[256] = { 0 };
    int n = 0;
    double csum = 0;
    int nc = 0;
    for (int y = 2; y < im->height; y += 4) {
        const uint8_t *r = im->data[0] + (size_t)y * im->linesize[0];
        for (int x = 2; x < im->width; x += 4) {
            hist[r[x]]++;
            n++;
        }
    }
    for (int y = 1; y < im->height / 2; y += 4) {
        const uint8_t *u = im->data[1] + (size_t)y * im->linesize[1];
        const uint8_t *v = im->data[2] + (size_t)y * im->linesize[2];
        for (int x = 1; x < im->width / 2; x += 4) {
            csum += abs(u[x] - 128) + abs(v[x] - 128);
            nc++;
        }
    }
    double sum = 0;
    int acc = 0, p5 = -1, p95 = -1;
    for (int i = 0; i < 256; i++) {
        sum += (double)i * hist[i];
        acc += hist[i];
        if (p5 < 0 && acc >= n / 20)
            p5 = i;
        if (p95 < 0 && acc >= n - n / 20)
            p95 = i;
    }
    const float span = (float)(hi - lo);
    vg_correct_stats_t s = {
        .luma_mean = (float)((sum / n - lo) / span),
        .luma_p5 = (p5 - lo) / span,
        .luma_p95 = (p95 - lo) / span,
        .dark_mean = vg_dark_channel_mean(im),
        .chroma = nc ? (float)(csum / nc) : 0.0f,
    };
    bool noise_now = st->frames % NOISE_EVERY == 0 || !st->have_stats;
    s.noise = noise_now ? vg_noise_estimate(im->data[0], im->linesize[0], im->width, im->height)
                        : st->st.noise;
    /* rain: one-frame thin bright streaks on every 4th row, against the
     * same rows of the two previous frames (rows[0] newer, then swapped) */
    if (st->rows_w != im->width || st->rows_h != im->height) {
        st->rows_w = im->width;
        st->rows_h = im->height;
        st->rows_have = 0;
    }
    const int nrows = im->height / 4;
    long streaks = 0;
    uint8_t *older = st->rows[1];
    for (int i = 0; i < nrows; i++) {
        const uint8_t *cur = im->data[0] + (size_t)(4 * i + 1) * im->linesize[0];
        uint8_t *o = older + (size_t)i * im->width;
        if (st->rows_have == 2)
            streaks += vg_streak_count(cur, st->rows[0] + (size_t)i * im->width, o, im->width,
                                       st->have_stats ? st->st.noise : s.noise);
        memcpy(o, cur, im->width); /* the older row becomes the newest */
    }
    st->rows[1] = st->rows[0];
    st->rows[0] = older;
    if (st->rows_have < 2)
        st->rows_have++;
    s.rain = nrows ? (float)(1000.0 * streaks / ((double)nrows * im->width)) : 0.0f;
    if (!st->have_stats) {
        st->st = s;
        st->have_stats = true;
    } else {
        vg_correct_stats_t *m = &st->st;
        m->luma_mean += EMA * (s.luma_mean - m->luma_mean);
        m->luma_p5 += EMA * (s.luma_p5 - m->luma_p5);
        m->luma_p95 += EMA * (s.luma_p95 - m->luma_p95);
        m->dark_mean += EMA * (s.dark_mean - m->dark_mean);
        m->chroma += EMA * (s.chroma - m->chroma);
        m->rain += EMA * (s.rain - m->rain);
        if (noise_now)
            m->noise += 2.0f * EMA * (s.noise - m->noise);
    }
    /* greyscale (IR night mode): hysteresis on the chroma level */
    if (st->st.chroma < 1.0f)
        st->st.grey = 1;
    else if (st->st.chroma > 2.5f)
        st->st.grey = 0;
}

/* Luma gain low light will roughly apply (1 in daylight). */
static float night_gain(const vg_correct_stats_t *s)
{
    if (s->luma_mean >= 0.30f)
        return 1.0f;
    float g = 0.45f / (s->luma_mean > 0.02f ? s->luma_mean : 0.02f);
    return g < 1.0f ? 1.0f : (g > 6.0f ? 6.0f : g);
}

/* Scene conditions: +1 switch on, -1 switch off, 0 keep (between thresholds). */
static int want(const vg_correct_stats_t *s, uint32_t bit)
{
    switch (bit) {
    case VG_CORRECT_LOW_LIGHT:
        if (s->luma_mean < 0.22f || s->luma_p95 < 0.40f)
            return 1;
        if (s->luma_mean > 0.30f && s->luma_p95 > 0.50f)
            return -1;
        return 0;
    case VG_CORRECT_DEHAZE:
        /* haze: a bright dark channel and a compressed histogram */
        if (s->dark_mean > 0.45f && s->luma_p5 > 0.25f)
            return 1;
        if (s->dark_mean < 0.38f || s->luma_p5 < 0.15f)
            return -1;
        return 0;
    case VG_CORRECT_DENOISE: {
        /* the noise that will be seen: brightening multiplies it */
        float eff = s->noise * night_gain(s);
        if (eff > 4.0f)
            return 1;
        if (eff < 2.5f)
            return -1;
        return 0;
    }
    case VG_CORRECT_DERAIN:
        if (s->rain > 1.2f)
            return 1;
        if (s->rain < 0.5f)
            return -1;
        return 0;
    }
    return -1;
}

static void decide(vg_correct_state_t *st)
{
    for (int i = 0; i < 4; i++) {
        uint32_t bit = 1u << i;
        int w = want(&st->st, bit);
        st->streak_on[i] = w > 0 ? st->streak_on[i] + 1 : 0;
        st->streak_off[i] = w < 0 ? st->streak_off[i] + 1 : 0;
        /* the very first frames decide at once, with no history to flicker */
        bool fresh = st->frames < 1;
        if (!(st->active & bit) && (st->streak_on[i] >= ON_FRAMES || (fresh && w > 0)))
            st->active |= bit;
        else if ((st->active & bit) && st->streak_off[i] >= OFF_FRAMES)
            st->active &= ~bit;
    }
}

static float clampf(float v, float lo, float hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* ---- chain ---- */

/* Mean luma above black and mean |horizontal step| on every 4th row. */
static void grid_levels(const vg_image_t *im, double *ret_mean, double *ret_step)
{
    const int black = im->full_range ? 0 : 16;
    double m = 0, d = 0;
    long n = 0;
    for (int y = 2; y < im->height; y += 4) {
        const uint8_t *r = im->data[0] + (size_t)y * im->linesize[0];
        for (int x = 2; x + 1 < im->width; x += 4) {
            m += r[x] > black ? r[x] - black : 0;
            d += abs(r[x + 1] - r[x]);
            n++;
        }
    }
    *ret_mean = n ? m / n : 0;
    *ret_step = n ? d / n : 0;
}

static void measure_gain(vg_correct_state_t *st, const vg_image_t *in, const vg_image_t *out)
{
    if (out->data[0] == in->data[0]) {
        st->st.gain = st->st.detail_gain = 1.0f;
        return;
    }
    double mi, di, mo, dout;
    grid_levels(in, &mi, &di);
    grid_levels(out, &mo, &dout);
    st->st.gain = (float)(mo / (mi > 1.0 ? mi : 1.0));
    st->st.detail_gain = (float)(dout / (di > 0.5 ? di : 0.5));
}

static int deinterleave_nv12(vg_image_t *dst, const vg_image_t *src)
{
    const int w = src->width, h = src->height, cw = (w + 1) / 2, ch = (h + 1) / 2;
    for (int y = 0; y < h; y++)
        memcpy(dst->data[0] + (size_t)y * dst->linesize[0],
               src->data[0] + (size_t)y * src->linesize[0], w);
    for (int y = 0; y < ch; y++) {
        const uint8_t *s = src->data[1] + (size_t)y * src->linesize[1];
        uint8_t *u = dst->data[1] + (size_t)y * dst->linesize[1];
        uint8_t *v = dst->data[2] + (size_t)y * dst->linesize[2];
        for (int x = 0; x < cw; x++) {
            u[x] = s[2 * x];
            v[x] = s[2 * x + 1];
        }
    }
    dst->width = w;
    dst->height = h;
    dst->full_range = src->full_range;
    dst->chroma_loc = src->chroma_loc;
    return 0;
}

int vg_correct_apply_image(vg_correct_state_t *st, const vg_image_t *in, vg_image_t *ret)
{
    if (!st || !in || !ret || in->width > st->cfg.max_width ||
        in->height > st->cfg.max_height || in->width < 16 || in->height < 16)
        return -EINVAL;
    if (st->cfg.mode == VG_CORRECT_MODE_OFF || in->format == VG_PIX_RGB24) {
        st->active = 0;
        st->st.gain = st->st.detail_gain = 1.0f;
        *ret = *in;
        return 0;
    }
    vg_image_t cur = *in;
    if (in->format == VG_PIX_NV12) {
        deinterleave_nv12(&st->planar, in);
        cur = st->planar;
    }
    uint32_t prev = st->active;
    frame_stats(st, &cur);
    if (st->cfg.mode == VG_CORRECT_MODE_AUTO)
        decide(st);
    else
        st->active = st->cfg.mask;
    st->frames++;
    uint32_t a = st->active;
    /* temporal histories restart when their filter (re)starts */
    if ((a & VG_CORRECT_DENOISE) && !(prev & VG_CORRECT_DENOISE) && st->dn)
        vg_denoise_reset(st->dn);
    if ((a & VG_CORRECT_DEHAZE) && !(prev & VG_CORRECT_DEHAZE) && st->dh)
        vg_dehaze_reset(st->dh);
    if ((a & VG_CORRECT_DERAIN) && !(prev & VG_CORRECT_DERAIN) && st->dr)
        vg_derain_reset(st->dr);

    const vg_correct_stats_t *s = &st->st;
    int nb = 0, r = 0;
    vg_image_t *out;
#define NEXT() (out = &st->buf[nb], nb ^= 1, out->width = cur.width, out->height = cur.height, out)
    if ((a & VG_CORRECT_DERAIN) && st->dr) {
        r = vg_derain_run(st->dr, &cur, NEXT(), s->noise);
        if (r < 0)
            return r;
        cur = *out;
    }
    if ((a & VG_CORRECT_DENOISE) && st->dn) {
        bool night = (a & VG_CORRECT_LOW_LIGHT) || s->grey;
        float eff = s->noise * night_gain(s);
        r = vg_denoise_run(st->dn, &cur, NEXT(), s->noise, clampf(eff / 6.0f, 0.5f, 1.0f),
                           night ? 0.5f : 0.0f);
        if (r < 0)
            return r;
        cur = *out;
    }
    if ((a & VG_CORRECT_DEHAZE) && st->dh) {
        float k = st->cfg.mode == VG_CORRECT_MODE_AUTO
                      ? clampf((s->dark_mean - 0.30f) / 0.2f, 0.4f, 1.0f) : 1.0f;
        r = vg_dehaze_run(st->dh, &cur, NEXT(), k, NULL);
        if (r < 0)
            return r;
        cur = *out;
    }
    vg_lowlight_t *ll = s->grey && st->ll_grey ? st->ll_grey : st->ll;
    if ((a & VG_CORRECT_LOW_LIGHT) && ll) {
        float k = st->cfg.mode == VG_CORRECT_MODE_AUTO
                      ? clampf((0.35f - s->luma_mean) / 0.2f, 0.3f, 1.0f) : 1.0f;
        /* dst may not alias src for the chroma pass: use the other buffer */
        r = vg_lowlight_run(ll, &cur, NEXT(), k, NULL);
        if (r < 0)
            return r;
        cur = *out;
    }
#undef NEXT
    measure_gain(st, in->format == VG_PIX_NV12 ? &st->planar : in, &cur);
    *ret = cur;
    return (int)a;
}

int vg_correct_apply(vg_correct_state_t *st, const AVFrame *in, vg_image_t *ret)
{
    vg_image_t im;
    int r = vg_image_from_frame(in, &im);
    if (r == -ENOTSUP)
        return r;
    if (r < 0)
        return r;
    return vg_correct_apply_image(st, &im, ret);
}
