/*
 * vigil train classifier DATASET -o model.onnx [...]: runs the trainer
 * (tools/train_classifier.py, Debian's PyTorch under /usr/bin/python3) with
 * the path of vigil's augment library, which it calls through ctypes.
 * The script comes from the source tree when this vigil was built there
 * and it still exists, else from <prefix>/share/vigil; $VIGIL_TRAIN_SCRIPT
 * and $VIGIL_AUGMENT_LIB override both.
 * Thread: main; replaces the process (execv).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int vg_cli_train(int argc, char **argv);

static const char *first_readable(const char *env, const char *const *paths)
{
    const char *e = getenv(env);
    if (e && *e)
        return e;
    for (; *paths; paths++)
        if (access(*paths, R_OK) == 0)
            return *paths;
    return NULL;
}

int vg_cli_train(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "classifier") != 0) {
        bool help = argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));
        fprintf(help ? stdout : stderr,
                "usage: vigil train classifier DATASET -o model.onnx [--epochs N] [--amplify R]\n"
                "                              [--input 64x64] [--colour rgb|gray] [--seed N] [--val F]\n"
                "  DATASET/LABEL/*.jpg (vigil dataset export's imagefolder) -> model.onnx, model.json\n"
                "  (manifest) and model.txt (labels) for cameras.X.classify. `vigil train classifier\n"
                "  --help` lists every option.\n");
        return help ? 0 : 2;
    }
    static const char *const scripts[] = {VIGIL_SOURCE_DIR "/tools/train_classifier.py",
                                          VIGIL_DATA_DIR "/train_classifier.py", NULL};
    static const char *const libs[] = {VIGIL_AUGMENT_LIB_BUILD, VIGIL_AUGMENT_LIB_INSTALLED, NULL};
    const char *script = first_readable("VIGIL_TRAIN_SCRIPT", scripts);
    const char *lib = first_readable("VIGIL_AUGMENT_LIB", libs);
    if (!script) {
        fprintf(stderr, "vigil train: the trainer (train_classifier.py) is not installed in %s\n", VIGIL_DATA_DIR);
        return 1;
    }
    if (access("/usr/bin/python3", X_OK) != 0) {
        fprintf(stderr, "vigil train: /usr/bin/python3 is missing (apt install python3-torch)\n");
        return 1;
    }
    char **av = calloc((size_t)argc + 4, sizeof(*av));
    if (!av)
        return 1;
    int k = 0;
    av[k++] = "/usr/bin/python3";
    av[k++] = (char *)script;
    for (int i = 2; i < argc; i++)
        av[k++] = argv[i];
    if (lib) {
        av[k++] = "--augment-lib";
        av[k++] = (char *)lib;
    }
    av[k] = NULL;
    execv(av[0], av);
    fprintf(stderr, "vigil train: cannot run /usr/bin/python3: %s\n", strerror(errno));
    free(av);
    return 1;
}
