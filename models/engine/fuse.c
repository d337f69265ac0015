/* Graph rewrites before planning: topological order, BatchNorm folded into
 * the preceding Conv, zero Pad folded into Conv padding, and Conv followed by
 * activations / a residual Add / SiLU (x*sigmoid(x)) / HardSwish patterns
 * turned into oneDNN post-ops of the Conv. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/engine/ops.h"

static bool avail(const vg_graph_t *g, const char *done, int v)
{
    if (v < 0)
        return true;
    const vg_value_t *x = &g->v[v];
    return x->is_input || x->cdata || (x->producer >= 0 && (done[x->producer] || g->n[x->producer].dead));
}

int vg_eng_toposort(vg_engine_t *e)
{
    vg_graph_t *g = &e->g;
    char *done = calloc(g->nn + 1, 1);
    int *order = malloc((g->nn + 1) * sizeof(int));
    if (!done || !order) {
        free(done);
        free(order);
        return -ENOMEM;
    }
    int k = 0, live = 0;
    for (int i = 0; i < g->nn; i++)
        live += !g->n[i].dead;
    bool progress = true;
    while (k < live && progress) {
        progress = false;
        for (int i = 0; i < g->nn; i++) {
            vg_node_t *n = &g->n[i];
            if (n->dead || done[i])
                continue;
            bool ok = avail(g, done, n->sum_in);
            for (int j = 0; j < n->nin && ok; j++)
                ok = avail(g, done, n->in[j]);
            if (!ok)
                continue;
            done[i] = 1;
            order[k++] = i;
            progress = true;
        }
    }
    int r = 0;
    if (k < live) {
        for (int i = 0; i < g->nn; i++)
            if (!g->n[i].dead && !done[i]) {
                r = vg_eng_err(e, -EINVAL, "node '%s' (%s): graph has a cycle or an input that is never produced", g->n[i].name, g->n[i].op);
                break;
            }
    }
    free(done);
    free(g->order);
    g->order = order;
    g->norder = k;
    /* use counts over live nodes */
    for (int i = 0; i < g->nv; i++)
        g->v[i].nuse = g->v[i].is_output ? 1 : 0;
    for (int i = 0; i < g->nn; i++) {
        vg_node_t *n = &g->n[i];
        if (n->dead)
            continue;
        for (int j = 0; j < n->nin; j++)
            if (n->in[j] >= 0)
                g->v[n->in[j]].nuse++;
        if (n->sum_in >= 0)
            g->v[n->sum_in].nuse++;
    }
    return r;
}

/* The single live consumer of value v, or -1. */
static int sole_consumer(const vg_graph_t *g, int v)
{
    if (g->v[v].nuse != 1 || g->v[v].is_output)
        return -1;
    for (int i = 0; i < g->nn; i++) {
        const vg_node_t *n = &g->n[i];
        if (n->dead)
            continue;
        for (int j = 0; j < n->nin; j++)
            if (n->in[j] == v)
                return i;
    }
    return -1;
}

static int consumers(const vg_graph_t *g, int v, int *list, int max)
{
    int k = 0;
    for (int i = 0; i < g->nn; i++) {
        const vg_node_t *n = &g->n[i];
        if (n->dead)
            continue;
        for (int j = 0; j < n->nin; j++)
            if (n->in[j] == v) {
                if (k < max)
                    list[k] = i;
                k++;
                break;
            }
    }
    return k;
}

static void note(vg_node_t *n, const char *what)
{
    size_t l = strlen(n->fused);
    snprintf(n->fused + l, sizeof(n->fused) - l, "+%s", what);
}

static int new_const(vg_graph_t *g, const char *name, int ndim, const int64_t *dims, float **ret)
{
    int v = vg_graph_add_value(g, name);
    if (v < 0)
        return v;
    vg_value_t *x = &g->v[v];
    x->ndim = ndim;
    memcpy(x->dims, dims, ndim * sizeof(int64_t));
    x->dtype = DT_F32;
    x->shaped = true;
    x->cdata = calloc(vg_numel(ndim, dims) + 1, sizeof(float));
    if (!x->cdata)
        return -ENOMEM;
    *ret = x->cdata;
    return v;
}

static int fold_bn(vg_engine_t *e, int ci, int bi)
{
    vg_graph_t *g = &e->g;
    vg_node_t *c = &g->n[ci], *b = &g->n[bi];
    int64_t wd[VG_MAXD];
    int wndim = g->v[c->in[1]].ndim;
    memcpy(wd, g->v[c->in[1]].dims, sizeof(wd));
    int64_t oc = wd[0], per = vg_numel(wndim, wd) / oc;
    float *nw, *nb;
    char name[64];
    snprintf(name, sizeof(name), "%s.W_bn", c->name);
    int wv = new_const(g, name, wndim, wd, &nw);
    if (wv < 0)
        return wv;
    snprintf(name, sizeof(name), "%s.B_bn", c->name);
    int bv = new_const(g, name, 1, &oc, &nb);
    if (bv < 0)
        return bv;
    c = &g->n[ci];
    b = &g->n[bi];
    const float *w = g->v[c->in[1]].cdata;
    const float *ob = c->nin > 2 && c->in[2] >= 0 ? g->v[c->in[2]].cdata : NULL;
    const float *sc = g->v[b->in[1]].cdata, *bb = g->v[b->in[2]].cdata, *mu = g->v[b->in[3]].cdata, *var = g->v[b->in[4]].cdata;
    float eps = vg_attr_f(b, "epsilon", 1e-5f);
    for (int64_t o = 0; o < oc; o++) {
        float a = sc[o] / sqrtf(var[o] + eps);
        for (int64_t i = 0; i < per; i++)
            nw[o * per + i] = w[o * per + i] * a;
        nb[o] = ((ob ? ob[o] : 0.f) - mu[o]) * a + bb[o];
    }
    if (c->nin < 3) {
        int *ni = realloc(c->in, 3 * sizeof(int));
        if (!ni)
            return -ENOMEM;
        c->in = ni;
        c->nin = 3;
    }
    c->in[1] = wv;
    c->in[2] = bv;
    int old = c->out[0];
    c->out[0] = b->out[0];
    g->v[c->out[0]].producer = ci;
    g->v[old].nuse = 0;
    b->dead = true;
    note(c, "BatchNormalization");
    return 0;
}

static int other_in(const vg_node_t *n, int v)
{
    return n->in[0] == v ? n->in[1] : n->in[1] == v ? n->in[0] : -2;
}

static bool same_dims(const vg_value_t *a, const vg_value_t *b)
{
    return a->ndim == b->ndim && !memcmp(a->dims, b->dims, a->ndim * sizeof(int64_t));
}

static void absorb(vg_graph_t *g, int ci, int di)
{
    vg_node_t *c = &g->n[ci], *d = &g->n[di];
    c->out[0] = d->out[0];
    g->v[c->out[0]].producer = ci;
    d->dead = true;
}

int vg_eng_fuse(vg_engine_t *e)
{
    vg_graph_t *g = &e->g;
    int r;
    for (int oi = 0; oi < g->norder; oi++) {
        int ci = g->order[oi];
        vg_node_t *c = &g->n[ci];
        if (c->dead || !vg_node_has(c, VG_OPF_POSTOPS))
            continue;
        /* Pad(constant 0, spatial only) -> Conv: fold into the conv padding */
        int xin = c->in[0];
        int pp = g->v[xin].producer;
        if (vg_node_is(c, VG_OP_Conv) && pp >= 0 && !g->n[pp].dead && vg_node_is(&g->n[pp], VG_OP_Pad) &&
            sole_consumer(g, xin) == ci && !strcmp(vg_attr_s(&g->n[pp], "mode", "constant"), "constant") &&
            !strcmp(vg_attr_s(c, "auto_pad", "NOTSET"), "NOTSET") && g->v[xin].ndim == 4) {
            vg_node_t *p = &g->n[pp];
            vg_const_t in[4];
            memset(in, 0, sizeof(in));
            for (int k = 0; k < p->nin && k < 4; k++)
                if (p->in[k] >= 0) {
                    in[k].dtype = g->v[p->in[k]].dtype;
                    in[k].ndim = g->v[p->in[k]].ndim;
                    memcpy(in[k].dims, g->v[p->in[k]].dims, sizeof(in[k].dims));
                    in[k].data = g->v[p->in[k]].cdata;
                }
            int64_t pads[8];
            bool zero = true;
            if (p->nin > 2 && p->in[2] >= 0) {
                const vg_value_t *cv = &g->v[p->in[2]];
                zero = cv->cdata && (cv->dtype == DT_F32 ? ((float *)cv->cdata)[0] == 0.f : ((int64_t *)cv->cdata)[0] == 0);
            } else if (vg_attr_f(p, "value", 0.f) != 0.f) {
                zero = false;
            }
            if (zero && vg_pad_params(p, in, p->nin < 4 ? p->nin : 4, 4, pads) == 0 && !pads[0] && !pads[1] && !pads[4] && !pads[5]) {
                c->xpad[0] += pads[2];
                c->xpad[1] += pads[3];
                c->xpad[2] += pads[6];
                c->xpad[3] += pads[7];
                c->in[0] = p->in[0];
                g->v[xin].nuse = 0;
                p->dead = true;
                snprintf(c->fused, sizeof(c->fused), "Pad");
            }
        }
        int out = c->out[0];
        int ni = sole_consumer(g, out);
        /* Conv -> BatchNormalization */
        if (vg_node_is(c, VG_OP_Conv) && ni >= 0 && vg_node_is(&g->n[ni], VG_OP_BatchNormalization) && g->n[ni].in[0] == out) {
            if ((r = fold_bn(e, ci, ni)) < 0)
                return r;
            c = &g->n[ci];
            out = c->out[0];
        }
        /* post-op chain */
        bool have_sum = false;
        for (;;) {
            if (c->npost >= VG_MAX_POSTOPS || g->v[out].is_output)
                break;
            int cons[3];
            int nc = consumers(g, out, cons, 3);
            if (nc == 1 && g->v[out].nuse == 1) {
                vg_node_t *d = &g->n[cons[0]];
                vg_eltwise_t el;
                if (d->in[0] == out && d->nout >= 1 && vg_node_eltwise(d, g, &el)) {
                    c->post[c->npost++] = (vg_postop_t){0, el.alg, el.alpha, el.beta};
                    note(c, d->op);
                    absorb(g, ci, cons[0]);
                    out = c->out[0];
                    continue;
                }
                if (vg_node_is(d, VG_OP_Add) && !have_sum && d->nin == 2) {
                    int o = other_in(d, out);
                    if (o >= 0 && o != out && !g->v[o].cdata && same_dims(&g->v[o], &g->v[out])) {
                        c->post[c->npost++] = (vg_postop_t){1, 0, 1.f, 0};
                        c->sum_in = o;
                        have_sum = true;
                        note(c, "Add");
                        absorb(g, ci, cons[0]);
                        out = c->out[0];
                        continue;
                    }
                }
                break;
            }
            /* x * sigmoid(x) = SiLU (swish), x * hardsigmoid(x) = hardswish */
            if (nc == 2 && g->v[out].nuse == 2) {
                int s = -1, m = -1;
                for (int k = 0; k < 2; k++) {
                    const vg_node_t *d = &g->n[cons[k]];
                    if ((vg_node_is(d, VG_OP_Sigmoid) || vg_node_is(d, VG_OP_HardSigmoid)) && d->in[0] == out)
                        s = cons[k];
                    else if (vg_node_is(d, VG_OP_Mul))
                        m = cons[k];
                }
                if (s < 0 || m < 0)
                    break;
                vg_node_t *sn = &g->n[s], *mn = &g->n[m];
                if (sole_consumer(g, sn->out[0]) != m || other_in(mn, out) != sn->out[0])
                    break;
                bool hs = vg_node_is(sn, VG_OP_HardSigmoid);
                if (hs && (fabsf(vg_attr_f(sn, "alpha", 0.2f) - 1.f / 6) > 1e-6f || fabsf(vg_attr_f(sn, "beta", 0.5f) - 0.5f) > 1e-6f))
                    break;
                c->post[c->npost++] = (vg_postop_t){0, hs ? dnnl_eltwise_hardswish : dnnl_eltwise_swish, 1.f, 0};
                note(c, hs ? "HardSwish" : "SiLU");
                sn->dead = true;
                g->v[sn->out[0]].nuse = 0;
                absorb(g, ci, m);
                out = c->out[0];
                g->v[out].nuse = 0; /* recounted by toposort */
                for (int i = 0; i < g->nn; i++)
                    if (!g->n[i].dead)
                        for (int j = 0; j < g->n[i].nin; j++)
                            g->v[out].nuse += g->n[i].in[j] == out;
                g->v[out].nuse += g->v[out].is_output;
                continue;
            }
            break;
        }
    }
    return vg_eng_toposort(e);
}
