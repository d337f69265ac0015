# vigild as a service (issue 6): sd_notify and the watchdog, reconnects of an
# RTSP camera, Prometheus metrics; end to end with the real daemon.
if(TARGET vigild)
  vg_add_test(test_service SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_service.c
              LIBS vg_test_vigild m LABELS e2e TIMEOUT 600)
  add_dependencies(test_service vigild)
endif()

# daemon/metrics: latency histogram and Prometheus rendering (fast).
if(TARGET vigil_daemon)
  vg_add_test(test_metrics SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_metrics.c
              LIBS vigil_daemon m LABELS unit TIMEOUT 60)
endif()
