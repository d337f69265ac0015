/* Internal structures of the inference engine (not a public header).
 * Graph: values and nodes parsed from ONNX; plan: execution steps. */
#ifndef VG_ENG_INTERNAL_H
#define VG_ENG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <oneapi/dnnl/dnnl.h>

#include "models/engine/engine.h"

#define VG_MAXD VG_ENGINE_MAX_DIMS
/* Element types, numbered as ONNX TensorProto.DataType. */
enum { DT_F32 = 1, DT_I64 = 7 };
/* Runtime layouts of activations. */
enum { FMT_PLAIN = 0, FMT_NHWC = 1 };
/* Upper bounds: any one tensor (elements), the activation arena (bytes), and
 * a tensor made by constant folding (elements). Models for cameras are far
 * below; a file above them is refused instead of exhausting memory. */
#define VG_MAX_ELEMS (INT64_C(1) << 28)
#define VG_MAX_ARENA (INT64_C(4) << 30)
#define VG_MAX_FOLD (INT64_C(1) << 26)

typedef enum { AT_F = 1, AT_I = 2, AT_S = 3, AT_T = 4, AT_FS = 6, AT_IS = 7 } attr_type_t;

typedef struct {
    int dtype;              /* DT_F32 or DT_I64 */
    int ndim;
    int64_t dims[VG_MAXD];
    void *data;             /* owned */
} vg_const_t;

typedef struct {
    char *name;
    attr_type_t type;
    float f;
    int64_t i;
    char *s;
    int n;                  /* for FS / IS */
    float *fs;
    int64_t *is;
    vg_const_t *t;          /* for T */
} vg_attr_t;

typedef struct {
    char *name;
    int ndim;
    int64_t dims[VG_MAXD];
    int dtype;              /* element type (constants: F32/I64; runtime: F32) */
    void *cdata;            /* constant data (owned), NULL for runtime values */
    bool shaped;            /* dims known */
    int producer;           /* node index, -1 for inputs/initializers */
    int nuse;               /* consumer inputs + graph-output references */
    bool is_input, is_output;
    bool released;          /* constant whose data was dropped after packing */
    /* planning */
    int fmt, rdt;           /* runtime layout and dnnl data type */
    int alias;              /* value whose storage this one shares, or -1 */
    int conv[2][2];         /* cached converted copies [fmt][bf16?], -1 none */
    int def, last;          /* step of definition and of last use */
    size_t bytes;
    int64_t off;            /* arena offset of the storage root, -1 external */
    void *ptr;              /* resolved storage */
    dnnl_memory_desc_t md;
    dnnl_memory_t mem;
} vg_value_t;

/* Post-ops fused into a Conv/ConvTranspose/Gemm node. */
typedef struct {
    int kind;               /* 0 eltwise, 1 sum */
    int alg;                /* dnnl_alg_kind_t for eltwise */
    float alpha, beta;
} vg_postop_t;

#define VG_MAX_POSTOPS 4

typedef struct vg_op vg_op_t; /* a row of the operator table (ops.h) */

typedef struct {
    char *name;
    char *op;               /* ONNX op_type, as in the file (messages, summary) */
    const vg_op_t *opd;     /* its row in the operator table, NULL if unknown */
    int nin, nout;
    int *in, *out;          /* value indices, -1 = absent optional */
    int nattr;
    vg_attr_t *attr;
    bool dead;              /* folded or fused away */
    /* fusion results (Conv) */
    int npost;
    vg_postop_t post[VG_MAX_POSTOPS];
    int sum_in;             /* value added by a sum post-op, -1 none */
    int64_t xpad[4];        /* extra spatial pads from a fused Pad: t l b r */
    char fused[96];         /* what was fused, for the summary */
} vg_node_t;

typedef struct {
    vg_value_t *v;
    int nv, cap_v;
    vg_node_t *n;
    int nn;
    int *inputs, ninputs;   /* graph inputs (runtime, non-initializer) */
    int *outputs, noutputs;
    int opset;
    int64_t file_batch;     /* first input's batch in the file (0 symbolic) */
    int64_t batch;          /* batch the caller asked for, 0 = the file's */
    int *order, norder;     /* topological order of live nodes */
} vg_graph_t;

/* A step of the plan. */
typedef struct vg_step {
    int kind;               /* STEP_DNNL or STEP_OWN */
    int node;               /* node index (or -1 for reorders) */
    dnnl_primitive_t prim;
    int nargs;
    dnnl_exec_arg_t args[8];
    int nr, nw;             /* values read / written */
    int *rd, *wr;
    /* own op: tensors resolved after planning */
    int (*fn)(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout);
    vg_const_t *tin, *tout;
    dnnl_memory_t owned_mem[4]; /* constants packed for this step */
    dnnl_memory_t view;     /* a strided/sub view of value view_val (owned) */
    int view_val;
    int nowned;
    double macs;
    char impl[64];
} vg_step_t;
enum { STEP_DNNL = 1, STEP_OWN = 2 };

struct vg_engine {
    vg_graph_t g;
    dnnl_engine_t eng;
    dnnl_stream_t stream;
    int threads;
    bool bf16;
    vg_step_t *steps;
    int nsteps, cap_steps;
    void *arena;
    size_t arena_bytes;
    void *scratch;
    size_t scratch_bytes;
    dnnl_memory_t scratch_mem;
    size_t weight_bytes;
    double macs;
    vg_tensor_desc_t *in_desc, *out_desc;
    float **in_buf, **out_buf;
    int plan_pos;           /* position in g.order being planned */
    char *summary;
    char *err;
    size_t errlen;
};

/* errors: writes message, returns code */
int vg_eng_err(vg_engine_t *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* onnx_load.c */
/* Parses an ONNX image; release(arg), if given, is called as soon as the
 * bytes are no longer needed. */
int vg_eng_parse(vg_engine_t *e, const uint8_t *buf, size_t len, int batch, void (*release)(void *), void *arg);
void vg_graph_release(vg_graph_t *g);
int vg_graph_add_value(vg_graph_t *g, const char *name);

/* attrs (onnx_load.c) */
const vg_attr_t *vg_attr(const vg_node_t *n, const char *name);
int64_t vg_attr_i(const vg_node_t *n, const char *name, int64_t def);
float vg_attr_f(const vg_node_t *n, const char *name, float def);
const char *vg_attr_s(const vg_node_t *n, const char *name, const char *def);
int vg_attr_ints(const vg_node_t *n, const char *name, int64_t *out, int max);

/* shape.c: shapes and constant folding */
int vg_eng_infer(vg_engine_t *e);
int64_t vg_numel(int ndim, const int64_t *dims);
size_t vg_dtsize(int dt);
/* double -> int64 without undefined behaviour: NaN is 0, out of range saturates. */
int64_t vg_to_i64(double x);

int vg_conv_geom(const vg_node_t *n, bool transpose, const int64_t *in_hw, const int64_t *k_hw,
                 int64_t *stride, int64_t *dil, int64_t *pads, int64_t *out_hw);
int vg_slice_params(const vg_node_t *n, const vg_const_t *in, int nin, int nd, const int64_t *dims,
                    int64_t *start, int64_t *step, int64_t *count);
int vg_pad_params(const vg_node_t *n, const vg_const_t *in, int nin, int nd, int64_t *pads);
int vg_reduce_axes(const vg_node_t *n, const vg_const_t *in, int nin, int nd, bool *red);

/* ops_ref.c: our own kernels on dense tensors (also used for folding);
 * return 0 or negative errno. Which op uses which: the table in ops.h. */
typedef int (*vg_ref_fn)(const vg_node_t *n, const vg_const_t *in, int nin, vg_const_t *out, int nout);

/* fuse.c */
int vg_eng_fuse(vg_engine_t *e);
int vg_eng_toposort(vg_engine_t *e);

/* plan.c */
int vg_eng_plan(vg_engine_t *e);
void vg_eng_plan_free(vg_engine_t *e);
int vg_root_of(const vg_graph_t *g, int v);

/* arena.c: liveness of the planned steps, placement in one arena (arena.h),
 * storage pointers bound into the steps */
int vg_eng_plan_memory(vg_engine_t *e);

#endif
