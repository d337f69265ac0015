# V4L2 cameras (capture/v4l2.c): format negotiation, converters on a real
# frame, missing and non-camera device paths. Streaming from a real device is
# not tested here (no vivid/v4l2loopback in the container; see test_v4l2.c).
vg_add_test(test_v4l2 SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_v4l2.c
            LIBS vigil_capture vigil_config vg_test_util m LABELS unit TIMEOUT 120)
