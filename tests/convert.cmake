# Converted models (models/convert) against the original TF.js models, on
# real frames of vtest.avi. Runs vigil's engine CLI when the build has it,
# else OpenCV DNN. Label e2e: needs node, npm (first run) and the footage.
find_program(VG_NODE node)
if(VG_NODE)
  add_test(NAME convert_vs_tfjs
    COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_convert.sh ${CMAKE_SOURCE_DIR}
            $<$<TARGET_EXISTS:vg-models>:$<TARGET_FILE:vg-models>>)
  set_tests_properties(convert_vs_tfjs PROPERTIES LABELS e2e TIMEOUT 900
    ENVIRONMENT "VIGIL_CACHE_DIR=${VIGIL_CACHE_DIR};VIGIL_BUILD_DIR=${CMAKE_BINARY_DIR}")
endif()
