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
    return vg_detector_new_batch(&dc, onnx, labels_path, batch, 1, ret, err, errlen);
}
