/*
 * manifest: the JSON file that scripts/fetch-models.sh writes beside each
 * converted model (models/convert/tfjs2onnx.py --manifest), read into what
 * the daemon needs to feed the model and decode it: input size, layout,
 * colour, mean/scale, letterbox or stretch, labels file, and a ready
 * vg_head_config_t (anchors generated for BlazeFace). Also reads labels files.
 *
 * Owns: the manifest struct and its anchors; the labels and their strings.
 * Thread: any (start-up and reload); no shared state.
 * Blocks on: reading the file.
 */
#ifndef VG_MANIFEST_H
#define VG_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>

#include "models/heads/heads.h"

#define VG_MANIFEST_MAX_OUTPUTS VG_HEAD_MAX_OUTPUTS

typedef struct {
    char name[64];
    char onnx[256];     /* model file name, relative to the manifest's folder */
    char labels[256];   /* labels file name, relative to the manifest's folder (fetch-models.sh
                           copies models/labels/ there), "" = none */
    char head_name[16]; /* as written: nanodet | blazeface | classifier | ... */
    int input_w, input_h, channels;
    bool nchw;          /* tensor layout NCHW (else NHWC) */
    char color[8];      /* rgb | bgr | gray */
    float gray_weights[3]; /* r, g, b when color is gray */
    float mean[3], scale[3]; /* tensor = (pixel - mean) * scale, pixels 0..255 */
    bool letterbox;     /* letterbox (else stretch) */
    float pad;          /* letterbox border pixel value, 0..255 (manifest 'pad', default 0) */
    int n_outputs;
    char output_names[VG_MANIFEST_MAX_OUTPUTS][64]; /* in the order the head reads them */
    int output_ndim[VG_MANIFEST_MAX_OUTPUTS];
    int output_dims[VG_MANIFEST_MAX_OUTPUTS][4];
    vg_head_config_t head;      /* for vg_head_new(); head.anchors points into anchors */
    vg_head_anchor_t *anchors;  /* owned; NULL unless the head uses anchors */
} vg_manifest_t;

/*
 * Reads a manifest. Returns 0 and *ret (free with vg_manifest_free);
 * -ENOENT/-EACCES when the file cannot be read, -EINVAL when it is not a
 * manifest vigil understands (err says which key, errlen bytes), -ENOMEM.
 * *ret is untouched on failure. Thread: any.
 */
int vg_manifest_load(const char *path, vg_manifest_t **ret, char *err, size_t errlen);

/* Frees a manifest; accepts NULL and *p == NULL; sets *p = NULL. */
void vg_manifest_free(vg_manifest_t **p);

typedef struct {
    int n;         /* number of labels */
    char **names;  /* n strings */
} vg_labels_t;

/*
 * Reads a labels file: one label per line, line N = class N; trailing
 * whitespace and a final empty line are ignored. Returns 0 and *ret (free
 * with vg_labels_free), -ENOENT etc., -EINVAL for an empty file, -ENOMEM.
 */
int vg_labels_load(const char *path, vg_labels_t **ret);
void vg_labels_free(vg_labels_t **p);

#endif
