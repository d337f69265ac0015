# Issue 10 (the daemon's side): credentials, failure reasons, bounded health
# messages, reloads, catch-up ("since", vigil events --resume), CURVE,
# --check-config; end to end with the real vigild and vigil.
if(TARGET vigild AND TARGET vigil)
  vg_add_test(test_losses SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_losses.c
              LIBS vg_test_vigild LABELS e2e TIMEOUT 600)
  add_dependencies(test_losses vigild vigil)
endif()
