/*
 * bench_record: the cost of recording (capture/recorder.h), as vigild pays
 * it, without the decoding beside it. N cameras each read URL (an RTSP
 * stream from tests/servers/rtsp_server.py, or a file paced at its own rate)
 * with libavformat on their own thread and hand every packet to their own
 * recorder (continuous, 10 s segments) for SECONDS; then one 1-minute clip is
 * cut with vg_clip_write from camera 0's footage (when there is that much).
 *
 * Prints: packets and frames read, packets dropped by the recorders (the
 * goal is none), CPU of recording per frame per camera (process CPU minus
 * the readers' own thread CPU, over the frames recorded; goal <= 0.1 ms),
 * bytes on disk against the stream's bytes (container overhead) and per
 * hour, and the clip's time. A benchmark: it never fails on its figures.
 *
 * Usage: bench_record URL [--cameras N] [--seconds S] [--dir D]
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libavformat/avformat.h>
#include <libavutil/time.h>

#include "capture/recorder.h"
#include "storage/clip.h"
#include "storage/index.h"

typedef struct {
    int id;
    const char *url;
    const char *dir;
    double seconds;
    vg_recorder_t *rec;
    uint64_t packets, frames, bytes;
    double cpu_s; /* this reader thread's own CPU */
    int error;
} cam_t;

typedef struct {
    uint64_t bytes;
    int64_t first, last;
} acc_t;

static int count_cb(void *o, const vg_index_segment_t *s)
{
    acc_t *a = o;
    a->bytes += s->bytes;
    if (s->start_us < a->first)
        a->first = s->start_us;
    if (s->end_us > a->last)
        a->last = s->end_us;
    return 0;
}

static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double process_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void *reader(void *arg)
{
    cam_t *c = arg;
    AVFormatContext *fmt = NULL;
    AVDictionary *opts = NULL;
    av_dict_set(&opts, "rtsp_transport", "tcp", 0);
    int r = avformat_open_input(&fmt, c->url, NULL, &opts);
    av_dict_free(&opts);
    if (r < 0 || avformat_find_stream_info(fmt, NULL) < 0) {
        c->error = r < 0 ? r : AVERROR_INVALIDDATA;
        avformat_close_input(&fmt);
        return NULL;
    }
    int v = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    int a = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, v, NULL, 0);
    vg_recorder_stream_begin(c->rec, fmt->streams[v], a >= 0 ? fmt->streams[a] : NULL);
    bool live = strncmp(c->url, "rtsp", 4) == 0;
    AVPacket *pkt = av_packet_alloc();
    int64_t t0 = av_gettime_relative();
    double first = -1;
    while (av_gettime_relative() - t0 < (int64_t)(c->seconds * 1e6) && av_read_frame(fmt, pkt) >= 0) {
        if (pkt->stream_index == v || pkt->stream_index == a) {
            if (!live && pkt->stream_index == v && pkt->pts != AV_NOPTS_VALUE) {
                /* a file: at its own pace, as a camera sends */
                double t = pkt->pts * av_q2d(fmt->streams[v]->time_base);
                if (first < 0)
                    first = t;
                int64_t due = t0 + (int64_t)((t - first) * 1e6);
                int64_t now = av_gettime_relative();
                if (due > now)
                    av_usleep((unsigned)(due - now));
            }
            vg_recorder_packet(c->rec, pkt);
            c->packets++;
            c->bytes += (uint64_t)pkt->size;
            c->frames += pkt->stream_index == v;
        }
        av_packet_unref(pkt);
    }
    vg_recorder_stream_end(c->rec);
    av_packet_free(&pkt);
    avformat_close_input(&fmt);
    c->cpu_s = thread_cpu();
    return NULL;
}

int main(int argc, char **argv)
{
    int n = 1;
    double seconds = 30;
    const char *dir = NULL;
    static const struct option opts[] = {{"cameras", required_argument, NULL, 'n'},
                                         {"seconds", required_argument, NULL, 's'},
                                         {"dir", required_argument, NULL, 'd'},
                                         {NULL, 0, NULL, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "n:s:d:", opts, NULL)) != -1) {
        switch (o) {
        case 'n': n = atoi(optarg); break;
        case 's': seconds = atof(optarg); break;
        case 'd': dir = optarg; break;
        default: return 2;
        }
    }
    if (optind >= argc || n < 1 || n > 64) {
        fprintf(stderr, "usage: bench_record URL [--cameras N] [--seconds S] [--dir D]\n");
        return 2;
    }
    av_log_set_level(AV_LOG_ERROR);
    char tmp[] = "/tmp/vigil-bench-record-XXXXXX";
    if (!dir && !(dir = mkdtemp(tmp))) {
        perror("mkdtemp");
        return 1;
    }
    char rdir[PATH_MAX];
    snprintf(rdir, sizeof(rdir), "%s/recordings", dir);
    mkdir(dir, 0750);
    cam_t *cams = calloc((size_t)n, sizeof(*cams));
    pthread_t *th = calloc((size_t)n, sizeof(*th));
    char names[64][16];
    double cpu0 = process_cpu();
    for (int i = 0; i < n; i++) {
        snprintf(names[i], sizeof(names[i]), "cam%02d", i);
        vg_recorder_config_t rc = {.camera = names[i], .dir = rdir, .mode = VG_RECORD_CONTINUOUS,
                                   .segment_us = 10000000, .queue_bytes = 32u << 20, .audio = true};
        if (vg_recorder_new(&rc, &cams[i].rec) < 0) {
            fprintf(stderr, "bench_record: cannot start a recorder\n");
            return 1;
        }
        cams[i] = (cam_t){.id = i, .url = argv[optind], .dir = rdir, .seconds = seconds, .rec = cams[i].rec};
        pthread_create(&th[i], NULL, reader, &cams[i]);
    }
    uint64_t frames = 0, packets = 0, in_bytes = 0, dropped = 0, out_bytes = 0, segments = 0;
    double readers_cpu = 0;
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < n; i++) {
        const vg_recorder_stats_t *s = vg_recorder_stats(cams[i].rec);
        dropped += atomic_load(&s->dropped_packets) + atomic_load(&s->dropped_errors);
        vg_recorder_free(&cams[i].rec); /* writes what is queued */
        if (cams[i].error) {
            fprintf(stderr, "bench_record: camera %d: %s\n", i, av_err2str(cams[i].error));
            return 1;
        }
        frames += cams[i].frames;
        packets += cams[i].packets;
        in_bytes += cams[i].bytes;
        readers_cpu += cams[i].cpu_s;
    }
    double rec_cpu = process_cpu() - cpu0 - readers_cpu;
    vg_index_t *ix = NULL;
    char err[512];
    int added = 0;
    if (vg_index_open(dir, &ix, NULL, err, sizeof(err)) < 0 || vg_index_reindex(ix, &added, NULL, NULL) < 0) {
        fprintf(stderr, "bench_record: %s\n", err);
        return 1;
    }
    segments = (uint64_t)added;
    /* bytes and span per camera (every camera records the same stream) */
    acc_t acc = {0, INT64_MAX, 0};
    for (int i = 0; i < n; i++) {
        acc_t a = {0, INT64_MAX, 0};
        vg_index_segments(ix, names[i], 0, 0, count_cb, &a);
        out_bytes += a.bytes;
        if (i == 0)
            acc = a;
    }
    double span = acc.last > acc.first ? (acc.last - acc.first) / 1e6 : 0;
    printf("bench_record: %d camera%s, %s, %.0f s: %" PRIu64 " frames, %" PRIu64 " packets, %" PRIu64
           " dropped, %" PRIu64 " segments\n",
           n, n == 1 ? "" : "s", argv[optind], seconds, frames, packets, dropped, segments);
    printf("  recording CPU: %.3f s = %.4f ms per frame per camera (goal <= 0.1 ms)\n", rec_cpu,
           frames ? rec_cpu * 1e3 / frames : 0);
    printf("  on disk: %.1f MB for %.1f MB of stream (%+.2f%% container), %.0f MB per camera-hour\n", out_bytes / 1e6,
           in_bytes / 1e6, in_bytes ? 100.0 * ((double)out_bytes - in_bytes) / in_bytes : 0,
           span > 0 ? acc.bytes / span * 3600 / 1e6 : 0);
    if (span >= 60) {
        char out[PATH_MAX];
        snprintf(out, sizeof(out), "%s/clip.mp4", dir);
        int64_t t0 = av_gettime_relative();
        vg_clip_info_t info;
        int r = vg_clip_write(ix, names[0], acc.first + 1000000, acc.first + 61000000, out, &info, err, sizeof(err));
        double ms = (av_gettime_relative() - t0) / 1e3;
        if (r < 0)
            printf("  clip: %s\n", err);
        else
            printf("  1-minute clip (%d segments, %" PRIu64 " packets): %.1f ms\n", info.segments, info.packets, ms);
    } else {
        printf("  1-minute clip: not enough footage (%.0f s; run --seconds 65 or more)\n", span);
    }
    vg_index_close(&ix);
    if (dir == tmp) {
        char cmd[PATH_MAX + 16];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
        if (system(cmd) != 0)
            fprintf(stderr, "bench_record: cannot remove %s\n", tmp);
    }
    free(cams);
    free(th);
    return 0;
}
