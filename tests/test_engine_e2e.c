/* Engine network suite: torchvision mobilenet_v2 and resnet18 (seeded random
 * weights), YOLOv5/YOLOv8-style detectors and a NanoDet-like net against
 * PyTorch; the TF.js conversions in the cache (NanoDet, BlazeFace, emotion)
 * against OpenCV DNN; bf16 against fp32; 2 threads against 1.
 * Fixtures: tests/engine/make_fixtures.py --set e2e (ctest fixture). */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "test_engine_common.h"

static vg_engine_t *load_run(const char *name, const vg_engine_options_t *o)
{
    char p[1200], msg[512];
    vg_engine_t *e = NULL;
    fx_path(p, sizeof(p), name, ".onnx");
    int r = vg_engine_load(p, o, &e, msg, sizeof(msg));
    cr_assert_eq(r, 0, "%s: %s", name, msg);
    cr_assert_eq(fx_fill(e, name, msg, sizeof(msg)), 0, "%s", msg);
    cr_assert_eq(vg_engine_run(e), 0, "%s: run failed", name);
    return e;
}

Test(engine_e2e, networks_match_reference, .timeout = 600)
{
    char p[1200], msg[512], name[256];
    fx_path(p, sizeof(p), "manifest-e2e", ".txt");
    FILE *f = fopen(p, "r");
    cr_assert_not_null(f, "no fixture manifest %s", p);
    double tol;
    int n = 0;
    bool saw[3] = {false, false, false};
    while (fscanf(f, "%255s %lf", name, &tol) == 2) {
        vg_engine_t *e = load_run(name, NULL);
        double rel = fx_compare(e, name, msg, sizeof(msg));
        cr_expect(rel >= 0 && rel <= tol, "%s: %s (tolerance %g)", name, msg, tol);
        saw[0] |= !strcmp(name, "mobilenet_v2");
        saw[1] |= !strcmp(name, "resnet18");
        saw[2] |= !strcmp(name, "nanodet_like");
        vg_engine_free(&e);
        n++;
    }
    fclose(f);
    cr_expect(saw[0] && saw[1] && saw[2], "mobilenet_v2, resnet18 and nanodet_like must all be in the manifest");
}

/* The NanoDet of the next issue, if models/convert/ has put it in the cache. */
Test(engine_e2e, cache_nanodet_shapes)
{
    char p[1200], msg[512];
    const char *c = getenv("VIGIL_CACHE_DIR");
    snprintf(p, sizeof(p), "%s/models/nanodet.onnx", c ? c : VIGIL_CACHE_DIR);
    FILE *f = fopen(p, "rb");
    if (!f) {
        cr_skip_test("no %s yet", p);
        return;
    }
    fclose(f);
    vg_engine_t *e = NULL;
    cr_assert_eq(vg_engine_load(p, NULL, &e, msg, sizeof(msg)), 0, "%s", msg);
    static const int64_t want[6][2] = {{2704, 80}, {2704, 44}, {676, 80}, {676, 44}, {169, 80}, {169, 44}};
    cr_assert_eq(vg_engine_n_outputs(e), 6);
    const vg_tensor_desc_t *in = vg_engine_input(e, 0);
    cr_expect(in->ndim == 4 && in->dims[1] == 3 && in->dims[2] == 416 && in->dims[3] == 416);
    for (int i = 0; i < 6; i++) {
        const vg_tensor_desc_t *d = vg_engine_output(e, i);
        cr_expect(d->ndim == 3 && d->dims[0] == 1 && d->dims[1] == want[i][0] && d->dims[2] == want[i][1],
                  "output %d (%s) is %lldx%lldx%lld", i, d->name, (long long)d->dims[0], (long long)d->dims[1], (long long)d->dims[2]);
    }
    vg_engine_free(&e);
}

static double max_rel_diff(const vg_engine_t *a, const vg_engine_t *b)
{
    double worst = 0;
    for (int i = 0; i < vg_engine_n_outputs(a); i++) {
        const float *x = vg_engine_output_buffer(a, i), *y = vg_engine_output_buffer(b, i);
        size_t n = vg_engine_output(a, i)->count;
        double err = 0, mx = 0;
        for (size_t j = 0; j < n; j++) {
            double d = fabs((double)x[j] - y[j]);
            if (!(d <= err))
                err = isnan(d) ? INFINITY : d;
            mx = fmax(mx, fabs((double)x[j]));
        }
        worst = fmax(worst, err / (mx > 0 ? mx : 1e-30));
    }
    return worst;
}

/* bf16 convolutions on AMX stay within 1e-2 (of max |fp32 output|) of fp32. */
Test(engine_e2e, bf16_close_to_fp32, .timeout = 300)
{
    static const char *nets[] = {"mobilenet_v2", "resnet18", "nanodet_like", "yolov8_tiny"};
    for (size_t i = 0; i < sizeof(nets) / sizeof(nets[0]); i++) {
        vg_engine_options_t o32 = {.threads = 1, .precision = "fp32"}, o16 = {.threads = 1, .precision = "bf16"};
        vg_engine_t *a = load_run(nets[i], &o32), *b = load_run(nets[i], &o16);
        double d = max_rel_diff(a, b);
        cr_expect(d <= 1e-2, "%s: bf16 differs from fp32 by %.3g of max |out|", nets[i], d);
        cr_expect(d > 0, "%s: bf16 gave bit-identical outputs: was it applied?", nets[i]);
        cr_expect_not_null(strstr(vg_engine_summary(b), "bf16"));
        vg_engine_free(&a);
        vg_engine_free(&b);
    }
}

Test(engine_e2e, two_threads_match_one, .timeout = 300)
{
    vg_engine_options_t o1 = {.threads = 1}, o2 = {.threads = 2};
    vg_engine_t *a = load_run("resnet18", &o1), *b = load_run("resnet18", &o2);
    double d = max_rel_diff(a, b);
    cr_expect(d <= 1e-5, "2 threads differ from 1 by %.3g", d);
    /* runs alternate between instances with different thread counts */
    cr_assert_eq(vg_engine_run(a), 0);
    cr_assert_eq(vg_engine_run(b), 0);
    cr_expect(max_rel_diff(a, b) <= 1e-5);
    vg_engine_free(&a);
    vg_engine_free(&b);
}

/* A model exported or converted at batch 1 re-planned for batch 4 (the
 * daemon batches cameras): item k of the batch equals a batch-1 run on
 * input k, for 4 different inputs. */
static void check_batch4(const char *name)
{
    char p[1200], msg[512];
    fx_path(p, sizeof(p), name, ".onnx");
    vg_engine_options_t o1 = {.threads = 1}, o4 = {.threads = 1, .batch = 4};
    vg_engine_t *e1 = NULL, *e4 = NULL;
    cr_assert_eq(vg_engine_load(p, &o1, &e1, msg, sizeof(msg)), 0, "%s: %s", name, msg);
    cr_assert_eq(vg_engine_load(p, &o4, &e4, msg, sizeof(msg)), 0, "%s at batch 4: %s", name, msg);
    cr_assert_eq(fx_fill(e1, name, msg, sizeof(msg)), 0, "%s", msg);
    size_t n = vg_engine_input(e1, 0)->count;
    float *base = malloc(n * sizeof(float));
    memcpy(base, vg_engine_input_buffer(e1, 0), n * sizeof(float));
    for (int k = 0; k < 4; k++)
        for (size_t i = 0; i < n; i++)
            vg_engine_input_buffer(e4, 0)[k * n + i] = k ? base[(i * 7 + k * 131) % n] : base[i];
    cr_assert_eq(vg_engine_run(e4), 0);
    for (int k = 0; k < 4; k++) {
        memcpy(vg_engine_input_buffer(e1, 0), vg_engine_input_buffer(e4, 0) + k * n, n * sizeof(float));
        cr_assert_eq(vg_engine_run(e1), 0);
        for (int o = 0; o < vg_engine_n_outputs(e1); o++) {
            size_t m = vg_engine_output(e1, o)->count;
            cr_assert_eq(vg_engine_output(e4, o)->count, 4 * m);
            const float *a = vg_engine_output_buffer(e1, o), *b = vg_engine_output_buffer(e4, o) + k * m;
            double err = 0, mx = 0;
            for (size_t i = 0; i < m; i++) {
                err = fmax(err, fabs((double)a[i] - b[i]));
                mx = fmax(mx, fabs((double)a[i]));
            }
            cr_expect(err <= 1e-4 * mx, "%s item %d output %d: err %.3g of max %.3g", name, k, o, err, mx);
        }
    }
    free(base);
    vg_engine_free(&e1);
    vg_engine_free(&e4);
}

Test(engine_e2e, batch4_replans_batch1_models, .timeout = 300)
{
    check_batch4("nanodet_like");
    check_batch4("yolov8_tiny");
    char p[1200];
    fx_path(p, sizeof(p), "cache_nanodet", ".onnx");
    if (access(p, R_OK) == 0)
        check_batch4("cache_nanodet");
}

/* Two instances run concurrently on two threads (the daemon may run several
 * models): each keeps producing exactly its single-threaded result. */
typedef struct {
    vg_engine_t *e;
    int bad;
} conc_t;

static void *conc_run(void *arg)
{
    conc_t *c = arg;
    const vg_tensor_desc_t *d = vg_engine_output(c->e, 0);
    float *first = malloc(d->count * sizeof(float));
    memcpy(first, vg_engine_output_buffer(c->e, 0), d->count * sizeof(float));
    for (int i = 0; i < 10; i++)
        if (vg_engine_run(c->e) < 0 || memcmp(first, vg_engine_output_buffer(c->e, 0), d->count * sizeof(float)))
            c->bad++;
    free(first);
    return NULL;
}

Test(engine_e2e, instances_on_two_threads, .timeout = 300)
{
    vg_engine_options_t o = {.threads = 1};
    conc_t c[2] = {{load_run("mobilenet_v2", &o), 0}, {load_run("nanodet_like", &o), 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, conc_run, &c[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    cr_expect_eq(c[0].bad, 0, "mobilenet_v2 changed while nanodet_like ran beside it");
    cr_expect_eq(c[1].bad, 0, "nanodet_like changed while mobilenet_v2 ran beside it");
    char msg[512];
    double r0 = fx_compare(c[0].e, "mobilenet_v2", msg, sizeof(msg));
    cr_expect(r0 >= 0 && r0 <= 1e-4, "%s", msg);
    double r1 = fx_compare(c[1].e, "nanodet_like", msg, sizeof(msg));
    cr_expect(r1 >= 0 && r1 <= 1e-4, "%s", msg);
    vg_engine_free(&c[0].e);
    vg_engine_free(&c[1].e);
}

/* Steady state: our own steps allocate nothing, and oneDNN's per-call
 * argument map (dnnl_primitive_execute builds a std::unordered_map of its
 * arguments on every call in 2.6: one small node per argument) is freed
 * within the call, the same number each run. malloc and friends are
 * interposed here and counted while vg_engine_run() executes (not under ASan,
 * which owns malloc). */
#if !defined(__SANITIZE_ADDRESS__)
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);
/* relaxed: the test thread flips `counting` between runs; 1-thread runs */
static atomic_int counting, allocs, frees;

#define COUNT(c) do { if (atomic_load_explicit(&counting, memory_order_relaxed)) \
        atomic_fetch_add_explicit(&c, 1, memory_order_relaxed); } while (0)

void *malloc(size_t n) { COUNT(allocs); return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { COUNT(allocs); return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { COUNT(allocs); return __libc_realloc(p, n); }
void *aligned_alloc(size_t a, size_t n) { COUNT(allocs); return __libc_memalign(a, n); }
void free(void *p) { if (p) COUNT(frees); __libc_free(p); }
int posix_memalign(void **p, size_t a, size_t n)
{
    COUNT(allocs);
    *p = __libc_memalign(a, n);
    return *p ? 0 : ENOMEM;
}

Test(engine_e2e, run_allocation_steady, .timeout = 300)
{
    static const char *nets[] = {"mobilenet_v2", "yolov5_tiny", "nanodet_like"};
    for (size_t i = 0; i < sizeof(nets) / sizeof(nets[0]); i++) {
        for (int bf = 0; bf < 2; bf++) {
            vg_engine_options_t o = {.threads = 1, .precision = bf ? "bf16" : "fp32"};
            vg_engine_t *e = load_run(nets[i], &o);
            int steps = 0;
            const char *s = strstr(vg_engine_summary(e), "steps: ");
            cr_assert(s && sscanf(s, "steps: %d", &steps) == 1 && steps > 10);
            atomic_store(&allocs, 0);
            atomic_store(&counting, 1);
            void *(*volatile m)(size_t) = malloc; /* not elided: the counter itself works */
            void *x = m(16);
            atomic_store(&counting, 0);
            free(x);
            cr_assert_eq(atomic_load(&allocs), 1);
            int per_run[3];
            for (int k = 0; k < 3; k++) {
                atomic_store(&allocs, 0);
                atomic_store(&frees, 0);
                atomic_store(&counting, 1);
                int r = vg_engine_run(e);
                atomic_store(&counting, 0);
                cr_expect_eq(r, 0);
                per_run[k] = atomic_load(&allocs);
                cr_expect_eq(atomic_load(&frees), per_run[k], "%s %s: %d allocations but %d frees in a run",
                             nets[i], o.precision, per_run[k], atomic_load(&frees));
            }
            cr_expect(per_run[0] == per_run[1] && per_run[1] == per_run[2], "%s %s: %d/%d/%d allocations per run",
                      nets[i], o.precision, per_run[0], per_run[1], per_run[2]);
            /* at most the argument map of each oneDNN call (<= 8 args + buckets) */
            cr_expect_leq(per_run[0], 9 * steps, "%s %s: %d allocations for %d steps", nets[i], o.precision, per_run[0], steps);
            vg_engine_free(&e);
        }
    }
}
#endif
