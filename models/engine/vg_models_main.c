/* vg-models: stand-alone driver for `vigil models ...` (handy for tests). */
#include "models/engine/cli.h"

int main(int argc, char **argv)
{
    argv[0] = "models";
    return vg_models_cli_main(argc, argv);
}
