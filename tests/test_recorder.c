/* test_recorder.c: capture/recorder and storage/ (index, retention, clips)
 * on real files: an H.264 + AAC clip that ffmpeg makes for the test, read
 * through capture/reader as the capture thread reads it, recorded to a real
 * disk, indexed in a real SQLite file and read back with libavformat. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libavformat/avformat.h>
#include <libavutil/log.h>
#include <libavutil/time.h>
#include <sqlite3.h>

#include "capture/reader.h"
#include "capture/recorder.h"
#include "storage/clip.h"
#include "storage/index.h"
#include "storage/storage.h"

#define FPS 25
#define GOP 25 /* one keyframe a second */

static char dir[64];
static char clip[128];

static void make_clip(double seconds)
{
    snprintf(dir, sizeof(dir), "/tmp/vigil-rec-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(clip, sizeof(clip), "%s/av.mp4", dir);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "ffmpeg -nostdin -hide_banner -loglevel error -y -f lavfi -i testsrc=size=160x120:rate=%d "
             "-f lavfi -i sine=frequency=440:sample_rate=48000 -t %.1f -c:v libx264 -preset ultrafast -g %d "
             "-keyint_min %d -sc_threshold 0 -pix_fmt yuv420p -c:a aac -shortest %s",
             FPS, seconds, GOP, GOP, clip);
    cr_assert_eq(system(cmd), 0, "ffmpeg could not make the test clip");
    av_log_set_level(AV_LOG_ERROR);
}

static void cleanup(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (dir[0] && system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

static int64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- segments collected from the writer thread ------------------------- */

#define MAX_SEGS 64
typedef struct {
    pthread_mutex_t lock;
    vg_record_segment_t seg[MAX_SEGS];
    char path[MAX_SEGS][PATH_MAX];
    int n;
    vg_storage_t *storage; /* also index them when set */
} segs_t;

static void on_segment(void *opaque, const vg_record_segment_t *s)
{
    segs_t *l = opaque;
    pthread_mutex_lock(&l->lock);
    if (l->n < MAX_SEGS) {
        l->seg[l->n] = *s;
        snprintf(l->path[l->n], PATH_MAX, "%s", s->path);
        l->seg[l->n].path = l->path[l->n];
        l->n++;
    }
    pthread_mutex_unlock(&l->lock);
    if (l->storage)
        vg_storage_segment(l->storage, s);
}

/* ---- feeding the recorder as the capture thread does --------------------- */

typedef struct {
    vg_recorder_t *rec;
    int64_t max_push_ns; /* the longest vg_recorder_packet took */
    int packets;
} feed_t;

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void on_packet(void *opaque, const AVPacket *pkt)
{
    feed_t *f = opaque;
    int64_t t0 = mono_ns();
    vg_recorder_packet(f->rec, pkt);
    int64_t dt = mono_ns() - t0;
    if (dt > f->max_push_ns)
        f->max_push_ns = dt;
    f->packets++;
}

/* Reads url through the reader (decoding, like the capture thread), handing
 * every packet to the recorder; loops times over (timestamps going back);
 * pace > 0 sleeps to play at that many times real time, calling at(t) with
 * each picture's pts in seconds. Returns the frames decoded. */
static int feed(feed_t *f, const char *url, int loops, double pace, void (*at)(double t, void *arg), void *arg)
{
    vg_reader_config_t rc = {.url = url, .timeout_us = 5000000, .decode_threads = 1, .audio = true,
                             .on_packet = on_packet, .opaque = f};
    vg_reader_t *r = NULL;
    char err[512];
    cr_assert_eq(vg_reader_open(&rc, &r, err, sizeof(err)), 0, "%s", err);
    cr_assert_not_null(vg_reader_audio_stream(r), "the clip has audio");
    cr_assert_eq(vg_recorder_stream_begin(f->rec, vg_reader_stream(r), vg_reader_audio_stream(r)), 0);
    AVFrame *fr = av_frame_alloc();
    int frames = 0;
    int64_t start = mono_ns();
    AVRational tb = vg_reader_stream(r)->time_base;
    for (int pass = 0; pass < loops; pass++) {
        int e;
        while ((e = vg_reader_read(r, fr)) == 0) {
            frames++;
            double t = fr->best_effort_timestamp * av_q2d(tb);
            if (pace > 0) {
                int64_t due = start + (int64_t)(t / pace * 1e9);
                while (mono_ns() < due) {
                    struct timespec ts = {0, 2000000};
                    nanosleep(&ts, NULL);
                }
            }
            if (at)
                at(t, arg);
        }
        cr_assert_eq(e, AVERROR_EOF);
        if (pass + 1 < loops)
            cr_assert_eq(vg_reader_rewind(r), 0);
    }
    vg_recorder_stream_end(f->rec);
    av_frame_free(&fr);
    vg_reader_free(&r);
    return frames;
}

/* What a segment file holds, read back with libavformat. */
typedef struct {
    int video, audio, keyframes;
    bool first_is_key;
    double first_pts, end_pts; /* video, seconds */
    bool monotonic;
} probe_t;

static probe_t probe(const char *path)
{
    probe_t p = {.monotonic = true, .first_pts = -1};
    AVFormatContext *fmt = NULL;
    cr_assert_eq(avformat_open_input(&fmt, path, NULL, NULL), 0, "cannot open %s", path);
    cr_assert_geq(avformat_find_stream_info(fmt, NULL), 0);
    int v = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    cr_assert_geq(v, 0);
    AVPacket *pkt = av_packet_alloc();
    int64_t last_dts[8];
    for (int i = 0; i < 8; i++)
        last_dts[i] = INT64_MIN;
    while (av_read_frame(fmt, pkt) >= 0) {
        int s = pkt->stream_index;
        if (s < 8 && pkt->dts != AV_NOPTS_VALUE) {
            if (pkt->dts <= last_dts[s])
                p.monotonic = false;
            last_dts[s] = pkt->dts;
        }
        if (s == v) {
            double t = pkt->pts * av_q2d(fmt->streams[v]->time_base);
            if (p.video == 0) {
                p.first_is_key = pkt->flags & AV_PKT_FLAG_KEY;
                p.first_pts = t;
            }
            p.video++;
            p.keyframes += !!(pkt->flags & AV_PKT_FLAG_KEY);
            double end = t + pkt->duration * av_q2d(fmt->streams[v]->time_base);
            if (end > p.end_pts)
                p.end_pts = end;
        } else if (fmt->streams[s]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO) {
            p.audio++;
        }
        av_packet_unref(pkt);
    }
    av_packet_free(&pkt);
    avformat_close_input(&fmt);
    return p;
}

static vg_recorder_t *recorder(vg_record_mode_t mode, int64_t segment_us, segs_t *l)
{
    char rdir[PATH_MAX];
    snprintf(rdir, sizeof(rdir), "%s/state/recordings", dir);
    char state[PATH_MAX];
    snprintf(state, sizeof(state), "%s/state", dir);
    mkdir(state, 0750);
    pthread_mutex_init(&l->lock, NULL);
    vg_recorder_config_t rc = {.camera = "cam", .dir = rdir, .mode = mode, .segment_us = segment_us,
                               .pre_capture_us = 1500000, .post_capture_us = 500000, .audio = true,
                               .on_segment = on_segment, .opaque = l};
    vg_recorder_t *rec = NULL;
    cr_assert_eq(vg_recorder_new(&rc, &rec), 0);
    return rec;
}

TestSuite(recorder, .timeout = 120, .fini = cleanup);

/* Continuous: segments of record.segment cut at keyframes, each playable,
 * with audio; one follows the other without a gap; a clip across their
 * boundaries has one frame step everywhere. */
Test(recorder, continuous_segments_play_and_follow_on)
{
    make_clip(12);
    segs_t l = {0};
    feed_t f = {.rec = recorder(VG_RECORD_CONTINUOUS, 3000000, &l)};
    int frames = feed(&f, clip, 1, 0, NULL, NULL);
    cr_assert_eq(frames, 12 * FPS);
    vg_recorder_free(&f.rec);
    cr_assert_eq(l.n, 4, "12 s in 3 s segments: %d segments", l.n);
    int video = 0;
    double total = 0;
    for (int i = 0; i < l.n; i++) {
        probe_t p = probe(l.seg[i].path);
        cr_expect(p.first_is_key, "segment %d starts with a keyframe", i);
        cr_expect(p.monotonic, "segment %d: timestamps rise", i);
        cr_expect_gt(p.audio, 0, "segment %d keeps the audio", i);
        cr_expect(l.seg[i].has_audio);
        double d = (l.seg[i].end_us - l.seg[i].start_us) / 1e6;
        cr_expect(d > 2.95 && d < 3.05, "segment %d lasts %.3fs (3 s cut at keyframes)", i, d);
        cr_expect(p.end_pts - p.first_pts > 2.95 && p.end_pts - p.first_pts < 3.05, "segment %d plays %.3fs", i,
                  p.end_pts - p.first_pts);
        int64_t dur;
        bool audio;
        cr_expect_eq(vg_index_probe(l.seg[i].path, &dur, &audio), 0);
        cr_expect(audio);
        if (i > 0)
            cr_expect(llabs(l.seg[i].start_us - l.seg[i - 1].end_us) <= 1000,
                      "segment %d starts %lld us after the one before ends", i,
                      (long long)(l.seg[i].start_us - l.seg[i - 1].end_us));
        video += p.video;
        total += d;
    }
    cr_expect_eq(video, frames, "every frame is recorded once: %d of %d", video, frames);
    cr_expect(total > 11.95 && total < 12.05, "the segments add up to %.3fs", total);

    /* the index, and a clip across two boundaries */
    char state[PATH_MAX];
    snprintf(state, sizeof(state), "%s/state", dir);
    vg_index_t *ix = NULL;
    char err[512];
    cr_assert_eq(vg_index_open(state, &ix, NULL, err, sizeof(err)), 0, "%s", err);
    int added = 0;
    cr_assert_eq(vg_index_reindex(ix, &added, NULL, NULL), 0);
    cr_assert_eq(added, 4);
    char out[PATH_MAX];
    snprintf(out, sizeof(out), "%s/clip.mp4", dir);
    int64_t from = l.seg[0].start_us + 2500000, to = l.seg[0].start_us + 7500000;
    vg_clip_info_t info;
    cr_assert_eq(vg_clip_write(ix, "cam", from, to, out, &info, err, sizeof(err)), 0, "%s", err);
    vg_index_close(&ix);
    cr_expect_eq(info.segments, 3);
    cr_expect_eq(info.gaps, 0);
    cr_expect(info.start_us <= from && info.start_us > from - 1000000 - 1000,
              "the clip starts at the keyframe before --from");
    probe_t c = probe(out);
    cr_expect(c.first_is_key);
    cr_expect(c.monotonic);
    cr_expect_gt(c.audio, 0);
    /* every video step is one frame: no gap, no overlap at the boundaries */
    AVFormatContext *fmt = NULL;
    cr_assert_eq(avformat_open_input(&fmt, out, NULL, NULL), 0);
    avformat_find_stream_info(fmt, NULL);
    int v = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    double pts[512];
    int n = 0;
    AVPacket *pkt = av_packet_alloc();
    while (av_read_frame(fmt, pkt) >= 0) {
        if (pkt->stream_index == v && n < 512)
            pts[n++] = pkt->pts * av_q2d(fmt->streams[v]->time_base);
        av_packet_unref(pkt);
    }
    av_packet_free(&pkt);
    avformat_close_input(&fmt);
    cr_expect(n >= (int)(5.0 * FPS) && n <= (int)(6.0 * FPS) + 1, "%d frames for 5 s from a keyframe", n);
    for (int i = 1; i < n; i++)
        cr_expect(pts[i] - pts[i - 1] > 0.039 && pts[i] - pts[i - 1] < 0.041, "frame %d: step %.4fs", i,
                  pts[i] - pts[i - 1]);
}

/* A disk slower than the camera: the capture thread never waits (it reads the
 * whole clip long before the writer could have written it), whole GOPs are
 * dropped and counted, and what is written starts at keyframes and plays. */
Test(recorder, slow_disk_drops_whole_gops_without_blocking_capture)
{
    make_clip(12);
    segs_t l = {0};
    char rdir[PATH_MAX];
    snprintf(rdir, sizeof(rdir), "%s/state/recordings", dir);
    pthread_mutex_init(&l.lock, NULL);
    vg_recorder_config_t rc = {.camera = "cam", .dir = rdir, .mode = VG_RECORD_CONTINUOUS, .segment_us = 3000000,
                               .queue_packets = 200, .audio = true, .debug_write_delay_us = 20000,
                               .on_segment = on_segment, .opaque = &l};
    feed_t f = {0};
    cr_assert_eq(vg_recorder_new(&rc, &f.rec), 0);
    int64_t t0 = mono_ns();
    int frames = feed(&f, clip, 1, 0, NULL, NULL);
    double read_s = (mono_ns() - t0) / 1e9;
    const vg_recorder_stats_t *s = vg_recorder_stats(f.rec);
    uint64_t queued = atomic_load(&s->queued), dropped = atomic_load(&s->dropped_packets);
    uint64_t gops = atomic_load(&s->dropped_gops);
    cr_expect_eq(frames, 12 * FPS);
    /* writing every packet takes 20 ms x ~860 packets = 17 s */
    cr_expect_lt(read_s, 8.0, "capture read the clip in %.2fs: it did not wait for the disk", read_s);
    cr_expect_lt(f.max_push_ns, 20000000, "one push took %.1f ms", f.max_push_ns / 1e6);
    cr_expect_gt(gops, 0, "whole GOPs were dropped");
    cr_expect_gt(dropped, 0);
    cr_expect_eq(queued + dropped, (uint64_t)f.packets, "every packet is queued or counted as dropped: %llu + %llu != %d",
                 (unsigned long long)queued, (unsigned long long)dropped, f.packets);
    vg_recorder_free(&f.rec); /* writes what was queued */
    cr_expect_gt(l.n, 0);
    uint64_t in_files = 0;
    for (int i = 0; i < l.n; i++) {
        probe_t p = probe(l.seg[i].path);
        in_files += (uint64_t)(p.video + p.audio);
        cr_expect(p.first_is_key, "segment %d starts with a keyframe", i);
        cr_expect(p.monotonic);
        /* GOPs are whole: a keyframe every GOP frames, and no more frames than
         * the GOPs they belong to (the last may have been cut by the end) */
        cr_expect_leq(p.video, p.keyframes * GOP, "segment %d: %d frames in %d GOPs", i, p.video, p.keyframes);
    }
    /* what was queued is written (but audio from before a keyframe that
     * starts a segment after a drop) */
    cr_expect(in_files <= queued && in_files >= queued * 9 / 10, "%llu packets in the files, %llu queued",
              (unsigned long long)in_files, (unsigned long long)queued);
}

typedef struct {
    vg_recorder_t *rec;
    double at;        /* pts of the activity */
    int64_t wall;     /* when it was signalled */
} act_t;

static void activity_at(double t, void *arg)
{
    act_t *a = arg;
    if (!a->wall && t >= a->at) {
        a->wall = wall_us();
        vg_recorder_activity(a->rec, VG_ACTIVITY_MOTION, a->wall);
    }
}

/* Motion mode: nothing is recorded without activity; with it, the segment
 * starts from the pre-roll at least pre_capture before the activity (at a
 * keyframe) and goes on post_capture after it. */
Test(recorder, motion_preroll_starts_before_activity)
{
    make_clip(5);
    segs_t l = {0};
    feed_t f = {.rec = recorder(VG_RECORD_MOTION, 10000000, &l)};
    act_t a = {.rec = f.rec, .at = 3.5};
    feed(&f, clip, 1, 1.0, activity_at, &a);
    vg_recorder_free(&f.rec);
    cr_assert_eq(l.n, 1, "one segment around the activity, %d", l.n);
    int64_t pre = 1500000, post = 500000;
    cr_expect_leq(l.seg[0].start_us, a.wall - pre, "starts %.3fs before the activity (pre_capture 1.5 s)",
                  (a.wall - l.seg[0].start_us) / 1e6);
    cr_expect_geq(l.seg[0].start_us, a.wall - pre - 1000000 - 200000, "from the keyframe before, not earlier");
    cr_expect_geq(l.seg[0].end_us, a.wall + post - 100000, "goes on %.3fs after it (post_capture 0.5 s)",
                  (l.seg[0].end_us - a.wall) / 1e6);
    cr_expect(l.seg[0].has_motion);
    cr_expect_eq(l.seg[0].mode, VG_RECORD_MOTION);
    probe_t p = probe(l.seg[0].path);
    cr_expect(p.first_is_key);
    cr_expect_lt(p.video, 5 * FPS, "not the whole clip");
}

/* A camera that goes away closes its segment; one whose clock goes back (a
 * file that loops) keeps rising timestamps within a segment. */
Test(recorder, disconnect_closes_and_timestamps_stay_monotonic)
{
    make_clip(4);
    segs_t l = {0};
    feed_t f = {.rec = recorder(VG_RECORD_CONTINUOUS, 60000000, &l)};
    feed(&f, clip, 3, 0, NULL, NULL); /* 3 passes, pts back to 0 twice */
    int after_first = 0;
    for (int i = 0; i < 500 && !after_first; i++) { /* the writer closes it, shortly */
        pthread_mutex_lock(&l.lock);
        after_first = l.n;
        pthread_mutex_unlock(&l.lock);
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    feed(&f, clip, 1, 0, NULL, NULL); /* reconnected */
    vg_recorder_free(&f.rec);
    cr_expect_eq(after_first, 1, "the end of the stream closed its segment (before the next one began)");
    cr_assert_eq(l.n, 2, "one segment per connection: %d", l.n);
    probe_t p = probe(l.seg[0].path);
    cr_expect(p.monotonic, "timestamps rise across the loops");
    cr_expect_eq(p.video, 3 * 4 * FPS);
    double d = (l.seg[0].end_us - l.seg[0].start_us) / 1e6;
    cr_expect(d > 11.9 && d < 12.1, "three passes of 4 s: %.3fs", d);
    cr_expect(probe(l.seg[1].path).first_is_key);
}

/* The index is rebuilt from the files: a segment missing from it (a crash
 * between close and insert), a lost index, a corrupt one, a .part left by a
 * crash. */
Test(recorder, index_rebuilt_from_files)
{
    make_clip(7);
    char state[PATH_MAX];
    snprintf(state, sizeof(state), "%s/state", dir);
    mkdir(state, 0750);
    vg_storage_config_t sc = {.state_dir = state, .fallback = {.continuous_days = 2, .motion_days = 7,
                                                              .events_days = 30}};
    vg_storage_t *st = NULL;
    char err[512];
    vg_storage_startup_t su;
    cr_assert_eq(vg_storage_new(&sc, &st, &su, err, sizeof(err)), 0, "%s", err);
    segs_t l = {.storage = st};
    feed_t f = {.rec = recorder(VG_RECORD_CONTINUOUS, 2000000, &l)};
    feed(&f, clip, 1, 0, NULL, NULL);
    vg_recorder_free(&f.rec);
    /* an event, indexed from its end message */
    const char *ev = "{\"type\":\"end\",\"id\":\"cam-1\",\"label\":\"person\",\"top_score\":0.8,\"zones\":[],"
                     "\"start\":\"2026-01-01T00:00:00.000Z\",\"end\":\"2026-01-01T00:00:10.000Z\"}";
    vg_storage_event(st, "cam", ev, strlen(ev));
    vg_storage_free(&st);
    cr_assert_eq(l.n, 4, "7 s in 2 s segments");

    vg_index_t *ix = NULL;
    cr_assert_eq(vg_index_open(state, &ix, NULL, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(vg_index_segments(ix, "cam", 0, 0, NULL, NULL), 4);
    vg_index_event_t e;
    cr_assert_eq(vg_index_get_event(ix, "cam-1", &e), 0);
    cr_expect_eq(e.span_end_us - e.end_us, 0, "no post capture for a camera without one");
    cr_expect_eq(e.end_us - e.start_us, 10000000);
    /* a crash between close and insert */
    cr_assert_eq(sqlite3_exec(vg_index_db(ix), "DELETE FROM segments WHERE start_us=(SELECT max(start_us) FROM segments)",
                              NULL, NULL, NULL), SQLITE_OK);
    /* a crash with a segment open: its fragments are on disk as .part */
    char part[PATH_MAX + 8], cmd[PATH_MAX * 3];
    snprintf(part, sizeof(part), "%.*s999Z-continuous.mp4.part", (int)(strlen(l.seg[0].path) - 19), l.seg[0].path);
    snprintf(cmd, sizeof(cmd), "cp %s %s", l.seg[0].path, part);
    cr_assert_eq(system(cmd), 0);
    vg_index_close(&ix);
    cr_assert_eq(vg_storage_new(&sc, &st, &su, err, sizeof(err)), 0, "%s", err);
    vg_storage_free(&st);
    cr_expect_eq(su.added, 2, "the missing segment and the .part: %d", su.added);
    cr_expect_eq(su.recovered, 1);
    cr_expect_eq(access(part, F_OK), -1, "the .part was renamed");

    /* the index lost: everything comes back from the files */
    char db[PATH_MAX + 32];
    snprintf(db, sizeof(db), "%s/index.sqlite", state);
    unlink(db);
    cr_assert_eq(vg_storage_new(&sc, &st, &su, err, sizeof(err)), 0, "%s", err);
    vg_storage_free(&st);
    cr_expect_eq(su.added, 5);
    cr_expect(!su.rebuilt);
    /* corrupt: moved aside and rebuilt */
    int fd = open(db, O_WRONLY | O_TRUNC);
    cr_assert_geq(fd, 0);
    char junk[8192];
    memset(junk, 0x5a, sizeof(junk));
    cr_assert_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
    close(fd);
    cr_assert_eq(vg_storage_new(&sc, &st, &su, err, sizeof(err)), 0, "%s", err);
    vg_storage_free(&st);
    cr_expect(su.rebuilt);
    cr_expect_eq(su.added, 5);
}

/* ---- retention, with our own clock and tiny budgets -------------------- */

#define DAY 86400000000LL

static void add_seg(vg_index_t *ix, const char *root, const char *camera, const char *mode, int64_t start,
                    const char *name)
{
    char path[PATH_MAX * 2];
    snprintf(path, sizeof(path), "%s/%s", root, name);
    FILE *fp = fopen(path, "w");
    cr_assert_not_null(fp);
    char buf[1000] = {0};
    fwrite(buf, 1, sizeof(buf), fp);
    fclose(fp);
    vg_index_segment_t s = {.start_us = start, .end_us = start + 10000000, .bytes = 1000};
    snprintf(s.camera, sizeof(s.camera), "%s", camera);
    snprintf(s.mode, sizeof(s.mode), "%s", mode);
    snprintf(s.path, sizeof(s.path), "%s", name);
    cr_assert_eq(vg_index_add_segment(ix, &s), 0);
}

static bool on_disk(const char *root, const char *name)
{
    char path[PATH_MAX * 2];
    snprintf(path, sizeof(path), "%s/%s", root, name);
    return access(path, F_OK) == 0;
}

Test(recorder, retention_by_days_then_by_size)
{
    snprintf(dir, sizeof(dir), "/tmp/vigil-ret-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    vg_index_t *ix = NULL;
    char err[512];
    cr_assert_eq(vg_index_open(dir, &ix, NULL, err, sizeof(err)), 0, "%s", err);
    const char *root = vg_index_recordings_dir(ix);
    const int64_t now = 1800000000LL * 1000000;
    add_seg(ix, root, "a", "continuous", now - 10 * DAY, "c10");
    add_seg(ix, root, "a", "continuous", now - 3 * DAY, "c3");
    add_seg(ix, root, "a", "continuous", now - 1 * DAY, "c1");
    add_seg(ix, root, "a", "motion", now - 8 * DAY, "m8");
    add_seg(ix, root, "a", "motion", now - 5 * DAY, "m5");
    add_seg(ix, root, "a", "continuous", now - 20 * DAY, "e20"); /* belongs to an event */
    add_seg(ix, root, "b", "continuous", now - 3 * DAY, "b3");   /* b keeps 4 days */
    vg_index_event_t ev = {.id = "a-1", .camera = "a", .label = "person", .start_us = now - 20 * DAY + 2000000,
                           .end_us = now - 20 * DAY + 4000000, .top_score = 0.9, .zones = "[]",
                           .span_start_us = now - 20 * DAY, .span_end_us = now - 20 * DAY + 6000000};
    cr_assert_eq(vg_index_put_event(ix, &ev), 0);
    vg_index_event_t old = {.id = "a-0", .camera = "a", .label = "car", .start_us = now - 40 * DAY,
                            .end_us = now - 40 * DAY + 1000000, .zones = "[]", .span_start_us = now - 40 * DAY,
                            .span_end_us = now - 40 * DAY + 1000000};
    cr_assert_eq(vg_index_put_event(ix, &old), 0);
    vg_storage_camera_t cams[2] = {
        {.camera = "a", .continuous_days = 2, .motion_days = 7, .events_days = 30},
        {.camera = "b", .continuous_days = 4, .motion_days = 4, .events_days = 4},
    };
    vg_storage_config_t cfg = {.cameras = cams, .n_cameras = 2,
                               .fallback = {.continuous_days = 1, .motion_days = 1, .events_days = 1}};
    int deleted = 0;
    uint64_t used = 0;
    cr_assert_eq(vg_storage_retain_pass(ix, &cfg, now, UINT64_MAX, &deleted, &used), 1);
    cr_expect_eq(deleted, 3, "c10, c3 and m8 are past their days: %d deleted", deleted);
    cr_expect(!on_disk(root, "c10") && !on_disk(root, "c3") && !on_disk(root, "m8"));
    cr_expect(on_disk(root, "c1") && on_disk(root, "m5") && on_disk(root, "e20") && on_disk(root, "b3"));
    cr_expect_eq(used, 4000);
    vg_index_event_t got;
    cr_expect_eq(vg_index_get_event(ix, "a-0", &got), -ENOENT, "an event past retain.events goes");
    cr_expect_eq(vg_index_get_event(ix, "a-1", &got), 0);

    /* max_size 2500 of 4000: the oldest footage goes first, events' last */
    cfg.max_size = 2500;
    cr_assert_eq(vg_storage_retain_pass(ix, &cfg, now, UINT64_MAX, &deleted, &used), 1);
    cr_expect_eq(deleted, 2);
    cr_expect(!on_disk(root, "m5") && !on_disk(root, "b3"), "the two oldest without an event");
    cr_expect(on_disk(root, "e20") && on_disk(root, "c1"));
    cr_expect_eq(used, 2000);
    /* min_free: 500 bytes free of the 1500 wanted: the next oldest, then the event's */
    cfg.max_size = 0;
    cfg.min_free = 1500;
    cr_assert_eq(vg_storage_retain_pass(ix, &cfg, now, 500, &deleted, &used), 1);
    cr_expect_eq(deleted, 1);
    cr_expect(!on_disk(root, "c1") && on_disk(root, "e20"), "footage of events goes last");
    cr_expect_eq(vg_storage_retain_pass(ix, &cfg, now, 0, &deleted, &used), 0, "nothing left to free");
    cr_expect(!on_disk(root, "e20"));
    vg_index_close(&ix);
}

Test(recorder, times_in_iso_8601_and_relative_forms)
{
    int64_t now = 1765164600LL * 1000000, t;
    cr_assert_eq(vg_time_parse("2025-12-08T03:30:00Z", now, &t), 0);
    cr_expect_eq(t, 1765164600LL * 1000000);
    cr_assert_eq(vg_time_parse("2025-12-08T04:30:00.250+01:00", now, &t), 0);
    cr_expect_eq(t, 1765164600LL * 1000000 + 250000);
    cr_assert_eq(vg_time_parse("-2h", now, &t), 0);
    cr_expect_eq(t, now - 7200LL * 1000000);
    cr_assert_eq(vg_time_parse("-90s", now, &t), 0);
    cr_expect_eq(t, now - 90LL * 1000000);
    cr_assert_eq(vg_time_parse("now", now, &t), 0);
    cr_expect_eq(t, now);
    cr_assert_eq(vg_time_parse("@1765164600", now, &t), 0);
    cr_expect_eq(t, now);
    setenv("TZ", "UTC", 1);
    tzset();
    cr_assert_eq(vg_time_parse("10:00", now, &t), 0);
    cr_expect_eq(t, (1765164600LL - 3 * 3600 - 30 * 60 + 10 * 3600) * 1000000, "10:00 today (UTC here)");
    cr_expect_eq(vg_time_parse("yesterday", now, &t), -EINVAL);
    cr_expect_eq(vg_time_parse("25:00", now, &t), -EINVAL);
    char buf[40];
    vg_time_format(now + 42000, buf, sizeof(buf));
    cr_expect_str_eq(buf, "2025-12-08T03:30:00.042Z");
    int64_t start;
    vg_record_mode_t m;
    cr_assert_eq(vg_record_parse_name("20251208T033000.042Z-motion.mp4", &start, &m), 0);
    cr_expect_eq(start, now + 42000);
    cr_expect_eq(m, VG_RECORD_MOTION);
    cr_expect_eq(vg_record_parse_name("20251208T033000.042Z-motion.mp4.part", &start, &m), 0);
    cr_expect_eq(vg_record_parse_name("notes.txt", &start, &m), -EINVAL);
}

/* A writer that closes no segment for 3 x segment (the check is given a
 * clock 4 s ahead; the test hook keeps the writer busy 5 ms a packet) is
 * found stalled, abandoned and replaced: recording goes on from
 * a keyframe, and the abandoned one ends by itself without touching the
 * recorder. */
Test(recorder, stalled_writer_is_replaced)
{
    make_clip(6);
    segs_t l = {0};
    char rdir[PATH_MAX];
    snprintf(rdir, sizeof(rdir), "%s/state/recordings", dir);
    pthread_mutex_init(&l.lock, NULL);
    vg_recorder_config_t rc = {.camera = "cam", .dir = rdir, .mode = VG_RECORD_CONTINUOUS, .segment_us = 1000000,
                               .audio = false, .debug_write_delay_us = 5000, .on_segment = on_segment,
                               .opaque = &l};
    feed_t f = {0};
    cr_assert_eq(vg_recorder_new(&rc, &f.rec), 0);
    const vg_recorder_stats_t *s = vg_recorder_stats(f.rec);
    /* the first packets: the writer opens a segment */
    vg_reader_config_t rdc = {.url = clip, .timeout_us = 5000000, .decode_threads = 1, .on_packet = on_packet,
                              .opaque = &f};
    vg_reader_t *r = NULL;
    cr_assert_eq(vg_reader_open(&rdc, &r, NULL, 0), 0);
    cr_assert_eq(vg_recorder_stream_begin(f.rec, vg_reader_stream(r), NULL), 0);
    AVFrame *fr = av_frame_alloc();
    for (int i = 0; i < 10; i++)
        cr_assert_eq(vg_reader_read(r, fr), 0);
    for (int i = 0; i < 200 && !atomic_load(&s->recording); i++)
        usleep(10000);
    cr_assert(atomic_load(&s->recording), "a segment is open");
    int64_t now = av_gettime_relative();
    cr_expect_eq(vg_recorder_check(f.rec, now), 0, "not stalled yet");
    cr_expect_eq(vg_recorder_check(f.rec, now + 4000000), 1, "no close for 3 x segment: replaced");
    cr_expect_eq(atomic_load(&s->restarts), 1);
    /* the rest of the stream goes to the new writer */
    while (vg_reader_read(r, fr) == 0)
        ;
    vg_recorder_stream_end(f.rec);
    av_frame_free(&fr);
    vg_reader_free(&r);
    vg_recorder_free(&f.rec);
    usleep(300000); /* the abandoned writer finishes its packet and ends */
    cr_expect_geq(l.n, 1, "the new writer recorded segments");
    for (int i = 0; i < l.n; i++)
        cr_expect(probe(l.seg[i].path).first_is_key, "segment %d starts with a keyframe", i);
}

/* A disk that refuses bytes (a real one: the kernel's file size limit,
 * RLIMIT_FSIZE, in this test's own process): the write fails, the segment
 * is closed and kept (its whole fragments play), disk_full is raised, and
 * recording resumes at a keyframe a second later; capture never stops. */
Test(recorder, write_error_closes_and_resumes)
{
    make_clip(5);
    signal(SIGXFSZ, SIG_IGN); /* a write past the limit fails with EFBIG instead */
    struct rlimit lim = {.rlim_cur = 16 * 1024, .rlim_max = RLIM_INFINITY};
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    segs_t l = {0};
    feed_t f = {.rec = recorder(VG_RECORD_CONTINUOUS, 10000000, &l)};
    const vg_recorder_stats_t *s = vg_recorder_stats(f.rec);
    int frames = feed(&f, clip, 1, 1.0, NULL, NULL);
    uint64_t errors = atomic_load(&s->write_errors), dropped = atomic_load(&s->dropped_errors);
    vg_recorder_free(&f.rec);
    lim.rlim_cur = RLIM_INFINITY;
    setrlimit(RLIMIT_FSIZE, &lim);
    cr_expect_eq(frames, 5 * FPS, "capture read every frame");
    cr_expect_geq(errors, 1, "the limit stopped a segment");
    cr_expect_gt(dropped, 0, "packets were dropped during the pause");
    cr_expect_geq(l.n, 2, "recording resumed after the error: %d segments", l.n);
    for (int i = 0; i < l.n; i++) {
        probe_t p = probe(l.seg[i].path);
        cr_expect(p.first_is_key, "segment %d starts with a keyframe", i);
        cr_expect_gt(p.video, 0, "segment %d plays", i);
    }
}
