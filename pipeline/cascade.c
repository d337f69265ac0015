/* cascade.c: see cascade.h. */
#include "pipeline/cascade.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define FACES_MAX 16 /* faces kept from one face-detector pass */

struct vg_cascade {
    vg_cascade_config_t cfg;
    int person_label; /* label index of "person" in cfg.detector, -1 = ON_FRAME */
    int classify_labels[VG_CASCADE_CLASSIFY_MAX]; /* label indices of cfg.detector the classifier sees */
    int n_classify;
    vg_det_t faces[FACES_MAX];
    vg_det_t expr[1];
};

int vg_cascade_crop(const vg_image_t *src, int x, int y, int w, int h, vg_image_t *ret)
{
    int x2 = x + w, y2 = y + h;
    if (x < 0) x = 0;
    if (y < 0) y = 0;
    if (x2 > src->width) x2 = src->width;
    if (y2 > src->height) y2 = src->height;
    bool sub = src->format == VG_PIX_YUV420P || src->format == VG_PIX_NV12;
    if (sub) {
        x &= ~1;
        y &= ~1;
        if ((x2 - x) & 1 && x2 < src->width) x2++;
        if ((y2 - y) & 1 && y2 < src->height) y2++;
    }
    if (x2 <= x || y2 <= y)
        return -EINVAL;
    vg_image_t v = *src;
    v.width = x2 - x;
    v.height = y2 - y;
    switch (src->format) {
    case VG_PIX_YUV420P:
        v.data[0] = src->data[0] + (size_t)y * src->linesize[0] + x;
        v.data[1] = src->data[1] + (size_t)(y / 2) * src->linesize[1] + x / 2;
        v.data[2] = src->data[2] + (size_t)(y / 2) * src->linesize[2] + x / 2;
        break;
    case VG_PIX_NV12:
        v.data[0] = src->data[0] + (size_t)y * src->linesize[0] + x;
        v.data[1] = src->data[1] + (size_t)(y / 2) * src->linesize[1] + x; /* U,V pairs: x even */
        break;
    case VG_PIX_RGB24:
        v.data[0] = src->data[0] + (size_t)y * src->linesize[0] + 3 * (size_t)x;
        break;
    default:
        return -EINVAL;
    }
    *ret = v;
    return 0;
}

int vg_cascade_new(const vg_cascade_config_t *cfg, vg_cascade_t **ret)
{
    if (!cfg || (!cfg->face && !cfg->classifier) || (cfg->classifier && !cfg->detector) || cfg->max_people < 0 ||
        cfg->min_size < 0 || !(cfg->expression_margin >= 0) || cfg->expression_margin > 2 ||
        !(cfg->classify_margin >= 0) || cfg->classify_margin > 1)
        return -EINVAL;
    vg_cascade_t *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->cfg = *cfg;
    if (!c->cfg.max_people)
        c->cfg.max_people = 8;
    if (!c->cfg.min_size)
        c->cfg.min_size = 32;
    if (c->cfg.expression_margin == 0)
        c->cfg.expression_margin = 0.2f;
    if (c->cfg.classify_margin == 0)
        c->cfg.classify_margin = 0.1f;
    c->cfg.classify_on = NULL; /* borrowed only here */
    if (cfg->classifier) {
        const char *on = cfg->classify_on && *cfg->classify_on ? cfg->classify_on : "person";
        for (const char *p = on; *p && c->n_classify < VG_CASCADE_CLASSIFY_MAX;) {
            size_t len = strcspn(p, ",");
            const char *s;
            for (int i = 0; (s = vg_detector_label(cfg->detector, i)) != NULL; i++)
                if (strlen(s) == len && strncmp(s, p, len) == 0) {
                    c->classify_labels[c->n_classify++] = i;
                    break;
                }
            p += len + (p[len] == ',');
        }
    }
    c->person_label = -1;
    if (cfg->face && cfg->on == VG_CASCADE_ON_PERSON && cfg->detector) {
        const char *s;
        for (int i = 0; (s = vg_detector_label(cfg->detector, i)) != NULL; i++)
            if (strcmp(s, "person") == 0) {
                c->person_label = i;
                break;
            }
    }
    *ret = c;
    return 0;
}

void vg_cascade_free(vg_cascade_t **p)
{
    if (!p || !*p)
        return;
    free(*p);
    *p = NULL;
}

vg_cascade_on_t vg_cascade_mode(const vg_cascade_t *c)
{
    return c->person_label >= 0 ? VG_CASCADE_ON_PERSON : VG_CASCADE_ON_FRAME;
}

const char *vg_cascade_class(const vg_cascade_t *c, int cls)
{
    if (!c->cfg.classifier || cls < 0)
        return NULL;
    return vg_detector_label(c->cfg.classifier, cls);
}

const char *vg_cascade_expression(const vg_cascade_t *c, int expression)
{
    if (!c->cfg.expression || expression < 0)
        return NULL;
    return vg_detector_label(c->cfg.expression, expression);
}

/* The expression of the face f (source pixels) of img into *a. */
/* One model run on a crop: on the model's actor when it has one (the worker
 * waits), else here. */
static int run_model(vg_inference_t *actor, vg_detector_t *d, const vg_image_t *img, vg_det_t *dets, int max)
{
    return actor ? vg_inference_run(actor, img, dets, max) : vg_detector_run(d, img, dets, max);
}

static int classify(vg_cascade_t *c, const vg_image_t *img, const vg_det_t *f, vg_cascade_attr_t *a)
{
    a->has_face = true;
    a->face[0] = f->x1;
    a->face[1] = f->y1;
    a->face[2] = f->x2;
    a->face[3] = f->y2;
    a->face_score = f->score;
    a->expression = -1;
    a->expression_score = 0;
    if (!c->cfg.expression)
        return 0;
    /* a square around the face, its longer side plus a margin on each side:
     * FER2013 faces are framed with forehead and chin. On facereg.jpg's two
     * broad smiles, margins 0.1 to 0.3 read both as happy (0.55..0.99) while
     * the box as found (tight, not square) reads one as angry (0.76) */
    vg_image_t crop;
    float fw = f->x2 - f->x1, fh = f->y2 - f->y1;
    float side = (fw > fh ? fw : fh) * (1 + 2 * c->cfg.expression_margin);
    float cx = 0.5f * (f->x1 + f->x2), cy = 0.5f * (f->y1 + f->y2);
    if (vg_cascade_crop(img, (int)(cx - side / 2), (int)(cy - side / 2), (int)(side + 0.5f), (int)(side + 0.5f),
                        &crop) < 0)
        return 0;
    int r = run_model(c->cfg.expression_actor, c->cfg.expression, &crop, c->expr, 1);
    if (r < 0)
        return r;
    if (r == 1) {
        a->expression = c->expr[0].label;
        a->expression_score = c->expr[0].score;
    }
    return 0;
}

/* The class of detection d: the classifier on the box widened by the margin. */
static int classify_box(vg_cascade_t *c, const vg_image_t *img, const vg_det_t *d, vg_cascade_attr_t *a)
{
    float mw = (d->x2 - d->x1) * c->cfg.classify_margin, mh = (d->y2 - d->y1) * c->cfg.classify_margin;
    int x = (int)(d->x1 - mw), y = (int)(d->y1 - mh);
    vg_image_t crop;
    if (vg_cascade_crop(img, x, y, (int)(d->x2 + mw + 0.5f) - x, (int)(d->y2 + mh + 0.5f) - y, &crop) < 0)
        return 0;
    int r = run_model(c->cfg.classifier_actor, c->cfg.classifier, &crop, c->expr, 1);
    if (r < 0)
        return r;
    if (r == 1) {
        a->cls = c->expr[0].label;
        a->cls_score = c->expr[0].score;
    }
    return 0;
}

/* Best face in the square at the top of person box p. */
static int person_face(vg_cascade_t *c, const vg_image_t *img, const vg_det_t *p, vg_cascade_attr_t *a)
{
    float w = p->x2 - p->x1, h = p->y2 - p->y1;
    /* a square as wide as the box (a face is at most that wide), padded a
     * tenth so a face cut by the box's top edge is whole; no taller than the box */
    float side = (w < h ? w : h) * 1.2f;
    float cx = 0.5f * (p->x1 + p->x2);
    int x = (int)(cx - side / 2), y = (int)(p->y1 - 0.1f * side);
    if (side < (float)c->cfg.min_size)
        return 0;
    vg_image_t crop;
    if (vg_cascade_crop(img, x, y, (int)side, (int)side, &crop) < 0)
        return 0;
    int nf = run_model(c->cfg.face_actor, c->cfg.face, &crop, c->faces, FACES_MAX);
    if (nf <= 0)
        return nf;
    /* crop pixels -> frame pixels (the crop's origin after clamping and rounding) */
    int ox = x < 0 ? 0 : x, oy = y < 0 ? 0 : y;
    if (img->format != VG_PIX_RGB24) {
        ox &= ~1;
        oy &= ~1;
    }
    vg_det_t f = c->faces[0]; /* best first */
    f.x1 += (float)ox;
    f.x2 += (float)ox;
    f.y1 += (float)oy;
    f.y2 += (float)oy;
    return classify(c, img, &f, a);
}

int vg_cascade_run(vg_cascade_t *c, const vg_image_t *img, vg_det_t *dets, int n, int max,
                   vg_cascade_attr_t *ret_attrs)
{
    if (n < 0 || n > max || img->width <= 0 || img->height <= 0)
        return -EINVAL;
    for (int i = 0; i < n; i++)
        ret_attrs[i] = (vg_cascade_attr_t){.expression = -1, .cls = -1};
    int r;
    for (int i = 0; i < n && c->n_classify; i++)
        for (int k = 0; k < c->n_classify; k++)
            if (dets[i].label == c->classify_labels[k]) {
                if ((r = classify_box(c, img, &dets[i], &ret_attrs[i])) < 0)
                    return r;
                break;
            }
    if (!c->cfg.face)
        return n;
    if (c->person_label >= 0) {
        int people = 0;
        for (int i = 0; i < n && people < c->cfg.max_people; i++) {
            if (dets[i].label != c->person_label)
                continue;
            people++;
            if ((r = person_face(c, img, &dets[i], &ret_attrs[i])) < 0)
                return r;
        }
        return n;
    }
    if (c->cfg.detector == c->cfg.face) {
        /* the camera's detector is the face detector: its boxes are the faces */
        for (int i = 0; i < n; i++)
            if ((r = classify(c, img, &dets[i], &ret_attrs[i])) < 0)
                return r;
        return n;
    }
    int nf = run_model(c->cfg.face_actor, c->cfg.face, img, c->faces, FACES_MAX);
    if (nf < 0)
        return nf;
    for (int k = 0; k < nf && n < max; k++, n++) {
        dets[n] = c->faces[k];
        dets[n].label = -1;
        ret_attrs[n] = (vg_cascade_attr_t){.expression = -1, .cls = -1};
        if ((r = classify(c, img, &c->faces[k], &ret_attrs[n])) < 0)
            return r;
        ret_attrs[n].label = "face";
    }
    return n;
}
