# vigil dataset export / vigil augment on real footage with the real detector.
if(TARGET vigil)
  add_test(NAME test_dataset COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_dataset.sh $<TARGET_FILE:vigil>)
  set_tests_properties(test_dataset PROPERTIES LABELS "e2e" TIMEOUT 300
    ENVIRONMENT "VIGIL_CACHE_DIR=${VIGIL_CACHE_DIR}")
endif()
