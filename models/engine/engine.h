/*
 * vigil inference engine: runs an ONNX CNN on the CPU.
 *
 * Loads an ONNX file (protobuf-c bindings generated from Debian's onnx.proto),
 * plans it once for a fixed input size and batch (topological order, static
 * shapes, constant folding, BatchNorm folded into Conv, Conv + bias +
 * activation + residual Add fused as oneDNN post-ops, one memory arena per
 * instance with buffers reused by liveness) and runs it: the heavy operators
 * on oneDNN 2.6 primitives created at load time (activations stay in
 * oneDNN's channels-last layout between layers, weights are reordered once),
 * the light shape operators on our own code. Nothing is allocated by
 * vg_engine_run().
 *
 * Owns: the model weights (packed for oneDNN), the primitives, the arena, one
 * dense input buffer per graph input and one dense output buffer per output.
 *
 * Thread contract: one engine instance is used by one thread at a time
 * (load, run and free may happen on different threads if the caller
 * serializes them). Different instances may run concurrently on different
 * threads. Debian's libdnnl uses OpenMP (libgomp); vg_engine_run() calls
 * omp_set_num_threads(options.threads) on the calling thread before running,
 * which sets the OpenMP thread count for that calling thread only, so two
 * instances on two threads may use different counts. Default 1 thread.
 *
 * May block on: nothing but computation (and file I/O in vg_engine_load()).
 */
#ifndef VG_ENGINE_H
#define VG_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#define VG_ENGINE_MAX_DIMS 8

typedef struct vg_engine vg_engine_t;

typedef enum {
    VG_ENGINE_FLOAT32 = 1, /* the only element type at the API */
} vg_engine_dtype_t;

typedef struct {
    const char *name;               /* ONNX value name, owned by the engine */
    int ndim;                       /* number of dimensions */
    int64_t dims[VG_ENGINE_MAX_DIMS]; /* static dims, batch first as in the ONNX graph */
    vg_engine_dtype_t dtype;        /* always VG_ENGINE_FLOAT32 */
    size_t count;                   /* number of elements (product of dims) */
} vg_tensor_desc_t;

typedef struct {
    int threads;           /* oneDNN (OpenMP) threads per run; <= 0 means 1 */
    int batch;             /* batch size when the model's batch dim is symbolic
                              or to override a fixed one; <= 0 keeps the file's
                              (symbolic dims then become 1). Re-planning treats a
                              leading dim equal to the file's batch in Reshape
                              shapes and Resize sizes as the batch. */
    const char *precision; /* "fp32" (default when NULL) or "bf16": convolutions
                              and matrix products in bf16 (AMX where available),
                              weights converted at load, fp32 at the outputs */
} vg_engine_options_t;

/* Loads and plans the model at `path`. `opt` may be NULL (defaults).
 * On success returns 0 and sets *ret (caller frees with vg_engine_free()).
 * On failure returns a negative errno and, if err != NULL, writes one clear
 * message (naming node and operator where one is at fault) into err;
 * *ret is left untouched. Errors: -ENOENT/-EACCES (file), -EINVAL (malformed
 * file, bad attribute or shape), -ENOTSUP (unsupported operator, attribute
 * value or data type, external data), -EFBIG (absurd sizes), -ENOMEM.
 * Thread: any; the returned instance is then used by one thread at a time. */
int vg_engine_load(const char *path, const vg_engine_options_t *opt,
                   vg_engine_t **ret, char *err, size_t errlen);

/* Same as vg_engine_load() on a model already in memory (borrowed; not
 * referenced after the call). */
int vg_engine_load_buffer(const void *buf, size_t len, const vg_engine_options_t *opt,
                          vg_engine_t **ret, char *err, size_t errlen);

/* Frees the engine and everything it owns; accepts NULL and *p == NULL;
 * sets *p = NULL. */
void vg_engine_free(vg_engine_t **p);

int vg_engine_n_inputs(const vg_engine_t *e);
int vg_engine_n_outputs(const vg_engine_t *e);
/* Descriptors are owned by the engine and valid until vg_engine_free(). */
const vg_tensor_desc_t *vg_engine_input(const vg_engine_t *e, int i);
const vg_tensor_desc_t *vg_engine_output(const vg_engine_t *e, int i);

/* The dense float32 buffer (ONNX layout, e.g. NCHW) the caller fills before
 * vg_engine_run(); owned by the engine, same address for its whole life,
 * 64-byte aligned. Returns NULL if i is out of range. */
float *vg_engine_input_buffer(vg_engine_t *e, int i);

/* Runs the graph on the current input buffers. Returns 0 or a negative errno
 * (-EIO if oneDNN fails at run time). Allocates nothing.
 * Thread: the one thread currently using `e`. */
int vg_engine_run(vg_engine_t *e);

/* Dense float32 output (ONNX layout), valid after vg_engine_run() until the
 * next run; owned by the engine. Returns NULL if i is out of range. */
const float *vg_engine_output_buffer(const vg_engine_t *e, int i);

/* A short human-readable summary of the plan (op counts, fusions, arena
 * size, kernels). Owned by the engine. */
const char *vg_engine_summary(const vg_engine_t *e);

/* Runs the graph once, timing every step, and calls cb(ctx, op, name,
 * kernel, ms) per step in order (op is the ONNX operator plus what was fused,
 * or "Reorder"). For profiling tools, not for the hot path.
 * Thread: the one thread currently using `e`. */
int vg_engine_profile(vg_engine_t *e,
                      void (*cb)(void *ctx, const char *op, const char *name, const char *kernel, double ms),
                      void *ctx);

/* Bytes of the activation arena. */
size_t vg_engine_arena_bytes(const vg_engine_t *e);

/* Bytes the instance holds for a run: the arena, the scratchpad and the
 * packed weights (not oneDNN's generated code, a few MB per model). */
size_t vg_engine_memory_bytes(const vg_engine_t *e);

/* Multiply-accumulates of one run (convolutions and matrix products),
 * for GFLOP/s figures (GFLOP = 2 * MAC / 1e9). */
double vg_engine_macs(const vg_engine_t *e);

#endif
