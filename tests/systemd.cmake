# tests/systemd.cmake: checks of the systemd packaging (systemd/,
# cmake/install.cmake). Two modes in one file:
#  - included by tests/CMakeLists.txt: registers the tests below;
#  - run by ctest as `cmake -DCHECK=... -P tests/systemd.cmake`: does a check.
#
#   systemd_unit     systemd-analyze verify on vigil.service (a copy whose
#                    ExecStart= runs this build's vigild, since verify needs
#                    the binary to exist); a copy with a misspelt key must be
#                    reported (so the check itself can fail); the offline
#                    `systemd-analyze security` rating must be OK or SAFE;
#                    MemoryDenyWriteExecute must stay off (oneDNN's JIT).
#   systemd_sysusers systemd-sysusers and systemd-tmpfiles applied to an empty
#                    root: user vigil in group video, /var/lib/vigil owned by
#                    vigil, mode 0750.
#   systemd_install  cmake --install into a DESTDIR: files where the unit
#                    expects them, ExecStart= rewritten to the prefix, and an
#                    edited /etc/vigil/vigil.yaml kept by a second install.

if(CMAKE_SCRIPT_MODE_FILE)
  function(run out_var)   # run(<var> cmd...) -> <var>_rc, <var> = stdout+stderr
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE o ERROR_VARIABLE e)
    set(${out_var} "${o}${e}" PARENT_SCOPE)
    set(${out_var}_rc "${rc}" PARENT_SCOPE)
  endfunction()
  file(REMOVE_RECURSE ${WORK})
  file(MAKE_DIRECTORY ${WORK})

  if(CHECK STREQUAL "unit")
    file(READ ${SRC}/systemd/vigil.service unit)
    string(REPLACE "=/usr/bin/vigild " "=${VIGILD} " unit "${unit}")
    if(unit MATCHES "=/usr/bin/vigild")
      message(FATAL_ERROR "ExecStart= not rewritten")
    endif()
    file(WRITE ${WORK}/vigil.service "${unit}")
    run(v systemd-analyze verify ${WORK}/vigil.service)
    # verify also exits 0 on warnings (unknown keys, bad values): any output fails
    if(NOT (v_rc EQUAL 0 AND v STREQUAL ""))
      message(FATAL_ERROR "systemd-analyze verify vigil.service: rc ${v_rc}:\n${v}")
    endif()

    string(REPLACE "ProtectSystem=strict" "ProtectSytem=strict" broken "${unit}")
    file(WRITE ${WORK}/broken/vigil.service "${broken}")
    run(b systemd-analyze verify ${WORK}/broken/vigil.service)
    if(b STREQUAL "")
      message(FATAL_ERROR "verify did not report a misspelt key: this check cannot fail")
    endif()

    run(s systemd-analyze security --offline=true ${WORK}/vigil.service)
    string(REGEX MATCH "Overall exposure level for [^:]*: ([0-9.]+) ([A-Z]+)" m "${s}")
    if(NOT (m))
      message(FATAL_ERROR "no overall exposure level in:\n${s}")
    endif()
    message(STATUS "systemd-analyze security: ${CMAKE_MATCH_1} ${CMAKE_MATCH_2}")
    if(NOT (CMAKE_MATCH_2 STREQUAL "OK" OR CMAKE_MATCH_2 STREQUAL "SAFE"))
      message(FATAL_ERROR "vigil.service rated ${CMAKE_MATCH_1} ${CMAKE_MATCH_2}, want OK or better:\n${s}")
    endif()
    if(unit MATCHES "\nMemoryDenyWriteExecute=(yes|true|on|1)")
      message(FATAL_ERROR "MemoryDenyWriteExecute=yes breaks oneDNN's JIT kernels")
    endif()

  elseif(CHECK STREQUAL "sysusers")
    set(r ${WORK}/root)
    file(MAKE_DIRECTORY ${r}/etc)
    run(u systemd-sysusers --root=${r} ${SRC}/systemd/vigil.sysusers)
    if(NOT (u_rc EQUAL 0))
      message(FATAL_ERROR "systemd-sysusers: ${u}")
    endif()
    file(STRINGS ${r}/etc/passwd pw REGEX "^vigil:")
    if(NOT (pw MATCHES "^vigil:x:[0-9]+:[0-9]+:[^:]*:/var/lib/vigil:/usr/sbin/nologin$"))
      message(FATAL_ERROR "passwd entry for vigil: '${pw}'")
    endif()
    string(REGEX REPLACE "^vigil:x:([0-9]+):.*" "\\1" uid "${pw}")
    file(STRINGS ${r}/etc/group video REGEX "^video:")
    if(NOT (video MATCHES "^video:x:[0-9]+:(.*,)?vigil(,.*)?$"))
      message(FATAL_ERROR "vigil not in group video: '${video}'")
    endif()
    run(t systemd-tmpfiles --root=${r} --create ${SRC}/systemd/vigil.tmpfiles)
    if(NOT (t_rc EQUAL 0 AND t STREQUAL ""))
      message(FATAL_ERROR "systemd-tmpfiles: rc ${t_rc}: ${t}")
    endif()
    foreach(d /var/lib/vigil /var/lib/vigil/models /var/lib/vigil/recordings)
      run(st stat -c "%u %a" ${r}${d})
      if(NOT (st STREQUAL "${uid} 750\n"))
        message(FATAL_ERROR "${d}: owner/mode '${st}', want '${uid} 750'")
      endif()
    endforeach()
    if(NOT (IS_DIRECTORY ${r}/etc/vigil))
      message(FATAL_ERROR "tmpfiles did not create /etc/vigil")
    endif()

  elseif(CHECK STREQUAL "install")
    set(d ${WORK}/destdir)
    foreach(pass 1 2)
      execute_process(COMMAND ${CMAKE_COMMAND} -E env DESTDIR=${d}
                      ${CMAKE_COMMAND} --install ${BUILD} --prefix /usr
                      RESULT_VARIABLE rc OUTPUT_VARIABLE o ERROR_VARIABLE e)
      if(NOT (rc EQUAL 0))
        message(FATAL_ERROR "cmake --install (pass ${pass}): ${o}${e}")
      endif()
      if(pass EQUAL 1)
        foreach(f usr/bin/vigild usr/bin/vigil etc/vigil/vigil.yaml
                  usr/lib/systemd/system/vigil.service usr/lib/sysusers.d/vigil.conf
                  usr/lib/tmpfiles.d/vigil.conf usr/share/vigil/labels/coco80.txt
                  var/lib/vigil/models/coco80.txt)
          if(NOT (EXISTS ${d}/${f}))
            message(FATAL_ERROR "cmake --install did not install /${f}")
          endif()
        endforeach()
        file(STRINGS ${d}/usr/lib/systemd/system/vigil.service exec REGEX "^ExecStart=")
        if(NOT (exec STREQUAL "ExecStart=/usr/bin/vigild --config /etc/vigil/vigil.yaml"))
          message(FATAL_ERROR "installed unit has '${exec}'")
        endif()
        file(APPEND ${d}/etc/vigil/vigil.yaml "# edited by the operator\n")
      endif()
    endforeach()
    file(READ ${d}/etc/vigil/vigil.yaml conf)
    if(NOT (conf MATCHES "# edited by the operator\n$"))
      message(FATAL_ERROR "a second install overwrote /etc/vigil/vigil.yaml")
    endif()
    file(REMOVE_RECURSE ${WORK})
  else()
    message(FATAL_ERROR "CHECK=${CHECK}: unknown")
  endif()
  return()
endif()

find_program(VG_SYSTEMD_ANALYZE systemd-analyze)
if(VG_SYSTEMD_ANALYZE AND TARGET vigild)
  set(vg_sd -DSRC=${CMAKE_SOURCE_DIR} -DBUILD=${CMAKE_BINARY_DIR})
  add_test(NAME systemd_unit COMMAND ${CMAKE_COMMAND} ${vg_sd} -DCHECK=unit
           -DVIGILD=$<TARGET_FILE:vigild> -DWORK=${CMAKE_CURRENT_BINARY_DIR}/systemd_unit
           -P ${CMAKE_CURRENT_LIST_FILE})
  add_test(NAME systemd_sysusers COMMAND ${CMAKE_COMMAND} ${vg_sd} -DCHECK=sysusers
           -DWORK=${CMAKE_CURRENT_BINARY_DIR}/systemd_sysusers -P ${CMAKE_CURRENT_LIST_FILE})
  add_test(NAME systemd_install COMMAND ${CMAKE_COMMAND} ${vg_sd} -DCHECK=install
           -DWORK=${CMAKE_CURRENT_BINARY_DIR}/systemd_install -P ${CMAKE_CURRENT_LIST_FILE})
  set_tests_properties(systemd_unit systemd_sysusers systemd_install PROPERTIES
                       LABELS unit TIMEOUT 120)
endif()
