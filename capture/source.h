/*
 * source: one camera's capture thread. It opens a URL with libavformat (a
 * file, rtsp://, http(s)://, or anything else libavformat reads), decodes the
 * best video stream with libavcodec, samples the decoded frames down to the
 * analysis rate, and pushes them into the camera's ring. Files and streams
 * are read through capture/reader.h, which also converts pictures the
 * workers cannot read (4:2:2, 4:4:4, grey, 10-bit) to YUV 4:2:0. A V4L2 camera
 * (/dev/videoN, /dev/v4l/by-id/...) is read through capture/v4l2.h instead of
 * libavformat; it is live and reconnects like a network stream (unplug,
 * replug, or missing at start).
 *
 * Live sources (network streams, and files with realtime=true, which are
 * paced at the stream's own rate) never wait for the workers: when the ring is
 * full the oldest frame is evicted and counted as dropped. Files with
 * realtime=false wait for ring space (and a free pool frame) instead, so a
 * replay loses nothing and runs as fast as the pipeline takes frames; they
 * are woken by the workers' pop and put when the ring and pool have waiting
 * enabled (vg_ring_enable_wait, vg_frame_pool_enable_wait), else they poll
 * every 5 ms.
 *
 * Network sources that fail, stall or end are reopened with capped exponential
 * backoff and jitter; files end (or loop). Every state change is reported
 * through the health callback.
 *
 * Owns: the capture thread and its reader (capture/reader.h: the demuxer and
 * the decoder) or V4L2 device.
 * Thread: vg_source_new/stop/free from the main thread; callbacks run on the
 * capture thread.
 * Blocks on: network and file I/O (bounded by timeout_us through
 * AVIOInterruptCB), realtime pacing and backoff sleeps (woken by stop).
 */
#ifndef VG_SOURCE_H
#define VG_SOURCE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "capture/recorder.h"
#include "pipeline/frame.h"
#include "pipeline/ring.h"

typedef enum {
    VG_SOURCE_CONNECTING,   /* opening the URL */
    VG_SOURCE_STREAMING,    /* decoding frames */
    VG_SOURCE_STALLED,      /* no data for timeout_us: closed, will reopen */
    VG_SOURCE_RECONNECTING, /* failed or stalled; will reopen after a backoff */
    VG_SOURCE_EOF,          /* a file ended (and does not loop) */
    VG_SOURCE_FAILED,       /* gave up: a file that cannot be opened or decoded */
    VG_SOURCE_STOPPED,      /* stop was requested */
} vg_source_state_t;

const char *vg_source_state_name(vg_source_state_t s);

/* Counters, written by the capture thread (relaxed atomics: statistics), read
 * by anyone. */
typedef struct {
    _Atomic uint64_t packets;        /* video packets read */
    _Atomic uint64_t decoded;        /* frames out of the decoder */
    _Atomic uint64_t decode_errors;  /* packets the decoder refused + corrupt frames */
    _Atomic uint64_t skipped;        /* decoded frames not sampled (above analysis_fps);
                                        V4L2: captured frames skipped before decoding */
    _Atomic uint64_t queued;         /* frames pushed to the ring */
    _Atomic uint64_t dropped_ring;   /* frames evicted from a full ring (live sources) */
    _Atomic uint64_t dropped_pool;   /* frames dropped because no pool frame was free */
    _Atomic uint64_t reconnects;     /* reopen attempts after a failure */
    _Atomic int width, height;       /* current decoded size */
    _Atomic int state;               /* vg_source_state_t */
} vg_source_stats_t;

typedef struct {
    const char *name;       /* camera name, for messages; borrowed */
    const char *url;        /* borrowed for the source's life */
    bool realtime;          /* files: pace at the stream's rate */
    double speed;           /* realtime files: times the stream's rate; 0 = 1 */
    bool loop;              /* files: seek to the start at the end */
    double analysis_fps;    /* > 0 */
    int decode_threads;     /* 0 = libavcodec decides */
    int64_t timeout_us;     /* per blocking I/O operation */
    const char *rtsp_transport; /* "tcp" or "udp" */
    int64_t backoff_min_us, backoff_max_us; /* reconnect backoff, e.g. 500ms..30s */
    /* V4L2 cameras: the mode asked for (capture/v4l2.h picks the closest the
     * camera offers); 0 = VG_V4L2_DEFAULT_* (1280x720, 30 fps). */
    int v4l2_width, v4l2_height;
    double v4l2_fps;

    /* borrowed; NULL = no recording. Files and streams hand it their encoded
     * packets (video, and audio when it keeps audio) and stream begin/end;
     * V4L2 cameras are not recorded. */
    vg_recorder_t *recorder;

    vg_ring_t *ring;        /* borrowed: frames go here */
    vg_frame_pool_t *pool;  /* borrowed: frames come from here */
    /* Called after each push (wake the workers). */
    void (*notify)(void *opaque);
    /* Called on every state change with a reason ("" when none). */
    void (*health)(void *opaque, vg_source_state_t state, const char *reason);
    void *opaque;
} vg_source_config_t;

typedef struct vg_source vg_source_t;

/* Starts the capture thread. cfg is copied (its strings are borrowed).
 * Returns 0 or a negative errno (thread creation). Opening happens on the
 * thread, so a bad URL is reported through health, not here. */
int vg_source_new(const vg_source_config_t *cfg, vg_source_t **ret);

/* Asks the thread to stop: wakes pacing/backoff sleeps and interrupts I/O. */
void vg_source_stop(vg_source_t *src);

/* True once the thread has finished (EOF, FAILED or STOPPED). */
bool vg_source_done(const vg_source_t *src);

/* An fd that becomes readable when the thread finishes (for poll). */
int vg_source_done_fd(const vg_source_t *src);

const vg_source_stats_t *vg_source_stats(const vg_source_t *src);

/* Stops, joins and frees. Frames the thread held go back to the pool; frames
 * in the ring stay there (the workers or vg_workers_remove take them).
 * Accepts NULL. */
void vg_source_free(vg_source_t **src);

/* True when the URL names a network stream or a V4L2 device: a live source
 * that reconnects instead of ending. */
bool vg_source_url_is_network(const char *url);

#endif
