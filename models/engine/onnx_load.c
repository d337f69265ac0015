/* ONNX loader: protobuf-c ModelProto -> vg_graph_t (values, nodes, constants).
 * The proto is freed as soon as everything needed is copied out of it. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/engine/eng_internal.h"
#include "models/engine/ops.h"
#include "onnx.pb-c.h"

int vg_eng_err(vg_engine_t *e, int code, const char *fmt, ...)
{
    if (e->err && e->errlen && !e->err[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->err, e->errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* ---- value table (open-addressing hash on names) ---- */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    return h;
}

typedef struct {
    int *slot;
    size_t cap;
} name_map_t;

static int map_find(const name_map_t *m, const vg_graph_t *g, const char *name)
{
    size_t i = hash_str(name) & (m->cap - 1);
    for (;;) {
        int v = m->slot[i];
        if (v < 0)
            return -1;
        if (!strcmp(g->v[v].name, name))
            return v;
        i = (i + 1) & (m->cap - 1);
    }
}

static void map_put(name_map_t *m, const vg_graph_t *g, int v)
{
    size_t i = hash_str(g->v[v].name) & (m->cap - 1);
    while (m->slot[i] >= 0)
        i = (i + 1) & (m->cap - 1);
    m->slot[i] = v;
}

int vg_graph_add_value(vg_graph_t *g, const char *name)
{
    if (g->nv == g->cap_v) {
        int cap = g->cap_v ? g->cap_v * 2 : 64;
        vg_value_t *nv = realloc(g->v, cap * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        g->v = nv;
        g->cap_v = cap;
    }
    vg_value_t *v = &g->v[g->nv];
    memset(v, 0, sizeof(*v));
    v->name = strdup(name ? name : "");
    if (!v->name)
        return -ENOMEM;
    v->producer = -1;
    v->dtype = DT_F32;
    v->alias = -1;
    v->off = -1;
    v->def = v->last = -1;
    for (int a = 0; a < 2; a++)
        v->conv[a][0] = v->conv[a][1] = -1;
    return g->nv++;
}

static void const_free(vg_const_t *c)
{
    if (c) {
        free(c->data);
        free(c);
    }
}

void vg_graph_release(vg_graph_t *g)
{
    for (int i = 0; i < g->nv; i++) {
        free(g->v[i].name);
        free(g->v[i].cdata);
    }
    free(g->v);
    for (int i = 0; i < g->nn; i++) {
        vg_node_t *n = &g->n[i];
        free(n->name);
        free(n->op);
        free(n->in);
        free(n->out);
        for (int a = 0; a < n->nattr; a++) {
            free(n->attr[a].name);
            free(n->attr[a].s);
            free(n->attr[a].fs);
            free(n->attr[a].is);
            const_free(n->attr[a].t);
        }
        free(n->attr);
    }
    free(g->n);
    free(g->inputs);
    free(g->outputs);
    free(g->order);
    memset(g, 0, sizeof(*g));
}

/* ---- attributes ---- */

const vg_attr_t *vg_attr(const vg_node_t *n, const char *name)
{
    for (int i = 0; i < n->nattr; i++)
        if (!strcmp(n->attr[i].name, name))
            return &n->attr[i];
    return NULL;
}

int64_t vg_attr_i(const vg_node_t *n, const char *name, int64_t def)
{
    const vg_attr_t *a = vg_attr(n, name);
    return a && a->type == AT_I ? a->i : def;
}

float vg_attr_f(const vg_node_t *n, const char *name, float def)
{
    const vg_attr_t *a = vg_attr(n, name);
    return a && a->type == AT_F ? a->f : def;
}

const char *vg_attr_s(const vg_node_t *n, const char *name, const char *def)
{
    const vg_attr_t *a = vg_attr(n, name);
    return a && a->type == AT_S ? a->s : def;
}

/* Returns the number of ints (<= max), or -1 if absent. */
int vg_attr_ints(const vg_node_t *n, const char *name, int64_t *out, int max)
{
    const vg_attr_t *a = vg_attr(n, name);
    if (!a || a->type != AT_IS)
        return -1;
    int k = a->n < max ? a->n : max;
    for (int i = 0; i < k; i++)
        out[i] = a->is[i];
    return a->n > max ? max + 1 : k;
}

/* ---- tensors ---- */

/* Copies a TensorProto into a dense F32 or I64 constant. */
static int tensor_copy(vg_engine_t *e, const Onnx__TensorProto *t, const char *what, vg_const_t **ret)
{
    const char *nm = t->name ? t->name : "";
    if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return vg_eng_err(e, -ENOTSUP, "%s '%s': external data is not supported (save the model with all tensors inside the file)", what, nm);
    if (t->segment)
        return vg_eng_err(e, -ENOTSUP, "%s '%s': segmented tensors are not supported", what, nm);
    if (t->n_dims > VG_MAXD)
        return vg_eng_err(e, -ENOTSUP, "%s '%s': %zu dimensions (at most %d)", what, nm, t->n_dims, VG_MAXD);
    int64_t numel = 1;
    for (size_t i = 0; i < t->n_dims; i++) {
        if (t->dims[i] < 0)
            return vg_eng_err(e, -EINVAL, "%s '%s': negative dimension %lld", what, nm, (long long)t->dims[i]);
        if (t->dims[i] > VG_MAX_ELEMS || (numel *= t->dims[i]) > VG_MAX_ELEMS)
            return vg_eng_err(e, -EFBIG, "%s '%s': absurd size (more than 2^28 elements)", what, nm);
    }
    int src_dt = t->data_type, dt;
    size_t esz;
    switch (src_dt) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: dt = DT_F32; esz = 4; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: dt = DT_F32; esz = 8; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: dt = DT_I64; esz = 8; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: dt = DT_I64; esz = 4; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL:
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8: dt = DT_I64; esz = 1; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT8: dt = DT_I64; esz = 1; break;
    default:
        return vg_eng_err(e, -ENOTSUP, "%s '%s': data type %d is not supported (float, double, int64, int32, int8, uint8, bool)", what, nm, src_dt);
    }
    vg_const_t *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->dtype = dt;
    c->ndim = (int)t->n_dims;
    for (int i = 0; i < c->ndim; i++)
        c->dims[i] = t->dims[i];
    c->data = malloc((size_t)(numel ? numel : 1) * 8);
    if (!c->data) {
        free(c);
        return vg_eng_err(e, -ENOMEM, "%s '%s': out of memory", what, nm);
    }
    float *f = c->data;
    int64_t *l = c->data;
    if (t->has_raw_data) {
        if (t->raw_data.len != (size_t)numel * esz) {
            const_free(c);
            return vg_eng_err(e, -EINVAL, "%s '%s': raw_data holds %zu bytes, shape needs %lld", what, nm,
                              t->raw_data.len, (long long)(numel * (int64_t)esz));
        }
        const uint8_t *r = t->raw_data.data;
        for (int64_t i = 0; i < numel; i++) {
            const uint8_t *p = r + i * esz;
            switch (src_dt) {
            case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: memcpy(&f[i], p, 4); break;
            case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: { double d; memcpy(&d, p, 8); f[i] = (float)d; break; }
            case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: memcpy(&l[i], p, 8); break;
            case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: { int32_t x; memcpy(&x, p, 4); l[i] = x; break; }
            case ONNX__TENSOR_PROTO__DATA_TYPE__INT8: l[i] = (int8_t)p[0]; break;
            default: l[i] = p[0]; break;
            }
        }
    } else {
        size_t have;
        switch (src_dt) {
        case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: have = t->n_float_data; break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: have = t->n_double_data; break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: have = t->n_int64_data; break;
        default: have = t->n_int32_data; break;
        }
        if (have != (size_t)numel) {
            const_free(c);
            return vg_eng_err(e, -EINVAL, "%s '%s': holds %zu values, shape needs %lld", what, nm, have, (long long)numel);
        }
        for (int64_t i = 0; i < numel; i++) {
            switch (src_dt) {
            case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: f[i] = t->float_data[i]; break;
            case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: f[i] = (float)t->double_data[i]; break;
            case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: l[i] = t->int64_data[i]; break;
            default: l[i] = t->int32_data[i]; break;
            }
        }
    }
    *ret = c;
    return 0;
}

static int copy_attr(vg_engine_t *e, const Onnx__NodeProto *np, const Onnx__AttributeProto *ap, vg_attr_t *a)
{
    a->name = strdup(ap->name ? ap->name : "");
    if (!a->name)
        return -ENOMEM;
    switch (ap->type) {
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT: a->type = AT_F; a->f = ap->f; break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT: a->type = AT_I; a->i = ap->i; break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING:
        a->type = AT_S;
        a->s = strndup(ap->s.data ? (const char *)ap->s.data : "", ap->s.len);
        if (!a->s)
            return -ENOMEM;
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS:
        a->type = AT_FS;
        a->n = (int)ap->n_floats;
        a->fs = malloc((ap->n_floats + 1) * sizeof(float));
        if (!a->fs)
            return -ENOMEM;
        if (ap->n_floats)
            memcpy(a->fs, ap->floats, ap->n_floats * sizeof(float));
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
        a->type = AT_IS;
        a->n = (int)ap->n_ints;
        a->is = malloc((ap->n_ints + 1) * sizeof(int64_t));
        if (!a->is)
            return -ENOMEM;
        if (ap->n_ints)
            memcpy(a->is, ap->ints, ap->n_ints * sizeof(int64_t));
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR:
        a->type = AT_T;
        if (!ap->t)
            return vg_eng_err(e, -EINVAL, "node '%s' (%s): attribute '%s' has no tensor", np->name ? np->name : "", np->op_type, a->name);
        return tensor_copy(e, ap->t, "attribute tensor", &a->t);
    default:
        return vg_eng_err(e, -ENOTSUP, "node '%s' (%s): attribute '%s' has unsupported type %d",
                          np->name ? np->name : "", np->op_type, a->name, (int)ap->type);
    }
    return 0;
}

static int value_shape_from_type(vg_engine_t *e, vg_value_t *v, const Onnx__TypeProto *tp, int batch, bool input)
{
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
        return vg_eng_err(e, -ENOTSUP, "graph %s '%s': not a tensor", input ? "input" : "output", v->name);
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    if (input && tt->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
        return vg_eng_err(e, -ENOTSUP, "graph input '%s': element type %d, only float32 inputs are supported", v->name, (int)tt->elem_type);
    if (!tt->shape) {
        if (input)
            return vg_eng_err(e, -EINVAL, "graph input '%s': no shape; a fixed input shape is required", v->name);
        return 0;
    }
    if (tt->shape->n_dim > VG_MAXD)
        return vg_eng_err(e, -ENOTSUP, "graph input '%s': %zu dimensions", v->name, tt->shape->n_dim);
    v->ndim = (int)tt->shape->n_dim;
    for (int i = 0; i < v->ndim; i++) {
        const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
        int64_t x = -1;
        if (d && d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
            x = d->dim_value;
        if (i == 0 && input && !e->g.file_batch)
            e->g.file_batch = x > 0 ? x : -1;
        if (i == 0 && batch > 0)
            x = batch;
        if (x < 0 && i == 0)
            x = 1;
        if (x <= 0) {
            if (!input)
                return 0; /* output shapes are inferred */
            return vg_eng_err(e, -ENOTSUP, "graph input '%s': dimension %d is symbolic or not positive; fixed sizes are required", v->name, i);
        }
        if (x > VG_MAX_ELEMS)
            return vg_eng_err(e, -EFBIG, "graph input '%s': absurd dimension %lld", v->name, (long long)x);
        v->dims[i] = x;
    }
    if (input) {
        if (vg_numel(v->ndim, v->dims) > VG_MAX_ELEMS)
            return vg_eng_err(e, -EFBIG, "graph input '%s': absurd size", v->name);
        v->shaped = true;
    }
    return 0;
}

static int parse_model(vg_engine_t *e, const Onnx__ModelProto *m, int batch, name_map_t *map)
{
    vg_graph_t *g = &e->g;
    const Onnx__GraphProto *gp = m->graph;
    int r;
    if (!gp || gp->n_node == 0)
        return vg_eng_err(e, -EINVAL, "not an ONNX model: no graph (wrong file type or truncated)");
    g->opset = 0;
    g->batch = batch > 0 ? batch : 0;
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = m->opset_import[i];
        if (o && (!o->domain || !o->domain[0] || !strcmp(o->domain, "ai.onnx")))
            g->opset = (int)o->version;
    }
    if (g->opset == 0)
        return vg_eng_err(e, -EINVAL, "not an ONNX model: no default-domain opset import");
    if (g->opset < 7 || g->opset > 18)
        return vg_eng_err(e, -ENOTSUP, "opset %d is not supported (7..18)", g->opset);
    if (gp->n_sparse_initializer)
        return vg_eng_err(e, -ENOTSUP, "sparse initializers are not supported");

    size_t cap = 64;
    size_t want = 2 * (gp->n_initializer + gp->n_input + 2 * gp->n_node + gp->n_output) + 16;
    while (cap < want)
        cap *= 2;
    map->cap = cap;
    map->slot = malloc(cap * sizeof(int));
    if (!map->slot)
        return -ENOMEM;
    memset(map->slot, 0xff, cap * sizeof(int));

    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *t = gp->initializer[i];
        if (!t || !t->name)
            return vg_eng_err(e, -EINVAL, "initializer %zu has no name", i);
        if (map_find(map, g, t->name) >= 0)
            continue; /* duplicate: first wins */
        vg_const_t *c;
        if ((r = tensor_copy(e, t, "initializer", &c)) < 0)
            return r;
        if (t->has_raw_data && t->raw_data.data) {
            /* copied: give the bytes back now rather than at the end, so the
             * peak is one copy of the weights plus the largest tensor */
            free(((Onnx__TensorProto *)t)->raw_data.data);
            ((Onnx__TensorProto *)t)->raw_data.data = NULL;
            ((Onnx__TensorProto *)t)->raw_data.len = 0;
        }
        int v = vg_graph_add_value(g, t->name);
        if (v < 0) {
            const_free(c);
            return v;
        }
        vg_value_t *vv = &g->v[v];
        vv->dtype = c->dtype;
        vv->ndim = c->ndim;
        memcpy(vv->dims, c->dims, sizeof(vv->dims));
        vv->cdata = c->data;
        vv->shaped = true;
        free(c);
        map_put(map, g, v);
    }
    g->inputs = calloc(gp->n_input + 1, sizeof(int));
    if (!g->inputs)
        return -ENOMEM;
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        if (!vi || !vi->name)
            return vg_eng_err(e, -EINVAL, "graph input %zu has no name", i);
        if (map_find(map, g, vi->name) >= 0)
            continue; /* an initializer listed as input: a constant */
        int v = vg_graph_add_value(g, vi->name);
        if (v < 0)
            return v;
        map_put(map, g, v);
        g->v[v].is_input = true;
        if ((r = value_shape_from_type(e, &g->v[v], vi->type, batch, true)) < 0)
            return r;
        g->inputs[g->ninputs++] = v;
    }
    if (g->ninputs == 0)
        return vg_eng_err(e, -EINVAL, "graph has no runtime input");

    g->n = calloc(gp->n_node, sizeof(vg_node_t));
    if (!g->n)
        return -ENOMEM;
    for (size_t i = 0; i < gp->n_node; i++) {
        const Onnx__NodeProto *np = gp->node[i];
        vg_node_t *n = &g->n[g->nn++];
        n->sum_in = -1;
        if (!np || !np->op_type)
            return vg_eng_err(e, -EINVAL, "node %zu has no operator", i);
        char autoname[32];
        snprintf(autoname, sizeof(autoname), "#%zu", i);
        n->name = strdup(np->name && np->name[0] ? np->name : autoname);
        n->op = strdup(np->op_type);
        if (!n->name || !n->op)
            return -ENOMEM;
        n->opd = vg_op_find(n->op); /* NULL: refused when its shape is inferred */
        if (np->domain && np->domain[0] && strcmp(np->domain, "ai.onnx"))
            return vg_eng_err(e, -ENOTSUP, "node '%s': operator %s of domain '%s' is not supported", n->name, n->op, np->domain);
        n->nin = (int)np->n_input;
        n->nout = (int)np->n_output;
        n->in = malloc((n->nin + 1) * sizeof(int));
        n->out = malloc((n->nout + 1) * sizeof(int));
        n->attr = calloc(np->n_attribute + 1, sizeof(vg_attr_t));
        if (!n->in || !n->out || !n->attr)
            return -ENOMEM;
        for (int k = 0; k < n->nin; k++) {
            const char *nm = np->input[k];
            if (!nm || !nm[0]) {
                n->in[k] = -1;
                continue;
            }
            int v = map_find(map, g, nm);
            if (v < 0) {
                /* not yet produced: forward reference (unsorted graph) */
                if ((v = vg_graph_add_value(g, nm)) < 0)
                    return v;
                map_put(map, g, v);
            }
            n->in[k] = v;
        }
        for (int k = 0; k < n->nout; k++) {
            const char *nm = np->output[k];
            if (!nm || !nm[0]) {
                n->out[k] = -1;
                continue;
            }
            int v = map_find(map, g, nm);
            if (v < 0) {
                if ((v = vg_graph_add_value(g, nm)) < 0)
                    return v;
                map_put(map, g, v);
            }
            if (g->v[v].producer >= 0 || g->v[v].is_input || g->v[v].cdata)
                return vg_eng_err(e, -EINVAL, "node '%s' (%s): output '%s' is already defined", n->name, n->op, nm);
            g->v[v].producer = (int)i;
            n->out[k] = v;
        }
        for (size_t k = 0; k < np->n_attribute; k++) {
            if (!np->attribute[k])
                return vg_eng_err(e, -EINVAL, "node '%s' (%s): empty attribute", n->name, n->op);
            n->nattr++;
            if ((r = copy_attr(e, np, np->attribute[k], &n->attr[k])) < 0) {
                if (r == -ENOMEM)
                    return vg_eng_err(e, r, "out of memory");
                return r;
            }
        }
    }
    /* every consumed value must come from somewhere */
    for (int i = 0; i < g->nn; i++) {
        vg_node_t *n = &g->n[i];
        for (int k = 0; k < n->nin; k++) {
            int v = n->in[k];
            if (v >= 0 && g->v[v].producer < 0 && !g->v[v].is_input && !g->v[v].cdata)
                return vg_eng_err(e, -EINVAL, "node '%s' (%s): input '%s' is not produced by any node, input or initializer",
                                  n->name, n->op, g->v[v].name);
        }
    }
    g->outputs = calloc(gp->n_output + 1, sizeof(int));
    if (!g->outputs)
        return -ENOMEM;
    for (size_t i = 0; i < gp->n_output; i++) {
        const Onnx__ValueInfoProto *vi = gp->output[i];
        int v = vi && vi->name ? map_find(map, g, vi->name) : -1;
        if (v < 0)
            return vg_eng_err(e, -EINVAL, "graph output '%s' is not produced by any node", vi && vi->name ? vi->name : "?");
        g->v[v].is_output = true;
        g->outputs[g->noutputs++] = v;
    }
    if (g->noutputs == 0)
        return vg_eng_err(e, -EINVAL, "graph has no output");
    return 0;
}

int vg_eng_parse(vg_engine_t *e, const uint8_t *buf, size_t len, int batch, void (*release)(void *), void *arg)
{
    if (len < 4) {
        if (release)
            release(arg);
        return vg_eng_err(e, -EINVAL, "not an ONNX model: file is %zu bytes", len);
    }
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, buf);
    if (release)
        release(arg); /* the proto holds its own copy of everything */
    if (!m)
        return vg_eng_err(e, -EINVAL, "not an ONNX model: protobuf parse failed (wrong file type, truncated or corrupt)");
    name_map_t map = {0};
    int r = parse_model(e, m, batch, &map);
    free(map.slot);
    onnx__model_proto__free_unpacked(m, NULL);
    if (r == -ENOMEM)
        return vg_eng_err(e, r, "out of memory while loading the model");
    return r;
}
