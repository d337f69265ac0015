/* Keeps vigil_models a valid library before any module lands in it. */
const char *vg_models_version(void);
const char *vg_models_version(void) { return VIGIL_VERSION; }
