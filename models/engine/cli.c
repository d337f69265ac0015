/* `vigil models check FILE.onnx` and `vigil models run FILE.onnx --input ...
 * --output ...` (see cli.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "models/engine/cli.h"
#include "models/engine/engine.h"
#include "models/engine/npy.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: vigil models check FILE.onnx [options] [--runs N] [--profile]\n"
            "       vigil models run FILE.onnx --input IN.npy|IN.npz [--input ...] --output OUT.npy|OUT.npz [--output ...] [options]\n"
            "options: --threads N (default 1)  --batch N  --precision fp32|bf16\n"
            "check loads the model, prints its inputs, outputs, operators and fusions,\n"
            "and times runs on a deterministic pseudo-random input.\n"
            "run feeds .npy inputs in graph-input order (or an .npz keyed by input name)\n"
            "and writes the outputs (one .npy per output, or one .npz keyed by name).\n");
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void print_desc(const char *kind, int i, const vg_tensor_desc_t *d)
{
    printf("%s %d: %s float32 [", kind, i, d->name);
    for (int k = 0; k < d->ndim; k++)
        printf("%s%lld", k ? ", " : "", (long long)d->dims[k]);
    printf("]\n");
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct {
    char op[64][96];
    char kern[64][64];
    double ms[64];
    int count[64];
    int n;
    double total;
} prof_t;

static void prof_cb(void *ctx, const char *op, const char *name, const char *kernel, double ms)
{
    prof_t *p = ctx;
    (void)name;
    p->total += ms;
    int i;
    for (i = 0; i < p->n; i++)
        if (!strcmp(p->op[i], op) && !strcmp(p->kern[i], kernel))
            break;
    if (i == p->n) {
        if (p->n == 64)
            return;
        snprintf(p->op[i], sizeof(p->op[i]), "%s", op);
        snprintf(p->kern[i], sizeof(p->kern[i]), "%s", kernel);
        p->n++;
    }
    p->ms[i] += ms;
    p->count[i]++;
}

static int cmd_check(const char *path, const vg_engine_options_t *opt, int runs, bool profile)
{
    char err[512];
    vg_engine_t *e = NULL;
    double t0 = now_ms();
    int r = vg_engine_load(path, opt, &e, err, sizeof(err));
    if (r < 0) {
        fprintf(stderr, "vigil models check: %s: %s\n", path, err);
        return 1;
    }
    double tl = now_ms() - t0;
    printf("model: %s\nloaded and planned in %.1f ms\n", path, tl);
    for (int i = 0; i < vg_engine_n_inputs(e); i++)
        print_desc("input", i, vg_engine_input(e, i));
    for (int i = 0; i < vg_engine_n_outputs(e); i++)
        print_desc("output", i, vg_engine_output(e, i));
    printf("%s", vg_engine_summary(e));
    FILE *st = fopen("/proc/self/status", "r");
    char line[256];
    while (st && fgets(line, sizeof(line), st))
        if (!strncmp(line, "VmRSS:", 6) || !strncmp(line, "VmHWM:", 6))
            printf("%s %s", !strncmp(line, "VmRSS:", 6) ? "resident after load:" : "peak resident:", line + 6 + strspn(line + 6, " \t"));
    if (st)
        fclose(st);
    uint32_t s = 12345;
    for (int i = 0; i < vg_engine_n_inputs(e); i++) {
        float *b = vg_engine_input_buffer(e, i);
        for (size_t k = 0; k < vg_engine_input(e, i)->count; k++) {
            s = s * 1664525u + 1013904223u;
            b[k] = (s >> 8) / 16777216.0f;
        }
    }
    if (runs < 1)
        runs = 1;
    double *t = calloc(runs + 1, sizeof(double));
    if (!t) {
        vg_engine_free(&e);
        return 1;
    }
    t0 = now_ms();
    r = vg_engine_run(e);
    double first = now_ms() - t0;
    for (int i = 0; i < runs && r >= 0; i++) {
        t0 = now_ms();
        r = vg_engine_run(e);
        t[i] = now_ms() - t0;
    }
    if (r < 0) {
        fprintf(stderr, "vigil models check: run failed: %s\n", strerror(-r));
        free(t);
        vg_engine_free(&e);
        return 1;
    }
    qsort(t, runs, sizeof(double), cmp_d);
    if (profile) {
        /* best of 5 profiled runs, per operator and kernel */
        prof_t best = {0};
        best.total = 1e30;
        for (int k = 0; k < 5; k++) {
            prof_t p = {0};
            if (vg_engine_profile(e, prof_cb, &p) < 0)
                break;
            if (p.total < best.total)
                best = p;
        }
        printf("profile (best of 5, %.2f ms in all):\n", best.total);
        for (int i = 0; i < best.n; i++)
            printf("  %8.3f ms %5.1f%%  %4d x  %-36s %s\n", best.ms[i], 100 * best.ms[i] / best.total, best.count[i] / 1,
                   best.op[i], best.kern[i]);
    }
    double med = t[runs / 2];
    printf("first run %.2f ms; %d runs: median %.2f ms, min %.2f ms; %.1f GFLOP/s\n", first, runs, med, t[0],
           2 * vg_engine_macs(e) / (med * 1e6));
    for (int i = 0; i < vg_engine_n_outputs(e); i++) {
        const float *o = vg_engine_output_buffer(e, i);
        double sum = 0;
        size_t n = vg_engine_output(e, i)->count;
        for (size_t k = 0; k < n; k++)
            sum += o[k];
        printf("output %d checksum: mean %.6g\n", i, n ? sum / n : 0);
    }
    free(t);
    vg_engine_free(&e);
    return 0;
}

static int same_shape(const vg_npy_t *a, const vg_tensor_desc_t *d)
{
    return a->count == d->count;
}

static int cmd_run(const char *path, const vg_engine_options_t *opt, char **ins, int nins, char **outs, int nouts)
{
    char err[512];
    vg_engine_t *e = NULL;
    int rc = 1, r;
    vg_npy_t *arrs[16] = {0};
    int narr[16] = {0};
    if ((r = vg_engine_load(path, opt, &e, err, sizeof(err))) < 0) {
        fprintf(stderr, "vigil models run: %s: %s\n", path, err);
        return 1;
    }
    int ni = vg_engine_n_inputs(e), no = vg_engine_n_outputs(e);
    for (int i = 0; i < nins; i++)
        if ((r = vg_npy_read(ins[i], &arrs[i], &narr[i], err, sizeof(err))) < 0) {
            fprintf(stderr, "vigil models run: %s\n", err);
            goto out;
        }
    for (int i = 0; i < ni; i++) {
        const vg_tensor_desc_t *d = vg_engine_input(e, i);
        const vg_npy_t *src = NULL;
        if (nins == 1 && narr[0] > 1) {
            for (int k = 0; k < narr[0]; k++)
                if (!strcmp(arrs[0][k].name, d->name))
                    src = &arrs[0][k];
            if (!src && i < narr[0])
                src = &arrs[0][i];
        } else if (i < nins) {
            src = &arrs[i][0];
            for (int k = 0; k < narr[i]; k++)
                if (!strcmp(arrs[i][k].name, d->name))
                    src = &arrs[i][k];
        }
        if (!src) {
            fprintf(stderr, "vigil models run: no tensor given for input '%s'\n", d->name);
            goto out;
        }
        if (!same_shape(src, d)) {
            fprintf(stderr, "vigil models run: input '%s' needs %zu values, the file has %zu\n", d->name, d->count, src->count);
            goto out;
        }
        memcpy(vg_engine_input_buffer(e, i), src->data, d->count * sizeof(float));
    }
    if ((r = vg_engine_run(e)) < 0) {
        fprintf(stderr, "vigil models run: run failed: %s\n", strerror(-r));
        goto out;
    }
    vg_npy_t *o = calloc(no, sizeof(*o));
    if (!o)
        goto out;
    for (int i = 0; i < no; i++) {
        const vg_tensor_desc_t *d = vg_engine_output(e, i);
        o[i].name = (char *)d->name;
        o[i].ndim = d->ndim;
        memcpy(o[i].dims, d->dims, sizeof(o[i].dims));
        o[i].count = d->count;
        o[i].data = (float *)vg_engine_output_buffer(e, i);
    }
    rc = 0;
    if (nouts == 1) {
        if (vg_npy_write(outs[0], o, no, err, sizeof(err)) < 0) {
            fprintf(stderr, "vigil models run: %s\n", err);
            rc = 1;
        }
    } else if (nouts == no) {
        for (int i = 0; i < no && !rc; i++)
            if (vg_npy_write(outs[i], &o[i], 1, err, sizeof(err)) < 0) {
                fprintf(stderr, "vigil models run: %s\n", err);
                rc = 1;
            }
    } else {
        fprintf(stderr, "vigil models run: %d --output files for %d outputs (give one .npz or one file per output)\n", nouts, no);
        rc = 1;
    }
    free(o);
out:
    for (int i = 0; i < nins; i++)
        vg_npy_free(arrs[i], narr[i]);
    vg_engine_free(&e);
    return rc;
}

int vg_models_cli_main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1], *path = NULL;
    vg_engine_options_t opt = {.threads = 1, .batch = 0, .precision = "fp32"};
    char *ins[16], *outs[16];
    int nins = 0, nouts = 0, runs = 20;
    bool profile = false;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--threads") && has) {
            opt.threads = atoi(argv[++i]);
        } else if (!strcmp(a, "--batch") && has) {
            opt.batch = atoi(argv[++i]);
        } else if (!strcmp(a, "--precision") && has) {
            opt.precision = argv[++i];
        } else if (!strcmp(a, "--profile")) {
            profile = true;
        } else if (!strcmp(a, "--runs") && has) {
            runs = atoi(argv[++i]);
        } else if (!strcmp(a, "--input") && has && nins < 16) {
            ins[nins++] = argv[++i];
        } else if (!strcmp(a, "--output") && has && nouts < 16) {
            outs[nouts++] = argv[++i];
        } else if (a[0] != '-' && !path) {
            path = a;
        } else {
            fprintf(stderr, "vigil models: unexpected argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!path) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(cmd, "check"))
        return cmd_check(path, &opt, runs, profile);
    if (!strcmp(cmd, "run")) {
        if (!nins || !nouts) {
            fprintf(stderr, "vigil models run: --input and --output are required\n");
            return 2;
        }
        return cmd_run(path, &opt, ins, nins, outs, nouts);
    }
    fprintf(stderr, "vigil models: unknown command '%s' (check, run)\n", cmd);
    usage(stderr);
    return 2;
}
