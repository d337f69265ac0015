/* reader.c: see reader.h. */
#include "capture/reader.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libavutil/time.h>
#include <libswscale/swscale.h>

#define PIC_ALIGN 64 /* line alignment of converted pictures (AVX-512 loads) */

struct vg_reader {
    vg_reader_config_t cfg;
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVPacket *pkt;
    int stream;
    int audio_stream;       /* cfg.audio: the audio stream kept, -1 = none */
    bool network;           /* a stream, not a file: no avio_feof end */
    bool draining;          /* the demuxer ended; the decoder gives what it holds */
    bool interrupted;       /* cfg.interrupt stopped the last I/O */
    bool timed_out;         /* the deadline stopped the last I/O */
    int64_t io_deadline_us; /* monotonic; 0 = none */
    int64_t io_progress;    /* bytes seen by the AVIO layer at the last check */
    uint64_t frames, decode_errors;
    /* cfg.convert: pictures in other formats become YUV420P here */
    struct SwsContext *sws;
    AVBufferPool *pic_pool; /* YUV420P pictures of pic_w x pic_h */
    int pic_w, pic_h;
    AVFrame *conv;          /* shell the converted picture is built in */
    char error[VG_READER_ERROR_MAX];
};

bool vg_reader_url_is_network(const char *url)
{
    static const char *const schemes[] = {"rtsp://", "rtsps://", "rtmp://", "http://", "https://",
                                          "udp://", "tcp://", "srt://", "rtp://"};
    for (size_t i = 0; i < sizeof(schemes) / sizeof(*schemes); i++)
        if (strncmp(url, schemes[i], strlen(schemes[i])) == 0)
            return true;
    return false;
}

/* libavformat calls this often while it blocks. The timeout means "no data
 * for timeout_us", not "this call took longer": while bytes keep arriving
 * (a long stream probe, a slow but live camera) the deadline moves on. */
static int interrupt_cb(void *opaque)
{
    vg_reader_t *r = opaque;
    if (r->cfg.interrupt && r->cfg.interrupt(r->cfg.opaque)) {
        r->interrupted = true;
        return 1;
    }
    if (!r->io_deadline_us)
        return 0;
    int64_t now = av_gettime_relative();
    if (r->fmt && r->fmt->pb) {
        int64_t seen = r->fmt->pb->bytes_read + r->fmt->pb->pos;
        if (seen != r->io_progress) {
            r->io_progress = seen;
            r->io_deadline_us = now + r->cfg.timeout_us;
            return 0;
        }
    }
    if (now <= r->io_deadline_us)
        return 0;
    r->timed_out = true;
    return 1;
}

/* Starts the no-data deadline of the next blocking call. */
static void arm(vg_reader_t *r)
{
    r->interrupted = r->timed_out = false;
    r->io_deadline_us = r->cfg.timeout_us > 0 ? av_gettime_relative() + r->cfg.timeout_us : 0;
}

/* Describes an I/O failure into buf, telling a timeout and an interrupt
 * from other errors; returns the code to hand back. */
static int io_error(vg_reader_t *r, int err, const char *what, char *buf, size_t len)
{
    if (err == AVERROR_EXIT && r->timed_out && !r->interrupted) {
        snprintf(buf, len, "%s '%s': no data for %.1fs (timed out)", what, r->cfg.url, r->cfg.timeout_us / 1e6);
        return AVERROR(ETIMEDOUT);
    }
    snprintf(buf, len, "%s '%s': %s", what, r->cfg.url, err == AVERROR_EXIT ? "interrupted" : av_err2str(err));
    return err;
}

static int open_input(vg_reader_t *r, char *why, size_t whylen)
{
    AVDictionary *opts = NULL;
    char timeout[32];
    snprintf(timeout, sizeof(timeout), "%" PRId64, r->cfg.timeout_us);
    if (strncmp(r->cfg.url, "rtsp", 4) == 0) {
        av_dict_set(&opts, "rtsp_transport", r->cfg.rtsp_transport ? r->cfg.rtsp_transport : "tcp", 0);
        if (r->cfg.timeout_us > 0)
            av_dict_set(&opts, "timeout", timeout, 0); /* socket I/O, microseconds */
    } else if (r->network && r->cfg.timeout_us > 0) {
        av_dict_set(&opts, "rw_timeout", timeout, 0);
    }
    if (r->network) {
        /* cameras announce their format in the first GOP; probing 5 s of a
         * live stream (the default for MPEG-TS) only delays the first frame */
        av_dict_set(&opts, "analyzeduration", "2000000", 0);
    }
    r->fmt = avformat_alloc_context();
    if (!r->fmt) {
        av_dict_free(&opts);
        snprintf(why, whylen, "out of memory");
        return AVERROR(ENOMEM);
    }
    r->fmt->interrupt_callback = (AVIOInterruptCB){.callback = interrupt_cb, .opaque = r};
    arm(r);
    int e = avformat_open_input(&r->fmt, r->cfg.url, NULL, &opts);
    av_dict_free(&opts);
    if (e < 0)
        return io_error(r, e, "cannot open", why, whylen); /* avformat_open_input freed fmt */
    arm(r);
    e = avformat_find_stream_info(r->fmt, NULL);
    if (e < 0)
        return io_error(r, e, "cannot read stream info from", why, whylen);
    const AVCodec *codec = NULL;
    e = av_find_best_stream(r->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (e < 0 || !codec) {
        snprintf(why, whylen, "'%s' has no decodable video stream: %s", r->cfg.url,
                 av_err2str(e < 0 ? e : AVERROR_DECODER_NOT_FOUND));
        return e < 0 ? e : AVERROR_DECODER_NOT_FOUND;
    }
    r->stream = e;
    AVStream *st = r->fmt->streams[e];
    r->dec = avcodec_alloc_context3(codec);
    if (!r->dec) {
        snprintf(why, whylen, "out of memory");
        return AVERROR(ENOMEM);
    }
    e = avcodec_parameters_to_context(r->dec, st->codecpar);
    if (e < 0) {
        snprintf(why, whylen, "'%s': bad codec parameters: %s", r->cfg.url, av_err2str(e));
        return e;
    }
    r->dec->pkt_timebase = st->time_base;
    r->dec->thread_count = r->cfg.decode_threads;
    /* frame threads scale best for H.264/HEVC; slice threads add nothing
     * for the streams cameras send */
    r->dec->thread_type = FF_THREAD_FRAME;
    e = avcodec_open2(r->dec, codec, NULL);
    if (e < 0) {
        snprintf(why, whylen, "'%s': cannot open %s decoder: %s", r->cfg.url, codec->name, av_err2str(e));
        return e;
    }
    r->audio_stream = -1;
    if (r->cfg.audio) {
        e = av_find_best_stream(r->fmt, AVMEDIA_TYPE_AUDIO, -1, r->stream, NULL, 0);
        r->audio_stream = e >= 0 ? e : -1;
    }
    for (unsigned i = 0; i < r->fmt->nb_streams; i++)
        if ((int)i != r->stream && (int)i != r->audio_stream)
            r->fmt->streams[i]->discard = AVDISCARD_ALL;
    return 0;
}

int vg_reader_open(const vg_reader_config_t *cfg, vg_reader_t **ret, char *err, size_t errlen)
{
    char scratch[8];
    if (!err) {
        err = scratch;
        errlen = sizeof(scratch);
    }
    if (!cfg || !cfg->url || !ret) {
        snprintf(err, errlen, "no URL to read");
        return AVERROR(EINVAL);
    }
    vg_reader_t *r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return AVERROR(ENOMEM);
    }
    r->cfg = *cfg;
    r->network = vg_reader_url_is_network(cfg->url);
    int e = AVERROR(ENOMEM);
    r->pkt = av_packet_alloc();
    r->conv = av_frame_alloc();
    if (!r->pkt || !r->conv) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if ((e = open_input(r, err, errlen)) < 0)
        goto fail;
    *ret = r;
    return 0;
fail:
    vg_reader_free(&r);
    return e;
}

static bool pipeline_format(int format)
{
    /* what pipeline/correct/image.h and the motion gate read */
    return format == AV_PIX_FMT_YUV420P || format == AV_PIX_FMT_YUVJ420P || format == AV_PIX_FMT_NV12;
}

/* Replaces f's picture by a YUV420P copy from the pool (cfg.convert). */
static int convert(vg_reader_t *r, AVFrame *f)
{
    if (!r->pic_pool || r->pic_w != f->width || r->pic_h != f->height) {
        int size = av_image_get_buffer_size(AV_PIX_FMT_YUV420P, f->width, f->height, PIC_ALIGN);
        if (size < 0)
            return size;
        av_buffer_pool_uninit(&r->pic_pool); /* frees once the pictures out there return */
        if (!(r->pic_pool = av_buffer_pool_init((size_t)size, NULL)))
            return AVERROR(ENOMEM);
        r->pic_w = f->width;
        r->pic_h = f->height;
    }
    r->sws = sws_getCachedContext(r->sws, f->width, f->height, (enum AVPixelFormat)f->format, f->width, f->height,
                                  AV_PIX_FMT_YUV420P, SWS_BILINEAR, NULL, NULL, NULL);
    if (!r->sws)
        return AVERROR(ENOSYS); /* swscale cannot read this format */
    AVFrame *o = r->conv;
    AVBufferRef *buf = av_buffer_pool_get(r->pic_pool);
    if (!buf)
        return AVERROR(ENOMEM);
    int e = av_image_fill_arrays(o->data, o->linesize, buf->data, AV_PIX_FMT_YUV420P, f->width, f->height,
                                 PIC_ALIGN);
    if (e < 0) {
        av_buffer_unref(&buf);
        return e;
    }
    o->buf[0] = buf;
    o->format = AV_PIX_FMT_YUV420P;
    o->width = f->width;
    o->height = f->height;
    if ((e = av_frame_copy_props(o, f)) < 0)
        goto fail;
    o->color_range = AVCOL_RANGE_MPEG;
    e = sws_scale(r->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, o->data, o->linesize);
    if (e <= 0) {
        e = e < 0 ? e : AVERROR_EXTERNAL;
        goto fail;
    }
    av_frame_unref(f);
    av_frame_move_ref(f, o);
    return 0;
fail:
    av_frame_unref(o);
    return e;
}

int vg_reader_read(vg_reader_t *r, AVFrame *ret_frame)
{
    r->error[0] = '\0';
    av_frame_unref(ret_frame);
    for (;;) {
        int e = avcodec_receive_frame(r->dec, ret_frame);
        if (e >= 0) {
            if (r->cfg.convert && !pipeline_format(ret_frame->format) && (e = convert(r, ret_frame)) < 0) {
                snprintf(r->error, sizeof(r->error), "'%s': cannot convert %s pictures: %s", r->cfg.url,
                         av_get_pix_fmt_name((enum AVPixelFormat)ret_frame->format), av_err2str(e));
                av_frame_unref(ret_frame);
                return e;
            }
            r->frames++;
            return 0;
        }
        if (e != AVERROR(EAGAIN) && e != AVERROR_EOF)
            r->decode_errors++; /* a picture the decoder could not make: go on with the next packet */
        if (e == AVERROR_EOF || r->draining)
            return AVERROR_EOF; /* flushed (a broken last picture ends it too) */
        if (r->cfg.interrupt && r->cfg.interrupt(r->cfg.opaque))
            return AVERROR_EXIT;
        arm(r);
        e = av_read_frame(r->fmt, r->pkt);
        if (e == AVERROR_EOF || (e < 0 && !r->network && r->fmt->pb && avio_feof(r->fmt->pb))) {
            /* flush: the decoder holds the last pictures */
            avcodec_send_packet(r->dec, NULL);
            r->draining = true;
            continue;
        }
        if (e < 0)
            return io_error(r, e, "read failed on", r->error, sizeof(r->error));
        if (r->pkt->stream_index != r->stream) {
            if (r->pkt->stream_index == r->audio_stream && r->cfg.on_packet)
                r->cfg.on_packet(r->cfg.opaque, r->pkt);
            av_packet_unref(r->pkt);
            continue;
        }
        if (r->cfg.on_packet)
            r->cfg.on_packet(r->cfg.opaque, r->pkt);
        /* the decoder had no picture left (EAGAIN above), so it takes this */
        e = avcodec_send_packet(r->dec, r->pkt);
        av_packet_unref(r->pkt);
        if (e < 0)
            r->decode_errors++; /* a corrupt packet is skipped */
    }
}

int vg_reader_rewind(vg_reader_t *r)
{
    r->error[0] = '\0';
    arm(r);
    int e = avformat_seek_file(r->fmt, -1, INT64_MIN, 0, 0, 0);
    if (e < 0)
        e = av_seek_frame(r->fmt, r->stream, 0, AVSEEK_FLAG_BACKWARD);
    avcodec_flush_buffers(r->dec);
    r->draining = false;
    if (e < 0)
        return io_error(r, e, "cannot seek to the start of", r->error, sizeof(r->error));
    return 0;
}

const char *vg_reader_error(const vg_reader_t *r) { return r->error; }

const AVStream *vg_reader_stream(const vg_reader_t *r) { return r->fmt->streams[r->stream]; }

const AVStream *vg_reader_audio_stream(const vg_reader_t *r)
{
    return r->audio_stream >= 0 ? r->fmt->streams[r->audio_stream] : NULL;
}

AVRational vg_reader_frame_rate(const vg_reader_t *r)
{
    return av_guess_frame_rate(r->fmt, r->fmt->streams[r->stream], NULL);
}

const char *vg_reader_codec_name(const vg_reader_t *r) { return r->dec->codec->name; }

uint64_t vg_reader_frames(const vg_reader_t *r) { return r->frames; }

uint64_t vg_reader_decode_errors(const vg_reader_t *r) { return r->decode_errors; }

void vg_reader_free(vg_reader_t **pr)
{
    if (!pr || !*pr)
        return;
    vg_reader_t *r = *pr;
    avcodec_free_context(&r->dec);
    avformat_close_input(&r->fmt);
    av_packet_free(&r->pkt);
    av_frame_free(&r->conv);
    sws_freeContext(r->sws);
    av_buffer_pool_uninit(&r->pic_pool);
    free(r);
    *pr = NULL;
}
