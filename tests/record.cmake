# capture/recorder and storage/ (issue 12): segments, pre-roll, a slow disk,
# the index rebuilt from files, retention, clips; real clips made by ffmpeg,
# a real disk and a real SQLite file.
if(TARGET vigil_storage)
  vg_add_test(test_recorder SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_recorder.c
              LIBS vigil_storage vigil_capture LABELS unit TIMEOUT 300)
endif()
