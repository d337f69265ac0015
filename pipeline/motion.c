/* motion.c: see motion.h. Every loop here runs over the downscaled frame
 * (320x240 by default, ~77k pixels) except the box average, which reads the
 * whole Y plane once. */
#include "pipeline/motion.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Background adapts in ~16 analysed frames where static, ~64 where moving,
 * so a person standing still fades into the background slowly. */
#define BG_SHIFT_STATIC 4
#define BG_SHIFT_MOVING 6
/* More than this share changed at once is a lighting change, not motion. */
#define LIGHTSWITCH_SHARE 0.6

struct vg_motion {
    vg_motion_config_t cfg;     /* mask points at masks */
    vg_polygon_t masks[VG_MOTION_MASK_MAX];
    uint8_t *keep;      /* 1 where motion counts, 0 under the motion mask */
    int src_w, src_h;   /* frame size the buffers are sized for */
    int w, h;           /* downscaled size */
    bool seeded;
    uint16_t *bg;       /* background, 8.8 fixed point */
    uint8_t *small;     /* current downscaled luma */
    uint8_t *mask;      /* changed pixels */
    uint8_t *dilated;   /* mask after 3x3 dilation */
    uint8_t *rowmax;    /* dilation scratch */
    uint32_t *acc;      /* row accumulator, src_w entries */
    int *x0;            /* box-average column spans, w + 1 entries */
    int32_t *labels;    /* component label per downscaled pixel */
    int32_t *parent;    /* union-find forest */
    vg_motion_box_t *comp; /* per-root component boxes */
};

int vg_motion_new(const vg_motion_config_t *cfg, vg_motion_t **ret)
{
    if (cfg->threshold < 1 || cfg->threshold > 255 || cfg->min_area < 0 || cfg->min_area > 1 ||
        cfg->width < 64 || cfg->width > 1920 || cfg->n_mask < 0 || cfg->n_mask > VG_MOTION_MASK_MAX ||
        (cfg->n_mask > 0 && !cfg->mask))
        return -EINVAL;
    vg_motion_t *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->cfg = *cfg;
    if (cfg->n_mask > 0)
        memcpy(m->masks, cfg->mask, sizeof(*cfg->mask) * (size_t)cfg->n_mask);
    m->cfg.mask = m->masks;
    *ret = m;
    return 0;
}

static void free_buffers(vg_motion_t *m)
{
    free(m->bg);
    free(m->small);
    free(m->mask);
    free(m->dilated);
    free(m->rowmax);
    free(m->acc);
    free(m->x0);
    free(m->labels);
    free(m->parent);
    free(m->comp);
    free(m->keep);
    m->keep = NULL;
    m->bg = NULL;
    m->small = m->mask = m->dilated = m->rowmax = NULL;
    m->acc = NULL;
    m->x0 = NULL;
    m->labels = m->parent = NULL;
    m->comp = NULL;
    m->src_w = m->src_h = 0;
}

void vg_motion_free(vg_motion_t **motion)
{
    if (!motion || !*motion)
        return;
    free_buffers(*motion);
    free(*motion);
    *motion = NULL;
}

void vg_motion_reset(vg_motion_t *motion) { motion->seeded = false; }

static int resize(vg_motion_t *m, int width, int height)
{
    free_buffers(m);
    int w = m->cfg.width < width ? m->cfg.width : width;
    int h = (int)((int64_t)height * w / width);
    if (h < 1)
        h = 1;
    size_t n = (size_t)w * h;
    m->bg = malloc(n * sizeof(*m->bg));
    m->small = malloc(n);
    m->mask = malloc(n);
    m->dilated = malloc(n);
    m->rowmax = malloc(n);
    m->acc = malloc((size_t)width * sizeof(*m->acc));
    m->x0 = malloc((size_t)(w + 1) * sizeof(*m->x0));
    m->labels = malloc(n * sizeof(*m->labels));
    /* at most one new label per two pixels in 8-connectivity, plus label 0 */
    m->parent = malloc((n / 2 + 2) * sizeof(*m->parent));
    m->comp = malloc((n / 2 + 2) * sizeof(*m->comp));
    m->keep = malloc(n);
    if (!m->bg || !m->small || !m->mask || !m->dilated || !m->rowmax || !m->acc || !m->x0 ||
        !m->labels || !m->parent || !m->comp || !m->keep) {
        free_buffers(m);
        return -ENOMEM;
    }
    /* the motion mask at the downscaled size: once per size, not per frame */
    vg_polygon_t px[VG_MOTION_MASK_MAX];
    for (int k = 0; k < m->cfg.n_mask; k++)
        vg_polygon_scale(&m->masks[k], width, height, &px[k]);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float sx = (x + 0.5f) * (float)width / (float)w, sy = (y + 0.5f) * (float)height / (float)h;
            bool masked = false;
            for (int k = 0; k < m->cfg.n_mask && !masked; k++)
                masked = vg_polygon_contains(&px[k], sx, sy);
            m->keep[(size_t)y * w + x] = !masked;
        }
    for (int i = 0; i <= w; i++)
        m->x0[i] = (int)((int64_t)i * width / w);
    m->src_w = width;
    m->src_h = height;
    m->w = w;
    m->h = h;
    m->seeded = false;
    return 0;
}

/* Box-average the Y plane down to w x h. The common camera sizes are whole
 * multiples of the downscaled one (1280x720 and 1920x1080 to 320x180), so
 * that case sums fixed-size blocks with a multiply instead of a division per
 * output pixel (720p: 0.165 -> 0.141 ms per frame); other sizes take spans of
 * varying width. */
static void downscale(vg_motion_t *m, const uint8_t *luma, int linesize)
{
    const int sw = m->src_w, sh = m->src_h, w = m->w, h = m->h;
    uint32_t *restrict acc = m->acc;
    const bool whole = sw % w == 0 && sh % h == 0;
    const int fx = sw / w, fy = sh / h;
    for (int oy = 0; oy < h; oy++) {
        int y0 = (int)((int64_t)oy * sh / h), y1 = (int)((int64_t)(oy + 1) * sh / h);
        if (y1 <= y0)
            y1 = y0 + 1;
        memset(acc, 0, (size_t)sw * sizeof(*acc));
        for (int y = y0; y < y1; y++) {
            const uint8_t *restrict row = luma + (size_t)y * linesize;
            for (int x = 0; x < sw; x++)
                acc[x] += row[x];
        }
        uint8_t *restrict out = m->small + (size_t)oy * w;
        if (whole) {
            /* sum * inv / 2^16 == sum / (fx*fy), rounded */
            const uint32_t inv = (uint32_t)((1u << 16) / (uint32_t)(fx * fy));
            const uint32_t half = (uint32_t)(fx * fy) / 2;
            for (int ox = 0; ox < w; ox++) {
                uint32_t sum = half;
                for (int k = 0; k < fx; k++)
                    sum += acc[ox * fx + k];
                out[ox] = (uint8_t)((sum * inv) >> 16);
            }
            continue;
        }
        for (int ox = 0; ox < w; ox++) {
            uint32_t sum = 0;
            int xa = m->x0[ox], xb = m->x0[ox + 1];
            if (xb <= xa)
                xb = xa + 1;
            for (int x = xa; x < xb; x++)
                sum += acc[x];
            uint32_t cnt = (uint32_t)(xb - xa) * (uint32_t)(y1 - y0);
            out[ox] = (uint8_t)((sum + cnt / 2) / cnt);
        }
    }
}

/* Threshold against the background and update it; returns changed pixels. */
static int compare_and_learn(vg_motion_t *m)
{
    const int n = m->w * m->h, thr = m->cfg.threshold;
    const uint8_t *restrict cur = m->small;
    uint16_t *restrict bg = m->bg;
    uint8_t *restrict mask = m->mask;
    const uint8_t *restrict keep = m->keep;
    int changed = 0;
    for (int i = 0; i < n; i++) {
        int c = cur[i], b = bg[i];
        int d = c - (b >> 8);
        int moving = ((d > thr) | (d < -thr)) & keep[i];
        mask[i] = (uint8_t)moving;
        changed += moving;
        int shift = moving ? BG_SHIFT_MOVING : BG_SHIFT_STATIC;
        bg[i] = (uint16_t)(b + (((c << 8) - b) >> shift));
    }
    return changed;
}

static void seed_background(vg_motion_t *m)
{
    const int n = m->w * m->h;
    for (int i = 0; i < n; i++)
        m->bg[i] = (uint16_t)(m->small[i] << 8);
    m->seeded = true;
}

static void dilate3x3(vg_motion_t *m)
{
    const int w = m->w, h = m->h;
    for (int y = 0; y < h; y++) {
        const uint8_t *in = m->mask + (size_t)y * w;
        uint8_t *out = m->rowmax + (size_t)y * w;
        for (int x = 0; x < w; x++) {
            uint8_t v = in[x];
            if (x > 0)
                v |= in[x - 1];
            if (x + 1 < w)
                v |= in[x + 1];
            out[x] = v;
        }
    }
    for (int y = 0; y < h; y++) {
        const uint8_t *up = m->rowmax + (size_t)(y > 0 ? y - 1 : y) * w;
        const uint8_t *mid = m->rowmax + (size_t)y * w;
        const uint8_t *down = m->rowmax + (size_t)(y + 1 < h ? y + 1 : y) * w;
        uint8_t *out = m->dilated + (size_t)y * w;
        for (int x = 0; x < w; x++)
            out[x] = up[x] | mid[x] | down[x];
    }
}

static int32_t find_root(int32_t *parent, int32_t a)
{
    while (parent[a] != a) {
        parent[a] = parent[parent[a]]; /* path halving */
        a = parent[a];
    }
    return a;
}

static void unite(int32_t *parent, int32_t a, int32_t b)
{
    a = find_root(parent, a);
    b = find_root(parent, b);
    if (a < b)
        parent[b] = a;
    else if (b < a)
        parent[a] = b;
}

static int cmp_box_pixels(const void *a, const void *b)
{
    const vg_motion_box_t *x = a, *y = b;
    return (y->pixels > x->pixels) - (y->pixels < x->pixels);
}

/* Labels 8-connected components of `dilated` and fills the result's boxes. */
static void components(vg_motion_t *m, vg_motion_result_t *res)
{
    const int w = m->w, h = m->h;
    int32_t *labels = m->labels, *parent = m->parent;
    int32_t next = 1;
    parent[0] = 0;
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            if (!m->dilated[i]) {
                labels[i] = 0;
                continue;
            }
            int32_t l = 0;
            int32_t nb[4] = {
                x > 0 ? labels[i - 1] : 0,
                y > 0 && x > 0 ? labels[i - w - 1] : 0,
                y > 0 ? labels[i - w] : 0,
                y > 0 && x + 1 < w ? labels[i - w + 1] : 0,
            };
            for (int k = 0; k < 4; k++)
                if (nb[k] && (!l || nb[k] < l))
                    l = nb[k];
            if (!l) {
                l = next++;
                parent[l] = l;
            } else {
                for (int k = 0; k < 4; k++)
                    if (nb[k] && nb[k] != l)
                        unite(parent, l, nb[k]);
            }
            labels[i] = l;
        }
    }
    for (int32_t l = 1; l < next; l++)
        m->comp[l] = (vg_motion_box_t){.x1 = w, .y1 = h, .x2 = -1, .y2 = -1, .pixels = 0};
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            int32_t l = labels[(size_t)y * w + x];
            if (!l)
                continue;
            vg_motion_box_t *c = &m->comp[find_root(parent, l)];
            if (x < c->x1) c->x1 = x;
            if (y < c->y1) c->y1 = y;
            if (x > c->x2) c->x2 = x;
            if (y > c->y2) c->y2 = y;
            c->pixels++;
        }
    }
    const int min_pixels = (int)(m->cfg.min_area * w * h + 0.5);
    /* compact the roots that are big enough into comp[1..kept] */
    int kept = 0;
    for (int32_t l = 1; l < next; l++) {
        if (parent[l] != l || m->comp[l].pixels < (min_pixels > 1 ? min_pixels : 1))
            continue;
        m->comp[++kept] = m->comp[l];
    }
    qsort(m->comp + 1, (size_t)kept, sizeof(*m->comp), cmp_box_pixels);
    res->n_boxes = kept < VG_MOTION_MAX_BOXES ? kept : VG_MOTION_MAX_BOXES;
    res->n_dropped_boxes = kept - res->n_boxes;
    for (int k = 0; k < res->n_boxes; k++) {
        const vg_motion_box_t *c = &m->comp[k + 1];
        vg_motion_box_t *b = &res->boxes[k];
        b->x1 = (int)((int64_t)c->x1 * m->src_w / w);
        b->y1 = (int)((int64_t)c->y1 * m->src_h / h);
        b->x2 = (int)((int64_t)(c->x2 + 1) * m->src_w / w);
        b->y2 = (int)((int64_t)(c->y2 + 1) * m->src_h / h);
        b->pixels = c->pixels;
        b->fill = (double)c->pixels / ((double)(c->x2 - c->x1 + 1) * (c->y2 - c->y1 + 1));
    }
}

int vg_motion_process(vg_motion_t *m, const uint8_t *luma, int linesize, int width, int height,
                      vg_motion_result_t *ret_result)
{
    if (width <= 0 || height <= 0 || !luma)
        return -EINVAL;
    if (width != m->src_w || height != m->src_h) {
        int r = resize(m, width, height);
        if (r < 0)
            return r;
    }
    vg_motion_result_t res = {0};
    downscale(m, luma, linesize);
    if (!m->seeded) {
        seed_background(m);
        res.warming_up = true;
        *ret_result = res;
        return 0;
    }
    int changed = compare_and_learn(m);
    res.changed = (double)changed / ((double)m->w * m->h);
    if (res.changed > LIGHTSWITCH_SHARE) {
        seed_background(m);
        res.lightswitch = true;
        *ret_result = res;
        return 0;
    }
    if (changed) {
        dilate3x3(m);
        components(m, &res);
    }
    *ret_result = res;
    return 0;
}
