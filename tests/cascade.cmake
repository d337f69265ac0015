# Face -> expression cascade (pipeline/cascade) and `vigil detect --faces`:
# real photos (scripts/fetch-footage.sh puts them in the cache; the fixture
# runs it, a no-op once they are there) and the converted models
# (scripts/fetch-models.sh). e2e: needs the cache.
add_test(NAME cascade_images COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/fetch-footage.sh)
set_tests_properties(cascade_images PROPERTIES LABELS e2e TIMEOUT 300 FIXTURES_SETUP cascade_images
  ENVIRONMENT "VIGIL_CACHE_DIR=${VIGIL_CACHE_DIR}")
vg_add_test(test_cascade SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_cascade.c
  LIBS vigil_pipeline vigil_capture vigil_daemon PkgConfig::JANSSON LABELS e2e TIMEOUT 300)
set_tests_properties(test_cascade PROPERTIES FIXTURES_REQUIRED cascade_images)
if(TARGET vigil)
  add_dependencies(test_cascade vigil)
endif()
