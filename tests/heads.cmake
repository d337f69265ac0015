# Head decoders (models/heads): one Criterion suite file, two ctest entries.
#   test_heads       suite heads: fixed raw outputs, NMS edge cases, mapping,
#                    manifests, labels (unit: also under ASan+UBSan)
#   test_heads_real  suite heads_real: the C heads on the raw outputs of the
#                    converted models on real images, against a numpy decoder
#                    (e2e: needs the cache; its fixture runs the models first,
#                    on vigil's engine when the build has vg-models)
add_executable(test_heads ${CMAKE_CURRENT_LIST_DIR}/test_heads.c)
target_link_libraries(test_heads PRIVATE vigil_models PkgConfig::CRITERION Threads::Threads)
set(vg_heads_env "VIGIL_CACHE_DIR=${VIGIL_CACHE_DIR};VIGIL_BUILD_DIR=${CMAKE_BINARY_DIR}")
add_test(NAME test_heads COMMAND test_heads --jobs 1 --filter "heads/*")
set_tests_properties(test_heads PROPERTIES LABELS unit TIMEOUT 60 ENVIRONMENT "${vg_heads_env}")

add_test(NAME heads_real_fixture
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/test_convert_fixtures.py ${CMAKE_SOURCE_DIR}
          ${CMAKE_BINARY_DIR}/heads_real $<$<TARGET_EXISTS:vg-models>:$<TARGET_FILE:vg-models>>)
set_tests_properties(heads_real_fixture PROPERTIES LABELS e2e TIMEOUT 600
  ENVIRONMENT "${vg_heads_env};VIGIL_TFJS_DIR=${VIGIL_CACHE_DIR}/npm/tfjs-ref"
  FIXTURES_SETUP heads_real FIXTURES_REQUIRED tfjs_ref)
add_test(NAME test_heads_real COMMAND test_heads --jobs 1 --filter "heads_real/*")
set_tests_properties(test_heads_real PROPERTIES LABELS e2e TIMEOUT 120 ENVIRONMENT "${vg_heads_env}"
  FIXTURES_REQUIRED heads_real)
