# Data amplification and degradations (augment/).
if(TARGET vigil_augment AND TURBOJPEG_FOUND)
  vg_add_test(test_augment SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_augment.c
              LIBS vigil_augment PkgConfig::TURBOJPEG m LABELS unit TIMEOUT 120)
endif()
