/*
 * model_map: the daemon's side of loading a model: maps a `models.X` entry of
 * the config into the detector's own config (pipeline/detect.h), and knows
 * where installed labels live. The pipeline owns its types; the daemon maps.
 * Thread: any (pure functions over their arguments).
 */
#ifndef VG_MODEL_MAP_H
#define VG_MODEL_MAP_H

#include "daemon/config.h"
#include "pipeline/detect.h"

/* Folders searched for a manifest's labels file after the model's own
 * (NULL-terminated): the installed labels, then the source tree's. */
extern const char *const vg_model_labels_dirs[];

/* Fills ret from the config's model entry. Thread: any. */
void vg_model_detector_config(const vg_model_config_t *mc, vg_detector_config_t *ret);

#endif
