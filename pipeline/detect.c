/* detect.c: see detect.h. */
#include "pipeline/detect.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "models/engine/engine.h"
#include "models/heads/manifest.h"
#include "pipeline/correct/tensor_prep.h"

struct vg_detector {
    char name[64];
    vg_engine_t *engine;
    vg_head_t *head;
    vg_labels_t *labels;
    vg_tensor_prep_t *prep;
    vg_tensor_prep_config_t prep_cfg;    /* for the preparers of other threads */
    int in_w, in_h;
    int n_outs;
    int out_index[VG_HEAD_MAX_OUTPUTS];  /* engine output feeding head input i */
    vg_head_tensor_t outs[VG_HEAD_MAX_OUTPUTS];
    int batch;                           /* images per engine run */
    float threshold;                     /* the head's score threshold */
    int classes;                         /* labels the head scores */
    size_t in_item;                      /* input floats per image */
    size_t out_item[VG_HEAD_MAX_OUTPUTS];/* output floats per image, per head input */
};

/* The manifest beside the model: x.onnx -> x.json. */
static void manifest_path(const char *onnx, char *buf, size_t len)
{
    snprintf(buf, len, "%s", onnx);
    char *dot = strrchr(buf, '.');
    if (dot && strcmp(dot, ".onnx") == 0)
        snprintf(dot, len - (size_t)(dot - buf), ".json");
    else
        snprintf(buf, len, "%s.json", onnx);
}

static vg_tensor_color_t color_of(const char *c)
{
    if (strcmp(c, "bgr") == 0)
        return VG_TENSOR_BGR;
    if (strcmp(c, "gray") == 0)
        return VG_TENSOR_GRAY;
    return VG_TENSOR_RGB;
}

static bool floats_differ(const float *a, const float *b, int n)
{
    for (int i = 0; i < n; i++)
        if (fabsf(a[i] - b[i]) > 1e-6f * (fabsf(a[i]) + fabsf(b[i]) + 1e-6f))
            return true;
    return false;
}

/* A field the config gave on purpose must agree with the manifest: the
 * model was converted for the manifest's preprocessing, so a different one
 * would run it wrong without a word. Mean/scale compare in the config's
 * convention (x = pixel * scale - mean). */
static int check_given(const vg_detector_config_t *m, const vg_manifest_t *mf, const char *mpath, char *err,
                       size_t errlen)
{
    int n = snprintf(err, errlen, "model '%s': ", m->name);
    if (n < 0 || (size_t)n >= errlen)
        n = 0;
    err += n;
    errlen -= (size_t)n;
    vg_head_kind_t kind;
    if ((m->given & VG_DETECTOR_GIVEN_HEAD) &&
        (vg_head_kind_parse(m->head, &kind) < 0 || kind != mf->head.kind)) {
        snprintf(err, errlen, "head: '%s', but the manifest '%s' says '%s'; remove the key or make it agree",
                 m->head, mpath, mf->head_name);
        return -EINVAL;
    }
    if ((m->given & VG_DETECTOR_GIVEN_INPUT) && (m->input_w != mf->input_w || m->input_h != mf->input_h)) {
        snprintf(err, errlen, "input: [%d, %d], but the manifest '%s' says [%d, %d]; remove the key or make it agree",
                 m->input_w, m->input_h, mpath, mf->input_w, mf->input_h);
        return -EINVAL;
    }
    if ((m->given & VG_DETECTOR_GIVEN_COLOR) && strcmp(m->color[0] ? m->color : "rgb", mf->color) != 0) {
        snprintf(err, errlen, "color: '%s', but the manifest '%s' says '%s'; remove the key or make it agree",
                 m->color, mpath, mf->color);
        return -EINVAL;
    }
    float scale[3], mean[3];
    for (int c = 0; c < 3; c++) {
        scale[c] = mf->scale[c];
        mean[c] = mf->mean[c] * mf->scale[c]; /* (p - mean) * scale = p * scale - mean * scale */
    }
    if ((m->given & VG_DETECTOR_GIVEN_SCALE) && floats_differ(m->scale, scale, 3)) {
        snprintf(err, errlen, "scale: [%g, %g, %g], but the manifest '%s' says [%g, %g, %g]; remove the key or make "
                 "it agree", m->scale[0], m->scale[1], m->scale[2], mpath, scale[0], scale[1], scale[2]);
        return -EINVAL;
    }
    if ((m->given & VG_DETECTOR_GIVEN_MEAN) && floats_differ(m->mean, mean, 3)) {
        snprintf(err, errlen, "mean: [%g, %g, %g], but the manifest '%s' says [%g, %g, %g]; remove the key or make "
                 "it agree", m->mean[0], m->mean[1], m->mean[2], mpath, mean[0], mean[1], mean[2]);
        return -EINVAL;
    }
    if ((m->given & VG_DETECTOR_GIVEN_LETTERBOX) && m->letterbox != mf->letterbox) {
        snprintf(err, errlen, "letterbox: %s, but the manifest '%s' says %s; remove the key or make it agree",
                 m->letterbox ? "true" : "false", mpath, mf->letterbox ? "true" : "false");
        return -EINVAL;
    }
    return 0;
}

int vg_detector_new(const vg_detector_config_t *m, const char *onnx_path, const char *labels_path,
                    vg_detector_t **ret, char *err, size_t errlen)
{
    return vg_detector_new_batch(m, onnx_path, labels_path, 1, 1, ret, err, errlen);
}

int vg_detector_new_batch(const vg_detector_config_t *m, const char *onnx_path, const char *labels_path, int batch,
                          int threads, vg_detector_t **ret, char *err, size_t errlen)
{
    if (batch < 1 || batch > VG_DETECT_MAX_BATCH || threads < 1 || threads > 64)
        return -EINVAL;
    vg_detector_t *d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    snprintf(d->name, sizeof(d->name), "%s", m->name);
    vg_manifest_t *mf = NULL;
    char why[512] = "";
    int r;
    d->batch = batch;
    vg_engine_options_t eo = {.threads = threads, .batch = batch, .precision = m->precision[0] ? m->precision : "fp32"};
    r = vg_engine_load(onnx_path, &eo, &d->engine, why, sizeof(why));
    if (r < 0) {
        snprintf(err, errlen, "model '%s': cannot load '%s': %s", m->name, onnx_path, why);
        goto fail;
    }
    if (labels_path && (r = vg_labels_load(labels_path, &d->labels)) < 0) {
        snprintf(err, errlen, "model '%s': cannot read labels '%s': %s", m->name, labels_path, strerror(-r));
        goto fail;
    }
    char mpath[4096];
    manifest_path(onnx_path, mpath, sizeof(mpath));
    vg_head_config_t hc;
    vg_tensor_prep_config_t pc = {.layout = VG_TENSOR_NCHW, .fit = m->letterbox ? VG_TENSOR_LETTERBOX : VG_TENSOR_STRETCH};
    r = vg_manifest_load(mpath, &mf, why, sizeof(why));
    if (r == 0 && (r = check_given(m, mf, mpath, err, errlen)) < 0)
        goto fail;
    if (r == 0) {
        hc = mf->head;
        pc.width = mf->input_w;
        pc.height = mf->input_h;
        pc.layout = mf->nchw ? VG_TENSOR_NCHW : VG_TENSOR_NHWC;
        pc.color = color_of(mf->color);
        pc.fit = mf->letterbox ? VG_TENSOR_LETTERBOX : VG_TENSOR_STRETCH;
        memcpy(pc.mean, mf->mean, sizeof(pc.mean));
        memcpy(pc.scale, mf->scale, sizeof(pc.scale));
    } else if (r == -ENOENT) {
        memset(&hc, 0, sizeof(hc));
        vg_head_kind_t kind;
        if (vg_head_kind_parse(m->head, &kind) < 0) {
            snprintf(err, errlen, "model '%s': unknown head '%s'", m->name, m->head);
            r = -EINVAL;
            goto fail;
        }
        hc.kind = kind;
        hc.input_w = m->input_w;
        hc.input_h = m->input_h;
        hc.num_classes = d->labels ? d->labels->n : 0;
        pc.width = m->input_w;
        pc.height = m->input_h;
        pc.color = color_of(m->color);
        /* config: x = pixel * scale - mean; tensor_prep: (pixel - mean) * scale */
        for (int c = 0; c < 3; c++) {
            pc.scale[c] = m->scale[c];
            pc.mean[c] = m->scale[c] != 0 ? m->mean[c] / m->scale[c] : 0;
        }
    } else {
        snprintf(err, errlen, "model '%s': manifest '%s': %s", m->name, mpath, why);
        goto fail;
    }
    /* the config's thresholds win over the manifest's; a model described by
     * the config alone gets the usual detector values */
    if (m->threshold >= 0)
        hc.threshold = (float)m->threshold;
    else if (!mf)
        hc.threshold = VG_DETECT_DEFAULT_THRESHOLD;
    d->threshold = hc.threshold;
    d->classes = hc.num_classes;
    /* the tracker's low-score stage needs the boxes below the threshold:
     * the head keeps them down to low_score, the camera's tracker and
     * filters cut at the threshold (pipeline/events.h) */
    if (m->low_score > 0 && m->low_score < hc.threshold)
        hc.threshold = (float)m->low_score;
    if (m->nms_iou >= 0)
        hc.nms_iou = (float)m->nms_iou;
    else if (!mf)
        hc.nms_iou = VG_DETECT_DEFAULT_NMS_IOU;
    if (d->labels && hc.num_classes > d->labels->n) {
        snprintf(err, errlen, "model '%s': its head scores %d classes but '%s' has %d labels", m->name,
                 hc.num_classes, labels_path, d->labels->n);
        r = -EINVAL;
        goto fail;
    }
    if ((r = vg_head_new(&hc, &d->head)) < 0) {
        snprintf(err, errlen, "model '%s': head '%s' does not accept this configuration", m->name, m->head);
        goto fail;
    }
    /* map the head's inputs to engine outputs: by name from the manifest,
     * else in the model's order */
    d->n_outs = mf ? mf->n_outputs : vg_engine_n_outputs(d->engine);
    if (d->n_outs > VG_HEAD_MAX_OUTPUTS) {
        snprintf(err, errlen, "model '%s': %d outputs, at most %d", m->name, d->n_outs, VG_HEAD_MAX_OUTPUTS);
        r = -EINVAL;
        goto fail;
    }
    for (int i = 0; i < d->n_outs; i++) {
        int idx = i;
        if (mf) {
            idx = -1;
            for (int k = 0; k < vg_engine_n_outputs(d->engine); k++)
                if (strcmp(vg_engine_output(d->engine, k)->name, mf->output_names[i]) == 0)
                    idx = k;
            if (idx < 0) {
                snprintf(err, errlen, "model '%s': the manifest names output '%s', which the model lacks",
                         m->name, mf->output_names[i]);
                r = -EINVAL;
                goto fail;
            }
        }
        const vg_tensor_desc_t *od = vg_engine_output(d->engine, idx);
        d->out_index[i] = idx;
        d->outs[i].ndim = od->ndim > 4 ? 4 : od->ndim;
        for (int k = 0; k < d->outs[i].ndim; k++)
            d->outs[i].dims[k] = (int)od->dims[k];
        /* the head reads one image: batch 1 shapes, data per item */
        if (batch > 1 && d->outs[i].ndim > 0 && d->outs[i].dims[0] == batch)
            d->outs[i].dims[0] = 1;
        d->out_item[i] = od->count / (size_t)batch;
    }
    if ((r = vg_head_check(d->head, d->outs, d->n_outs, why, sizeof(why))) < 0) {
        snprintf(err, errlen, "model '%s': head '%s' does not fit the model's outputs: %s", m->name, m->head, why);
        goto fail;
    }
    const vg_tensor_desc_t *in = vg_engine_input(d->engine, 0);
    size_t want = (size_t)pc.width * pc.height * (pc.color == VG_TENSOR_GRAY ? 1 : 3);
    d->in_item = in->count / (size_t)batch;
    if (vg_engine_n_inputs(d->engine) != 1 || d->in_item != want || in->count % (size_t)batch) {
        snprintf(err, errlen, "model '%s': expects an input of %zu values, the configuration gives %dx%dx%d",
                 m->name, in->count, pc.width, pc.height, pc.color == VG_TENSOR_GRAY ? 1 : 3);
        r = -EINVAL;
        goto fail;
    }
    /* sources up to 8K (7680 and DCI 8192 wide): the row buffers cost
     * 3 x 32 KB, and a wider camera is refused by the capture's checks first */
    pc.max_src_width = VG_DETECT_MAX_SOURCE_WIDTH;
    d->prep_cfg = pc;
    if ((r = vg_tensor_prep_new(&pc, &d->prep)) < 0) {
        snprintf(err, errlen, "model '%s': bad input preparation settings", m->name);
        goto fail;
    }
    d->in_w = pc.width;
    d->in_h = pc.height;
    vg_manifest_free(&mf);
    *ret = d;
    return 0;
fail:
    vg_manifest_free(&mf);
    vg_detector_free(&d);
    return r < 0 ? r : -EINVAL;
}

void vg_detector_free(vg_detector_t **pd)
{
    if (!pd || !*pd)
        return;
    vg_detector_t *d = *pd;
    vg_engine_free(&d->engine);
    vg_head_free(&d->head);
    vg_labels_free(&d->labels);
    vg_tensor_prep_free(&d->prep);
    free(d);
    *pd = NULL;
}

/* Decodes batch item i of the last run into dets. */
static int decode_item(vg_detector_t *d, int i, const vg_tensor_xform_t *tx, int src_w, int src_h, vg_det_t *dets,
                       int max)
{
    for (int o = 0; o < d->n_outs; o++)
        d->outs[o].data = vg_engine_output_buffer(d->engine, d->out_index[o]) + (size_t)i * d->out_item[o];
    vg_head_xform_t hx = {.scale_x = tx->scale_x, .scale_y = tx->scale_y, .pad_x = tx->pad_x,
                          .pad_y = tx->pad_y, .src_w = src_w, .src_h = src_h};
    return vg_head_decode(d->head, d->outs, d->n_outs, &hx, dets, max);
}

/* Prepares img into the engine's input and runs it. */
static int prepare_and_run(vg_detector_t *d, const vg_image_t *img, vg_tensor_xform_t *ret_xform)
{
    int r = vg_tensor_prep_run(d->prep, img, vg_engine_input_buffer(d->engine, 0), ret_xform);
    return r < 0 ? r : vg_engine_run(d->engine);
}

int vg_detector_run(vg_detector_t *d, const vg_image_t *img, vg_det_t *dets, int max)
{
    vg_tensor_xform_t tx;
    int r = prepare_and_run(d, img, &tx);
    if (r == 0)
        r = decode_item(d, 0, &tx, img->width, img->height, dets, max);
    return r;
}

int vg_detector_run_batch(vg_detector_t *d, const vg_image_t *const *imgs, int k, vg_det_t *const *dets,
                          const int *max, int *ret_n)
{
    if (k < 1 || k > d->batch)
        return -EINVAL;
    vg_tensor_xform_t tx[VG_DETECT_MAX_BATCH];
    float *in = vg_engine_input_buffer(d->engine, 0);
    int r = 0;
    /* slots k..batch-1 keep whatever they held: computed, never read */
    for (int i = 0; i < k && r == 0; i++)
        r = vg_tensor_prep_run(d->prep, imgs[i], in + (size_t)i * d->in_item, &tx[i]);
    if (r == 0)
        r = vg_engine_run(d->engine);
    for (int i = 0; i < k; i++)
        ret_n[i] = r < 0 ? r : decode_item(d, i, &tx[i], imgs[i]->width, imgs[i]->height, dets[i], max[i]);
    return r;
}

int vg_detector_run_prepared(vg_detector_t *d, const vg_detect_prepared_t *in, int k, int *ret_n)
{
    if (k < 1 || k > d->batch)
        return -EINVAL;
    float *dst = vg_engine_input_buffer(d->engine, 0);
    /* one copy per image (1.6 MB for a 416x416 RGB input, ~0.1 ms): the
     * price of letting workers prepare the next frames while the engine
     * runs; slots k..batch-1 keep whatever they held: computed, never read */
    for (int i = 0; i < k; i++)
        memcpy(dst + (size_t)i * d->in_item, in[i].tensor, sizeof(float) * d->in_item);
    int r = vg_engine_run(d->engine);
    for (int i = 0; i < k; i++)
        ret_n[i] = r < 0 ? r : decode_item(d, i, &in[i].xform, in[i].src_w, in[i].src_h, in[i].dets, in[i].max);
    return r;
}

int vg_detector_preparer_new(const vg_detector_t *d, vg_tensor_prep_t **ret)
{
    return vg_tensor_prep_new(&d->prep_cfg, ret);
}

size_t vg_detector_input_size(const vg_detector_t *d) { return d->in_item; }

float vg_detector_threshold(const vg_detector_t *d) { return d->threshold; }

int vg_detector_batch(const vg_detector_t *d) { return d->batch; }

int vg_detector_scores(vg_detector_t *d, const vg_image_t *img, float *ret, int n)
{
    vg_tensor_xform_t tx;
    int r = prepare_and_run(d, img, &tx);
    if (r == 0) {
        const vg_tensor_desc_t *od = vg_engine_output(d->engine, d->out_index[0]);
        const float *out = vg_engine_output_buffer(d->engine, d->out_index[0]);
        size_t count = od->count;
        memcpy(ret, out, sizeof(float) * (count < (size_t)n ? count : (size_t)n));
        r = count > (size_t)INT32_MAX ? -EOVERFLOW : (int)count;
    }
    return r;
}

const char *vg_detector_label(const vg_detector_t *d, int label)
{
    if (!d->labels || label < 0 || label >= d->labels->n)
        return NULL;
    return d->labels->names[label];
}

const char *vg_detector_name(const vg_detector_t *d) { return d->name; }

int vg_detector_classes(const vg_detector_t *d) { return d->classes; }

size_t vg_detector_memory(const vg_detector_t *d) { return vg_engine_memory_bytes(d->engine); }

bool vg_detector_find_labels(const char *onnx, const char *const *dirs, char *buf, size_t len)
{
    char mpath[4096], why[256];
    manifest_path(onnx, mpath, sizeof(mpath));
    vg_manifest_t *mf = NULL;
    if (vg_manifest_load(mpath, &mf, why, sizeof(why)) < 0)
        return false;
    bool found = false;
    if (mf->labels[0]) {
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s", onnx);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
        else
            snprintf(dir, sizeof(dir), ".");
        snprintf(buf, len, "%s/%s", dir, mf->labels);
        found = access(buf, R_OK) == 0;
        for (size_t i = 0; dirs && dirs[i] && !found; i++) {
            snprintf(buf, len, "%s/%s", dirs[i], mf->labels);
            found = access(buf, R_OK) == 0;
        }
    }
    vg_manifest_free(&mf);
    return found;
}

int vg_detector_prepare(vg_detector_t *d, const vg_image_t *img, float *dst, size_t n, float ret_xform[4])
{
    if (n < d->in_item)
        return -ENOBUFS;
    vg_tensor_xform_t tx;
    int r = vg_tensor_prep_run(d->prep, img, dst, &tx);
    if (r < 0)
        return r;
    ret_xform[0] = tx.scale_x;
    ret_xform[1] = tx.scale_y;
    ret_xform[2] = tx.pad_x;
    ret_xform[3] = tx.pad_y;
    return d->in_item > INT32_MAX ? -EOVERFLOW : (int)d->in_item;
}
