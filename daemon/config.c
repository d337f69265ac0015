/*
 * config.c: the config API (see config.h): defaults, loading a file,
 * freeing, equality for reload, lookups and model paths. The schema is in
 * config_schema.c, the YAML walker in config_yaml.c, the docs in
 * config_doc.c.
 */
#include "daemon/config_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int vg_config_new_default(vg_config_t **ret_config) {
    vg_config_t *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return -ENOMEM;
    int r = vg_cfg_apply_defaults(vg_cfg_daemon_opts, cfg);
    if (r >= 0)
        r = vg_cfg_apply_defaults(vg_cfg_storage_opts, cfg);
    if (r < 0) {
        vg_config_free(&cfg);
        return r;
    }
    *ret_config = cfg;
    return 0;
}

#define CONFIG_FILE_MAX (1 << 20) /* 64 commented cameras take ~20 KB */

int vg_config_load(const char *path, char *err, size_t errlen, vg_config_t **ret_config) {
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int r;
    if (!f) {
        r = -errno;
        goto fail_errno;
    }
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            char *nb = realloc(buf, cap);
            if (!nb) {
                r = -ENOMEM;
                goto fail_errno;
            }
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (len > CONFIG_FILE_MAX) {
            r = -EFBIG;
            goto fail_errno;
        }
        if (got == 0) {
            if (ferror(f)) {
                r = errno ? -errno : -EIO;
                goto fail_errno;
            }
            break;
        }
    }
    fclose(f);
    r = vg_config_parse(path, buf, len, err, errlen, ret_config);
    free(buf);
    return r;
fail_errno:
    if (err && errlen)
        snprintf(err, errlen, "%s: %s", path, strerror(-r));
    if (f)
        fclose(f);
    free(buf);
    return r;
}

void vg_config_free(vg_config_t **config) {
    if (!config || !*config)
        return;
    vg_config_t *cfg = *config;
    /* Every slot, not just n_*: a half-built config may have a slot in flight. */
    for (int i = 0; i < VG_CONFIG_MAX_MODELS; i++) {
        free(cfg->models[i].path);
        free(cfg->models[i].labels);
    }
    for (int i = 0; i < VG_CONFIG_MAX_CAMERAS; i++)
        free(cfg->cameras[i].url);
    free(cfg->path);
    free(cfg->publish);
    free(cfg->control);
    free(cfg->metrics);
    free(cfg->http);
    free(cfg->web_root);
    free(cfg->http_users);
    free(cfg->http_tls_cert);
    free(cfg->http_tls_key);
    free(cfg->curve_secret_key_file);
    free(cfg->curve_clients);
    free(cfg->state_dir);
    free(cfg);
    *config = NULL;
}

vg_camera_config_t *vg_config_add_camera(vg_config_t *cfg, const char *name, const char *url) {
    if (!cfg || !name || !url || !vg_cfg_valid_name(name) || cfg->n_cameras >= VG_CONFIG_MAX_CAMERAS ||
        vg_config_find_camera(cfg, name))
        return NULL;
    vg_camera_config_t *cam = &cfg->cameras[cfg->n_cameras];
    /* the slot may hold a camera a tool dropped by lowering n_cameras
     * (vigil replay --config keeps the daemon settings, not the cameras) */
    free(cam->url);
    memset(cam, 0, sizeof *cam);
    if (vg_cfg_apply_defaults(vg_cfg_camera_opts, cam) < 0 || !(cam->url = strdup(url))) {
        free(cam->url);
        memset(cam, 0, sizeof *cam);
        return NULL;
    }
    snprintf(cam->name, sizeof cam->name, "%s", name);
    cfg->n_cameras++;
    return cam;
}

static bool str_eq(const char *a, const char *b) {
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

/* track:, objects:, zones:, lines:, motion_mask:, snapshots: (plain values,
 * zero-filled before the parse, so the used entries compare bytewise) */
static bool objects_config_equal(const vg_camera_config_t *a, const vg_camera_config_t *b) {
    return a->track_min_hits == b->track_min_hits && a->track_confirm_frames == b->track_confirm_frames &&
           a->track_lost_after_us == b->track_lost_after_us &&
           a->track_stationary_lost_after_us == b->track_stationary_lost_after_us &&
           a->track_stationary_after_us == b->track_stationary_after_us &&
           a->track_update_every_us == b->track_update_every_us && a->track_low_score == b->track_low_score &&
           a->track_match_iou == b->track_match_iou && a->track_stationary_iou == b->track_stationary_iou &&
           a->n_objects == b->n_objects && !memcmp(a->objects, b->objects, sizeof(a->objects[0]) * (size_t)a->n_objects) &&
           a->n_zones == b->n_zones && !memcmp(a->zones, b->zones, sizeof(a->zones[0]) * (size_t)a->n_zones) &&
           a->n_lines == b->n_lines && !memcmp(a->lines, b->lines, sizeof(a->lines[0]) * (size_t)a->n_lines) &&
           a->n_motion_mask == b->n_motion_mask &&
           !memcmp(a->motion_mask, b->motion_mask, sizeof(a->motion_mask[0]) * (size_t)a->n_motion_mask) &&
           a->snap_enabled == b->snap_enabled && a->snap_corrected == b->snap_corrected &&
           a->snap_overlay == b->snap_overlay && a->snap_crop == b->snap_crop && a->snap_height == b->snap_height &&
           a->snap_quality == b->snap_quality && a->snap_every_us == b->snap_every_us &&
           a->snap_retain_us == b->snap_retain_us;
}

bool vg_camera_config_equal(const vg_camera_config_t *a, const vg_camera_config_t *b) {
    /* Field by field, not memcmp: url is a pointer and `line` moves when a
     * comment is added above the camera, which must not restart it. */
    return strcmp(a->name, b->name) == 0 && str_eq(a->url, b->url) && a->realtime == b->realtime &&
           a->loop == b->loop && a->analysis_fps == b->analysis_fps &&
           a->decode_threads == b->decode_threads && a->timeout_us == b->timeout_us &&
           strcmp(a->rtsp_transport, b->rtsp_transport) == 0 && a->ring_size == b->ring_size &&
           strcmp(a->detect_model, b->detect_model) == 0 && a->detect_when == b->detect_when &&
           strcmp(a->faces_model, b->faces_model) == 0 &&
           strcmp(a->faces_expression, b->faces_expression) == 0 && a->faces_on == b->faces_on &&
           strcmp(a->classify_model, b->classify_model) == 0 && strcmp(a->classify_on, b->classify_on) == 0 &&
           a->correct_mode == b->correct_mode && a->correct_mask == b->correct_mask &&
           a->motion_threshold == b->motion_threshold &&
           a->motion_min_area == b->motion_min_area && a->motion_width == b->motion_width &&
           a->v4l2_width == b->v4l2_width && a->v4l2_height == b->v4l2_height && a->v4l2_fps == b->v4l2_fps &&
           objects_config_equal(a, b) &&
           a->record_mode == b->record_mode && a->record_segment_us == b->record_segment_us &&
           a->record_pre_us == b->record_pre_us && a->record_post_us == b->record_post_us &&
           a->record_audio == b->record_audio && a->retain_continuous == b->retain_continuous &&
           a->retain_motion == b->retain_motion && a->retain_events == b->retain_events;
}

bool vg_model_config_equal(const vg_model_config_t *a, const vg_model_config_t *b) {
    return strcmp(a->name, b->name) == 0 && str_eq(a->path, b->path) &&
           strcmp(a->head, b->head) == 0 && a->input_w == b->input_w && a->input_h == b->input_h &&
           str_eq(a->labels, b->labels) && a->threshold == b->threshold &&
           a->nms_iou == b->nms_iou && strcmp(a->precision, b->precision) == 0 &&
           strcmp(a->color, b->color) == 0 && memcmp(a->mean, b->mean, sizeof a->mean) == 0 &&
           memcmp(a->scale, b->scale, sizeof a->scale) == 0 && a->letterbox == b->letterbox &&
           a->given == b->given; /* a value written out is checked against the manifest */
}

const vg_model_config_t *vg_config_find_model(const vg_config_t *cfg, const char *name) {
    if (!cfg || !name)
        return NULL;
    for (int i = 0; i < cfg->n_models; i++)
        if (strcmp(cfg->models[i].name, name) == 0)
            return &cfg->models[i];
    return NULL;
}

const vg_camera_config_t *vg_config_find_camera(const vg_config_t *cfg, const char *name) {
    if (!cfg || !name)
        return NULL;
    for (int i = 0; i < cfg->n_cameras; i++)
        if (strcmp(cfg->cameras[i].name, name) == 0)
            return &cfg->cameras[i];
    return NULL;
}

int vg_config_resolve_path(const vg_config_t *cfg, const char *path, char *buf, size_t len) {
    if (!cfg || !path || !*path || !buf || len == 0)
        return -EINVAL;
    if (path[0] == '/') {
        if ((size_t)snprintf(buf, len, "%s", path) >= len)
            return -ENAMETOOLONG;
        return access(buf, R_OK) == 0 ? 0 : -errno;
    }
    /* Candidates in order: state_dir, then the config file's folder. */
    char dir[4096] = "";
    const char *slash = cfg->path ? strrchr(cfg->path, '/') : NULL;
    if (slash)
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - cfg->path), cfg->path);
    else if (cfg->path)
        snprintf(dir, sizeof dir, ".");
    const char *bases[2] = {cfg->state_dir, cfg->path ? (slash == cfg->path ? "" : dir) : NULL};
    int first = -1;
    for (int i = 0; i < 2; i++) {
        if (!bases[i] || (i == 0 && !*bases[i]))
            continue;
        char cand[4096];
        if ((size_t)snprintf(cand, sizeof cand, "%s/%s", bases[i], path) >= sizeof cand)
            continue;
        if (first < 0) {
            first = i;
            if ((size_t)snprintf(buf, len, "%s", cand) >= len)
                return -ENAMETOOLONG;
        }
        if (access(cand, R_OK) == 0) {
            if ((size_t)snprintf(buf, len, "%s", cand) >= len)
                return -ENAMETOOLONG;
            return 0;
        }
    }
    return -ENOENT;
}


int vg_config_check_endpoint(const char *endpoint, char *buf, size_t len) {
    if (!strncmp(endpoint, "ipc://", 6)) {
        if (!endpoint[6]) {
            snprintf(buf, len, "'%s' has no path: expected ipc:///run/vigil/events", endpoint);
            return -EINVAL;
        }
        return 0;
    }
    if (strncmp(endpoint, "tcp://", 6) != 0) {
        snprintf(buf, len, "'%s' is not a ZeroMQ endpoint vigild can bind: expected tcp://127.0.0.1:5555 or "
                 "ipc:///run/vigil/events", endpoint);
        return -EINVAL;
    }
    const char *hp = endpoint + 6, *colon = strrchr(hp, ':');
    if (!colon || colon == hp) {
        snprintf(buf, len, "'%s' needs HOST:PORT, e.g. tcp://127.0.0.1:5555", endpoint);
        return -EINVAL;
    }
    const char *port = colon + 1;
    if (!*port || strspn(port, "0123456789") != strlen(port) || strlen(port) > 9) {
        snprintf(buf, len, "'%s': the port must be a number 1..65535", endpoint);
        return -EINVAL;
    }
    long p = strtol(port, NULL, 10);
    if (p < 1 || p > 65535) {
        /* ZeroMQ would bind a random port for some of these and say nothing */
        snprintf(buf, len, "'%s': port %ld is out of range 1..65535", endpoint, p);
        return -EINVAL;
    }
    return 0;
}
