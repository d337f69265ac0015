/* Public API of the inference engine: load (parse, sort, infer, fold, fuse,
 * plan), run, accessors, free. */
#include <errno.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "models/engine/eng_internal.h"
#include "models/engine/ops.h"

static int read_file(vg_engine_t *e, const char *path, uint8_t **ret, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        int r = -errno;
        return vg_eng_err(e, r, "cannot open '%s': %s", path, strerror(-r));
    }
    struct stat st;
    if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return vg_eng_err(e, -EINVAL, "'%s' is not a regular file", path);
    }
    if (st.st_size > (INT64_C(4) << 30)) {
        fclose(f);
        return vg_eng_err(e, -EFBIG, "'%s': %lld bytes is too large for a model", path, (long long)st.st_size);
    }
    uint8_t *buf = malloc(st.st_size ? st.st_size : 1);
    if (!buf) {
        fclose(f);
        return vg_eng_err(e, -ENOMEM, "out of memory reading '%s'", path);
    }
    size_t n = fread(buf, 1, st.st_size, f);
    fclose(f);
    if (n != (size_t)st.st_size) {
        free(buf);
        return vg_eng_err(e, -EIO, "short read on '%s'", path);
    }
    *ret = buf;
    *ret_len = n;
    return 0;
}

static int make_io(vg_engine_t *e)
{
    vg_graph_t *g = &e->g;
    e->in_desc = calloc(g->ninputs, sizeof(*e->in_desc));
    e->out_desc = calloc(g->noutputs, sizeof(*e->out_desc));
    e->in_buf = calloc(g->ninputs, sizeof(float *));
    e->out_buf = calloc(g->noutputs, sizeof(float *));
    if (!e->in_desc || !e->out_desc || !e->in_buf || !e->out_buf)
        return -ENOMEM;
    for (int io = 0; io < 2; io++) {
        int n = io ? g->noutputs : g->ninputs;
        for (int i = 0; i < n; i++) {
            const vg_value_t *v = &g->v[io ? g->outputs[i] : g->inputs[i]];
            vg_tensor_desc_t *d = io ? &e->out_desc[i] : &e->in_desc[i];
            d->name = v->name;
            d->ndim = v->ndim;
            memcpy(d->dims, v->dims, sizeof(d->dims));
            d->dtype = VG_ENGINE_FLOAT32;
            d->count = (size_t)vg_numel(v->ndim, v->dims);
            float *b = aligned_alloc(64, ((d->count * 4 + 63) & ~(size_t)63) + 64);
            if (!b)
                return -ENOMEM;
            memset(b, 0, d->count * 4);
            if (io)
                e->out_buf[i] = b;
            else
                e->in_buf[i] = b;
        }
    }
    return 0;
}

typedef struct {
    const char *key;
    int count;
} kv_t;

static void kv_add(kv_t *t, int *n, int max, const char *key)
{
    for (int i = 0; i < *n; i++)
        if (!strcmp(t[i].key, key)) {
            t[i].count++;
            return;
        }
    if (*n < max)
        t[(*n)++] = (kv_t){key, 1};
}

static int make_summary(vg_engine_t *e, int n_orig_nodes)
{
    vg_graph_t *g = &e->g;
    size_t cap = 8192, len = 0;
    char *s = malloc(cap);
    if (!s)
        return -ENOMEM;
    kv_t ops[128], fused[64], impl[64];
    int nops = 0, nfused = 0, nimpl = 0, nfold = 0;
    for (int i = 0; i < n_orig_nodes; i++)
        kv_add(ops, &nops, 128, g->n[i].op);
    for (int i = 0; i < g->norder; i++) {
        const vg_node_t *n = &g->n[g->order[i]];
        if (n->fused[0])
            kv_add(fused, &nfused, 64, n->fused);
    }
    int nreorder = 0;
    for (int i = 0; i < e->nsteps; i++) {
        kv_add(impl, &nimpl, 64, e->steps[i].impl);
        nreorder += e->steps[i].node < 0;
    }
    /* folded = dead nodes whose outputs are constants */
    for (int i = 0; i < g->nn; i++)
        if (g->n[i].dead && g->n[i].nout > 0 && g->n[i].out[0] >= 0 && g->v[g->n[i].out[0]].cdata)
            nfold++;
#define P(...) do { int w_ = snprintf(s + len, cap - len, __VA_ARGS__); if (w_ > 0) len += (size_t)w_ < cap - len ? (size_t)w_ : cap - len - 1; } while (0)
    P("operators (%d nodes):", n_orig_nodes);
    for (int i = 0; i < nops; i++)
        P(" %s=%d", ops[i].key, ops[i].count);
    P("\nconstant-folded nodes: %d\nfused:", nfold);
    if (!nfused)
        P(" none");
    for (int i = 0; i < nfused; i++)
        P(" Conv%s=%d", fused[i].key, fused[i].count);
    P("\nsteps: %d (%d layout reorders), precision %s, threads %d\nkernels:", e->nsteps, nreorder, e->bf16 ? "bf16" : "fp32", e->threads);
    for (int i = 0; i < nimpl; i++)
        P(" %s=%d", impl[i].key, impl[i].count);
    P("\narena: %.2f MB activations, %.2f MB scratchpad, %.2f MB packed weights; %.3f GMAC per run\n",
      e->arena_bytes / 1e6, e->scratch_bytes / 1e6, e->weight_bytes / 1e6, e->macs / 1e9);
#undef P
    e->summary = s;
    return 0;
}

/* Weights now live packed in oneDNN memory: drop our copies, keeping only
 * the constants our own kernels read at run time (halves resident memory). */
static void release_packed_constants(vg_engine_t *e)
{
    vg_graph_t *g = &e->g;
    char *keep = calloc(g->nv + 1, 1);
    if (!keep)
        return;
    for (int s = 0; s < e->nsteps; s++) {
        if (e->steps[s].kind != STEP_OWN)
            continue;
        const vg_node_t *n = &g->n[e->steps[s].node];
        for (int k = 0; k < n->nin; k++)
            if (n->in[k] >= 0)
                keep[n->in[k]] = 1;
    }
    for (int i = 0; i < g->nv; i++)
        if (g->v[i].cdata && !keep[i] && !g->v[i].is_output) {
            free(g->v[i].cdata);
            g->v[i].cdata = NULL;
            g->v[i].released = true;
        }
    free(keep);
}

static int load(const char *path, const void *mem, size_t memlen, const vg_engine_options_t *opt, vg_engine_t **ret,
                char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = 0;
    vg_engine_t *e = calloc(1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    e->err = err;
    e->errlen = errlen;
    e->threads = opt && opt->threads > 0 ? opt->threads : 1;
    int batch = opt ? opt->batch : 0;
    const char *prec = opt && opt->precision ? opt->precision : "fp32";
    int r;
    uint8_t *buf = NULL;
    size_t len = 0;
    if (!strcmp(prec, "bf16"))
        e->bf16 = true;
    else if (strcmp(prec, "fp32")) {
        r = vg_eng_err(e, -EINVAL, "precision '%s' is not supported (fp32, bf16)", prec);
        goto fail;
    }
    if (path) {
        if ((r = read_file(e, path, &buf, &len)) < 0)
            goto fail;
        r = vg_eng_parse(e, buf, len, batch, free, buf);
    } else {
        r = vg_eng_parse(e, mem, memlen, batch, NULL, NULL);
    }
    if (r < 0)
        goto fail;
    int n_orig = e->g.nn;
    if ((r = vg_eng_toposort(e)) < 0 || (r = vg_eng_infer(e)) < 0 || (r = vg_eng_toposort(e)) < 0 ||
        (r = vg_eng_fuse(e)) < 0)
        goto fail;
    if (dnnl_engine_create(&e->eng, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&e->stream, e->eng, dnnl_stream_default_flags) != dnnl_success) {
        r = vg_eng_err(e, -ENODEV, "oneDNN CPU engine unavailable");
        goto fail;
    }
    if ((r = make_io(e)) < 0) {
        vg_eng_err(e, r, "out of memory for input/output buffers");
        goto fail;
    }
    /* primitives are created (and weights packed) with the run's thread count */
    omp_set_num_threads(e->threads);
    if ((r = vg_eng_plan(e)) < 0)
        goto fail;
    if ((r = make_summary(e, n_orig)) < 0)
        goto fail;
    release_packed_constants(e);
    e->err = NULL;
    e->errlen = 0;
    *ret = e;
    return 0;
fail:
    if (err && errlen && !err[0])
        snprintf(err, errlen, "%s", strerror(-r));
    e->err = NULL;
    vg_engine_free(&e);
    return r;
}

int vg_engine_load(const char *path, const vg_engine_options_t *opt, vg_engine_t **ret, char *err, size_t errlen)
{
    return load(path, NULL, 0, opt, ret, err, errlen);
}

int vg_engine_load_buffer(const void *buf, size_t len, const vg_engine_options_t *opt, vg_engine_t **ret, char *err,
                          size_t errlen)
{
    return load(NULL, buf, len, opt, ret, err, errlen);
}

void vg_engine_free(vg_engine_t **p)
{
    if (!p || !*p)
        return;
    vg_engine_t *e = *p;
    vg_eng_plan_free(e);
    if (e->stream)
        dnnl_stream_destroy(e->stream);
    if (e->eng)
        dnnl_engine_destroy(e->eng);
    for (int i = 0; e->in_buf && i < e->g.ninputs; i++)
        free(e->in_buf[i]);
    for (int i = 0; e->out_buf && i < e->g.noutputs; i++)
        free(e->out_buf[i]);
    free(e->in_buf);
    free(e->out_buf);
    free(e->in_desc);
    free(e->out_desc);
    free(e->summary);
    vg_graph_release(&e->g);
    free(e);
    *p = NULL;
}

int vg_engine_n_inputs(const vg_engine_t *e) { return e->g.ninputs; }
int vg_engine_n_outputs(const vg_engine_t *e) { return e->g.noutputs; }

const vg_tensor_desc_t *vg_engine_input(const vg_engine_t *e, int i)
{
    return i >= 0 && i < e->g.ninputs ? &e->in_desc[i] : NULL;
}

const vg_tensor_desc_t *vg_engine_output(const vg_engine_t *e, int i)
{
    return i >= 0 && i < e->g.noutputs ? &e->out_desc[i] : NULL;
}

float *vg_engine_input_buffer(vg_engine_t *e, int i)
{
    return i >= 0 && i < e->g.ninputs ? e->in_buf[i] : NULL;
}

const float *vg_engine_output_buffer(const vg_engine_t *e, int i)
{
    return i >= 0 && i < e->g.noutputs ? e->out_buf[i] : NULL;
}

const char *vg_engine_summary(const vg_engine_t *e) { return e->summary; }
size_t vg_engine_arena_bytes(const vg_engine_t *e) { return e->arena_bytes; }

size_t vg_engine_memory_bytes(const vg_engine_t *e) { return e->arena_bytes + e->scratch_bytes + e->weight_bytes; }
double vg_engine_macs(const vg_engine_t *e) { return e->macs; }

int vg_engine_run(vg_engine_t *e)
{
    /* OpenMP's thread count is per calling thread: set it for this one */
    if (omp_get_max_threads() != e->threads)
        omp_set_num_threads(e->threads);
    for (int i = 0; i < e->nsteps; i++) {
        vg_step_t *s = &e->steps[i];
        if (s->kind == STEP_DNNL) {
            if (dnnl_primitive_execute(s->prim, e->stream, s->nargs, s->args) != dnnl_success)
                return -EIO;
        } else {
            const vg_node_t *n = &e->g.n[s->node];
            int r = s->fn(n, s->tin, n->nin, s->tout, n->nout);
            if (r < 0)
                return r;
        }
    }
    if (dnnl_stream_wait(e->stream) != dnnl_success)
        return -EIO;
    return 0;
}

int vg_engine_profile(vg_engine_t *e, void (*cb)(void *, const char *, const char *, const char *, double), void *ctx)
{
    if (omp_get_max_threads() != e->threads)
        omp_set_num_threads(e->threads);
    for (int i = 0; i < e->nsteps; i++) {
        vg_step_t *s = &e->steps[i];
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        if (s->kind == STEP_DNNL) {
            if (dnnl_primitive_execute(s->prim, e->stream, s->nargs, s->args) != dnnl_success ||
                dnnl_stream_wait(e->stream) != dnnl_success)
                return -EIO;
        } else {
            const vg_node_t *n = &e->g.n[s->node];
            int r = s->fn(n, s->tin, n->nin, s->tout, n->nout);
            if (r < 0)
                return r;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
        char op[160];
        const vg_node_t *n = s->node >= 0 ? &e->g.n[s->node] : NULL;
        if (n && s->nw == 1 && s->wr[0] >= 0 && n->nout > 0 && n->out[0] != s->wr[0] && !vg_node_is(n, VG_OP_Conv))
            snprintf(op, sizeof(op), "Reorder");
        else
            snprintf(op, sizeof(op), "%s%s", n ? n->op : "Reorder", n ? n->fused : "");
        cb(ctx, op, n ? n->name : e->g.v[s->rd[0]].name, s->impl, ms);
    }
    return 0;
}
