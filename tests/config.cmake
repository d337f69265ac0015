# daemon/config*.c: YAML configuration, schema, errors, docs/config.md drift check.
vg_add_test(test_config SOURCES test_config.c LIBS vigil_config LABELS unit TIMEOUT 60)

# Fuzz target for vg_config_parse (clang builds only: libFuzzer). config*.c are
# compiled into it so that libFuzzer's coverage instrumentation sees the parser.
# The ctest entry replays a fixed number of inputs from the example config
# (count-bound, not time-bound); long runs: see tests/fuzz/fuzz_config.c.
if(CMAKE_C_COMPILER_ID MATCHES "Clang")
  add_executable(fuzz_config fuzz/fuzz_config.c ${CMAKE_SOURCE_DIR}/daemon/config.c
                 ${CMAKE_SOURCE_DIR}/daemon/config_doc.c ${CMAKE_SOURCE_DIR}/daemon/config_schema.c
                 ${CMAKE_SOURCE_DIR}/daemon/config_yaml.c)
  target_compile_options(fuzz_config PRIVATE -fsanitize=fuzzer)
  target_link_options(fuzz_config PRIVATE -fsanitize=fuzzer)
  target_link_libraries(fuzz_config PRIVATE PkgConfig::YAML)
  add_test(NAME fuzz_config COMMAND fuzz_config -runs=20000 -seed=1 -max_len=4096
           -dict=${CMAKE_CURRENT_SOURCE_DIR}/fuzz/config.dict ${CMAKE_SOURCE_DIR}/etc/vigil.yaml)
  set_tests_properties(fuzz_config PROPERTIES LABELS unit TIMEOUT 120)
endif()
