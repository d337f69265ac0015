/* manifest: model manifests (JSON, jansson) and labels files. */
#include "models/heads/manifest.h"
#include "heads_internal.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static int get_str(json_t *o, const char *key, char *dst, size_t n, bool required, char *err, size_t errlen)
{
    json_t *v = json_object_get(o, key);
    if (!v) {
        if (required)
            return vg_head_fail(err, errlen, "missing key '%s'", key);
        dst[0] = '\0';
        return 0;
    }
    if (!json_is_string(v) || strlen(json_string_value(v)) >= n)
        return vg_head_fail(err, errlen, "'%s' must be a string shorter than %zu", key, n);
    strcpy(dst, json_string_value(v));
    return 0;
}

/* array of up to max numbers; returns the count or a negative errno */
static int get_nums(json_t *o, const char *key, double *dst, int max, char *err, size_t errlen)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > (size_t)max)
        return vg_head_fail(err, errlen, "'%s' must be an array of 1..%d numbers", key, max);
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *x = json_array_get(v, i);
        if (!json_is_number(x))
            return vg_head_fail(err, errlen, "'%s'[%zu] is not a number", key, i);
        dst[i] = json_number_value(x);
    }
    return (int)json_array_size(v);
}

static int get_num(json_t *o, const char *key, double def, double lo, double hi, double *dst, char *err,
                   size_t errlen)
{
    json_t *v = json_object_get(o, key);
    if (!v) {
        *dst = def;
        return 0;
    }
    if (!json_is_number(v) || json_number_value(v) < lo || json_number_value(v) > hi)
        return vg_head_fail(err, errlen, "'%s' must be a number in %g..%g", key, lo, hi);
    *dst = json_number_value(v);
    return 0;
}

/* per-channel values: one number for all channels, or one per channel */
static int get_channels(json_t *o, const char *key, int channels, float *dst, char *err, size_t errlen)
{
    double v[3];
    int n = get_nums(o, key, v, 3, err, errlen);
    if (n < 0)
        return n;
    if (n != 1 && n != channels)
        return vg_head_fail(err, errlen, "'%s' has %d values for %d channels", key, n, channels);
    for (int c = 0; c < 3; c++)
        dst[c] = (float)(n == 1 ? v[0] : v[c < n ? c : 0]);
    return 0;
}

static int parse_outputs(json_t *root, vg_manifest_t *m, char *err, size_t errlen)
{
    json_t *outs = json_object_get(root, "outputs");
    if (!json_is_array(outs) || json_array_size(outs) < 1 || json_array_size(outs) > VG_MANIFEST_MAX_OUTPUTS)
        return vg_head_fail(err, errlen, "'outputs' must be an array of 1..%d outputs", VG_MANIFEST_MAX_OUTPUTS);
    m->n_outputs = (int)json_array_size(outs);
    for (int i = 0; i < m->n_outputs; i++) {
        json_t *o = json_array_get(outs, (size_t)i);
        int r = get_str(o, "name", m->output_names[i], sizeof(m->output_names[i]), true, err, errlen);
        if (r < 0)
            return r;
        double d[4];
        int n = get_nums(o, "shape", d, 4, err, errlen);
        if (n < 0)
            return n;
        m->output_ndim[i] = n;
        for (int k = 0; k < n; k++)
            m->output_dims[i][k] = (int)d[k];
    }
    return 0;
}

static int parse_head(json_t *root, vg_manifest_t *m, char *err, size_t errlen)
{
    vg_head_config_t *h = &m->head;
    double thr, nms;
    int r;
    if ((r = get_num(root, "threshold", 0.35, 0.0, 1.0, &thr, err, errlen)) < 0
        || (r = get_num(root, "nms_iou", 0.45, 0.0, 1.0, &nms, err, errlen)) < 0)
        return r;
    h->input_w = m->input_w;
    h->input_h = m->input_h;
    h->threshold = (float)thr;
    h->nms_iou = (float)nms;
    char scores[16];
    if ((r = get_str(root, "class_scores", scores, sizeof(scores), false, err, errlen)) < 0)
        return r;
    if (scores[0] == '\0' || strcmp(scores, "probability") == 0)
        h->scores = VG_HEAD_SCORE_PROB;
    else if (strcmp(scores, "logit") == 0)
        h->scores = VG_HEAD_SCORE_LOGIT;
    else if (strcmp(scores, "softmax") == 0)
        h->scores = VG_HEAD_SCORE_SOFTMAX;
    else
        return vg_head_fail(err, errlen, "'class_scores' is '%s', want probability | logit | softmax", scores);

    if (strcmp(m->head_name, "blazeface") == 0) {
        /* SSD with pixel offsets on grid anchors of unit size, one class */
        json_t *a = json_object_get(root, "anchors");
        double s[VG_HEAD_MAX_LEVELS / 2], pc[VG_HEAD_MAX_LEVELS / 2];
        int ns = get_nums(a, "strides", s, VG_HEAD_MAX_LEVELS / 2, err, errlen);
        if (ns < 0)
            return ns;
        int np = get_nums(a, "per_cell", pc, VG_HEAD_MAX_LEVELS / 2, err, errlen);
        if (np < 0)
            return np;
        if (np != ns)
            return vg_head_fail(err, errlen, "'anchors': %d strides but %d per_cell", ns, np);
        int st[VG_HEAD_MAX_LEVELS / 2], per[VG_HEAD_MAX_LEVELS / 2];
        for (int i = 0; i < ns; i++) {
            st[i] = (int)s[i];
            per[i] = (int)pc[i];
            if (st[i] < 1 || per[i] < 1 || per[i] > 64)
                return vg_head_fail(err, errlen, "'anchors': bad stride %d or count %d", st[i], per[i]);
        }
        int n = vg_head_anchors_grid(m->input_w, m->input_h, st, per, ns, 1.0f, NULL, 0);
        m->anchors = malloc((size_t)n * sizeof(*m->anchors));
        if (!m->anchors)
            return -ENOMEM;
        vg_head_anchors_grid(m->input_w, m->input_h, st, per, ns, 1.0f, m->anchors, n);
        h->kind = VG_HEAD_SSD;
        h->num_classes = 1;
        h->num_levels = ns;
        h->anchors = m->anchors;
        h->num_anchors = n;
        h->ssd_encoding = VG_HEAD_SSD_PIXEL_OFFSET;
        return 0;
    }
    if ((r = vg_head_kind_parse(m->head_name, &h->kind)) < 0)
        return vg_head_fail(err, errlen, "'head' is '%s', want nanodet | blazeface | yolov5 | yolov8 | ssd | "
                                 "centernet | classifier", m->head_name);
    switch (h->kind) {
    case VG_HEAD_NANODET: {
        double s[VG_HEAD_MAX_LEVELS], reg;
        int ns = get_nums(root, "strides", s, VG_HEAD_MAX_LEVELS, err, errlen);
        if (ns < 0)
            return ns;
        if ((r = get_num(root, "reg_max", 7, 1, 64, &reg, err, errlen)) < 0)
            return r;
        h->num_levels = ns;
        for (int i = 0; i < ns; i++)
            h->strides[i] = (int)s[i];
        h->reg_max = (int)reg;
        if (m->output_ndim[0] != 3)
            return vg_head_fail(err, errlen, "nanodet: first output is not [1, N, classes]");
        h->num_classes = m->output_dims[0][2];
        break;
    }
    case VG_HEAD_CLASSIFIER:
        h->num_classes = m->output_dims[0][m->output_ndim[0] - 1];
        break;
    case VG_HEAD_YOLOV5:
        h->num_classes = m->output_ndim[0] == 3 ? m->output_dims[0][2] - 5 : 0;
        break;
    case VG_HEAD_YOLOV8:
        h->num_classes = m->output_ndim[0] == 3 ? m->output_dims[0][1] - 4 : 0;
        break;
    case VG_HEAD_CENTERNET: {
        double s;
        char box[8];
        if ((r = get_num(root, "output_stride", 4, 1, 64, &s, err, errlen)) < 0
            || (r = get_str(root, "box", box, sizeof(box), false, err, errlen)) < 0)
            return r;
        if (box[0] && strcmp(box, "ltrb") != 0 && strcmp(box, "wh") != 0)
            return vg_head_fail(err, errlen, "'box' is '%s', want wh | ltrb", box);
        h->output_stride = (int)s;
        h->centernet_ltrb = strcmp(box, "ltrb") == 0;
        h->num_classes = m->output_ndim[0] == 4 ? m->output_dims[0][1] : 0;
        break;
    }
    case VG_HEAD_SSD:
        return vg_head_fail(err, errlen, "'head' ssd needs anchors, which manifests do not describe yet");
    }
    return 0;
}

static int parse(json_t *root, vg_manifest_t *m, char *err, size_t errlen)
{
    int r;
    if (!json_is_object(root))
        return vg_head_fail(err, errlen, "not a JSON object");
    if ((r = get_str(root, "name", m->name, sizeof(m->name), true, err, errlen)) < 0
        || (r = get_str(root, "onnx", m->onnx, sizeof(m->onnx), true, err, errlen)) < 0
        || (r = get_str(root, "labels", m->labels, sizeof(m->labels), false, err, errlen)) < 0
        || (r = get_str(root, "head", m->head_name, sizeof(m->head_name), true, err, errlen)) < 0)
        return r;
    double wh[2];
    int n = get_nums(root, "input", wh, 2, err, errlen);
    if (n < 0)
        return n;
    if (n != 2 || wh[0] < 1 || wh[1] < 1 || wh[0] > 8192 || wh[1] > 8192)
        return vg_head_fail(err, errlen, "'input' must be [w, h]");
    m->input_w = (int)wh[0];
    m->input_h = (int)wh[1];

    char layout[8];
    if ((r = get_str(root, "layout", layout, sizeof(layout), true, err, errlen)) < 0)
        return r;
    if (strcmp(layout, "NCHW") != 0 && strcmp(layout, "NHWC") != 0)
        return vg_head_fail(err, errlen, "'layout' is '%s', want NCHW | NHWC", layout);
    m->nchw = strcmp(layout, "NCHW") == 0;

    if ((r = get_str(root, "colour", m->color, sizeof(m->color), true, err, errlen)) < 0)
        return r;
    if (strcmp(m->color, "rgb") != 0 && strcmp(m->color, "bgr") != 0 && strcmp(m->color, "gray") != 0)
        return vg_head_fail(err, errlen, "'colour' is '%s', want rgb | bgr | gray", m->color);
    m->channels = strcmp(m->color, "gray") == 0 ? 1 : 3;
    m->gray_weights[0] = 0.299f, m->gray_weights[1] = 0.587f, m->gray_weights[2] = 0.114f;
    if (m->channels == 1 && json_object_get(root, "gray_weights")
        && (r = get_channels(root, "gray_weights", 3, m->gray_weights, err, errlen)) < 0)
        return r;
    if ((r = get_channels(root, "mean", m->channels, m->mean, err, errlen)) < 0
        || (r = get_channels(root, "scale", m->channels, m->scale, err, errlen)) < 0)
        return r;

    char resize[16];
    if ((r = get_str(root, "resize", resize, sizeof(resize), false, err, errlen)) < 0)
        return r;
    if (resize[0] && strcmp(resize, "letterbox") != 0 && strcmp(resize, "stretch") != 0)
        return vg_head_fail(err, errlen, "'resize' is '%s', want letterbox | stretch", resize);
    m->letterbox = strcmp(resize, "stretch") != 0;
    double pad;
    if ((r = get_num(root, "pad", 0.0, 0.0, 255.0, &pad, err, errlen)) < 0)
        return r;
    m->pad = (float)pad;

    if ((r = parse_outputs(root, m, err, errlen)) < 0)
        return r;
    return parse_head(root, m, err, errlen);
}

int vg_manifest_load(const char *path, vg_manifest_t **ret, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        int e = errno;
        if (err && errlen)
            snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    json_error_t je;
    json_t *root = json_loadf(f, 0, &je);
    fclose(f);
    if (!root)
        return vg_head_fail(err, errlen, "%s:%d: %s", path, je.line, je.text);
    vg_manifest_t *m = calloc(1, sizeof(*m));
    if (!m) {
        json_decref(root);
        return -ENOMEM;
    }
    char why[256] = "";
    int r = parse(root, m, why, sizeof(why));
    json_decref(root);
    if (r < 0) {
        if (err && errlen)
            snprintf(err, errlen, "%s: %s", path, r == -ENOMEM ? "out of memory" : why);
        vg_manifest_free(&m);
        return r;
    }
    *ret = m;
    return 0;
}

void vg_manifest_free(vg_manifest_t **p)
{
    if (!p || !*p)
        return;
    free((*p)->anchors);
    free(*p);
    *p = NULL;
}

int vg_labels_load(const char *path, vg_labels_t **ret)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    vg_labels_t *l = calloc(1, sizeof(*l));
    char *line = NULL;
    size_t cap = 0;
    int r = 0, alloc = 0;
    if (!l) {
        r = -ENOMEM;
        goto out;
    }
    for (ssize_t len; (len = getline(&line, &cap, f)) >= 0;) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' '
                           || line[len - 1] == '\t'))
            line[--len] = '\0';
        if (l->n == alloc) {
            int na = alloc ? alloc * 2 : 16;
            char **nn = realloc(l->names, (size_t)na * sizeof(char *));
            if (!nn) {
                r = -ENOMEM;
                goto out;
            }
            l->names = nn;
            alloc = na;
        }
        if (!(l->names[l->n] = strdup(line))) {
            r = -ENOMEM;
            goto out;
        }
        l->n++;
    }
    /* a trailing empty line is not a label */
    while (l->n > 0 && l->names[l->n - 1][0] == '\0')
        free(l->names[--l->n]);
    if (l->n == 0)
        r = -EINVAL;
out:
    free(line);
    fclose(f);
    if (r < 0) {
        vg_labels_free(&l);
        return r;
    }
    *ret = l;
    return 0;
}

void vg_labels_free(vg_labels_t **p)
{
    if (!p || !*p)
        return;
    for (int i = 0; i < (*p)->n; i++)
        free((*p)->names[i]);
    free((*p)->names);
    free(*p);
    *p = NULL;
}
