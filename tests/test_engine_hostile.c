/* Models whose sizes are chosen to break arithmetic (found by fuzzing the
 * loader, issue 10): they must load and compute the right thing, or be
 * refused with a message, and never reach undefined behaviour (this suite
 * also runs under ASan+UBSan, where any overflow aborts). The models are
 * built here with the same protobuf-c bindings the loader uses. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "models/engine/engine.h"
#include "onnx.pb-c.h"

enum { T_FLOAT = 1, T_INT64 = 7 };

/* One-node graph: input "x" (float, dims), initializers, node op(inputs) -> "y". */
typedef struct {
    const char *op;
    int64_t xdims[4];
    int xnd;
    int nconst;
    struct {
        const char *name;
        int dtype;
        int64_t n;
        const int64_t *i;
        const float *f;
    } k[4];
    const char *inputs[5];
    int nin;
} graph_t;

static uint8_t *build(const graph_t *gr, size_t *ret_len)
{
    Onnx__TensorShapeProto__Dimension dim[4], *dimp[4];
    for (int i = 0; i < gr->xnd; i++) {
        onnx__tensor_shape_proto__dimension__init(&dim[i]);
        dim[i].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        dim[i].dim_value = gr->xdims[i];
        dimp[i] = &dim[i];
    }
    Onnx__TensorShapeProto shape;
    onnx__tensor_shape_proto__init(&shape);
    shape.n_dim = gr->xnd;
    shape.dim = dimp;
    Onnx__TypeProto__Tensor tt;
    onnx__type_proto__tensor__init(&tt);
    tt.has_elem_type = 1;
    tt.elem_type = T_FLOAT;
    tt.shape = &shape;
    Onnx__TypeProto type;
    onnx__type_proto__init(&type);
    type.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    type.tensor_type = &tt;
    Onnx__ValueInfoProto xin, yout, *xinp = &xin, *youtp = &yout;
    onnx__value_info_proto__init(&xin);
    xin.name = "x";
    xin.type = &type;
    onnx__value_info_proto__init(&yout);
    yout.name = "y";

    Onnx__TensorProto init[4], *initp[4];
    for (int i = 0; i < gr->nconst; i++) {
        onnx__tensor_proto__init(&init[i]);
        init[i].name = (char *)gr->k[i].name;
        init[i].has_data_type = 1;
        init[i].data_type = gr->k[i].dtype;
        init[i].n_dims = 1;
        init[i].dims = (int64_t *)&gr->k[i].n;
        if (gr->k[i].dtype == T_INT64) {
            init[i].n_int64_data = gr->k[i].n;
            init[i].int64_data = (int64_t *)gr->k[i].i;
        } else {
            init[i].n_float_data = gr->k[i].n;
            init[i].float_data = (float *)gr->k[i].f;
        }
        initp[i] = &init[i];
    }
    Onnx__NodeProto node, *nodep = &node;
    onnx__node_proto__init(&node);
    node.op_type = (char *)gr->op;
    node.name = "n1";
    node.n_input = gr->nin;
    node.input = (char **)gr->inputs;
    char *outs[1] = {"y"};
    node.n_output = 1;
    node.output = outs;

    Onnx__GraphProto g;
    onnx__graph_proto__init(&g);
    g.name = "hostile";
    g.n_node = 1;
    g.node = &nodep;
    g.n_initializer = gr->nconst;
    g.initializer = initp;
    g.n_input = 1;
    g.input = &xinp;
    g.n_output = 1;
    g.output = &youtp;
    Onnx__OperatorSetIdProto opset, *opsetp = &opset;
    onnx__operator_set_id_proto__init(&opset);
    opset.domain = "";
    opset.has_version = 1;
    opset.version = 13;
    Onnx__ModelProto m;
    onnx__model_proto__init(&m);
    m.has_ir_version = 1;
    m.ir_version = 7;
    m.n_opset_import = 1;
    m.opset_import = &opsetp;
    m.graph = &g;
    size_t len = onnx__model_proto__get_packed_size(&m);
    uint8_t *buf = malloc(len);
    cr_assert_not_null(buf);
    onnx__model_proto__pack(&m, buf);
    *ret_len = len;
    return buf;
}

/* Slice of a 4x8 input along axis `axis` with one step: loads, runs, and
 * gives the one row or column the step leaves. */
static void slice_case(int64_t start, int64_t end, int axis, int64_t step, int expect_index)
{
    int64_t st[1] = {start}, en[1] = {end}, ax[1] = {axis}, sp[1] = {step};
    graph_t gr = {.op = "Slice", .xdims = {4, 8}, .xnd = 2, .nconst = 4,
                  .k = {{"starts", T_INT64, 1, st, NULL}, {"ends", T_INT64, 1, en, NULL},
                        {"axes", T_INT64, 1, ax, NULL}, {"steps", T_INT64, 1, sp, NULL}},
                  .inputs = {"x", "starts", "ends", "axes", "steps"}, .nin = 5};
    size_t len;
    uint8_t *buf = build(&gr, &len);
    char msg[256];
    vg_engine_t *e = NULL;
    int r = vg_engine_load_buffer(buf, len, NULL, &e, msg, sizeof(msg));
    free(buf);
    cr_assert_eq(r, 0, "step %lld: %s", (long long)step, msg);
    const vg_tensor_desc_t *d = vg_engine_output(e, 0);
    cr_assert_eq(d->ndim, 2);
    int64_t want[2] = {axis == 0 ? 1 : 4, axis == 0 ? 8 : 1};
    cr_assert(d->dims[0] == want[0] && d->dims[1] == want[1], "step %lld: output %lldx%lld", (long long)step,
              (long long)d->dims[0], (long long)d->dims[1]);
    float *x = vg_engine_input_buffer(e, 0);
    for (int i = 0; i < 32; i++)
        x[i] = (float)i;
    cr_assert_eq(vg_engine_run(e), 0);
    const float *y = vg_engine_output_buffer(e, 0);
    for (int i = 0; i < (int)d->count; i++) {
        float want_v = axis == 0 ? (float)(expect_index * 8 + i) : (float)(i * 8 + expect_index);
        cr_expect_eq(y[i], want_v, "step %lld: y[%d] = %g, expected %g", (long long)step, i, y[i], want_v);
    }
    vg_engine_free(&e);
}

Test(engine_hostile, slice_huge_steps)
{
    slice_case(0, 4, 0, INT64_MAX, 0);
    slice_case(1, INT64_MAX, 0, INT64_MAX - 1, 1);
    slice_case(3, INT64_MIN, 0, INT64_MIN, 3);
    slice_case(-1, -100, 0, INT64_MIN + 1, 3);
    slice_case(0, 8, 1, INT64_MAX, 0);
    slice_case(7, INT64_MIN, 1, INT64_MIN, 7);
    /* an ordinary step still takes every other element */
    slice_case(0, 4, 0, 4, 0);
}

Test(engine_hostile, gather_float_indices)
{
    float nan_idx[2] = {1.f, NAN}, inf_idx[1] = {INFINITY}, ok_idx[1] = {2.f};
    const float *sets[3] = {nan_idx, inf_idx, ok_idx};
    int64_t counts[3] = {2, 1, 1};
    const char *msgs[2] = {"node 'n1' (Gather): index NaN out of range",
                           "node 'n1' (Gather): index 9223372036854775807 out of range"};
    for (int s = 0; s < 3; s++) {
        graph_t gr = {.op = "Gather", .xdims = {4, 8}, .xnd = 2, .nconst = 1,
                      .k = {{"idx", T_FLOAT, counts[s], NULL, sets[s]}}, .inputs = {"x", "idx"}, .nin = 2};
        size_t len;
        uint8_t *buf = build(&gr, &len);
        char msg[256] = "";
        vg_engine_t *e = NULL;
        int r = vg_engine_load_buffer(buf, len, NULL, &e, msg, sizeof(msg));
        free(buf);
        if (s < 2) {
            cr_expect_eq(r, -EINVAL, "set %d: %d (%s)", s, r, msg);
            cr_expect_str_eq(msg, msgs[s]);
            cr_expect_null(e);
        } else {
            cr_assert_eq(r, 0, "%s", msg);
            float *x = vg_engine_input_buffer(e, 0);
            for (int i = 0; i < 32; i++)
                x[i] = (float)i;
            cr_assert_eq(vg_engine_run(e), 0);
            const float *y = vg_engine_output_buffer(e, 0);
            for (int i = 0; i < 8; i++)
                cr_expect_eq(y[i], (float)(16 + i));
            vg_engine_free(&e);
        }
    }
}

Test(engine_hostile, reshape_and_split_sizes)
{
    /* Reshape to eight dims of 2^28 with a -1: the product of the known dims
     * overflows int64 unless bounded; the model is refused */
    int64_t big[8] = {1 << 28, 1 << 28, 1 << 28, 1 << 28, 1 << 28, 1 << 28, 1 << 28, -1};
    graph_t rs = {.op = "Reshape", .xdims = {4, 8}, .xnd = 2, .nconst = 1, .k = {{"shape", T_INT64, 8, big, NULL}},
                  .inputs = {"x", "shape"}, .nin = 2};
    size_t len;
    uint8_t *buf = build(&rs, &len);
    char msg[256] = "";
    vg_engine_t *e = NULL;
    int r = vg_engine_load_buffer(buf, len, NULL, &e, msg, sizeof(msg));
    free(buf);
    cr_expect_eq(r, -EINVAL, "%d (%s)", r, msg);
    cr_expect_str_eq(msg, "node 'n1' (Reshape): shape mismatch: cannot reshape 32 elements");
    /* Split sizes (axis 0, 4 rows) that only add up to 4 through overflow */
    int64_t sp[2] = {INT64_MAX, INT64_MIN + 5};
    graph_t spl = {.op = "Split", .xdims = {4, 8}, .xnd = 2, .nconst = 1, .k = {{"split", T_INT64, 2, sp, NULL}},
                   .inputs = {"x", "split"}, .nin = 2};
    buf = build(&spl, &len);
    e = NULL;
    r = vg_engine_load_buffer(buf, len, NULL, &e, msg, sizeof(msg));
    free(buf);
    cr_expect_eq(r, -EINVAL, "%d (%s)", r, msg);
    cr_expect_str_eq(msg, "node 'n1' (Split): split sizes do not add up to 4");
    cr_expect_null(e);
}
