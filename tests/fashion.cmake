# bench/fashion's reduced grid (Fashion-MNIST, Debian's dataset-fashion-mnist):
# the table, the plot, and sanity checks on what the runs must show.
# (bench/ is added after tests/: its target is looked for by folder, not by name)
if(EXISTS ${CMAKE_SOURCE_DIR}/bench/fashion/CMakeLists.txt AND TARGET vigil_augment_shared AND EXISTS /usr/bin/python3)
  add_test(NAME test_fashion_mnist COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_fashion.sh
           ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR})
  set_tests_properties(test_fashion_mnist PROPERTIES LABELS "e2e" TIMEOUT 600)
endif()
