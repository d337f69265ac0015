/*
 * config_schema.c: the configuration schema, one row per key (see
 * config_priv.h for the row type and config.h for the structs it fills).
 * The walker (config_yaml.c) sets values through it, and docs/config.md
 * (config_doc.c) is printed from the same rows.
 */
#include "daemon/config_priv.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FSIZE(type, field) sizeof(((type *)0)->field)
#define US(x) ((double)(x))
#define SEC 1000000.0

_Static_assert(sizeof(vg_detect_when_t) == sizeof(int), "T_ENUM stores an int");
_Static_assert(sizeof(vg_faces_on_t) == sizeof(int), "T_ENUM stores an int");
_Static_assert(sizeof(vg_correct_mode_t) == sizeof(int), "T_CORRECT stores an int");

static const char *const v_log_level[] = {"error", "warning", "info", "debug", NULL};
static const char *const v_head[] = {"yolov5", "yolov8", "nanodet", "ssd", "centernet", "classifier",
                                     NULL};
static const char *const v_precision[] = {"fp32", "bf16", NULL};
static const char *const v_color[] = {"rgb", "bgr", "gray", NULL};
static const char *const v_transport[] = {"tcp", "udp", NULL};
/* index == vg_detect_when_t */
static const char *const v_when[] = {"always", "on_motion", "never", NULL};
/* index == vg_faces_on_t */
static const char *const v_faces_on[] = {"person", "frame", NULL};
/* index == vg_record_mode_t (capture/recorder.h; runtime.c checks) */
static const char *const v_record_mode[] = {"off", "continuous", "motion", "objects", NULL};
/* index == bit in VG_CORRECT_* */
static const char *const v_correct[] = {"low_light", "dehaze", "denoise", "derain", NULL};

#define D(field) offsetof(vg_config_t, field)
const opt_t vg_cfg_curve_opts[] = {
    {"secret_key_file", T_STRING, D(curve_secret_key_file), 0, 0, "\"\"", 0, 0, NULL, F_EMPTY_NULL, NULL,
     "CURVE (encryption and client keys) on publish and control: vigild's key pair, a file from `vigil keygen` "
     "(keep it secret); \"\" = plain sockets"},
    {"clients", T_STRING, D(curve_clients), 0, 0, "\"\"", 0, 0, NULL, F_EMPTY_NULL, NULL,
     "folder of the client public keys allowed (`NAME.pub` files from `vigil keygen`), re-read at every "
     "connection; a client whose key is not there receives nothing"},
    {.key = NULL}, /* end */
};

const opt_t vg_cfg_daemon_opts[] = {
    {"publish", T_STRING, D(publish), 0, 0, "tcp://127.0.0.1:5555", 0, 0, NULL, F_NONEMPTY | F_ENDPOINT,
     NULL, "ZeroMQ PUB endpoint for every topic (event., det., snap., health., stats): tcp://HOST:PORT "
     "(port 1..65535) or ipc://PATH"},
    {"control", T_STRING, D(control), 0, 0, "tcp://127.0.0.1:5556", 0, 0, NULL, F_ENDPOINT, NULL,
     "ZeroMQ ROUTER endpoint for status and catch-up (\"since\"), like publish and not the same; "
     "\"\" = none"},
    {"workers", T_INT, D(workers), 0, 0, "0", 0, 64, NULL, 0, NULL,
     "analysis worker threads; 0 = one per core"},
    {"state_dir", T_STRING, D(state_dir), 0, 0, "/var/lib/vigil", 0, 0, NULL, F_NONEMPTY, NULL,
     "models, recordings and snapshots live here; relative model paths resolve against it"},
    {"stats_interval", T_DURATION, D(stats_interval_us), 0, 0, "5s", US(100000), US(3600 * SEC), NULL,
     0, NULL, "how often the stats topic is published"},
    {"publish_hwm", T_INT, D(publish_hwm), 0, 0, "1000", 1, 1000000, NULL, 0, NULL,
     "ZeroMQ send high-water mark (messages queued per subscriber before dropping)"},
    {"publish_detections", T_BOOL, D(publish_detections), 0, 0, "true", 0, 0, NULL, 0, NULL,
     "publish `det.<camera>` with every analysed frame's detections"},
    {"inference_batch", T_INT, D(inference_batch), 0, 0, "1", 1, 16, NULL, 0, NULL,
     "frames of different cameras run through a detector together by one inference thread; "
     "1 = each worker runs the detector itself"},
    {"inference_wait", T_DURATION, D(inference_wait_us), 0, 0, "10ms", US(0), US(SEC), NULL, 0, NULL,
     "how long a frame waits for others to fill its batch (inference_batch > 1)"},
    {"http", T_STRING, D(http), 0, 0, "\"\"", 0, 0, NULL, F_LISTEN, NULL,
     "HTTP listener for the web UI, the API (`/api/...`) and Prometheus (`/metrics`), e.g. "
     "127.0.0.1:8080 (a host is required: 0.0.0.0:8080 = every interface); beyond loopback it needs "
     "`http_users`; \"\" = off"},
    {"metrics", T_STRING, D(metrics), 0, 0, "\"\"", 0, 0, NULL, F_LISTEN, NULL,
     "the same listener under its old name (used when `http` is \"\"); \"\" = off"},
    {"web_root", T_STRING, D(web_root), 0, 0, "\"\"", 0, 0, NULL, 0, NULL,
     "folder of the web UI's files; \"\" = the installed share/vigil/web (the source tree's web/ for a "
     "vigild run from its build folder)"},
    {"http_users", T_STRING, D(http_users), 0, 0, "\"\"", 0, 0, NULL, 0, NULL,
     "users file written by `vigil passwd` (name:hash per line); when it names users, every page but "
     "the login needs a session; \"\" = none (loopback only)"},
    {"http_tls_cert", T_STRING, D(http_tls_cert), 0, 0, "\"\"", 0, 0, NULL, 0, NULL,
     "PEM certificate: serve HTTPS (with `http_tls_key`); \"\" = plain HTTP"},
    {"http_tls_key", T_STRING, D(http_tls_key), 0, 0, "\"\"", 0, 0, NULL, 0, NULL,
     "PEM private key of `http_tls_cert`"},
    {"live_fps", T_DOUBLE, D(live_fps), 0, 0, "5", 0.2, 30, NULL, 0, NULL,
     "most frames per second a camera hands to its live views (latest.jpg, live.mjpeg); encoded "
     "only while someone watches"},
    {"catchup_messages", T_INT, D(catchup_messages), 0, 0, "1000", 0, 100000, NULL, 0, NULL,
     "catch-up log: the newest messages of each camera kept for `since <camera> <seq>` on the control "
     "socket (`vigil events --resume`); 0 = none"},
    {"catchup_bytes", T_INT, D(catchup_bytes), 0, 0, "1048576", 0, 67108864, NULL, 0, NULL,
     "catch-up log: at most this many bytes of JSON per camera (held from the camera's first message; "
     "in the memory budget); 0 = none"},
    {"curve", T_SECTION, 0, 0, 0, NULL, 0, 0, NULL, 0, vg_cfg_curve_opts,
     "ZeroMQ CURVE security for publish and control"},
    {"log_level", T_CHOICE, D(log_level), 0, FSIZE(vg_config_t, log_level), "info", 0, 0, v_log_level,
     0, NULL, "messages below this level are not written; a reload applies a change"},
    {.key = NULL}, /* end */
};

#define GIB (1024.0 * 1024 * 1024)
const opt_t vg_cfg_storage_opts[] = {
    {"max_size", T_SIZE, D(storage_max_size), 0, 0, "0", 0, 1024 * 1024 * GIB, NULL, 0, NULL,
     "recordings of every camera together stay under this; the oldest footage goes first, footage of "
     "events last; 0 = no limit"},
    {"min_free", T_SIZE, D(storage_min_free), 0, 0, "1G", 0, 1024 * 1024 * GIB, NULL, 0, NULL,
     "free space kept on the filesystem of daemon.state_dir, the same way; 0 = no limit"},
    {"queue_size", T_SIZE, D(storage_queue_size), 0, 0, "32M", 64 * 1024, 4 * GIB, NULL, 0, NULL,
     "per recording camera: encoded packets waiting for the disk; when full, whole GOPs are dropped "
     "(`recording_behind` on health.<camera>)"},
    {"preroll_size", T_SIZE, D(storage_preroll_size), 0, 0, "16M", 1024 * 1024, 4 * GIB, NULL, 0, NULL,
     "per camera recording in motion or objects mode: the most the pre-roll of encoded packets holds"},
    {"interval", T_DURATION, D(storage_interval_us), 0, 0, "30s", US(SEC), US(3600 * SEC), NULL, 0, NULL,
     "how often retention runs (and at once when a disk fills up)"},
    {.key = NULL}, /* end */
};
#undef D

#define M(field) offsetof(vg_model_config_t, field)
const opt_t vg_cfg_model_opts[] = {
    {"path", T_STRING, M(path), 0, 0, NULL, 0, 0, NULL, F_REQUIRED | F_NONEMPTY, NULL,
     "ONNX file; a relative path is resolved against daemon.state_dir, then the config's folder"},
    {"head", T_CHOICE, M(head), 0, FSIZE(vg_model_config_t, head), NULL, 0, 0, v_head, F_REQUIRED,
     NULL, "how the outputs are decoded"},
    {"input", T_PAIR, M(input_w), M(input_h), 0, NULL, 1, 4096, NULL, F_REQUIRED, NULL,
     "input size [width, height] in pixels"},
    {"labels", T_STRING, M(labels), 0, 0, NULL, 0, 0, NULL, F_EMPTY_NULL, NULL,
     "labels file, one label per line; none = numeric labels"},
    {"threshold", T_DOUBLE, M(threshold), 0, 0, NULL, 0, 1, NULL, F_MODELS_OWN, NULL,
     "lowest score reported; default: the model's manifest (NanoDet 0.35, BlazeFace 0.75), 0.35 without one"},
    {"nms_iou", T_DOUBLE, M(nms_iou), 0, 0, NULL, 0, 1, NULL, F_MODELS_OWN, NULL,
     "boxes overlapping more than this (IoU) are merged by non-maximum suppression; default: the "
     "model's manifest (NanoDet 0.6), 0.45 without one"},
    {"precision", T_CHOICE, M(precision), 0, FSIZE(vg_model_config_t, precision), "fp32", 0, 0,
     v_precision, 0, NULL, "arithmetic; bf16 uses AMX/AVX-512 BF16 where the CPU has them"},
    {"color", T_CHOICE, M(color), 0, FSIZE(vg_model_config_t, color), "rgb", 0, 0, v_color, 0, NULL,
     "channel order (or one gray channel) the model expects"},
    {"mean", T_FLOAT3, M(mean), 0, 0, "[0, 0, 0]", -1e6, 1e6, NULL, 0, NULL,
     "per channel, subtracted after scale: x = pixel * scale - mean; one number = all channels"},
    {"scale", T_FLOAT3, M(scale), 0, 0, "[0.003921569, 0.003921569, 0.003921569]", -1e6, 1e6, NULL, 0,
     NULL, "per channel, multiplied first (1/255 maps 0..255 to 0..1); one number = all channels"},
    {"letterbox", T_BOOL, M(letterbox), 0, 0, "true", 0, 0, NULL, 0, NULL,
     "keep the aspect ratio and pad (true) or stretch to the input size (false)"},
    {.key = NULL}, /* end */
};
#undef M

#define C(field) offsetof(vg_camera_config_t, field)
const opt_t vg_cfg_detect_opts[] = {
    {"model", T_NAME, C(detect_model), 0, FSIZE(vg_camera_config_t, detect_model), "\"\"", 0, 0, NULL,
     0, NULL, "name of a model under models:; \"\" = no CNN detection"},
    {"when", T_ENUM, C(detect_when), 0, 0, "on_motion", 0, 0, v_when, 0, NULL,
     "which analysed frames the detector runs on"},
    {.key = NULL}, /* end */
};

const opt_t vg_cfg_faces_opts[] = {
    {"model", T_NAME, C(faces_model), 0, FSIZE(vg_camera_config_t, faces_model), "\"\"", 0, 0, NULL, 0,
     NULL, "face detector (a model under models:, e.g. BlazeFace); \"\" = no faces"},
    {"expression", T_NAME, C(faces_expression), 0, FSIZE(vg_camera_config_t, faces_expression), "\"\"", 0,
     0, NULL, 0, NULL, "classifier run on each face (e.g. emotion); \"\" = faces only"},
    {"on", T_ENUM, C(faces_on), 0, 0, "person", 0, 0, v_faces_on, 0, NULL,
     "where faces are looked for: the top of person boxes (whole frame without a person detector) or the whole frame"},
    {.key = NULL}, /* end */
};

const opt_t vg_cfg_classify_opts[] = {
    {"model", T_NAME, C(classify_model), 0, FSIZE(vg_camera_config_t, classify_model), "\"\"", 0, 0, NULL, 0,
     NULL, "classifier (head: classifier, e.g. one made by `vigil train classifier`) run on the detector's "
     "boxes; adds attributes {class, class_score} to them; \"\" = none"},
    {"on", T_LABELS, C(classify_on), 0, FSIZE(vg_camera_config_t, classify_on), "[person]", 0, 0, NULL, 0, NULL,
     "the detector's labels whose boxes are classified"},
    {.key = NULL}, /* end */
};

const opt_t vg_cfg_motion_opts[] = {
    {"threshold", T_INT, C(motion_threshold), 0, 0, "25", 1, 255, NULL, 0, NULL,
     "luma difference counted as change"},
    {"min_area", T_DOUBLE, C(motion_min_area), 0, 0, "0.002", 0, 1, NULL, 0, NULL,
     "smallest changed blob that counts as motion, as a fraction of the frame"},
    {"width", T_INT, C(motion_width), 0, 0, "320", 64, 1920, NULL, 0, NULL,
     "width of the downscaled luma the motion gate compares"},
    {.key = NULL}, /* end */
};

const opt_t vg_cfg_record_opts[] = {
    {"mode", T_ENUM, C(record_mode), 0, 0, "off", 0, 0, v_record_mode, 0, NULL,
     "what is recorded (stream copy, never re-encoded): nothing, everything, or footage around motion "
     "or detected objects"},
    {"segment", T_DURATION, C(record_segment_us), 0, 0, "10s", US(SEC), US(600 * SEC), NULL, 0, NULL,
     "length of a recorded segment; cut at the first keyframe after it"},
    {"pre_capture", T_DURATION, C(record_pre_us), 0, 0, "5s", US(0), US(60 * SEC), NULL, 0, NULL,
     "motion/objects: footage kept from before the activity (from the keyframe before it)"},
    {"post_capture", T_DURATION, C(record_post_us), 0, 0, "5s", US(0), US(600 * SEC), NULL, 0, NULL,
     "motion/objects: footage kept after the last activity"},
    {"audio", T_BOOL, C(record_audio), 0, 0, "true", 0, 0, NULL, 0, NULL,
     "record the stream's audio when it has some (and MP4 can hold its codec)"},
    {.key = NULL}, /* end */
};

const opt_t vg_cfg_retain_opts[] = {
    {"continuous", T_DOUBLE, C(retain_continuous), 0, 0, "2", 0, 3650, NULL, 0, NULL,
     "days continuous footage is kept (fractions allowed)"},
    {"motion", T_DOUBLE, C(retain_motion), 0, 0, "7", 0, 3650, NULL, 0, NULL,
     "days footage recorded in motion or objects mode is kept"},
    {"events", T_DOUBLE, C(retain_events), 0, 0, "30", 0, 3650, NULL, 0, NULL,
     "days footage that belongs to an event (its span plus pre/post capture) and the event are kept"},
    {.key = NULL}, /* end */
};

static const opt_t vg_cfg_v4l2_opts[] = {
    {"size", T_PAIR, C(v4l2_width), C(v4l2_height), 0, "[1280, 720]", 16, 8192, NULL, 0, NULL,
     "capture size [width, height] asked of the camera; the closest it offers is taken"},
    {"fps", T_DOUBLE, C(v4l2_fps), 0, 0, "30", 0, 1000, NULL, 0, NULL,
     "capture rate asked of the camera (the closest offered; 0 = the fastest); analysis samples it down"},
    {.key = NULL}, /* end */
};

/* ---- issue 11: tracking, objects, zones, lines, masks, snapshots ---- */
const opt_t vg_cfg_track_opts[] = {
    {"min_hits", T_INT, C(track_min_hits), 0, 0, "3", 1, 100, NULL, 0, NULL,
     "detector frames a new track must be matched in (within confirm_frames) before it can become an event"},
    {"confirm_frames", T_INT, C(track_confirm_frames), 0, 0, "5", 1, 100, NULL, 0, NULL,
     "the first detector frames of a track in which min_hits must fall (>= min_hits), else it was a false positive"},
    {"lost_after", T_DURATION, C(track_lost_after_us), 0, 0, "3s", US(100000), US(3600 * SEC), NULL, 0, NULL,
     "an object unseen this long while the detector ran ends (frames without detection do not count)"},
    {"stationary_lost_after", T_DURATION, C(track_stationary_lost_after_us), 0, 0, "10s", US(100000),
     US(24 * 3600 * SEC), NULL, 0, NULL, "the same for a stationary object (parked cars flicker in and out)"},
    {"stationary_after", T_DURATION, C(track_stationary_after_us), 0, 0, "3s", US(100000), US(3600 * SEC), NULL,
     0, NULL, "an object whose box stays put this long is stationary"},
    {"stationary_iou", T_DOUBLE, C(track_stationary_iou), 0, 0, "0.7", 0.1, 1, NULL, 0, NULL,
     "... staying put means an IoU at least this with its box stationary_after ago"},
    {"low_score", T_DOUBLE, C(track_low_score), 0, 0, "0.1", 0.01, 1, NULL, 0, NULL,
     "detections from this score up to the threshold only continue existing tracks (ByteTrack); the detector keeps boxes down to it"},
    {"match_iou", T_DOUBLE, C(track_match_iou), 0, 0, "0.2", 0.01, 1, NULL, 0, NULL,
     "least IoU between a track's predicted box and a detection to match them"},
    {"update_every", T_DURATION, C(track_update_every_us), 0, 0, "1s", US(0), US(3600 * SEC), NULL, 0, NULL,
     "at most one update per object this often (changes in between go out together)"},
    {.key = NULL}, /* end */
};

const opt_t vg_cfg_snapshot_opts[] = {
    {"enabled", T_BOOL, C(snap_enabled), 0, 0, "false", 0, 0, NULL, 0, NULL,
     "a JPEG of each event's best frame on snap.<camera> and in state_dir/snapshots/<camera>/<event-id>.jpg"},
    {"corrected", T_BOOL, C(snap_corrected), 0, 0, "false", 0, 0, NULL, 0, NULL,
     "from the corrected analysis copy (shows more at night) instead of the decoded picture"},
    {"overlay", T_BOOL, C(snap_overlay), 0, 0, "true", 0, 0, NULL, 0, NULL, "draw the object's box and label"},
    {"crop", T_BOOL, C(snap_crop), 0, 0, "false", 0, 0, NULL, 0, NULL,
     "the object's box with a margin instead of the whole frame"},
    {"height", T_INT, C(snap_height), 0, 0, "0", 0, 4320, NULL, 0, NULL,
     "scale the picture to this height (even; 0 = as decoded)"},
    {"quality", T_INT, C(snap_quality), 0, 0, "80", 10, 100, NULL, 0, NULL, "JPEG quality"},
    {"every", T_DURATION, C(snap_every_us), 0, 0, "1s", US(0), US(3600 * SEC), NULL, 0, NULL,
     "at most one new snapshot per event this often (a better one waits)"},
    {"retain", T_DURATION, C(snap_retain_us), 0, 0, "10d", US(0), US(3650.0 * 86400 * SEC), NULL, 0, NULL,
     "snapshot files older than this are deleted (0s = kept forever)"},
    {.key = NULL}, /* end */
};
/* ---- end of issue 11 ---- */

const opt_t vg_cfg_camera_opts[] = {
    {"url", T_STRING, C(url), 0, 0, NULL, 0, 0, NULL, F_REQUIRED | F_NONEMPTY, NULL,
     "a file path, rtsp://, http(s):// or /dev/videoN"},
    {"realtime", T_BOOL, C(realtime), 0, 0, "true", 0, 0, NULL, 0, NULL,
     "files: pace at the stream's own rate (false = as fast as the machine allows)"},
    {"loop", T_BOOL, C(loop), 0, 0, "false", 0, 0, NULL, 0, NULL, "files: start again at the end"},
    {"analysis_fps", T_DOUBLE, C(analysis_fps), 0, 0, "5", 0.1, 120, NULL, 0, NULL,
     "frames per second sampled for analysis (recording, when on, keeps every frame)"},
    {"decode_threads", T_INT, C(decode_threads), 0, 0, "1", 0, 16, NULL, 0, NULL,
     "libavcodec decoding threads; 0 = auto"},
    {"timeout", T_DURATION, C(timeout_us), 0, 0, "10s", US(100000), US(600 * SEC), NULL, 0, NULL,
     "open and read timeout; a stalled source is reconnected after it"},
    {"rtsp_transport", T_CHOICE, C(rtsp_transport), 0, FSIZE(vg_camera_config_t, rtsp_transport),
     "tcp", 0, 0, v_transport, 0, NULL, "RTSP sources: transport of the media"},
    {"ring_size", T_INT, C(ring_size), 0, 0, "2", 2, 64, NULL, F_POW2, NULL,
     "decoded frames queued between capture and the workers (the newest wins, drops are counted)"},
    {"detect", T_SECTION, 0, 0, 0, NULL, 0, 0, NULL, 0, vg_cfg_detect_opts, "CNN detection"},
    {"faces", T_SECTION, 0, 0, 0, NULL, 0, 0, NULL, 0, vg_cfg_faces_opts, "face -> expression cascade"},
    {"classify", T_SECTION, 0, 0, 0, NULL, 0, 0, NULL, 0, vg_cfg_classify_opts, "classifier on detected boxes"},
    {"correct", T_CORRECT, C(correct_mode), C(correct_mask), 0, "off", 0, 0, v_correct, 0, NULL,
     "image correction on the analysis copy: auto (per scene), off, or a list"},
    {"motion", T_SECTION, 0, 0, 0, NULL, 0, 0, NULL, 0, vg_cfg_motion_opts, "motion gate"},
    {"v4l2", T_SECTION, 0, 0, 0, NULL, 0, 0, NULL, 0, vg_cfg_v4l2_opts,
     "V4L2 cameras (/dev/videoN, /dev/v4l/by-id/...): the mode negotiated, MJPEG preferred, then YUYV"},
    /* issue 11: objects */
    {"track", T_SECTION, 0, 0, 0, NULL, 0, 0, NULL, 0, vg_cfg_track_opts, "the multi-object tracker"},
    {"objects", T_OBJECTS, C(objects), C(n_objects), 0, NULL, 0, 0, NULL, 0, NULL,
     "per label: threshold, min_score, min_area, max_area, min_ratio, max_ratio, mask (see above)"},
    {"zones", T_ZONES, C(zones), C(n_zones), 0, NULL, 0, 0, NULL, 0, NULL,
     "named polygons: points, inertia, loitering_time, labels (see above)"},
    {"required_zones", T_NAMES, 0, 0, 0, NULL, 0, 0, NULL, 0, NULL,
     "events start only for objects that entered one of these zones"},
    {"lines", T_LINES, C(lines), C(n_lines), 0, NULL, 0, 0, NULL, 0, NULL,
     "named lines: points (two), labels; crossings are counted per direction and label"},
    {"motion_mask", T_POLYGONS, C(motion_mask), C(n_motion_mask), VG_MOTION_MASK_MAX, NULL, 0, 0, NULL, 0, NULL,
     "polygons the motion gate ignores (a clock, a flag, trees)"},
    {"snapshots", T_SECTION, 0, 0, 0, NULL, 0, 0, NULL, 0, vg_cfg_snapshot_opts, "event snapshots (JPEG)"},
    {"record", T_SECTION, 0, 0, 0, NULL, 0, 0, NULL, 0, vg_cfg_record_opts,
     "recording under daemon.state_dir/recordings/<camera>/ (files and network streams; not V4L2)"},
    {"retain", T_SECTION, 0, 0, 0, NULL, 0, 0, NULL, 0, vg_cfg_retain_opts, "how long footage is kept"},
    {.key = NULL}, /* end */
};
#undef C

const vg_cfg_table_t vg_cfg_tables[] = {
    {vg_cfg_daemon_opts, "daemon"},          {vg_cfg_curve_opts, "daemon.curve"},
    {vg_cfg_model_opts, "models.NAME"},
    {vg_cfg_camera_opts, "cameras.NAME"},    {vg_cfg_detect_opts, "cameras.NAME.detect"},
    {vg_cfg_faces_opts, "cameras.NAME.faces"}, {vg_cfg_classify_opts, "cameras.NAME.classify"},
    {vg_cfg_motion_opts, "cameras.NAME.motion"},
    {vg_cfg_track_opts, "cameras.NAME.track"}, {vg_cfg_snapshot_opts, "cameras.NAME.snapshots"},
    {vg_cfg_record_opts, "cameras.NAME.record"}, {vg_cfg_retain_opts, "cameras.NAME.retain"},
    {vg_cfg_storage_opts, "storage"},
};
const size_t vg_cfg_n_tables = sizeof vg_cfg_tables / sizeof vg_cfg_tables[0];

bool vg_cfg_valid_name(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n >= VG_CONFIG_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
            return false;
    return true;
}

/* "5s", "100ms", "1h": the largest unit that divides exactly. */
void vg_cfg_fmt_duration(int64_t us, char *buf, size_t len) {
    if (us != 0 && us % 86400000000LL == 0)
        snprintf(buf, len, "%lldd", (long long)(us / 86400000000LL));
    else if (us != 0 && us % 3600000000LL == 0)
        snprintf(buf, len, "%lldh", (long long)(us / 3600000000LL));
    else if (us != 0 && us % 60000000LL == 0)
        snprintf(buf, len, "%lldm", (long long)(us / 60000000LL));
    else if (us % 1000000LL == 0)
        snprintf(buf, len, "%llds", (long long)(us / 1000000LL));
    else if (us % 1000LL == 0)
        snprintf(buf, len, "%lldms", (long long)(us / 1000LL));
    else
        snprintf(buf, len, "%lldus", (long long)us);
}

void vg_cfg_fmt_size(uint64_t b, char *buf, size_t len) {
    static const char units[] = "KMGT";
    int u = -1;
    while (b != 0 && b % 1024 == 0 && u < 3) {
        b /= 1024;
        u++;
    }
    if (u < 0)
        snprintf(buf, len, "%llu", (unsigned long long)b);
    else
        snprintf(buf, len, "%llu%c", (unsigned long long)b, units[u]);
}

int vg_cfg_parse_size(const char *s, uint64_t *ret) {
    char *end;
    if (!s || !*s || *s == '-')
        return -EINVAL;
    double v = strtod(s, &end);
    if (end == s || !(v >= 0))
        return -EINVAL;
    double mul = 1;
    switch (*end) {
    case 'K': mul = 1024.0; end++; break;
    case 'M': mul = 1024.0 * 1024; end++; break;
    case 'G': mul = 1024.0 * 1024 * 1024; end++; break;
    case 'T': mul = 1024.0 * 1024 * 1024 * 1024; end++; break;
    default: break;
    }
    if (*end == 'B' || (*end == 'i' && end[1] == 'B'))
        end += *end == 'B' ? 1 : 2;
    if (*end || v * mul > 1.8e19)
        return -EINVAL;
    *ret = (uint64_t)(v * mul);
    return 0;
}

void vg_cfg_join_values(const char *const *v, const char *sep, char *buf, size_t len) {
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; v[i] && n < len; i++)
        n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? sep : "", v[i]);
}
