/*
 * video: the benches' decoder. Opens a clip's best video stream with one
 * decoding thread and hands out its frames in order. Benches only: the
 * daemon decodes in capture/ (pooled frames, timeouts, reconnects).
 * Thread: one caller.
 */
#ifndef VG_BENCH_VIDEO_H
#define VG_BENCH_VIDEO_H

#include <stdbool.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

typedef struct {
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVPacket *pkt;
    int stream;
    bool flushing; /* the demuxer ended; the decoder gives what it holds */
} vg_bench_video_t;

/* Opens path. Returns 0, or a negative AVERROR with *v left closed (and
 * safe to pass to vg_bench_video_close). */
int vg_bench_video_open(const char *path, vg_bench_video_t *v);

/* The next decoded frame into f (unreferenced first). Returns 0, AVERROR_EOF
 * after the last frame, or another negative AVERROR. */
int vg_bench_video_next(vg_bench_video_t *v, AVFrame *f);

/* Frees everything; accepts a closed or half-opened v. */
void vg_bench_video_close(vg_bench_video_t *v);

#endif
