# `vigil detect` and `vigil replay` agree frame by frame on the same clip and
# config (tests/test_detect_replay.c). e2e: runs the tool, needs the footage
# and the converted models in the cache.
if(TARGET vigil)
  vg_add_test(test_detect_replay SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_detect_replay.c
              LIBS vigil_capture PkgConfig::JANSSON m LABELS e2e TIMEOUT 600)
  add_dependencies(test_detect_replay vigil)
endif()
