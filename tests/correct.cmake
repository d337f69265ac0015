# Image corrections and tensor preparation (pipeline/correct/).
if(NOT TARGET vigil_correct)
  # pipeline/CMakeLists.txt has not added it (yet): build it from here.
  add_subdirectory(${CMAKE_SOURCE_DIR}/pipeline/correct ${CMAKE_BINARY_DIR}/pipeline/correct)
endif()
add_library(vg_test_correct_util STATIC ${CMAKE_CURRENT_LIST_DIR}/correct/frames.c)
target_link_libraries(vg_test_correct_util PUBLIC vigil_correct vigil_capture PkgConfig::FFMPEG m)

vg_add_test(test_correct_tensor SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_correct_tensor.c
            LIBS vg_test_correct_util LABELS unit TIMEOUT 120)
vg_add_test(test_correct_lowlight SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_correct_lowlight.c
            LIBS vg_test_correct_util LABELS unit TIMEOUT 180)
vg_add_test(test_correct_temporal SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_correct_temporal.c
            LIBS vg_test_correct_util LABELS unit TIMEOUT 180)
vg_add_test(test_correct_dehaze SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_correct_dehaze.c
            LIBS vg_test_correct_util LABELS unit TIMEOUT 120)
vg_add_test(test_correct_auto SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_correct_auto.c
            LIBS vg_test_correct_util LABELS unit TIMEOUT 180)

# auto on the degradation families (bench/degrade/family.c, held-out part),
# with NanoDet: auto's choice and the phantom-object bound. e2e: needs the
# footage and the converted model in the cache.
vg_add_test(test_correct_families SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_correct_families.c
            LIBS vg_test_correct_util vg_degrade_family vigil_pipeline LABELS e2e TIMEOUT 300)
