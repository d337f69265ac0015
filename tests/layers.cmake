# The layer rule of DESIGN.md §2 (no lower layer includes a higher one), read
# off the #include lines; no build needed.
add_test(NAME test_layers COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test_layers.sh ${CMAKE_SOURCE_DIR})
set_tests_properties(test_layers PROPERTIES LABELS "unit" TIMEOUT 60)
