# Fuzz targets (libFuzzer; clang builds only): the config parser, the ONNX
# loader/planner/executor, the control socket's request parser. Each is built
# with ASan+UBSan (UB aborts) and, under ctest (label "fuzz"), replays its
# committed seed corpus in tests/fuzz/corpus/ and then mutates for a fixed
# number of runs (count-bound, seeded: the same inputs every time, a few
# seconds each), so that a regression, e.g. issue 10 item 13's overflows in
# the engine, fails the test command. New inputs land in the build folder,
# never in the source tree. scripts/test.sh builds them with clang in
# build-fuzz; long runs: scripts/fuzz.sh TARGET SECONDS.
if(CMAKE_C_COMPILER_ID MATCHES "Clang")
  set(vg_fuzz_flags -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -g -O1)
  set(vg_fuzz_seeds ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus)

  # vg_add_fuzz(NAME RUNS N ARGS ... SEEDS dir...)
  function(vg_add_fuzz name)
    cmake_parse_arguments(F "" "RUNS" "ARGS;SEEDS" ${ARGN})
    target_compile_options(${name} PRIVATE ${vg_fuzz_flags})
    target_link_options(${name} PRIVATE ${vg_fuzz_flags})
    set(out ${CMAKE_BINARY_DIR}/fuzz-corpus/${name})
    string(REPLACE ";" " " args "${F_ARGS}")
    string(REPLACE ";" " " seeds "${F_SEEDS}")
    add_test(NAME ${name} COMMAND /bin/sh -c
      "rm -rf '${out}' && mkdir -p '${out}' && exec \"$0\" -runs=${F_RUNS} -seed=1 ${args} '${out}' ${seeds}"
      $<TARGET_FILE:${name}>)
    set_tests_properties(${name} PROPERTIES LABELS "fuzz" TIMEOUT 120
      ENVIRONMENT "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1;ASAN_OPTIONS=detect_leaks=1")
  endfunction()

  # config*.c are compiled in so that the coverage instrumentation sees them
  add_executable(fuzz_config fuzz/fuzz_config.c ${CMAKE_SOURCE_DIR}/daemon/config.c
                 ${CMAKE_SOURCE_DIR}/daemon/config_doc.c ${CMAKE_SOURCE_DIR}/daemon/config_schema.c
                 ${CMAKE_SOURCE_DIR}/daemon/config_yaml.c ${CMAKE_SOURCE_DIR}/pipeline/zones.c)
  target_link_libraries(fuzz_config PRIVATE PkgConfig::YAML)
  vg_add_fuzz(fuzz_config RUNS 20000 ARGS -max_len=4096 -dict=${CMAKE_CURRENT_SOURCE_DIR}/fuzz/config.dict
              SEEDS ${vg_fuzz_seeds}/config)

  add_executable(fuzz_control fuzz/fuzz_control.c ${CMAKE_SOURCE_DIR}/daemon/control.c)
  vg_add_fuzz(fuzz_control RUNS 200000 ARGS -max_len=128 SEEDS ${vg_fuzz_seeds}/control)

  if(TARGET vigil_models AND EXISTS ${CMAKE_SOURCE_DIR}/models/engine/engine.h)
    find_package(OpenMP REQUIRED COMPONENTS C)
    set_source_files_properties(${VG_ENGINE_PB_DIR}/onnx.pb-c.c PROPERTIES COMPILE_OPTIONS "-w" GENERATED TRUE)
    add_executable(fuzz_onnx_loader fuzz_onnx_loader.c ${VG_ENGINE_CORE_SOURCES})
    add_dependencies(fuzz_onnx_loader vg_onnx_pb)
    target_include_directories(fuzz_onnx_loader PRIVATE ${VG_ENGINE_PB_DIR} ${VG_DNNL_INCLUDE})
    target_link_libraries(fuzz_onnx_loader PRIVATE ${VG_DNNL_LIB} PkgConfig::PROTOBUF_C OpenMP::OpenMP_C m)
    # seeds: the small operator graphs and the hand-made hostile ones
    # (tests/fuzz/make_onnx_seeds.py)
    vg_add_fuzz(fuzz_onnx_loader RUNS 3000 ARGS -max_len=65536 -rss_limit_mb=4096 SEEDS ${vg_fuzz_seeds}/onnx)
  endif()
endif()
