# The tracker (pipeline/track): assignment, tracker rules, MOT metrics on
# synthetic sequences, and `vigil track --mot` end to end.
# vg_mot_synth: the sequence generator, evaluator and tracker driver, shared
# with bench/track.
add_library(vg_mot_synth STATIC ${CMAKE_CURRENT_LIST_DIR}/util/mot_synth.c)
target_link_libraries(vg_mot_synth PUBLIC vigil_track m)
target_include_directories(vg_mot_synth PUBLIC ${CMAKE_CURRENT_LIST_DIR}/util)
vg_add_test(test_track SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_track.c
            LIBS vg_mot_synth vg_test_util LABELS unit TIMEOUT 300)
if(TARGET vigil)
  add_dependencies(test_track vigil)
endif()

# pipeline/events, zones and snapshot: lifecycle, zones, lines, masks and
# snapshots on synthetic tracks (issue 11).
vg_add_test(test_events SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_events.c
            LIBS vigil_pipeline PkgConfig::JANSSON PkgConfig::TURBOJPEG LABELS unit TIMEOUT 60)
