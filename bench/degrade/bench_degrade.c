/*
 * bench/degrade: does correction help recognition, across families of
 * degradations, and does it invent objects? The default detector (NanoDet,
 * models/) runs on the clean frames of a clip (vtest.avi by default) and on
 * degraded versions made in memory from the same decoded frames, with
 * corrections off and with `auto`.
 *
 * The degradations are the families of degrade/family.h (night, fog, rain,
 * IR-like), each drawn at VG_DEGRADE_LEVELS strengths in a tuning part and a
 * held-out part of its parameter space, each raw and JPEG-compressed. Every
 * sample runs on its own segment of consecutive frames (FRAMES long) with its
 * own vg_correct state that sees every frame of the segment in order, as a
 * camera would; the detector runs on every STRIDE-th frame. Samples of the
 * same level and variant use the same segment in both parts, so the two
 * parts differ only in the degradation.
 *
 * Detections are matched to the clean frame's (same label, IoU >= 0.5,
 * greedy by score). Printed per family, part and strength, and per part:
 * reference count, recall off / auto, share of the lost detections
 * recovered, false positives per frame (detections the clean frame does not
 * have) off / auto, the corrections chosen (share of frames) and the
 * correction's CPU per frame against the detector's (thread CPU time).
 * "phant" counts the false positives that match nothing in the clean frame
 * even among its detections down to score 0.2 (LOOSE): the others are real
 * objects the clean frame holds below the model's threshold, a box moved
 * off its object, or another label on the same object.
 * With auto, detections below vg_correct_min_score (the model's threshold
 * raised with the gain the corrections applied) are dropped, as the analysis
 * is to do.
 *
 * usage: bench_degrade [CLIP [STRIDE [MANIFEST [PRECISION]]]]
 * env VG_DEGRADE_FRAMES=n   segment length (default 60)
 *     VG_DEGRADE_WARM=n     frames of each segment the corrections see
 *                           before the detector counts (default 10: a
 *                           camera has watched its scene before; auto's
 *                           hysteresis needs 5 frames to switch on)
 *     VG_DEGRADE_VARIANTS=n draws per level and part (default 2: raw, JPEG)
 *     VG_DEGRADE_ONLY=night,fog  only those families (and clean)
 *     VG_DEGRADE_<FAMILY>=low_light,denoise,...  a fixed list instead of auto
 *     VG_DEGRADE_VERBOSE=1  one line per sample with its parameters
 *     VG_DEGRADE_NOSTREAKS=1  rain without its streaks (what the darkening,
 *                           noise and compression cost alone)
 *     VG_DEGRADE_SCORES=file  one line per auto detection (score, matched,
 *                           gains), to study false positives
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libavcodec/avcodec.h>

#include "capture/reader.h"
#include "family.h"
#include "models/engine/engine.h"
#include "models/heads/heads.h"
#include "models/heads/manifest.h"
#include "pipeline/correct/correct.h"
#include "pipeline/correct/tensor_prep.h"

enum { MAXD = 256 };
#define LOOSE 0.2f /* score down to which the clean frame's detections count as there */

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

typedef struct {
    vg_engine_t *eng;
    vg_head_t *head;
    vg_tensor_prep_t *prep;
    int out_index[VG_HEAD_MAX_OUTPUTS];
    vg_head_tensor_t outs[VG_HEAD_MAX_OUTPUTS];
    int n_out;
    float threshold; /* the model's score threshold (its manifest's) */
    double ms;
    long runs;
} detector_t;

static int detector_open(detector_t *d, const char *manifest, const char *precision)
{
    char err[512], path[1024];
    vg_manifest_t *m = NULL;
    int r = vg_manifest_load(manifest, &m, err, sizeof(err));
    if (r < 0) {
        fprintf(stderr, "bench_degrade: manifest '%s': %s\n", manifest, err);
        return r;
    }
    const char *slash = strrchr(manifest, '/');
    snprintf(path, sizeof(path), "%.*s%s", slash ? (int)(slash - manifest + 1) : 0, manifest,
             m->onnx);
    vg_engine_options_t opt = { .threads = 1, .precision = precision };
    if ((r = vg_engine_load(path, &opt, &d->eng, err, sizeof(err))) < 0) {
        fprintf(stderr, "bench_degrade: model '%s': %s\n", path, err);
        goto done;
    }
    d->threshold = m->head.threshold;
    /* decode down to LOOSE: the clean frame's faint detections tell a
     * phantom from a real object the correction made clearer */
    if (m->head.threshold > LOOSE)
        m->head.threshold = LOOSE;
    if ((r = vg_head_new(&m->head, &d->head)) < 0)
        goto done;
    d->n_out = m->n_outputs;
    for (int i = 0; i < m->n_outputs; i++) {
        d->out_index[i] = -1;
        for (int j = 0; j < vg_engine_n_outputs(d->eng); j++)
            if (!strcmp(vg_engine_output(d->eng, j)->name, m->output_names[i]))
                d->out_index[i] = j;
        if (d->out_index[i] < 0) {
            fprintf(stderr, "bench_degrade: output '%s' not in the model\n", m->output_names[i]);
            r = -EINVAL;
            goto done;
        }
        const vg_tensor_desc_t *td = vg_engine_output(d->eng, d->out_index[i]);
        d->outs[i].ndim = td->ndim;
        for (int k = 0; k < td->ndim && k < 4; k++)
            d->outs[i].dims[k] = (int)td->dims[k];
    }
    vg_tensor_prep_config_t pc = {
        .width = m->input_w, .height = m->input_h,
        .layout = m->nchw ? VG_TENSOR_NCHW : VG_TENSOR_NHWC,
        .color = !strcmp(m->color, "bgr") ? VG_TENSOR_BGR
                 : !strcmp(m->color, "gray") ? VG_TENSOR_GRAY : VG_TENSOR_RGB,
        .fit = m->letterbox ? VG_TENSOR_LETTERBOX : VG_TENSOR_STRETCH,
        .pad = m->pad, /* letterbox border value from the manifest */
    };
    memcpy(pc.mean, m->mean, sizeof(pc.mean));
    memcpy(pc.scale, m->scale, sizeof(pc.scale));
    r = vg_tensor_prep_new(&pc, &d->prep);
done:
    vg_manifest_free(&m);
    return r;
}

static int detect(detector_t *d, const vg_image_t *im, vg_det_t *dets)
{
    double t0 = now_ms();
    vg_tensor_xform_t tx;
    int r = vg_tensor_prep_run(d->prep, im, vg_engine_input_buffer(d->eng, 0), &tx);
    if (r < 0 || (r = vg_engine_run(d->eng)) < 0)
        return r;
    for (int i = 0; i < d->n_out; i++)
        d->outs[i].data = vg_engine_output_buffer(d->eng, d->out_index[i]);
    vg_head_xform_t hx = { tx.scale_x, tx.scale_y, tx.pad_x, tx.pad_y, im->width, im->height };
    int n = vg_head_decode(d->head, d->outs, d->n_out, &hx, dets, MAXD);
    d->ms += now_ms() - t0;
    d->runs++;
    return n;
}

typedef struct {
    long ref, hit[2], dets[2], det_frames, corr_frames;
    long phantom[2]; /* detections matching nothing in the clean frame, even above LOOSE */
    double corr_ms;
    long active[4];
    int switches;
} tally_t;

static void tally_add(tally_t *a, const tally_t *b)
{
    a->ref += b->ref;
    a->det_frames += b->det_frames;
    a->corr_frames += b->corr_frames;
    a->corr_ms += b->corr_ms;
    a->switches += b->switches;
    for (int i = 0; i < 2; i++) {
        a->phantom[i] += b->phantom[i];
        a->hit[i] += b->hit[i];
        a->dets[i] += b->dets[i];
    }
    for (int i = 0; i < 4; i++)
        a->active[i] += b->active[i];
}

typedef struct {
    vg_degrade_params_t p;
    int start;
    vg_correct_state_t *st;
    uint64_t rng;
    int last_mask;
    tally_t t;
} sample_t;

/* One line per auto detection: family part level variant matched score and
 * what the corrections did (VG_DEGRADE_SCORES=file, to study phantoms). */
static void dump_scores(FILE *f, const sample_t *s, const vg_det_t *ref, int nr,
                        const vg_det_t *got, int ng)
{
    vg_correct_stats_t cs;
    vg_correct_get_stats(s->st, &cs);
    for (int j = 0; j < ng; j++) {
        int tp = 0;
        float best = 0;
        for (int i = 0; i < nr; i++) {
            float iou = vg_head_iou(&ref[i], &got[j]);
            tp |= ref[i].label == got[j].label && iou >= 0.5f;
            best = iou > best ? iou : best;
        }
        fprintf(f, "%s %d %d %d %d %.3f %d %.2f %.2f %.2f %.2f %.3f %.3f %d %.2f\n",
                vg_degrade_family_name(s->p.family), s->p.part, s->p.level, s->p.variant, tp,
                got[j].score, (int)vg_correct_active(s->st), cs.gain, cs.detail_gain, cs.noise,
                cs.luma_mean, (got[j].x2 - got[j].x1) * (got[j].y2 - got[j].y1) / 1e4, cs.dark_mean,
                got[j].label, best);
    }
}

/* Drop detections below min (keeps the best-first order). */
static int keep_above(vg_det_t *d, int n, float min)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        if (d[i].score >= min)
            d[k++] = d[i];
    return k;
}

static void print_row(const char *fam, const char *part, const char *level, const tally_t *t,
                      double det_ms)
{
    double r0 = t->ref ? (double)t->hit[0] / t->ref : 0;
    double r1 = t->ref ? (double)t->hit[1] / t->ref : 0;
    char rec[32] = "-";
    if (r0 < 0.999)
        snprintf(rec, sizeof(rec), "%.0f%%", 100.0 * (r1 - r0) / (1.0 - r0));
    char chose[160] = "";
    int len = 0;
    for (int b = 0; b < 4; b++)
        if (t->active[b])
            len += snprintf(chose + len, sizeof(chose) - (size_t)len, "%s%s %.0f%%",
                            len ? ", " : "", vg_correct_name(1u << b),
                            100.0 * t->active[b] / t->corr_frames);
    if (t->switches)
        snprintf(chose + len, sizeof(chose) - (size_t)len, "; %d switch%s", t->switches,
                 t->switches == 1 ? "" : "es");
    double nf = t->det_frames ? (double)t->det_frames : 1;
    double cm = t->corr_frames ? t->corr_ms / t->corr_frames : 0;
    printf("%-6s %-8s %-5s %6ld %7.1f%% %7.1f%% %9s %6.3f %6.3f %+6.3f %6.3f %6.3f %6.1f%%  %s\n",
           fam, part, level, t->ref, 100 * r0, 100 * r1, rec, (t->dets[0] - t->hit[0]) / nf,
           (t->dets[1] - t->hit[1]) / nf, ((t->dets[1] - t->hit[1]) - (t->dets[0] - t->hit[0])) / nf,
           t->phantom[0] / nf, t->phantom[1] / nf, 100.0 * cm / det_ms, len ? chose : "nothing");
}

int main(int argc, char **argv)
{
    const char *dir = getenv("VIGIL_CACHE_DIR");
    if (!dir || !*dir)
        dir = VIGIL_CACHE_DIR;
    char clip[1024], manifest[1024];
    snprintf(clip, sizeof(clip), "%s/footage/vtest.avi", dir);
    snprintf(manifest, sizeof(manifest), "%s/models/nanodet.json", dir);
    if (argc > 1 && *argv[1])
        snprintf(clip, sizeof(clip), "%s", argv[1]);
    int stride = argc > 2 ? atoi(argv[2]) : 3;
    if (argc > 3)
        snprintf(manifest, sizeof(manifest), "%s", argv[3]);
    const char *precision = argc > 4 ? argv[4] : "fp32";
    if (stride < 1)
        stride = 1;
    const char *e = getenv("VG_DEGRADE_FRAMES");
    int seg = e ? atoi(e) : 60;
    e = getenv("VG_DEGRADE_WARM");
    int warm = e ? atoi(e) : 10;
    e = getenv("VG_DEGRADE_VARIANTS");
    int nvar = e ? atoi(e) : 2;
    const char *only = getenv("VG_DEGRADE_ONLY");
    const bool verbose = getenv("VG_DEGRADE_VERBOSE") != NULL;
    FILE *scores = getenv("VG_DEGRADE_SCORES") ? fopen(getenv("VG_DEGRADE_SCORES"), "w") : NULL;
    if (seg < 1 || nvar < 1 || nvar > 16 || warm < 0 || warm >= seg) {
        fprintf(stderr, "bench_degrade: bad VG_DEGRADE_FRAMES / VG_DEGRADE_VARIANTS\n");
        return 1;
    }

    detector_t det = { 0 };
    if (detector_open(&det, manifest, precision) < 0)
        return 1;

    const vg_reader_config_t rc = { .url = clip, .decode_threads = 1 }; /* one core's work */
    vg_reader_t *video = NULL;
    char why_video[VG_READER_ERROR_MAX];
    if (vg_reader_open(&rc, &video, why_video, sizeof(why_video)) < 0) {
        fprintf(stderr, "bench_degrade: %s\n", why_video);
        return 1;
    }
    const AVStream *vs = vg_reader_stream(video);
    const int W = vs->codecpar->width, H = vs->codecpar->height;
    long nframes = vs->nb_frames;
    if (nframes <= 0)
        nframes = 300;
    if (seg > nframes)
        seg = (int)nframes;

    /* the samples: clean (raw, JPEG) and family x part x level x variant */
    int nsamp = 0;
    sample_t *samp = calloc((size_t)(VG_FAM_N * 2 * VG_DEGRADE_LEVELS * nvar), sizeof(*samp));
    uint32_t fixed[VG_FAM_N] = { 0 };
    const int per_part = VG_DEGRADE_LEVELS * nvar;
    const long room = nframes - seg;
    for (int f = 0; f < VG_FAM_N; f++) {
        if (only && f != VG_FAM_CLEAN && !strstr(only, vg_degrade_family_name(f)))
            continue;
        char env[64];
        snprintf(env, sizeof(env), "VG_DEGRADE_%s", vg_degrade_family_name(f));
        for (char *c = env; *c; c++)
            *c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
        const char *list = getenv(env);
        for (int b = 0; list && b < 4; b++)
            if (strstr(list, vg_correct_name(1u << b)))
                fixed[f] |= 1u << b;
        for (int part = 0; part < (f == VG_FAM_CLEAN ? 1 : 2); part++)
            for (int lv = 0; lv < (f == VG_FAM_CLEAN ? 1 : VG_DEGRADE_LEVELS); lv++)
                for (int v = 0; v < nvar; v++) {
                    sample_t *s = &samp[nsamp++];
                    vg_degrade_sample(f, part, lv, v, &s->p);
                    /* spread over the clip; the same segment in both parts */
                    int k = lv * nvar + v;
                    s->start = room > 0 ? (int)(((long)k * room / per_part + 37L * f) % (room + 1)) : 0;
                    /* the frame noise and streaks of a sample do not depend on
                     * which other samples run */
                    s->rng = 0x2545f4914f6cdd1dull ^ ((uint64_t)f << 56) ^ ((uint64_t)part << 48) ^
                             ((uint64_t)lv << 40) ^ ((uint64_t)(v + 1) << 20);
                    if (getenv("VG_DEGRADE_NOSTREAKS"))
                        s->p.streaks = 0;
                }
    }

    vg_degrader_t *dg = NULL;
    vg_image_t deg;
    if (vg_degrader_new(W, H, &dg) < 0 || vg_image_alloc(&deg, VG_PIX_YUV420P, W, H) < 0)
        return 1;
    static vg_det_t ref[MAXD], loose[MAXD], got[MAXD];
    AVFrame *fr = av_frame_alloc();
    long index = -1;
    int remaining = nsamp;
    while (remaining > 0 && vg_reader_read(video, fr) == 0) {
        index++;
        vg_image_t clean;
        if (vg_image_from_frame(fr, &clean) < 0 || clean.format != VG_PIX_YUV420P) {
            fprintf(stderr, "bench_degrade: needs YUV420P footage\n");
            return 1;
        }
        const bool det_frame = index % stride == 0;
        int nr = -1, nl = 0;
        for (int i = 0; i < nsamp; i++) {
            sample_t *s = &samp[i];
            if (index < s->start || index >= s->start + seg)
                continue;
            if (!s->st) {
                vg_correct_config_t cc = { .max_width = W, .max_height = H,
                                           .mode = VG_CORRECT_MODE_AUTO };
                if (fixed[s->p.family]) {
                    cc.mode = VG_CORRECT_MODE_LIST;
                    cc.mask = fixed[s->p.family];
                }
                if (vg_correct_new(&cc, &s->st) < 0)
                    return 1;
            }
            tally_t *t = &s->t;
            const vg_image_t *in = &clean;
            if (s->p.family != VG_FAM_CLEAN || s->p.jpeg_q) {
                int r = vg_degrade_frame(dg, &s->p, &clean, &deg, &s->rng);
                if (r < 0) {
                    fprintf(stderr, "bench_degrade: degrade: %s\n", av_err2str(r));
                    return 1;
                }
                in = &deg;
            }
            vg_image_t fixed_im;
            double t0 = now_ms();
            int mask = vg_correct_apply_image(s->st, in, &fixed_im);
            t->corr_ms += now_ms() - t0;
            if (mask < 0) {
                fprintf(stderr, "bench_degrade: correct: %d\n", mask);
                return 1;
            }
            t->corr_frames++;
            for (int b = 0; b < 4; b++)
                t->active[b] += (mask & (1 << b)) != 0;
            t->switches += t->corr_frames > 1 && mask != s->last_mask;
            s->last_mask = mask;
            if (det_frame && index >= s->start + warm) {
                if (nr < 0) {
                    nl = detect(&det, &clean, loose);
                    memcpy(ref, loose, sizeof(vg_det_t) * (size_t)nl);
                    nr = keep_above(ref, nl, det.threshold);
                }
                int ng = keep_above(got, detect(&det, in, got), det.threshold);
                t->ref += nr;
                t->det_frames++;
                t->hit[0] += vg_degrade_match(ref, nr, got, ng);
                t->dets[0] += ng;
                t->phantom[0] += ng - vg_degrade_match(loose, nl, got, ng);
                if (mask > 0) {
                    ng = keep_above(got, detect(&det, &fixed_im, got), det.threshold);
                    if (scores)
                        dump_scores(scores, s, ref, nr, got, ng);
                    ng = keep_above(got, ng, vg_correct_min_score(s->st, det.threshold));
                } /* else the "off" detections in got stand */
                t->hit[1] += vg_degrade_match(ref, nr, got, ng);
                t->dets[1] += ng;
                t->phantom[1] += ng - vg_degrade_match(loose, nl, got, ng);
            }
            if (index == s->start + seg - 1) {
                if (verbose) {
                    char d[256];
                    vg_degrade_describe(&s->p, d, sizeof(d));
                    vg_correct_stats_t cs;
                    vg_correct_get_stats(s->st, &cs);
                    printf("# %s L%d v%d frames %d..%d: %s | luma %.2f noise %.1f rain %.2f | "
                           "recall %ld/%ld -> %ld, FP %ld -> %ld\n",
                           vg_degrade_part_name(s->p.part), s->p.level, s->p.variant, s->start,
                           s->start + seg - 1, d, cs.luma_mean, cs.noise, cs.rain, t->hit[0],
                           t->ref, t->hit[1], t->dets[0] - t->hit[0], t->dets[1] - t->hit[1]);
                    fflush(stdout);
                }
                vg_correct_free(&s->st);
                remaining--;
            }
        }
    }
    const double det_ms = det.runs ? det.ms / det.runs : 1;
    printf("bench_degrade: %s, segments of %d frames (%d warm-up), detector on every %d., %dx%d, "
           "detector %s %s (threshold %.2f), %.1f ms/frame\n",
           clip, seg, warm, stride, W, H, manifest, precision, det.threshold, det_ms);
    printf("%-6s %-8s %-5s %6s %8s %8s %9s %6s %6s %6s %6s %6s %7s  %s\n", "family", "part",
           "level", "ref", "recall", "recall", "recovered", "FP/fr", "FP/fr", "FP/fr", "phant", "phant",
           "extra", "auto chose (share of frames)");
    printf("%-6s %-8s %-5s %6s %8s %8s %9s %6s %6s %6s %6s %6s %7s\n", "", "", "", "", "off", "auto",
           "of lost", "off", "auto", "delta", "off", "auto", "CPU");
    for (int f = 0; f < VG_FAM_N; f++)
        for (int part = 0; part < 2; part++) {
            tally_t all = { 0 }, low = { 0 };
            bool any = false;
            for (int lv = 0; lv < VG_DEGRADE_LEVELS; lv++) {
                tally_t t = { 0 };
                bool have = false;
                for (int i = 0; i < nsamp; i++)
                    if (samp[i].p.family == f && samp[i].p.part == part && samp[i].p.level == lv) {
                        tally_add(&t, &samp[i].t);
                        have = true;
                    }
                if (!have)
                    continue;
                any = true;
                tally_add(&all, &t);
                if (t.ref && (double)t.hit[0] / t.ref < 0.85)
                    tally_add(&low, &t);
                char lvn[8];
                snprintf(lvn, sizeof(lvn), "%.2f", (lv + 1.0) / VG_DEGRADE_LEVELS);
                if (f != VG_FAM_CLEAN)
                    print_row(vg_degrade_family_name(f), vg_degrade_part_name(part), lvn, &t,
                              det_ms);
            }
            if (!any)
                continue;
            print_row(vg_degrade_family_name(f), f == VG_FAM_CLEAN ? "-" : vg_degrade_part_name(part),
                      "all", &all, det_ms);
            if (f != VG_FAM_CLEAN && low.ref)
                print_row(vg_degrade_family_name(f), vg_degrade_part_name(part), "<85%", &low,
                          det_ms);
        }
    for (int f = 0; f < VG_FAM_N; f++)
        if (fixed[f])
            printf("(%s: fixed list, not auto)\n", vg_degrade_family_name(f));
    if (scores)
        fclose(scores);
    free(samp);
    vg_image_release(&deg);
    vg_degrader_free(&dg);
    av_frame_free(&fr);
    vg_reader_free(&video);
    vg_tensor_prep_free(&det.prep);
    vg_head_free(&det.head);
    vg_engine_free(&det.eng);
    return 0;
}
