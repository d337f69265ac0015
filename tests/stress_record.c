/* stress_record: the recorder's threads under TSan (a plain program:
 * Criterion cannot run under TSan). A capture thread feeds a clip's packets
 * as fast as it reads them into recorders whose writers are slowed (GOPs
 * dropped), a worker thread signals activity all along (motion mode), the
 * main thread replaces a writer it declares stalled, then everything is
 * freed while a writer is still busy. Exit 0 when segments were written;
 * the sanitizer's report fails the ctest. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libavutil/log.h>
#include <libavutil/time.h>

#include "capture/reader.h"
#include "capture/recorder.h"

static _Atomic int segments;
static _Atomic int stop;

static void on_segment(void *opaque, const vg_record_segment_t *seg)
{
    (void)opaque;
    (void)seg;
    atomic_fetch_add(&segments, 1);
}

static void on_packet(void *opaque, const AVPacket *pkt) { vg_recorder_packet(opaque, pkt); }

static void *worker(void *arg)
{
    vg_recorder_t *rec = arg;
    while (!atomic_load(&stop)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        vg_recorder_activity(rec, VG_ACTIVITY_MOTION | VG_ACTIVITY_OBJECTS,
                             (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
        usleep(3000);
    }
    return NULL;
}

static int run(const char *clip, const char *dir, vg_record_mode_t mode, int loops)
{
    vg_recorder_config_t rc = {.camera = "stress", .dir = dir, .mode = mode, .segment_us = 500000,
                               .pre_capture_us = 300000, .post_capture_us = 200000, .queue_packets = 40,
                               .audio = true, .debug_write_delay_us = 1500, .on_segment = on_segment};
    vg_recorder_t *rec = NULL;
    if (vg_recorder_new(&rc, &rec) < 0)
        return 1;
    atomic_store(&stop, 0);
    pthread_t w;
    pthread_create(&w, NULL, worker, rec);
    vg_reader_config_t rdc = {.url = clip, .timeout_us = 5000000, .decode_threads = 1, .audio = true,
                              .on_packet = on_packet, .opaque = rec};
    AVFrame *f = av_frame_alloc();
    for (int pass = 0; pass < loops; pass++) {
        vg_reader_t *r = NULL;
        if (vg_reader_open(&rdc, &r, NULL, 0) < 0)
            return 1;
        vg_recorder_stream_begin(rec, vg_reader_stream(r), vg_reader_audio_stream(r));
        int n = 0;
        while (vg_reader_read(r, f) == 0)
            if (++n == 60 && pass == 1)
                vg_recorder_check(rec, av_gettime_relative() + 60000000); /* declared stalled */
        vg_recorder_stream_end(rec);
        vg_reader_free(&r);
    }
    av_frame_free(&f);
    atomic_store(&stop, 1);
    pthread_join(w, NULL);
    vg_recorder_free(&rec);
    return 0;
}

int main(void)
{
    av_log_set_level(AV_LOG_QUIET);
    char dir[] = "/tmp/vigil-stress-rec-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char clip[128], cmd[1024];
    snprintf(clip, sizeof(clip), "%s/av.mp4", dir);
    snprintf(cmd, sizeof(cmd),
             "ffmpeg -nostdin -hide_banner -loglevel error -y -f lavfi -i testsrc=size=160x120:rate=25 "
             "-f lavfi -i sine=sample_rate=48000 -t 6 -c:v libx264 -preset ultrafast -g 10 -c:a aac -shortest %s",
             clip);
    if (system(cmd) != 0)
        return 1;
    int r = run(clip, dir, VG_RECORD_CONTINUOUS, 3);
    if (!r)
        r = run(clip, dir, VG_RECORD_MOTION, 3);
    usleep(200000); /* an abandoned writer ends */
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "stress_record: cannot remove %s\n", dir);
    int n = atomic_load(&segments);
    printf("stress_record: %d segments\n", n);
    return r || n == 0;
}
