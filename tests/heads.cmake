# Head decoders (models/heads): fixed raw outputs, NMS edge cases, mapping.
vg_add_test(test_heads SOURCES test_heads.c LIBS vigil_models LABELS unit TIMEOUT 60)
