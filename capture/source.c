/* source.c: see source.h. */
#include "capture/source.h"
#include "capture/stream_clock.h"
#include "capture/reader.h"
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
    vg_reader_t *reader;      /* files and network streams (not V4L2) */
    int video_index;          /* the reader's video stream */
    uint64_t reader_errors;   /* the reader's decode errors already counted */
    AVFrame *decoded;
    vg_frame_t *spare;        /* a frame we evicted, kept for reuse */
    bool live;                /* evict when full (vs wait) */
    bool network;             /* reconnects: a network URL or a V4L2 device */
    bool v4l2;                /* the URL is a V4L2 device: cam, not reader */
    bool fatal;               /* the last open failed for good (not a camera) */
    vg_v4l2_t *cam;
    AVRational time_base;     /* of the pts in decoded pictures */
    const char *codec_name;   /* for the streaming report */
    uint64_t frame_index;
    double next_sample;       /* stream time of the next frame to analyse */
    vg_stream_clock_t clock;  /* the frames' pts_time: never goes back */
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
    /* a V4L2 camera is live, and comes back after an unplug */
    return vg_v4l2_url_is_device(url) || vg_reader_url_is_network(url);
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

/* The reader's interrupt: a stop request ends its blocking I/O. */
static int reader_interrupt(void *opaque) { return stopping(opaque); }

/* The reader's packet callback: counts the video packets demuxed and hands
 * every packet (video and audio) to the recorder. */
static void reader_packet(void *opaque, const AVPacket *pkt)
{
    vg_source_t *src = opaque;
    if (pkt->stream_index == src->video_index)
        STAT_ADD(src, packets, 1);
    if (src->cfg.recorder)
        vg_recorder_packet(src->cfg.recorder, pkt);
}

static void close_input(vg_source_t *src)
{
    if (src->reader && src->cfg.recorder)
        vg_recorder_stream_end(src->cfg.recorder); /* the segment closes cleanly */
    vg_v4l2_free(&src->cam);
    vg_reader_free(&src->reader);
}

static int open_input(vg_source_t *src, char *why, size_t whylen)
{
    const vg_reader_config_t rc = {
        .url = src->cfg.url,
        .timeout_us = src->cfg.timeout_us,
        .rtsp_transport = src->cfg.rtsp_transport,
        .decode_threads = src->cfg.decode_threads,
        .convert = true, /* the workers read YUV 4:2:0 and NV12 only */
        .audio = src->cfg.recorder != NULL, /* recorded, never decoded */
        .interrupt = reader_interrupt,
        .on_packet = reader_packet,
        .opaque = src,
    };
    int r = vg_reader_open(&rc, &src->reader, why, whylen);
    src->timed_out = r == AVERROR(ETIMEDOUT);
    if (r < 0)
        return r;
    src->reader_errors = 0;
    vg_stream_clock_new_session(&src->clock);
    src->video_index = vg_reader_stream(src->reader)->index;
    if (src->cfg.recorder)
        vg_recorder_stream_begin(src->cfg.recorder, vg_reader_stream(src->reader),
                                 vg_reader_audio_stream(src->reader));
    src->pacing_started = false;
    src->time_base = vg_reader_stream(src->reader)->time_base;
    src->codec_name = vg_reader_codec_name(src->reader);
    return 0;
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
    vg_stream_clock_new_session(&src->clock);
    src->pacing_started = false;
    return 0;
}

static double stream_fps(const vg_source_t *src)
{
    if (src->cam) {
        const vg_v4l2_mode_t *m = vg_v4l2_mode(src->cam);
        return m->interval_num && m->interval_den ? (double)m->interval_den / m->interval_num : 30.0;
    }
    const AVStream *st = vg_reader_stream(src->reader);
    AVRational r = st->avg_frame_rate;
    if (r.num <= 0 || r.den <= 0)
        r = st->r_frame_rate;
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
    double speed = src->cfg.speed > 0 ? src->cfg.speed : 1.0;
    int64_t due = src->pace_wall_start + (int64_t)((pts_time - src->pace_pts_start) * 1e6 / speed);
    while (now < due) {
        if (!sleep_interruptible(src, due - now))
            return false;
        now = av_gettime_relative();
    }
    return true;
}

/* After a wait on the ring or the pool (lossless): false when stopping. A
 * ring or pool made without waiting enabled (-EINVAL) is polled instead. */
static bool wait_for_workers(vg_source_t *src, int r)
{
    if (r == -EINVAL)
        return sleep_interruptible(src, 5000);
    return r != -ECANCELED && !stopping(src);
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
        if (!wait_for_workers(src, vg_frame_pool_wait(src->cfg.pool, src->stop_fd, 1000)))
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
        /* replay: wait for a worker to take a frame */
        if (!wait_for_workers(src, vg_ring_wait(src->cfg.ring, true, src->stop_fd, 1000))) {
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

/* The stream time of the next picture (see stream_clock.h). */
static double pts_seconds(vg_source_t *src, int64_t pts)
{
    return vg_stream_clock_next(&src->clock, pts, av_q2d(src->time_base), 1.0 / stream_fps(src));
}

/* Samples, paces and queues one decoded picture (src->decoded), whose
 * stream time is pts_time. */
static bool handle_picture(vg_source_t *src, double pts_time)
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

/* Seeks a looping file back to its start; its time goes on rising. */
static int rewind_file(vg_source_t *src)
{
    vg_stream_clock_new_session(&src->clock);
    return vg_reader_rewind(src->reader);
}

typedef enum { RUN_EOF, RUN_ERROR, RUN_STOPPED } run_end_t;

/* Reads and decodes until the input ends, fails, or stop. */
static run_end_t run_input(vg_source_t *src, char *why, size_t whylen)
{
    for (;;) {
        if (stopping(src))
            return RUN_STOPPED;
        int r = vg_reader_read(src->reader, src->decoded);
        uint64_t errors = vg_reader_decode_errors(src->reader);
        STAT_ADD(src, decode_errors, errors - src->reader_errors);
        src->reader_errors = errors;
        if (r == AVERROR_EOF) {
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
            if (r == AVERROR_EXIT || stopping(src))
                return RUN_STOPPED;
            src->timed_out = r == AVERROR(ETIMEDOUT);
            snprintf(why, whylen, "%s", vg_reader_error(src->reader));
            return RUN_ERROR;
        }
        if (!handle_picture(src, pts_seconds(src, src->decoded->best_effort_timestamp)))
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
        if (!handle_picture(src, pts_time))
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
        /* a reopened stream: analyse its first frame (its stream time goes
         * on from the last session's, see stream_clock.h) */
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
    vg_stream_clock_init(&src->clock);
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
    src->decoded = av_frame_alloc();
    if (!src->decoded)
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
    av_frame_free(&src->decoded);
    if (src->stop_fd >= 0)
        close(src->stop_fd);
    if (src->done_fd >= 0)
        close(src->done_fd);
    free(src);
    *psrc = NULL;
}
