/*
 * counters: the per-camera counters, listed once.
 *
 * VG_CAMERA_COUNTERS is the one list. Each row gives a counter's field name,
 * where the runtime reads it (the capture thread's vg_source_stats_t, the
 * analysis' vg_analysis_stats_t, or the camera itself), its place in the
 * `stats` message (docs/events.md), its kind, its Prometheus family and
 * labels, and the Prometheus help text. From it come:
 *  - vg_camera_counters_t, the fields of the snapshot and of the totals
 *    (daemon/runtime.h);
 *  - vg_camera_counter_info[], the table the `stats` JSON, the Prometheus
 *    page (daemon/metrics.c) and the totals walk.
 * Adding a counter is one row here (and its line in docs/events.md).
 *
 * Rows of one Prometheus family follow each other; the family's # HELP is
 * the first row's help. Gauges are not summed into totals. A counter of
 * kind ns is a time in nanoseconds: Prometheus gets seconds.
 *
 * Owns: nothing (types and a constant table).
 * Thread: any; the table is read-only.
 */
#ifndef VG_COUNTERS_H
#define VG_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

/* X(name, from, json section, json key, kind, prometheus family, labels, help)
 * from: VG_FROM_SOURCE(member), VG_FROM_ANALYSIS(member) or
 * VG_FROM_CAMERA(member); the runtime defines these where it reads. */
#define VG_CAMERA_COUNTERS(X)                                                                                   \
    X(packets, VG_FROM_SOURCE(packets), FRAMES, "packets", counter, "vigil_packets_total", NULL,                \
      "Video packets read.")                                                                                    \
    X(decoded, VG_FROM_SOURCE(decoded), FRAMES, "decoded", counter, "vigil_frames_decoded_total", NULL,         \
      "Frames out of the decoder.")                                                                             \
    X(skipped, VG_FROM_SOURCE(skipped), FRAMES, "skipped", counter, "vigil_frames_skipped_total", NULL,         \
      "Decoded frames not sampled (above analysis_fps; by design).")                                            \
    X(queued, VG_FROM_SOURCE(queued), FRAMES, "queued", counter, "vigil_frames_queued_total", NULL,             \
      "Frames handed to the workers.")                                                                          \
    X(analysed, VG_FROM_ANALYSIS(analysed), FRAMES, "analysed", counter, "vigil_frames_analysed_total", NULL,   \
      "Frames the workers analysed.")                                                                           \
    X(motion, VG_FROM_ANALYSIS(motion_frames), FRAMES, "motion", counter, "vigil_frames_motion_total", NULL,    \
      "Analysed frames with motion.")                                                                           \
    X(decode_errors, VG_FROM_SOURCE(decode_errors), TOP, "decode_errors", counter, "vigil_decode_errors_total", \
      NULL, "Packets the decoder refused plus frames flagged corrupt.")                                        \
    X(analysis_errors, VG_FROM_ANALYSIS(errors), TOP, "analysis_errors", counter,                               \
      "vigil_analysis_errors_total", NULL, "Frames the analysis could not handle.")                             \
    X(dropped_ring, VG_FROM_SOURCE(dropped_ring), DROPPED, "ring", counter, "vigil_dropped_total",              \
      "stage=\"ring\",reason=\"workers_behind\"",                                                               \
      "Losses by stage and reason: frames (ring, pool, shutdown) or messages (publish).")                       \
    X(dropped_pool, VG_FROM_SOURCE(dropped_pool), DROPPED, "pool", counter, "vigil_dropped_total",              \
      "stage=\"pool\",reason=\"no_free_frame\"", "Frames dropped for want of a free frame buffer.")             \
    X(dropped_publish, VG_FROM_CAMERA(dropped_publish), DROPPED, "publish", counter, "vigil_dropped_total",     \
      "stage=\"publish\",reason=\"queue_full\"",                                                                   \
      "Messages not published: the publisher queue was full, or the message could not be built.")             \
    X(dropped_shutdown, VG_FROM_CAMERA(dropped_shutdown), DROPPED, "shutdown", counter, "vigil_dropped_total",  \
      "stage=\"shutdown\",reason=\"stopped\"", "Frames still queued when the camera stopped.")                  \
    X(detect_frames, VG_FROM_ANALYSIS(detect_frames), DETECT, "frames", counter, "vigil_frames_detected_total", \
      NULL, "Frames the detector ran on.")                                                                      \
    X(detections, VG_FROM_ANALYSIS(detections), DETECT, "objects", counter, "vigil_detections_total", NULL,     \
      "Objects the detector found.")                                                                            \
    X(detect_errors, VG_FROM_ANALYSIS(detect_errors), DETECT, "errors", counter, "vigil_detect_errors_total",   \
      NULL, "Detector runs that failed.")                                                                       \
    X(detect_dropped, VG_FROM_ANALYSIS(detect_dropped), DETECT, "dropped", counter,                             \
      "vigil_detect_dropped_total", NULL, "Frames that went without detection: every inference slot was taken.") \
    X(dropped_record, VG_FROM_RECORDER(dropped_packets), DROPPED, "record", counter, "vigil_dropped_total",      \
      "stage=\"record\",reason=\"disk_behind\"",                                                             \
      "Encoded packets (not frames) the recorder dropped, whole GOPs at a time: the disk was behind.")          \
    X(record_gops_dropped, VG_FROM_RECORDER(dropped_gops), RECORD, "gops_dropped", counter,                     \
      "vigil_record_gops_dropped_total", NULL, "GOPs the recorder dropped because the disk was behind.")         \
    X(record_packets, VG_FROM_RECORDER(written), RECORD, "packets", counter, "vigil_record_packets_total", NULL, \
      "Encoded packets written to recorded segments.")                                                          \
    X(record_segments, VG_FROM_RECORDER(segments), RECORD, "segments", counter, "vigil_record_segments_total", \
      NULL, "Recorded segments closed.")                                                                        \
    X(record_bytes, VG_FROM_RECORDER(bytes), RECORD, "bytes", counter, "vigil_record_bytes_total", NULL,        \
      "Bytes of recorded segments closed.")                                                                     \
    X(record_write_errors, VG_FROM_RECORDER(write_errors), RECORD, "write_errors", counter,                     \
      "vigil_record_write_errors_total", NULL, "Segments ended by a write error (a full disk).")                \
    X(record_restarts, VG_FROM_RECORDER(restarts), RECORD, "writer_restarts", counter,                          \
      "vigil_record_writer_restarts_total", NULL, "Stalled recording writers replaced.")                         \
    X(events, VG_FROM_ANALYSIS(events), TAIL, "events", counter, "vigil_events_total", NULL, "Events started.") \
    X(snapshots, VG_FROM_ANALYSIS(snapshots), TAIL, "snapshots", counter, "vigil_snapshots_total", NULL,       \
      "Event snapshots encoded and published.")                                                               \
    X(snapshot_errors, VG_FROM_ANALYSIS(snapshot_errors), TAIL, "snapshot_errors", counter,                   \
      "vigil_snapshot_errors_total", NULL, "Snapshot files that could not be written.")                       \
    X(reconnects, VG_FROM_SOURCE(reconnects), TAIL, "reconnects", counter, "vigil_reconnects_total", NULL,      \
      "Reopen attempts after a failure or stall.")                                                              \
    X(ring_fill, VG_FROM_CAMERA(ring_fill), TAIL, "ring_fill", gauge, "vigil_ring_fill", NULL,                  \
      "Frames waiting in the camera's ring.")                                                                   \
    X(analyse_ns, VG_FROM_ANALYSIS(analyse_ns), NONE, NULL, ns, "vigil_analysis_seconds_total", NULL,           \
      "Time spent analysing frames (motion, corrections, detection).")                                          \
    X(detect_ns, VG_FROM_ANALYSIS(detect_ns), NONE, NULL, ns, "vigil_detect_seconds_total", NULL,               \
      "Time spent in correction + detection.")                                                                  \
    X(detect_wait_ns, VG_FROM_ANALYSIS(detect_wait_ns), NONE, NULL, ns, "vigil_detect_wait_seconds_total", NULL,\
      "Time frames waited for the model's inference thread (queue and run), while workers served others.")

/* Where a counter sits in the `stats` message (see emit_stats). */
typedef enum {
    VG_COUNTER_JSON_NONE,    /* not written as such (a time, written as a mean) */
    VG_COUNTER_JSON_FRAMES,  /* in "frames": {...} */
    VG_COUNTER_JSON_TOP,     /* top level, after "frames" */
    VG_COUNTER_JSON_DROPPED, /* in "dropped": {...} */
    VG_COUNTER_JSON_DETECT,  /* in "detect": {...}, after "model" */
    VG_COUNTER_JSON_TAIL,    /* top level, after "detect" */
    VG_COUNTER_JSON_RECORD,  /* in "record": {...}, after the tail (cameras that record) */
} vg_counter_json_t;

typedef enum {
    VG_COUNTER_KIND_counter, /* only grows (until the camera restarts) */
    VG_COUNTER_KIND_gauge,   /* a reading now; not summed into totals */
    VG_COUNTER_KIND_ns,      /* a counter of nanoseconds */
} vg_counter_kind_t;

#define VG_COUNTER_FIELD_(name, ...) uint64_t name;
/* The counters' fields. runtime.h puts them in its structs twice over (as
 * .counters and by name) through VG_CAMERA_COUNTER_FIELDS. */
typedef struct {
    VG_CAMERA_COUNTERS(VG_COUNTER_FIELD_)
} vg_camera_counters_t;
#define VG_CAMERA_COUNTER_FIELDS                                                                                \
    union {                                                                                                     \
        vg_camera_counters_t counters;                                                                          \
        struct {                                                                                                \
            VG_CAMERA_COUNTERS(VG_COUNTER_FIELD_)                                                               \
        };                                                                                                      \
    }

typedef struct {
    const char *name;       /* the field */
    size_t offset;          /* of the field in vg_camera_counters_t */
    vg_counter_json_t json; /* where it goes in `stats` */
    const char *json_key;
    vg_counter_kind_t kind;
    const char *prom_family;
    const char *prom_labels; /* beside camera="..."; NULL = none */
    const char *help;
} vg_counter_info_t;

/* One row per counter, in VG_CAMERA_COUNTERS order. */
extern const vg_counter_info_t vg_camera_counter_info[];
extern const int vg_camera_counter_count;

/* Counter i of c. Thread: any. */
static inline uint64_t vg_camera_counter_get(const vg_camera_counters_t *c, int i)
{
    return *(const uint64_t *)((const char *)c + vg_camera_counter_info[i].offset);
}

/* Adds every counter of c to sum (gauges are left alone). Thread: any. */
void vg_camera_counters_add(vg_camera_counters_t *sum, const vg_camera_counters_t *c);

#endif
