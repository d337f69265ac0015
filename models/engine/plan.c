/* Planner: turns the fused graph into steps (oneDNN primitives created once,
 * or our own kernels), decides each value's layout (channels-last between
 * oneDNN operators, dense NCHW for our own), inserts reorders only where a
 * layout or data type must change, packs weights once, and places every
 * activation in one arena by liveness (arena.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/engine/eng_internal.h"
#include "models/engine/ops.h"

#define DNNL_TRY(call, ...)                                                   \
    do {                                                                      \
        dnnl_status_t st_ = (call);                                           \
        if (st_ != dnnl_success)                                              \
            return vg_eng_err(e, st_ == dnnl_out_of_memory ? -ENOMEM : -ENOTSUP, __VA_ARGS__); \
    } while (0)

static const char *st_name(dnnl_status_t s)
{
    switch (s) {
    case dnnl_unimplemented: return "unimplemented";
    case dnnl_invalid_arguments: return "invalid arguments";
    case dnnl_out_of_memory: return "out of memory";
    default: return "failed";
    }
}

#define DNNL_NODE(call, n, what)                                                                  \
    do {                                                                                          \
        dnnl_status_t st_ = (call);                                                               \
        if (st_ != dnnl_success)                                                                  \
            return vg_eng_err(e, st_ == dnnl_out_of_memory ? -ENOMEM : -ENOTSUP,                  \
                              "node '%s' (%s): oneDNN %s: %s", (n)->name, (n)->op, what, st_name(st_)); \
    } while (0)

static int new_step(vg_engine_t *e, int node)
{
    if (e->nsteps == e->cap_steps) {
        int cap = e->cap_steps ? e->cap_steps * 2 : 64;
        vg_step_t *s = realloc(e->steps, cap * sizeof(*s));
        if (!s)
            return -ENOMEM;
        e->steps = s;
        e->cap_steps = cap;
    }
    vg_step_t *s = &e->steps[e->nsteps];
    memset(s, 0, sizeof(*s));
    s->node = node;
    return e->nsteps++;
}

static int step_io(vg_step_t *s, const int *rd, int nr, const int *wr, int nw)
{
    s->rd = malloc((nr + 1) * sizeof(int));
    s->wr = malloc((nw + 1) * sizeof(int));
    if (!s->rd || !s->wr)
        return -ENOMEM;
    for (int i = 0; i < nr; i++)
        if (rd[i] >= 0)
            s->rd[s->nr++] = rd[i];
    for (int i = 0; i < nw; i++)
        if (wr[i] >= 0)
            s->wr[s->nw++] = wr[i];
    return 0;
}

static void arg(vg_step_t *s, int a, dnnl_memory_t m)
{
    s->args[s->nargs].arg = a;
    s->args[s->nargs].memory = m;
    s->nargs++;
}

static dnnl_data_type_t act_dt(const vg_engine_t *e)
{
    return e->bf16 ? dnnl_bf16 : dnnl_f32;
}

/* Plain dense md for dims (rank 0 becomes [1]). */
static void plain_md(dnnl_memory_desc_t *md, int nd, const int64_t *dims, dnnl_data_type_t dt)
{
    dnnl_dims_t d, st;
    if (nd == 0) {
        nd = 1;
        d[0] = 1;
    } else {
        for (int i = 0; i < nd; i++)
            d[i] = dims[i];
    }
    int64_t s = 1;
    for (int i = nd - 1; i >= 0; i--) {
        st[i] = s;
        s *= d[i] ? d[i] : 1;
    }
    dnnl_memory_desc_init_by_strides(md, nd, d, dt, st);
}

static int set_layout(vg_engine_t *e, int v, int fmt, dnnl_data_type_t dt)
{
    vg_value_t *x = &e->g.v[v];
    x->fmt = fmt;
    x->rdt = dt;
    if (fmt == FMT_NHWC) {
        dnnl_dims_t d = {x->dims[0], x->dims[1], x->dims[2], x->dims[3]};
        dnnl_memory_desc_init_by_tag(&x->md, 4, d, dt, dnnl_acdb);
    } else {
        plain_md(&x->md, x->ndim, x->dims, dt);
    }
    if (dnnl_memory_create(&x->mem, &x->md, e->eng, DNNL_MEMORY_NONE) != dnnl_success)
        return vg_eng_err(e, -ENOMEM, "oneDNN memory for '%s'", x->name);
    return 0;
}

/* Value v's own md was set by the op that produced it (e.g. a conv dst). */
static int set_md(vg_engine_t *e, int v, const dnnl_memory_desc_t *md, int fmt)
{
    vg_value_t *x = &e->g.v[v];
    x->md = *md;
    x->fmt = fmt;
    x->rdt = md->data_type;
    if (dnnl_memory_create(&x->mem, &x->md, e->eng, DNNL_MEMORY_NONE) != dnnl_success)
        return vg_eng_err(e, -ENOMEM, "oneDNN memory for '%s'", x->name);
    return 0;
}

static int scratch_attr(vg_engine_t *e, dnnl_primitive_attr_t *attr)
{
    DNNL_TRY(dnnl_primitive_attr_create(attr), "oneDNN attr");
    DNNL_TRY(dnnl_primitive_attr_set_scratchpad_mode(*attr, dnnl_scratchpad_mode_user), "oneDNN attr");
    return 0;
}

/* Creates the primitive of pd in step s, with a scratchpad view. */
static int finish_prim(vg_engine_t *e, vg_step_t *s, dnnl_primitive_desc_t pd)
{
    const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    size_t sz = smd ? dnnl_memory_desc_get_size(smd) : 0;
    if (sz) {
        if (sz > e->scratch_bytes)
            e->scratch_bytes = sz;
        if (s->nowned >= 4)
            return -EINVAL;
        dnnl_memory_t m;
        DNNL_TRY(dnnl_memory_create(&m, smd, e->eng, DNNL_MEMORY_NONE), "oneDNN scratchpad");
        s->owned_mem[s->nowned++] = m;
        arg(s, DNNL_ARG_SCRATCHPAD, m);
    }
    const char *impl = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    snprintf(s->impl, sizeof(s->impl), "%s", impl ? impl : "?");
    dnnl_status_t st = dnnl_primitive_create(&s->prim, pd);
    dnnl_primitive_desc_destroy(pd);
    if (st != dnnl_success)
        return vg_eng_err(e, -ENOMEM, "oneDNN primitive creation failed");
    s->kind = STEP_DNNL;
    return 0;
}

/* A reorder src -> dst of existing values as a step. */
static int add_reorder(vg_engine_t *e, int src, int dst, int node)
{
    dnnl_primitive_desc_t pd;
    dnnl_primitive_attr_t attr;
    int r;
    if ((r = scratch_attr(e, &attr)) < 0)
        return r;
    dnnl_status_t st = dnnl_reorder_primitive_desc_create(&pd, &e->g.v[src].md, e->eng, &e->g.v[dst].md, e->eng, attr);
    dnnl_primitive_attr_destroy(attr);
    if (st != dnnl_success)
        return vg_eng_err(e, -ENOTSUP, "reorder of '%s': oneDNN %s", e->g.v[src].name, st_name(st));
    int si = new_step(e, node);
    if (si < 0)
        return si;
    vg_step_t *s = &e->steps[si];
    arg(s, DNNL_ARG_FROM, e->g.v[src].mem);
    arg(s, DNNL_ARG_TO, e->g.v[dst].mem);
    if ((r = step_io(s, &src, 1, &dst, 1)) < 0)
        return r;
    return finish_prim(e, s, pd);
}

static int hidden_value(vg_engine_t *e, int like, const char *suffix)
{
    char name[256];
    snprintf(name, sizeof(name), "%s@%s", e->g.v[like].name, suffix);
    int w = vg_graph_add_value(&e->g, name);
    if (w < 0)
        return w;
    vg_value_t *x = &e->g.v[w], *l = &e->g.v[like];
    x->ndim = l->ndim;
    memcpy(x->dims, l->dims, sizeof(x->dims));
    x->shaped = true;
    x->dtype = DT_F32;
    return w;
}

/* Returns a value holding v in layout fmt and type dt, adding a reorder step
 * the first time it is needed. */
static int ensure(vg_engine_t *e, int v, int fmt, dnnl_data_type_t dt)
{
    vg_value_t *x = &e->g.v[v];
    if (fmt == FMT_NHWC && x->ndim != 4)
        fmt = FMT_PLAIN;
    if (x->fmt == fmt && x->rdt == (int)dt)
        return v;
    int bf = dt == dnnl_bf16;
    if (x->conv[fmt][bf] >= 0)
        return x->conv[fmt][bf];
    int w = hidden_value(e, v, fmt == FMT_NHWC ? (bf ? "nhwc.bf16" : "nhwc") : (bf ? "plain.bf16" : "plain"));
    if (w < 0)
        return w;
    int r;
    if ((r = set_layout(e, w, fmt, dt)) < 0)
        return r;
    e->g.v[v].conv[fmt][bf] = w;
    if ((r = add_reorder(e, v, w, -1)) < 0)
        return r;
    return w;
}

/* Packs constant data (plain f32 with user md) into a new memory of md `to`,
 * owned by step s. */
static int pack_const(vg_engine_t *e, vg_step_t *s, const void *data, const dnnl_memory_desc_t *user,
                      const dnnl_memory_desc_t *to, dnnl_memory_t *ret)
{
    dnnl_memory_t um, pm;
    DNNL_TRY(dnnl_memory_create(&um, user, e->eng, (void *)data), "oneDNN memory");
    if (dnnl_memory_create(&pm, to, e->eng, DNNL_MEMORY_ALLOCATE) != dnnl_success) {
        dnnl_memory_destroy(um);
        return vg_eng_err(e, -ENOMEM, "out of memory packing weights");
    }
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t p;
    dnnl_status_t st = dnnl_reorder_primitive_desc_create(&pd, user, e->eng, to, e->eng, NULL);
    if (st == dnnl_success) {
        st = dnnl_primitive_create(&p, pd);
        dnnl_primitive_desc_destroy(pd);
        if (st == dnnl_success) {
            dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, um}, {DNNL_ARG_TO, pm}};
            st = dnnl_primitive_execute(p, e->stream, 2, a);
            dnnl_stream_wait(e->stream);
            dnnl_primitive_destroy(p);
        }
    }
    dnnl_memory_destroy(um);
    if (st != dnnl_success) {
        dnnl_memory_destroy(pm);
        return vg_eng_err(e, -ENOTSUP, "oneDNN weight reorder: %s", st_name(st));
    }
    if (s->nowned >= 4) {
        dnnl_memory_destroy(pm);
        return -EINVAL;
    }
    s->owned_mem[s->nowned++] = pm;
    e->weight_bytes += dnnl_memory_desc_get_size(to);
    *ret = pm;
    return 0;
}

int vg_root_of(const vg_graph_t *g, int v)
{
    while (g->v[v].alias >= 0)
        v = g->v[v].alias;
    return v;
}

/* True when storage root rt is read after the node being planned: by a later
 * node (directly or through a view made earlier) or as a graph output. */
static bool read_later(const vg_engine_t *e, int rt)
{
    const vg_graph_t *g = &e->g;
    for (int i = e->plan_pos + 1; i < g->norder; i++) {
        const vg_node_t *n = &g->n[g->order[i]];
        for (int k = 0; k < n->nin; k++)
            if (n->in[k] >= 0 && !g->v[n->in[k]].cdata && vg_root_of(g, n->in[k]) == rt)
                return true;
        if (n->sum_in >= 0 && vg_root_of(g, n->sum_in) == rt)
            return true;
    }
    for (int i = 0; i < g->noutputs; i++)
        if (vg_root_of(g, g->outputs[i]) == rt)
            return true;
    return false;
}

/* ---------------- convolution ---------------- */

int vg_plan_conv(vg_engine_t *e, int ni)
{
    vg_graph_t *g = &e->g;
    vg_node_t *n = &g->n[ni];
    bool tr = vg_node_is(n, VG_OP_ConvTranspose);
    int r;
    dnnl_data_type_t dt = act_dt(e);
    int src = ensure(e, n->in[0], FMT_NHWC, dt);
    if (src < 0)
        return src;
    n = &g->n[ni];
    const vg_value_t *x = &g->v[n->in[0]], *w = &g->v[n->in[1]];
    int y = n->out[0];
    int64_t grp = vg_attr_i(n, "group", 1), s[2], d[2], p[4], o[2], ks[2] = {w->dims[2], w->dims[3]};
    vg_conv_geom(n, tr, x->dims + 2, ks, s, d, p, o);
    for (int i = 0; i < 4; i++)
        p[i] += n->xpad[i];
    int64_t ic = x->dims[1], oc = g->v[y].dims[1];
    dnnl_dims_t sd = {x->dims[0], ic, x->dims[2], x->dims[3]};
    dnnl_dims_t dd = {x->dims[0], oc, g->v[y].dims[2], g->v[y].dims[3]};
    dnnl_memory_desc_t src_md, dst_md, w_any, w_user, b_md;
    dnnl_memory_desc_init_by_tag(&src_md, 4, sd, dt, dnnl_acdb);
    dnnl_memory_desc_init_by_tag(&dst_md, 4, dd, dt, dnnl_acdb);
    if (grp == 1) {
        dnnl_dims_t wd = {oc, ic, ks[0], ks[1]};
        dnnl_memory_desc_init_by_tag(&w_user, 4, wd, dnnl_f32, tr ? dnnl_iohw : dnnl_oihw);
        dnnl_memory_desc_init_by_tag(&w_any, 4, wd, dt, dnnl_format_tag_any);
    } else {
        dnnl_dims_t wd = {grp, oc / grp, ic / grp, ks[0], ks[1]};
        dnnl_memory_desc_init_by_tag(&w_user, 5, wd, dnnl_f32, tr ? dnnl_giohw : dnnl_goihw);
        dnnl_memory_desc_init_by_tag(&w_any, 5, wd, dt, dnnl_format_tag_any);
    }
    dnnl_dims_t bd = {oc};
    dnnl_memory_desc_init_by_tag(&b_md, 1, bd, dnnl_f32, dnnl_a);
    bool has_b = n->nin > 2 && n->in[2] >= 0;
    dnnl_dims_t str = {s[0], s[1]}, dil = {d[0] - 1, d[1] - 1}, pl = {p[0], p[1]}, pr = {p[2], p[3]};
    if (tr) {
        /* output_padding extends the bottom/right */
        int64_t op[2] = {0, 0};
        vg_attr_ints(n, "output_padding", op, 2);
        pr[0] -= op[0];
        pr[1] -= op[1];
    }
    dnnl_convolution_desc_t cd;
    dnnl_deconvolution_desc_t dcd;
    if (tr)
        DNNL_NODE(dnnl_dilated_deconvolution_forward_desc_init(&dcd, dnnl_forward_inference, dnnl_deconvolution_direct, &src_md, &w_any,
                                                               has_b ? &b_md : NULL, &dst_md, str, dil, pl, pr), n, "deconvolution");
    else
        DNNL_NODE(dnnl_dilated_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct, &src_md, &w_any,
                                                             has_b ? &b_md : NULL, &dst_md, str, dil, pl, pr), n, "convolution");
    dnnl_primitive_attr_t attr;
    if ((r = scratch_attr(e, &attr)) < 0)
        return r;
    dnnl_post_ops_t po = NULL;
    if (n->npost) {
        DNNL_TRY(dnnl_post_ops_create(&po), "oneDNN post-ops");
        for (int i = 0; i < n->npost; i++) {
            const vg_postop_t *q = &n->post[i];
            if (q->kind == 1)
                dnnl_post_ops_append_sum(po, 1.f);
            else
                dnnl_post_ops_append_eltwise(po, 1.f, q->alg, q->alpha, q->beta);
        }
        dnnl_primitive_attr_set_post_ops(attr, po);
        dnnl_post_ops_destroy(po);
    }
    dnnl_primitive_desc_t pd;
    dnnl_status_t st = dnnl_primitive_desc_create(&pd, tr ? (const void *)&dcd : (const void *)&cd, attr, e->eng, NULL);
    dnnl_primitive_attr_destroy(attr);
    if (st != dnnl_success)
        return vg_eng_err(e, -ENOTSUP, "node '%s' (%s): oneDNN has no implementation (%s)", n->name, n->op, st_name(st));
    /* the residual for the sum post-op lives in dst before the conv runs */
    int sum_src = -1;
    if (n->sum_in >= 0) {
        sum_src = ensure(e, n->sum_in, FMT_NHWC, dt);
        if (sum_src < 0)
            return sum_src;
        n = &g->n[ni];
        const vg_value_t *sv = &g->v[n->sum_in];
        /* the conv may accumulate into the residual's own storage when nothing
         * reads that storage afterwards (saves a copy per residual block) */
        int rs = vg_root_of(g, sum_src), ri = vg_root_of(g, n->sum_in);
        bool inplace = !g->v[rs].is_input && !g->v[ri].is_input && !g->v[rs].ptr && rs != vg_root_of(g, src) &&
                       !read_later(e, rs) && !read_later(e, ri);
        (void)sv;
        if ((r = set_md(e, y, &dst_md, FMT_NHWC)) < 0)
            return r;
        if (inplace) {
            g->v[y].alias = sum_src;
        } else if ((r = add_reorder(e, sum_src, y, ni)) < 0) {
            return r;
        }
    } else if ((r = set_md(e, y, &dst_md, FMT_NHWC)) < 0) {
        return r;
    }
    int si = new_step(e, ni);
    if (si < 0)
        return si;
    vg_step_t *sp = &e->steps[si];
    n = &g->n[ni];
    const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    dnnl_memory_t wm, bm = NULL;
    if ((r = pack_const(e, sp, g->v[n->in[1]].cdata, &w_user, wmd, &wm)) < 0)
        return r;
    if (has_b && (r = pack_const(e, sp, g->v[n->in[2]].cdata, &b_md, &b_md, &bm)) < 0)
        return r;
    arg(sp, DNNL_ARG_SRC, g->v[src].mem);
    arg(sp, DNNL_ARG_WEIGHTS, wm);
    if (bm)
        arg(sp, DNNL_ARG_BIAS, bm);
    arg(sp, DNNL_ARG_DST, g->v[y].mem);
    int rd[2] = {src, sum_src}, wr[1] = {y};
    if ((r = step_io(sp, rd, 2, wr, 1)) < 0)
        return r;
    const vg_value_t *yy = &g->v[y];
    sp->macs = (double)vg_numel(4, tr ? x->dims : yy->dims) * (tr ? oc : ic) / grp * ks[0] * ks[1];
    return finish_prim(e, sp, pd);
}

/* ---------------- pooling, eltwise, binary, concat, resize ---------------- */

/* The end of planning a node whose primitive reads one input and writes one
 * output (pooling, eltwise, resampling): the primitive from op_desc with our
 * scratchpad attribute, the output described by dst_md in layout fmt, and a
 * step that runs it from the node's first input into its first output. */
static int plan_src_dst(vg_engine_t *e, int ni, const void *op_desc, const dnnl_memory_desc_t *dst_md, int fmt,
                        const char *what)
{
    vg_graph_t *g = &e->g;
    vg_node_t *n = &g->n[ni];
    int src = n->in[0], y = n->out[0], r;
    dnnl_primitive_attr_t attr;
    if ((r = scratch_attr(e, &attr)) < 0)
        return r;
    dnnl_primitive_desc_t pd;
    dnnl_status_t st = dnnl_primitive_desc_create(&pd, op_desc, attr, e->eng, NULL);
    dnnl_primitive_attr_destroy(attr);
    DNNL_NODE(st, n, what);
    if ((r = set_md(e, y, dst_md, fmt)) < 0) {
        dnnl_primitive_desc_destroy(pd);
        return r;
    }
    int si = new_step(e, ni);
    if (si < 0) {
        dnnl_primitive_desc_destroy(pd);
        return si;
    }
    vg_step_t *sp = &e->steps[si];
    arg(sp, DNNL_ARG_SRC, g->v[src].mem);
    arg(sp, DNNL_ARG_DST, g->v[y].mem);
    if ((r = step_io(sp, &src, 1, &y, 1)) < 0) {
        dnnl_primitive_desc_destroy(pd);
        return r;
    }
    return finish_prim(e, sp, pd);
}

int vg_plan_pool(vg_engine_t *e, int ni)
{
    vg_graph_t *g = &e->g;
    vg_node_t *n = &g->n[ni];
    int src = n->in[0];
    const vg_value_t *x = &g->v[src];
    bool glob = vg_node_is(n, VG_OP_GlobalAveragePool) || vg_node_is(n, VG_OP_GlobalMaxPool);
    bool mx = n->opd->alg == dnnl_pooling_max;
    int64_t ks[2], s[2] = {1, 1}, d[2], p[4] = {0, 0, 0, 0}, o[2] = {1, 1};
    if (glob) {
        ks[0] = x->dims[2];
        ks[1] = x->dims[3];
    } else {
        vg_attr_ints(n, "kernel_shape", ks, 2);
        vg_conv_geom(n, false, x->dims + 2, ks, s, d, p, o);
        /* ceil_mode: pad the end so that oneDNN computes the same size */
        for (int i = 0; i < 2; i++)
            p[i + 2] = (o[i] - 1) * s[i] + ks[i] - x->dims[2 + i] - p[i];
    }
    dnnl_alg_kind_t alg = mx ? dnnl_pooling_max
                             : vg_attr_i(n, "count_include_pad", 0) ? dnnl_pooling_avg_include_padding : dnnl_pooling_avg_exclude_padding;
    dnnl_memory_desc_t dst_md;
    dnnl_dims_t dd = {x->dims[0], x->dims[1], o[0], o[1]};
    dnnl_memory_desc_init_by_tag(&dst_md, 4, dd, x->rdt, x->fmt == FMT_NHWC ? dnnl_acdb : dnnl_abcd);
    dnnl_pooling_desc_t pdsc;
    dnnl_dims_t str = {s[0], s[1]}, ker = {ks[0], ks[1]}, pl = {p[0], p[1]}, pr = {p[2], p[3]};
    DNNL_NODE(dnnl_pooling_forward_desc_init(&pdsc, dnnl_forward_inference, alg, &x->md, &dst_md, str, ker, pl, pr), n, "pooling");
    return plan_src_dst(e, ni, &pdsc, &dst_md, x->fmt, "pooling");
}

int vg_plan_eltwise(vg_engine_t *e, int ni)
{
    vg_graph_t *g = &e->g;
    vg_node_t *n = &g->n[ni];
    int src = n->in[0];
    vg_eltwise_t el;
    if (!vg_node_eltwise(n, g, &el) || g->v[src].cdata)
        return vg_plan_own(e, ni);
    dnnl_eltwise_desc_t ed;
    DNNL_NODE(dnnl_eltwise_forward_desc_init(&ed, dnnl_forward_inference, el.alg, &g->v[src].md, el.alpha, el.beta), n, "eltwise");
    return plan_src_dst(e, ni, &ed, &g->v[src].md, g->v[src].fmt, "eltwise");
}


static bool dims_eq(const vg_value_t *a, const vg_value_t *b)
{
    return a->ndim == b->ndim && !memcmp(a->dims, b->dims, a->ndim * sizeof(int64_t));
}

int vg_plan_binary(vg_engine_t *e, int ni)
{
    vg_graph_t *g = &e->g;
    vg_node_t *n = &g->n[ni];
    int alg = n->opd->alg ? n->opd->alg : -1, r;
    int a = n->in[0], b = n->in[1], y = n->out[0];
    bool comm = alg == dnnl_binary_add || alg == dnnl_binary_mul || alg == dnnl_binary_max || alg == dnnl_binary_min;
    if (alg < 0 || g->v[a].ndim > 5 || g->v[b].ndim > 5)
        return vg_plan_own(e, ni);
    if (!dims_eq(&g->v[a], &g->v[y]) && comm && dims_eq(&g->v[b], &g->v[y])) {
        int t = a;
        a = b;
        b = t;
    }
    if (!dims_eq(&g->v[a], &g->v[y]) || g->v[a].cdata)
        return vg_plan_own(e, ni);
    const vg_value_t *A = &g->v[a], *B = &g->v[b];
    int nd = A->ndim;
    dnnl_memory_desc_t bmd;
    int bsrc = -1;
    dnnl_dims_t bd;
    for (int i = 0; i < nd; i++) {
        int j = i - (nd - B->ndim);
        bd[i] = j >= 0 ? B->dims[j] : 1;
    }
    if (nd == 0)
        return vg_plan_own(e, ni);
    if (B->cdata) {
        dnnl_memory_desc_init_by_tag(&bmd, nd, bd, A->rdt, A->fmt == FMT_NHWC ? dnnl_acdb : (dnnl_format_tag_t)(dnnl_a + nd - 1));
        if (A->fmt != FMT_NHWC)
            plain_md(&bmd, nd, bd, A->rdt);
    } else if (B->ndim == nd && (A->fmt == FMT_PLAIN || nd == 4)) {
        bsrc = ensure(e, b, A->fmt, A->rdt);
        if (bsrc < 0)
            return bsrc;
        bmd = g->v[bsrc].md;
    } else {
        return vg_plan_own(e, ni);
    }
    n = &g->n[ni];
    A = &g->v[a];
    dnnl_binary_desc_t bdsc;
    DNNL_NODE(dnnl_binary_desc_init(&bdsc, alg, &A->md, &bmd, &A->md), n, "binary");
    dnnl_primitive_attr_t attr;
    if ((r = scratch_attr(e, &attr)) < 0)
        return r;
    dnnl_primitive_desc_t pd;
    dnnl_status_t st = dnnl_primitive_desc_create(&pd, &bdsc, attr, e->eng, NULL);
    dnnl_primitive_attr_destroy(attr);
    if (st != dnnl_success)
        return vg_plan_own(e, ni);
    /* oneDNN's reference binary (e.g. 5D broadcasts of YOLO heads) is 50x
     * slower than our loop: measured 10.7 ms vs 0.2 ms on 1x3x80x80x2 */
    const char *impl = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    if (impl && !strncmp(impl, "ref", 3) && A->fmt == FMT_PLAIN && A->rdt == dnnl_f32) {
        dnnl_primitive_desc_destroy(pd);
        return vg_plan_own(e, ni);
    }
    if ((r = set_md(e, y, &A->md, A->fmt)) < 0)
        return r;
    int si = new_step(e, ni);
    if (si < 0)
        return si;
    vg_step_t *sp = &e->steps[si];
    dnnl_memory_t bm;
    if (B->cdata) {
        dnnl_memory_desc_t user;
        plain_md(&user, nd, bd, dnnl_f32);
        if ((r = pack_const(e, sp, g->v[b].cdata, &user, &bmd, &bm)) < 0)
            return r;
    } else {
        bm = g->v[bsrc].mem;
    }
    arg(sp, DNNL_ARG_SRC_0, g->v[a].mem);
    arg(sp, DNNL_ARG_SRC_1, bm);
    arg(sp, DNNL_ARG_DST, g->v[y].mem);
    int rd[2] = {a, bsrc};
    if ((r = step_io(sp, rd, 2, &y, 1)) < 0)
        return r;
    return finish_prim(e, sp, pd);
}

int vg_plan_concat(vg_engine_t *e, int ni)
{
    vg_graph_t *g = &e->g;
    vg_node_t *n = &g->n[ni];
    int y = n->out[0], r;
    if (n->nin > 64)
        return vg_plan_own(e, ni);
    bool nhwc = g->v[y].ndim == 4, same_dt = true;
    int dt0 = -1;
    for (int k = 0; k < n->nin; k++) {
        const vg_value_t *v = &g->v[n->in[k]];
        if (v->cdata)
            return vg_plan_own(e, ni);
        nhwc &= v->fmt == FMT_NHWC;
        if (dt0 < 0)
            dt0 = v->rdt;
        same_dt &= v->rdt == dt0;
    }
    int fmt = nhwc ? FMT_NHWC : FMT_PLAIN;
    dnnl_data_type_t dt = same_dt ? (dnnl_data_type_t)dt0 : dnnl_f32;
    int srcs[64];
    dnnl_memory_desc_t mds[64];
    for (int k = 0; k < n->nin; k++) {
        srcs[k] = ensure(e, g->n[ni].in[k], fmt, dt);
        if (srcs[k] < 0)
            return srcs[k];
        mds[k] = g->v[srcs[k]].md;
    }
    n = &g->n[ni];
    int ax = (int)vg_attr_i(n, "axis", 0);
    if (ax < 0)
        ax += g->v[y].ndim;
    dnnl_memory_desc_t dst_md;
    if (fmt == FMT_NHWC) {
        dnnl_dims_t dd = {g->v[y].dims[0], g->v[y].dims[1], g->v[y].dims[2], g->v[y].dims[3]};
        dnnl_memory_desc_init_by_tag(&dst_md, 4, dd, dt, dnnl_acdb);
    } else {
        plain_md(&dst_md, g->v[y].ndim, g->v[y].dims, dt);
    }
    dnnl_primitive_attr_t attr;
    if ((r = scratch_attr(e, &attr)) < 0)
        return r;
    dnnl_primitive_desc_t pd;
    dnnl_status_t st = dnnl_concat_primitive_desc_create(&pd, &dst_md, n->nin, ax, mds, attr, e->eng);
    dnnl_primitive_attr_destroy(attr);
    DNNL_NODE(st, n, "concat");
    if ((r = set_md(e, y, &dst_md, fmt)) < 0)
        return r;
    int si = new_step(e, ni);
    if (si < 0)
        return si;
    vg_step_t *sp = &e->steps[si];
    if (n->nin + 2 > 8) {
        /* many inputs: args do not fit the inline array */
        dnnl_primitive_desc_destroy(pd);
        return vg_plan_own(e, ni);
    }
    for (int k = 0; k < n->nin; k++)
        arg(sp, DNNL_ARG_MULTIPLE_SRC + k, g->v[srcs[k]].mem);
    arg(sp, DNNL_ARG_DST, g->v[y].mem);
    if ((r = step_io(sp, srcs, n->nin, &y, 1)) < 0)
        return r;
    return finish_prim(e, sp, pd);
}

int vg_plan_resize(vg_engine_t *e, int ni)
{
    vg_graph_t *g = &e->g;
    vg_node_t *n = &g->n[ni];
    int src = n->in[0], y = n->out[0];
    const vg_value_t *x = &g->v[src];
    const char *mode = vg_attr_s(n, "mode", "nearest");
    bool up = vg_node_is(n, VG_OP_Upsample);
    const char *ctm = up ? "asymmetric" : vg_attr_s(n, "coordinate_transformation_mode", "half_pixel");
    const char *nm = up ? "floor" : vg_attr_s(n, "nearest_mode", "round_prefer_floor");
    float sh = vg_attr_f(n, "_scale_h", 0), sw = vg_attr_f(n, "_scale_w", 0);
    int64_t OH = g->v[y].dims[2], OW = g->v[y].dims[3];
    bool lin = strcmp(mode, "nearest") != 0;
    bool ok = x->ndim == 4;
    if (lin)
        ok &= !strcmp(ctm, "half_pixel") || (!strcmp(ctm, "pytorch_half_pixel") && OH > 1 && OW > 1);
    else
        ok &= !strcmp(ctm, "asymmetric") && !strcmp(nm, "floor") && sh == (float)(int)sh && sw == (float)(int)sw && sh >= 1 && sw >= 1;
    /* oneDNN derives the source coordinate from the size ratio */
    ok &= sh == (float)OH / x->dims[2] && sw == (float)OW / x->dims[3];
    if (!ok)
        return vg_plan_own(e, ni);
    dnnl_memory_desc_t dst_md;
    dnnl_dims_t dd = {x->dims[0], x->dims[1], OH, OW};
    dnnl_memory_desc_init_by_tag(&dst_md, 4, dd, x->rdt, x->fmt == FMT_NHWC ? dnnl_acdb : dnnl_abcd);
    dnnl_resampling_desc_t rd;
    DNNL_NODE(dnnl_resampling_forward_desc_init(&rd, dnnl_forward_inference, lin ? dnnl_resampling_linear : dnnl_resampling_nearest,
                                                NULL, &x->md, &dst_md), n, "resampling");
    return plan_src_dst(e, ni, &rd, &dst_md, x->fmt, "resampling");
}

/* ---------------- Gemm / MatMul ---------------- */

int vg_plan_matmul(vg_engine_t *e, int ni)
{
    vg_graph_t *g = &e->g;
    vg_node_t *n = &g->n[ni];
    bool gemm = vg_node_is(n, VG_OP_Gemm);
    int r, y = n->out[0];
    dnnl_data_type_t dt = act_dt(e);
    int a = n->in[0], b = n->in[1];
    bool bconst = g->v[b].cdata != NULL;
    if (g->v[a].cdata)
        return vg_eng_err(e, -ENOTSUP, "node '%s' (%s): a constant first operand is not supported", n->name, n->op);
    int asrc = ensure(e, a, FMT_PLAIN, dt);
    if (asrc < 0)
        return asrc;
    int bsrc = -1;
    if (!bconst && (bsrc = ensure(e, b, FMT_PLAIN, dt)) < 0)
        return bsrc;
    n = &g->n[ni];
    const vg_value_t *A = &g->v[a], *B = &g->v[b], *Y = &g->v[y];
    int nd = Y->ndim;
    dnnl_dims_t ad, bd, yd, ast, bst;
    bool ta = gemm && vg_attr_i(n, "transA", 0), tb = gemm && vg_attr_i(n, "transB", 0);
    for (int i = 0; i < nd; i++) {
        int ia = i - (nd - A->ndim), ib = i - (nd - B->ndim);
        ad[i] = ia >= 0 ? A->dims[ia] : 1;
        bd[i] = ib >= 0 ? B->dims[ib] : 1;
        yd[i] = Y->dims[i];
    }
    /* strides of the stored (possibly transposed) operands */
    int64_t s = 1;
    for (int i = nd - 1; i >= 0; i--) {
        ast[i] = s;
        s *= ad[i];
    }
    s = 1;
    for (int i = nd - 1; i >= 0; i--) {
        bst[i] = s;
        s *= bd[i];
    }
    if (ta) {
        int64_t t = ad[0]; ad[0] = ad[1]; ad[1] = t;
        ast[0] = 1; ast[1] = ad[0];
    }
    if (tb) {
        int64_t t = bd[0]; bd[0] = bd[1]; bd[1] = t;
        bst[0] = 1; bst[1] = bd[0];
    }
    dnnl_memory_desc_t amd, bmd_user, bmd, ymd, cmd;
    dnnl_memory_desc_init_by_strides(&amd, nd, ad, dt, ast);
    dnnl_memory_desc_init_by_strides(&bmd_user, nd, bd, bconst ? dnnl_f32 : dt, bst);
    if (bconst)
        dnnl_memory_desc_init_by_tag(&bmd, nd, bd, dt, dnnl_format_tag_any);
    else
        bmd = bmd_user;
    plain_md(&ymd, nd, yd, dnnl_f32);
    float alpha = gemm ? vg_attr_f(n, "alpha", 1.f) : 1.f, beta = gemm ? vg_attr_f(n, "beta", 1.f) : 1.f;
    float *cbuf = NULL;
    bool has_c = gemm && n->nin > 2 && n->in[2] >= 0 && beta != 0.f;
    dnnl_dims_t cd = {1, yd[1]};
    if (has_c) {
        const vg_value_t *C = &g->v[n->in[2]];
        int64_t cn = vg_numel(C->ndim, C->dims);
        if (cn == yd[0] * yd[1] && C->ndim == 2 && C->dims[0] == yd[0] && yd[0] > 1)
            cd[0] = yd[0];
        cbuf = malloc(cd[0] * cd[1] * sizeof(float));
        if (!cbuf)
            return -ENOMEM;
        const float *cs = C->cdata;
        for (int64_t i = 0; i < cd[0] * cd[1]; i++)
            cbuf[i] = beta * cs[cn == 1 ? 0 : cn == cd[1] && cd[0] == 1 ? i : i];
        dnnl_memory_desc_init_by_tag(&cmd, 2, cd, dnnl_f32, dnnl_ab);
    }
    dnnl_matmul_desc_t md;
    dnnl_status_t st = dnnl_matmul_desc_init(&md, &amd, &bmd, has_c ? &cmd : NULL, &ymd);
    if (st != dnnl_success) {
        free(cbuf);
        DNNL_NODE(st, n, "matmul");
    }
    dnnl_primitive_attr_t attr;
    if ((r = scratch_attr(e, &attr)) < 0) {
        free(cbuf);
        return r;
    }
    if (alpha != 1.f)
        dnnl_primitive_attr_set_output_scales(attr, 1, 0, &alpha);
    dnnl_primitive_desc_t pd;
    st = dnnl_primitive_desc_create(&pd, &md, attr, e->eng, NULL);
    dnnl_primitive_attr_destroy(attr);
    if (st != dnnl_success) {
        free(cbuf);
        DNNL_NODE(st, n, "matmul");
    }
    if ((r = set_md(e, y, &ymd, FMT_PLAIN)) < 0) {
        free(cbuf);
        return r;
    }
    int si = new_step(e, ni);
    if (si < 0) {
        free(cbuf);
        return si;
    }
    vg_step_t *sp = &e->steps[si];
    dnnl_memory_t bm, cm = NULL;
    if (bconst) {
        const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
        if ((r = pack_const(e, sp, g->v[b].cdata, &bmd_user, wmd, &bm)) < 0) {
            free(cbuf);
            return r;
        }
    } else {
        bm = g->v[bsrc].mem;
    }
    if (has_c) {
        r = pack_const(e, sp, cbuf, &cmd, &cmd, &cm);
        free(cbuf);
        if (r < 0)
            return r;
    }
    arg(sp, DNNL_ARG_SRC, g->v[asrc].mem);
    arg(sp, DNNL_ARG_WEIGHTS, bm);
    if (cm)
        arg(sp, DNNL_ARG_BIAS, cm);
    arg(sp, DNNL_ARG_DST, g->v[y].mem);
    int rd[2] = {asrc, bsrc};
    if ((r = step_io(sp, rd, 2, &y, 1)) < 0)
        return r;
    sp->macs = (double)vg_numel(nd, yd) * ad[nd - 1];
    return finish_prim(e, sp, pd);
}

/* ---------------- data movement as oneDNN reorders ---------------- */

/* Strides of a value's layout (dense NCHW or NHWC: no inner blocks). */
static bool value_strides(const vg_value_t *x, const dnnl_dim_t **ret)
{
    if (x->md.format_kind != dnnl_blocked || x->md.format_desc.blocking.inner_nblks != 0 || x->ndim < 1 || x->ndim > 6)
        return false;
    *ret = x->md.format_desc.blocking.strides;
    return true;
}

/* One reorder from a view (md `src`) of value x into plain float32 value y. */
static int view_reorder(vg_engine_t *e, int ni, int x, const dnnl_memory_desc_t *src, int y)
{
    dnnl_primitive_attr_t attr;
    dnnl_primitive_desc_t pd;
    int r;
    if ((r = scratch_attr(e, &attr)) < 0)
        return r;
    dnnl_status_t st = dnnl_reorder_primitive_desc_create(&pd, src, e->eng, &e->g.v[y].md, e->eng, attr);
    dnnl_primitive_attr_destroy(attr);
    if (st != dnnl_success)
        return 1; /* caller falls back to our kernel */
    const char *impl = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    if (impl && !strncmp(impl, "ref", 3)) {
        dnnl_primitive_desc_destroy(pd);
        return 1;
    }
    int si = new_step(e, ni);
    if (si < 0) {
        dnnl_primitive_desc_destroy(pd);
        return si;
    }
    vg_step_t *s = &e->steps[si];
    if (dnnl_memory_create(&s->view, src, e->eng, DNNL_MEMORY_NONE) != dnnl_success) {
        dnnl_primitive_desc_destroy(pd);
        return -ENOMEM;
    }
    s->view_val = x;
    arg(s, DNNL_ARG_FROM, s->view);
    arg(s, DNNL_ARG_TO, e->g.v[y].mem);
    if ((r = step_io(s, &x, 1, &y, 1)) < 0) {
        dnnl_primitive_desc_destroy(pd);
        return r;
    }
    return finish_prim(e, s, pd);
}

/* Transpose read straight from the producer's layout and type (e.g. a conv's
 * NHWC bf16 output): one pass instead of a reorder plus our transpose. */
int vg_plan_transpose(vg_engine_t *e, int ni)
{
    vg_graph_t *g = &e->g;
    vg_node_t *n = &g->n[ni];
    int x = n->in[0], y = n->out[0], r;
    const dnnl_dim_t *xs;
    if (g->v[x].cdata || !value_strides(&g->v[x], &xs))
        return vg_plan_own(e, ni);
    int nd = g->v[x].ndim;
    int64_t perm[VG_MAXD];
    if (vg_attr_ints(n, "perm", perm, VG_MAXD) != nd)
        for (int i = 0; i < nd; i++)
            perm[i] = nd - 1 - i;
    dnnl_dims_t yd, ys;
    for (int i = 0; i < nd; i++) {
        yd[i] = g->v[y].dims[i];
        ys[i] = xs[perm[i]];
    }
    dnnl_memory_desc_t src;
    if (dnnl_memory_desc_init_by_strides(&src, nd, yd, g->v[x].rdt, ys) != dnnl_success)
        return vg_plan_own(e, ni);
    src.offset0 = g->v[x].md.offset0;
    if ((r = set_layout(e, y, FMT_PLAIN, dnnl_f32)) < 0)
        return r;
    r = view_reorder(e, ni, x, &src, y);
    return r == 1 ? vg_plan_own(e, ni) : r;
}

/* Split, and Slice with unit steps, as reorders from sub-views of the input
 * in its own layout. */
int vg_plan_subviews(vg_engine_t *e, int ni)
{
    vg_graph_t *g = &e->g;
    vg_node_t *n = &g->n[ni];
    int x = n->in[0], r;
    const dnnl_dim_t *xs;
    if (g->v[x].cdata || !value_strides(&g->v[x], &xs))
        return vg_plan_own(e, ni);
    int nd = g->v[x].ndim;
    dnnl_dims_t offs = {0}, dims;
    bool split = vg_node_is(n, VG_OP_Split);
    if (!split) {
        vg_const_t in[5];
        memset(in, 0, sizeof(in));
        for (int k = 0; k < n->nin && k < 5; k++) {
            if (n->in[k] < 0)
                continue;
            const vg_value_t *v = &g->v[n->in[k]];
            in[k].dtype = v->dtype;
            in[k].ndim = v->ndim;
            memcpy(in[k].dims, v->dims, sizeof(v->dims));
            in[k].data = v->cdata;
        }
        int64_t st[VG_MAXD], sp[VG_MAXD], cnt[VG_MAXD];
        if (vg_slice_params(n, in, n->nin < 5 ? n->nin : 5, nd, g->v[x].dims, st, sp, cnt) < 0)
            return vg_plan_own(e, ni);
        for (int i = 0; i < nd; i++) {
            if (sp[i] != 1 || cnt[i] < 1)
                return vg_plan_own(e, ni);
            offs[i] = st[i];
        }
    }
    int ax = split ? (int)vg_attr_i(n, "axis", 0) : 0;
    if (ax < 0)
        ax += nd;
    int first = e->nsteps;
    for (int k = 0; k < n->nout; k++) {
        int y = g->n[ni].out[k];
        if (y < 0) {
            continue;
        }
        for (int i = 0; i < nd; i++)
            dims[i] = g->v[y].dims[i];
        dnnl_memory_desc_t sub;
        if (dims[split ? ax : 0] > 0 &&
            dnnl_memory_desc_init_submemory(&sub, &g->v[x].md, dims, offs) == dnnl_success) {
            if ((r = set_layout(e, y, FMT_PLAIN, dnnl_f32)) < 0)
                return r;
            r = view_reorder(e, ni, x, &sub, y);
        } else {
            r = 1;
        }
        if (r == 1) {
            /* undo: our kernel does all outputs at once */
            for (int s = first; s < e->nsteps; s++) {
                vg_step_t *st = &e->steps[s];
                if (st->prim)
                    dnnl_primitive_destroy(st->prim);
                for (int q = 0; q < st->nowned; q++)
                    dnnl_memory_destroy(st->owned_mem[q]);
                if (st->view)
                    dnnl_memory_destroy(st->view);
                free(st->rd);
                free(st->wr);
            }
            e->nsteps = first;
            for (int q = 0; q < g->n[ni].nout; q++) {
                int yq = g->n[ni].out[q];
                if (yq >= 0 && g->v[yq].mem) {
                    dnnl_memory_destroy(g->v[yq].mem);
                    g->v[yq].mem = NULL;
                }
            }
            return vg_plan_own(e, ni);
        }
        if (r < 0)
            return r;
        if (split)
            offs[ax] += dims[ax];
    }
    return 0;
}

/* ---------------- our own operators ---------------- */

int vg_plan_own(vg_engine_t *e, int ni)
{
    vg_graph_t *g = &e->g;
    vg_node_t *n = &g->n[ni];
    vg_ref_fn fn = n->opd ? n->opd->ref : NULL;
    if (!fn)
        return vg_eng_err(e, -ENOTSUP, "node '%s': operator %s is not supported at run time", n->name, n->op);
    int nin = n->nin, nout = n->nout, r;
    int *ins = calloc(nin + 1, sizeof(int));
    if (!ins)
        return -ENOMEM;
    for (int k = 0; k < nin; k++) {
        int v = g->n[ni].in[k];
        ins[k] = v;
        if (v >= 0 && !g->v[v].cdata && (ins[k] = ensure(e, v, FMT_PLAIN, dnnl_f32)) < 0) {
            r = ins[k];
            free(ins);
            return r;
        }
    }
    n = &g->n[ni];
    for (int k = 0; k < nout; k++)
        if (n->out[k] >= 0 && (r = set_layout(e, n->out[k], FMT_PLAIN, dnnl_f32)) < 0) {
            free(ins);
            return r;
        }
    if (vg_node_has(n, VG_OPF_VIEW)) {
        /* same bytes, new dims: share the storage, no step */
        g->v[n->out[0]].alias = ins[0];
        free(ins);
        return 0;
    }
    int si = new_step(e, ni);
    if (si < 0) {
        free(ins);
        return si;
    }
    vg_step_t *sp = &e->steps[si];
    sp->kind = STEP_OWN;
    sp->fn = fn;
    sp->tin = calloc(nin + 1, sizeof(vg_const_t));
    sp->tout = calloc(nout + 1, sizeof(vg_const_t));
    if (!sp->tin || !sp->tout) {
        free(ins);
        return -ENOMEM;
    }
    snprintf(sp->impl, sizeof(sp->impl), "vigil:ref");
    r = step_io(sp, ins, nin, n->out, nout);
    /* the runtime inputs' ids are remembered in rd, constants resolved now */
    for (int k = 0; k < nin; k++) {
        if (ins[k] < 0)
            continue;
        const vg_value_t *v = &g->v[ins[k]];
        sp->tin[k].dtype = v->dtype;
        sp->tin[k].ndim = v->ndim;
        memcpy(sp->tin[k].dims, v->dims, sizeof(v->dims));
        sp->tin[k].data = v->cdata; /* runtime pointers set after memory planning */
    }
    free(ins);
    return r;
}

/* ---------------- driver ---------------- */

/* The table's planner of node ni, or our own kernel. */
static int plan_node(vg_engine_t *e, int ni)
{
    const vg_op_t *op = e->g.n[ni].opd;
    return op && op->plan ? op->plan(e, ni) : vg_plan_own(e, ni);
}

int vg_eng_plan(vg_engine_t *e)
{
    vg_graph_t *g = &e->g;
    int r;
    for (int i = 0; i < g->ninputs; i++) {
        int v = g->inputs[i];
        if ((r = set_layout(e, v, FMT_PLAIN, dnnl_f32)) < 0)
            return r;
        g->v[v].ptr = e->in_buf[i];
        dnnl_memory_set_data_handle(g->v[v].mem, e->in_buf[i]);
    }
    for (int i = 0; i < g->norder; i++) {
        e->plan_pos = i;
        if ((r = plan_node(e, g->order[i])) < 0)
            return r;
    }
    /* graph outputs: reorder into the dense float32 output buffers */
    for (int i = 0; i < g->noutputs; i++) {
        int v = g->outputs[i];
        if (g->v[v].cdata) {
            memcpy(e->out_buf[i], g->v[v].cdata, vg_numel(g->v[v].ndim, g->v[v].dims) * sizeof(float));
            if (g->v[v].dtype == DT_I64)
                for (int64_t j = 0; j < vg_numel(g->v[v].ndim, g->v[v].dims); j++)
                    e->out_buf[i][j] = (float)((int64_t *)g->v[v].cdata)[j];
            continue;
        }
        /* a dense float32 result is written straight into the output buffer */
        bool dup = false;
        for (int j = 0; j < i; j++)
            dup |= g->outputs[j] == v;
        if (!dup && g->v[v].alias < 0 && !g->v[v].ptr && g->v[v].fmt == FMT_PLAIN && g->v[v].rdt == dnnl_f32 &&
            g->v[v].mem) {
            g->v[v].ptr = e->out_buf[i];
            dnnl_memory_set_data_handle(g->v[v].mem, e->out_buf[i]);
            continue;
        }
        int w = hidden_value(e, v, "out");
        if (w < 0)
            return w;
        if ((r = set_layout(e, w, FMT_PLAIN, dnnl_f32)) < 0)
            return r;
        g->v[w].ptr = e->out_buf[i];
        dnnl_memory_set_data_handle(g->v[w].mem, e->out_buf[i]);
        if ((r = add_reorder(e, v, w, -1)) < 0)
            return r;
    }
    for (int s = 0; s < e->nsteps; s++)
        e->macs += e->steps[s].macs;
    return vg_eng_plan_memory(e);
}

void vg_eng_plan_free(vg_engine_t *e)
{
    for (int s = 0; s < e->nsteps; s++) {
        vg_step_t *st = &e->steps[s];
        if (st->prim)
            dnnl_primitive_destroy(st->prim);
        for (int k = 0; k < st->nowned; k++)
            dnnl_memory_destroy(st->owned_mem[k]);
        if (st->view)
            dnnl_memory_destroy(st->view);
        free(st->rd);
        free(st->wr);
        free(st->tin);
        free(st->tout);
    }
    free(e->steps);
    e->steps = NULL;
    e->nsteps = 0;
    for (int i = 0; i < e->g.nv; i++)
        if (e->g.v[i].mem) {
            dnnl_memory_destroy(e->g.v[i].mem);
            e->g.v[i].mem = NULL;
        }
    free(e->arena);
    free(e->scratch);
    e->arena = e->scratch = NULL;
}
