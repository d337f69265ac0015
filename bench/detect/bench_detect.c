/*
 * bench_detect: per-frame cost of vigil's detection path on a video:
 * libavcodec decode -> fused tensor prep -> engine -> head decode
 * (vg_detector_run), single thread, batch 1. Prints one JSON line:
 * frames, fps of the whole path, and p50/p95/p99 latency (ms) of the whole
 * path and of its detector part. Not a test; bench/detect/run.sh runs it
 * beside OpenCV DNN.
 * usage: bench_detect VIDEO MODEL.onnx [--precision fp32|bf16] [--frames N] [--warmup N]
 *                     [--batch B] [--threads T]
 * With --batch B, B decoded frames go through one engine run; per-frame
 * figures are the batch's divided by B.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


#include "capture/reader.h"
#include "models/heads/manifest.h"
#include "pipeline/detect.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(const double *sorted, int n, double p)
{
    int i = (int)(p / 100.0 * (n - 1) + 0.5);
    return sorted[i < 0 ? 0 : i >= n ? n - 1 : i];
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_detect VIDEO MODEL.onnx [--precision fp32|bf16] [--frames N] [--warmup N] [--batch B] [--threads T]\n");
        return 2;
    }
    const char *video = argv[1], *onnx = argv[2], *precision = "fp32";
    int batch = 1, threads = 1;
    int max_frames = 200, warmup = 5;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--precision") == 0)
            precision = argv[i + 1];
        else if (strcmp(argv[i], "--frames") == 0)
            max_frames = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--warmup") == 0)
            warmup = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--batch") == 0)
            batch = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--threads") == 0)
            threads = atoi(argv[i + 1]);
    }
    /* the model as `vigil detect` loads it: manifest thresholds, labels beside */
    char mpath[4096], why[512];
    snprintf(mpath, sizeof(mpath), "%.*s.json", (int)(strrchr(onnx, '.') ? strrchr(onnx, '.') - onnx : (long)strlen(onnx)), onnx);
    vg_manifest_t *mf = NULL;
    if (vg_manifest_load(mpath, &mf, why, sizeof(why)) < 0) {
        fprintf(stderr, "bench_detect: manifest '%s': %s\n", mpath, why);
        return 1;
    }
    vg_detector_config_t mc = {.threshold = mf->head.threshold, .nms_iou = mf->head.nms_iou};
    snprintf(mc.name, sizeof(mc.name), "%s", mf->name);
    snprintf(mc.head, sizeof(mc.head), "%s", mf->head_name);
    snprintf(mc.precision, sizeof(mc.precision), "%s", precision);
    vg_manifest_free(&mf);
    vg_detector_t *det = NULL;
    if (batch < 1 || batch > VG_DETECT_MAX_BATCH || threads < 1) {
        fprintf(stderr, "bench_detect: --batch 1..%d, --threads >= 1\n", VG_DETECT_MAX_BATCH);
        return 2;
    }
    if (vg_detector_new_batch(&mc, onnx, NULL, batch, threads, &det, why, sizeof(why)) < 0) {
        fprintf(stderr, "bench_detect: %s\n", why);
        return 1;
    }
    const vg_reader_config_t rc = {.url = video, .decode_threads = 1}; /* one core's work */
    vg_reader_t *clip = NULL;
    if (vg_reader_open(&rc, &clip, why, sizeof(why)) < 0) {
        fprintf(stderr, "bench_detect: %s\n", why);
        return 1;
    }
    const AVCodecParameters *dec = vg_reader_stream(clip)->codecpar;
    AVFrame *f = av_frame_alloc();
    double *total = calloc((size_t)max_frames, sizeof(double)), *infer = calloc((size_t)max_frames, sizeof(double));
    static vg_det_t dets[VG_DETECT_MAX_BATCH][VG_DETECT_MAX];
    AVFrame *held[VG_DETECT_MAX_BATCH];
    vg_image_t imgs[VG_DETECT_MAX_BATCH];
    int held_n = 0;
    int n = 0, seen = 0;
    long objects = 0;
    double t_start = 0, t0 = now_ms();
    while (n * batch < max_frames) {
        if (vg_reader_read(clip, f) < 0)
            break;
        held[held_n] = av_frame_clone(f); /* a benchmark: the daemon's pool is not needed here */
        av_frame_unref(f);
        if (!held[held_n] || vg_image_from_frame(held[held_n], &imgs[held_n]) < 0) {
            fprintf(stderr, "bench_detect: pixel format %d not handled\n", f->format);
            return 1;
        }
        if (++held_n < batch)
            continue;
        double t1 = now_ms();
        int k = 0;
        if (batch == 1) {
            k = vg_detector_run(det, &imgs[0], dets[0], VG_DETECT_MAX);
        } else {
            const vg_image_t *ip[VG_DETECT_MAX_BATCH];
            vg_det_t *dp[VG_DETECT_MAX_BATCH];
            int mx[VG_DETECT_MAX_BATCH], got[VG_DETECT_MAX_BATCH];
            for (int i = 0; i < batch; i++) {
                ip[i] = &imgs[i];
                dp[i] = dets[i];
                mx[i] = VG_DETECT_MAX;
            }
            if (vg_detector_run_batch(det, ip, batch, dp, mx, got) < 0)
                return 1;
            for (int i = 0; i < batch; i++)
                k += got[i] < 0 ? 0 : got[i];
        }
        double t2 = now_ms();
        for (int i = 0; i < held_n; i++)
            av_frame_free(&held[i]);
        held_n = 0;
        if (k < 0)
            return 1;
        if (seen++ >= warmup) {
            if (n == 0)
                t_start = t0;
            total[n] = (t2 - t0) / batch; /* read + decode + detector, per frame */
            infer[n] = (t2 - t1) / batch;
            objects += k;
            n++;
        }
        t0 = now_ms();
    }
    double wall = now_ms() - t_start;
    if (n == 0)
        return 1;
    qsort(total, (size_t)n, sizeof(double), cmp);
    qsort(infer, (size_t)n, sizeof(double), cmp);
    printf("{\"frames\":%d,\"width\":%d,\"height\":%d,\"precision\":\"%s\",\"batch\":%d,\"threads\":%d,"
           "\"fps\":%.2f,\"total_ms\":[%.2f,%.2f,%.2f],\"detector_ms\":[%.2f,%.2f,%.2f],\"objects\":%ld}\n",
           n * batch, dec->width, dec->height, precision, batch, threads, n * batch / (wall / 1e3), pct(total, n, 50), pct(total, n, 95),
           pct(total, n, 99), pct(infer, n, 50), pct(infer, n, 95), pct(infer, n, 99), objects);
    free(total);
    free(infer);
    av_frame_free(&f);
    vg_reader_free(&clip);
    vg_detector_free(&det);
    return 0;
}
