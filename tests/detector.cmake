# pipeline/detect's loading rules against the converted models (the cache).
vg_add_test(test_detector SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_detector.c
  LIBS vigil_pipeline LABELS unit TIMEOUT 120)
