/*
 * bench/correct: per-frame milliseconds of vigil's correction kernels at 720p
 * and 1080p on one thread, beside OpenCV's equivalents (opencv_ref.py, run
 * in the same invocation), with ratios. Median of N runs on vtest.avi frame
 * 100 upscaled (bicubic). Not a test: nothing here asserts on time.
 * Times are the thread's CPU time (CLOCK_THREAD_CPUTIME_ID; Python's
 * time.thread_time on the OpenCV side), so that other processes on a shared
 * machine do not count; cache and memory contention still do.
 * usage: bench_correct [--no-opencv]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libswscale/swscale.h>

#include "capture/reader.h"
#include "pipeline/correct/correct.h"
#include "pipeline/correct/dehaze.h"
#include "pipeline/correct/lowlight.h"
#include "pipeline/correct/temporal.h"
#include "pipeline/correct/tensor_prep.h"

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#define MEDIAN(N, STMT)                                                                   \
    ({                                                                                    \
        double ts_[N];                                                                    \
        STMT;                                                                             \
        for (int i_ = 0; i_ < (N); i_++) {                                                \
            double t0_ = now_ms();                                                        \
            STMT;                                                                         \
            ts_[i_] = now_ms() - t0_;                                                     \
        }                                                                                 \
        qsort(ts_, (N), sizeof(double), cmpd);                                            \
        ts_[(N) / 2];                                                                     \
    })

static AVFrame *decode_frame(const char *path, int index)
{
    const vg_reader_config_t rc = {.url = path, .decode_threads = 1}; /* one core's work */
    vg_reader_t *v = NULL;
    if (vg_reader_open(&rc, &v, NULL, 0) < 0)
        return NULL;
    AVFrame *f = av_frame_alloc(), *got = NULL;
    for (int n = 0; f && !got && vg_reader_read(v, f) == 0; n++)
        if (n == index)
            got = av_frame_clone(f);
    av_frame_free(&f);
    vg_reader_free(&v);
    return got;
}

static AVFrame *scale(const AVFrame *f, int w, int h)
{
    AVFrame *o = av_frame_alloc();
    o->format = AV_PIX_FMT_YUV420P;
    o->width = w;
    o->height = h;
    av_frame_get_buffer(o, 64);
    struct SwsContext *s = sws_getContext(f->width, f->height, f->format, w, h,
                                          AV_PIX_FMT_YUV420P, SWS_BICUBIC, NULL, NULL, NULL);
    sws_scale(s, (const uint8_t *const *)f->data, f->linesize, 0, f->height, o->data,
              o->linesize);
    sws_freeContext(s);
    return o;
}

typedef struct {
    const char *key, *what;
    double ours[2];
    double cv[2];
} row_t;

static row_t rows[] = {
    { "tensor", "tensor 416 (ours from YUV; cv: blobFromImage from BGR)", { 0 }, { 0 } },
    { "tensor_yuv", "tensor 416 from YUV (cv: cvtColor I420->BGR + blobFromImage)", { 0 }, { 0 } },
    { "clahe", "CLAHE on luma, 8x8 clip 2", { 0 }, { 0 } },
    { "gamma", "gamma LUT on luma (ours: folded into CLAHE tables)", { 0 }, { 0 } },
    { "lowlight", "CLAHE + gamma (ours: + chroma gain)", { 0 }, { 0 } },
    { "dehaze", "dark channel + guided filter + recovery", { 0 }, { 0 } },
    { "denoise", "denoise (ours: temporal; cv: fastNlMeansDenoising luma)", { 0 }, { 0 } },
    { "derain", "derain (ours: streak filter; no cv equivalent)", { 0 }, { 0 } },
    { "auto", "auto statistics + decision (nothing applied)", { 0 }, { 0 } },
};
enum { NROWS = sizeof(rows) / sizeof(rows[0]) };

static row_t *find(const char *key)
{
    for (int i = 0; i < NROWS; i++)
        if (!strcmp(rows[i].key, key))
            return &rows[i];
    return NULL;
}

int main(int argc, char **argv)
{
    bool with_cv = !(argc > 1 && !strcmp(argv[1], "--no-opencv"));
    const char *dir = getenv("VIGIL_CACHE_DIR");
    char path[4096];
    snprintf(path, sizeof(path), "%s/footage/vtest.avi", dir && *dir ? dir : VIGIL_CACHE_DIR);
    AVFrame *src = decode_frame(path, 100);
    if (!src) {
        fprintf(stderr, "bench_correct: cannot decode '%s' (run scripts/fetch-footage.sh)\n", path);
        return 1;
    }
    const int sizes[2][2] = { { 1280, 720 }, { 1920, 1080 } };
    for (int s = 0; s < 2; s++) {
        int W = sizes[s][0], H = sizes[s][1];
        AVFrame *f = scale(src, W, H);
        vg_image_t im, out;
        vg_image_from_frame(f, &im);
        vg_image_alloc(&out, VG_PIX_YUV420P, W, H);
        float *tensor = aligned_alloc(64, sizeof(float) * 3 * 416 * 416);

        vg_tensor_prep_t *tp = NULL;
        vg_tensor_prep_new(&(vg_tensor_prep_config_t){ .width = 416, .height = 416, .pad = 114,
                                                       .scale = { 1 / 255.f, 1 / 255.f, 1 / 255.f } },
                           &tp);
        find("tensor")->ours[s] = MEDIAN(200, vg_tensor_prep_run(tp, &im, tensor, NULL));
        find("tensor_yuv")->ours[s] = find("tensor")->ours[s];
        vg_tensor_prep_free(&tp);

        vg_clahe_t *c = NULL;
        vg_clahe_new(W, H, 8, 8, 2.0f, &c);
        find("clahe")->ours[s] = MEDIAN(100, vg_clahe_run(c, im.data[0], im.linesize[0],
                                                          out.data[0], out.linesize[0], W, H,
                                                          NULL, NULL));
        uint8_t lut[256];
        vg_gamma_lut(lut, 0.6f, 16, 235);
        find("gamma")->ours[s] = MEDIAN(100, vg_clahe_run(c, im.data[0], im.linesize[0],
                                                          out.data[0], out.linesize[0], W, H,
                                                          lut, NULL)) -
                                 find("clahe")->ours[s];
        if (find("gamma")->ours[s] < 0)
            find("gamma")->ours[s] = 0;
        vg_clahe_free(&c);

        vg_lowlight_t *ll = NULL;
        vg_lowlight_new(&(vg_lowlight_config_t){ .max_width = W, .max_height = H }, &ll);
        find("lowlight")->ours[s] = MEDIAN(100, vg_lowlight_run(ll, &im, &out, 1.0f, NULL));
        vg_lowlight_free(&ll);

        vg_dehaze_t *dh = NULL;
        vg_dehaze_new(&(vg_dehaze_config_t){ .max_width = W, .max_height = H }, &dh);
        find("dehaze")->ours[s] = MEDIAN(50, vg_dehaze_run(dh, &im, &out, 1.0f, NULL));
        vg_dehaze_free(&dh);

        vg_denoise_t *dn = NULL;
        vg_denoise_new(W, H, &dn);
        find("denoise")->ours[s] = MEDIAN(100, vg_denoise_run(dn, &im, &out, 3.0f, 1.0f, 0.0f));
        vg_denoise_free(&dn);

        vg_derain_t *dr = NULL;
        vg_derain_new(W, H, &dr);
        find("derain")->ours[s] = MEDIAN(100, vg_derain_run(dr, &im, &out, 2.0f));
        vg_derain_free(&dr);

        vg_correct_state_t *st = NULL;
        vg_correct_new(&(vg_correct_config_t){ .max_width = W, .max_height = H,
                                               .mode = VG_CORRECT_MODE_AUTO },
                       &st);
        vg_image_t view;
        find("auto")->ours[s] = MEDIAN(100, vg_correct_apply(st, f, &view));
        vg_correct_free(&st);

        free(tensor);
        vg_image_release(&out);
        av_frame_free(&f);
    }
    av_frame_free(&src);

    if (with_cv) {
        char cmd[8192];
        snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s/bench/correct/opencv_ref.py '%s'",
                 VIGIL_SOURCE_DIR, path);
        FILE *p = popen(cmd, "r");
        char line[512];
        while (p && fgets(line, sizeof(line), p)) {
            char key[64];
            int w, h;
            double ms;
            if (line[0] == '#') {
                fputs(line, stdout);
                continue;
            }
            if (sscanf(line, "%63s %d %d %lf", key, &w, &h, &ms) == 4 && find(key))
                find(key)->cv[w == 1920] = ms;
        }
        if (!p || pclose(p) != 0)
            fprintf(stderr, "bench_correct: OpenCV side failed (%s)\n", cmd);
    }
    printf("%-64s %6s %9s %9s %8s\n", "kernel (1 thread, median ms per frame)", "size", "vigil",
           "OpenCV", "speedup");
    for (int i = 0; i < NROWS; i++)
        for (int s = 0; s < 2; s++) {
            char cv[32] = "-", ratio[32] = "-";
            if (rows[i].cv[s] > 0) {
                snprintf(cv, sizeof(cv), "%.3f", rows[i].cv[s]);
                if (rows[i].ours[s] > 0)
                    snprintf(ratio, sizeof(ratio), "%.1fx", rows[i].cv[s] / rows[i].ours[s]);
            }
            printf("%-64s %6s %9.3f %9s %8s\n", s ? "" : rows[i].what, s ? "1080p" : "720p",
                   rows[i].ours[s], cv, ratio);
        }
    return 0;
}
