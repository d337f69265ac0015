/* Static shape inference for a fixed input size and batch, and constant
 * folding: a node whose inputs are all constant (or that only reads shapes,
 * like Shape) is computed once at load with our own kernels and replaced by
 * its result. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/engine/ops.h"

#define NODE_ERR(code, ...) vg_eng_err(e, code, __VA_ARGS__)
#define NEED_IN(k)                                                                                                \
    do {                                                                                                          \
        if (!inv(g, n, k))                                                                                        \
            return NODE_ERR(-EINVAL, "node '%s' (%s): missing input %d", n->name, op, k);                       \
    } while (0)
#define NEED_CONST(k, what)                                                                                       \
    do {                                                                                                          \
        NEED_IN(k);                                                                                               \
        if (!inv(g, n, k)->cdata)                                                                                 \
            return NODE_ERR(-ENOTSUP, "node '%s' (%s): %s must be a constant", n->name, op, what);              \
    } while (0)
/* The names the shape functions use for their context (not all use all). */
#define SHAPE_VARS                                                                                                \
    vg_engine_t *e __attribute__((unused)) = ctx->e;                                                              \
    vg_graph_t *g __attribute__((unused)) = ctx->g;                                                               \
    vg_node_t *n __attribute__((unused)) = ctx->n;                                                                \
    const char *op __attribute__((unused)) = n->op;                                                               \
    const vg_value_t *x __attribute__((unused)) = ctx->x;                                                         \
    vg_value_t *y __attribute__((unused)) = ctx->y;                                                               \
    int nd __attribute__((unused)) = ctx->nd;                                                                     \
    vg_const_t *c __attribute__((unused)) = ctx->c;                                                               \
    int nc __attribute__((unused)) = ctx->nc;                                                                     \
    int r __attribute__((unused))

/* The node's "axis" attribute (def when absent), negative values counted
 * from the end of a rank-nd tensor, checked to lie in 0..max, into
 * *ret_ax. In int64 until checked: a model may give any value. */
static int axis_attr(const vg_node_t *n, int64_t def, int max, int nd, int *ret_ax)
{
    int64_t ax = vg_attr_i(n, "axis", def);
    if (ax < 0)
        ax += nd;
    if (ax < 0 || ax > max)
        return -EINVAL;
    *ret_ax = (int)ax;
    return 0;
}

static int add_attr(vg_node_t *n, const char *name, attr_type_t t, int64_t i, float f)
{
    vg_attr_t *na = realloc(n->attr, (n->nattr + 1) * sizeof(*na));
    if (!na)
        return -ENOMEM;
    n->attr = na;
    vg_attr_t *a = &n->attr[n->nattr];
    memset(a, 0, sizeof(*a));
    a->name = strdup(name);
    if (!a->name)
        return -ENOMEM;
    a->type = t;
    a->i = i;
    a->f = f;
    n->nattr++;
    return 0;
}

static bool batch_replanned(const vg_graph_t *g)
{
    return g->batch > 0 && g->file_batch > 0 && g->batch != g->file_batch;
}

static const vg_value_t *inv(const vg_graph_t *g, const vg_node_t *n, int k)
{
    return k < n->nin && n->in[k] >= 0 ? &g->v[n->in[k]] : NULL;
}

/* Fills a const view of value v (data NULL for runtime values). */
static void as_const(const vg_value_t *v, vg_const_t *c)
{
    memset(c, 0, sizeof(*c));
    if (!v)
        return;
    c->dtype = v->dtype;
    c->ndim = v->ndim;
    memcpy(c->dims, v->dims, sizeof(c->dims));
    c->data = v->cdata;
}

int vg_conv_geom(const vg_node_t *n, bool transpose, const int64_t *in_hw, const int64_t *k_hw,
                 int64_t *stride, int64_t *dil, int64_t *pads, int64_t *out_hw)
{
    int64_t t[4];
    for (int i = 0; i < 2; i++)
        stride[i] = dil[i] = 1;
    for (int i = 0; i < 4; i++)
        pads[i] = 0;
    int k;
    if ((k = vg_attr_ints(n, "strides", t, 4)) >= 0) {
        if (k != 2)
            return -EINVAL;
        stride[0] = t[0];
        stride[1] = t[1];
    }
    if ((k = vg_attr_ints(n, "dilations", t, 4)) >= 0) {
        if (k != 2)
            return -EINVAL;
        dil[0] = t[0];
        dil[1] = t[1];
    }
    if ((k = vg_attr_ints(n, "pads", t, 4)) >= 0) {
        if (k != 4)
            return -EINVAL;
        memcpy(pads, t, sizeof(t));
    }
    for (int i = 0; i < 2; i++)
        if (stride[i] < 1 || dil[i] < 1 || stride[i] > 1024 || dil[i] > 1024 || k_hw[i] < 1 || k_hw[i] > VG_MAX_ELEMS)
            return -EINVAL;
    for (int i = 0; i < 4; i++)
        if (pads[i] < 0 || pads[i] > 1 << 20)
            return -EINVAL;
    const char *ap = vg_attr_s(n, "auto_pad", "NOTSET");
    bool same = !strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER");
    if (!strcmp(ap, "VALID"))
        memset(pads, 0, 4 * sizeof(int64_t));
    for (int i = 0; i < 2; i++) {
        int64_t ke = (k_hw[i] - 1) * dil[i] + 1;
        if (!transpose) {
            if (same) {
                int64_t o = (in_hw[i] + stride[i] - 1) / stride[i];
                int64_t tot = (o - 1) * stride[i] + ke - in_hw[i];
                if (tot < 0)
                    tot = 0;
                pads[i] = !strcmp(ap, "SAME_UPPER") ? tot / 2 : tot - tot / 2;
                pads[i + 2] = tot - pads[i];
            }
            int64_t span = in_hw[i] + pads[i] + pads[i + 2] - ke;
            if (span < 0)
                return -EINVAL;
            int64_t o = span / stride[i] + 1;
            if (vg_attr_i(n, "ceil_mode", 0)) {
                o = (span + stride[i] - 1) / stride[i] + 1;
                if ((o - 1) * stride[i] >= in_hw[i] + pads[i])
                    o--;
            }
            out_hw[i] = o;
        } else {
            int64_t op[2] = {0, 0}, os[2];
            vg_attr_ints(n, "output_padding", op, 2);
            /* attributes a model may set to anything: bound them before
             * they enter the arithmetic below */
            if (op[i] < 0 || op[i] > 1 << 20)
                return -EINVAL;
            if (vg_attr_ints(n, "output_shape", os, 2) == 2) {
                if (os[i] < 1 || os[i] > VG_MAX_ELEMS)
                    return -EINVAL;
                int64_t tot = stride[i] * (in_hw[i] - 1) + op[i] + ke - os[i];
                if (!strcmp(ap, "SAME_UPPER")) {
                    pads[i] = tot / 2;
                    pads[i + 2] = tot - tot / 2;
                } else {
                    pads[i] = tot - tot / 2;
                    pads[i + 2] = tot / 2;
                }
                out_hw[i] = os[i];
            } else {
                if (same) {
                    int64_t tot = stride[i] * (in_hw[i] - 1) + op[i] + ke - in_hw[i] * stride[i];
                    if (tot < 0)
                        tot = 0;
                    pads[i] = !strcmp(ap, "SAME_UPPER") ? tot / 2 : tot - tot / 2;
                    pads[i + 2] = tot - pads[i];
                }
                out_hw[i] = stride[i] * (in_hw[i] - 1) + op[i] + ke - pads[i] - pads[i + 2];
            }
            if (out_hw[i] < 1)
                return -EINVAL;
        }
    }
    return 0;
}

/* ---- one function per operator family (rows in ops.h) ---- */

/* Conv, ConvTranspose */
int vg_shape_conv(vg_shape_ctx_t *ctx)
{
    SHAPE_VARS;
    bool tr = vg_node_is(n, VG_OP_ConvTranspose);
    NEED_IN(0);
    NEED_CONST(1, "the weight");
    const vg_value_t *w = inv(g, n, 1);
    if (nd != 4 || w->ndim != 4)
        return NODE_ERR(-ENOTSUP, "node '%s' (%s): only 2D convolutions (4D tensors) are supported, got %dD input", n->name, op, nd);
    int64_t grp = vg_attr_i(n, "group", 1), s[2], d[2], p[4], o[2], ks[2];
    int64_t cin = x->dims[1], cout = tr ? w->dims[1] * grp : w->dims[0];
    if (grp < 1 || cin % grp || (tr ? w->dims[0] != cin : w->dims[1] * grp != cin) || cout % grp)
        return NODE_ERR(-EINVAL, "node '%s' (%s): shape mismatch: input has %lld channels, weight is %lldx%lldx%lldx%lld, group %lld",
                        n->name, op, (long long)cin, (long long)w->dims[0], (long long)w->dims[1], (long long)w->dims[2],
                        (long long)w->dims[3], (long long)grp);
    int64_t kk[2];
    if (vg_attr_ints(n, "kernel_shape", kk, 2) == 2 && (kk[0] != w->dims[2] || kk[1] != w->dims[3]))
        return NODE_ERR(-EINVAL, "node '%s' (%s): kernel_shape does not match the weight", n->name, op);
    ks[0] = w->dims[2];
    ks[1] = w->dims[3];
    if (vg_conv_geom(n, tr, x->dims + 2, ks, s, d, p, o) < 0)
        return NODE_ERR(-EINVAL, "node '%s' (%s): bad strides/pads/dilations for a %lldx%lld input", n->name, op,
                        (long long)x->dims[2], (long long)x->dims[3]);
    const vg_value_t *b = inv(g, n, 2);
    if (b && (!b->cdata || vg_numel(b->ndim, b->dims) != cout))
        return NODE_ERR(-EINVAL, "node '%s' (%s): bias must be a constant of %lld values", n->name, op, (long long)cout);
    y->dims[1] = cout;
    y->dims[2] = o[0];
    y->dims[3] = o[1];
    return 0;
}

/* MaxPool, AveragePool, LpPool */
int vg_shape_pool(vg_shape_ctx_t *ctx)
{
    SHAPE_VARS;
    if (nd != 4)
        return NODE_ERR(-ENOTSUP, "node '%s' (%s): only 2D pooling (4D tensors) is supported", n->name, op);
    int64_t ks[2], s[2], d[2], p[4], o[2];
    if (vg_attr_ints(n, "kernel_shape", ks, 2) != 2)
        return NODE_ERR(-EINVAL, "node '%s' (%s): kernel_shape must have 2 values", n->name, op);
    if (n->nout > 1 && n->out[1] >= 0)
        return NODE_ERR(-ENOTSUP, "node '%s' (%s): the Indices output is not supported", n->name, op);
    if (vg_conv_geom(n, false, x->dims + 2, ks, s, d, p, o) < 0)
        return NODE_ERR(-EINVAL, "node '%s' (%s): bad kernel/strides/pads for a %lldx%lld input", n->name, op,
                        (long long)x->dims[2], (long long)x->dims[3]);
    if (d[0] != 1 || d[1] != 1)
        return NODE_ERR(-ENOTSUP, "node '%s' (%s): dilated pooling is not supported", n->name, op);
    y->dims[2] = o[0];
    y->dims[3] = o[1];
    return 0;
}

/* GlobalAveragePool, GlobalMaxPool */
int vg_shape_global_pool(vg_shape_ctx_t *ctx)
{
    SHAPE_VARS;
    if (nd != 4)
        return NODE_ERR(-ENOTSUP, "node '%s' (%s): only 4D tensors are supported", n->name, op);
    y->dims[2] = y->dims[3] = 1;
    return 0;
}

/* BatchNormalization */
int vg_shape_batchnorm(vg_shape_ctx_t *ctx)
{
    SHAPE_VARS;
    for (int k = 1; k < 5; k++) {
        NEED_CONST(k, "scale/bias/mean/var");
        if (vg_numel(c[k].ndim, c[k].dims) != (nd > 1 ? x->dims[1] : 1) || c[k].dtype != DT_F32)
            return NODE_ERR(-EINVAL, "node '%s' (%s): parameter %d does not match %lld channels", n->name, op, k,
                            (long long)(nd > 1 ? x->dims[1] : 1));
    }
    for (int k = 1; k < n->nout; k++)
        if (n->out[k] >= 0)
            return NODE_ERR(-ENOTSUP, "node '%s' (%s): training outputs are not supported", n->name, op);
    return 0;
}

/* Add, Sub, Mul, Div, Pow, Max, Min, Equal, Less, Greater, Where */
int vg_shape_broadcast(vg_shape_ctx_t *ctx)
{
    SHAPE_VARS;
    int k0 = 0, kn = vg_node_is(n, VG_OP_Where) ? 3 : 2;
    if (n->nin != kn)
        return NODE_ERR(-ENOTSUP, "node '%s' (%s): %d inputs (expected %d)", n->name, op, n->nin, kn);
    int ond = 0;
    for (int k = k0; k < kn; k++) {
        NEED_IN(k);
        if (c[k].ndim > ond)
            ond = c[k].ndim;
    }
    int64_t od[VG_MAXD];
    for (int i = 0; i < ond; i++)
        od[i] = 1;
    for (int k = k0; k < kn; k++)
        for (int i = 0; i < c[k].ndim; i++) {
            int j = i + ond - c[k].ndim;
            int64_t dd = c[k].dims[i];
            if (od[j] == 1)
                od[j] = dd;
            else if (dd != 1 && dd != od[j])
                return NODE_ERR(-EINVAL, "node '%s' (%s): shape mismatch: cannot broadcast input %d (dim %d is %lld, expected %lld)",
                                n->name, op, k, i, (long long)dd, (long long)od[j]);
        }
    y->ndim = ond;
    memcpy(y->dims, od, sizeof(od));
    if (vg_node_is(n, VG_OP_Where))
        y->dtype = c[1].dtype;
    else if (vg_node_is(n, VG_OP_Equal) || vg_node_is(n, VG_OP_Less) || vg_node_is(n, VG_OP_Greater))
        y->dtype = DT_I64;
    else if (c[0].dtype != c[1].dtype)
        y->dtype = DT_F32;
    return 0;
}

/* Relu, LeakyRelu, Sigmoid, Tanh, Clip, HardSwish, HardSigmoid, Exp, Log, Sqrt, Abs, Neg, Elu, Softplus, Floor, Ceil, Round, Reciprocal, Erf, Not, Identity, Dropout */
int vg_shape_unary(vg_shape_ctx_t *ctx)
{
    SHAPE_VARS;
    NEED_IN(0);
    if (vg_node_is(n, VG_OP_Clip))
        for (int k = 1; k < n->nin && k < 3; k++)
            if (n->in[k] >= 0 && !c[k].data)
                return NODE_ERR(-ENOTSUP, "node '%s' (%s): min/max must be constants", n->name, op);
    if (vg_node_is(n, VG_OP_Dropout))
        for (int k = 1; k < n->nout; k++)
            if (n->out[k] >= 0 && g->v[n->out[k]].nuse)
                return NODE_ERR(-ENOTSUP, "node '%s' (%s): the mask output is not supported", n->name, op);
    return 0;
}

/* Cast */
int vg_shape_cast(vg_shape_ctx_t *ctx)
{
    SHAPE_VARS;
    int64_t to = vg_attr_i(n, "to", 1);
    if (to == 1 || to == 11 || to == 10 || to == 16)
        y->dtype = DT_F32;
    else if (to == 7 || to == 6 || to == 9 || to == 2 || to == 3 || to == 5 || to == 12 || to == 13)
        y->dtype = DT_I64;
    else
        return NODE_ERR(-ENOTSUP, "node '%s' (%s): cast to type %lld is not supported", n->name, op, (long long)to);
    if (!c[0].data && y->dtype != DT_F32)
        return NODE_ERR(-ENOTSUP, "node '%s' (%s): integer tensors at run time are not supported", n->name, op);
    return 0;
}

/* Concat */
int vg_shape_concat(vg_shape_ctx_t *ctx)
{
    SHAPE_VARS;
    int ax;
    if (axis_attr(n, 0, nd - 1, nd, &ax) < 0)
        return NODE_ERR(-EINVAL, "node '%s' (%s): axis out of range", n->name, op);
    int64_t tot = 0;
    bool anyf = false;
    for (int k = 0; k < n->nin; k++) {
        NEED_IN(k);
        const vg_value_t *v = inv(g, n, k);
        if (v->ndim != nd)
            return NODE_ERR(-EINVAL, "node '%s' (%s): shape mismatch: input %d has rank %d, expected %d", n->name, op, k, v->ndim, nd);
        for (int i = 0; i < nd; i++)
            if (i != ax && v->dims[i] != x->dims[i])
                return NODE_ERR(-EINVAL, "node '%s' (%s): shape mismatch: input %d dim %d is %lld, expected %lld", n->name, op, k, i,
                                (long long)v->dims[i], (long long)x->dims[i]);
        tot += v->dims[ax];
        anyf |= v->dtype == DT_F32;
    }
    y->dims[ax] = tot;
    if (anyf)
        y->dtype = DT_F32;
    return 0;
}

/* Reshape */
int vg_shape_reshape(vg_shape_ctx_t *ctx)
{
    SHAPE_VARS;
    NEED_CONST(1, "the shape");
    int64_t k = vg_numel(c[1].ndim, c[1].dims), total = vg_numel(nd, x->dims), known = 1;
    if (k > VG_MAXD)
        return NODE_ERR(-ENOTSUP, "node '%s' (%s): rank %lld", n->name, op, (long long)k);
    int neg = -1;
    bool allowzero = vg_attr_i(n, "allowzero", 0);
    if (c[1].dtype != DT_I64)
        return NODE_ERR(-EINVAL, "node '%s' (%s): shape must be int64", n->name, op);
    y->ndim = (int)k;
    for (int i = 0; i < k; i++) {
        int64_t dd = ((int64_t *)c[1].data)[i];
        /* re-planned batch: a leading dim equal to the file's batch on a
         * tensor that carries the new batch is the batch (converters bake
         * [1, ...] shapes) */
        if (i == 0 && batch_replanned(g) && dd == g->file_batch && nd > 0 && x->dims[0] == g->batch)
            dd = g->batch;
        if (dd == 0 && !allowzero) {
            if (i >= nd)
                return NODE_ERR(-EINVAL, "node '%s' (%s): shape[%d] = 0 copies a missing dimension", n->name, op, i);
            dd = x->dims[i];
        }
        if (dd == -1) {
            if (neg >= 0)
                return NODE_ERR(-EINVAL, "node '%s' (%s): more than one -1 in shape", n->name, op);
            neg = i;
            dd = 1;
        } else if (dd < 0 || dd > VG_MAX_ELEMS) {
            return NODE_ERR(-EINVAL, "node '%s' (%s): bad dimension %lld in shape", n->name, op, (long long)dd);
        }
        y->dims[i] = dd;
        /* saturate: up to 8 dims of 2^28 would overflow; past the largest
         * tensor the value only has to stay larger than any total */
        known *= dd;
        if (known > VG_MAX_ELEMS)
            known = VG_MAX_ELEMS + 1;
    }
    if (neg >= 0) {
        if (known == 0 || total % known)
            return NODE_ERR(-EINVAL, "node '%s' (%s): shape mismatch: cannot reshape %lld elements", n->name, op, (long long)total);
        y->dims[neg] = total / known;
    } else if (known != total) {
        return NODE_ERR(-EINVAL, "node '%s' (%s): shape mismatch: reshaping %lld elements into %lld", n->name, op,
                        (long long)total, (long long)known);
    }
    return 0;
}

/* Flatten */
int vg_shape_flatten(vg_shape_ctx_t *ctx)
{
    SHAPE_VARS;
    int ax;
    if (axis_attr(n, 1, nd, nd, &ax) < 0)
        return NODE_ERR(-EINVAL, "node '%s' (%s): axis out of range", n->name, op);
    y->ndim = 2;
    y->dims[0] = vg_numel(ax, x->dims);
    y->dims[1] = vg_numel(nd - ax, x->dims + ax);
    return 0;
}

/* Squeeze, Unsqueeze */
int vg_shape_squeeze(vg_shape_ctx_t *ctx)
{
    SHAPE_VARS;
    int64_t ax[VG_MAXD];
    int k;
    if (n->nin > 1 && n->in[1] >= 0) {
        NEED_CONST(1, "axes");
        k = (int)vg_numel(c[1].ndim, c[1].dims);
        if (c[1].dtype != DT_I64)
            return NODE_ERR(-EINVAL, "node '%s' (%s): axes must be int64", n->name, op);
        if (k > VG_MAXD)
            return NODE_ERR(-EINVAL, "node '%s' (%s): too many axes", n->name, op);
        for (int i = 0; i < k; i++)
            ax[i] = ((int64_t *)c[1].data)[i];
    } else {
        k = vg_attr_ints(n, "axes", ax, VG_MAXD);
    }
    bool sq = vg_node_is(n, VG_OP_Squeeze);
    int ond = sq ? nd : nd + (k < 0 ? 0 : k);
    if (ond > VG_MAXD)
        return NODE_ERR(-ENOTSUP, "node '%s' (%s): rank above %d", n->name, op, VG_MAXD);
    bool mark[VG_MAXD] = {0};
    for (int i = 0; i < k; i++) {
        int a = (int)(ax[i] < 0 ? ax[i] + ond : ax[i]);
        if (a < 0 || a >= ond || (sq && x->dims[a] != 1))
            return NODE_ERR(-EINVAL, "node '%s' (%s): bad axis %lld", n->name, op, (long long)ax[i]);
        mark[a] = true;
    }
    int o = 0;
    if (sq) {
        for (int i = 0; i < nd; i++)
            if (!(k > 0 ? mark[i] : x->dims[i] == 1))
                y->dims[o++] = x->dims[i];
    } else {
        if (k < 0)
            return NODE_ERR(-EINVAL, "node '%s' (%s): no axes", n->name, op);
        for (int i = 0, j = 0; i < ond; i++)
            y->dims[o++] = mark[i] ? 1 : x->dims[j++];
    }
    y->ndim = o;
    return 0;
}

/* Transpose */
int vg_shape_transpose(vg_shape_ctx_t *ctx)
{
    SHAPE_VARS;
    int64_t perm[VG_MAXD];
    int k = vg_attr_ints(n, "perm", perm, VG_MAXD);
    if (k < 0)
        for (k = 0; k < nd; k++)
            perm[k] = nd - 1 - k;
    if (k != nd)
        return NODE_ERR(-EINVAL, "node '%s' (%s): perm has %d entries for rank %d", n->name, op, k, nd);
    bool seen[VG_MAXD] = {0};
    for (int i = 0; i < nd; i++) {
        if (perm[i] < 0 || perm[i] >= nd || seen[perm[i]])
            return NODE_ERR(-EINVAL, "node '%s' (%s): bad perm", n->name, op);
        seen[perm[i]] = true;
        y->dims[i] = x->dims[perm[i]];
    }
    return 0;
}

/* Slice */
int vg_shape_slice(vg_shape_ctx_t *ctx)
{
    SHAPE_VARS;
    for (int k = 1; k < n->nin; k++)
        if (n->in[k] >= 0)
            NEED_CONST(k, "starts/ends/axes/steps");
    int64_t st[VG_MAXD], sp[VG_MAXD], cnt[VG_MAXD];
    if (vg_slice_params(n, c, nc, nd, x->dims, st, sp, cnt) < 0)
        return NODE_ERR(-EINVAL, "node '%s' (%s): bad starts/ends/axes/steps", n->name, op);
    memcpy(y->dims, cnt, sizeof(cnt));
    return 0;
}

/* Split */
int vg_shape_split(vg_shape_ctx_t *ctx)
{
    SHAPE_VARS;
    int ax;
    if (axis_attr(n, 0, nd - 1, nd, &ax) < 0)
        return NODE_ERR(-EINVAL, "node '%s' (%s): axis out of range", n->name, op);
    int64_t sp[64];
    int k = -1;
    if (n->nin > 1 && n->in[1] >= 0) {
        NEED_CONST(1, "split");
        k = (int)vg_numel(c[1].ndim, c[1].dims);
        if (c[1].dtype != DT_I64)
            return NODE_ERR(-EINVAL, "node '%s' (%s): split must be int64", n->name, op);
        if (k > 64)
            return NODE_ERR(-ENOTSUP, "node '%s' (%s): too many outputs", n->name, op);
        for (int i = 0; i < k; i++)
            sp[i] = ((int64_t *)c[1].data)[i];
    } else {
        k = vg_attr_ints(n, "split", sp, 64);
    }
    if (k < 0) {
        k = n->nout;
        if (k < 1 || k > 64)
            return NODE_ERR(-EINVAL, "node '%s' (%s): no outputs", n->name, op);
        int64_t each = (x->dims[ax] + k - 1) / k;
        for (int i = 0; i < k; i++) {
            int64_t rem = x->dims[ax] - i * each;
            sp[i] = rem < each ? (rem < 0 ? 0 : rem) : each;
        }
    }
    int64_t tot = 0;
    bool bad = false;
    for (int i = 0; i < k; i++) {
        bad |= sp[i] < 0 || sp[i] > x->dims[ax]; /* also keeps the sum from overflowing */
        tot += bad ? 0 : sp[i];
    }
    if (bad || k != n->nout || tot != x->dims[ax])
        return NODE_ERR(-EINVAL, "node '%s' (%s): split sizes do not add up to %lld", n->name, op, (long long)x->dims[ax]);
    for (int i = 0; i < k; i++) {
        if (n->out[i] < 0)
            continue;
        vg_value_t *o = &g->v[n->out[i]];
        o->ndim = nd;
        o->dtype = x->dtype;
        memcpy(o->dims, x->dims, sizeof(o->dims));
        o->dims[ax] = sp[i];
    }
    return 0;
}

/* Pad */
int vg_shape_pad(vg_shape_ctx_t *ctx)
{
    SHAPE_VARS;
    for (int k = 1; k < n->nin; k++)
        if (n->in[k] >= 0)
            NEED_CONST(k, "pads/value");
    int64_t p[2 * VG_MAXD];
    if (vg_pad_params(n, c, nc, nd, p) < 0)
        return NODE_ERR(-EINVAL, "node '%s' (%s): pads must have %d values", n->name, op, 2 * nd);
    const char *mode = vg_attr_s(n, "mode", "constant");
    if (strcmp(mode, "constant") && strcmp(mode, "reflect") && strcmp(mode, "edge"))
        return NODE_ERR(-ENOTSUP, "node '%s' (%s): mode '%s' is not supported", n->name, op, mode);
    for (int i = 0; i < nd; i++) {
        if (p[i] < 0 || p[i + nd] < 0 || p[i] > VG_MAX_ELEMS || p[i + nd] > VG_MAX_ELEMS)
            return NODE_ERR(-ENOTSUP, "node '%s' (%s): negative or absurd pads", n->name, op);
        y->dims[i] = x->dims[i] + p[i] + p[i + nd];
        if (y->dims[i] > VG_MAX_ELEMS)
            return NODE_ERR(-ENOTSUP, "node '%s' (%s): negative or absurd pads", n->name, op);
    }
    return 0;
}

/* Shape */
int vg_shape_shape(vg_shape_ctx_t *ctx)
{
    SHAPE_VARS;
    int64_t s = vg_attr_i(n, "start", 0), en = vg_attr_i(n, "end", nd);
    if (s < 0) s += nd;
    if (en < 0) en += nd;
    if (s < 0) s = 0;
    if (en > nd) en = nd;
    if (en < s) en = s;
    y->dtype = DT_I64;
    y->ndim = 1;
    y->dims[0] = en - s;
    y->cdata = malloc((en - s + 1) * 8);
    if (!y->cdata)
        return -ENOMEM;
    memcpy(y->cdata, x->dims + s, (en - s) * 8);
    y->shaped = true;
    ctx->fold = 2;
    return 0;
    return 0;
}

/* Constant */
int vg_shape_constant(vg_shape_ctx_t *ctx)
{
    SHAPE_VARS;
    const vg_attr_t *a = vg_attr(n, "value");
    y->shaped = true;
    ctx->fold = 2;
    if (a && a->type == AT_T) {
        y->dtype = a->t->dtype;
        y->ndim = a->t->ndim;
        memcpy(y->dims, a->t->dims, sizeof(y->dims));
        size_t bytes = vg_numel(y->ndim, y->dims) * vg_dtsize(y->dtype);
        y->cdata = malloc(bytes + 8);
        if (!y->cdata)
            return -ENOMEM;
        memcpy(y->cdata, a->t->data, bytes);
        return 0;
    }
    if ((a = vg_attr(n, "value_float")) || (a = vg_attr(n, "value_int"))) {
        y->ndim = 0;
        y->dtype = a->type == AT_F ? DT_F32 : DT_I64;
        y->cdata = malloc(8);
        if (!y->cdata)
            return -ENOMEM;
        if (a->type == AT_F)
            *(float *)y->cdata = a->f;
        else
            *(int64_t *)y->cdata = a->i;
        return 0;
    }
    if ((a = vg_attr(n, "value_floats")) || (a = vg_attr(n, "value_ints"))) {
        y->ndim = 1;
        y->dims[0] = a->n;
        y->dtype = a->type == AT_FS ? DT_F32 : DT_I64;
        y->cdata = malloc(a->n * 8 + 8);
        if (!y->cdata)
            return -ENOMEM;
        memcpy(y->cdata, a->type == AT_FS ? (void *)a->fs : (void *)a->is, a->n * vg_dtsize(y->dtype));
        return 0;
    }
    return NODE_ERR(-ENOTSUP, "node '%s' (%s): no supported value attribute", n->name, op);
    return 0;
}

/* Gather */
int vg_shape_gather(vg_shape_ctx_t *ctx)
{
    SHAPE_VARS;
    NEED_CONST(1, "indices");
    int ax = (int)vg_attr_i(n, "axis", 0);
    if (ax < 0)
        ax += nd;
    if (ax < 0 || ax >= nd || nd - 1 + c[1].ndim > VG_MAXD)
        return NODE_ERR(-EINVAL, "node '%s' (%s): axis out of range", n->name, op);
    int o = 0;
    for (int i = 0; i < ax; i++)
        y->dims[o++] = x->dims[i];
    for (int i = 0; i < c[1].ndim; i++)
        y->dims[o++] = c[1].dims[i];
    for (int i = ax + 1; i < nd; i++)
        y->dims[o++] = x->dims[i];
    y->ndim = o;
    int64_t ni = vg_numel(c[1].ndim, c[1].dims);
    for (int64_t i = 0; i < ni; i++) {
        /* float indices: NaN is no index, and converting it (or one out of
         * int64's range) is undefined behaviour */
        if (c[1].dtype != DT_I64 && isnan(((float *)c[1].data)[i]))
            return NODE_ERR(-EINVAL, "node '%s' (%s): index NaN out of range", n->name, op);
        int64_t ix = c[1].dtype == DT_I64 ? ((int64_t *)c[1].data)[i] : vg_to_i64(((float *)c[1].data)[i]);
        if (ix < -x->dims[ax] || ix >= x->dims[ax])
            return NODE_ERR(-EINVAL, "node '%s' (%s): index %lld out of range", n->name, op, (long long)ix);
    }
    return 0;
}

/* Softmax, LogSoftmax */
int vg_shape_softmax(vg_shape_ctx_t *ctx)
{
    SHAPE_VARS;
    if (g->opset < 13 && (r = add_attr(n, "_coerce2d", AT_I, 1, 0)) < 0)
        return r;
    int ax;
    if (axis_attr(n, g->opset < 13 ? 1 : -1, nd - 1, nd, &ax) < 0)
        return NODE_ERR(-EINVAL, "node '%s' (%s): axis out of range", n->name, op);
    if (!vg_attr(n, "axis") && (r = add_attr(n, "axis", AT_I, ax, 0)) < 0)
        return r;
    return 0;
}

/* ReduceMean, ReduceSum, ReduceMax, ReduceMin */
int vg_shape_reduce(vg_shape_ctx_t *ctx)
{
    SHAPE_VARS;
    if (n->nin > 1 && n->in[1] >= 0)
        NEED_CONST(1, "axes");
    bool red[VG_MAXD];
    if (vg_reduce_axes(n, c, nc, nd, red) < 0)
        return NODE_ERR(-EINVAL, "node '%s' (%s): bad axes", n->name, op);
    bool keep = vg_attr_i(n, "keepdims", 1);
    int o = 0;
    for (int i = 0; i < nd; i++)
        if (!red[i])
            y->dims[o++] = x->dims[i];
        else if (keep)
            y->dims[o++] = 1;
    y->ndim = o;
    return 0;
}

/* ArgMax, ArgMin */
int vg_shape_argmax(vg_shape_ctx_t *ctx)
{
    SHAPE_VARS;
    int ax;
    if (axis_attr(n, 0, nd - 1, nd, &ax) < 0)
        return NODE_ERR(-EINVAL, "node '%s' (%s): axis out of range", n->name, op);
    bool keep = vg_attr_i(n, "keepdims", 1);
    int o = 0;
    for (int i = 0; i < nd; i++)
        if (i != ax)
            y->dims[o++] = x->dims[i];
        else if (keep)
            y->dims[o++] = 1;
    y->ndim = o;
    y->dtype = DT_I64;
    return 0;
}

/* TopK */
int vg_shape_topk(vg_shape_ctx_t *ctx)
{
    SHAPE_VARS;
    int ax = (int)vg_attr_i(n, "axis", -1);
    if (ax < 0)
        ax += nd;
    int64_t k;
    if (g->opset >= 10) {
        NEED_CONST(1, "K");
        k = c[1].dtype == DT_I64 ? ((int64_t *)c[1].data)[0] : 0;
    } else {
        k = vg_attr_i(n, "k", 0);
    }
    if (ax < 0 || ax >= nd || k < 1 || k > x->dims[ax])
        return NODE_ERR(-EINVAL, "node '%s' (%s): bad axis or K", n->name, op);
    for (int i = 0; i < n->nout && i < 2; i++) {
        if (n->out[i] < 0)
            continue;
        vg_value_t *o = &g->v[n->out[i]];
        o->ndim = nd;
        memcpy(o->dims, x->dims, sizeof(o->dims));
        o->dims[ax] = k;
        o->dtype = i ? DT_I64 : x->dtype;
    }
    return 0;
}

/* Gemm */
int vg_shape_gemm(vg_shape_ctx_t *ctx)
{
    SHAPE_VARS;
    NEED_IN(1);
    const vg_value_t *b = inv(g, n, 1);
    if (nd != 2 || b->ndim != 2)
        return NODE_ERR(-EINVAL, "node '%s' (%s): inputs must be 2D", n->name, op);
    bool ta = vg_attr_i(n, "transA", 0), tb = vg_attr_i(n, "transB", 0);
    int64_t M = ta ? x->dims[1] : x->dims[0], K = ta ? x->dims[0] : x->dims[1];
    int64_t K2 = tb ? b->dims[1] : b->dims[0], N = tb ? b->dims[0] : b->dims[1];
    if (K != K2)
        return NODE_ERR(-EINVAL, "node '%s' (%s): shape mismatch: A is %lldx%lld, B is %lldx%lld", n->name, op,
                        (long long)x->dims[0], (long long)x->dims[1], (long long)b->dims[0], (long long)b->dims[1]);
    if (n->nin > 2 && n->in[2] >= 0) {
        NEED_CONST(2, "C");
        int64_t cn = vg_numel(c[2].ndim, c[2].dims);
        if (cn != 1 && cn != N && !(cn == M * N))
            return NODE_ERR(-ENOTSUP, "node '%s' (%s): C of %lld values does not broadcast to %lldx%lld", n->name, op,
                            (long long)cn, (long long)M, (long long)N);
    }
    y->dims[0] = M;
    y->dims[1] = N;
    return 0;
}

/* MatMul */
int vg_shape_matmul(vg_shape_ctx_t *ctx)
{
    SHAPE_VARS;
    NEED_IN(1);
    const vg_value_t *b = inv(g, n, 1);
    if (nd < 2 || b->ndim < 2)
        return NODE_ERR(-ENOTSUP, "node '%s' (%s): 1D operands are not supported", n->name, op);
    if (x->dims[nd - 1] != b->dims[b->ndim - 2])
        return NODE_ERR(-EINVAL, "node '%s' (%s): shape mismatch: K is %lld vs %lld", n->name, op,
                        (long long)x->dims[nd - 1], (long long)b->dims[b->ndim - 2]);
    int ond = nd > b->ndim ? nd : b->ndim;
    for (int i = 0; i < ond - 2; i++) {
        int ia = i - (ond - nd), ib = i - (ond - b->ndim);
        int64_t da = ia >= 0 ? x->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return NODE_ERR(-EINVAL, "node '%s' (%s): shape mismatch in batch dims", n->name, op);
        y->dims[i] = da > db ? da : db;
    }
    y->ndim = ond;
    y->dims[ond - 2] = x->dims[nd - 2];
    y->dims[ond - 1] = b->dims[b->ndim - 1];
    return 0;
}

/* Resize, Upsample */
int vg_shape_resize(vg_shape_ctx_t *ctx)
{
    SHAPE_VARS;
    if (g->opset < 11 && vg_node_is(n, VG_OP_Resize)) {
        /* Resize-10 is Upsample-9 (scales input, asymmetric, floor) */
        char *up = strdup("Upsample");
        if (!up)
            return -ENOMEM;
        free(n->op);
        n->op = up;
        n->opd = &vg_ops[VG_OP_Upsample];
        op = n->op;
    }
    const char *mode = vg_attr_s(n, "mode", "nearest");
    if (strcmp(mode, "nearest") && strcmp(mode, "linear") && strcmp(mode, "bilinear"))
        return NODE_ERR(-ENOTSUP, "node '%s' (%s): mode '%s' is not supported (nearest, linear)", n->name, op, mode);
    const char *ctm = vg_attr_s(n, "coordinate_transformation_mode", "half_pixel");
    if (!strcmp(ctm, "tf_crop_and_resize"))
        return NODE_ERR(-ENOTSUP, "node '%s' (%s): tf_crop_and_resize is not supported", n->name, op);
    int ks = -1, kz = -1;
    if (vg_node_is(n, VG_OP_Upsample) || g->opset < 11)
        ks = 1;
    else {
        ks = 2;
        kz = 3;
    }
    const vg_value_t *sv = inv(g, n, ks), *zv = kz >= 0 ? inv(g, n, kz) : NULL;
    float scales[VG_MAXD];
    int64_t ns = sv ? vg_numel(sv->ndim, sv->dims) : 0;
    if (zv && vg_numel(zv->ndim, zv->dims) > 0) {
        NEED_CONST(kz, "sizes");
        if (vg_numel(zv->ndim, zv->dims) != nd)
            return NODE_ERR(-EINVAL, "node '%s' (%s): sizes must have %d values", n->name, op, nd);
        if (zv->dtype != DT_I64)
            return NODE_ERR(-EINVAL, "node '%s' (%s): sizes must be int64", n->name, op);
        for (int i = 0; i < nd; i++) {
            y->dims[i] = ((int64_t *)zv->cdata)[i];
            if (i == 0 && batch_replanned(g) && y->dims[0] == g->file_batch && x->dims[0] == g->batch)
                y->dims[0] = g->batch; /* see Reshape */
            if (y->dims[i] < 1 || y->dims[i] > VG_MAX_ELEMS)
                return NODE_ERR(-EINVAL, "node '%s' (%s): bad size %lld", n->name, op, (long long)y->dims[i]);
            scales[i] = (float)y->dims[i] / x->dims[i];
        }
    } else if (ns > 0) {
        NEED_CONST(ks, "scales");
        if (ns != nd)
            return NODE_ERR(-EINVAL, "node '%s' (%s): scales must have %d values", n->name, op, nd);
        for (int i = 0; i < nd; i++) {
            scales[i] = sv->dtype == DT_F32 ? ((float *)sv->cdata)[i] : 0.f;
            if (!(scales[i] > 0 && scales[i] <= 4096))
                return NODE_ERR(-EINVAL, "node '%s' (%s): bad scale %g", n->name, op, scales[i]);
            y->dims[i] = (int64_t)floorf(x->dims[i] * scales[i]);
            if (y->dims[i] < 1 || y->dims[i] > VG_MAX_ELEMS)
                return NODE_ERR(-EINVAL, "node '%s' (%s): bad scale %g", n->name, op, scales[i]);
        }
    } else if (vg_attr(n, "scales")) {
        const vg_attr_t *a = vg_attr(n, "scales");
        if (a->type != AT_FS || a->n != nd)
            return NODE_ERR(-EINVAL, "node '%s' (%s): scales must have %d values", n->name, op, nd);
        for (int i = 0; i < nd; i++) {
            scales[i] = a->fs[i];
            if (!(scales[i] > 0 && scales[i] <= 4096))
                return NODE_ERR(-EINVAL, "node '%s' (%s): bad scale %g", n->name, op, scales[i]);
            y->dims[i] = (int64_t)floorf(x->dims[i] * scales[i]);
        }
    } else {
        return NODE_ERR(-EINVAL, "node '%s' (%s): neither scales nor sizes given", n->name, op);
    }
    if (nd < 2)
        return NODE_ERR(-ENOTSUP, "node '%s' (%s): rank %d", n->name, op, nd);
    for (int i = 0; i < nd - 2; i++)
        if (y->dims[i] != x->dims[i])
            return NODE_ERR(-ENOTSUP, "node '%s' (%s): only the last two dims may be resized", n->name, op);
    if ((r = add_attr(n, "_scale_h", AT_F, 0, scales[nd - 2])) < 0 || (r = add_attr(n, "_scale_w", AT_F, 0, scales[nd - 1])) < 0)
        return r;
    return 0;
}

/* Expand */
int vg_shape_expand(vg_shape_ctx_t *ctx)
{
    SHAPE_VARS;
    NEED_CONST(1, "the shape");
    if (c[1].dtype != DT_I64)
        return NODE_ERR(-EINVAL, "node '%s' (%s): shape must be int64", n->name, op);
    int64_t k = vg_numel(c[1].ndim, c[1].dims);
    int ond = (int)(k > nd ? k : nd);
    if (k > VG_MAXD)
        return NODE_ERR(-ENOTSUP, "node '%s' (%s): rank", n->name, op);
    for (int i = 0; i < ond; i++) {
        int ia = i - (ond - nd), is = i - (ond - (int)k);
        int64_t da = ia >= 0 ? x->dims[ia] : 1, ds = is >= 0 ? ((int64_t *)c[1].data)[is] : 1;
        if (da != ds && da != 1 && ds != 1)
            return NODE_ERR(-EINVAL, "node '%s' (%s): shape mismatch", n->name, op);
        y->dims[i] = da > ds ? da : ds;
    }
    y->ndim = ond;
    return 0;
}

/* NonZero */
int vg_shape_nonzero(vg_shape_ctx_t *ctx)
{
    SHAPE_VARS;
    /* data-dependent shape: only as a constant (torch opset-10 exports) */
    NEED_CONST(0, "the input");
    int64_t cnt = 0, total = vg_numel(nd, x->dims);
    for (int64_t i = 0; i < total; i++)
        cnt += x->dtype == DT_I64 ? ((int64_t *)x->cdata)[i] != 0 : ((float *)x->cdata)[i] != 0.f;
    y->dtype = DT_I64;
    y->ndim = 2;
    y->dims[0] = nd;
    y->dims[1] = cnt;
    return 0;
}

/* ConstantOfShape */
int vg_shape_constant_of_shape(vg_shape_ctx_t *ctx)
{
    SHAPE_VARS;
    NEED_CONST(0, "the shape");
    if (c[0].dtype != DT_I64)
        return NODE_ERR(-EINVAL, "node '%s' (%s): shape must be int64", n->name, op);
    int64_t k = vg_numel(c[0].ndim, c[0].dims);
    if (k > VG_MAXD)
        return NODE_ERR(-ENOTSUP, "node '%s' (%s): rank", n->name, op);
    y->ndim = (int)k;
    for (int i = 0; i < k; i++)
        y->dims[i] = ((int64_t *)c[0].data)[i];
    const vg_attr_t *a = vg_attr(n, "value");
    y->dtype = a && a->t ? a->t->dtype : DT_F32;
    return 0;
}

/* Range */
int vg_shape_range(vg_shape_ctx_t *ctx)
{
    SHAPE_VARS;
    for (int k = 0; k < 3; k++)
        NEED_CONST(k, "start/limit/delta");
    for (int k = 0; k < 3; k++)
        if (vg_numel(c[k].ndim, c[k].dims) < 1)
            return NODE_ERR(-EINVAL, "node '%s' (%s): empty start/limit/delta", n->name, op);
    double s = c[0].dtype == DT_I64 ? *(int64_t *)c[0].data : *(float *)c[0].data;
    double l = c[1].dtype == DT_I64 ? *(int64_t *)c[1].data : *(float *)c[1].data;
    double d = c[2].dtype == DT_I64 ? *(int64_t *)c[2].data : *(float *)c[2].data;
    if (d == 0)
        return NODE_ERR(-EINVAL, "node '%s' (%s): delta is 0", n->name, op);
    double cnt = ceil((l - s) / d);
    if (!(cnt <= (double)VG_MAX_ELEMS))
        return NODE_ERR(-EFBIG, "node '%s' (%s): absurd length", n->name, op);
    y->ndim = 1;
    y->dims[0] = cnt > 0 ? (int64_t)cnt : 0;
    return 0;
}

/* ---- driver ---- */

/* The checks every operator shares, its row's shape function, the output
 * sizes, and whether the node folds (*ret_fold: 1 fold with the reference
 * kernel, 2 already made constant by the shape function, 0 runtime). */
static int infer_node(vg_engine_t *e, vg_node_t *n, int *ret_fold)
{
    vg_graph_t *g = &e->g;
    const char *op = n->op;
    unsigned flags = n->opd ? n->opd->flags : 0;
    vg_shape_ctx_t ctx = {.e = e, .g = g, .n = n};
    ctx.x = inv(g, n, 0);
    ctx.y = n->nout > 0 && n->out[0] >= 0 ? &g->v[n->out[0]] : NULL;
    ctx.nd = ctx.x ? ctx.x->ndim : 0;
    *ret_fold = 0;
    for (int k = 0; k < n->nin; k++)
        if (n->in[k] >= 0 && !g->v[n->in[k]].shaped)
            return NODE_ERR(-EINVAL, "node '%s' (%s): input '%s' has no known shape", n->name, op, g->v[n->in[k]].name);
    if (!ctx.x && !(flags & VG_OPF_NO_INPUT))
        return NODE_ERR(-EINVAL, "node '%s' (%s): missing input 0", n->name, op);
    if (!ctx.y && !(flags & VG_OPF_MULTI_OUT))
        return NODE_ERR(-EINVAL, "node '%s' (%s): no output", n->name, op);
    ctx.nc = n->nin < 8 ? n->nin : 8;
    for (int k = 0; k < ctx.nc; k++)
        as_const(inv(g, n, k), &ctx.c[k]);
    if (ctx.y) {
        ctx.y->dtype = ctx.x ? ctx.x->dtype : DT_F32;
        ctx.y->ndim = ctx.nd;
        if (ctx.x)
            memcpy(ctx.y->dims, ctx.x->dims, sizeof(ctx.y->dims));
    }
    if (!n->opd)
        return NODE_ERR(-ENOTSUP, "node '%s': operator %s is not supported", n->name, op);
    int r = n->opd->shape(&ctx);
    if (r < 0)
        return r;
    if (ctx.fold == 2) {
        *ret_fold = 2;
        return 0;
    }
    op = n->op; /* Resize-10 became Upsample */
    flags = n->opd->flags;
    for (int k = 0; k < n->nout; k++) {
        if (n->out[k] < 0)
            continue;
        vg_value_t *o = &g->v[n->out[k]];
        if (k > 0 && !(flags & VG_OPF_MULTI_OUT)) {
            /* optional extra outputs we do not produce (Dropout mask ...) */
            o->shaped = true;
            continue;
        }
        int64_t cnt = 1;
        for (int i = 0; i < o->ndim; i++) {
            if (o->dims[i] < 0 || o->dims[i] > VG_MAX_ELEMS || (cnt *= o->dims[i]) > VG_MAX_ELEMS)
                return NODE_ERR(-EFBIG, "node '%s' (%s): output '%s' has an absurd size", n->name, op, o->name);
        }
        o->shaped = true;
    }
    /* fold when every input is constant and we have a kernel */
    bool allc = n->nin > 0;
    for (int k = 0; k < n->nin; k++)
        if (n->in[k] >= 0 && !g->v[n->in[k]].cdata)
            allc = false;
    if (allc && n->opd->ref) {
        for (int k = 0; k < n->nout; k++)
            if (n->out[k] >= 0 && vg_numel(g->v[n->out[k]].ndim, g->v[n->out[k]].dims) > VG_MAX_FOLD)
                return NODE_ERR(-EFBIG, "node '%s' (%s): folding would make a constant of more than 2^26 elements", n->name, op);
        *ret_fold = 1;
    }
    return 0;
}

static int fold_node(vg_engine_t *e, vg_node_t *n)
{
    vg_graph_t *g = &e->g;
    vg_const_t in[16], out[64];
    if (n->nin > 16 || n->nout > 64)
        return vg_eng_err(e, -ENOTSUP, "node '%s' (%s): too many inputs/outputs to fold", n->name, n->op);
    for (int k = 0; k < n->nin; k++)
        as_const(n->in[k] >= 0 ? &g->v[n->in[k]] : NULL, &in[k]);
    for (int k = 0; k < n->nout; k++) {
        memset(&out[k], 0, sizeof(out[k]));
        if (n->out[k] < 0)
            continue;
        vg_value_t *o = &g->v[n->out[k]];
        if (k > 0 && !vg_node_has(n, VG_OPF_MULTI_OUT))
            continue;
        o->cdata = calloc(vg_numel(o->ndim, o->dims) + 1, vg_dtsize(o->dtype));
        if (!o->cdata)
            return -ENOMEM;
        as_const(o, &out[k]);
    }
    int r = n->opd->ref(n, in, n->nin, out, n->nout);
    if (r < 0)
        return vg_eng_err(e, r, "node '%s' (%s): constant folding failed", n->name, n->op);
    return 0;
}

int vg_eng_infer(vg_engine_t *e)
{
    vg_graph_t *g = &e->g;
    int r;
    for (int i = 0; i < g->norder; i++) {
        vg_node_t *n = &g->n[g->order[i]];
        int fold;
        if ((r = infer_node(e, n, &fold)) < 0)
            return r;
        if (fold == 1 && (r = fold_node(e, n)) < 0)
            return r;
        if (fold) {
            n->dead = true;
        } else {
            /* runtime values are float32 */
            for (int k = 0; k < n->nout; k++)
                if (n->out[k] >= 0)
                    g->v[n->out[k]].dtype = DT_F32;
        }
    }
    for (int i = 0; i < g->noutputs; i++) {
        vg_value_t *v = &g->v[g->outputs[i]];
        if (!v->shaped)
            return vg_eng_err(e, -EINVAL, "graph output '%s' has no known shape", v->name);
    }
    return 0;
}
