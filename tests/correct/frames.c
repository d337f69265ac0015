#include "tests/correct/frames.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <libswscale/swscale.h>

#include "capture/reader.h"

const char *vgt_footage(const char *name)
{
    static char buf[4096];
    const char *dir = getenv("VIGIL_CACHE_DIR");
    snprintf(buf, sizeof(buf), "%s/footage/%s", dir && *dir ? dir : VIGIL_CACHE_DIR, name);
    return buf;
}

int vgt_decode(const char *path, int first, int n, AVFrame **out)
{
    const vg_reader_config_t rc = {.url = path, .decode_threads = 1};
    vg_reader_t *rd = NULL;
    int got = 0, r = vg_reader_open(&rc, &rd, NULL, 0);
    AVFrame *f = av_frame_alloc();
    for (int idx = 0; r >= 0 && got < n && (r = vg_reader_read(rd, f)) == 0; idx++)
        if (idx >= first)
            out[got++] = av_frame_clone(f);
    av_frame_free(&f);
    vg_reader_free(&rd);
    return r < 0 && r != AVERROR_EOF ? r : got;
}

AVFrame *vgt_convert(const AVFrame *f, int fmt, int w, int h, int flags)
{
    AVFrame *o = av_frame_alloc();
    o->format = fmt;
    o->width = w;
    o->height = h;
    if (av_frame_get_buffer(o, 64) < 0) {
        av_frame_free(&o);
        return NULL;
    }
    struct SwsContext *sws = sws_getContext(f->width, f->height, f->format, w, h, fmt, flags,
                                            NULL, NULL, NULL);
    sws_scale(sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, o->data,
              o->linesize);
    sws_freeContext(sws);
    o->color_range = fmt == AV_PIX_FMT_YUVJ420P ? AVCOL_RANGE_JPEG : f->color_range;
    return o;
}

double vgt_psnr(const uint8_t *a, int la, const uint8_t *b, int lb, int w, int h)
{
    double se = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double d = (double)a[y * la + x] - b[y * lb + x];
            se += d * d;
        }
    double mse = se / ((double)w * h);
    return mse <= 1e-12 ? 99.0 : 10.0 * log10(255.0 * 255.0 / mse);
}

double vgt_gauss(uint64_t *s)
{
    double u[2];
    for (int i = 0; i < 2; i++) {
        *s ^= *s << 13; *s ^= *s >> 7; *s ^= *s << 17;
        u[i] = ((*s >> 11) + 0.5) * (1.0 / 9007199254740992.0);
    }
    return sqrt(-2.0 * log(u[0])) * cos(6.283185307179586 * u[1]);
}

void vgt_degrade(vg_image_t *out, const AVFrame *in, int kind, uint64_t *rng)
{
    int W = in->width, H = in->height;
    for (int p = 0; p < 3; p++) {
        int pw = p ? (W + 1) / 2 : W, ph = p ? (H + 1) / 2 : H, sc = p ? 2 : 1;
        int c = p ? 128 : 16;
        double A = p ? 128 : 215, sigma = p ? 4 : 8;
        for (int y = 0; y < ph; y++) {
            double t = 0.35 + 0.40 * ((y * sc) / (double)H);
            for (int x = 0; x < pw; x++) {
                double v = in->data[p][y * in->linesize[p] + x];
                switch (kind) {
                case VGT_DARK: v = c + (v - c) / 5; break;
                case VGT_HAZE: v = v * t + A * (1 - t); break;
                case VGT_NOISE: v += sigma * vgt_gauss(rng); break;
                case VGT_RAIN: v += sigma / 4 * vgt_gauss(rng); break;
                default: break;
                }
                long q = lrint(v);
                out->data[p][y * out->linesize[p] + x] = (uint8_t)(q < 0 ? 0 : (q > 255 ? 255 : q));
            }
        }
    }
    for (int k = 0; kind == VGT_RAIN && k < 300; k++) {
        *rng ^= *rng << 13; *rng ^= *rng >> 7; *rng ^= *rng << 17;
        int x0 = 10 + (int)(*rng % (uint64_t)(W - 20)), y0 = (int)((*rng >> 20) % (uint64_t)(H - 30));
        int len = 8 + (int)((*rng >> 40) % 16), amp = 40 + (int)((*rng >> 50) % 50);
        for (int t = 0; t < len; t++) {
            uint8_t *v = &out->data[0][(y0 + t) * out->linesize[0] + x0 + t / 6];
            *v = (uint8_t)(*v + amp > 255 ? 255 : *v + amp);
        }
    }
    out->full_range = false;
    out->chroma_loc = VG_CHROMA_LEFT;
}
