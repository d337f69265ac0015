/*
 * config: vigil's YAML configuration, parsed once into a validated,
 * read-only struct.
 *
 * Owns: the vg_config_t tree and every string in it.
 * Thread: the main thread parses and frees; once returned, a config is never
 * edited, so any thread may read it. A reload parses a new config and the
 * main thread swaps it in; the old one is freed only after every thread that
 * read it has let go (the daemon's reload path guarantees this).
 * Blocks on: reading the file.
 *
 * The schema is a table (config_schema.c) of { key, type, offset, default, min, max }
 * in the nginx manner. Errors name "file:line: key: what is wrong", e.g.
 *   etc/vigil.yaml:14: cameras.entrance.analysis_fps: 0 is out of range 0.1..120
 * docs/config.md lists every key; it is printed by vg_config_dump_schema().
 */
#ifndef VG_CONFIG_H
#define VG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pipeline/correct/mode.h" /* vg_correct_mode_t, VG_CORRECT_* (owned by pipeline/correct) */
#include "pipeline/detect_when.h"  /* vg_detect_when_t (owned by pipeline/analysis) */
#include "pipeline/zones.h"        /* zones, lines, masks, per-label filters (owned by pipeline/events) */

#define VG_CONFIG_MAX_CAMERAS 64
#define VG_CONFIG_MAX_MODELS 16
#define VG_CONFIG_NAME_MAX 64    /* camera and model names: [A-Za-z0-9_-]+ */
#define VG_CONFIG_ERROR_MAX 512

typedef enum {
    VG_FACES_ON_PERSON = 0, /* faces looked for on person boxes of the camera's detector (default) */
    VG_FACES_ON_FRAME,      /* faces looked for in the whole analysed frame */
} vg_faces_on_t;

/* vg_model_config_t.given: the key was written in the file. A written
 * value that contradicts the model's manifest is an error (pipeline/detect.h);
 * a default gives way to the manifest. */
enum {
    VG_MODEL_GIVEN_HEAD = 1u << 0,
    VG_MODEL_GIVEN_INPUT = 1u << 1,
    VG_MODEL_GIVEN_COLOR = 1u << 2,
    VG_MODEL_GIVEN_MEAN = 1u << 3,
    VG_MODEL_GIVEN_SCALE = 1u << 4,
    VG_MODEL_GIVEN_LETTERBOX = 1u << 5,
};

typedef struct {
    char name[VG_CONFIG_NAME_MAX]; /* map key under models: */
    char *path;                    /* ONNX file; relative paths are resolved against
                                      daemon.state_dir, then the config's folder */
    char head[16];                 /* yolov5 | yolov8 | nanodet | ssd | centernet | classifier */
    int input_w, input_h;          /* input: [w, h] */
    char *labels;                  /* labels file, one per line; NULL = none */
    double threshold;              /* score threshold, 0..1; -1 = the model's (manifest, else 0.35) */
    double nms_iou;                /* NMS IoU, 0..1; -1 = the model's (manifest, else 0.45) */
    char precision[8];             /* fp32 | bf16 */
    char color[8];                 /* rgb | bgr | gray, default rgb */
    float mean[3];                 /* subtracted after scale, default 0 */
    float scale[3];                /* multiplied first, default 1/255 */
    bool letterbox;                /* letterbox (true) or stretch (false), default true */
    unsigned given;                /* VG_MODEL_GIVEN_*: keys written in the file (not defaulted) */
    int line;                      /* where it was declared, for later errors */
    int line_path, line_head, line_input; /* where these keys were written, 0 = not written */
    int line_color, line_mean, line_scale, line_letterbox;
} vg_model_config_t;

typedef struct {
    char name[VG_CONFIG_NAME_MAX]; /* map key under cameras:; topic suffix */
    char *url;                     /* file path, rtsp://, http(s)://, /dev/videoN */
    bool realtime;                 /* files: pace at the stream's rate; default true */
    bool loop;                     /* files: start again at the end; default false */
    double analysis_fps;           /* frames per second analysed; default 5, 0.1..120 */
    int decode_threads;            /* libavcodec threads; default 1, 0 = auto, max 16 */
    int64_t timeout_us;            /* open/read timeout (AVIOInterruptCB); default 10s */
    char rtsp_transport[8];        /* tcp | udp; default tcp */
    int ring_size;                 /* frames queued between capture and workers;
                                      default 4, power of two 2..64 */
    /* detect: { model: NAME, when: always|on_motion|never } */
    char detect_model[VG_CONFIG_NAME_MAX]; /* "" = no CNN detection */
    vg_detect_when_t detect_when;
    /* faces: { model: NAME, expression: NAME, on: person|frame } (pipeline/cascade) */
    char faces_model[VG_CONFIG_NAME_MAX];      /* face detector; "" = no faces (default) */
    char faces_expression[VG_CONFIG_NAME_MAX]; /* classifier run on each face; "" = none */
    vg_faces_on_t faces_on;
    /* classify: { model: NAME, on: [labels] } a classifier on the detector's boxes (pipeline/cascade) */
    char classify_model[VG_CONFIG_NAME_MAX]; /* "" = none (default) */
    char classify_on[256];                   /* the labels whose boxes it sees, "person,car"; default person */
    vg_correct_mode_t correct_mode;
    uint32_t correct_mask; /* VG_CORRECT_* when correct_mode == LIST */
    /* motion: { threshold, min_area, width } */
    int motion_threshold;  /* luma difference 1..255 counted as change; default 25 */
    double motion_min_area; /* smallest blob as a fraction of the frame; default 0.002 */
    int motion_width;      /* width of the downscaled luma; default 320, 64..1920 */
    /* v4l2: { size: [w, h], fps } the capture mode asked of a V4L2 camera */
    int v4l2_width, v4l2_height; /* default 1280x720, 16..8192 */
    double v4l2_fps;       /* default 30, 0..1000 (0 = the fastest offered) */
    /* track: { min_hits, confirm_frames, lost_after, ... } (pipeline/track) */
    int track_min_hits, track_confirm_frames;
    int64_t track_lost_after_us, track_stationary_lost_after_us, track_stationary_after_us;
    int64_t track_update_every_us; /* at most one update per object this often */
    double track_low_score, track_match_iou, track_stationary_iou;
    /* objects:, zones:, required_zones:, lines:, motion_mask: (pipeline/zones.h) */
    int n_objects;
    vg_object_filter_t objects[VG_OBJECTS_MAX];
    int n_zones;           /* zones[i].required set by required_zones: */
    vg_zone_t zones[VG_ZONES_MAX];
    int n_lines;
    vg_line_t lines[VG_LINES_MAX];
    int n_motion_mask;
    vg_polygon_t motion_mask[VG_MOTION_MASK_MAX];
    /* snapshots: { enabled, corrected, overlay, crop, height, quality, every, retain } */
    bool snap_enabled, snap_corrected, snap_overlay, snap_crop;
    int snap_height, snap_quality;
    int64_t snap_every_us, snap_retain_us;
    /* record: { mode, segment, pre_capture, post_capture, audio } (capture/recorder.h) */
    int record_mode;             /* vg_record_mode_t: off | continuous | motion | objects; default off */
    int64_t record_segment_us;   /* segment length, cut at keyframes; default 10s */
    int64_t record_pre_us;       /* motion/objects: footage before activity; default 5s */
    int64_t record_post_us;      /* motion/objects: footage after it; default 5s */
    bool record_audio;           /* keep the stream's audio; default true */
    /* retain: { continuous, motion, events } in days (storage/storage.h) */
    double retain_continuous, retain_motion, retain_events;
    int line;              /* where it was declared */
} vg_camera_config_t;

typedef struct {
    char *path; /* the file this came from, for messages */

    /* daemon: */
    char *publish;            /* PUB endpoint, default tcp://127.0.0.1:5555 */
    char *control;            /* ROUTER endpoint, default tcp://127.0.0.1:5556; "" = none */
    int workers;              /* 0 = one per core; max 64 */
    char *state_dir;          /* default /var/lib/vigil */
    int64_t stats_interval_us; /* default 5s, 100ms..1h */
    int publish_hwm;          /* ZeroMQ send high-water mark, messages; default 1000 */
    int inference_batch;      /* frames per detector run across cameras; default 1, 1..16 */
    int64_t inference_wait_us; /* wait for a batch to fill; default 10ms, 0..1s */
    bool publish_detections;  /* publish det.<camera> per analysed frame; default true */
    char *http;               /* web UI + API + /metrics HOST:PORT (tcp:// or http:// allowed); "" = off */
    char *metrics;            /* old name of http, used when http is ""; "" = off */
    char *web_root;           /* web UI files; "" = installed share/vigil/web (source web/ in the tree) */
    char *http_users;         /* users file (vigil passwd); "" = none */
    char *http_tls_cert, *http_tls_key; /* PEM files; "" = plain HTTP */
    double live_fps;          /* live view frames per second at most; default 5 */
    char log_level[8];        /* error | warning | info | debug; default info */
    /* curve: { secret_key_file, clients }: CURVE on the PUB and control sockets */
    char *curve_secret_key_file; /* our key pair (vigil keygen); NULL = no CURVE (default) */
    char *curve_clients;         /* folder of the client public keys allowed; NULL = none */
    int catchup_messages;     /* catch-up log per camera, messages; default 1000, 0 = none */
    int catchup_bytes;        /* ... and bytes of JSON; default 1 MiB, 0 = none */
    int line_publish, line_control, line_metrics, line_http; /* where written, 0 = default */
    int line_curve, line_curve_clients; /* daemon.curve.secret_key_file, .clients */

    /* storage: (storage/storage.h) */
    uint64_t storage_max_size;   /* bytes of recordings; 0 = no limit */
    uint64_t storage_min_free;   /* bytes kept free on the filesystem; 0 = no limit */
    uint64_t storage_queue_size; /* per camera: packets queued for the writer, bytes */
    uint64_t storage_preroll_size; /* per camera: pre-roll of motion/objects modes, bytes */
    int64_t storage_interval_us; /* retention pass period */

    int n_models;
    vg_model_config_t models[VG_CONFIG_MAX_MODELS];
    int n_cameras;
    vg_camera_config_t cameras[VG_CONFIG_MAX_CAMERAS];
} vg_config_t;

/*
 * Parse and validate a YAML file.
 * Returns 0 and *ret_config (caller frees with vg_config_free) on success.
 * On failure returns a negative errno (-ENOENT for a missing file, -EFBIG over
 * 1 MiB, -EINVAL for a syntax or schema error, -ENOMEM) and writes one line
 * "file:line: key: what is wrong" (or "file: strerror" when the file cannot be
 * read) into err (size errlen, truncated to fit; err may be NULL);
 * *ret_config is left untouched. The first error stops the parse.
 * YAML anchors and merge keys (<<: *anchor) are understood.
 * Thread: any; touches no shared state.
 */
int vg_config_load(const char *path, char *err, size_t errlen, vg_config_t **ret_config);

/* Same as vg_config_load on an in-memory document of len bytes (need not be
 * NUL-terminated); `name` stands in for the file name in messages and in
 * cfg->path (relative model paths resolve against its folder). Thread: any. */
int vg_config_parse(const char *name, const char *text, size_t len, char *err, size_t errlen,
                    vg_config_t **ret_config);

/* Frees a config; accepts NULL and *config == NULL; sets *config = NULL.
 * Thread: the one that owns it, once no thread reads it. */
void vg_config_free(vg_config_t **config);

/* A config with every default and no cameras (for tools that build one in code,
 * e.g. `vigil replay FILE` without --config). Caller frees. Returns -ENOMEM.
 * Thread: any. */
int vg_config_new_default(vg_config_t **ret_config);

/* Adds a camera with defaults to cfg (tools). Returns the new camera or NULL
 * when the table is full, name is invalid or already used. url is copied.
 * Thread: the one building cfg, before any other thread reads it. */
vg_camera_config_t *vg_config_add_camera(vg_config_t *cfg, const char *name, const char *url);

/* True when two camera configs would run identically (reload keeps the camera
 * running when this is true). Compares every field but `line`; the model named
 * by detect_model is compared by name only (see vg_model_config_equal).
 * Thread: any. */
bool vg_camera_config_equal(const vg_camera_config_t *a, const vg_camera_config_t *b);

/* True when two model configs would load and decode identically (reload
 * reloads a model, and restarts the cameras using it, when this is false).
 * Paths compare as written: a changed daemon.state_dir, which moves relative
 * paths, is for the caller to compare. Thread: any. */
bool vg_model_config_equal(const vg_model_config_t *a, const vg_model_config_t *b);

/* Looks up a model by name; NULL when absent. Thread: any. */
const vg_model_config_t *vg_config_find_model(const vg_config_t *cfg, const char *name);

/* Looks up a camera by name; NULL when absent (reload matches old and new
 * cameras by name). Thread: any. */
const vg_camera_config_t *vg_config_find_camera(const vg_config_t *cfg, const char *name);

/* Resolves a path from the config (model path, labels) the documented way: an
 * absolute path as is; a relative one against daemon.state_dir, then against
 * the folder of the config file (cfg->path). Writes the first readable
 * candidate into buf (size len) and returns 0; when none is readable returns
 * -ENOENT (or access()'s error for an absolute path) with buf holding the first
 * candidate, for the message. -ENAMETOOLONG when buf is too small, -EINVAL on
 * an empty path. Thread: any; blocks on access(2). */
int vg_config_resolve_path(const vg_config_t *cfg, const char *path, char *buf, size_t len);

/* Parses a duration with a unit ("500ms", "5s", "2m", "1h", "250us"); a bare
 * number is refused. Returns 0 and *ret_us, -EINVAL when it is not a
 * duration, -ERANGE when it is one too long to hold (99999999999999h).
 * Thread: any. */
int vg_config_parse_duration(const char *text, int64_t *ret_us);

/* Checks a ZeroMQ endpoint's syntax as vigild binds it: tcp://HOST:PORT
 * with PORT 1..65535 (HOST an address, a name or *), or ipc://PATH.
 * Returns 0, or -EINVAL with why (one line, e.g. "port 99999 is out of
 * range 1..65535") in buf. Thread: any. */
int vg_config_check_endpoint(const char *endpoint, char *buf, size_t len);

/* Writes the configuration reference (docs/config.md, Markdown) generated from
 * the schema table: every key, type, default, range and meaning.
 * Returns 0, or -EIO when writing to out failed. Thread: any. */
int vg_config_dump_schema(FILE *out);

#endif
