/*
 * `vigil models check|run`: load an ONNX model and report on it, or run it
 * on NumPy tensors. argv[0] is "models". Returns a process exit code
 * (0 ok, 1 failure, 2 usage). Prints to stdout/stderr.
 * Thread: the calling (main) thread.
 */
#ifndef VG_MODELS_CLI_H
#define VG_MODELS_CLI_H

int vg_models_cli_main(int argc, char **argv);

#endif
