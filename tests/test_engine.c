/* Engine unit suite: every operator on a tiny graph against PyTorch, the bad
 * files table, API contract, batch override, .npy/.npz and the CLI.
 * Fixtures: tests/engine/make_fixtures.py --set unit (ctest fixture). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "models/engine/cli.h"
#include "test_engine_common.h"

Test(engine, ops_match_pytorch, .timeout = 120)
{
    char p[1200], msg[512], name[256];
    fx_path(p, sizeof(p), "manifest-unit", ".txt");
    FILE *f = fopen(p, "r");
    cr_assert_not_null(f, "no fixture manifest %s (run the engine_fixtures_unit test)", p);
    double tol;
    int n = 0, failed = 0;
    while (fscanf(f, "%255s %lf", name, &tol) == 2) {
        vg_engine_t *e = NULL;
        fx_path(p, sizeof(p), name, ".onnx");
        int r = vg_engine_load(p, NULL, &e, msg, sizeof(msg));
        cr_expect_eq(r, 0, "%s: load failed: %s", name, msg);
        if (r < 0) {
            failed++;
            continue;
        }
        n++;
        cr_assert_eq(fx_fill(e, name, msg, sizeof(msg)), 0, "%s", msg);
        cr_expect_eq(vg_engine_run(e), 0, "%s: run failed", name);
        double rel = fx_compare(e, name, msg, sizeof(msg));
        cr_expect(rel >= 0 && rel <= tol, "%s (tolerance %g, got %.3g)", msg, tol, rel);
        /* a second run on the same arena gives the same result */
        const vg_tensor_desc_t *d0 = vg_engine_output(e, 0);
        float *first = malloc(d0->count * sizeof(float) + 4);
        memcpy(first, vg_engine_output_buffer(e, 0), d0->count * sizeof(float));
        cr_expect_eq(vg_engine_run(e), 0);
        cr_expect(!memcmp(first, vg_engine_output_buffer(e, 0), d0->count * sizeof(float)), "%s: second run differs", name);
        free(first);
        failed += !(rel >= 0 && rel <= tol);
        vg_engine_free(&e);
        cr_expect_null(e);
    }
    fclose(f);
    cr_expect_geq(n, 70, "only %d operator cases ran", n);
    cr_expect_eq(failed, 0);
}

typedef struct {
    const char *file;
    int code;
    const char *msg;
} bad_case_t;

static const bad_case_t bad_cases[] = {
    {"truncated", -EINVAL, "not an ONNX model: protobuf parse failed (wrong file type, truncated or corrupt)"},
    {"wrong_magic", -EINVAL, "not an ONNX model: protobuf parse failed (wrong file type, truncated or corrupt)"},
    {"empty", -EINVAL, "not an ONNX model: file is 0 bytes"},
    {"unknown_op", -ENOTSUP, "node 'foo1': operator FooBar is not supported"},
    {"shape_mismatch", -EINVAL, "node 'add1' (Add): shape mismatch: cannot broadcast input 1 (dim 1 is 5, expected 3)"},
    {"conv_channels", -EINVAL, "node 'conv1' (Conv): shape mismatch: input has 3 channels, weight is 8x4x3x3, group 1"},
    {"absurd_size", -EFBIG, "initializer 'H': absurd size (more than 2^28 elements)"},
    {"absurd_input", -EFBIG, "graph input 'x': absurd size"},
    {"external_data", -ENOTSUP, "initializer 'E': external data is not supported (save the model with all tensors inside the file)"},
    {"missing_input", -EINVAL, "node 'add4' (Add): input 'nowhere' is not produced by any node, input or initializer"},
    {"bad_attr", -ENOTSUP, "node 'rs1' (Resize): mode 'cubic' is not supported (nearest, linear)"},
};

Test(engine, bad_files)
{
    char p[1200], msg[512];
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        snprintf(p, sizeof(p), "%s/bad/%s.onnx", fx_dir(), bad_cases[i].file);
        cr_assert(access(p, R_OK) == 0, "missing fixture %s", p);
        vg_engine_t *e = (vg_engine_t *)(uintptr_t)0x1; /* must stay untouched */
        int r = vg_engine_load(p, NULL, &e, msg, sizeof(msg));
        cr_expect_eq(r, bad_cases[i].code, "%s: returned %d, expected %d (%s)", bad_cases[i].file, r, bad_cases[i].code, msg);
        cr_expect_str_eq(msg, bad_cases[i].msg, "%s", bad_cases[i].file);
        cr_expect_eq((uintptr_t)e, 0x1, "%s: *ret touched on failure", bad_cases[i].file);
    }
    vg_engine_t *e = NULL;
    int r = vg_engine_load("/nonexistent/model.onnx", NULL, &e, msg, sizeof(msg));
    cr_expect_eq(r, -ENOENT);
    cr_expect_str_eq(msg, "cannot open '/nonexistent/model.onnx': No such file or directory");
    /* every prefix of a valid model either loads or fails cleanly */
    char good[1200];
    fx_path(good, sizeof(good), "conv_bn_relu", ".onnx");
    FILE *f = fopen(good, "rb");
    cr_assert_not_null(f);
    static uint8_t buf[1 << 16];
    size_t len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    snprintf(p, sizeof(p), "%s/bad/prefix.onnx", fx_dir());
    int loaded = 0;
    for (size_t cut = 0; cut < len; cut += 7) {
        f = fopen(p, "wb");
        fwrite(buf, 1, cut, f);
        fclose(f);
        e = NULL;
        r = vg_engine_load(p, NULL, &e, msg, sizeof(msg));
        cr_expect(r == 0 || (r < 0 && msg[0]), "prefix %zu: %d without a message", cut, r);
        loaded += r == 0;
        vg_engine_free(&e);
    }
    cr_expect_lt(loaded, 3, "truncated models should not load (%d did)", loaded);
}

Test(engine, api_contract)
{
    char p[1200], msg[256];
    vg_engine_t *e = NULL;
    fx_path(p, sizeof(p), "conv3x3", ".onnx");
    vg_engine_options_t bad = {.threads = 1, .precision = "int4"};
    cr_expect_eq(vg_engine_load(p, &bad, &e, msg, sizeof(msg)), -EINVAL);
    cr_expect_str_eq(msg, "precision 'int4' is not supported (fp32, bf16)");
    cr_assert_eq(vg_engine_load(p, NULL, &e, msg, sizeof(msg)), 0, "%s", msg);
    cr_expect_eq(vg_engine_n_inputs(e), 1);
    cr_expect_eq(vg_engine_n_outputs(e), 1);
    const vg_tensor_desc_t *d = vg_engine_input(e, 0);
    cr_expect_str_eq(d->name, "x0");
    cr_expect_eq(d->ndim, 4);
    cr_expect(d->dims[0] == 1 && d->dims[1] == 8 && d->dims[2] == 12 && d->dims[3] == 10);
    cr_expect_eq(d->count, 960);
    d = vg_engine_output(e, 0);
    cr_expect(d->dims[1] == 16 && d->dims[2] == 12 && d->dims[3] == 10);
    cr_expect_null(vg_engine_input(e, 1));
    cr_expect_null(vg_engine_output(e, -1));
    cr_expect_null(vg_engine_input_buffer(e, 3));
    cr_expect_null(vg_engine_output_buffer(e, 1));
    cr_expect_eq((uintptr_t)vg_engine_input_buffer(e, 0) % 64, 0);
    cr_expect_not_null(strstr(vg_engine_summary(e), "Conv=1"));
    cr_expect_eq(vg_engine_macs(e), 16.0 * 12 * 10 * 8 * 9); /* OC*OH*OW * IC*KH*KW */
    vg_engine_free(&e);
    cr_expect_null(e);
    vg_engine_free(&e);
    vg_engine_free(NULL);
}

Test(engine, batch_override)
{
    char p[1200], msg[256];
    vg_engine_t *e1 = NULL, *e3 = NULL;
    fx_path(p, sizeof(p), "conv_silu", ".onnx");
    vg_engine_options_t o3 = {.threads = 1, .batch = 3};
    cr_assert_eq(vg_engine_load(p, NULL, &e1, msg, sizeof(msg)), 0, "%s", msg);
    cr_assert_eq(vg_engine_load(p, &o3, &e3, msg, sizeof(msg)), 0, "%s", msg);
    cr_assert_eq(vg_engine_input(e3, 0)->dims[0], 3);
    cr_assert_eq(vg_engine_output(e3, 0)->dims[0], 3);
    cr_assert_eq(fx_fill(e1, "conv_silu", msg, sizeof(msg)), 0, "%s", msg);
    size_t n = vg_engine_input(e1, 0)->count, m = vg_engine_output(e1, 0)->count;
    for (int b = 0; b < 3; b++)
        for (size_t i = 0; i < n; i++)
            vg_engine_input_buffer(e3, 0)[b * n + i] = vg_engine_input_buffer(e1, 0)[i] * (float)(b + 1);
    cr_assert_eq(vg_engine_run(e1), 0);
    cr_assert_eq(vg_engine_run(e3), 0);
    const float *o1 = vg_engine_output_buffer(e1, 0), *o3b = vg_engine_output_buffer(e3, 0);
    for (size_t i = 0; i < m; i++)
        cr_assert_float_eq(o3b[i], o1[i], 1e-5, "batch item 0 differs at %zu", i);
    double rel = fx_compare(e1, "conv_silu", msg, sizeof(msg));
    cr_expect(rel >= 0 && rel <= 1e-4, "%s", msg);
    /* items 1 and 2 saw scaled inputs: they must differ from item 0 */
    cr_expect_neq(memcmp(o3b, o3b + m, m * sizeof(float)), 0);
    vg_engine_free(&e1);
    vg_engine_free(&e3);
}

Test(engine, npy_roundtrip)
{
    char p[1200], msg[256];
    float a[6] = {1, -2, 3.5f, 4, 5, 6}, b[2] = {7, 8};
    vg_npy_t arr[2] = {{"first", 2, {2, 3}, 6, a}, {"second/x", 1, {2}, 2, b}};
    snprintf(p, sizeof(p), "%s/rt.npz", fx_dir());
    cr_assert_eq(vg_npy_write(p, arr, 2, msg, sizeof(msg)), 0, "%s", msg);
    vg_npy_t *back = NULL;
    int n = 0;
    cr_assert_eq(vg_npy_read(p, &back, &n, msg, sizeof(msg)), 0, "%s", msg);
    cr_assert_eq(n, 2);
    cr_expect_str_eq(back[0].name, "first");
    cr_expect_str_eq(back[1].name, "second_x");
    cr_expect(back[0].ndim == 2 && back[0].dims[0] == 2 && back[0].dims[1] == 3);
    cr_expect(!memcmp(back[0].data, a, sizeof(a)) && !memcmp(back[1].data, b, sizeof(b)));
    vg_npy_free(back, n);
    snprintf(p, sizeof(p), "%s/rt.npy", fx_dir());
    cr_expect_eq(vg_npy_write(p, arr, 2, msg, sizeof(msg)), -EINVAL);
    cr_assert_eq(vg_npy_write(p, arr, 1, msg, sizeof(msg)), 0, "%s", msg);
    cr_assert_eq(vg_npy_read(p, &back, &n, msg, sizeof(msg)), 0, "%s", msg);
    cr_expect(n == 1 && back[0].count == 6 && back[0].data[2] == 3.5f);
    vg_npy_free(back, n);
}

Test(engine, cli_run_and_check)
{
    char model[1200], in[1200], out[1200], msg[256];
    fx_path(model, sizeof(model), "split", ".onnx");
    fx_path(in, sizeof(in), "split", ".in.npz");
    fx_path(out, sizeof(out), "split", ".cli.npz");
    char *argv[] = {"models", "run", model, "--input", in, "--output", out, NULL};
    cr_assert_eq(vg_models_cli_main(7, argv), 0);
    vg_npy_t *o = NULL, *r = NULL;
    int no = 0, nr = 0;
    char ref[1200];
    fx_path(ref, sizeof(ref), "split", ".ref.npz");
    cr_assert_eq(vg_npy_read(out, &o, &no, msg, sizeof(msg)), 0, "%s", msg);
    cr_assert_eq(vg_npy_read(ref, &r, &nr, msg, sizeof(msg)), 0, "%s", msg);
    cr_assert_eq(no, 3);
    cr_assert_eq(nr, 3);
    for (int i = 0; i < 3; i++) {
        cr_expect_str_eq(o[i].name, r[i].name);
        cr_assert_eq(o[i].count, r[i].count);
        for (size_t j = 0; j < o[i].count; j++)
            cr_expect_float_eq(o[i].data[j], r[i].data[j], 1e-6);
    }
    vg_npy_free(o, no);
    vg_npy_free(r, nr);
    char *argv2[] = {"models", "check", model, "--runs", "2", NULL};
    cr_expect_eq(vg_models_cli_main(5, argv2), 0);
    char *argv3[] = {"models", "frobnicate", model, NULL};
    cr_expect_eq(vg_models_cli_main(3, argv3), 2);
    char *argv4[] = {"models", "run", model, "--input", ref, "--output", out, NULL};
    cr_expect_eq(vg_models_cli_main(7, argv4), 1, "an npz without the input names must be refused");
}
