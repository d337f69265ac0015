/* The operator table (rows in ops.h) and the questions asked of it. */
#include <math.h>
#include <string.h>

#include "models/engine/ops.h"

const vg_op_t vg_ops[VG_OP_COUNT] = {
#define VG_OP_ROW(nm, shp, pln, rf, fl, al, alp) \
    [VG_OP_##nm] = {.name = #nm, .id = VG_OP_##nm, .shape = shp, .plan = pln, .ref = rf, .flags = fl, .alg = al, .alpha = alp},
    VG_OPS(VG_OP_ROW)
#undef VG_OP_ROW
};

/* Linear: called once per node when a model is parsed. */
const vg_op_t *vg_op_find(const char *name)
{
    for (int i = 0; i < VG_OP_COUNT; i++)
        if (!strcmp(vg_ops[i].name, name))
            return &vg_ops[i];
    return NULL;
}

bool vg_node_eltwise(const vg_node_t *n, const vg_graph_t *g, vg_eltwise_t *ret)
{
    if (!vg_node_has(n, VG_OPF_ELTWISE))
        return false;
    const vg_op_t *op = n->opd;
    vg_eltwise_t el = {op->alg, op->alpha, 0};
    if (op->flags & VG_OPF_ALPHA)
        el.alpha = vg_attr_f(n, "alpha", op->alpha);
    if (op->id == VG_OP_Clip) {
        /* bounds: attributes (opset < 11) or constant inputs 1 and 2 */
        float lo = vg_attr_f(n, "min", -INFINITY), hi = vg_attr_f(n, "max", INFINITY);
        for (int k = 1; k <= 2 && k < n->nin; k++) {
            int v = n->in[k];
            if (v < 0)
                continue;
            if (!g->v[v].cdata)
                return false;
            float x = g->v[v].dtype == DT_I64 ? (float)((int64_t *)g->v[v].cdata)[0] : ((float *)g->v[v].cdata)[0];
            if (k == 1)
                lo = x;
            else
                hi = x;
        }
        el.alpha = lo < -3.0e38f ? -3.0e38f : lo;
        el.beta = hi > 3.0e38f ? 3.0e38f : hi;
    }
    *ret = el;
    return true;
}
