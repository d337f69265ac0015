/*
 * bench/track: vigil's tracker beside SORT on the synthetic MOT sequences
 * of tests/util/mot_synth.c (several presets, several seeds each), same
 * detections, one run: MOTA, IDF1, ID switches and microseconds per frame.
 *
 * The anchor is SORT as published (Bewley et al. 2016, github.com/abewley/
 * sort, sort.py): a 7-state Kalman filter on (u, v, s = area, r = aspect)
 * with filterpy's matrices, Hungarian assignment maximizing IoU, matches
 * under IoU 0.3 rejected, max_age 1, min_hits 3, output only for tracks
 * updated this frame with a hit streak >= min_hits (or in the first
 * min_hits frames). SORT has no low-score stage: it gets the detections at
 * or above the detection threshold (0.5), vigil gets them all (it ignores
 * those under track.low_score itself).
 *
 * Goals (issue 11): MOTA >= SORT + 5 points, ID switches <= half of SORT's,
 * <= 20 us per frame with 20 objects (the crowd20 preset).
 * Usage: bench_track [--seeds N]   (default 3)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mot_synth.h"
#include "pipeline/track/assign.h"

/* ------------------------------------------------------------ SORT */

#define NX 7
#define NZ 4
#define SORT_MAX 512

typedef struct {
    double x[NX], P[NX][NX];
    int time_since_update, hits, hit_streak, age;
    uint64_t id;
} ktrk_t;

typedef struct {
    ktrk_t trk[SORT_MAX];
    int n, frame_count, max_age, min_hits;
    double iou_threshold;
    uint64_t next_id;
    vg_assign_t *assign;
    float w[SORT_MAX * 256];
    int r2c[SORT_MAX], c2r[SORT_MAX];
} sort_t;

static void box_to_z(const float b[4], double z[4])
{
    double w = b[2] - b[0], h = b[3] - b[1];
    z[0] = b[0] + w / 2;
    z[1] = b[1] + h / 2;
    z[2] = w * h;
    z[3] = w / h;
}

static void x_to_box(const double *x, float b[4])
{
    double w = sqrt(fmax(x[2] * x[3], 0)), h = w > 0 ? x[2] / w : 0;
    b[0] = (float)(x[0] - w / 2);
    b[1] = (float)(x[1] - h / 2);
    b[2] = (float)(x[0] + w / 2);
    b[3] = (float)(x[1] + h / 2);
}

static void ktrk_init(ktrk_t *k, const float b[4], uint64_t id)
{
    memset(k, 0, sizeof(*k));
    box_to_z(b, k->x);
    for (int i = 0; i < NX; i++)
        k->P[i][i] = i < 4 ? 10 : 10000; /* P[4:,4:] *= 1000; P *= 10 */
    k->id = id;
}

/* F: u += u', v += v', s += s' */
static void ktrk_predict(ktrk_t *k)
{
    if (k->x[6] + k->x[2] <= 0)
        k->x[6] = 0;
    k->x[0] += k->x[4];
    k->x[1] += k->x[5];
    k->x[2] += k->x[6];
    double FP[NX][NX], P[NX][NX];
    for (int i = 0; i < NX; i++)
        for (int j = 0; j < NX; j++)
            FP[i][j] = k->P[i][j] + (i < 3 ? k->P[i + 4][j] : 0);
    for (int i = 0; i < NX; i++)
        for (int j = 0; j < NX; j++)
            P[i][j] = FP[i][j] + (j < 3 ? FP[i][j + 4] : 0);
    static const double Q[NX] = {1, 1, 1, 1, 0.01, 0.01, 0.0001};
    for (int i = 0; i < NX; i++)
        P[i][i] += Q[i];
    memcpy(k->P, P, sizeof(P));
    k->age++;
    if (k->time_since_update > 0)
        k->hit_streak = 0;
    k->time_since_update++;
}

static void ktrk_update(ktrk_t *k, const float b[4])
{
    k->time_since_update = 0;
    k->hits++;
    k->hit_streak++;
    double z[NZ], y[NZ], S[NZ][NZ], Si[NZ][NZ], K[NX][NZ];
    box_to_z(b, z);
    static const double R[NZ] = {1, 1, 10, 10};
    for (int i = 0; i < NZ; i++) {
        y[i] = z[i] - k->x[i];
        for (int j = 0; j < NZ; j++)
            S[i][j] = k->P[i][j] + (i == j ? R[i] : 0);
    }
    /* 4x4 inverse by Gauss-Jordan */
    double A[NZ][2 * NZ];
    for (int i = 0; i < NZ; i++)
        for (int j = 0; j < 2 * NZ; j++)
            A[i][j] = j < NZ ? S[i][j] : (j - NZ == i);
    for (int c = 0; c < NZ; c++) {
        int piv = c;
        for (int r = c + 1; r < NZ; r++)
            if (fabs(A[r][c]) > fabs(A[piv][c]))
                piv = r;
        for (int j = 0; j < 2 * NZ; j++) {
            double t = A[c][j];
            A[c][j] = A[piv][j];
            A[piv][j] = t;
        }
        double d = A[c][c];
        for (int j = 0; j < 2 * NZ; j++)
            A[c][j] /= d;
        for (int r = 0; r < NZ; r++)
            if (r != c) {
                double f = A[r][c];
                for (int j = 0; j < 2 * NZ; j++)
                    A[r][j] -= f * A[c][j];
            }
    }
    for (int i = 0; i < NZ; i++)
        for (int j = 0; j < NZ; j++)
            Si[i][j] = A[i][j + NZ];
    for (int i = 0; i < NX; i++) /* K = P H' S^-1 */
        for (int j = 0; j < NZ; j++) {
            K[i][j] = 0;
            for (int m = 0; m < NZ; m++)
                K[i][j] += k->P[i][m] * Si[m][j];
        }
    for (int i = 0; i < NX; i++)
        for (int j = 0; j < NZ; j++)
            k->x[i] += K[i][j] * y[j];
    double P[NX][NX]; /* (I - K H) P */
    for (int i = 0; i < NX; i++)
        for (int j = 0; j < NX; j++) {
            double s = k->P[i][j];
            for (int m = 0; m < NZ; m++)
                s -= K[i][m] * k->P[m][j];
            P[i][j] = s;
        }
    memcpy(k->P, P, sizeof(P));
}

static float box_iou(const float a[4], const float b[4])
{
    float iw = fminf(a[2], b[2]) - fmaxf(a[0], b[0]), ih = fminf(a[3], b[3]) - fmaxf(a[1], b[1]);
    if (iw <= 0 || ih <= 0)
        return 0;
    float i = iw * ih, u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - i;
    return u > 0 ? i / u : 0;
}

/* One frame of sort.py's Sort.update; appends its output to rows. */
static int sort_update(sort_t *s, const float (*dets)[4], int nd, int frame, mot_row_t *out, int max_out)
{
    s->frame_count++;
    float tb[SORT_MAX][4];
    int k = 0;
    for (int i = 0; i < s->n; i++) {
        ktrk_predict(&s->trk[i]);
        x_to_box(s->trk[i].x, tb[i]);
        if (isfinite(tb[i][0]) && isfinite(tb[i][1]) && isfinite(tb[i][2]) && isfinite(tb[i][3])) {
            s->trk[k] = s->trk[i];
            memcpy(tb[k], tb[i], sizeof(tb[i]));
            k++;
        }
    }
    s->n = k;
    int nt = s->n;
    for (int i = 0; i < nt; i++)
        for (int j = 0; j < nd; j++)
            s->w[i * nd + j] = box_iou(tb[i], dets[j]);
    if (nt && nd)
        vg_assign_max_weight(s->assign, s->w, nt, nd, s->r2c, s->c2r);
    else
        for (int j = 0; j < nd; j++)
            s->c2r[j] = -1;
    for (int i = 0; i < nt; i++) {
        int j = nd ? s->r2c[i] : -1;
        if (j >= 0 && s->w[i * nd + j] < s->iou_threshold) {
            s->c2r[j] = -1;
            j = -1;
        }
        if (j >= 0)
            ktrk_update(&s->trk[i], dets[j]);
    }
    for (int j = 0; j < nd && s->n < SORT_MAX; j++)
        if (s->c2r[j] < 0)
            ktrk_init(&s->trk[s->n++], dets[j], s->next_id++);
    int n_out = 0;
    k = 0;
    for (int i = 0; i < s->n; i++) {
        ktrk_t *t = &s->trk[i];
        if (t->time_since_update < 1 && (t->hit_streak >= s->min_hits || s->frame_count <= s->min_hits) &&
            n_out < max_out) {
            float b[4];
            x_to_box(t->x, b);
            out[n_out++] = (mot_row_t){frame, t->id, b[0], b[1], b[2], b[3], 1, 0};
        }
        if (t->time_since_update <= s->max_age)
            s->trk[k++] = *t;
    }
    s->n = k;
    return n_out;
}

static int run_sort(const mot_seq_t *q, float det_threshold, mot_row_t **ret, int *ret_n, double *ret_ns)
{
    sort_t *s = calloc(1, sizeof(*s));
    int cap = 1024, n = 0;
    mot_row_t *rows = malloc(sizeof(*rows) * (size_t)cap);
    if (!s || !rows || vg_assign_new(SORT_MAX, 256, &s->assign) < 0) {
        free(s);
        free(rows);
        return -1;
    }
    s->max_age = 1;
    s->min_hits = 3;
    s->iou_threshold = 0.3;
    s->next_id = 1;
    double ns = 0;
    float dets[256][4];
    mot_row_t out[SORT_MAX];
    for (int f = 1, pos = 0; f <= q->frames; f++) {
        int nr = mot_frame_rows(q->dets, q->n_dets, f, &pos), nd = 0;
        for (int i = 0; i < nr && nd < 256; i++) {
            const mot_row_t *d = &q->dets[pos + i];
            if (d->score >= det_threshold) {
                float b[4] = {d->x1, d->y1, d->x2, d->y2};
                memcpy(dets[nd++], b, sizeof(b));
            }
        }
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        int no = sort_update(s, (const float (*)[4])dets, nd, f, out, SORT_MAX);
        clock_gettime(CLOCK_MONOTONIC, &b);
        ns += (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
        if (n + no > cap) {
            cap = 2 * (n + no);
            mot_row_t *r2 = realloc(rows, sizeof(*rows) * (size_t)cap);
            if (!r2)
                break;
            rows = r2;
        }
        memcpy(rows + n, out, sizeof(*out) * (size_t)no);
        n += no;
    }
    vg_assign_free(&s->assign);
    free(s);
    *ret = rows;
    *ret_n = n;
    *ret_ns = q->frames ? ns / q->frames : 0;
    return 0;
}

/* ------------------------------------------------------------ driver */

typedef struct {
    long gt, hyp, fn, fp, idsw, idtp;
    double ns, frames;
} total_t;

static void add(total_t *t, const mot_metrics_t *m, double ns_per_frame, int frames)
{
    t->gt += m->gt;
    t->hyp += m->hyp;
    t->fn += m->fn;
    t->fp += m->fp;
    t->idsw += m->idsw;
    t->idtp += m->idtp;
    t->ns += ns_per_frame * frames;
    t->frames += frames;
}

static double mota(const total_t *t) { return 1.0 - (double)(t->fn + t->fp + t->idsw) / (double)t->gt; }
static double idf1(const total_t *t) { return 2.0 * (double)t->idtp / (double)(t->gt + t->hyp); }

int main(int argc, char **argv)
{
    int seeds = 3;
    if (argc == 3 && strcmp(argv[1], "--seeds") == 0)
        seeds = atoi(argv[2]);
    else if (argc != 1) {
        fprintf(stderr, "usage: bench_track [--seeds N]\n");
        return 2;
    }
    vg_track_config_t cfg;
    vg_track_config_default(&cfg);
    total_t tv = {0}, ts = {0}, crowd_v = {0}, crowd_s = {0};
    printf("%-9s %4s %6s | %-33s | %-33s\n", "sequence", "seed", "frames", "vigil: MOTA  IDF1   IDsw  us/frame",
           "SORT: MOTA  IDF1   IDsw  us/frame");
    for (int p = 0; p < MOT_SYNTH_PRESETS; p++) {
        for (int seed = 1; seed <= seeds; seed++) {
            mot_synth_config_t sc;
            mot_synth_preset(p, (uint64_t)seed, &sc);
            mot_seq_t s;
            if (mot_synth(&sc, &s) < 0)
                return 1;
            mot_row_t *hv, *hs;
            int nv, ns;
            double us_v, us_s;
            mot_metrics_t mv, ms;
            if (mot_run_vigil(&s, &cfg, &hv, &nv, &us_v) < 0 ||
                run_sort(&s, cfg.defaults.min_score, &hs, &ns, &us_s) < 0 ||
                mot_eval(s.gt, s.n_gt, hv, nv, &mv) < 0 || mot_eval(s.gt, s.n_gt, hs, ns, &ms) < 0)
                return 1;
            printf("%-9s %4d %6d |       %5.1f %5.1f %6ld %9.2f |      %5.1f %5.1f %6ld %9.2f\n",
                   mot_synth_preset_name(p), seed, s.frames, 100 * mv.mota, 100 * mv.idf1, mv.idsw, us_v / 1000,
                   100 * ms.mota, 100 * ms.idf1, ms.idsw, us_s / 1000);
            add(&tv, &mv, us_v, s.frames);
            add(&ts, &ms, us_s, s.frames);
            if (p == 1) {
                add(&crowd_v, &mv, us_v, s.frames);
                add(&crowd_s, &ms, us_s, s.frames);
            }
            free(hv);
            free(hs);
            mot_seq_free(&s);
        }
    }
    printf("%-9s %4s %6.0f |       %5.1f %5.1f %6ld %9.2f |      %5.1f %5.1f %6ld %9.2f\n", "all", "", tv.frames,
           100 * mota(&tv), 100 * idf1(&tv), tv.idsw, tv.ns / tv.frames / 1000, 100 * mota(&ts), 100 * idf1(&ts),
           ts.idsw, ts.ns / ts.frames / 1000);
    double crowd_us = crowd_v.ns / crowd_v.frames / 1000;
    bool g1 = mota(&tv) >= mota(&ts) + 0.05, g2 = 2 * tv.idsw <= ts.idsw, g3 = crowd_us <= 20;
    printf("goal MOTA >= SORT + 5 points: %.1f vs %.1f: %s\n", 100 * mota(&tv), 100 * mota(&ts),
           g1 ? "met" : "NOT met");
    printf("goal ID switches <= SORT / 2: %ld vs %ld: %s\n", tv.idsw, ts.idsw, g2 ? "met" : "NOT met");
    printf("goal <= 20 us/frame with 20 objects (crowd20): %.2f us (SORT %.2f): %s\n", crowd_us,
           crowd_s.ns / crowd_s.frames / 1000, g3 ? "met" : "NOT met");
    return 0;
}
