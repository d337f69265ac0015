/* capture: real decoders on real footage, and real stream servers on
 * loopback (HTTP/MPEG-TS from ffmpeg, RTSP from GStreamer). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "capture/source.h"
#include "pipeline/workers.h"
#include "vg_test_util.h"

#define MAX_EVENTS 64

/* What the capture thread reported, and a consumer standing in for the
 * analysis workers. */
typedef struct {
    pthread_mutex_t lock;
    int n;
    vg_source_state_t states[MAX_EVENTS];
    char reasons[MAX_EVENTS][256];
    /* consumer side (under the workers' claim) */
    uint64_t handled, last_index;
    int order_ok;
    int handler_sleep_ms;
    vg_workers_t *workers;
} probe_t;

static void on_health(void *opaque, vg_source_state_t st, const char *reason)
{
    probe_t *p = opaque;
    pthread_mutex_lock(&p->lock);
    if (p->n < MAX_EVENTS) {
        p->states[p->n] = st;
        snprintf(p->reasons[p->n], sizeof(p->reasons[0]), "%s", reason);
        p->n++;
    }
    pthread_mutex_unlock(&p->lock);
}

static void on_notify(void *opaque) { vg_workers_notify(((probe_t *)opaque)->workers); }

static int on_frame(void *camera, vg_frame_t *f, void *ctx)
{
    (void)ctx;
    probe_t *p = camera;
    if (p->handled && f->index <= p->last_index)
        p->order_ok = 0;
    cr_assert_not_null(f->av->data[0], "a queued frame carries a picture");
    p->last_index = f->index;
    p->handled++;
    if (p->handler_sleep_ms) {
        struct timespec ts = {0, p->handler_sleep_ms * 1000000L};
        nanosleep(&ts, NULL);
    }
    return VG_WORKER_DONE;
}

/* Index of the first report of state st after index from, or -1. */
static int find_state(probe_t *p, vg_source_state_t st, int from)
{
    pthread_mutex_lock(&p->lock);
    int found = -1;
    for (int i = from; i < p->n && found < 0; i++)
        if (p->states[i] == st)
            found = i;
    pthread_mutex_unlock(&p->lock);
    return found;
}

static bool wait_state(probe_t *p, vg_source_state_t st, int from, int timeout_ms)
{
    long long end = vg_test_now_ms() + timeout_ms;
    while (vg_test_now_ms() < end) {
        if (find_state(p, st, from) >= 0)
            return true;
        usleep(20000);
    }
    return false;
}

typedef struct {
    probe_t probe;
    vg_ring_t *ring;
    vg_frame_pool_t *pool;
    vg_workers_t *workers;
    int queue;
    vg_source_t *src;
} rig_t;

static void rig_start(rig_t *r, const char *url, bool realtime, double fps, int64_t timeout_us)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->probe.lock, NULL);
    r->probe.order_ok = 1;
    cr_assert_eq(vg_ring_new(4, &r->ring), 0);
    cr_assert_eq(vg_frame_pool_new(7, &r->pool), 0);
    cr_assert_eq(vg_workers_new(1, NULL, &r->workers), 0);
    r->probe.workers = r->workers;
    r->queue = vg_workers_add(r->workers, r->ring, r->pool, on_frame, NULL, &r->probe);
    vg_source_config_t sc = {
        .name = "test", .url = url, .realtime = realtime, .analysis_fps = fps, .decode_threads = 1,
        .timeout_us = timeout_us, .rtsp_transport = "tcp", .backoff_min_us = 200000,
        .backoff_max_us = 1000000, .ring = r->ring, .pool = r->pool, .notify = on_notify,
        .health = on_health, .opaque = &r->probe,
    };
    cr_assert_eq(vg_source_new(&sc, &r->src), 0);
}

/* Stops capture, drains, and returns frames left in the ring. */
static int rig_stop(rig_t *r)
{
    vg_source_stop(r->src);
    while (!vg_source_done(r->src))
        usleep(1000);
    vg_workers_drain(r->workers, r->queue, 5000);
    int left = vg_workers_remove(r->workers, r->queue);
    vg_workers_free(&r->workers);
    return left;
}

static void rig_free(rig_t *r)
{
    vg_source_free(&r->src);
    cr_assert_eq(vg_frame_pool_available(r->pool), 7, "every frame went back to the pool");
    vg_frame_pool_free(&r->pool);
    vg_ring_free(&r->ring);
    pthread_mutex_destroy(&r->probe.lock);
}

static uint64_t stat(const _Atomic uint64_t *v) { return atomic_load(v); }

Test(capture, vtest_decodes_all_795_frames_in_order, .timeout = 120)
{
    rig_t r;
    rig_start(&r, vg_test_footage("vtest.avi"), false, 1000, 10000000);
    cr_assert(wait_state(&r.probe, VG_SOURCE_EOF, 0, 60000), "no end of stream reported");
    rig_stop(&r);
    const vg_source_stats_t *s = vg_source_stats(r.src);
    cr_assert_eq(stat(&s->decoded), 795);
    cr_assert_eq(stat(&s->queued), 795);
    cr_assert_eq(r.probe.handled, 795, "replay loses nothing: %llu handled", (unsigned long long)r.probe.handled);
    cr_assert(r.probe.order_ok);
    cr_assert_eq(stat(&s->dropped_ring), 0);
    cr_assert_eq(stat(&s->decode_errors), 0);
    cr_assert_eq(atomic_load(&s->width), 768);
    cr_assert_eq(atomic_load(&s->height), 576);
    cr_assert_eq(r.probe.states[0], VG_SOURCE_CONNECTING);
    cr_assert_eq(r.probe.states[1], VG_SOURCE_STREAMING);
    cr_assert(strstr(r.probe.reasons[1], "768x576"), "streaming reason: %s", r.probe.reasons[1]);
    int eof = find_state(&r.probe, VG_SOURCE_EOF, 0);
    cr_assert(strstr(r.probe.reasons[eof], "795 frames"), "eof reason: %s", r.probe.reasons[eof]);
    rig_free(&r);
}

Test(capture, samples_to_the_analysis_rate, .timeout = 120)
{
    rig_t r;
    /* vtest.avi runs at 10 fps: analysing 5 fps keeps every other frame */
    rig_start(&r, vg_test_footage("vtest.avi"), false, 5, 10000000);
    cr_assert(wait_state(&r.probe, VG_SOURCE_EOF, 0, 60000));
    rig_stop(&r);
    const vg_source_stats_t *s = vg_source_stats(r.src);
    cr_assert_eq(stat(&s->decoded), 795);
    cr_assert_eq(stat(&s->queued), 398);
    cr_assert_eq(stat(&s->skipped), 397);
    cr_assert_eq(r.probe.handled, 398);
    rig_free(&r);
}

/* opencv-doc's "deliberately corrupted" clip: FFmpeg 5.1 reads it without a
 * decoder error (its damage is in the container: 88 of 270 packets are
 * 6-byte placeholders), so what must hold is that every picture comes out
 * and the stream ends with a report. */
Test(capture, opencv_bugy_clip_decodes_to_its_end, .timeout = 120)
{
    rig_t r;
    rig_start(&r, vg_test_footage("Megamind_bugy.avi"), false, 1000, 10000000);
    cr_assert(wait_state(&r.probe, VG_SOURCE_EOF, 0, 60000), "the clip must end with a report, not hang");
    rig_stop(&r);
    const vg_source_stats_t *s = vg_source_stats(r.src);
    cr_assert_eq(stat(&s->packets), 270);
    cr_assert_gt(stat(&s->decoded), 170, "its pictures come out (%llu)", (unsigned long long)stat(&s->decoded));
    cr_assert_eq(r.probe.handled, stat(&s->queued));
    rig_free(&r);
}

/* Real damage: vtest.mp4 (H.264) with garbage written over 12 stretches of
 * its bitstream. The decoder reports errors; they are counted; decoding goes
 * on to the end. */
Test(capture, damaged_h264_counts_errors_and_keeps_decoding, .timeout = 120)
{
    const char *clean = vg_test_footage("vtest.mp4");
    FILE *in = fopen(clean, "rb");
    cr_assert_not_null(in);
    fseek(in, 0, SEEK_END);
    long size = ftell(in);
    fseek(in, 0, SEEK_SET);
    unsigned char *data = malloc((size_t)size);
    cr_assert_eq(fread(data, 1, (size_t)size, in), (size_t)size);
    fclose(in);
    /* the moov atom is at the end (ffmpeg's default): damage only the middle */
    srand(7);
    for (int k = 0; k < 12; k++) {
        long at = size / 10 + (size * 7 / 10) / 12 * k;
        for (int i = 0; i < 3000; i++)
            data[at + i] = (unsigned char)rand();
    }
    char path[] = "/tmp/vigil-damaged-XXXXXX.mp4";
    int fd = mkstemps(path, 4);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, data, (size_t)size), size);
    close(fd);
    free(data);
    rig_t r;
    rig_start(&r, path, false, 1000, 10000000);
    cr_assert(wait_state(&r.probe, VG_SOURCE_EOF, 0, 60000), "a damaged file still ends with a report");
    rig_stop(&r);
    const vg_source_stats_t *s = vg_source_stats(r.src);
    cr_assert_gt(stat(&s->decode_errors), 0, "the damage is counted");
    cr_assert_gt(stat(&s->decoded), 600, "decoding goes on past the damage (%llu)", (unsigned long long)stat(&s->decoded));
    cr_assert_eq(r.probe.handled, stat(&s->queued));
    rig_free(&r);
    unlink(path);
}

Test(capture, missing_file_fails_with_the_reason, .timeout = 60)
{
    rig_t r;
    rig_start(&r, "/nonexistent/clip.mp4", false, 5, 2000000);
    cr_assert(wait_state(&r.probe, VG_SOURCE_FAILED, 0, 10000));
    rig_stop(&r);
    int i = find_state(&r.probe, VG_SOURCE_FAILED, 0);
    cr_assert(strstr(r.probe.reasons[i], "cannot open '/nonexistent/clip.mp4'") &&
                  strstr(r.probe.reasons[i], "No such file or directory"),
              "reason: %s", r.probe.reasons[i]);
    cr_assert_eq(stat(&vg_source_stats(r.src)->decoded), 0);
    rig_free(&r);
}

Test(capture, a_file_that_is_not_video_fails_with_the_reason, .timeout = 60)
{
    char path[] = "/tmp/vigil-notvideo-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "this is not a video\n", 20), 20);
    close(fd);
    rig_t r;
    rig_start(&r, path, false, 5, 2000000);
    cr_assert(wait_state(&r.probe, VG_SOURCE_FAILED, 0, 10000));
    rig_stop(&r);
    int i = find_state(&r.probe, VG_SOURCE_FAILED, 0);
    cr_assert(strstr(r.probe.reasons[i], path), "the reason names the file: %s", r.probe.reasons[i]);
    rig_free(&r);
    unlink(path);
}

Test(capture, live_source_drops_oldest_and_counts_every_frame, .timeout = 120)
{
    rig_t r;
    /* a realtime file is live: 10 fps in, a consumer that takes 250 ms */
    rig_start(&r, vg_test_footage("vtest.avi"), true, 1000, 10000000);
    r.probe.handler_sleep_ms = 250;
    sleep(3);
    int left = rig_stop(&r);
    const vg_source_stats_t *s = vg_source_stats(r.src);
    uint64_t queued = stat(&s->queued), dropped = stat(&s->dropped_ring);
    cr_assert_gt(dropped, 0, "a slow consumer makes a live source drop");
    cr_assert(r.probe.order_ok, "what is analysed stays in order");
    cr_assert_eq(queued, r.probe.handled + dropped + (uint64_t)left,
                 "every frame is accounted: queued %llu = handled %llu + dropped %llu + left %d",
                 (unsigned long long)queued, (unsigned long long)r.probe.handled, (unsigned long long)dropped, left);
    rig_free(&r);
}

/* ---- network sources --------------------------------------------------- */

static void start_server(vg_test_proc_t *srv, char *url, size_t urllen, bool rtsp)
{
    char script[4096];
    snprintf(script, sizeof(script), "%s/tests/servers/%s", VIGIL_SOURCE_DIR, rtsp ? "rtsp_server.py" : "http_server.sh");
    const char *clip = vg_test_footage("vtest.mp4");
    char *py[] = {"/usr/bin/python3", script, "--clip", (char *)clip, "--max-seconds", "60", NULL};
    char *sh[] = {"/bin/bash", script, "--clip", (char *)clip, "--max-seconds", "60", NULL};
    cr_assert_eq(vg_test_spawn(rtsp ? py : sh, srv), 0);
    char line[512];
    bool ready = vg_test_read_line(srv, "READY ", line, sizeof(line), 20000);
    if (!ready) {
        char err[4096] = "";
        vg_test_read_stderr(srv, err, sizeof(err));
        vg_test_stop(srv, SIGTERM, 2000);
        cr_assert_fail("stream server did not start: %s", err);
    }
    snprintf(url, urllen, "%s", line + 6);
}

static void network_roundtrip(bool rtsp)
{
    vg_test_proc_t srv;
    char url[512];
    start_server(&srv, url, sizeof(url), rtsp);
    rig_t r;
    rig_start(&r, url, false, 1000, 2000000);
    cr_assert(wait_state(&r.probe, VG_SOURCE_STREAMING, 0, 20000), "never streamed from %s", url);
    long long end = vg_test_now_ms() + 20000;
    while (stat(&vg_source_stats(r.src)->decoded) < 30 && vg_test_now_ms() < end)
        usleep(50000);
    cr_assert_geq(stat(&vg_source_stats(r.src)->decoded), 30, "decoded frames from %s", url);
    /* the server goes away: health must say so, and the source keeps trying */
    vg_test_stop(&srv, SIGTERM, 5000); /* the wrappers stop their ffmpeg/GStreamer child on SIGTERM */
    cr_assert(wait_state(&r.probe, VG_SOURCE_RECONNECTING, 0, 15000), "loss of %s not reported", url);
    int i = find_state(&r.probe, VG_SOURCE_RECONNECTING, 0);
    cr_assert_neq(r.probe.reasons[i][0], '\0', "a reason is given");
    cr_assert_gt(stat(&vg_source_stats(r.src)->reconnects), 0);
    rig_stop(&r);
    cr_assert(r.probe.order_ok);
    rig_free(&r);
}

Test(capture_network, http_mpegts_from_ffmpeg_then_loss, .timeout = 120) { network_roundtrip(false); }

Test(capture_network, rtsp_from_gstreamer_then_loss, .timeout = 120) { network_roundtrip(true); }

Test(capture_network, unreachable_url_is_retried_with_a_reason, .timeout = 60)
{
    rig_t r;
    /* port 9 (discard) on loopback: nothing listens, connect is refused */
    rig_start(&r, "rtsp://127.0.0.1:9/none", false, 5, 1000000);
    cr_assert(wait_state(&r.probe, VG_SOURCE_RECONNECTING, 0, 10000));
    int i = find_state(&r.probe, VG_SOURCE_RECONNECTING, 0);
    cr_assert(strstr(r.probe.reasons[i], "rtsp://127.0.0.1:9/none"), "reason: %s", r.probe.reasons[i]);
    cr_assert(wait_state(&r.probe, VG_SOURCE_CONNECTING, i, 5000), "it tries again");
    rig_stop(&r);
    rig_free(&r);
}
