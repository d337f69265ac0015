# vigild as a service (issue 6): sd_notify and the watchdog, reconnects of an
# RTSP camera, Prometheus metrics; end to end with the real daemon.
if(TARGET vigild)
  vg_add_test(test_service SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_service.c
              LIBS vg_test_util PkgConfig::JANSSON PkgConfig::ZMQ m LABELS e2e TIMEOUT 600)
  add_dependencies(test_service vigild)
endif()
