/* Synthetic MOT sequences, evaluator and tracker driver: see mot_synth.h. */
#include "mot_synth.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline/track/assign.h"

/* ------------------------------------------------------------ random */

typedef struct {
    uint64_t s;
} rng_t;

static uint64_t next_u64(rng_t *r) /* splitmix64 */
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double uni(rng_t *r) { return (double)(next_u64(r) >> 11) * 0x1.0p-53; }
static double range(rng_t *r, double a, double b) { return a + (b - a) * uni(r); }
static bool chance(rng_t *r, double p) { return uni(r) < p; }

static double gauss(rng_t *r)
{
    double u = uni(r), v = uni(r);
    return sqrt(-2.0 * log(u > 1e-300 ? u : 1e-300)) * cos(2 * M_PI * v);
}

static int poisson(rng_t *r, double mean)
{
    double l = exp(-mean), p = 1.0;
    int k = 0;
    do {
        k++;
        p *= uni(r);
    } while (p > l && k < 1000);
    return k - 1;
}

/* ------------------------------------------------------------ presets */

static const char *const preset_names[MOT_SYNTH_PRESETS] = {"crossing", "crowd20", "lowfps", "noisy"};

const char *mot_synth_preset_name(int k) { return k >= 0 && k < MOT_SYNTH_PRESETS ? preset_names[k] : "?"; }

void mot_synth_preset(int k, uint64_t seed, mot_synth_config_t *ret)
{
    mot_synth_config_t c = {
        .seed = seed, .frames = 600, .fps = 25, .width = 1280, .height = 720, .objects = 6, .speed = 0.8f,
        .p_stop = 0.05f, .stop_secs = 4, .parked = 1, .p_miss = 0.05f, .p_burst = 0.03f, .burst_secs = 0.5f,
        .fp_rate = 0.1f, .jitter = 0.03f, .p_low = 0.1f, .min_vis = 0.4f,
    };
    switch (k) {
    case 1: /* a crowd: 20 people at once, many crossings and occlusions */
        c.frames = 500;
        c.objects = 20;
        c.parked = 2;
        c.p_miss = 0.08f;
        c.fp_rate = 0.3f;
        c.jitter = 0.04f;
        c.p_low = 0.15f;
        break;
    case 2: /* analysis at 5 fps: large steps between frames */
        c.frames = 200;
        c.fps = 5;
        c.objects = 10;
        c.speed = 1.0f;
        c.p_miss = 0.1f;
        c.jitter = 0.05f;
        break;
    case 3: /* a poor detector: misses, runs of misses, low scores, false positives */
        c.frames = 400;
        c.fps = 10;
        c.objects = 8;
        c.p_miss = 0.15f;
        c.p_burst = 0.1f;
        c.burst_secs = 1.0f;
        c.fp_rate = 1.0f;
        c.jitter = 0.06f;
        c.p_low = 0.25f;
        break;
    default:
        break;
    }
    *ret = c;
}

/* ------------------------------------------------------------ generator */

typedef struct {
    uint64_t id;
    int label;
    double cx, foot, w, h; /* centre x, bottom y, size */
    double vx, vy;         /* px/s while moving */
    double stop_left;      /* seconds of stop left; 0: moving */
    double burst_left;     /* seconds of missed detections left */
    bool parked, alive;
} sobj_t;

typedef struct {
    mot_row_t *v;
    int n, cap;
} rows_t;

static int push(rows_t *r, mot_row_t row)
{
    if (r->n == r->cap) {
        int cap = r->cap ? 2 * r->cap : 1024;
        mot_row_t *v = realloc(r->v, sizeof(*v) * (size_t)cap);
        if (!v)
            return -ENOMEM;
        r->v = v;
        r->cap = cap;
    }
    r->v[r->n++] = row;
    return 0;
}

static void spawn(rng_t *rng, const mot_synth_config_t *c, sobj_t *o, uint64_t id, bool anywhere)
{
    memset(o, 0, sizeof(*o));
    o->id = id;
    o->alive = true;
    o->foot = range(rng, 0.45, 1.0) * c->height;
    /* perspective: nearer (lower) people are taller */
    o->h = (0.12 + 0.25 * (o->foot / c->height)) * c->height * range(rng, 0.85, 1.15);
    o->w = o->h * range(rng, 0.35, 0.5);
    double speed = c->speed * o->h * range(rng, 0.6, 1.4);
    bool left = chance(rng, 0.5);
    o->vx = left ? speed : -speed;
    o->vy = speed * range(rng, -0.15, 0.15);
    if (anywhere)
        o->cx = range(rng, 0.1, 0.9) * c->width;
    else
        o->cx = left ? -0.45 * o->w : c->width + 0.45 * o->w;
}

static void box_of(const sobj_t *o, double b[4])
{
    b[0] = o->cx - o->w / 2;
    b[1] = o->foot - o->h;
    b[2] = o->cx + o->w / 2;
    b[3] = o->foot;
}

static double inter(const double a[4], const double b[4])
{
    double iw = fmin(a[2], b[2]) - fmax(a[0], b[0]), ih = fmin(a[3], b[3]) - fmax(a[1], b[1]);
    return iw > 0 && ih > 0 ? iw * ih : 0;
}

static bool clip(double b[4], int w, int h)
{
    double area = (b[2] - b[0]) * (b[3] - b[1]);
    b[0] = fmax(b[0], 0);
    b[1] = fmax(b[1], 0);
    b[2] = fmin(b[2], w);
    b[3] = fmin(b[3], h);
    /* an object less than 40% inside the frame is not counted */
    return b[2] > b[0] && b[3] > b[1] && (b[2] - b[0]) * (b[3] - b[1]) >= 0.4 * area;
}

int mot_synth(const mot_synth_config_t *c, mot_seq_t *ret)
{
    rng_t rng = {c->seed * 0x2545f4914f6cdd1dull + 12345};
    int max_objs = c->objects + c->parked + 8;
    sobj_t *objs = calloc((size_t)max_objs, sizeof(*objs));
    double (*boxes)[4] = calloc((size_t)max_objs, sizeof(*boxes));
    rows_t gt = {0}, dets = {0};
    int r = 0;
    if (!objs || !boxes) {
        r = -ENOMEM;
        goto out;
    }
    uint64_t next_id = 1;
    double dt = 1.0 / c->fps;
    for (int i = 0; i < c->parked; i++) {
        sobj_t *o = &objs[i];
        spawn(&rng, c, o, next_id++, true);
        o->parked = true;
        o->label = 2; /* COCO car */
        o->w = o->h * range(&rng, 1.6, 2.2);
        o->h *= 0.7;
        o->vx = o->vy = 0;
    }
    for (int i = 0; i < c->objects; i++)
        spawn(&rng, c, &objs[c->parked + i], next_id++, true);

    for (int f = 1; f <= c->frames && r == 0; f++) {
        if (f > 1) { /* move */
            int moving = 0;
            for (int i = 0; i < max_objs; i++) {
                sobj_t *o = &objs[i];
                if (!o->alive || o->parked)
                    continue;
                moving++;
                if (o->stop_left > 0) {
                    o->stop_left -= dt;
                } else {
                    o->cx += o->vx * dt;
                    o->foot += o->vy * dt;
                    if (chance(&rng, c->p_stop * dt))
                        o->stop_left = c->stop_secs * range(&rng, 0.5, 1.5);
                }
                if (o->cx < -o->w || o->cx > c->width + o->w || o->foot < 0.3 * c->height ||
                    o->foot > c->height + o->h) {
                    o->alive = false;
                    moving--;
                }
            }
            /* keep about `objects` in view: a newcomer every ~2 s per missing one */
            for (int i = 0; i < max_objs && moving < c->objects; i++) {
                if (objs[i].alive || !chance(&rng, (c->objects - moving) * dt / 2.0))
                    continue;
                spawn(&rng, c, &objs[i], next_id++, false);
                moving++;
            }
        }
        for (int i = 0; i < max_objs; i++) {
            if (objs[i].alive)
                box_of(&objs[i], boxes[i]);
            if (objs[i].alive && objs[i].burst_left > 0)
                objs[i].burst_left -= dt;
            else if (objs[i].alive && chance(&rng, c->p_burst * dt))
                objs[i].burst_left = c->burst_secs * range(&rng, 0.5, 1.5);
        }
        for (int i = 0; i < max_objs && r == 0; i++) {
            sobj_t *o = &objs[i];
            if (!o->alive)
                continue;
            /* occlusion: the share of the box behind a nearer (lower) object */
            double area = o->w * o->h, hidden = 0;
            for (int j = 0; j < max_objs; j++)
                if (j != i && objs[j].alive && objs[j].foot > o->foot)
                    hidden = fmax(hidden, inter(boxes[i], boxes[j]) / area);
            double b[4] = {boxes[i][0], boxes[i][1], boxes[i][2], boxes[i][3]};
            if (1.0 - hidden < c->min_vis || !clip(b, c->width, c->height))
                continue;
            r = push(&gt, (mot_row_t){f, o->id, (float)b[0], (float)b[1], (float)b[2], (float)b[3], 1, o->label});
            if (r || o->burst_left > 0 || chance(&rng, c->p_miss))
                continue;
            double bw = b[2] - b[0], bh = b[3] - b[1], d[4];
            for (int k = 0; k < 4; k++)
                d[k] = b[k] + gauss(&rng) * c->jitter * (k % 2 ? bh : bw);
            if (d[2] - d[0] < 2 || d[3] - d[1] < 2)
                continue;
            float score = (float)(chance(&rng, c->p_low) ? range(&rng, 0.15, 0.45) : range(&rng, 0.55, 0.95));
            r = push(&dets, (mot_row_t){f, o->id, (float)d[0], (float)d[1], (float)d[2], (float)d[3], score, o->label});
        }
        int n_fp = poisson(&rng, c->fp_rate);
        for (int k = 0; k < n_fp && r == 0; k++) {
            double h = range(&rng, 0.1, 0.35) * c->height, w = h * range(&rng, 0.3, 0.6);
            double x = range(&rng, 0, c->width - w), y = range(&rng, 0.2 * c->height, c->height - h);
            r = push(&dets, (mot_row_t){f, 0, (float)x, (float)y, (float)(x + w), (float)(y + h),
                                         (float)range(&rng, 0.3, 0.75), 0});
        }
    }
out:
    free(objs);
    free(boxes);
    if (r) {
        free(gt.v);
        free(dets.v);
        return r;
    }
    *ret = (mot_seq_t){.gt = gt.v, .dets = dets.v, .n_gt = gt.n, .n_dets = dets.n, .frames = c->frames,
                       .fps = c->fps, .width = c->width, .height = c->height};
    return 0;
}

void mot_seq_free(mot_seq_t *s)
{
    free(s->gt);
    free(s->dets);
    memset(s, 0, sizeof(*s));
}

int mot_frame_rows(const mot_row_t *rows, int n, int frame, int *pos)
{
    while (*pos < n && rows[*pos].frame < frame)
        (*pos)++;
    int k = *pos;
    while (k < n && rows[k].frame == frame)
        k++;
    return k - *pos;
}

/* ------------------------------------------------------------ evaluator */

static int by_frame(const void *a, const void *b)
{
    const mot_row_t *x = a, *y = b;
    return (x->frame > y->frame) - (x->frame < y->frame);
}

static int by_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static float row_iou(const mot_row_t *a, const mot_row_t *b)
{
    double ab[4] = {a->x1, a->y1, a->x2, a->y2}, bb[4] = {b->x1, b->y1, b->x2, b->y2};
    double i = inter(ab, bb);
    double u = (ab[2] - ab[0]) * (ab[3] - ab[1]) + (bb[2] - bb[0]) * (bb[3] - bb[1]) - i;
    return u > 0 ? (float)(i / u) : 0;
}

/* Sorted unique ids of rows, and each row's index among them. */
static int index_ids(const mot_row_t *rows, int n, int *ret_idx, int *ret_n_ids)
{
    uint64_t *ids = malloc(sizeof(uint64_t) * (size_t)(n ? n : 1));
    if (!ids)
        return -ENOMEM;
    for (int i = 0; i < n; i++)
        ids[i] = rows[i].id;
    qsort(ids, (size_t)n, sizeof(uint64_t), by_u64);
    int u = 0;
    for (int i = 0; i < n; i++)
        if (u == 0 || ids[u - 1] != ids[i])
            ids[u++] = ids[i];
    for (int i = 0; i < n; i++) {
        const uint64_t *p = bsearch(&rows[i].id, ids, (size_t)u, sizeof(uint64_t), by_u64);
        ret_idx[i] = (int)(p - ids);
    }
    free(ids);
    *ret_n_ids = u;
    return 0;
}

int mot_eval(const mot_row_t *gt_in, int n_gt, const mot_row_t *hyp_in, int n_hyp, mot_metrics_t *ret)
{
    int r = -ENOMEM, n_g = 0, n_h = 0, max_g = 1, max_h = 1;
    mot_row_t *gt = malloc(sizeof(*gt) * (size_t)(n_gt + 1)), *hyp = malloc(sizeof(*hyp) * (size_t)(n_hyp + 1));
    int *gi = malloc(sizeof(int) * (size_t)(n_gt + 1)), *hi = malloc(sizeof(int) * (size_t)(n_hyp + 1));
    int *last = NULL, *prev = NULL, *prev_next = NULL, *r2c = NULL, *c2r = NULL;
    long *count = NULL;
    float *w = NULL;
    vg_assign_t *fa = NULL, *ga = NULL;
    mot_metrics_t m = {.gt = n_gt, .hyp = n_hyp};
    if (!gt || !hyp || !gi || !hi)
        goto out;
    memcpy(gt, gt_in, sizeof(*gt) * (size_t)n_gt);
    memcpy(hyp, hyp_in, sizeof(*hyp) * (size_t)n_hyp);
    qsort(gt, (size_t)n_gt, sizeof(*gt), by_frame);
    qsort(hyp, (size_t)n_hyp, sizeof(*hyp), by_frame);
    if (index_ids(gt, n_gt, gi, &n_g) || index_ids(hyp, n_hyp, hi, &n_h))
        goto out;
    m.gt_ids = n_g;
    m.hyp_ids = n_h;
    int last_frame = 0;
    if (n_gt)
        last_frame = gt[n_gt - 1].frame;
    if (n_hyp && hyp[n_hyp - 1].frame > last_frame)
        last_frame = hyp[n_hyp - 1].frame;
    for (int f = 0, pg = 0, ph = 0; f <= last_frame; f++) {
        int a = mot_frame_rows(gt, n_gt, f, &pg), b = mot_frame_rows(hyp, n_hyp, f, &ph);
        max_g = a > max_g ? a : max_g;
        max_h = b > max_h ? b : max_h;
    }
    last = malloc(sizeof(int) * (size_t)(n_g + 1));      /* hyp index last matched, ever */
    prev = malloc(sizeof(int) * (size_t)(n_g + 1));      /* hyp index matched in the previous frame */
    prev_next = malloc(sizeof(int) * (size_t)(n_g + 1));
    count = calloc((size_t)(n_g + 1) * (size_t)(n_h + 1), sizeof(long));
    int side = (max_g > max_h ? max_g : max_h) + (n_g > n_h ? n_g : n_h) + 1;
    r2c = malloc(sizeof(int) * (size_t)side);
    c2r = malloc(sizeof(int) * (size_t)side);
    size_t wn = (size_t)max_g * (size_t)max_h;
    if ((size_t)(n_g + 1) * (size_t)(n_h + 1) > wn)
        wn = (size_t)(n_g + 1) * (size_t)(n_h + 1);
    w = malloc(sizeof(float) * wn);
    if (!last || !prev || !prev_next || !count || !r2c || !c2r || !w)
        goto out;
    if ((r = vg_assign_new(max_g, max_h, &fa)) < 0 || (r = vg_assign_new(n_g + 1, n_h + 1, &ga)) < 0)
        goto out;
    r = -ENOMEM;
    for (int i = 0; i < n_g; i++)
        last[i] = prev[i] = -1;

    for (int f = 0, pg = 0, ph = 0; f <= last_frame; f++) {
        int a = mot_frame_rows(gt, n_gt, f, &pg), b = mot_frame_rows(hyp, n_hyp, f, &ph);
        const mot_row_t *G = gt + pg, *H = hyp + ph;
        const int *GI = gi + pg, *HI = hi + ph;
        for (int i = 0; i < a; i++)
            for (int j = 0; j < b; j++) {
                float iou = row_iou(&G[i], &H[j]);
                if (iou >= 0.5f)
                    count[(size_t)GI[i] * (size_t)n_h + (size_t)HI[j]]++;
                /* matches of the previous frame that still hold are kept */
                w[(size_t)i * (size_t)b + (size_t)j] =
                    iou < 0.5f ? 0.0f : (prev[GI[i]] == HI[j] ? 1000.0f : 1.0f + iou);
            }
        for (int i = 0; i < a; i++)
            prev_next[GI[i]] = -1;
        int pairs = a && b ? vg_assign_max_weight(fa, w, a, b, r2c, c2r) : 0;
        if (pairs < 0) {
            r = pairs;
            goto out;
        }
        for (int i = 0; i < a; i++) {
            int g = GI[i];
            if (!a || !b || r2c[i] < 0) {
                m.fn++;
                continue;
            }
            int h = HI[r2c[i]];
            m.tp++;
            if (last[g] >= 0 && last[g] != h)
                m.idsw++;
            last[g] = h;
            prev_next[g] = h;
        }
        m.fp += b - pairs;
        for (int i = 0; i < n_g; i++)
            prev[i] = -1;
        for (int i = 0; i < a; i++)
            prev[GI[i]] = prev_next[GI[i]];
    }
    m.mota = n_gt ? 1.0 - (double)(m.fn + m.fp + m.idsw) / (double)n_gt : 0;

    /* IDF1: the one-to-one trajectory matching with the most overlapping frames */
    for (size_t k = 0; k < (size_t)n_g * (size_t)n_h; k++)
        w[k] = (float)count[k];
    if (n_g && n_h) {
        int pairs = vg_assign_max_weight(ga, w, n_g, n_h, r2c, c2r);
        if (pairs < 0) {
            r = pairs;
            goto out;
        }
        for (int i = 0; i < n_g; i++)
            if (r2c[i] >= 0)
                m.idtp += count[(size_t)i * (size_t)n_h + (size_t)r2c[i]];
    }
    m.idf1 = n_gt + n_hyp ? 2.0 * (double)m.idtp / (double)(n_gt + n_hyp) : 0;
    *ret = m;
    r = 0;
out:
    free(gt);
    free(hyp);
    free(gi);
    free(hi);
    free(last);
    free(prev);
    free(prev_next);
    free(count);
    free(r2c);
    free(c2r);
    free(w);
    vg_assign_free(&fa);
    vg_assign_free(&ga);
    return r;
}

/* ------------------------------------------------------------ driver */

int mot_run_vigil(const mot_seq_t *s, const vg_track_config_t *cfg, mot_row_t **ret_rows, int *ret_n,
                  double *ret_ns_per_frame)
{
    vg_track_t *t = NULL;
    int r = vg_track_new(cfg, &t);
    if (r < 0)
        return r;
    vg_det_t *dets = malloc(sizeof(*dets) * (size_t)cfg->max_dets);
    rows_t out = {0};
    double ns = 0;
    if (!dets) {
        r = -ENOMEM;
        goto out;
    }
    for (int f = 1, pos = 0; f <= s->frames && r == 0; f++) {
        int n = mot_frame_rows(s->dets, s->n_dets, f, &pos);
        if (n > cfg->max_dets)
            n = cfg->max_dets;
        for (int i = 0; i < n; i++) {
            const mot_row_t *d = &s->dets[pos + i];
            dets[i] = (vg_det_t){d->x1, d->y1, d->x2, d->y2, d->score, d->label};
        }
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        r = vg_track_update(t, (f - 1) / s->fps, dets, n, NULL);
        clock_gettime(CLOCK_MONOTONIC, &b);
        ns += (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
        const vg_track_obj_t *objs;
        int no = vg_track_objects(t, &objs);
        for (int i = 0; i < no && r == 0; i++) {
            const vg_track_obj_t *o = &objs[i];
            if (o->confirmed && o->det_index >= 0 && !o->ended)
                r = push(&out, (mot_row_t){f, o->id, o->box.x1, o->box.y1, o->box.x2, o->box.y2, o->score, o->label});
        }
    }
out:
    vg_track_free(&t);
    free(dets);
    if (r < 0) {
        free(out.v);
        return r;
    }
    *ret_rows = out.v;
    *ret_n = out.n;
    if (ret_ns_per_frame)
        *ret_ns_per_frame = s->frames ? ns / s->frames : 0;
    return 0;
}
