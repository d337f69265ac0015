/*
 * recorder: one camera's footage on disk, by stream copy (never re-encoded).
 * The capture thread hands the camera's encoded packets (video, and audio
 * when the stream has it) to vg_recorder_packet; a writer thread puts them
 * into MP4 segments of cfg.segment_us, cut at video keyframes, under
 *   cfg.dir/<camera>/YYYY-MM-DD/HH/<YYYYMMDDTHHMMSS.mmmZ>-<mode>.mp4
 * (UTC start time). A segment being written is named ....mp4.part and is a
 * fragmented MP4 (one fragment per GOP), so a crash leaves a playable file
 * that vg_storage finds at the next start; a closed one is renamed to .mp4
 * and reported through cfg.on_segment.
 *
 * The capture thread never waits on the disk: packets go by reference
 * (av_packet_ref, no copy of the data) into a bounded queue (packets and
 * bytes). When the queue is full the recorder drops packets until the next
 * video keyframe finds room again, so whole GOPs go (counted: dropped
 * packets, dropped GOPs, stats.behind while it lasts); the writer then closes
 * its segment and starts the next one at that keyframe.
 *
 * Modes: continuous records everything; motion and objects record while
 * vg_recorder_activity reports activity of that kind, from pre_capture_us
 * before it (a pre-roll ring of encoded packets that starts at a keyframe,
 * bounded in seconds and bytes) until post_capture_us after the last one.
 *
 * Timestamps stay monotonic within a segment whatever the camera sends: a
 * packet that goes back in time or jumps forward more than 10 s is moved to
 * follow its predecessor. A disconnected camera (vg_recorder_stream_end)
 * closes its segment; the next starts at the first keyframe after
 * vg_recorder_stream_begin.
 *
 * A write error (a full disk) closes the segment, raises stats.disk_full and
 * drops packets for a second; recording then resumes at a keyframe.
 * A writer that closes no segment for 3 x segment_us while one is open is
 * stalled: vg_recorder_check (main thread) abandons it (it ends on its own
 * when its blocked call returns, without touching the recorder) and starts
 * another on the same queue.
 *
 * Owns: the queue, the writer thread, the open segment, the pre-roll.
 * Thread: new/free/check from the main thread; stream_begin/packet/
 * stream_end from the capture thread (one producer); activity from any
 * thread (the camera's current worker). cfg.on_segment runs on the writer.
 * Blocks on: nothing for the capture thread (a mutex held for a few
 * instructions by the writer's pop); the writer blocks on the disk.
 * Logs: nothing; the state is in vg_recorder_stats.
 */
#ifndef VG_RECORDER_H
#define VG_RECORDER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libavcodec/packet.h>
#include <libavformat/avformat.h>

typedef enum {
    VG_RECORD_OFF = 0,
    VG_RECORD_CONTINUOUS,
    VG_RECORD_MOTION,
    VG_RECORD_OBJECTS,
} vg_record_mode_t;

/* "off", "continuous", "motion", "objects". Thread: any. */
const char *vg_record_mode_name(vg_record_mode_t m);

enum {
    VG_ACTIVITY_MOTION = 1u << 0,  /* the motion gate saw motion */
    VG_ACTIVITY_OBJECTS = 1u << 1, /* the detector found objects */
};

/* A closed segment (cfg.on_segment). Strings borrowed for the call. */
typedef struct {
    const char *camera;
    const char *path;        /* final path (.mp4) */
    int64_t start_us, end_us; /* UTC microseconds; end = start + duration */
    uint64_t bytes;
    vg_record_mode_t mode;   /* the mode it was recorded in */
    bool has_motion, has_objects;
    bool has_audio;
} vg_record_segment_t;

typedef struct {
    const char *camera;        /* copied */
    const char *dir;           /* copied: state_dir/recordings */
    vg_record_mode_t mode;     /* not OFF */
    int64_t segment_us;        /* default 10 s */
    int64_t pre_capture_us;    /* motion/objects: footage kept before activity */
    int64_t post_capture_us;   /* motion/objects: footage kept after it */
    int queue_packets;         /* bounded queue; 0 = queue_bytes / 8 KiB, 64..8192 */
    size_t queue_bytes;        /* 0 = 64 MiB */
    size_t preroll_bytes;      /* pre-roll cap; 0 = 32 MiB */
    bool audio;                /* keep the audio stream when the stream has one */
    int64_t debug_write_delay_us; /* test hook: the writer sleeps this long per packet (a slow disk) */
    void (*on_segment)(void *opaque, const vg_record_segment_t *seg); /* writer thread; must not block long */
    void *opaque;
} vg_recorder_config_t;

/* Counters and states: writers are the capture thread (queued, dropped_*,
 * behind), the writer thread (the rest) and the main thread (restarts);
 * relaxed atomics (statistics), read by anyone. */
typedef struct {
    _Atomic uint64_t queued;          /* packets taken into the queue */
    _Atomic uint64_t written;         /* packets written to segments */
    _Atomic uint64_t bytes;           /* bytes of closed segments */
    _Atomic uint64_t segments;        /* segments closed */
    _Atomic uint64_t dropped_packets; /* packets dropped: the disk was behind */
    _Atomic uint64_t dropped_gops;    /* GOPs they belonged to */
    _Atomic uint64_t dropped_errors;  /* packets dropped after a write error */
    _Atomic uint64_t write_errors;    /* segments ended by a write error */
    _Atomic uint64_t restarts;        /* stalled writers replaced */
    _Atomic uint64_t preroll_bytes;   /* bytes held in the pre-roll now (gauge) */
    _Atomic int behind;               /* 1 while dropping for a full queue */
    _Atomic int disk_full;            /* 1 after ENOSPC, EDQUOT or EFBIG until a segment closes again */
    _Atomic int recording;            /* 1 while a segment is open */
    _Atomic int64_t last_close_us;    /* CLOCK_MONOTONIC of the last close or idle moment */
} vg_recorder_stats_t;

typedef struct vg_recorder vg_recorder_t;

/* Starts the writer thread. cfg is copied (strings too). Returns 0 and *ret,
 * or a negative errno (-EINVAL for a bad cfg). Thread: main. */
int vg_recorder_new(const vg_recorder_config_t *cfg, vg_recorder_t **ret);

/* A stream (re)opened: its video stream and, when cfg.audio, its audio stream
 * (NULL = none). The parameters are copied. Returns 0 or -ENOMEM.
 * Thread: capture. */
int vg_recorder_stream_begin(vg_recorder_t *rec, const AVStream *video, const AVStream *audio);

/* A packet of the video or audio stream given to stream_begin (told apart by
 * pkt->stream_index), borrowed for the call. Never blocks. Thread: capture. */
void vg_recorder_packet(vg_recorder_t *rec, const AVPacket *pkt);

/* The stream ended or the camera disconnected: the segment closes. Thread:
 * capture. */
void vg_recorder_stream_end(vg_recorder_t *rec);

/* Activity of kinds (VG_ACTIVITY_*) in the frame captured at wall_us (UTC
 * microseconds). Thread: any (relaxed stores; the writer reads them). */
void vg_recorder_activity(vg_recorder_t *rec, unsigned kinds, int64_t wall_us);

/* Stall check: when a segment has been open for 3 x segment_us without one
 * closing, the writer is abandoned and another started. Returns 1 when it
 * restarted one, 0 when all is well, a negative errno when the new thread
 * could not start. Thread: main. */
int vg_recorder_check(vg_recorder_t *rec, int64_t now_mono_us);

/* The counters, valid until vg_recorder_free. Thread: any (relaxed loads). */
const vg_recorder_stats_t *vg_recorder_stats(const vg_recorder_t *rec);

/* Bytes the queue and the pre-roll may hold at most (the memory budget).
 * Thread: any. */
size_t vg_recorder_memory_max(const vg_recorder_config_t *cfg);

/* Closes the open segment (the writer writes what is queued first), stops
 * and frees. Accepts NULL; sets *rec = NULL. Thread: main, after the capture
 * thread has stopped calling it. */
void vg_recorder_free(vg_recorder_t **rec);

/* Parses a segment's file name ("20261208T033012.345Z-continuous.mp4", or
 * .mp4.part): its UTC start and mode. Returns 0 or -EINVAL. Thread: any. */
int vg_record_parse_name(const char *name, int64_t *ret_start_us, vg_record_mode_t *ret_mode);

#endif
