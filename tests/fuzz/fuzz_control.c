/* libFuzzer target for the control socket's request parser
 * (daemon/control.c): any bytes must parse or be refused with a reason,
 * never crash, and what parses must say the same thing written back.
 * ctest replays tests/fuzz/corpus/control for a fixed count; long runs:
 *   scripts/fuzz.sh control 600 */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vg_control_request_t r, again;
    char why[128] = "";
    if (vg_control_parse((const char *)data, size, &r, why, sizeof(why)) < 0) {
        if (!why[0])
            abort(); /* a refusal always says why */
        return 0;
    }
    char text[128];
    int n = r.kind == VG_CONTROL_STATUS ? snprintf(text, sizeof(text), "status")
                                        : snprintf(text, sizeof(text), "since %s %" PRIu64, r.camera, r.seq);
    if (r.kind == VG_CONTROL_SINCE && (!r.camera[0] || strlen(r.camera) > 63))
        abort();
    if (vg_control_parse(text, (size_t)n, &again, why, sizeof(why)) < 0 || again.kind != r.kind ||
        strcmp(again.camera, r.camera) != 0 || again.seq != r.seq)
        abort();
    return 0;
}
