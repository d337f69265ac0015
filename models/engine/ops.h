/* The operator table of the engine (internal): one row per ONNX operator
 * with its shape function (shape.c), its planner (plan.c, NULL = our own
 * kernel through the generic planner), its reference kernel (ops_ref.c, NULL
 * = none: the op can be neither folded nor run by us) and its flags.
 * Shape inference, constant folding, planning, the reference path and the
 * fusion checks all read this table; a node finds its row once, when the
 * model is parsed (vg_node_t.opd), and nothing compares operator names after
 * that.
 *
 * Adding an operator: one VG_OP() row below, plus its functions (a shape
 * function is required; a planner and/or a reference kernel as needed), with
 * their prototypes at the end of this file.
 *
 * Thread: the table is constant; everything here runs on the thread that
 * loads a model (reference kernels also on the one that runs it). */
#ifndef VG_ENG_OPS_H
#define VG_ENG_OPS_H

#include "models/engine/eng_internal.h"

/* Row flags. */
enum {
    VG_OPF_VIEW = 1 << 0,      /* output is input 0 with new dims: aliased at run time, no step */
    VG_OPF_ELTWISE = 1 << 1,   /* unary op oneDNN runs as eltwise: own step or fused as a conv post-op */
    VG_OPF_ALPHA = 1 << 2,     /* eltwise alpha is the "alpha" attribute (row alpha is its default) */
    VG_OPF_POSTOPS = 1 << 3,   /* takes fused post-ops (eltwise, residual sum), BatchNorm and Pad */
    VG_OPF_NO_INPUT = 1 << 4,  /* input 0 may be absent (generators) */
    VG_OPF_MULTI_OUT = 1 << 5, /* produces every output, not only the first (extra ones are real) */
};

/*    name                shape function          planner           reference kernel           flags                                  dnnl alg                  alpha */
#define VG_OPS(X)                                                                                                                                                        \
    X(Conv,               vg_shape_conv,          vg_plan_conv,     NULL,                      VG_OPF_POSTOPS,                        0,                        0)       \
    X(ConvTranspose,      vg_shape_conv,          vg_plan_conv,     NULL,                      VG_OPF_POSTOPS,                        0,                        0)       \
    X(MaxPool,            vg_shape_pool,          vg_plan_pool,     NULL,                      0,                                     dnnl_pooling_max,         0)       \
    X(AveragePool,        vg_shape_pool,          vg_plan_pool,     NULL,                      0,                                     0,                        0)       \
    X(LpPool,             vg_shape_pool,          NULL,             NULL,                      0,                                     0,                        0)       \
    X(GlobalAveragePool,  vg_shape_global_pool,   vg_plan_pool,     NULL,                      0,                                     0,                        0)       \
    X(GlobalMaxPool,      vg_shape_global_pool,   vg_plan_pool,     NULL,                      0,                                     dnnl_pooling_max,         0)       \
    X(BatchNormalization, vg_shape_batchnorm,     NULL,             vg_ref_batchnorm,          0,                                     0,                        0)       \
    X(Gemm,               vg_shape_gemm,          vg_plan_matmul,   NULL,                      0,                                     0,                        0)       \
    X(MatMul,             vg_shape_matmul,        vg_plan_matmul,   NULL,                      0,                                     0,                        0)       \
    /* broadcasting binary */                                                                                                                                            \
    X(Add,                vg_shape_broadcast,     vg_plan_binary,   vg_ref_binary,             0,                                     dnnl_binary_add,          0)       \
    X(Sub,                vg_shape_broadcast,     vg_plan_binary,   vg_ref_binary,             0,                                     dnnl_binary_sub,          0)       \
    X(Mul,                vg_shape_broadcast,     vg_plan_binary,   vg_ref_binary,             0,                                     dnnl_binary_mul,          0)       \
    X(Div,                vg_shape_broadcast,     vg_plan_binary,   vg_ref_binary,             0,                                     dnnl_binary_div,          0)       \
    X(Pow,                vg_shape_broadcast,     NULL,             vg_ref_binary,             0,                                     0,                        0)       \
    X(Max,                vg_shape_broadcast,     vg_plan_binary,   vg_ref_binary,             0,                                     dnnl_binary_max,          0)       \
    X(Min,                vg_shape_broadcast,     vg_plan_binary,   vg_ref_binary,             0,                                     dnnl_binary_min,          0)       \
    X(Equal,              vg_shape_broadcast,     NULL,             vg_ref_binary,             0,                                     0,                        0)       \
    X(Less,               vg_shape_broadcast,     NULL,             vg_ref_binary,             0,                                     0,                        0)       \
    X(Greater,            vg_shape_broadcast,     NULL,             vg_ref_binary,             0,                                     0,                        0)       \
    X(Where,              vg_shape_broadcast,     NULL,             vg_ref_where,              0,                                     0,                        0)       \
    /* unary */                                                                                                                                                          \
    X(Relu,               vg_shape_unary,         vg_plan_eltwise,  vg_ref_unary,              VG_OPF_ELTWISE,                        dnnl_eltwise_relu,        0)       \
    X(LeakyRelu,          vg_shape_unary,         vg_plan_eltwise,  vg_ref_unary,              VG_OPF_ELTWISE | VG_OPF_ALPHA,         dnnl_eltwise_relu,        0.01f)   \
    X(Sigmoid,            vg_shape_unary,         vg_plan_eltwise,  vg_ref_unary,              VG_OPF_ELTWISE,                        dnnl_eltwise_logistic,    0)       \
    X(Tanh,               vg_shape_unary,         vg_plan_eltwise,  vg_ref_unary,              VG_OPF_ELTWISE,                        dnnl_eltwise_tanh,        0)       \
    X(Clip,               vg_shape_unary,         vg_plan_eltwise,  vg_ref_unary,              VG_OPF_ELTWISE,                        dnnl_eltwise_clip_v2,     0)       \
    X(HardSwish,          vg_shape_unary,         vg_plan_eltwise,  vg_ref_unary,              VG_OPF_ELTWISE,                        dnnl_eltwise_hardswish,   0)       \
    X(HardSigmoid,        vg_shape_unary,         NULL,             vg_ref_unary,              0,                                     0,                        0.2f)    \
    X(Exp,                vg_shape_unary,         vg_plan_eltwise,  vg_ref_unary,              VG_OPF_ELTWISE,                        dnnl_eltwise_exp,         0)       \
    X(Log,                vg_shape_unary,         NULL,             vg_ref_unary,              0,                                     0,                        0)       \
    X(Sqrt,               vg_shape_unary,         vg_plan_eltwise,  vg_ref_unary,              VG_OPF_ELTWISE,                        dnnl_eltwise_sqrt,        0)       \
    X(Abs,                vg_shape_unary,         vg_plan_eltwise,  vg_ref_unary,              VG_OPF_ELTWISE,                        dnnl_eltwise_abs,         0)       \
    X(Neg,                vg_shape_unary,         vg_plan_eltwise,  vg_ref_unary,              VG_OPF_ELTWISE,                        dnnl_eltwise_linear,      -1.f)    \
    X(Elu,                vg_shape_unary,         vg_plan_eltwise,  vg_ref_unary,              VG_OPF_ELTWISE | VG_OPF_ALPHA,         dnnl_eltwise_elu,         1.f)     \
    X(Softplus,           vg_shape_unary,         NULL,             vg_ref_unary,              0,                                     0,                        0)       \
    X(Floor,              vg_shape_unary,         NULL,             vg_ref_unary,              0,                                     0,                        0)       \
    X(Ceil,               vg_shape_unary,         NULL,             vg_ref_unary,              0,                                     0,                        0)       \
    X(Round,              vg_shape_unary,         NULL,             vg_ref_unary,              0,                                     0,                        0)       \
    X(Reciprocal,         vg_shape_unary,         NULL,             vg_ref_unary,              0,                                     0,                        0)       \
    X(Erf,                vg_shape_unary,         NULL,             vg_ref_unary,              0,                                     0,                        0)       \
    X(Not,                vg_shape_unary,         NULL,             vg_ref_unary,              0,                                     0,                        0)       \
    /* views: same bytes, new dims (copies when folding) */                                                                                                          \
    X(Identity,           vg_shape_unary,         NULL,             vg_ref_copy,               VG_OPF_VIEW,                           0,                        0)       \
    X(Dropout,            vg_shape_unary,         NULL,             vg_ref_copy,               VG_OPF_VIEW,                           0,                        0)       \
    X(Cast,               vg_shape_cast,          NULL,             vg_ref_copy,               VG_OPF_VIEW,                           0,                        0)       \
    X(Reshape,            vg_shape_reshape,       NULL,             vg_ref_copy,               VG_OPF_VIEW,                           0,                        0)       \
    X(Flatten,            vg_shape_flatten,       NULL,             vg_ref_copy,               VG_OPF_VIEW,                           0,                        0)       \
    X(Squeeze,            vg_shape_squeeze,       NULL,             vg_ref_copy,               VG_OPF_VIEW,                           0,                        0)       \
    X(Unsqueeze,          vg_shape_squeeze,       NULL,             vg_ref_copy,               VG_OPF_VIEW,                           0,                        0)       \
    /* data movement */                                                                                                                                              \
    X(Concat,             vg_shape_concat,        vg_plan_concat,   vg_ref_concat,             0,                                     0,                        0)       \
    X(Transpose,          vg_shape_transpose,     vg_plan_transpose, vg_ref_transpose,         0,                                     0,                        0)       \
    X(Slice,              vg_shape_slice,         vg_plan_subviews, vg_ref_slice,              0,                                     0,                        0)       \
    X(Split,              vg_shape_split,         vg_plan_subviews, vg_ref_split,              VG_OPF_MULTI_OUT,                      0,                        0)       \
    X(Pad,                vg_shape_pad,           NULL,             vg_ref_pad,                0,                                     0,                        0)       \
    X(Gather,             vg_shape_gather,        NULL,             vg_ref_gather,             0,                                     0,                        0)       \
    X(Expand,             vg_shape_expand,        NULL,             vg_ref_expand,             0,                                     0,                        0)       \
    X(Resize,             vg_shape_resize,        vg_plan_resize,   vg_ref_resize,             0,                                     0,                        0)       \
    X(Upsample,           vg_shape_resize,        vg_plan_resize,   vg_ref_resize,             0,                                     0,                        0)       \
    /* reductions */                                                                                                                                                 \
    X(Softmax,            vg_shape_softmax,       NULL,             vg_ref_softmax,            0,                                     0,                        0)       \
    X(LogSoftmax,         vg_shape_softmax,       NULL,             vg_ref_softmax,            0,                                     0,                        0)       \
    X(ReduceMean,         vg_shape_reduce,        NULL,             vg_ref_reduce,             0,                                     0,                        0)       \
    X(ReduceSum,          vg_shape_reduce,        NULL,             vg_ref_reduce,             0,                                     0,                        0)       \
    X(ReduceMax,          vg_shape_reduce,        NULL,             vg_ref_reduce,             0,                                     0,                        0)       \
    X(ReduceMin,          vg_shape_reduce,        NULL,             vg_ref_reduce,             0,                                     0,                        0)       \
    X(ArgMax,             vg_shape_argmax,        NULL,             vg_ref_argmax,             0,                                     0,                        0)       \
    X(ArgMin,             vg_shape_argmax,        NULL,             vg_ref_argmax,             0,                                     0,                        0)       \
    X(TopK,               vg_shape_topk,          NULL,             vg_ref_topk,               VG_OPF_MULTI_OUT,                      0,                        0)       \
    /* constants and generators (always folded) */                                                                                                                    \
    X(Shape,              vg_shape_shape,         NULL,             NULL,                      0,                                     0,                        0)       \
    X(Constant,           vg_shape_constant,      NULL,             NULL,                      VG_OPF_NO_INPUT,                       0,                        0)       \
    X(ConstantOfShape,    vg_shape_constant_of_shape, NULL,         vg_ref_constant_of_shape,  VG_OPF_NO_INPUT,                       0,                        0)       \
    X(Range,              vg_shape_range,         NULL,             vg_ref_range,              VG_OPF_NO_INPUT,                       0,                        0)       \
    X(NonZero,            vg_shape_nonzero,       NULL,             vg_ref_nonzero,            0,                                     0,                        0)

/* Row ids: VG_OP_Conv, VG_OP_Add, ... (a node's kind is n->opd->id). */
typedef enum {
#define VG_OP_ENUM(name, shape, plan, ref, flags, alg, alpha) VG_OP_##name,
    VG_OPS(VG_OP_ENUM)
#undef VG_OP_ENUM
    VG_OP_COUNT
} vg_op_id_t;

/* What a shape function sees of the node it infers: its first input and
 * output, and constant views of the first inputs (data NULL for runtime
 * values). The common checks (shaped inputs, input 0 and output 0 present
 * unless the flags say otherwise) are done before it is called; output 0 is
 * preset to input 0's rank, dims and type. */
typedef struct {
    vg_engine_t *e;
    vg_graph_t *g;
    vg_node_t *n;
    const vg_value_t *x;    /* input 0, or NULL */
    vg_value_t *y;          /* output 0, or NULL */
    int nd;                 /* rank of x (0 without x) */
    vg_const_t c[8];        /* inputs 0..7 */
    int nc;                 /* how many of c are filled */
    int fold;               /* set to 2 by a function that made y's constant data itself */
} vg_shape_ctx_t;

typedef int (*vg_shape_fn)(vg_shape_ctx_t *s);
/* Plans node ni: adds its steps and sets its outputs' layouts. */
typedef int (*vg_plan_fn)(vg_engine_t *e, int ni);

struct vg_op {
    const char *name;       /* ONNX op_type */
    vg_op_id_t id;
    vg_shape_fn shape;
    vg_plan_fn plan;        /* NULL: vg_plan_own (our reference kernel) */
    vg_ref_fn ref;          /* NULL: no kernel of ours */
    unsigned flags;         /* VG_OPF_* */
    int alg;                /* dnnl_alg_kind_t: eltwise, binary or pooling */
    float alpha;            /* eltwise alpha (default of the attribute with VG_OPF_ALPHA) */
};

extern const vg_op_t vg_ops[VG_OP_COUNT];

/* The row of ONNX operator `name`, or NULL when the engine does not know it. */
const vg_op_t *vg_op_find(const char *name);

static inline bool vg_node_is(const vg_node_t *n, vg_op_id_t id)
{
    return n->opd && n->opd->id == id;
}

static inline bool vg_node_has(const vg_node_t *n, unsigned flag)
{
    return n->opd && (n->opd->flags & flag);
}

/* oneDNN eltwise of a VG_OPF_ELTWISE node: algorithm and parameters. False
 * when the node is not one (or Clip with runtime bounds). */
typedef struct {
    int alg;
    float alpha, beta;
} vg_eltwise_t;
bool vg_node_eltwise(const vg_node_t *n, const vg_graph_t *g, vg_eltwise_t *ret);

/* shape.c */
int vg_shape_conv(vg_shape_ctx_t *s);
int vg_shape_pool(vg_shape_ctx_t *s);
int vg_shape_global_pool(vg_shape_ctx_t *s);
int vg_shape_batchnorm(vg_shape_ctx_t *s);
int vg_shape_broadcast(vg_shape_ctx_t *s);
int vg_shape_unary(vg_shape_ctx_t *s);
int vg_shape_cast(vg_shape_ctx_t *s);
int vg_shape_concat(vg_shape_ctx_t *s);
int vg_shape_reshape(vg_shape_ctx_t *s);
int vg_shape_flatten(vg_shape_ctx_t *s);
int vg_shape_squeeze(vg_shape_ctx_t *s);
int vg_shape_transpose(vg_shape_ctx_t *s);
int vg_shape_slice(vg_shape_ctx_t *s);
int vg_shape_split(vg_shape_ctx_t *s);
int vg_shape_pad(vg_shape_ctx_t *s);
int vg_shape_shape(vg_shape_ctx_t *s);
int vg_shape_constant(vg_shape_ctx_t *s);
int vg_shape_gather(vg_shape_ctx_t *s);
int vg_shape_softmax(vg_shape_ctx_t *s);
int vg_shape_reduce(vg_shape_ctx_t *s);
int vg_shape_argmax(vg_shape_ctx_t *s);
int vg_shape_topk(vg_shape_ctx_t *s);
int vg_shape_gemm(vg_shape_ctx_t *s);
int vg_shape_matmul(vg_shape_ctx_t *s);
int vg_shape_resize(vg_shape_ctx_t *s);
int vg_shape_expand(vg_shape_ctx_t *s);
int vg_shape_nonzero(vg_shape_ctx_t *s);
int vg_shape_constant_of_shape(vg_shape_ctx_t *s);
int vg_shape_range(vg_shape_ctx_t *s);

/* plan.c */
int vg_plan_conv(vg_engine_t *e, int ni);
int vg_plan_pool(vg_engine_t *e, int ni);
int vg_plan_eltwise(vg_engine_t *e, int ni);
int vg_plan_binary(vg_engine_t *e, int ni);
int vg_plan_concat(vg_engine_t *e, int ni);
int vg_plan_resize(vg_engine_t *e, int ni);
int vg_plan_matmul(vg_engine_t *e, int ni);
int vg_plan_transpose(vg_engine_t *e, int ni);
int vg_plan_subviews(vg_engine_t *e, int ni);
int vg_plan_own(vg_engine_t *e, int ni);

/* ops_ref.c: our kernels on dense tensors; return 0 or negative errno */
int vg_ref_copy(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout);
int vg_ref_unary(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout);
int vg_ref_binary(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout);
int vg_ref_where(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout);
int vg_ref_expand(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout);
int vg_ref_transpose(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout);
int vg_ref_concat(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout);
int vg_ref_split(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout);
int vg_ref_slice(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout);
int vg_ref_gather(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout);
int vg_ref_pad(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout);
int vg_ref_softmax(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout);
int vg_ref_reduce(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout);
int vg_ref_argmax(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout);
int vg_ref_topk(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout);
int vg_ref_batchnorm(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout);
int vg_ref_resize(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout);
int vg_ref_constant_of_shape(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout);
int vg_ref_range(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout);
int vg_ref_nonzero(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout);

#endif
