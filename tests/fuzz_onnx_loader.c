/* libFuzzer target for the ONNX loader and planner (clang builds):
 * any byte string must load or fail with a message, never crash or leak.
 * Run: build/tests/fuzz_onnx_loader -max_total_time=60 build/engine-fixtures/ */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "models/engine/engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    vg_engine_t *e = NULL;
    int r = vg_engine_load_buffer(data, size, NULL, &e, err, sizeof(err));
    if (r == 0) {
        /* a loadable model must also run (small ones: a legit 1 GB graph
         * would only slow the fuzzer down) */
        if (vg_engine_arena_bytes(e) <= (8u << 20) && vg_engine_run(e) < 0)
            abort();
        vg_engine_free(&e);
    } else if (!err[0] || e) {
        abort();
    }
    return 0;
}
