/*
 * degrade/family: the families' parameter spaces and the generators.
 */
#include "family.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>

struct vg_degrader {
    int max_w, max_h;
    uint8_t *luma;          /* blurred source luma (IR) */
    AVCodecContext *enc, *dec;
    AVFrame *in, *out;
    AVPacket *pkt;
};

static const char *fam_names[VG_FAM_N] = { "clean", "night", "fog", "rain", "ir" };

const char *vg_degrade_family_name(int family)
{
    return family >= 0 && family < VG_FAM_N ? fam_names[family] : "?";
}

const char *vg_degrade_part_name(int part)
{
    return part == VG_PART_HELD ? "held-out" : "tuning";
}

int vg_degrade_family_of(const char *name)
{
    for (int f = 0; f < VG_FAM_N; f++)
        if (!strcmp(name, fam_names[f]))
            return f;
    return -1;
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static double uni(uint64_t *s, double a, double b)
{
    return a + (b - a) * ((rng_next(s) >> 11) * (1.0 / 9007199254740992.0));
}

/* Approximately standard normal: Irwin-Hall of four 16-bit uniforms (one
 * draw of the generator; enough for sensor noise, far cheaper than log/cos). */
static inline float gauss(uint64_t *s)
{
    uint64_t r = rng_next(s);
    unsigned sum = (unsigned)(r & 0xffff) + (unsigned)((r >> 16) & 0xffff) +
                   (unsigned)((r >> 32) & 0xffff) + (unsigned)(r >> 48);
    /* mean 2*65535, sd sqrt(4/12)*65536 */
    return ((float)sum - 131070.0f) * (1.7320508f / 65536.0f);
}

static inline uint8_t q8(float v)
{
    int q = (int)lrintf(v);
    return (uint8_t)(q < 0 ? 0 : (q > 255 ? 255 : q));
}

static float lerp(float a, float b, float t)
{
    return a + (b - a) * t;
}

void vg_degrade_sample(int family, int part, int level, int variant, vg_degrade_params_t *ret)
{
    vg_degrade_params_t p = { .family = family, .part = part, .level = level,
                              .variant = variant, .gain = 1, .gamma = 1, .cgain = 1,
                              .darken = 1, .width = 1, .t_far = 1, .t_near = 1 };
    if (level < 0)
        level = 0;
    if (level >= VG_DEGRADE_LEVELS)
        level = VG_DEGRADE_LEVELS - 1;
    const float s = (float)(level + 1) / VG_DEGRADE_LEVELS;
    p.strength = s;
    uint64_t r = 0x9e3779b97f4a7c15ull ^ ((uint64_t)family << 48) ^ ((uint64_t)part << 40) ^
                 ((uint64_t)level << 32) ^ (uint64_t)(variant + 1) * 0xbf58476d1ce4e5b9ull;
    for (int i = 0; i < 4; i++)
        rng_next(&r);
    const int held = part == VG_PART_HELD;
    if (variant & 1)
        p.jpeg_q = (int)uni(&r, held ? 7 : 4, held ? 16 : 11);
    switch (family) {
    case VG_FAM_NIGHT:
        p.gain = lerp(0.30f, 0.05f, s) * (float)uni(&r, 0.85, 1.15);
        p.cgain = p.gain * (float)uni(&r, 0.8, 1.5);
        if (!held) {
            p.gamma = (float)uni(&r, 1.1, 1.4);
            p.noise = (float)uni(&r, 1.5, 3.0);
        } else {
            p.gamma = uni(&r, 0, 1) < 0.5 ? (float)uni(&r, 0.9, 1.1) : (float)uni(&r, 1.4, 1.7);
            p.noise = (float)uni(&r, 1.0, 2.0);
            p.shot = (float)uni(&r, 0.3, 0.7);
            p.banding = (float)uni(&r, 0.5, 1.5);
            p.hot = (float)uni(&r, 0.0002, 0.001);
        }
        break;
    case VG_FAM_IR:
        p.cgain = 0;
        if (!held) {
            p.gain = lerp(0.50f, 0.25f, s);
            p.gamma = 1.1f;
            p.noise = lerp(5.0f, 12.0f, s);
        } else {
            p.gain = lerp(0.55f, 0.22f, s) * (float)uni(&r, 0.9, 1.1);
            p.gamma = (float)uni(&r, 0.9, 1.3);
            p.noise = lerp(3.0f, 9.0f, s);
            p.shot = (float)uni(&r, 0.3, 0.8);
            p.vignette = (float)uni(&r, 0.3, 0.6);
            p.blur = 1;
        }
        break;
    case VG_FAM_FOG:
        p.t_far = lerp(0.55f, 0.10f, s) * (float)uni(&r, 0.9, 1.1);
        p.t_near = p.t_far + (float)uni(&r, 0.2, 0.4);
        if (!held) {
            p.dir = 0;
            p.air[0] = (float)uni(&r, 200, 225);
            p.air[1] = 128 + (float)uni(&r, 0, 4); /* grey to faintly blue */
            p.air[2] = 128 - (float)uni(&r, 0, 3);
        } else {
            p.dir = 1 + (int)uni(&r, 0, 3); /* bottom, left, uniform */
            if (p.dir == 3)
                p.t_near = p.t_far = 0.5f * (p.t_far + p.t_near);
            p.air[0] = (float)uni(&r, 180, 235);
            if (uni(&r, 0, 1) < 0.5) { /* sodium-lit yellow */
                p.air[1] = 128 - (float)uni(&r, 6, 14);
                p.air[2] = 128 + (float)uni(&r, 4, 10);
            } else { /* blue */
                p.air[1] = 128 + (float)uni(&r, 6, 12);
                p.air[2] = 128 - (float)uni(&r, 4, 8);
            }
        }
        break;
    case VG_FAM_RAIN:
        p.streaks = (int)lerp(400, 3600, (s - 0.25f) / 0.75f);
        if (!held) {
            p.len_min = 10;
            p.len_max = 30;
            p.angle = -(float)uni(&r, 2, 20);
            p.amp_min = 30;
            p.amp_max = 70;
            p.noise = (float)uni(&r, 2, 3);
        } else {
            p.len_min = (int)uni(&r, 20, 30);
            p.len_max = p.len_min + (int)uni(&r, 15, 30);
            p.angle = (float)uni(&r, 2, 25);
            p.blend = 1;
            p.amp_min = (int)uni(&r, 15, 25);  /* alpha % */
            p.amp_max = p.amp_min + (int)uni(&r, 15, 30);
            p.width = uni(&r, 0, 1) < 0.5 ? 1 : 2;
            p.darken = (float)uni(&r, 0.6, 0.85);
            p.noise = (float)uni(&r, 3, 6);
        }
        break;
    default:
        break;
    }
    *ret = p;
}

int vg_degrade_describe(const vg_degrade_params_t *p, char *buf, size_t n)
{
    char jq[16] = "";
    if (p->jpeg_q)
        snprintf(jq, sizeof(jq), " jpeg q%d", p->jpeg_q);
    switch (p->family) {
    case VG_FAM_NIGHT:
    case VG_FAM_IR:
        return snprintf(buf, n, "%s gain %.2f gamma %.2f noise %.1f shot %.2f band %.1f hot %.4f "
                        "vign %.2f blur %d%s", vg_degrade_family_name(p->family), p->gain,
                        p->gamma, p->noise, p->shot, p->banding, p->hot, p->vignette, p->blur, jq);
    case VG_FAM_FOG:
        return snprintf(buf, n, "fog t %.2f..%.2f dir %d air %.0f,%.0f,%.0f%s", p->t_far,
                        p->t_near, p->dir, p->air[0], p->air[1], p->air[2], jq);
    case VG_FAM_RAIN:
        return snprintf(buf, n, "rain %d streaks len %d..%d angle %.0f %s %d..%d width %d darken "
                        "%.2f noise %.1f%s", p->streaks, p->len_min, p->len_max, p->angle,
                        p->blend ? "alpha%" : "amp", p->amp_min, p->amp_max, p->width, p->darken,
                        p->noise, jq);
    }
    return snprintf(buf, n, "clean%s", jq);
}

void vg_degrader_free(vg_degrader_t **p)
{
    if (!p || !*p)
        return;
    vg_degrader_t *d = *p;
    free(d->luma);
    avcodec_free_context(&d->enc);
    avcodec_free_context(&d->dec);
    av_frame_free(&d->in);
    av_frame_free(&d->out);
    av_packet_free(&d->pkt);
    free(d);
    *p = NULL;
}

int vg_degrader_new(int max_w, int max_h, vg_degrader_t **ret)
{
    if (!ret || max_w < 16 || max_h < 16 || max_w > 8192 || max_h > 8192)
        return -EINVAL;
    vg_degrader_t *d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    d->max_w = max_w;
    d->max_h = max_h;
    d->luma = malloc((size_t)max_w * max_h);
    d->in = av_frame_alloc();
    d->out = av_frame_alloc();
    d->pkt = av_packet_alloc();
    if (!d->luma || !d->in || !d->out || !d->pkt) {
        vg_degrader_free(&d);
        return -ENOMEM;
    }
    *ret = d;
    return 0;
}

/* MJPEG encoder/decoder at w x h (reopened on a size change). */
static int codec_open(vg_degrader_t *d, int w, int h)
{
    if (d->enc && d->enc->width == w && d->enc->height == h)
        return 0;
    avcodec_free_context(&d->enc);
    avcodec_free_context(&d->dec);
    const AVCodec *ec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
    const AVCodec *dc = avcodec_find_decoder(AV_CODEC_ID_MJPEG);
    if (!ec || !dc)
        return AVERROR_ENCODER_NOT_FOUND;
    d->enc = avcodec_alloc_context3(ec);
    d->dec = avcodec_alloc_context3(dc);
    if (!d->enc || !d->dec)
        return -ENOMEM;
    d->enc->width = w;
    d->enc->height = h;
    d->enc->pix_fmt = AV_PIX_FMT_YUVJ420P;
    d->enc->time_base = (AVRational){ 1, 25 };
    d->enc->flags |= AV_CODEC_FLAG_QSCALE;
    d->enc->thread_count = 1;
    d->dec->thread_count = 1;
    int r = avcodec_open2(d->enc, ec, NULL);
    if (r >= 0)
        r = avcodec_open2(d->dec, dc, NULL);
    if (r >= 0) {
        av_frame_unref(d->in);
        d->in->width = w;
        d->in->height = h;
        d->in->format = AV_PIX_FMT_YUVJ420P;
        r = av_frame_get_buffer(d->in, 0);
    }
    if (r < 0) {
        avcodec_free_context(&d->enc);
        avcodec_free_context(&d->dec);
    }
    return r;
}

/* JPEG round trip of img's planes in place (the values are coded as they are:
 * the range does not matter to a round trip). */
static int jpeg_roundtrip(vg_degrader_t *d, vg_image_t *img, int q)
{
    const int w = img->width, h = img->height;
    int r = codec_open(d, w, h);
    if (r < 0)
        return r;
    if ((r = av_frame_make_writable(d->in)) < 0)
        return r;
    for (int p = 0; p < 3; p++) {
        int pw = p ? (w + 1) / 2 : w, ph = p ? (h + 1) / 2 : h;
        for (int y = 0; y < ph; y++)
            memcpy(d->in->data[p] + (size_t)y * d->in->linesize[p],
                   img->data[p] + (size_t)y * img->linesize[p], pw);
    }
    d->in->quality = FF_QP2LAMBDA * q;
    d->in->pts++;
    if ((r = avcodec_send_frame(d->enc, d->in)) < 0 ||
        (r = avcodec_receive_packet(d->enc, d->pkt)) < 0)
        return r;
    r = avcodec_send_packet(d->dec, d->pkt);
    av_packet_unref(d->pkt);
    if (r < 0 || (r = avcodec_receive_frame(d->dec, d->out)) < 0)
        return r;
    for (int p = 0; p < 3; p++) {
        int pw = p ? (w + 1) / 2 : w, ph = p ? (h + 1) / 2 : h;
        for (int y = 0; y < ph; y++)
            memcpy(img->data[p] + (size_t)y * img->linesize[p],
                   d->out->data[p] + (size_t)y * d->out->linesize[p], pw);
    }
    av_frame_unref(d->out);
    return 0;
}

static void draw_streaks(const vg_degrade_params_t *p, vg_image_t *dst, uint64_t *rng)
{
    const int W = dst->width, H = dst->height;
    const int n = (int)((double)p->streaks * W * H / (768.0 * 576.0));
    const float slope = tanf(p->angle * 3.14159265f / 180.0f);
    const int span = p->len_max > p->len_min ? p->len_max - p->len_min + 1 : 1;
    const int aspan = p->amp_max > p->amp_min ? p->amp_max - p->amp_min + 1 : 1;
    const int margin = p->len_max + 2;
    if (W <= 2 * margin || H <= margin)
        return;
    for (int k = 0; k < n; k++) {
        uint64_t r = rng_next(rng);
        int len = p->len_min + (int)((r >> 40) % (uint64_t)span);
        int amp = p->amp_min + (int)((r >> 52) % (uint64_t)aspan);
        int x0 = margin + (int)(r % (uint64_t)(W - 2 * margin));
        int y0 = (int)((r >> 20) % (uint64_t)(H - len));
        for (int i = 0; i < len; i++) {
            int y = y0 + i, x = x0 + (int)lrintf(i * slope);
            uint8_t *row = dst->data[0] + (size_t)y * dst->linesize[0];
            for (int k2 = 0; k2 < p->width; k2++) {
                uint8_t *v = row + x + k2;
                if (p->blend) {
                    /* motion blur: fades in and out along the streak */
                    float a = amp * 0.01f * sinf(3.14159265f * (i + 0.5f) / len);
                    *v = q8(*v + a * (235.0f - *v));
                } else {
                    *v = q8((float)*v + amp);
                }
            }
        }
    }
}

int vg_degrade_frame(vg_degrader_t *d, const vg_degrade_params_t *p, const vg_image_t *src,
                     vg_image_t *dst, uint64_t *rng)
{
    if (!d || !p || !src || !dst || src->format != VG_PIX_YUV420P ||
        dst->format != VG_PIX_YUV420P || src->width > d->max_w || src->height > d->max_h ||
        src->width < 16 || src->height < 16 || src->data[0] == dst->data[0])
        return -EINVAL;
    const int W = src->width, H = src->height;
    dst->width = W;
    dst->height = H;
    const uint8_t *Y = src->data[0];
    int yls = src->linesize[0];
    if (p->blur) { /* 3x3 box on the luma: a soft IR lens */
        for (int y = 0; y < H; y++) {
            const uint8_t *a = Y + (size_t)(y ? y - 1 : 0) * yls, *b = Y + (size_t)y * yls,
                          *c = Y + (size_t)(y + 1 < H ? y + 1 : H - 1) * yls;
            uint8_t *o = d->luma + (size_t)y * W;
            for (int x = 0; x < W; x++) {
                int xl = x ? x - 1 : 0, xr = x + 1 < W ? x + 1 : W - 1;
                int s = a[xl] + a[x] + a[xr] + b[xl] + b[x] + b[xr] + c[xl] + c[x] + c[xr];
                o[x] = (uint8_t)((s + 4) / 9);
            }
        }
        Y = d->luma;
        yls = W;
    }
    float lut[256];
    for (int v = 0; v < 256; v++) {
        float x = (v - 16) / 219.0f;
        lut[v] = x > 0 ? 219.0f * powf(x, p->gamma) : 0.0f;
    }
    const int fam = p->family;
    for (int pl = 0; pl < 3; pl++) {
        const int pw = pl ? (W + 1) / 2 : W, ph = pl ? (H + 1) / 2 : H;
        const uint8_t *sp = pl ? src->data[pl] : Y;
        const int sls = pl ? src->linesize[pl] : yls;
        for (int y = 0; y < ph; y++) {
            const uint8_t *s = sp + (size_t)y * sls;
            uint8_t *o = dst->data[pl] + (size_t)y * dst->linesize[pl];
            const float fy = (float)(pl ? 2 * y : y) / H;
            const float band = p->banding > 0 && !pl ? p->banding * gauss(rng) : 0.0f;
            for (int x = 0; x < pw; x++) {
                float v = s[x];
                const float fx = (float)(pl ? 2 * x : x) / W;
                switch (fam) {
                case VG_FAM_NIGHT:
                case VG_FAM_IR: {
                    float g = p->gain;
                    if (p->vignette > 0) {
                        float dx = fx - 0.5f, dy = fy - 0.5f;
                        float r2 = (dx * dx + dy * dy) * 2.0f; /* 1 at the corners */
                        g *= 1.0f - p->vignette * r2;
                    }
                    if (!pl) {
                        float sig = g * lut[s[x]];
                        float sd = p->noise;
                        if (p->shot > 0)
                            sd = sqrtf(sd * sd + p->shot * p->shot * sig);
                        v = 16 + sig + sd * gauss(rng) + band;
                        if (p->hot > 0 && (rng_next(rng) >> 40) < (uint64_t)(p->hot * 16777216.0f))
                            v = 200 + (float)(rng_next(rng) % 40);
                    } else {
                        v = 128 + (v - 128) * p->cgain + (p->cgain > 0 ? 0.6f * p->noise * gauss(rng) : 0);
                    }
                    break;
                }
                case VG_FAM_FOG: {
                    float t;
                    switch (p->dir) {
                    case 0: t = p->t_far + (p->t_near - p->t_far) * fy; break;
                    case 1: t = p->t_near + (p->t_far - p->t_near) * fy; break;
                    case 2: t = p->t_far + (p->t_near - p->t_far) * fx; break;
                    default: t = p->t_far; break;
                    }
                    v = v * t + p->air[pl] * (1 - t) + (pl ? 0.5f : 1.0f) * gauss(rng);
                    break;
                }
                case VG_FAM_RAIN:
                    if (!pl)
                        v = 16 + (v - 16) * p->darken + p->noise * gauss(rng);
                    else
                        v = 128 + (v - 128) * p->darken + 0.5f * p->noise * gauss(rng);
                    break;
                default:
                    break;
                }
                o[x] = q8(v);
            }
        }
    }
    if (fam == VG_FAM_RAIN)
        draw_streaks(p, dst, rng);
    dst->full_range = src->full_range;
    dst->chroma_loc = src->chroma_loc;
    if (p->jpeg_q)
        return jpeg_roundtrip(d, dst, p->jpeg_q);
    return 0;
}

int vg_degrade_match(const vg_det_t *ref, int nr, const vg_det_t *got, int ng)
{
    char used[256] = {0};
    int m = 0;
    if (ng > 256)
        ng = 256;
    for (int i = 0; i < nr; i++) {
        int best = -1;
        float biou = 0.5f;
        for (int j = 0; j < ng; j++) {
            if (used[j] || got[j].label != ref[i].label)
                continue;
            float iou = vg_head_iou(&ref[i], &got[j]);
            if (iou >= biou) {
                biou = iou;
                best = j;
            }
        }
        if (best >= 0) {
            used[best] = 1;
            m++;
        }
    }
    return m;
}
