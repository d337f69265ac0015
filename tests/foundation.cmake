# Foundation suites: ring/workers, motion, JSON writer, capture, publisher,
# and the end-to-end daemon tests.
add_library(vg_test_util STATIC ${CMAKE_CURRENT_LIST_DIR}/util/vg_test_util.c)
target_link_libraries(vg_test_util PUBLIC PkgConfig::CRITERION)
target_include_directories(vg_test_util PUBLIC ${CMAKE_CURRENT_LIST_DIR}/util)
# A vigild under test (start, subscribe, receive, stop): the e2e suites.
add_library(vg_test_vigild STATIC ${CMAKE_CURRENT_LIST_DIR}/util/vg_test_vigild.c)
target_link_libraries(vg_test_vigild PUBLIC vg_test_util PkgConfig::JANSSON PkgConfig::ZMQ)

vg_add_test(test_ring SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_ring.c
            LIBS vigil_pipeline LABELS unit TIMEOUT 120)

# Threaded stress: a plain program (Criterion cannot run under TSan).
add_executable(stress_threads ${CMAKE_CURRENT_LIST_DIR}/stress_threads.c)
target_link_libraries(stress_threads PRIVATE vigil_pipeline)
add_test(NAME stress_threads COMMAND stress_threads)
set_tests_properties(stress_threads PROPERTIES LABELS "unit;tsan" TIMEOUT 600)
if(VIGIL_SANITIZE MATCHES "thread")
  set_tests_properties(stress_threads PROPERTIES ENVIRONMENT "VIGIL_STRESS_SCALE=0.25")
endif()
vg_add_test(test_motion SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_motion.c
            LIBS vigil_pipeline vigil_capture vg_test_util LABELS unit TIMEOUT 120)
vg_add_test(test_jsonw SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_jsonw.c
            LIBS vigil_pipeline PkgConfig::JANSSON LABELS unit TIMEOUT 60)
vg_add_test(test_capture SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_capture.c
            LIBS vigil_capture vigil_pipeline vg_test_util LABELS unit TIMEOUT 600)
if(TARGET vigild)
  vg_add_test(test_daemon SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_daemon.c
              LIBS vg_test_vigild LABELS e2e TIMEOUT 600)
  add_dependencies(test_daemon vigild)
endif()

# The whole pipeline (capture, ring, workers, publisher threads) on a real
# clip; in the TSan and ASan builds this is the threaded code under the
# sanitizer. PASS needs the summary line; FAIL on any sanitizer report.
if(TARGET vigil)
  add_test(NAME replay_vtest COMMAND vigil replay ${VIGIL_CACHE_DIR}/footage/vtest.avi --quiet)
  set_tests_properties(replay_vtest PROPERTIES LABELS "unit;tsan" TIMEOUT 600
    PASS_REGULAR_EXPRESSION "795 frames decoded in [0-9.]+s \\([0-9.]+ fps\\), 398 analysed"
    FAIL_REGULAR_EXPRESSION "ThreadSanitizer|AddressSanitizer|LeakSanitizer|runtime error")
  # The same with the default detector on every analysed frame: the
  # inference actor, parked frames and their resumes, under TSan.
  configure_file(${CMAKE_CURRENT_LIST_DIR}/replay_detect.yaml.in ${CMAKE_BINARY_DIR}/tests/replay_detect.yaml @ONLY)
  add_test(NAME replay_detect COMMAND vigil replay ${VIGIL_CACHE_DIR}/footage/vtest.avi
           --config ${CMAKE_BINARY_DIR}/tests/replay_detect.yaml --quiet)
  set_tests_properties(replay_detect PROPERTIES LABELS "tsan;e2e" TIMEOUT 900
    PASS_REGULAR_EXPRESSION "795 frames decoded in [0-9.]+s \\([0-9.]+ fps\\), 159 analysed, 15[0-9] with motion, [1-9][0-9]* events, 0 decode errors, dropped 0"
    FAIL_REGULAR_EXPRESSION "ThreadSanitizer|AddressSanitizer|LeakSanitizer|runtime error")
endif()

# The stream time sampling follows (capture/stream_clock): never goes back.
vg_add_test(test_stream_clock SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_stream_clock.c
            LIBS vigil_capture LABELS unit TIMEOUT 60)
if(TARGET vigil)
  add_test(NAME replay_backwards COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/replay_backwards.sh $<TARGET_FILE:vigil>
           ${VIGIL_CACHE_DIR} ${CMAKE_BINARY_DIR}/tests/replay_backwards)
  # 80 frames at 10 fps sampled at 5 fps: 40 analysed, whatever the timestamps do
  set_tests_properties(replay_backwards PROPERTIES LABELS e2e TIMEOUT 120
    PASS_REGULAR_EXPRESSION "80 frames decoded in [0-9.]+s \\([0-9.]+ fps\\), 40 analysed")
endif()
if(TARGET vigil)
  # every picture format and size is analysed and detected on (correct: auto)
  add_test(NAME replay_formats COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/replay_formats.sh $<TARGET_FILE:vigil>
           ${VIGIL_CACHE_DIR} ${CMAKE_BINARY_DIR}/tests/replay_formats)
  set_tests_properties(replay_formats PROPERTIES LABELS e2e TIMEOUT 300)
endif()
