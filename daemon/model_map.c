/* model_map.c: see model_map.h. */
#include "daemon/model_map.h"

#include <stdio.h>
#include <string.h>

const char *const vg_model_labels_dirs[] = {VIGIL_LABELS_DIR, VIGIL_SOURCE_DIR "/models/labels", NULL};

void vg_model_detector_config(const vg_model_config_t *mc, vg_detector_config_t *ret)
{
    memset(ret, 0, sizeof(*ret));
    snprintf(ret->name, sizeof(ret->name), "%s", mc->name);
    snprintf(ret->head, sizeof(ret->head), "%s", mc->head);
    ret->input_w = mc->input_w;
    ret->input_h = mc->input_h;
    ret->threshold = mc->threshold;
    ret->nms_iou = mc->nms_iou;
    snprintf(ret->precision, sizeof(ret->precision), "%s", mc->precision);
    snprintf(ret->color, sizeof(ret->color), "%s", mc->color);
    memcpy(ret->mean, mc->mean, sizeof(ret->mean));
    memcpy(ret->scale, mc->scale, sizeof(ret->scale));
    ret->letterbox = mc->letterbox;
    /* head and input are required keys: always given in a config, so checked
     * against a manifest (`vigil detect` leaves them empty for a model named
     * by its file, which the manifest describes). color, mean, scale and
     * letterbox are checked only when written out (mc->given, set by the
     * config parser); their defaults give way to the manifest. */
    static const struct { unsigned model, detector; } map[] = {
        {VG_MODEL_GIVEN_COLOR, VG_DETECTOR_GIVEN_COLOR},
        {VG_MODEL_GIVEN_MEAN, VG_DETECTOR_GIVEN_MEAN},
        {VG_MODEL_GIVEN_SCALE, VG_DETECTOR_GIVEN_SCALE},
        {VG_MODEL_GIVEN_LETTERBOX, VG_DETECTOR_GIVEN_LETTERBOX},
    };
    ret->given = (mc->head[0] ? VG_DETECTOR_GIVEN_HEAD : 0) | (mc->input_w > 0 ? VG_DETECTOR_GIVEN_INPUT : 0);
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (mc->given & map[i].model)
            ret->given |= map[i].detector;
}

double vg_model_low_score(const vg_config_t *cfg, const char *name)
{
    double low = 0;
    for (int i = 0; i < cfg->n_cameras; i++) {
        const vg_camera_config_t *c = &cfg->cameras[i];
        if (strcmp(c->detect_model, name) == 0 && c->detect_when != VG_DETECT_NEVER &&
            (low == 0 || c->track_low_score < low))
            low = c->track_low_score;
    }
    return low;
}

int vg_model_load(const vg_config_t *cfg, const vg_model_config_t *mc, int batch, vg_detector_t **ret, char *err,
                  size_t errlen)
{
    char onnx[4096], labels[4096];
    int r = vg_config_resolve_path(cfg, mc->path, onnx, sizeof(onnx));
    if (r < 0) {
        snprintf(err, errlen, "model '%s': cannot read '%.300s': %s", mc->name, onnx, strerror(-r));
        return r;
    }
    const char *labels_path = NULL;
    if (mc->labels) {
        r = vg_config_resolve_path(cfg, mc->labels, labels, sizeof(labels));
        if (r < 0) {
            snprintf(err, errlen, "model '%s': cannot read labels '%.300s': %s", mc->name, labels, strerror(-r));
            return r;
        }
        labels_path = labels;
    } else if (vg_detector_find_labels(onnx, vg_model_labels_dirs, labels, sizeof(labels))) {
        labels_path = labels;
    }
    vg_detector_config_t dc;
    vg_model_detector_config(mc, &dc);
    dc.low_score = vg_model_low_score(cfg, mc->name);
    return vg_detector_new_batch(&dc, onnx, labels_path, batch, 1, ret, err, errlen);
}

void vg_camera_analysis_config(const vg_config_t *cfg, const vg_camera_config_t *cc, vg_analysis_config_t *ret)
{
    ret->camera = cc->name;
    ret->motion = (vg_motion_config_t){.threshold = cc->motion_threshold, .min_area = cc->motion_min_area,
                                       .width = cc->motion_width, .mask = cc->motion_mask,
                                       .n_mask = cc->n_motion_mask};
    ret->detect_when = cc->detect_when;
    ret->correct_mode = cc->correct_mode;
    ret->correct_mask = cc->correct_mask;
    vg_track_config_default(&ret->track);
    ret->track.min_hits = cc->track_min_hits;
    ret->track.confirm_frames = cc->track_confirm_frames;
    ret->track.lost_after = cc->track_lost_after_us / 1e6;
    ret->track.stationary_lost_after = cc->track_stationary_lost_after_us / 1e6;
    ret->track.stationary_after = cc->track_stationary_after_us / 1e6;
    ret->track.stationary_iou = (float)cc->track_stationary_iou;
    ret->track.low_score = (float)cc->track_low_score;
    ret->track.match_iou = (float)cc->track_match_iou;
    ret->update_every_s = cc->track_update_every_us / 1e6;
    ret->objects = cc->objects;
    ret->n_objects = cc->n_objects;
    ret->zones = cc->zones;
    ret->n_zones = cc->n_zones;
    ret->lines = cc->lines;
    ret->n_lines = cc->n_lines;
    vg_snapshot_config_t *sc = &ret->snapshots;
    memset(sc, 0, sizeof(*sc));
    sc->enabled = cc->snap_enabled;
    sc->corrected = cc->snap_corrected;
    sc->overlay = cc->snap_overlay;
    sc->crop = cc->snap_crop;
    sc->height = cc->snap_height;
    sc->quality = cc->snap_quality;
    sc->every_s = cc->snap_every_us / 1e6;
    if (cc->snap_enabled && cfg->state_dir)
        snprintf(sc->dir, sizeof(sc->dir), "%s/snapshots/%s", cfg->state_dir, cc->name);
}
