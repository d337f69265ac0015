/* Our own kernels for the light operators, on dense row-major tensors.
 * The same functions fold constants at load time (float32 and int64) and run
 * the shape operators at run time (float32). They never allocate. Parameters
 * that ONNX passes as inputs (shapes, axes, pads) arrive as constant tensors. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "models/engine/ops.h"

#define IN(k) ((k) < nin && in[(k)].data != NULL)

int64_t vg_numel(int ndim, const int64_t *dims)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= dims[i];
    return n;
}

size_t vg_dtsize(int dt)
{
    return dt == DT_I64 ? 8 : 4;
}

static double get(const vg_const_t *t, int64_t i)
{
    return t->dtype == DT_I64 ? (double)((const int64_t *)t->data)[i] : ((const float *)t->data)[i];
}

int64_t vg_to_i64(double x)
{
    if (!(x == x))
        return 0;
    if (x >= 9.2e18)
        return INT64_MAX;
    if (x <= -9.2e18)
        return INT64_MIN;
    return (int64_t)x;
}

/* Integer parameters exactly (INT64_MAX ends do not survive a double). */
static int64_t geti(const vg_const_t *t, int64_t i)
{
    return t->dtype == DT_I64 ? ((const int64_t *)t->data)[i] : vg_to_i64(((const float *)t->data)[i]);
}

static void put(vg_const_t *t, int64_t i, double x)
{
    if (t->dtype == DT_I64)
        ((int64_t *)t->data)[i] = vg_to_i64(x);
    else
        ((float *)t->data)[i] = (float)x;
}

static void strides_of(int nd, const int64_t *dims, int64_t *st)
{
    int64_t s = 1;
    for (int i = nd - 1; i >= 0; i--) {
        st[i] = s;
        s *= dims[i];
    }
}

/* dst dense over dims; source element at src + sum(i_k * sst_k). */
static void strided_copy(void *dst, const void *src, int nd, const int64_t *dims, const int64_t *sst, size_t esz)
{
    int64_t total = vg_numel(nd, dims);
    if (total == 0)
        return;
    if (nd == 0) {
        memcpy(dst, src, esz);
        return;
    }
    int64_t idx[VG_MAXD] = {0};
    int64_t inner = dims[nd - 1], is = sst[nd - 1];
    char *d = dst;
    for (int64_t done = 0; done < total; done += inner) {
        int64_t off = 0;
        for (int k = 0; k < nd - 1; k++)
            off += idx[k] * sst[k];
        if (esz == 4) {
            const uint32_t *s = (const uint32_t *)src + off;
            uint32_t *o = (uint32_t *)d;
            if (is == 1)
                memcpy(o, s, inner * 4);
            else
                for (int64_t j = 0; j < inner; j++)
                    o[j] = s[j * is];
        } else {
            const uint64_t *s = (const uint64_t *)src + off;
            uint64_t *o = (uint64_t *)d;
            for (int64_t j = 0; j < inner; j++)
                o[j] = s[j * is];
        }
        d += inner * esz;
        for (int k = nd - 2; k >= 0; k--) {
            if (++idx[k] < dims[k])
                break;
            idx[k] = 0;
        }
    }
}

/* ---- views and casts: copy with new dims (folding only; aliased at run time) ---- */

int vg_ref_copy(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout)
{
    (void)n; (void)nin; (void)nout;
    int64_t cnt = vg_numel(out->ndim, out->dims);
    if (in[0].dtype == out->dtype) {
        if (out->data != in[0].data)
            memmove(out->data, in[0].data, cnt * vg_dtsize(out->dtype));
    } else {
        for (int64_t i = 0; i < cnt; i++)
            put(out, i, get(&in[0], i));
    }
    return 0;
}

/* ---- unary ---- */

static float hswish(float x) { return x * fminf(fmaxf(x + 3.f, 0.f), 6.f) / 6.f; }

int vg_ref_unary(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout)
{
    (void)nout;
    vg_op_id_t op = n->opd->id;
    int64_t cnt = vg_numel(out->ndim, out->dims);
    float lo = -INFINITY, hi = INFINITY;
    if (op == VG_OP_Clip) {
        lo = vg_attr_f(n, "min", -INFINITY);
        hi = vg_attr_f(n, "max", INFINITY);
        if (IN(1) && vg_numel(in[1].ndim, in[1].dims) >= 1)
            lo = (float)get(&in[1], 0);
        if (IN(2) && vg_numel(in[2].ndim, in[2].dims) >= 1)
            hi = (float)get(&in[2], 0);
    }
    /* LeakyRelu 0.01, HardSigmoid 0.2, Elu 1 (the table's defaults) */
    float alpha = vg_attr_f(n, "alpha", n->opd->alpha > 0 ? n->opd->alpha : 1.f);
    float beta = vg_attr_f(n, "beta", 0.5f);
    for (int64_t i = 0; i < cnt; i++) {
        double x = get(&in[0], i), y;
        switch (op) {
        case VG_OP_Relu: y = x > 0 ? x : 0; break;
        case VG_OP_LeakyRelu: y = x >= 0 ? x : alpha * x; break;
        case VG_OP_Sigmoid: y = 1.0 / (1.0 + exp(-x)); break;
        case VG_OP_Tanh: y = tanh(x); break;
        case VG_OP_Clip: y = x < lo ? lo : x > hi ? hi : x; break;
        case VG_OP_HardSwish: y = hswish((float)x); break;
        case VG_OP_HardSigmoid: y = fmax(0, fmin(1, alpha * x + beta)); break;
        case VG_OP_Exp: y = exp(x); break;
        case VG_OP_Log: y = log(x); break;
        case VG_OP_Sqrt: y = sqrt(x); break;
        case VG_OP_Abs: y = fabs(x); break;
        case VG_OP_Neg: y = -x; break;
        case VG_OP_Elu: y = x >= 0 ? x : alpha * (exp(x) - 1); break;
        case VG_OP_Softplus: y = log1p(exp(x)); break;
        case VG_OP_Floor: y = floor(x); break;
        case VG_OP_Ceil: y = ceil(x); break;
        case VG_OP_Round: y = nearbyint(x); break;
        case VG_OP_Reciprocal: y = 1.0 / x; break;
        case VG_OP_Erf: y = erf(x); break;
        case VG_OP_Not: y = !x; break;
        default: return -ENOTSUP;
        }
        put(out, i, y);
    }
    return 0;
}

/* ---- binary with numpy broadcasting ---- */

static void bcast_strides(const vg_const_t *t, int ond, const int64_t *odims, int64_t *st)
{
    int64_t s[VG_MAXD];
    strides_of(t->ndim, t->dims, s);
    for (int k = 0; k < ond; k++) {
        int j = k - (ond - t->ndim);
        st[k] = (j < 0 || t->dims[j] == 1) ? 0 : s[j];
    }
    (void)odims;
}

int vg_ref_binary(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout)
{
    (void)nin; (void)nout;
    int code;
    switch (n->opd->id) {
    case VG_OP_Add: code = 0; break;
    case VG_OP_Sub: code = 1; break;
    case VG_OP_Mul: code = 2; break;
    case VG_OP_Div: code = 3; break;
    case VG_OP_Pow: code = 4; break;
    case VG_OP_Max: code = 5; break;
    case VG_OP_Min: code = 6; break;
    case VG_OP_Equal: code = 7; break;
    case VG_OP_Less: code = 8; break;
    case VG_OP_Greater: code = 9; break;
    default: return -ENOTSUP;
    }
    int nd = out->ndim;
    int64_t sa[VG_MAXD], sb[VG_MAXD], idx[VG_MAXD] = {0};
    bcast_strides(&in[0], nd, out->dims, sa);
    bcast_strides(&in[1], nd, out->dims, sb);
    int64_t total = vg_numel(nd, out->dims);
    bool f32 = in[0].dtype == DT_F32 && in[1].dtype == DT_F32 && out->dtype == DT_F32;
    bool i64 = in[0].dtype == DT_I64 && in[1].dtype == DT_I64;
    for (int64_t o = 0; o < total;) {
        int64_t offa = 0, offb = 0;
        for (int k = 0; k < nd - 1; k++) {
            offa += idx[k] * sa[k];
            offb += idx[k] * sb[k];
        }
        int64_t inner = nd ? out->dims[nd - 1] : 1, ia = nd ? sa[nd - 1] : 0, ib = nd ? sb[nd - 1] : 0;
        if (f32 && code <= 6) {
            const float *a = (const float *)in[0].data + offa, *b = (const float *)in[1].data + offb;
            float *y = (float *)out->data + o;
            switch (code) {
            case 0: for (int64_t j = 0; j < inner; j++) y[j] = a[j * ia] + b[j * ib]; break;
            case 1: for (int64_t j = 0; j < inner; j++) y[j] = a[j * ia] - b[j * ib]; break;
            case 2: for (int64_t j = 0; j < inner; j++) y[j] = a[j * ia] * b[j * ib]; break;
            case 3: for (int64_t j = 0; j < inner; j++) y[j] = a[j * ia] / b[j * ib]; break;
            case 4:
                for (int64_t j = 0; j < inner; j++) {
                    float p = b[j * ib];
                    y[j] = p == 2.f ? a[j * ia] * a[j * ia] : powf(a[j * ia], p);
                }
                break;
            case 5: for (int64_t j = 0; j < inner; j++) y[j] = fmaxf(a[j * ia], b[j * ib]); break;
            default: for (int64_t j = 0; j < inner; j++) y[j] = fminf(a[j * ia], b[j * ib]); break;
            }
        } else {
            for (int64_t j = 0; j < inner; j++) {
                double a = get(&in[0], offa + j * ia), b = get(&in[1], offb + j * ib), y;
                switch (code) {
                case 0: y = a + b; break;
                case 1: y = a - b; break;
                case 2: y = a * b; break;
                case 3:
                    if (i64) {
                        int64_t ia2 = vg_to_i64(a), ib2 = vg_to_i64(b);
                        y = ib2 && !(ia2 == INT64_MIN && ib2 == -1) ? (double)(ia2 / ib2) : 0;
                    } else {
                        y = a / b;
                    }
                    break;
                case 4: y = pow(a, b); break;
                case 5: y = a > b ? a : b; break;
                case 6: y = a < b ? a : b; break;
                case 7: y = a == b; break;
                case 8: y = a < b; break;
                default: y = a > b; break;
                }
                put(out, o + j, y);
            }
        }
        o += inner;
        for (int k = nd - 2; k >= 0; k--) {
            if (++idx[k] < out->dims[k])
                break;
            idx[k] = 0;
        }
    }
    return 0;
}

int vg_ref_where(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout)
{
    (void)n; (void)nin; (void)nout;
    int nd = out->ndim;
    int64_t s[3][VG_MAXD], idx[VG_MAXD] = {0};
    for (int k = 0; k < 3; k++)
        bcast_strides(&in[k], nd, out->dims, s[k]);
    int64_t total = vg_numel(nd, out->dims);
    for (int64_t o = 0; o < total; o++) {
        int64_t off[3] = {0, 0, 0};
        for (int k = 0; k < 3; k++)
            for (int d = 0; d < nd; d++)
                off[k] += idx[d] * s[k][d];
        put(out, o, get(&in[0], off[0]) ? get(&in[1], off[1]) : get(&in[2], off[2]));
        for (int d = nd - 1; d >= 0; d--) {
            if (++idx[d] < out->dims[d])
                break;
            idx[d] = 0;
        }
    }
    return 0;
}

int vg_ref_expand(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout)
{
    (void)n; (void)nin; (void)nout;
    int64_t st[VG_MAXD];
    bcast_strides(&in[0], out->ndim, out->dims, st);
    strided_copy(out->data, in[0].data, out->ndim, out->dims, st, vg_dtsize(out->dtype));
    return 0;
}

/* ---- data movement ---- */

int vg_ref_transpose(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout)
{
    (void)nin; (void)nout;
    int nd = in[0].ndim;
    int64_t perm[VG_MAXD], st[VG_MAXD], sst[VG_MAXD];
    if (vg_attr_ints(n, "perm", perm, VG_MAXD) != nd)
        for (int i = 0; i < nd; i++)
            perm[i] = nd - 1 - i;
    strides_of(nd, in[0].dims, st);
    for (int i = 0; i < nd; i++)
        sst[i] = st[perm[i]];
    strided_copy(out->data, in[0].data, nd, out->dims, sst, vg_dtsize(out->dtype));
    return 0;
}

static int axis_norm(int64_t a, int nd)
{
    return (int)(a < 0 ? a + nd : a);
}

int vg_ref_concat(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout)
{
    (void)nout;
    int nd = out->ndim, ax = axis_norm(vg_attr_i(n, "axis", 0), nd);
    size_t esz = vg_dtsize(out->dtype);
    int64_t outer = vg_numel(ax, out->dims), oinner = vg_numel(nd - ax, out->dims + ax);
    int64_t pos = 0;
    for (int k = 0; k < nin; k++) {
        if (!in[k].data)
            continue;
        int64_t inner = vg_numel(nd - ax, in[k].dims + ax);
        for (int64_t o = 0; o < outer; o++)
            memcpy((char *)out->data + (o * oinner + pos) * esz, (const char *)in[k].data + o * inner * esz, inner * esz);
        pos += inner;
    }
    return 0;
}

int vg_ref_split(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout)
{
    (void)nin;
    int nd = in[0].ndim, ax = axis_norm(vg_attr_i(n, "axis", 0), nd);
    size_t esz = vg_dtsize(in[0].dtype);
    int64_t outer = vg_numel(ax, in[0].dims), iinner = vg_numel(nd - ax, in[0].dims + ax);
    int64_t pos = 0;
    for (int k = 0; k < nout; k++) {
        int64_t inner = vg_numel(nd - ax, out[k].dims + ax);
        if (out[k].data)
            for (int64_t o = 0; o < outer; o++)
                memcpy((char *)out[k].data + o * inner * esz, (const char *)in[0].data + (o * iinner + pos) * esz, inner * esz);
        pos += inner;
    }
    return 0;
}

/* Slice parameters (shared with shape inference): start and step per axis. */
int vg_slice_params(const vg_node_t *n, const vg_const_t *in, int nin, int nd, const int64_t *dims,
                    int64_t *start, int64_t *step, int64_t *count)
{
    int64_t st[VG_MAXD], en[VG_MAXD], ax[VG_MAXD], sp[VG_MAXD];
    int k;
    for (int i = 0; i < nd; i++) {
        start[i] = 0;
        step[i] = 1;
        count[i] = dims[i];
    }
    if (nin >= 3 && in[1].data && in[2].data) {
        k = (int)vg_numel(in[1].ndim, in[1].dims);
        if (k > VG_MAXD || vg_numel(in[2].ndim, in[2].dims) != k)
            return -EINVAL;
        for (int i = 0; i < k; i++) {
            st[i] = geti(&in[1], i);
            en[i] = geti(&in[2], i);
            ax[i] = i;
            sp[i] = 1;
        }
        if (IN(3)) {
            if (vg_numel(in[3].ndim, in[3].dims) != k)
                return -EINVAL;
            for (int i = 0; i < k; i++)
                ax[i] = geti(&in[3], i);
        }
        if (IN(4)) {
            if (vg_numel(in[4].ndim, in[4].dims) != k)
                return -EINVAL;
            for (int i = 0; i < k; i++)
                sp[i] = geti(&in[4], i);
        }
    } else {
        k = vg_attr_ints(n, "starts", st, VG_MAXD);
        if (k < 0 || vg_attr_ints(n, "ends", en, VG_MAXD) != k)
            return -EINVAL;
        if (vg_attr_ints(n, "axes", ax, VG_MAXD) != k)
            for (int i = 0; i < k; i++)
                ax[i] = i;
        for (int i = 0; i < k; i++)
            sp[i] = 1;
    }
    for (int i = 0; i < k; i++) {
        int a = axis_norm(ax[i], nd);
        if (a < 0 || a >= nd || sp[i] == 0)
            return -EINVAL;
        int64_t d = dims[a], s = st[i], e = en[i];
        if (s < 0) s += d;
        if (e < 0) e += d;
        /* ceil(span / |step|) as 1 + (span - 1) / |step|: a model may give
         * any step up to INT64_MIN, whose negation or sum would overflow */
        if (sp[i] > 0) {
            s = s < 0 ? 0 : s > d ? d : s;
            e = e < 0 ? 0 : e > d ? d : e;
            count[a] = e > s ? 1 + (e - s - 1) / sp[i] : 0;
        } else {
            s = s < 0 ? -1 : s > d - 1 ? d - 1 : s;
            e = e < -1 ? -1 : e > d - 1 ? d - 1 : e;
            uint64_t mag = (uint64_t)0 - (uint64_t)sp[i];
            count[a] = s > e ? 1 + (int64_t)((uint64_t)(s - e - 1) / mag) : 0;
        }
        start[a] = s;
        step[a] = sp[i];
    }
    return 0;
}

int vg_ref_slice(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout)
{
    (void)nout;
    int nd = in[0].ndim;
    int64_t start[VG_MAXD], step[VG_MAXD], cnt[VG_MAXD], st[VG_MAXD], sst[VG_MAXD];
    int r = vg_slice_params(n, in, nin, nd, in[0].dims, start, step, cnt);
    if (r < 0)
        return r;
    if (vg_numel(nd, cnt) == 0)
        return 0; /* empty: a clamped start may point before the data */
    strides_of(nd, in[0].dims, st);
    int64_t off = 0;
    for (int i = 0; i < nd; i++) {
        off += start[i] * st[i];
        /* a step only matters when it is taken: with one element per axis
         * it may be as large as the model likes (st * step would overflow);
         * with two or more, |step| < dims[i] and the product is in range */
        sst[i] = cnt[i] > 1 ? st[i] * step[i] : 0;
    }
    size_t esz = vg_dtsize(out->dtype);
    strided_copy(out->data, (const char *)in[0].data + off * esz, nd, out->dims, sst, esz);
    return 0;
}

int vg_ref_gather(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout)
{
    (void)nin; (void)nout;
    int nd = in[0].ndim, ax = axis_norm(vg_attr_i(n, "axis", 0), nd);
    size_t esz = vg_dtsize(out->dtype);
    int64_t outer = vg_numel(ax, in[0].dims), inner = vg_numel(nd - ax - 1, in[0].dims + ax + 1);
    int64_t dim = in[0].dims[ax], ni = vg_numel(in[1].ndim, in[1].dims);
    char *o = out->data;
    for (int64_t a = 0; a < outer; a++)
        for (int64_t j = 0; j < ni; j++) {
            int64_t i = geti(&in[1], j);
            if (i < 0)
                i += dim;
            if (i < 0 || i >= dim)
                return -EINVAL;
            memcpy(o, (const char *)in[0].data + ((a * dim + i) * inner) * esz, inner * esz);
            o += inner * esz;
        }
    return 0;
}

int vg_pad_params(const vg_node_t *n, const vg_const_t *in, int nin, int nd, int64_t *pads)
{
    if (IN(1)) {
        if (vg_numel(in[1].ndim, in[1].dims) != 2 * nd)
            return -EINVAL;
        for (int i = 0; i < 2 * nd; i++)
            pads[i] = geti(&in[1], i);
        if (IN(3)) { /* axes (opset 18) */
            return -ENOTSUP;
        }
        return 0;
    }
    if (vg_attr_ints(n, "pads", pads, 2 * VG_MAXD) == 2 * nd || vg_attr_ints(n, "paddings", pads, 2 * VG_MAXD) == 2 * nd)
        return 0;
    return -EINVAL;
}

int vg_ref_pad(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout)
{
    (void)nout;
    int nd = in[0].ndim;
    int64_t pads[2 * VG_MAXD], st[VG_MAXD], idx[VG_MAXD] = {0};
    int r = vg_pad_params(n, in, nin, nd, pads);
    if (r < 0)
        return r;
    const char *mode = vg_attr_s(n, "mode", "constant");
    int m = !strcmp(mode, "reflect") ? 1 : !strcmp(mode, "edge") ? 2 : 0;
    double cv = IN(2) ? get(&in[2], 0) : vg_attr_f(n, "value", 0.f);
    strides_of(nd, in[0].dims, st);
    int64_t total = vg_numel(nd, out->dims);
    for (int64_t o = 0; o < total; o++) {
        int64_t off = 0;
        bool outside = false;
        for (int d = 0; d < nd; d++) {
            int64_t x = idx[d] - pads[d], D = in[0].dims[d];
            if (x < 0 || x >= D) {
                if (m == 0) { outside = true; break; }
                if (m == 2) x = x < 0 ? 0 : D - 1;
                else {
                    if (D == 1) x = 0;
                    else {
                        int64_t p = 2 * (D - 1);
                        x = ((x % p) + p) % p;
                        if (x >= D) x = p - x;
                    }
                }
            }
            off += x * st[d];
        }
        put(out, o, outside ? cv : get(&in[0], off));
        for (int d = nd - 1; d >= 0; d--) {
            if (++idx[d] < out->dims[d])
                break;
            idx[d] = 0;
        }
    }
    return 0;
}

/* ---- reductions, softmax, argmax, topk ---- */

int vg_ref_softmax(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout)
{
    (void)nin; (void)nout;
    int nd = in[0].ndim;
    /* opset >= 13 uses axis alone; older opsets coerce to 2D: the caller
     * stores the semantics in "_coerce" via shape inference */
    int ax = axis_norm(vg_attr_i(n, "axis", nd ? -1 : 0), nd);
    int64_t outer = vg_numel(ax, in[0].dims), len, inner;
    if (vg_attr_i(n, "_coerce2d", 0)) {
        len = vg_numel(nd - ax, in[0].dims + ax);
        inner = 1;
    } else {
        len = in[0].dims[ax];
        inner = vg_numel(nd - ax - 1, in[0].dims + ax + 1);
    }
    bool lg = vg_node_is(n, VG_OP_LogSoftmax);
    const float *x = in[0].data;
    float *y = out->data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            const float *xs = x + o * len * inner + i;
            float *ys = y + o * len * inner + i;
            float mx = -INFINITY;
            for (int64_t j = 0; j < len; j++)
                mx = fmaxf(mx, xs[j * inner]);
            double s = 0;
            for (int64_t j = 0; j < len; j++)
                s += exp((double)xs[j * inner] - mx);
            for (int64_t j = 0; j < len; j++)
                ys[j * inner] = lg ? (float)(xs[j * inner] - mx - log(s)) : (float)(exp((double)xs[j * inner] - mx) / s);
        }
    return 0;
}

int vg_reduce_axes(const vg_node_t *n, const vg_const_t *in, int nin, int nd, bool *red)
{
    int64_t ax[VG_MAXD];
    int k = -1;
    if (IN(1)) {
        k = (int)vg_numel(in[1].ndim, in[1].dims);
        if (k > VG_MAXD)
            return -EINVAL;
        for (int i = 0; i < k; i++)
            ax[i] = geti(&in[1], i);
    } else {
        k = vg_attr_ints(n, "axes", ax, VG_MAXD);
    }
    for (int i = 0; i < nd; i++)
        red[i] = k <= 0 && !(k == 0 && vg_attr_i(n, "noop_with_empty_axes", 0));
    for (int i = 0; i < k; i++) {
        int a = axis_norm(ax[i], nd);
        if (a < 0 || a >= nd)
            return -EINVAL;
        red[a] = true;
    }
    return 0;
}

int vg_ref_reduce(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout)
{
    (void)nout;
    int nd = in[0].ndim;
    bool red[VG_MAXD];
    int r = vg_reduce_axes(n, in, nin, nd, red);
    if (r < 0)
        return r;
    vg_op_id_t id = n->opd->id;
    int mode = id == VG_OP_ReduceMean ? 0 : id == VG_OP_ReduceSum ? 1 : id == VG_OP_ReduceMax ? 2 : 3;
    int64_t ost[VG_MAXD], kd[VG_MAXD], idx[VG_MAXD] = {0};
    for (int d = 0; d < nd; d++)
        kd[d] = red[d] ? 1 : in[0].dims[d];
    strides_of(nd, kd, ost);
    int64_t ototal = vg_numel(nd, kd), total = vg_numel(nd, in[0].dims);
    int64_t cnt = ototal ? total / ototal : 1;
    for (int64_t o = 0; o < ototal; o++)
        put(out, o, mode == 2 ? -INFINITY : mode == 3 ? INFINITY : 0);
    for (int64_t i = 0; i < total; i++) {
        int64_t o = 0;
        for (int d = 0; d < nd; d++)
            o += (red[d] ? 0 : idx[d]) * ost[d];
        double x = get(&in[0], i), y = get(out, o);
        put(out, o, mode == 2 ? fmax(x, y) : mode == 3 ? fmin(x, y) : x + y);
        for (int d = nd - 1; d >= 0; d--) {
            if (++idx[d] < in[0].dims[d])
                break;
            idx[d] = 0;
        }
    }
    if (mode == 0)
        for (int64_t o = 0; o < ototal; o++)
            put(out, o, get(out, o) / (double)cnt);
    return 0;
}

int vg_ref_argmax(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout)
{
    (void)nin; (void)nout;
    int nd = in[0].ndim, ax = axis_norm(vg_attr_i(n, "axis", 0), nd);
    bool last = vg_attr_i(n, "select_last_index", 0), mn = vg_node_is(n, VG_OP_ArgMin);
    int64_t outer = vg_numel(ax, in[0].dims), len = in[0].dims[ax], inner = vg_numel(nd - ax - 1, in[0].dims + ax + 1);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t best = 0;
            double bv = get(&in[0], o * len * inner + i);
            for (int64_t j = 1; j < len; j++) {
                double x = get(&in[0], (o * len + j) * inner + i);
                bool better = mn ? (last ? x <= bv : x < bv) : (last ? x >= bv : x > bv);
                if (better) {
                    bv = x;
                    best = j;
                }
            }
            put(out, o * inner + i, (double)best);
        }
    return 0;
}

int vg_ref_topk(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout)
{
    (void)nin;
    int nd = in[0].ndim, ax = axis_norm(vg_attr_i(n, "axis", -1), nd);
    bool largest = vg_attr_i(n, "largest", 1);
    int64_t outer = vg_numel(ax, in[0].dims), len = in[0].dims[ax], inner = vg_numel(nd - ax - 1, in[0].dims + ax + 1);
    int64_t k = out[0].dims[ax];
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            /* selection without scratch: the j-th pick is the best element
             * ordered strictly after the (j-1)-th in (value, index) order */
            double pv = 0;
            int64_t pi = -1;
            for (int64_t j = 0; j < k; j++) {
                int64_t bi = -1;
                double bv = 0;
                for (int64_t t = 0; t < len; t++) {
                    double x = get(&in[0], (o * len + t) * inner + i);
                    if (pi >= 0) {
                        bool after = largest ? (x < pv || (x == pv && t > pi)) : (x > pv || (x == pv && t > pi));
                        if (!after)
                            continue;
                    }
                    if (bi < 0 || (largest ? x > bv : x < bv)) {
                        bi = t;
                        bv = x;
                    }
                }
                pv = bv;
                pi = bi;
                int64_t oi = (o * k + j) * inner + i;
                put(&out[0], oi, bv);
                if (nout > 1 && out[1].data)
                    put(&out[1], oi, (double)bi);
            }
        }
    return 0;
}

/* ---- normalization ---- */

int vg_ref_batchnorm(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout)
{
    (void)nin; (void)nout;
    float eps = vg_attr_f(n, "epsilon", 1e-5f);
    int64_t N = in[0].dims[0], C = in[0].ndim > 1 ? in[0].dims[1] : 1, inner = vg_numel(in[0].ndim - 2, in[0].dims + 2);
    const float *x = in[0].data, *sc = in[1].data, *b = in[2].data, *mu = in[3].data, *var = in[4].data;
    float *y = out->data;
    for (int64_t nn = 0; nn < N; nn++)
        for (int64_t c = 0; c < C; c++) {
            float a = sc[c] / sqrtf(var[c] + eps), bb = b[c] - mu[c] * a;
            const float *xs = x + (nn * C + c) * inner;
            float *ys = y + (nn * C + c) * inner;
            for (int64_t i = 0; i < inner; i++)
                ys[i] = xs[i] * a + bb;
        }
    return 0;
}

/* ---- resize (general fallback; oneDNN handles the common cases) ---- */

enum { CTM_HALF, CTM_ALIGN, CTM_ASYM, CTM_PT_HALF, CTM_TF_HALF_NEAREST };
enum { NM_ROUND_FLOOR, NM_ROUND_CEIL, NM_FLOOR, NM_CEIL };

static int ctm_code(const char *ctm)
{
    if (!strcmp(ctm, "align_corners")) return CTM_ALIGN;
    if (!strcmp(ctm, "asymmetric")) return CTM_ASYM;
    if (!strcmp(ctm, "pytorch_half_pixel")) return CTM_PT_HALF;
    if (!strcmp(ctm, "tf_half_pixel_for_nn")) return CTM_TF_HALF_NEAREST; /* the ONNX spelling */
    return CTM_HALF;
}

static int nm_code(const char *nm)
{
    if (!strcmp(nm, "floor")) return NM_FLOOR;
    if (!strcmp(nm, "ceil")) return NM_CEIL;
    if (!strcmp(nm, "round_prefer_ceil")) return NM_ROUND_CEIL;
    return NM_ROUND_FLOOR;
}

static double src_coord(int ctm, int64_t o, int64_t in, int64_t out, double scale)
{
    switch (ctm) {
    case CTM_ALIGN: return out > 1 ? (double)o * (in - 1) / (out - 1) : 0;
    case CTM_ASYM: return o / scale;
    case CTM_PT_HALF: return out > 1 ? (o + 0.5) / scale - 0.5 : 0;
    case CTM_TF_HALF_NEAREST: return (o + 0.5) / scale;
    default: return (o + 0.5) / scale - 0.5;
    }
}

static int64_t nearest_idx(int nm, double x, int64_t in)
{
    double f;
    switch (nm) {
    case NM_FLOOR: f = floor(x); break;
    case NM_CEIL: f = ceil(x); break;
    case NM_ROUND_CEIL: f = floor(x + 0.5); break;
    default: f = (x - floor(x) == 0.5) ? floor(x) : floor(x + 0.5); break;
    }
    return f < 0 ? 0 : f >= (double)in ? in - 1 : (int64_t)f;
}

int vg_ref_resize(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout)
{
    (void)nin; (void)nout;
    int nd = in[0].ndim;
    if (nd < 2)
        return -ENOTSUP;
    for (int d = 0; d < nd - 2; d++)
        if (in[0].dims[d] != out->dims[d])
            return -ENOTSUP;
    const char *mode = vg_attr_s(n, "mode", "nearest");
    bool up = vg_node_is(n, VG_OP_Upsample);
    int ctm = up ? CTM_ASYM : ctm_code(vg_attr_s(n, "coordinate_transformation_mode", "half_pixel"));
    int nm = up ? NM_FLOOR : nm_code(vg_attr_s(n, "nearest_mode", "round_prefer_floor"));
    bool lin = !strcmp(mode, "linear") || !strcmp(mode, "bilinear");
    int64_t IH = in[0].dims[nd - 2], IW = in[0].dims[nd - 1], OH = out->dims[nd - 2], OW = out->dims[nd - 1];
    int64_t planes = vg_numel(nd - 2, in[0].dims);
    double sh = vg_attr_f(n, "_scale_h", 0), sw = vg_attr_f(n, "_scale_w", 0);
    if (sh <= 0) sh = (double)OH / IH;
    if (sw <= 0) sw = (double)OW / IW;
    const float *x = in[0].data;
    float *y = out->data;
    for (int64_t p = 0; p < planes; p++) {
        const float *xp = x + p * IH * IW;
        float *yp = y + p * OH * OW;
        for (int64_t oh = 0; oh < OH; oh++) {
            double fy = src_coord(ctm, oh, IH, OH, sh);
            for (int64_t ow = 0; ow < OW; ow++) {
                double fx = src_coord(ctm, ow, IW, OW, sw);
                if (!lin) {
                    yp[oh * OW + ow] = xp[nearest_idx(nm, fy, IH) * IW + nearest_idx(nm, fx, IW)];
                    continue;
                }
                double cy = fy < 0 ? 0 : fy > IH - 1 ? IH - 1 : fy, cx = fx < 0 ? 0 : fx > IW - 1 ? IW - 1 : fx;
                int64_t y0 = (int64_t)cy, x0 = (int64_t)cx;
                int64_t y1 = y0 + 1 < IH ? y0 + 1 : IH - 1, x1 = x0 + 1 < IW ? x0 + 1 : IW - 1;
                double wy = cy - y0, wx = cx - x0;
                yp[oh * OW + ow] = (float)((1 - wy) * ((1 - wx) * xp[y0 * IW + x0] + wx * xp[y0 * IW + x1]) +
                                           wy * ((1 - wx) * xp[y1 * IW + x0] + wx * xp[y1 * IW + x1]));
            }
        }
    }
    return 0;
}

/* ---- generators (folding only) ---- */

int vg_ref_constant_of_shape(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout)
{
    (void)in; (void)nin; (void)nout;
    const vg_attr_t *a = vg_attr(n, "value");
    double v = a && a->t ? get(a->t, 0) : 0;
    int64_t cnt = vg_numel(out->ndim, out->dims);
    for (int64_t i = 0; i < cnt; i++)
        put(out, i, v);
    return 0;
}

int vg_ref_range(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout)
{
    (void)n; (void)nin; (void)nout;
    double s = get(&in[0], 0), d = get(&in[2], 0);
    int64_t cnt = vg_numel(out->ndim, out->dims);
    for (int64_t i = 0; i < cnt; i++)
        put(out, i, s + i * d);
    return 0;
}

int vg_ref_nonzero(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout)
{
    (void)n; (void)nin; (void)nout;
    int nd = in[0].ndim;
    int64_t total = vg_numel(nd, in[0].dims), cnt = out->dims[1], k = 0, idx[VG_MAXD] = {0};
    for (int64_t i = 0; i < total; i++) {
        if (get(&in[0], i) != 0) {
            for (int d = 0; d < nd; d++)
                put(out, d * cnt + k, (double)idx[d]);
            k++;
        }
        for (int d = nd - 1; d >= 0; d--) {
            if (++idx[d] < in[0].dims[d])
                break;
            idx[d] = 0;
        }
    }
    return 0;
}
