# Inference engine suites (models/engine). Fixtures are generated at test time
# by tests/engine/make_fixtures.py into the build dir (PyTorch references;
# OpenCV DNN for the TF.js conversions in the cache); a stamp skips the work
# when the script has not changed.
if(TARGET vigil_models AND EXISTS ${CMAKE_SOURCE_DIR}/models/engine/engine.h)
  set(vg_engine_fx ${CMAKE_BINARY_DIR}/engine-fixtures)
  foreach(set unit e2e)
    add_test(NAME engine_fixtures_${set}
      COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/engine/make_fixtures.py --out ${vg_engine_fx} --set ${set})
    set_tests_properties(engine_fixtures_${set} PROPERTIES FIXTURES_SETUP engine_fx_${set} LABELS "${set}" TIMEOUT 300
      ENVIRONMENT "VIGIL_CACHE_DIR=${VIGIL_CACHE_DIR};OMP_NUM_THREADS=1")
  endforeach()

  vg_add_test(test_engine SOURCES test_engine.c LIBS vigil_models LABELS unit TIMEOUT 300)
  set_tests_properties(test_engine PROPERTIES FIXTURES_REQUIRED engine_fx_unit)
  # The arena placement alone (synthetic lifetimes) and on real models' plans.
  vg_add_test(test_engine_arena SOURCES test_engine_arena.c LIBS vigil_models LABELS unit TIMEOUT 120)
  # Models with sizes chosen to overflow (built in memory with the loader's
  # protobuf-c bindings): run under ASan+UBSan with the unit label.
  vg_add_test(test_engine_hostile SOURCES test_engine_hostile.c LIBS vigil_models LABELS unit TIMEOUT 60)
  add_dependencies(test_engine_hostile vg_onnx_pb)
  target_include_directories(test_engine_hostile PRIVATE ${VG_ENGINE_PB_DIR})
  vg_add_test(test_engine_e2e SOURCES test_engine_e2e.c LIBS vigil_models LABELS e2e TIMEOUT 900)
  set_tests_properties(test_engine_e2e PROPERTIES FIXTURES_REQUIRED engine_fx_e2e)

  # libFuzzer target for the loader, planner and executor (clang builds): the
  # engine sources are compiled into it with coverage. Count-bound under ctest
  # (seeded from the small operator graphs and the bad files); long runs:
  #   build/tests/fuzz_onnx_loader -max_total_time=600 build/engine-fixtures/corpus
  if(CMAKE_C_COMPILER_ID MATCHES "Clang")
    find_package(OpenMP REQUIRED COMPONENTS C)
    set_source_files_properties(${VG_ENGINE_PB_DIR}/onnx.pb-c.c PROPERTIES COMPILE_OPTIONS "-w" GENERATED TRUE)
    add_executable(fuzz_onnx_loader fuzz_onnx_loader.c ${VG_ENGINE_CORE_SOURCES})
    add_dependencies(fuzz_onnx_loader vg_onnx_pb)
    target_include_directories(fuzz_onnx_loader PRIVATE ${VG_ENGINE_PB_DIR} ${VG_DNNL_INCLUDE})
    target_compile_options(fuzz_onnx_loader PRIVATE -fsanitize=fuzzer)
    target_link_options(fuzz_onnx_loader PRIVATE -fsanitize=fuzzer)
    target_link_libraries(fuzz_onnx_loader PRIVATE ${VG_DNNL_LIB} PkgConfig::PROTOBUF_C OpenMP::OpenMP_C m)
    add_test(NAME fuzz_onnx_loader COMMAND fuzz_onnx_loader -runs=2000 -seed=1 -max_len=65536 -rss_limit_mb=4096
             ${vg_engine_fx}/corpus)
    set_tests_properties(fuzz_onnx_loader PROPERTIES FIXTURES_REQUIRED engine_fx_unit LABELS "unit" TIMEOUT 300)
  endif()
endif()
