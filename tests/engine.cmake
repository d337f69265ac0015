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

  # its fuzz target (fuzz_onnx_loader) is in tests/fuzz.cmake
endif()
