# daemon/http*.c and web/: the HTTP API and the web UI against a real vigild
# on vtest.avi (tests/web/vigild.py starts and stops it). Needs the footage
# and the NanoDet model in VIGIL_CACHE_DIR, python3-zmq and python3-opencv;
# the browser test needs chromium, chromium-driver and python3-selenium.
add_test(NAME web_api COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/web/test_api.py)
set_tests_properties(web_api PROPERTIES LABELS e2e TIMEOUT 180
  ENVIRONMENT "VIGIL_CACHE_DIR=${VIGIL_CACHE_DIR};VIGIL_BUILD_DIR=${CMAKE_BINARY_DIR};PYTHONDONTWRITEBYTECODE=1")
add_test(NAME web_browser COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/web/test_browser.py)
set_tests_properties(web_browser PROPERTIES LABELS e2e TIMEOUT 240
  ENVIRONMENT "VIGIL_CACHE_DIR=${VIGIL_CACHE_DIR};VIGIL_BUILD_DIR=${CMAKE_BINARY_DIR};PYTHONDONTWRITEBYTECODE=1")
