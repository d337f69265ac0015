# capture/recorder and storage/ (issue 12): segments, pre-roll, a slow disk,
# the index rebuilt from files, retention, clips; real clips made by ffmpeg,
# a real disk and a real SQLite file.
if(TARGET vigil_storage)
  vg_add_test(test_recorder SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_recorder.c
              LIBS vigil_storage vigil_capture LABELS unit TIMEOUT 300)
endif()

# The daemon recording real streams: an RTSP camera whose server restarts
# (gap), vigild killed -9 (index == disk after restart), a slow disk (GOPs
# dropped, analysis loses nothing), an event's clip with its pre-roll, a disk
# that refuses bytes (ulimit -f: disk_full, recording resumes).
if(TARGET vigild AND TARGET vigil)
  add_test(NAME test_record_e2e COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_record_e2e.sh
           ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR} ${VIGIL_CACHE_DIR})
  set_tests_properties(test_record_e2e PROPERTIES LABELS "e2e" TIMEOUT 300 PASS_REGULAR_EXPRESSION "PASS")
endif()

# The recorder's threads (capture, writer, activity, a replaced writer) under
# TSan and ASan: a plain program, as Criterion cannot run under TSan.
if(TARGET vigil_capture)
  add_executable(stress_record ${CMAKE_CURRENT_LIST_DIR}/stress_record.c)
  target_link_libraries(stress_record PRIVATE vigil_capture Threads::Threads)
  add_test(NAME stress_record COMMAND stress_record)
  set_tests_properties(stress_record PROPERTIES LABELS "unit;tsan" TIMEOUT 300
    FAIL_REGULAR_EXPRESSION "ThreadSanitizer|AddressSanitizer|LeakSanitizer|runtime error")
endif()
