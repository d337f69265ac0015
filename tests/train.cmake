# vigil train classifier: trainer, reproducibility, engine vs PyTorch (1e-4).
if(TARGET vigil AND EXISTS /usr/bin/python3)
  add_test(NAME test_train COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/test_train.py
           $<TARGET_FILE:vigil> ${CMAKE_BINARY_DIR}/test_train_work)
  set_tests_properties(test_train PROPERTIES LABELS "e2e" TIMEOUT 300
    FIXTURES_SETUP vg_trained_classifier
    ENVIRONMENT "VIGIL_CACHE_DIR=${VIGIL_CACHE_DIR};VIGIL_AUGMENT_LIB=$<TARGET_FILE:vigil_augment_shared>")
endif()
# cameras.X.classify in the daemon's runtime (vigil replay) with the model test_train made.
if(TARGET vigil AND EXISTS /usr/bin/python3)
  add_test(NAME test_classify COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_classify.sh
           $<TARGET_FILE:vigil> ${CMAKE_BINARY_DIR}/test_train_work)
  set_tests_properties(test_classify PROPERTIES LABELS "e2e" TIMEOUT 300
    FIXTURES_REQUIRED vg_trained_classifier ENVIRONMENT "VIGIL_CACHE_DIR=${VIGIL_CACHE_DIR}")
endif()
