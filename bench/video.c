#include "video.h"

#include <string.h>

int vg_bench_video_open(const char *path, vg_bench_video_t *v)
{
    memset(v, 0, sizeof(*v));
    int r = avformat_open_input(&v->fmt, path, NULL, NULL);
    if (r < 0)
        return r;
    const AVCodec *codec = NULL;
    if ((r = avformat_find_stream_info(v->fmt, NULL)) < 0 ||
        (r = av_find_best_stream(v->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0)) < 0)
        goto fail;
    v->stream = r;
    r = AVERROR(ENOMEM);
    if (!(v->dec = avcodec_alloc_context3(codec)) || !(v->pkt = av_packet_alloc()))
        goto fail;
    if ((r = avcodec_parameters_to_context(v->dec, v->fmt->streams[v->stream]->codecpar)) < 0)
        goto fail;
    v->dec->thread_count = 1; /* the benches measure one core's work */
    if ((r = avcodec_open2(v->dec, codec, NULL)) < 0)
        goto fail;
    return 0;
fail:
    vg_bench_video_close(v);
    return r;
}

int vg_bench_video_next(vg_bench_video_t *v, AVFrame *f)
{
    av_frame_unref(f);
    for (;;) {
        int r = avcodec_receive_frame(v->dec, f);
        if (r != AVERROR(EAGAIN))
            return r; /* a frame, AVERROR_EOF once flushed, or an error */
        if (v->flushing)
            return AVERROR_EOF;
        if (av_read_frame(v->fmt, v->pkt) < 0) {
            v->flushing = true;
            avcodec_send_packet(v->dec, NULL);
            continue;
        }
        if (v->pkt->stream_index == v->stream)
            avcodec_send_packet(v->dec, v->pkt); /* a corrupt packet is skipped */
        av_packet_unref(v->pkt);
    }
}

void vg_bench_video_close(vg_bench_video_t *v)
{
    av_packet_free(&v->pkt);
    avcodec_free_context(&v->dec);
    avformat_close_input(&v->fmt);
}
