/*
 * bench/degrade: does correction help recognition? The default detector
 * (NanoDet, models/) runs on every analysed frame of a clip (vtest.avi by
 * default) clean, and on degraded versions made in memory from the same
 * decoded frames (no re-encoding, so nothing but the degradation differs):
 *   night  darkened (gain 0.08, gamma 1.3) + sensor noise
 *   fog    I = J t + A (1 - t), depth-like t (0.12 at the top .. 0.45 at the
 *          bottom): recall 23% uncorrected on vtest.avi, the density at which
 *          issue 5 measured the textbook corrections (24%)
 *   rain   thin bright slanted streaks, new every frame (400 per 768x576
 *          frame), + noise
 *   downpour  the same with 2500 streaks a frame (recall about 74%
 *          uncorrected; the rain measured 65%, which streaks of this
 *          kind do not reach)
 *   ir     greyscale, dark, strong noise (IR night mode)
 * each with corrections off and with `auto` (a per-condition vg_correct
 * state that sees the frames in order, as a camera would). Detections are
 * matched to the clean run's (same label, IoU >= 0.5, greedy by score).
 * Printed per condition: reference count, recall off / auto, share of the
 * lost detections recovered, false positives, corrections chosen (share of
 * frames, and how often auto's choice changed after the first frame), and
 * the correction's CPU per frame against the detector's (thread CPU time).
 * usage: bench_degrade [CLIP [STRIDE [MANIFEST [PRECISION]]]]
 * env VG_DEGRADE_<COND>=low_light,denoise,... (e.g. VG_DEGRADE_RAIN=derain)
 * replaces auto by that fixed list for one condition, to compare choices;
 * env VG_DEGRADE_ONLY=night,fog runs only those conditions (and clean).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libavcodec/avcodec.h>

#include "capture/reader.h"
#include "models/engine/engine.h"
#include "models/heads/heads.h"
#include "models/heads/manifest.h"
#include "pipeline/correct/correct.h"
#include "pipeline/correct/tensor_prep.h"

enum { MAXD = 256, NCOND = 6 };
enum { C_CLEAN, C_NIGHT, C_FOG, C_RAIN, C_DOWNPOUR, C_IR };
static const char *cond_name[NCOND] = { "clean", "night", "fog", "rain", "downpour", "ir" };
/* streaks per 768x576 frame (scaled with the area) */
static const int streaks_per_frame[NCOND] = { [C_RAIN] = 400, [C_DOWNPOUR] = 2500 };

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static double gauss(uint64_t *s)
{
    double u = ((rng_next(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
    double v = ((rng_next(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

static inline uint8_t q8(double v)
{
    long q = lrint(v);
    return (uint8_t)(q < 0 ? 0 : (q > 255 ? 255 : q));
}

/* Degrade limited-range YUV420P src into dst. */
static void degrade(vg_image_t *dst, const vg_image_t *src, int cond, uint64_t *rng)
{
    const int W = src->width, H = src->height;
    for (int p = 0; p < 3; p++) {
        int pw = p ? (W + 1) / 2 : W, ph = p ? (H + 1) / 2 : H;
        for (int y = 0; y < ph; y++) {
            const uint8_t *s = src->data[p] + (size_t)y * src->linesize[p];
            uint8_t *d = dst->data[p] + (size_t)y * dst->linesize[p];
            double t = 0.12 + 0.33 * ((double)(p ? 2 * y : y) / H);
            for (int x = 0; x < pw; x++) {
                double v = s[x];
                switch (cond) {
                case C_NIGHT:
                    if (!p)
                        v = 16 + 219 * 0.08 * pow(fmax(v - 16, 0) / 219, 1.3) + 2.5 * gauss(rng);
                    else
                        v = 128 + (v - 128) * 0.08 + 1.5 * gauss(rng);
                    break;
                case C_FOG:
                    v = v * t + (p ? 128 : 210) * (1 - t) + (p ? 0.5 : 1.0) * gauss(rng);
                    break;
                case C_RAIN:
                case C_DOWNPOUR:
                    v += (p ? 1.5 : 3.0) * gauss(rng);
                    break;
                case C_IR:
                    v = p ? 128 : 16 + 219 * 0.35 * pow(fmax(v - 16, 0) / 219, 1.1) +
                                      10.0 * gauss(rng);
                    break;
                default:
                    break;
                }
                d[x] = q8(v);
            }
        }
    }
    if (streaks_per_frame[cond]) {
        int n = (int)((double)streaks_per_frame[cond] * W * H / (768.0 * 576.0));
        for (int k = 0; k < n; k++) {
            uint64_t r = rng_next(rng);
            int x0 = 4 + (int)(r % (uint64_t)(W - 16)), y0 = (int)((r >> 16) % (uint64_t)(H - 40));
            int len = 10 + (int)((r >> 32) % 21), amp = 30 + (int)((r >> 48) % 41);
            for (int i = 0; i < len; i++) {
                int x = x0 + i / 5, y = y0 + i;
                uint8_t *v = dst->data[0] + (size_t)y * dst->linesize[0] + x;
                *v = q8(*v + amp);
            }
        }
    }
    dst->full_range = src->full_range;
    dst->chroma_loc = src->chroma_loc;
}

typedef struct {
    vg_engine_t *eng;
    vg_head_t *head;
    vg_tensor_prep_t *prep;
    int out_index[VG_HEAD_MAX_OUTPUTS];
    vg_head_tensor_t outs[VG_HEAD_MAX_OUTPUTS];
    int n_out;
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

/* Greedy matching (dets are best-first): returns matched count. */
static int match(const vg_det_t *ref, int nr, const vg_det_t *got, int ng)
{
    char used[MAXD] = { 0 };
    int m = 0;
    for (int i = 0; i < nr; i++) {
        int best = -1;
        float biou = 0.5f;
        for (int j = 0; j < ng; j++) {
            if (used[j] || got[j].label != ref[i].label)
                continue;
            float iou = vg_head_iou(&ref[i], &got[j]);
            if (iou >= biou) {
                biou = iou;
                best = j;
            }
        }
        if (best >= 0) {
            used[best] = 1;
            m++;
        }
    }
    return m;
}

typedef struct {
    long ref, hit[2], dets[2];
    double corr_ms;
    long frames, active[4];
    int last_mask, switches; /* changes of auto's choice after the first frame */
} result_t;

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
    int stride = argc > 2 ? atoi(argv[2]) : 2;
    if (argc > 3)
        snprintf(manifest, sizeof(manifest), "%s", argv[3]);
    const char *precision = argc > 4 ? argv[4] : "fp32";
    if (stride < 1)
        stride = 1;

    detector_t det = { 0 };
    if (detector_open(&det, manifest, precision) < 0)
        return 1;

    const vg_reader_config_t rc = {.url = clip, .decode_threads = 1}; /* one core's work */
    vg_reader_t *video = NULL;
    char why_video[VG_READER_ERROR_MAX];
    if (vg_reader_open(&rc, &video, why_video, sizeof(why_video)) < 0) {
        fprintf(stderr, "bench_degrade: %s\n", why_video);
        return 1;
    }
    const AVCodecParameters *par = vg_reader_stream(video)->codecpar;
    int W = par->width, H = par->height;
    vg_correct_state_t *st[NCOND];
    vg_image_t deg;
    vg_image_alloc(&deg, VG_PIX_YUV420P, W, H);
    bool forced[NCOND] = { 0 };
    const char *only = getenv("VG_DEGRADE_ONLY");
    for (int c = 0; c < NCOND; c++) {
        vg_correct_config_t cc = { .max_width = W, .max_height = H, .mode = VG_CORRECT_MODE_AUTO };
        char env[64];
        snprintf(env, sizeof(env), "VG_DEGRADE_%s", cond_name[c]);
        for (char *e = env; *e; e++)
            *e = (char)(*e >= 'a' && *e <= 'z' ? *e - 32 : *e);
        const char *list = getenv(env);
        if (list) {
            cc.mode = VG_CORRECT_MODE_LIST;
            for (int b = 0; b < 4; b++)
                if (strstr(list, vg_correct_name(1u << b)))
                    cc.mask |= 1u << b;
            forced[c] = true;
        }
        if (vg_correct_new(&cc, &st[c]) < 0)
            return 1;
    }
    result_t res[NCOND] = { 0 };
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    static vg_det_t ref[MAXD], got[MAXD];
    AVFrame *f = av_frame_alloc();
    long index = 0;
    while (vg_reader_read(video, f) == 0) {
        if (index++ % stride)
            continue;
        vg_image_t clean;
        if (vg_image_from_frame(f, &clean) < 0 || clean.format != VG_PIX_YUV420P) {
            fprintf(stderr, "bench_degrade: needs YUV420P footage\n");
            return 1;
        }
        int nr = detect(&det, &clean, ref);
        for (int c = 0; c < NCOND; c++) {
            result_t *rs = &res[c];
            if (only && c != C_CLEAN && !strstr(only, cond_name[c]))
                continue;
            const vg_image_t *in = &clean;
            if (c != C_CLEAN) {
                degrade(&deg, &clean, c, &rng);
                in = &deg;
            }
            int ng = c == C_CLEAN ? nr : detect(&det, in, got);
            if (c == C_CLEAN)
                memcpy(got, ref, sizeof(vg_det_t) * (nr > 0 ? nr : 0));
            rs->ref += nr;
            rs->hit[0] += match(ref, nr, got, ng);
            rs->dets[0] += ng;
            vg_image_t fixed;
            double t0 = now_ms();
            int mask = vg_correct_apply_image(st[c], in, &fixed);
            rs->corr_ms += now_ms() - t0;
            rs->frames++;
            for (int b = 0; b < 4; b++)
                rs->active[b] += mask > 0 && (mask & (1 << b));
            int now = mask > 0 ? mask : 0;
            rs->switches += rs->frames > 1 && now != rs->last_mask;
            rs->last_mask = now;
            if (mask > 0) /* else the "off" detections in got stand */
                ng = detect(&det, &fixed, got);
            rs->hit[1] += match(ref, nr, got, ng);
            rs->dets[1] += ng;
        }
    }
    printf("bench_degrade: %s, every %d. frame (%ld analysed), %dx%d, detector %s %s, %.1f ms/frame\n",
           clip, stride, res[0].frames, W, H, manifest, precision, det.ms / det.runs);
    printf("%-8s %5s %5s %6s %8s %8s %10s %6s %6s %8s %7s  %s\n", "cond", "luma", "noise",
           "ref", "recall", "recall", "recovered", "FP", "FP", "correct", "extra",
           "auto chose (share of frames)");
    printf("%-8s %5s %5s %6s %8s %8s %10s %6s %6s %8s %7s\n", "", "mean", "sigma", "", "off",
           "auto", "of lost", "off", "auto", "ms/frame", "CPU");
    for (int c = 0; c < NCOND; c++) {
        result_t *rs = &res[c];
        if (!rs->frames)
            continue;
        double r0 = rs->ref ? (double)rs->hit[0] / rs->ref : 0;
        double r1 = rs->ref ? (double)rs->hit[1] / rs->ref : 0;
        char rec[32] = "-";
        if (r0 < 0.999)
            snprintf(rec, sizeof(rec), "%.0f%%", 100.0 * (r1 - r0) / (1.0 - r0));
        char chose[128] = "";
        int len = 0;
        for (int b = 0; b < 4; b++)
            if (rs->active[b])
                len += snprintf(chose + len, sizeof(chose) - len, "%s%s %.0f%%", len ? ", " : "",
                                vg_correct_name(1u << b), 100.0 * rs->active[b] / rs->frames);
        if (rs->switches)
            len += snprintf(chose + len, sizeof(chose) - len, "; %d switch%s", rs->switches,
                            rs->switches == 1 ? "" : "es");
        double cm = rs->corr_ms / rs->frames;
        vg_correct_stats_t cs;
        vg_correct_get_stats(st[c], &cs);
        printf("%-8s %5.2f %5.1f %6ld %7.1f%% %7.1f%% %10s %6ld %6ld %8.2f %6.1f%%  %s%s\n",
               cond_name[c], cs.luma_mean, cs.noise,
               rs->ref, 100 * r0, 100 * r1, rec, rs->dets[0] - rs->hit[0],
               rs->dets[1] - rs->hit[1], cm, 100.0 * cm / (det.ms / det.runs),
               len ? chose : "nothing", forced[c] ? " (fixed list, not auto)" : "");
    }
    for (int c = 0; c < NCOND; c++)
        vg_correct_free(&st[c]);
    vg_image_release(&deg);
    av_frame_free(&f);
    vg_reader_free(&video);
    vg_tensor_prep_free(&det.prep);
    vg_head_free(&det.head);
    vg_engine_free(&det.eng);
    return 0;
}
