/* libFuzzer target for vg_config_parse: any input must give either a config or
 * one error line, never a crash, a leak or undefined behaviour.
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -D_GNU_SOURCE \
 *     tests/fuzz/fuzz_config.c daemon/config*.c -lyaml -o fuzz_config
 *   ./fuzz_config -dict=tests/fuzz/config.dict CORPUS etc/  (seeds: etc/vigil.yaml)
 * Built by tests/config.cmake when the compiler is clang (target fuzz_config). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    vg_config_t *cfg = NULL;
    char err[VG_CONFIG_ERROR_MAX];
    err[0] = 'x';
    int r = vg_config_parse("fuzz.yaml", (const char *)data, size, err, sizeof err, &cfg);
    if (r == 0) {
        if (!cfg || cfg->n_cameras < 0 || cfg->n_cameras > VG_CONFIG_MAX_CAMERAS ||
            cfg->n_models < 0 || cfg->n_models > VG_CONFIG_MAX_MODELS)
            abort();
        for (int i = 0; i < cfg->n_cameras; i++) {
            if (!cfg->cameras[i].url || !vg_camera_config_equal(&cfg->cameras[i], &cfg->cameras[i]))
                abort();
            if (cfg->cameras[i].detect_model[0] &&
                !vg_config_find_model(cfg, cfg->cameras[i].detect_model))
                abort();
        }
        vg_config_free(&cfg);
    } else {
        /* one line that starts with the file name */
        if (cfg || strncmp(err, "fuzz.yaml", 9) != 0 || strchr(err, '\n'))
            abort();
    }
    return 0;
}
