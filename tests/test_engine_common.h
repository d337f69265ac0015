/* Shared helpers of the engine suites: run a fixture (model + inputs +
 * reference outputs made by tests/engine/make_fixtures.py) and compare. */
#ifndef VG_TEST_ENGINE_COMMON_H
#define VG_TEST_ENGINE_COMMON_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/engine/engine.h"
#include "models/engine/npy.h"

static inline const char *fx_dir(void)
{
    static char dir[512];
    const char *b = getenv("VIGIL_BUILD_DIR");
    snprintf(dir, sizeof(dir), "%s/engine-fixtures", b ? b : ".");
    return dir;
}

static inline void fx_path(char *out, size_t n, const char *name, const char *suffix)
{
    snprintf(out, n, "%s/%s%s", fx_dir(), name, suffix);
}

/* Fills the engine's inputs from <name>.in.npz (by input name). */
static inline int fx_fill(vg_engine_t *e, const char *name, char *msg, size_t msglen)
{
    char p[1200];
    vg_npy_t *in = NULL;
    int nin = 0;
    fx_path(p, sizeof(p), name, ".in.npz");
    if (vg_npy_read(p, &in, &nin, msg, msglen) < 0)
        return -1;
    for (int i = 0; i < vg_engine_n_inputs(e); i++) {
        const vg_tensor_desc_t *d = vg_engine_input(e, i);
        int k;
        for (k = 0; k < nin && strcmp(in[k].name, d->name); k++)
            ;
        if (k == nin || in[k].count != d->count) {
            snprintf(msg, msglen, "%s: no input '%s' of %zu values", name, d->name, d->count);
            vg_npy_free(in, nin);
            return -1;
        }
        memcpy(vg_engine_input_buffer(e, i), in[k].data, d->count * sizeof(float));
    }
    vg_npy_free(in, nin);
    return 0;
}

/* Worst error of the engine's outputs against <name>.ref.npz, as a fraction
 * of each output's max |ref|; -1 on a missing/mis-shaped output. */
static inline double fx_compare(const vg_engine_t *e, const char *name, char *msg, size_t msglen)
{
    char p[1200];
    vg_npy_t *ref = NULL;
    int nref = 0;
    fx_path(p, sizeof(p), name, ".ref.npz");
    if (vg_npy_read(p, &ref, &nref, msg, msglen) < 0)
        return -1;
    double worst = 0;
    for (int i = 0; i < vg_engine_n_outputs(e); i++) {
        const vg_tensor_desc_t *d = vg_engine_output(e, i);
        int k;
        for (k = 0; k < nref && strcmp(ref[k].name, d->name); k++)
            ;
        if (k == nref || ref[k].count != d->count || ref[k].ndim != d->ndim ||
            memcmp(ref[k].dims, d->dims, d->ndim * sizeof(int64_t))) {
            snprintf(msg, msglen, "%s: output '%s' missing or shaped differently from the reference", name, d->name);
            worst = -1;
            break;
        }
        const float *o = vg_engine_output_buffer(e, i);
        double err = 0, mx = 0;
        for (size_t j = 0; j < d->count; j++) {
            double a = fabs((double)o[j] - ref[k].data[j]);
            if (!(a <= err))
                err = isnan(a) ? INFINITY : a;
            if (fabs(ref[k].data[j]) > mx)
                mx = fabs(ref[k].data[j]);
        }
        double rel = err / (mx > 0 ? mx : 1e-30);
        if (mx == 0 && err == 0)
            rel = 0;
        if (rel > worst) {
            worst = rel;
            snprintf(msg, msglen, "%s: output '%s' max abs err %.3g, max |ref| %.3g", name, d->name, err, mx);
        }
    }
    vg_npy_free(ref, nref);
    return worst;
}

#endif
