# daemon/config*.c: YAML configuration, schema, errors, docs/config.md drift check.
vg_add_test(test_config SOURCES test_config.c LIBS vigil_config LABELS unit TIMEOUT 60)

# Its fuzz target (fuzz_config) is in tests/fuzz.cmake.
