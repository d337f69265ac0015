/*
 * Synthetic multi-object tracking sequences with known ground truth, a
 * CLEAR-MOT / IDF1 evaluator, and a driver that runs vigil's tracker on a
 * sequence: shared by tests/test_track.c and bench/track.
 *
 * The generator moves people (and the odd car) across a frame: they enter at
 * an edge, walk at their own speed, cross and occlude each other (the nearer
 * one, lower in the picture, hides the farther one), stop for a while and go
 * on; parked cars stay put. A simulated detector sees each visible object
 * with jittered box edges, misses some (single frames and bursts), scores
 * some low, and adds one-frame false positives. Everything comes from one
 * seeded generator (splitmix64): a seed gives the same sequence anywhere.
 *
 * Thread: the caller's; allocations are the caller's to free (mot_seq_free).
 */
#ifndef MOT_SYNTH_H
#define MOT_SYNTH_H

#include <stdbool.h>
#include <stdint.h>

#include "pipeline/track/track.h"

/* One box of one frame: ground truth (score 1), a detection (id: the object
 * it came from, 0 for a false positive) or a tracker output (id: track). */
typedef struct {
    int frame; /* 1-based, as in MOT files */
    uint64_t id;
    float x1, y1, x2, y2;
    float score;
    int label;
} mot_row_t;

typedef struct {
    uint64_t seed;
    int frames;
    double fps;
    int width, height;
    int objects;       /* moving objects in view at once, about */
    float speed;       /* walking speed, box heights per second (mean) */
    float p_stop;      /* per moving object and second: stops for a while */
    float stop_secs;   /* mean stop */
    int parked;        /* cars that stay put the whole sequence */
    float p_miss;      /* per detection: missed */
    float p_burst;     /* per object and second: a run of misses starts */
    float burst_secs;  /* mean run of misses */
    float fp_rate;     /* one-frame false positives per frame (mean) */
    float jitter;      /* box edge noise, standard deviation as a fraction of the size */
    float p_low;       /* per detection: scored low (0.15 .. 0.45) */
    float min_vis;     /* visible share below which an object is neither detected nor in the truth */
} mot_synth_config_t;

typedef struct {
    mot_row_t *gt, *dets;
    int n_gt, n_dets;
    int frames;
    double fps;
    int width, height;
} mot_seq_t;

#define MOT_SYNTH_PRESETS 4

/* Settings of preset k (0 sparse crossing, 1 crowd of 20, 2 low fps,
 * 3 noisy detector) with a seed. */
void mot_synth_preset(int k, uint64_t seed, mot_synth_config_t *ret);
const char *mot_synth_preset_name(int k);

/* Generates a sequence; rows sorted by frame. 0 or -ENOMEM. */
int mot_synth(const mot_synth_config_t *c, mot_seq_t *ret);
void mot_seq_free(mot_seq_t *s);

/* CLEAR-MOT (IoU >= 0.5; a match is kept from frame to frame while it holds;
 * an ID switch is a truth object matched to another hypothesis than its last
 * one) and IDF1 (a global one-to-one matching of truth to hypothesis
 * trajectories that maximizes the frames where the pair overlaps by
 * IoU >= 0.5, solved exactly). */
typedef struct {
    long gt, hyp;          /* boxes */
    long tp, fn, fp, idsw;
    double mota;           /* 1 - (fn + fp + idsw) / gt */
    long idtp;
    double idf1;           /* 2 idtp / (gt + hyp) */
    int gt_ids, hyp_ids;   /* trajectories */
} mot_metrics_t;

/* gt and hyp in any order (copied and sorted inside). 0 or -ENOMEM. */
int mot_eval(const mot_row_t *gt, int n_gt, const mot_row_t *hyp, int n_hyp, mot_metrics_t *ret);

/*
 * Runs vigil's tracker over a sequence's detections (every frame is a
 * detector run at time (frame - 1) / fps) and writes its output as MOT rows:
 * each confirmed track matched in that frame, with its filtered box.
 * *ret_rows is malloc'd (caller frees). ret_ns_per_frame (may be NULL): mean
 * wall time of vg_track_update. 0 or negative errno.
 */
int mot_run_vigil(const mot_seq_t *s, const vg_track_config_t *cfg, mot_row_t **ret_rows, int *ret_n,
                  double *ret_ns_per_frame);

/* The rows of one frame: index of the first row of `frame` in rows sorted by
 * frame, and how many (0 if none); *pos is a cursor that only moves on. */
int mot_frame_rows(const mot_row_t *rows, int n, int frame, int *pos);

#endif
