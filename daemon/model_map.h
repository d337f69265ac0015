/*
 * model_map: the daemon's side of loading a model: maps a `models.X` entry of
 * the config into the detector's own config (pipeline/detect.h), knows
 * where installed labels live, and loads a model the one way vigild,
 * `vigil replay` and `vigil detect` all do (vg_model_load). The pipeline owns
 * its types; the daemon maps.
 * Thread: any (pure functions over their arguments), vg_model_load: main.
 */
#ifndef VG_MODEL_MAP_H
#define VG_MODEL_MAP_H

#include <stddef.h>

#include "daemon/config.h"
#include "pipeline/analysis.h"
#include "pipeline/detect.h"

/* Folders searched for a manifest's labels file after the model's own
 * (NULL-terminated): the installed labels, then the source tree's. */
extern const char *const vg_model_labels_dirs[];

/* Fills ret from the config's model entry. Thread: any. */
void vg_model_detector_config(const vg_model_config_t *mc, vg_detector_config_t *ret);

/* The score down to which the model keeps boxes (vg_detector_config_t
 * low_score): the lowest track.low_score of the cameras that run it as
 * their detector, 0 (its threshold) when none does. Thread: any. */
double vg_model_low_score(const vg_config_t *cfg, const char *name);

/* Loads mc (a model of cfg) as a detector with an engine planned for `batch`
 * images per run (1..16) and one oneDNN thread (DESIGN §9): the ONNX file
 * and labels resolved against cfg (daemon.state_dir, then the config's
 * folder), the labels file found through the model's manifest when the
 * config names none. Returns 0 and *ret (the caller frees it or hands it to
 * an inference actor), or a negative errno with one line in err naming the
 * model and the cause ("model 'detector': cannot read '/x.onnx': ...");
 * *ret is untouched on failure. Thread: main; blocks on reading the model. */
int vg_model_load(const vg_config_t *cfg, const vg_model_config_t *mc, int batch, vg_detector_t **ret, char *err,
                  size_t errlen);

/* Fills the camera's part of an analysis config from cc (motion and its
 * mask, tracker, objects, zones, lines, snapshots with their folder
 * state_dir/snapshots/<camera>, update rate). The pointers in ret point
 * into cc: it must outlive the analysis' vg_analysis_new (which copies).
 * The detector, cascade, actor, callbacks and emitters are the caller's.
 * vigild, `vigil replay` and `vigil detect` map a camera through this one
 * function. Thread: any. */
void vg_camera_analysis_config(const vg_config_t *cfg, const vg_camera_config_t *cc, vg_analysis_config_t *ret);

#endif
