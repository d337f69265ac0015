/*
 * check: what `vigild --check-config` verifies beyond the parse, so that a
 * config it passes also starts and detects: the endpoints can be bound (an
 * ipc:// folder exists, a port is free), the metrics address can listen, the
 * CURVE key pair reads and its clients folder exists, and
 * every model file exists, loads as ONNX in vigil's engine and agrees with
 * its manifest. Errors are one line, "file:line: key: what is wrong".
 * Owns: nothing it keeps (it binds and loads, then lets go).
 * Thread: main. Blocks on: file reads, a model load (seconds at most).
 */
#ifndef VG_CHECK_H
#define VG_CHECK_H

#include <stddef.h>
#include <stdio.h>

#include "daemon/config.h"

/* Checks cfg as described above. Returns 0, or a negative errno with the
 * first problem in err. Notes that are not errors (a model without a
 * manifest) go to notes, one line each, when notes is not NULL.
 * Thread: main. */
int vg_check_config(const vg_config_t *cfg, FILE *notes, char *err, size_t errlen);

#endif
