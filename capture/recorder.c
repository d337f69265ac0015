/* recorder.c: see recorder.h. */
#include "capture/recorder.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavutil/mathematics.h>
#include <libavutil/time.h>

#define RESERVE 16            /* queue slots kept for stream begin/end entries */
#define JUMP_S 10             /* a forward jump of the camera's clock this large is re-based */
#define ERROR_PAUSE_US 1000000 /* after a write error, drop this long before trying again */
#define PREROLL_SLACK_US 3000000 /* pre-roll kept beyond pre_capture: analysis lags capture */
#define PREROLL_PACKETS 8192  /* pre-roll slots (the byte cap usually binds first) */

enum { E_PACKET, E_BEGIN, E_END };

typedef struct {
    int kind;
    bool audio;       /* a packet of the audio stream */
    bool key;         /* a video keyframe */
    bool discont;     /* first packet after dropped ones */
    int64_t wall_us;  /* UTC arrival time */
    AVPacket *pkt;    /* slot's own packet (E_PACKET) */
    /* E_BEGIN: parameters (owned by the entry until the writer takes them) */
    AVCodecParameters *vpar, *apar;
    AVRational vtb, atb, vrate;
} entry_t;

/* What the recorder and its writers share; refcounted so that an abandoned
 * writer can outlive the recorder. */
typedef struct {
    _Atomic int refs;
    pthread_mutex_t lock;
    pthread_cond_t cond;   /* the writer waits for entries */
    entry_t *e;            /* cap slots, a ring */
    int cap, head, count;  /* under lock */
    int packets;           /* E_PACKET entries queued (under lock) */
    size_t bytes;          /* their bytes (under lock) */
    bool closing;          /* under lock: free asked; the writer drains and ends */
    vg_recorder_stats_t stats;
    _Atomic int64_t activity_us[2]; /* UTC of the last motion / objects frame */
    void (*on_segment)(void *opaque, const vg_record_segment_t *seg);
    void *opaque;
} shared_t;

typedef struct {
    AVPacket *pkt;
    int64_t wall_us;
    bool audio, key;
} pre_t;

typedef struct {
    int64_t offset, last; /* rebased = camera's + offset; last rebased dts */
    bool started;
} tsmap_t;

typedef struct writer {
    shared_t *sh;
    _Atomic int abandoned;     /* main sets (under sh->lock); the writer reads */
    pthread_t thread;
    /* copies of the config */
    char camera[128], dir[PATH_MAX];
    vg_record_mode_t mode;
    int64_t segment_us, pre_us, post_us, delay_us;
    /* the stream */
    bool have_stream;
    AVCodecParameters *vpar, *apar;
    AVRational vtb, atb;
    int64_t vstep;             /* one frame in vtb */
    tsmap_t ts[2];
    /* pre-roll: a ring of packets not written */
    pre_t *pre;
    int pre_cap, pre_head, pre_n;
    size_t pre_bytes, pre_max_bytes;
    /* the open segment */
    AVFormatContext *oc;
    char part[PATH_MAX];
    int vout, aout;            /* output stream indexes; aout -1 = no audio */
    int64_t origin[2];         /* first video dts in vtb, and it in atb */
    int64_t last_out[2];       /* last dts written, output time base */
    int64_t end_v;             /* end of the last video packet, vtb */
    int64_t seg_start_us;
    int64_t seg_first_wall_us; /* arrival of its first packet (activity is in the same clock) */
    uint64_t seg_packets;
    /* a run of segments without a break: their start times follow on */
    bool run;
    int64_t run_wall0, run_t0;
    int64_t error_until_us;    /* monotonic; dropping after a write error */
    AVPacket *in, *tmp;
} writer_t;

struct vg_recorder {
    vg_recorder_config_t cfg;
    char *camera, *dir;
    shared_t *sh;
    writer_t *w;               /* the current writer (main thread) */
    /* capture thread */
    int vidx, aidx;            /* stream indexes of the reader; -1 = none */
    bool dropping;             /* dropping until a keyframe finds room */
    bool discont_next;         /* the next queued packet follows dropped ones */
    bool begin_pending;        /* a begin entry waits for a free slot */
    AVCodecParameters *vpar, *apar;
    AVRational vtb, atb, vrate;
};

#define ST_ADD(sh, f, n) atomic_fetch_add_explicit(&(sh)->stats.f, (n), memory_order_relaxed)
#define ST_SET(sh, f, v) atomic_store_explicit(&(sh)->stats.f, (v), memory_order_relaxed)

const char *vg_record_mode_name(vg_record_mode_t m)
{
    switch (m) {
    case VG_RECORD_OFF: return "off";
    case VG_RECORD_CONTINUOUS: return "continuous";
    case VG_RECORD_MOTION: return "motion";
    case VG_RECORD_OBJECTS: return "objects";
    }
    return "unknown";
}

static int64_t mono_us(void) { return av_gettime_relative(); }

static int64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

size_t vg_recorder_memory_max(const vg_recorder_config_t *cfg)
{
    size_t q = cfg->queue_bytes ? cfg->queue_bytes : 64u << 20;
    size_t p = cfg->preroll_bytes ? cfg->preroll_bytes : 32u << 20;
    return q + (cfg->mode == VG_RECORD_CONTINUOUS ? 0 : p);
}

/* ---- shared block -------------------------------------------------------- */

static void entry_clear(entry_t *e)
{
    if (e->pkt)
        av_packet_unref(e->pkt);
    avcodec_parameters_free(&e->vpar);
    avcodec_parameters_free(&e->apar);
}

static void shared_unref(shared_t *sh)
{
    if (!sh)
        return;
    /* acq_rel: the last owner sees every write of the others before freeing */
    if (atomic_fetch_sub_explicit(&sh->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (int i = 0; sh->e && i < sh->cap; i++) {
        entry_clear(&sh->e[i]);
        av_packet_free(&sh->e[i].pkt);
    }
    free(sh->e);
    pthread_mutex_destroy(&sh->lock);
    pthread_cond_destroy(&sh->cond);
    free(sh);
}

/* ---- writer: pre-roll ------------------------------------------------------ */

static pre_t *pre_at(writer_t *w, int i) { return &w->pre[(w->pre_head + i) % w->pre_cap]; }

static void pre_drop_front(writer_t *w)
{
    pre_t *p = pre_at(w, 0);
    w->pre_bytes -= (size_t)p->pkt->size;
    av_packet_unref(p->pkt);
    w->pre_head = (w->pre_head + 1) % w->pre_cap;
    w->pre_n--;
}

static void pre_clear(writer_t *w)
{
    while (w->pre_n)
        pre_drop_front(w);
    ST_SET(w->sh, preroll_bytes, 0);
}

/* Drops the front GOP: the front packet and everything up to the next video
 * keyframe (the pre-roll always starts at one). */
static void pre_drop_gop(writer_t *w)
{
    pre_drop_front(w);
    while (w->pre_n && !pre_at(w, 0)->key)
        pre_drop_front(w);
}

/* Keeps the packet (moved from w->in) in the pre-roll, bounded in packets,
 * bytes and time (pre_capture plus the analysis' lag). */
static void pre_push(writer_t *w, const entry_t *e)
{
    if (w->pre_n == w->pre_cap)
        pre_drop_gop(w);
    pre_t *p = pre_at(w, w->pre_n);
    av_packet_move_ref(p->pkt, w->in);
    p->wall_us = e->wall_us;
    p->audio = e->audio;
    p->key = e->key;
    w->pre_n++;
    w->pre_bytes += (size_t)p->pkt->size;
    /* useless leading packets: no keyframe to start from before them */
    while (w->pre_n > 1 && !pre_at(w, 0)->key) {
        bool later_key = false;
        for (int i = 1; i < w->pre_n && !later_key; i++)
            later_key = pre_at(w, i)->key;
        if (!later_key)
            break;
        pre_drop_front(w);
    }
    int64_t keep = w->pre_us + PREROLL_SLACK_US;
    while (w->pre_n > 1 && (w->pre_bytes > w->pre_max_bytes || e->wall_us - pre_at(w, 0)->wall_us > keep))
        pre_drop_gop(w);
    ST_SET(w->sh, preroll_bytes, w->pre_bytes);
}

/* ---- writer: timestamps ---------------------------------------------------- */

/* Makes the packet's dts follow the previous one of its stream: a clock that
 * goes back, or jumps forward more than JUMP_S, is re-based. */
static void rebase(writer_t *w, AVPacket *p, int s)
{
    tsmap_t *t = &w->ts[s];
    AVRational tb = s ? w->atb : w->vtb;
    int64_t step = p->duration > 0 ? p->duration : s ? 1 : w->vstep;
    int64_t dts = p->dts != AV_NOPTS_VALUE ? p->dts : p->pts;
    if (dts == AV_NOPTS_VALUE)
        dts = t->started ? t->last - t->offset + step : 0;
    int64_t pts_delta = p->pts != AV_NOPTS_VALUE ? p->pts - dts : 0;
    int64_t d = dts + t->offset;
    if (t->started) {
        int64_t jump = av_rescale_q(JUMP_S, (AVRational){1, 1}, tb);
        if (d <= t->last || d > t->last + jump) {
            t->offset = t->last + step - dts;
            d = t->last + step;
        }
    }
    p->dts = d;
    p->pts = d + (pts_delta > 0 ? pts_delta : 0);
    t->last = d;
    t->started = true;
}

/* ---- writer: segments ------------------------------------------------------ */

static int mkdirs(char *path)
{
    for (char *s = path + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        int r = mkdir(path, 0750);
        *s = '/';
        if (r < 0 && errno != EEXIST)
            return -errno;
    }
    if (mkdir(path, 0750) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

int vg_record_parse_name(const char *name, int64_t *ret_start_us, vg_record_mode_t *ret_mode)
{
    struct tm tm = {0};
    int ms = 0, n = 0;
    char mode[16] = "";
    if (sscanf(name, "%4d%2d%2dT%2d%2d%2d.%3dZ-%15[a-z].mp4%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &ms, mode, &n) < 8 || n == 0)
        return -EINVAL;
    if (name[n] && strcmp(name + n, ".part") != 0)
        return -EINVAL;
    vg_record_mode_t m;
    if (!strcmp(mode, "continuous"))
        m = VG_RECORD_CONTINUOUS;
    else if (!strcmp(mode, "motion"))
        m = VG_RECORD_MOTION;
    else if (!strcmp(mode, "objects"))
        m = VG_RECORD_OBJECTS;
    else
        return -EINVAL;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -EINVAL;
    *ret_start_us = (int64_t)t * 1000000 + ms * 1000;
    *ret_mode = m;
    return 0;
}

static int open_segment(writer_t *w, const pre_t *first)
{
    int64_t origin = first->pkt->dts;
    if (!w->run) {
        w->run = true;
        w->run_wall0 = first->wall_us;
        w->run_t0 = origin;
    }
    w->seg_start_us = w->run_wall0 + av_rescale_q(origin - w->run_t0, w->vtb, (AVRational){1, 1000000});
    w->seg_first_wall_us = first->wall_us;
    time_t secs = (time_t)(w->seg_start_us / 1000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char folder[PATH_MAX];
    int n = snprintf(folder, sizeof(folder), "%s/%s/%04d-%02d-%02d/%02d", w->dir, w->camera, tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour);
    if (n < 0 || (size_t)n >= sizeof(folder))
        return -ENAMETOOLONG;
    int r = mkdirs(folder);
    if (r < 0)
        return r;
    n = snprintf(w->part, sizeof(w->part), "%s/%04d%02d%02dT%02d%02d%02d.%03dZ-%s.mp4.part", folder,
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (int)(w->seg_start_us % 1000000 / 1000), vg_record_mode_name(w->mode));
    if (n < 0 || (size_t)n >= sizeof(w->part))
        return -ENAMETOOLONG;
    r = avformat_alloc_output_context2(&w->oc, NULL, "mp4", w->part);
    if (r < 0)
        return r;
    AVStream *vs = avformat_new_stream(w->oc, NULL);
    if (!vs) {
        r = AVERROR(ENOMEM);
        goto fail;
    }
    if ((r = avcodec_parameters_copy(vs->codecpar, w->vpar)) < 0)
        goto fail;
    vs->codecpar->codec_tag = 0;
    vs->time_base = w->vtb;
    w->vout = vs->index;
    w->aout = -1;
    if (w->apar && avformat_query_codec(w->oc->oformat, w->apar->codec_id, FF_COMPLIANCE_NORMAL) == 1) {
        AVStream *as = avformat_new_stream(w->oc, NULL);
        if (!as) {
            r = AVERROR(ENOMEM);
            goto fail;
        }
        if ((r = avcodec_parameters_copy(as->codecpar, w->apar)) < 0)
            goto fail;
        as->codecpar->codec_tag = 0;
        as->time_base = w->atb;
        w->aout = as->index;
    }
    if ((r = avio_open(&w->oc->pb, w->part, AVIO_FLAG_WRITE)) < 0)
        goto fail;
    /* the I/O buffer goes to the file after each packet: with fragments the
     * muxer writes only at a keyframe (one write() per GOP), and without it
     * libavformat 5.1 keeps whole segments in memory and write errors
     * (a full disk) show only at the trailer */
    w->oc->flush_packets = 1;
    AVDictionary *opts = NULL;
    /* a fragment per GOP: a crash loses at most the GOP being written */
    av_dict_set(&opts, "movflags", "+frag_keyframe+empty_moov+default_base_moof", 0);
    r = avformat_write_header(w->oc, &opts);
    av_dict_free(&opts);
    if (r < 0)
        goto fail;
    w->origin[0] = origin;
    w->origin[1] = av_rescale_q(origin, w->vtb, w->atb);
    w->last_out[0] = w->last_out[1] = INT64_MIN;
    w->end_v = origin;
    w->seg_packets = 0;
    ST_SET(w->sh, recording, 1);
    ST_SET(w->sh, last_close_us, mono_us());
    return 0;
fail:
    if (w->oc && w->oc->pb)
        avio_closep(&w->oc->pb);
    avformat_free_context(w->oc);
    w->oc = NULL;
    unlink(w->part);
    return r;
}

static bool abandoned(writer_t *w)
{
    /* acquire: pairs with the store under the lock in vg_recorder_check */
    return atomic_load_explicit(&w->abandoned, memory_order_acquire) != 0;
}

/* Finishes the open segment: trailer, rename from .part, report. */
static void close_segment(writer_t *w)
{
    if (!w->oc)
        return;
    int r = av_write_trailer(w->oc);
    int c = avio_closep(&w->oc->pb);
    avformat_free_context(w->oc);
    w->oc = NULL;
    ST_SET(w->sh, recording, 0);
    ST_SET(w->sh, last_close_us, mono_us());
    struct stat st;
    if (w->seg_packets == 0 || stat(w->part, &st) < 0 || st.st_size == 0) {
        unlink(w->part);
        return;
    }
    char final[PATH_MAX];
    snprintf(final, sizeof(final), "%.*s", (int)(strlen(w->part) - 5), w->part);
    if (rename(w->part, final) < 0)
        return;
    if (r >= 0 && c >= 0)
        ST_SET(w->sh, disk_full, 0);
    ST_ADD(w->sh, segments, 1);
    ST_ADD(w->sh, bytes, (uint64_t)st.st_size);
    shared_t *sh = w->sh;
    /* relaxed: the latest activity, a hint */
    int64_t motion = atomic_load_explicit(&sh->activity_us[0], memory_order_relaxed);
    int64_t objects = atomic_load_explicit(&sh->activity_us[1], memory_order_relaxed);
    vg_record_segment_t seg = {
        .camera = w->camera,
        .path = final,
        .start_us = w->seg_start_us,
        .end_us = w->seg_start_us + av_rescale_q(w->end_v - w->origin[0], w->vtb, (AVRational){1, 1000000}),
        .bytes = (uint64_t)st.st_size,
        .mode = w->mode,
        /* the latest activity falls in the segment (or after it, when the
         * analysis lags): it had some */
        .has_motion = motion >= w->seg_first_wall_us,
        .has_objects = objects >= w->seg_first_wall_us,
        .has_audio = w->aout >= 0,
    };
    /* under the lock: an abandoned writer's callback target may be gone */
    pthread_mutex_lock(&sh->lock);
    if (!abandoned(w) && sh->on_segment)
        sh->on_segment(sh->opaque, &seg);
    pthread_mutex_unlock(&sh->lock);
}

/* A write failed (a full disk, a removed folder): end the segment, drop for
 * a while, start again at a keyframe. */
static void write_failed(writer_t *w, int err)
{
    ST_ADD(w->sh, write_errors, 1);
    if (err == AVERROR(ENOSPC) || err == AVERROR(EDQUOT) || err == AVERROR(EFBIG))
        ST_SET(w->sh, disk_full, 1);
    close_segment(w);
    pre_clear(w);
    w->run = false;
    w->error_until_us = mono_us() + ERROR_PAUSE_US;
}

static int write_packet(writer_t *w, const AVPacket *p, bool audio)
{
    int s = audio ? 1 : 0;
    int out = audio ? w->aout : w->vout;
    if (out < 0)
        return 0;
    AVPacket *t = w->tmp;
    int r = av_packet_ref(t, p);
    if (r < 0)
        return r;
    t->pts -= w->origin[s];
    t->dts -= w->origin[s];
    if (t->pts < 0 && audio) { /* audio from before the segment's first picture */
        av_packet_unref(t);
        return 0;
    }
    if (!audio) {
        int64_t end = p->pts + (p->duration > 0 ? p->duration : w->vstep);
        if (end > w->end_v)
            w->end_v = end;
    }
    AVStream *os = w->oc->streams[out];
    av_packet_rescale_ts(t, audio ? w->atb : w->vtb, os->time_base);
    if (t->dts <= w->last_out[s]) {
        t->dts = w->last_out[s] + 1;
        if (t->pts < t->dts)
            t->pts = t->dts;
    }
    w->last_out[s] = t->dts;
    t->stream_index = out;
    t->pos = -1;
    if (w->delay_us > 0)
        av_usleep((unsigned)w->delay_us);
    r = av_interleaved_write_frame(w->oc, t); /* takes t's reference */
    /* the muxer does not always pass on a failed write of its buffer (the
     * fragments of FFmpeg 5.1's mov muxer): the I/O context keeps it */
    if (r >= 0 && w->oc->pb->error < 0)
        r = w->oc->pb->error;
    if (r < 0)
        return r;
    w->seg_packets++;
    ST_ADD(w->sh, written, 1);
    return 0;
}

/* ---- writer: decisions ----------------------------------------------------- */

/* The activity time the mode follows (0 = none yet); continuous: now. */
static int64_t activity(writer_t *w)
{
    if (w->mode == VG_RECORD_CONTINUOUS)
        return INT64_MAX / 2;
    /* relaxed: a time stamp; a late reading only delays the start by a packet */
    return atomic_load_explicit(&w->sh->activity_us[w->mode == VG_RECORD_OBJECTS], memory_order_relaxed);
}

/* Index in the pre-roll of the keyframe to start from: the last one at or
 * before act - pre_capture, or the first one; -1 when there is none. */
static int pre_start(writer_t *w, int64_t act)
{
    int first = -1, best = -1;
    for (int i = 0; i < w->pre_n; i++) {
        const pre_t *p = pre_at(w, i);
        if (!p->key)
            continue;
        if (first < 0)
            first = i;
        if (w->mode != VG_RECORD_CONTINUOUS && p->wall_us <= act - w->pre_us)
            best = i;
    }
    return best >= 0 ? best : first;
}

static void handle_packet(writer_t *w, const entry_t *e)
{
    shared_t *sh = w->sh;
    if (!w->have_stream) {
        av_packet_unref(w->in);
        return;
    }
    if (e->discont) { /* packets were dropped before this keyframe */
        close_segment(w);
        pre_clear(w);
        w->run = false;
    }
    if (w->error_until_us) {
        if (mono_us() < w->error_until_us) {
            ST_ADD(sh, dropped_errors, 1);
            av_packet_unref(w->in);
            return;
        }
        w->error_until_us = 0;
    }
    rebase(w, w->in, e->audio);
    int64_t act = activity(w);
    bool want = act > 0 && e->wall_us <= act + w->post_us;
    if (!want) {
        close_segment(w); /* post capture is over */
        pre_push(w, e);
        return;
    }
    int r;
    if (!w->oc) {
        pre_push(w, e);
        int start = pre_start(w, act);
        if (start < 0)
            return; /* wait for a keyframe */
        while (start-- > 0)
            pre_drop_front(w);
        if ((r = open_segment(w, pre_at(w, 0))) < 0) {
            write_failed(w, r);
            return;
        }
        for (int i = 0; i < w->pre_n && r >= 0; i++)
            r = write_packet(w, pre_at(w, i)->pkt, pre_at(w, i)->audio);
        pre_clear(w);
        if (r < 0)
            write_failed(w, r);
        return;
    }
    if (e->key && w->in->dts - w->origin[0] >= av_rescale_q(w->segment_us, (AVRational){1, 1000000}, w->vtb)) {
        close_segment(w);
        pre_push(w, e);
        if ((r = open_segment(w, pre_at(w, 0))) < 0) {
            pre_clear(w);
            write_failed(w, r);
            return;
        }
        r = write_packet(w, pre_at(w, 0)->pkt, false);
        pre_clear(w);
    } else {
        r = write_packet(w, w->in, e->audio);
        av_packet_unref(w->in);
    }
    if (r < 0)
        write_failed(w, r);
}

static void handle_begin(writer_t *w, entry_t *e)
{
    close_segment(w);
    pre_clear(w);
    w->run = false;
    avcodec_parameters_free(&w->vpar);
    avcodec_parameters_free(&w->apar);
    w->vpar = e->vpar;
    w->apar = e->apar;
    e->vpar = e->apar = NULL;
    w->vtb = e->vtb;
    w->atb = e->atb.num > 0 ? e->atb : (AVRational){1, 48000};
    AVRational rate = e->vrate.num > 0 && e->vrate.den > 0 ? e->vrate : (AVRational){25, 1};
    w->vstep = av_rescale_q(1, av_inv_q(rate), w->vtb);
    if (w->vstep <= 0)
        w->vstep = 1;
    memset(w->ts, 0, sizeof(w->ts));
    w->have_stream = true;
}

static void *writer_main(void *arg)
{
    writer_t *w = arg;
    shared_t *sh = w->sh;
    entry_t e = {0};
    for (;;) {
        pthread_mutex_lock(&sh->lock);
        while (!sh->count && !sh->closing && !abandoned(w))
            pthread_cond_wait(&sh->cond, &sh->lock);
        if (abandoned(w) || (!sh->count && sh->closing)) {
            pthread_mutex_unlock(&sh->lock);
            break;
        }
        entry_t *q = &sh->e[sh->head];
        e = *q;
        e.pkt = NULL;
        q->vpar = q->apar = NULL; /* taken */
        if (q->kind == E_PACKET) {
            av_packet_move_ref(w->in, q->pkt);
            sh->packets--;
            sh->bytes -= (size_t)w->in->size;
        }
        sh->head = (sh->head + 1) % sh->cap;
        sh->count--;
        pthread_mutex_unlock(&sh->lock);
        if (e.kind == E_PACKET)
            handle_packet(w, &e);
        else if (e.kind == E_BEGIN)
            handle_begin(w, &e);
        else {
            close_segment(w);
            pre_clear(w);
            w->run = false;
            w->have_stream = false;
        }
        avcodec_parameters_free(&e.vpar);
        avcodec_parameters_free(&e.apar);
        if (!w->oc)
            ST_SET(sh, last_close_us, mono_us()); /* idle is not stalled */
    }
    close_segment(w); /* an abandoned writer keeps its file; the next start indexes it */
    pre_clear(w);
    for (int i = 0; w->pre && i < w->pre_cap; i++)
        av_packet_free(&w->pre[i].pkt);
    free(w->pre);
    avcodec_parameters_free(&w->vpar);
    avcodec_parameters_free(&w->apar);
    av_packet_free(&w->in);
    av_packet_free(&w->tmp);
    bool detached = abandoned(w);
    shared_unref(sh);
    if (detached)
        free(w); /* nobody joins an abandoned writer */
    return NULL;
}

static void writer_free(writer_t *w)
{
    if (!w)
        return;
    for (int i = 0; w->pre && i < w->pre_cap; i++)
        av_packet_free(&w->pre[i].pkt);
    free(w->pre);
    av_packet_free(&w->in);
    av_packet_free(&w->tmp);
    free(w);
}

static int writer_start(vg_recorder_t *rec, writer_t **ret)
{
    writer_t *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->sh = rec->sh;
    snprintf(w->camera, sizeof(w->camera), "%s", rec->camera);
    snprintf(w->dir, sizeof(w->dir), "%s", rec->dir);
    w->mode = rec->cfg.mode;
    w->segment_us = rec->cfg.segment_us;
    w->pre_us = rec->cfg.mode == VG_RECORD_CONTINUOUS ? 0 : rec->cfg.pre_capture_us;
    w->post_us = rec->cfg.post_capture_us;
    w->delay_us = rec->cfg.debug_write_delay_us;
    w->pre_max_bytes = rec->cfg.preroll_bytes ? rec->cfg.preroll_bytes : 32u << 20;
    w->pre_cap = PREROLL_PACKETS;
    w->pre = calloc((size_t)w->pre_cap, sizeof(*w->pre));
    w->in = av_packet_alloc();
    w->tmp = av_packet_alloc();
    if (!w->pre || !w->in || !w->tmp)
        goto fail;
    for (int i = 0; i < w->pre_cap; i++)
        if (!(w->pre[i].pkt = av_packet_alloc()))
            goto fail;
    atomic_init(&w->abandoned, 0);
    /* relaxed: the thread creation below orders it */
    atomic_fetch_add_explicit(&rec->sh->refs, 1, memory_order_relaxed);
    int r = -pthread_create(&w->thread, NULL, writer_main, w);
    if (r < 0) {
        atomic_fetch_sub_explicit(&rec->sh->refs, 1, memory_order_relaxed);
        writer_free(w);
        return r;
    }
    char name[16];
    snprintf(name, sizeof(name), "vg-rec-%.8s", rec->camera);
    pthread_setname_np(w->thread, name);
    *ret = w;
    return 0;
fail:
    writer_free(w);
    return -ENOMEM;
}

/* ---- public ---------------------------------------------------------------- */

int vg_recorder_new(const vg_recorder_config_t *cfg, vg_recorder_t **ret)
{
    if (!cfg || !cfg->camera || !cfg->dir || cfg->mode == VG_RECORD_OFF || cfg->segment_us <= 0 || !ret)
        return -EINVAL;
    vg_recorder_t *rec = calloc(1, sizeof(*rec));
    if (!rec)
        return -ENOMEM;
    int r = -ENOMEM;
    rec->cfg = *cfg;
    rec->vidx = rec->aidx = -1;
    rec->camera = strdup(cfg->camera);
    rec->dir = strdup(cfg->dir);
    shared_t *sh = rec->sh = calloc(1, sizeof(*sh));
    if (!rec->camera || !rec->dir || !sh)
        goto fail;
    rec->cfg.camera = rec->camera;
    rec->cfg.dir = rec->dir;
    atomic_init(&sh->refs, 1);
    pthread_mutex_init(&sh->lock, NULL);
    pthread_cond_init(&sh->cond, NULL);
    if (!rec->cfg.queue_bytes)
        rec->cfg.queue_bytes = 64u << 20;
    /* slots: enough for small packets (8 KiB each) to fill queue_bytes */
    int packets = cfg->queue_packets;
    if (packets <= 0) {
        size_t p = rec->cfg.queue_bytes / 8192;
        packets = p < 64 ? 64 : p > 8192 ? 8192 : (int)p;
    }
    sh->cap = packets + RESERVE;
    rec->cfg.queue_packets = packets;
    sh->on_segment = cfg->on_segment;
    sh->opaque = cfg->opaque;
    if (!(sh->e = calloc((size_t)sh->cap, sizeof(*sh->e))))
        goto fail;
    for (int i = 0; i < sh->cap; i++)
        if (!(sh->e[i].pkt = av_packet_alloc()))
            goto fail;
    ST_SET(sh, last_close_us, mono_us());
    if ((r = writer_start(rec, &rec->w)) < 0)
        goto fail;
    *ret = rec;
    return 0;
fail:
    vg_recorder_free(&rec);
    return r;
}

/* Queues a begin entry with copies of the stream's parameters kept in rec;
 * false when no slot (or no memory): it stays pending. */
static bool push_begin_locked(vg_recorder_t *rec)
{
    shared_t *sh = rec->sh;
    if (sh->count == sh->cap)
        return false;
    entry_t *e = &sh->e[(sh->head + sh->count) % sh->cap];
    e->vpar = avcodec_parameters_alloc();
    if (!e->vpar || avcodec_parameters_copy(e->vpar, rec->vpar) < 0)
        goto fail;
    if (rec->apar && (!(e->apar = avcodec_parameters_alloc()) || avcodec_parameters_copy(e->apar, rec->apar) < 0))
        goto fail;
    e->kind = E_BEGIN;
    e->vtb = rec->vtb;
    e->atb = rec->atb;
    e->vrate = rec->vrate;
    sh->count++;
    rec->begin_pending = false;
    pthread_cond_signal(&sh->cond);
    return true;
fail:
    avcodec_parameters_free(&e->vpar);
    avcodec_parameters_free(&e->apar);
    return false;
}

int vg_recorder_stream_begin(vg_recorder_t *rec, const AVStream *video, const AVStream *audio)
{
    if (!rec || !video)
        return -EINVAL;
    AVCodecParameters *vpar = avcodec_parameters_alloc(), *apar = NULL;
    bool with_audio = audio && rec->cfg.audio;
    if (with_audio)
        apar = avcodec_parameters_alloc();
    if (!vpar || avcodec_parameters_copy(vpar, video->codecpar) < 0 || (with_audio && !apar) ||
        (apar && avcodec_parameters_copy(apar, audio->codecpar) < 0)) {
        avcodec_parameters_free(&vpar);
        avcodec_parameters_free(&apar);
        return -ENOMEM;
    }
    /* under the lock: vg_recorder_check reads these to restart a writer */
    pthread_mutex_lock(&rec->sh->lock);
    avcodec_parameters_free(&rec->vpar);
    avcodec_parameters_free(&rec->apar);
    rec->vpar = vpar;
    rec->apar = apar;
    rec->vidx = video->index;
    rec->vtb = video->time_base;
    rec->vrate = video->avg_frame_rate.num > 0 ? video->avg_frame_rate : video->r_frame_rate;
    rec->aidx = with_audio ? audio->index : -1;
    rec->atb = with_audio ? audio->time_base : (AVRational){0, 1};
    rec->begin_pending = true;
    rec->dropping = false;
    rec->discont_next = false;
    push_begin_locked(rec);
    pthread_mutex_unlock(&rec->sh->lock);
    return 0;
}

/* Removes queued packets from the tail back to and with the last video
 * keyframe (the GOP being queued), so that what is dropped is whole GOPs.
 * Returns how many went. */
static uint64_t drop_queued_gop(shared_t *sh)
{
    uint64_t n = 0;
    while (sh->count) {
        int i = (sh->head + sh->count - 1) % sh->cap;
        entry_t *e = &sh->e[i];
        if (e->kind != E_PACKET)
            break;
        bool key = e->key;
        sh->bytes -= (size_t)e->pkt->size;
        av_packet_unref(e->pkt);
        sh->packets--;
        sh->count--;
        n++;
        if (key)
            break;
    }
    return n;
}

void vg_recorder_packet(vg_recorder_t *rec, const AVPacket *pkt)
{
    bool audio;
    if (pkt->stream_index == rec->vidx)
        audio = false;
    else if (rec->aidx >= 0 && pkt->stream_index == rec->aidx)
        audio = true;
    else
        return;
    shared_t *sh = rec->sh;
    bool key = !audio && (pkt->flags & AV_PKT_FLAG_KEY);
    int64_t now = wall_us();
    pthread_mutex_lock(&sh->lock);
    if (rec->begin_pending && !push_begin_locked(rec)) {
        pthread_mutex_unlock(&sh->lock);
        ST_ADD(sh, dropped_packets, 1);
        return;
    }
    int max = rec->cfg.queue_packets;
    size_t maxb = rec->cfg.queue_bytes;
    if (rec->dropping) {
        /* start again only at a keyframe, with room for a while */
        if (!key || sh->packets > max / 2 || sh->bytes > maxb / 2) {
            pthread_mutex_unlock(&sh->lock);
            ST_ADD(sh, dropped_packets, 1);
            if (key)
                ST_ADD(sh, dropped_gops, 1);
            return;
        }
        rec->dropping = false;
        rec->discont_next = true;
        ST_SET(sh, behind, 0);
    } else if (sh->packets >= max || sh->bytes + (size_t)pkt->size > maxb) {
        /* the disk is behind: this GOP goes, from its keyframe on */
        uint64_t removed = drop_queued_gop(sh), n = removed + 1;
        rec->dropping = true;
        pthread_mutex_unlock(&sh->lock);
        /* relaxed: statistics; those removed from the queue count as dropped */
        atomic_fetch_sub_explicit(&sh->stats.queued, removed, memory_order_relaxed);
        ST_SET(sh, behind, 1);
        ST_ADD(sh, dropped_packets, n);
        ST_ADD(sh, dropped_gops, 1);
        return;
    }
    entry_t *e = &sh->e[(sh->head + sh->count) % sh->cap];
    if (av_packet_ref(e->pkt, pkt) < 0) {
        pthread_mutex_unlock(&sh->lock);
        ST_ADD(sh, dropped_packets, 1);
        return;
    }
    e->kind = E_PACKET;
    e->audio = audio;
    e->key = key;
    e->discont = rec->discont_next && key;
    if (e->discont)
        rec->discont_next = false;
    e->wall_us = now;
    sh->count++;
    sh->packets++;
    sh->bytes += (size_t)pkt->size;
    pthread_cond_signal(&sh->cond);
    pthread_mutex_unlock(&sh->lock);
    ST_ADD(sh, queued, 1);
}

void vg_recorder_stream_end(vg_recorder_t *rec)
{
    if (!rec)
        return;
    shared_t *sh = rec->sh;
    pthread_mutex_lock(&sh->lock);
    if (rec->begin_pending) {
        rec->begin_pending = false; /* never began: nothing to end */
    } else if (sh->count < sh->cap) {
        entry_t *e = &sh->e[(sh->head + sh->count) % sh->cap];
        e->kind = E_END;
        sh->count++;
        pthread_cond_signal(&sh->cond);
    }
    rec->dropping = false;
    rec->vidx = rec->aidx = -1;
    pthread_mutex_unlock(&sh->lock);
    ST_SET(sh, behind, 0);
}

void vg_recorder_activity(vg_recorder_t *rec, unsigned kinds, int64_t when_us)
{
    if (!rec)
        return;
    /* relaxed: time stamps the writer polls; one worker runs a camera at a time */
    if (kinds & VG_ACTIVITY_MOTION)
        atomic_store_explicit(&rec->sh->activity_us[0], when_us, memory_order_relaxed);
    if (kinds & VG_ACTIVITY_OBJECTS)
        atomic_store_explicit(&rec->sh->activity_us[1], when_us, memory_order_relaxed);
}

int vg_recorder_check(vg_recorder_t *rec, int64_t now_mono_us)
{
    shared_t *sh = rec->sh;
    if (!rec->w) /* an earlier restart could not start a thread */
        return writer_start(rec, &rec->w) < 0 ? -ENOMEM : 1;
    /* relaxed: readings; a late one delays the restart by a tick */
    if (!atomic_load_explicit(&sh->stats.recording, memory_order_relaxed))
        return 0;
    int64_t last = atomic_load_explicit(&sh->stats.last_close_us, memory_order_relaxed);
    if (now_mono_us - last <= 3 * rec->cfg.segment_us)
        return 0;
    writer_t *old = rec->w;
    pthread_mutex_lock(&sh->lock);
    /* release: the writer that reads 1 stops touching the recorder */
    atomic_store_explicit(&old->abandoned, 1, memory_order_release);
    pthread_cond_broadcast(&sh->cond);
    pthread_mutex_unlock(&sh->lock);
    pthread_detach(old->thread); /* it frees itself when its blocked call returns */
    rec->w = NULL;
    ST_SET(sh, recording, 0);
    ST_SET(sh, last_close_us, now_mono_us);
    ST_ADD(sh, restarts, 1);
    /* the new writer needs the stream's parameters (the old one had them):
     * a begin entry goes in front of the next packet */
    pthread_mutex_lock(&sh->lock);
    if (rec->vidx >= 0)
        rec->begin_pending = true;
    pthread_mutex_unlock(&sh->lock);
    return writer_start(rec, &rec->w) < 0 ? -ENOMEM : 1;
}

const vg_recorder_stats_t *vg_recorder_stats(const vg_recorder_t *rec) { return &rec->sh->stats; }

void vg_recorder_free(vg_recorder_t **prec)
{
    if (!prec || !*prec)
        return;
    vg_recorder_t *rec = *prec;
    if (rec->sh && rec->w) {
        pthread_mutex_lock(&rec->sh->lock);
        rec->sh->closing = true;
        pthread_cond_broadcast(&rec->sh->cond);
        pthread_mutex_unlock(&rec->sh->lock);
        pthread_join(rec->w->thread, NULL);
        free(rec->w); /* its resources went at the end of writer_main */
    }
    avcodec_parameters_free(&rec->vpar);
    avcodec_parameters_free(&rec->apar);
    shared_unref(rec->sh);
    free(rec->camera);
    free(rec->dir);
    free(rec);
    *prec = NULL;
}
