/* source.c: see source.h. */
#include "capture/source.h"
#include "capture/v4l2.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/time.h>

struct vg_source {
    vg_source_config_t cfg;
    pthread_t thread;
    bool thread_started;
    int stop_fd;              /* eventfd: main writes to wake sleeps */
    int done_fd;              /* eventfd: the thread writes when it ends */
    _Atomic int stop;         /* main writes; capture thread and AVIO callback read */
    _Atomic int done;         /* capture thread writes at exit */
    vg_source_stats_t stats;

    /* Capture thread only below. */
    int64_t io_deadline_us;   /* monotonic; 0 = none */
    int64_t io_progress;      /* bytes seen by the AVIO layer at the last check */
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVPacket *pkt;
    AVFrame *decoded;
    vg_frame_t *spare;        /* a frame we evicted, kept for reuse */
    int stream;
    bool live;                /* evict when full (vs wait) */
    bool network;             /* reconnects: a network URL or a V4L2 device */
    bool v4l2;                /* the URL is a V4L2 device: cam, not fmt/dec */
    bool fatal;               /* the last open failed for good (not a camera) */
    vg_v4l2_t *cam;
    AVRational time_base;     /* of the pts in decoded pictures */
    const char *codec_name;   /* for the streaming report */
    uint64_t frame_index;
    double next_sample;       /* pts_time of the next frame to analyse */
    double loop_offset;       /* seconds added to pts after each loop */
    double last_pts_time;
    int64_t first_pts;        /* of the current pass, for pts_time */
    int64_t pace_wall_start;  /* monotonic us when the current pacing run began */
    double pace_pts_start;
    bool pacing_started;
    bool streaming_reported;
    bool timed_out;           /* the last I/O failure was our timeout */
    vg_source_state_t state;
    unsigned rand_seed;       /* backoff jitter */
};

#define STAT_ADD(s, field, n) atomic_fetch_add_explicit(&(s)->stats.field, (n), memory_order_relaxed)

const char *vg_source_state_name(vg_source_state_t s)
{
    switch (s) {
    case VG_SOURCE_CONNECTING: return "connecting";
    case VG_SOURCE_STREAMING: return "streaming";
    case VG_SOURCE_STALLED: return "stalled";
    case VG_SOURCE_RECONNECTING: return "reconnecting";
    case VG_SOURCE_EOF: return "eof";
    case VG_SOURCE_FAILED: return "failed";
    case VG_SOURCE_STOPPED: return "stopped";
    }
    return "unknown";
}

bool vg_source_url_is_network(const char *url)
{
    if (vg_v4l2_url_is_device(url))
        return true; /* live, and a camera comes back after an unplug */
    static const char *const schemes[] = {"rtsp://", "rtsps://", "rtmp://", "http://", "https://",
                                          "udp://", "tcp://", "srt://", "rtp://"};
    for (size_t i = 0; i < sizeof(schemes) / sizeof(*schemes); i++)
        if (strncmp(url, schemes[i], strlen(schemes[i])) == 0)
            return true;
    return false;
}

static bool stopping(const vg_source_t *src)
{
    /* relaxed: a request flag; the eventfd wakes sleepers */
    return atomic_load_explicit(&src->stop, memory_order_relaxed) != 0;
}

static void set_state(vg_source_t *src, vg_source_state_t st, const char *reason)
{
    src->state = st;
    /* relaxed: a status reading for stats */
    atomic_store_explicit(&src->stats.state, (int)st, memory_order_relaxed);
    if (src->cfg.health)
        src->cfg.health(src->cfg.opaque, st, reason ? reason : "");
}

/* Sleeps up to us microseconds; returns false if stop was requested. */
static bool sleep_interruptible(vg_source_t *src, int64_t us)
{
    if (us <= 0)
        return !stopping(src);
    struct pollfd p = {.fd = src->stop_fd, .events = POLLIN};
    int ms = (int)((us + 999) / 1000);
    if (us < 1000) {
        struct timespec ts = {0, (long)us * 1000};
        nanosleep(&ts, NULL);
    } else {
        poll(&p, 1, ms);
    }
    return !stopping(src);
}

/* libavformat calls this often while it blocks. The timeout means "no data
 * for timeout_us", not "this call took longer": while bytes keep arriving
 * (a long stream probe, a slow but live camera) the deadline moves on. */
static int interrupt_cb(void *opaque)
{
    vg_source_t *src = opaque;
    if (stopping(src))
        return 1;
    if (!src->io_deadline_us)
        return 0;
    int64_t now = av_gettime_relative();
    if (src->fmt && src->fmt->pb) {
        int64_t seen = src->fmt->pb->bytes_read + src->fmt->pb->pos;
        if (seen != src->io_progress) {
            src->io_progress = seen;
            src->io_deadline_us = now + src->cfg.timeout_us;
            return 0;
        }
    }
    return now > src->io_deadline_us;
}

static void arm_deadline(vg_source_t *src) { src->io_deadline_us = av_gettime_relative() + src->cfg.timeout_us; }

static void close_input(vg_source_t *src)
{
    vg_v4l2_free(&src->cam);
    avcodec_free_context(&src->dec);
    avformat_close_input(&src->fmt);
}

/* Describes an I/O failure, telling a timeout from other errors. */
static void describe_io_error(vg_source_t *src, int err, const char *what, char *buf, size_t len)
{
    src->timed_out = err == AVERROR_EXIT && !stopping(src);
    if (src->timed_out)
        snprintf(buf, len, "%s '%s': no data for %.1fs (timed out)", what, src->cfg.url,
                 src->cfg.timeout_us / 1e6);
    else
        snprintf(buf, len, "%s '%s': %s", what, src->cfg.url, av_err2str(err));
}

static int open_input(vg_source_t *src, char *why, size_t whylen)
{
    AVDictionary *opts = NULL;
    char timeout[32];
    snprintf(timeout, sizeof(timeout), "%" PRId64, src->cfg.timeout_us);
    if (strncmp(src->cfg.url, "rtsp", 4) == 0) {
        av_dict_set(&opts, "rtsp_transport", src->cfg.rtsp_transport ? src->cfg.rtsp_transport : "tcp", 0);
        av_dict_set(&opts, "timeout", timeout, 0); /* socket I/O, microseconds */
    } else if (src->network) {
        av_dict_set(&opts, "rw_timeout", timeout, 0);
    }
    if (src->network) {
        /* cameras announce their format in the first GOP; probing 5 s of a
         * live stream (the default for MPEG-TS) only delays the first frame */
        av_dict_set(&opts, "analyzeduration", "2000000", 0);
    }
    src->fmt = avformat_alloc_context();
    if (!src->fmt) {
        av_dict_free(&opts);
        snprintf(why, whylen, "out of memory");
        return AVERROR(ENOMEM);
    }
    src->fmt->interrupt_callback = (AVIOInterruptCB){.callback = interrupt_cb, .opaque = src};
    arm_deadline(src);
    int r = avformat_open_input(&src->fmt, src->cfg.url, NULL, &opts);
    av_dict_free(&opts);
    if (r < 0) {
        describe_io_error(src, r, "cannot open", why, whylen);
        return r; /* avformat_open_input freed fmt */
    }
    arm_deadline(src);
    r = avformat_find_stream_info(src->fmt, NULL);
    if (r < 0) {
        describe_io_error(src, r, "cannot read stream info from", why, whylen);
        goto fail;
    }
    const AVCodec *codec = NULL;
    r = av_find_best_stream(src->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (r < 0) {
        snprintf(why, whylen, "'%s' has no decodable video stream: %s", src->cfg.url, av_err2str(r));
        goto fail;
    }
    src->stream = r;
    AVStream *st = src->fmt->streams[r];
    src->dec = avcodec_alloc_context3(codec);
    if (!src->dec) {
        r = AVERROR(ENOMEM);
        snprintf(why, whylen, "out of memory");
        goto fail;
    }
    r = avcodec_parameters_to_context(src->dec, st->codecpar);
    if (r < 0) {
        snprintf(why, whylen, "'%s': bad codec parameters: %s", src->cfg.url, av_err2str(r));
        goto fail;
    }
    src->dec->pkt_timebase = st->time_base;
    src->dec->thread_count = src->cfg.decode_threads;
    /* frame threads scale best for H.264/HEVC; slice threads add nothing
     * for the streams cameras send */
    src->dec->thread_type = FF_THREAD_FRAME;
    r = avcodec_open2(src->dec, codec, NULL);
    if (r < 0) {
        snprintf(why, whylen, "'%s': cannot open %s decoder: %s", src->cfg.url, codec->name, av_err2str(r));
        goto fail;
    }
    for (unsigned i = 0; i < src->fmt->nb_streams; i++)
        if ((int)i != src->stream)
            src->fmt->streams[i]->discard = AVDISCARD_ALL;
    src->first_pts = AV_NOPTS_VALUE;
    src->pacing_started = false;
    src->time_base = st->time_base;
    src->codec_name = codec->name;
    return 0;
fail:
    close_input(src);
    return r;
}

/* Opens a V4L2 camera. Not being a camera at all, or not one we can read, is
 * fatal; anything else (missing, unplugged, busy) is retried. */
static int open_v4l2(vg_source_t *src, char *why, size_t whylen)
{
    const vg_source_config_t *c = &src->cfg;
    bool sized = c->v4l2_width > 0 && c->v4l2_height > 0;
    const vg_v4l2_request_t req = {
        .width = sized ? (uint32_t)c->v4l2_width : VG_V4L2_DEFAULT_WIDTH,
        .height = sized ? (uint32_t)c->v4l2_height : VG_V4L2_DEFAULT_HEIGHT,
        .fps = c->v4l2_fps > 0 ? c->v4l2_fps : VG_V4L2_DEFAULT_FPS,
    };
    int r = vg_v4l2_open(src->cfg.url, &req, &src->cam, why, whylen);
    src->fatal = r == -ENOTTY || r == -EOPNOTSUPP;
    if (r < 0)
        return r;
    src->time_base = (AVRational){1, 1000000}; /* buffer timestamps are in microseconds */
    src->codec_name = vg_v4l2_describe(src->cam);
    src->first_pts = AV_NOPTS_VALUE;
    src->pacing_started = false;
    return 0;
}

static double stream_fps(const vg_source_t *src)
{
    if (src->cam) {
        const vg_v4l2_mode_t *m = vg_v4l2_mode(src->cam);
        return m->interval_num && m->interval_den ? (double)m->interval_den / m->interval_num : 30.0;
    }
    AVRational r = src->fmt->streams[src->stream]->avg_frame_rate;
    if (r.num <= 0 || r.den <= 0)
        r = src->fmt->streams[src->stream]->r_frame_rate;
    double fps = (r.num > 0 && r.den > 0) ? av_q2d(r) : 25.0;
    return fps > 0 && fps < 1000 ? fps : 25.0;
}

/* Waits until pts_time is due at the stream's own rate (realtime files). */
static bool pace(vg_source_t *src, double pts_time)
{
    int64_t now = av_gettime_relative();
    if (!src->pacing_started || pts_time < src->pace_pts_start) {
        src->pace_wall_start = now;
        src->pace_pts_start = pts_time;
        src->pacing_started = true;
        return true;
    }
    int64_t due = src->pace_wall_start + (int64_t)((pts_time - src->pace_pts_start) * 1e6);
    while (now < due) {
        if (!sleep_interruptible(src, due - now))
            return false;
        now = av_gettime_relative();
    }
    return true;
}

/* A pool frame for a new picture; NULL only when stopping. */
static vg_frame_t *take_frame(vg_source_t *src)
{
    vg_frame_t *f = src->spare;
    if (f) {
        src->spare = NULL;
        return f;
    }
    while (!(f = vg_frame_pool_get(src->cfg.pool))) {
        if (src->live) {
            /* Every pool frame is queued or in a worker: the oldest queued
             * one is the one to lose. */
            f = vg_ring_evict_oldest(src->cfg.ring);
            if (f) {
                STAT_ADD(src, dropped_ring, 1);
                av_frame_unref(f->av);
                return f;
            }
        }
        if (!sleep_interruptible(src, 200))
            return NULL;
    }
    return f;
}

/* Hands a filled frame to the workers; false only when stopping. */
static bool queue_frame(vg_source_t *src, vg_frame_t *f)
{
    while (!vg_ring_push(src->cfg.ring, f)) {
        if (src->live) {
            vg_frame_t *old = vg_ring_evict_oldest(src->cfg.ring);
            if (old) {
                STAT_ADD(src, dropped_ring, 1);
                av_frame_unref(old->av);
                /* take_frame emptied the spare, and one eviction always
                 * makes room (only this thread pushes): it is free here, and
                 * the capture thread never puts to the pool (frame.h) */
                src->spare = old;
            }
            continue;
        }
        /* replay: wait for the workers; they notify nobody, so poll briefly */
        if (!sleep_interruptible(src, 200)) {
            av_frame_unref(f->av);
            src->spare = f;
            return false;
        }
    }
    STAT_ADD(src, queued, 1);
    if (src->cfg.notify)
        src->cfg.notify(src->cfg.opaque);
    return true;
}

/* A picture's pts in seconds from the start of the stream (over loops). */
static double pts_seconds(vg_source_t *src, int64_t pts)
{
    if (pts == AV_NOPTS_VALUE)
        return src->last_pts_time + 1.0 / stream_fps(src);
    if (src->first_pts == AV_NOPTS_VALUE)
        src->first_pts = pts;
    return src->loop_offset + (double)(pts - src->first_pts) * av_q2d(src->time_base);
}

/* Samples, paces and queues one decoded picture (src->decoded). */
static bool handle_picture(vg_source_t *src)
{
    AVFrame *pic = src->decoded;
    STAT_ADD(src, decoded, 1);
    uint64_t index = src->frame_index++;
    if (pic->decode_error_flags || (pic->flags & AV_FRAME_FLAG_CORRUPT))
        STAT_ADD(src, decode_errors, 1);
    atomic_store_explicit(&src->stats.width, pic->width, memory_order_relaxed);
    atomic_store_explicit(&src->stats.height, pic->height, memory_order_relaxed);
    if (!src->streaming_reported) {
        char reason[128];
        snprintf(reason, sizeof(reason), "%dx%d %s", pic->width, pic->height, src->codec_name);
        set_state(src, VG_SOURCE_STREAMING, reason);
        src->streaming_reported = true;
    }

    int64_t pts = pic->best_effort_timestamp;
    double pts_time = pts_seconds(src, pts);
    src->last_pts_time = pts_time;

    const double period = 1.0 / src->cfg.analysis_fps;
    if (pts_time + 1e-6 < src->next_sample) {
        STAT_ADD(src, skipped, 1);
        av_frame_unref(pic);
        return true;
    }
    /* keep the grid unless we fell more than a period behind it (a gap or
     * seek in the stream), then restart it here */
    src->next_sample = (pts_time - src->next_sample > period) ? pts_time + period : src->next_sample + period;

    if (!src->network && src->cfg.realtime && !pace(src, pts_time)) {
        av_frame_unref(pic);
        return false;
    }
    vg_frame_t *f = take_frame(src);
    if (!f) {
        av_frame_unref(pic);
        return false;
    }
    av_frame_move_ref(f->av, pic);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    f->wall_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    f->pts = pts;
    f->pts_time = pts_time;
    f->index = index;
    return queue_frame(src, f);
}

/* Receives every picture the decoder has ready; false only when stopping. */
static bool drain_decoder(vg_source_t *src)
{
    for (;;) {
        int r = avcodec_receive_frame(src->dec, src->decoded);
        if (r == AVERROR(EAGAIN) || r == AVERROR_EOF)
            return true;
        if (r < 0) {
            STAT_ADD(src, decode_errors, 1);
            return true;
        }
        if (!handle_picture(src))
            return false;
    }
}

/* Seeks a looping file back to its start. */
static int rewind_file(vg_source_t *src)
{
    src->loop_offset = src->last_pts_time + 1.0 / stream_fps(src);
    src->first_pts = AV_NOPTS_VALUE;
    arm_deadline(src);
    int r = avformat_seek_file(src->fmt, -1, INT64_MIN, 0, 0, 0);
    if (r < 0)
        r = av_seek_frame(src->fmt, src->stream, 0, AVSEEK_FLAG_BACKWARD);
    avcodec_flush_buffers(src->dec);
    return r;
}

typedef enum { RUN_EOF, RUN_ERROR, RUN_STOPPED } run_end_t;

/* Reads and decodes until the input ends, fails, or stop. */
static run_end_t run_input(vg_source_t *src, char *why, size_t whylen)
{
    for (;;) {
        if (stopping(src))
            return RUN_STOPPED;
        arm_deadline(src);
        int r = av_read_frame(src->fmt, src->pkt);
        if (r == AVERROR_EOF || (r < 0 && src->fmt->pb && avio_feof(src->fmt->pb) && !src->network)) {
            /* flush: the decoder holds the last frames */
            avcodec_send_packet(src->dec, NULL);
            if (!drain_decoder(src))
                return RUN_STOPPED;
            if (!src->network && src->cfg.loop && src->frame_index > 0) {
                r = rewind_file(src);
                if (r < 0) {
                    snprintf(why, whylen, "cannot loop '%s': %s", src->cfg.url, av_err2str(r));
                    return RUN_ERROR;
                }
                continue;
            }
            snprintf(why, whylen, "end of stream after %" PRIu64 " frames", src->frame_index);
            return RUN_EOF;
        }
        if (r < 0) {
            if (stopping(src))
                return RUN_STOPPED;
            describe_io_error(src, r, "read failed on", why, whylen);
            return RUN_ERROR;
        }
        if (src->pkt->stream_index != src->stream) {
            av_packet_unref(src->pkt);
            continue;
        }
        STAT_ADD(src, packets, 1);
        r = avcodec_send_packet(src->dec, src->pkt);
        av_packet_unref(src->pkt);
        if (r < 0 && r != AVERROR(EAGAIN))
            STAT_ADD(src, decode_errors, 1);
        if (!drain_decoder(src))
            return RUN_STOPPED;
    }
}

/* Reads a V4L2 camera until it fails, stalls, is unplugged, or stop. Frames
 * the sampling would skip are given back undecoded: a 30 fps MJPEG camera
 * analysed at 5 fps costs 5 decodes a second, not 30. */
static run_end_t run_v4l2(vg_source_t *src, char *why, size_t whylen)
{
    for (;;) {
        if (stopping(src))
            return RUN_STOPPED;
        int64_t pts;
        int r = vg_v4l2_next(src->cam, src->cfg.timeout_us, src->stop_fd, &pts, why, whylen);
        if (r == -ECANCELED || stopping(src))
            return RUN_STOPPED;
        if (r < 0) {
            src->timed_out = r == -ETIMEDOUT;
            return RUN_ERROR;
        }
        STAT_ADD(src, packets, 1);
        double pts_time = pts_seconds(src, pts);
        if (pts_time + 1e-6 < src->next_sample) {
            src->frame_index++;
            src->last_pts_time = pts_time;
            STAT_ADD(src, skipped, 1);
            continue;
        }
        r = vg_v4l2_convert(src->cam, src->decoded);
        if (r < 0) {
            src->frame_index++;
            STAT_ADD(src, decode_errors, 1);
            continue;
        }
        src->decoded->pts = src->decoded->best_effort_timestamp = pts;
        if (!handle_picture(src))
            return RUN_STOPPED;
    }
}

static int64_t backoff_us(vg_source_t *src, int attempt)
{
    int64_t d = src->cfg.backoff_min_us;
    for (int i = 0; i < attempt && d < src->cfg.backoff_max_us; i++)
        d *= 2;
    if (d > src->cfg.backoff_max_us)
        d = src->cfg.backoff_max_us;
    /* +-25% jitter, so cameras behind one failed switch do not reconnect in
     * lockstep */
    double jitter = 0.75 + 0.5 * ((double)rand_r(&src->rand_seed) / RAND_MAX);
    return (int64_t)(d * jitter);
}

static void *source_main(void *arg)
{
    vg_source_t *src = arg;
    char why[512] = "";
    int attempt = 0;
    src->timed_out = false;
    vg_source_state_t final = VG_SOURCE_STOPPED;
    set_state(src, VG_SOURCE_CONNECTING, src->cfg.url);
    while (!stopping(src)) {
        src->streaming_reported = false;
        /* a reopened stream's timestamps start again (RTSP, a replugged
         * camera): restart the sampling grid at its first frame, or every
         * frame until the old pts came round again would be skipped */
        src->next_sample = -1e300;
        int r = src->v4l2 ? open_v4l2(src, why, sizeof(why)) : open_input(src, why, sizeof(why));
        if (r < 0) {
            if (stopping(src))
                break;
            if (!src->network || src->fatal) {
                final = VG_SOURCE_FAILED;
                break;
            }
        } else {
            run_end_t end = src->v4l2 ? run_v4l2(src, why, sizeof(why)) : run_input(src, why, sizeof(why));
            if (src->streaming_reported)
                attempt = 0; /* it worked for a while: start the backoff again */
            close_input(src);
            if (end == RUN_STOPPED)
                break;
            if (!src->network) {
                final = end == RUN_EOF ? VG_SOURCE_EOF : VG_SOURCE_FAILED;
                break;
            }
        }
        /* network: report, wait, reopen */
        STAT_ADD(src, reconnects, 1);
        if (src->timed_out)
            set_state(src, VG_SOURCE_STALLED, why);
        src->timed_out = false;
        set_state(src, VG_SOURCE_RECONNECTING, why);
        if (!sleep_interruptible(src, backoff_us(src, attempt++)))
            break;
        set_state(src, VG_SOURCE_CONNECTING, src->cfg.url);
    }
    close_input(src);
    if (src->spare) {
        vg_frame_pool_put(src->cfg.pool, src->spare);
        src->spare = NULL;
    }
    set_state(src, final, final == VG_SOURCE_STOPPED ? "stop requested" : why);
    /* release: the stats and state above are complete before done reads 1 */
    atomic_store_explicit(&src->done, 1, memory_order_release);
    uint64_t one = 1;
    ssize_t w = write(src->done_fd, &one, sizeof(one));
    (void)w;
    return NULL;
}

int vg_source_new(const vg_source_config_t *cfg, vg_source_t **ret)
{
    if (!cfg->url || !cfg->ring || !cfg->pool || !(cfg->analysis_fps > 0))
        return -EINVAL;
    vg_source_t *src = calloc(1, sizeof(*src));
    if (!src)
        return -ENOMEM;
    int r = -ENOMEM;
    src->cfg = *cfg;
    if (src->cfg.timeout_us <= 0)
        src->cfg.timeout_us = 10000000;
    if (src->cfg.backoff_min_us <= 0)
        src->cfg.backoff_min_us = 500000;
    if (src->cfg.backoff_max_us < src->cfg.backoff_min_us)
        src->cfg.backoff_max_us = 30000000;
    src->stop_fd = src->done_fd = -1;
    src->network = vg_source_url_is_network(cfg->url);
    src->v4l2 = vg_v4l2_url_is_device(cfg->url);
    src->rand_seed = (unsigned)((uintptr_t)src ^ (uintptr_t)av_gettime());
    src->live = src->network || cfg->realtime;
    src->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    src->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (src->stop_fd < 0 || src->done_fd < 0) {
        r = -errno;
        goto fail;
    }
    src->pkt = av_packet_alloc();
    src->decoded = av_frame_alloc();
    if (!src->pkt || !src->decoded)
        goto fail;
    atomic_init(&src->stop, 0);
    atomic_init(&src->done, 0);
    r = -pthread_create(&src->thread, NULL, source_main, src);
    if (r < 0)
        goto fail;
    src->thread_started = true;
    char tname[16];
    snprintf(tname, sizeof(tname), "vg-src-%.8s", cfg->name ? cfg->name : "");
    pthread_setname_np(src->thread, tname);
    *ret = src;
    return 0;
fail:
    vg_source_free(&src);
    return r;
}

void vg_source_stop(vg_source_t *src)
{
    if (!src)
        return;
    /* relaxed: the eventfd write wakes sleepers; I/O polls the flag */
    atomic_store_explicit(&src->stop, 1, memory_order_relaxed);
    uint64_t one = 1;
    ssize_t w = write(src->stop_fd, &one, sizeof(one));
    (void)w;
}

bool vg_source_done(const vg_source_t *src)
{
    /* acquire: pairs with the release at thread exit */
    return atomic_load_explicit(&src->done, memory_order_acquire) != 0;
}

int vg_source_done_fd(const vg_source_t *src) { return src->done_fd; }

const vg_source_stats_t *vg_source_stats(const vg_source_t *src) { return &src->stats; }

void vg_source_free(vg_source_t **psrc)
{
    if (!psrc || !*psrc)
        return;
    vg_source_t *src = *psrc;
    if (src->thread_started) {
        vg_source_stop(src);
        pthread_join(src->thread, NULL);
    }
    av_packet_free(&src->pkt);
    av_frame_free(&src->decoded);
    if (src->stop_fd >= 0)
        close(src->stop_fd);
    if (src->done_fd >= 0)
        close(src->done_fd);
    free(src);
    *psrc = NULL;
}
