# cmake/install.cmake: what `cmake --install` puts where, and the Debian
# package CPack builds from the same rules (`cpack -G DEB` in the build dir).
# Included at the end of the top-level CMakeLists.txt.
#
#   <prefix>/bin/vigild, <prefix>/bin/vigil
#   /etc/vigil/vigil.yaml              the example config; an existing file is
#                                      never overwritten (a conffile in the .deb)
#   <prefix>/lib/systemd/system/vigil.service   (ExecStart= points at <prefix>/bin)
#   <prefix>/lib/sysusers.d/vigil.conf, <prefix>/lib/tmpfiles.d/vigil.conf
#   <prefix>/share/vigil/labels/*      label files of the bundled models
#   <prefix>/share/vigil/web/*         the web UI vigild serves (daemon.web_root "")
#   /var/lib/vigil/models/             labels, and the ONNX models converted by
#                                      scripts/fetch-models.sh if the cache has
#                                      them (VIGIL_INSTALL_MODELS); never
#                                      overwrites a file already there
# /etc and /var/lib are absolute on purpose: the unit and the example config
# name them. systemd searches /usr/local/lib/{systemd/system,sysusers.d,
# tmpfiles.d} as well as /usr/lib, so both prefixes work.
include(GNUInstallDirs)

set(VIGIL_CONFIG_DIR "/etc/vigil" CACHE PATH "Where vigil.yaml is installed")
set(VIGIL_STATE_DIR "/var/lib/vigil" CACHE PATH
    "vigild's state directory (StateDirectory=vigil in the unit)")
option(VIGIL_INSTALL_MODELS
       "Install the converted models found in VIGIL_CACHE_DIR/models into VIGIL_STATE_DIR/models" ON)

set(vg_unitdir "lib/systemd/system")
set(vg_sysusersdir "lib/sysusers.d")
set(vg_tmpfilesdir "lib/tmpfiles.d")

foreach(t vigild vigil)
  if(TARGET ${t})
    install(TARGETS ${t} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endif()
endforeach()

# The unit names /usr/bin/vigild and /etc/vigil/vigil.yaml; they are
# rewritten at install time, when the prefix is known (cmake --install
# --prefix, CPack's staging), into <prefix>/bin and VIGIL_CONFIG_DIR.
install(CODE "
file(READ \"${CMAKE_SOURCE_DIR}/systemd/vigil.service\" u)
string(REPLACE \"=/usr/bin/vigild \" \"=\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/vigild \" u \"\${u}\")
string(REPLACE \" /etc/vigil/vigil.yaml\" \" ${VIGIL_CONFIG_DIR}/vigil.yaml\" u \"\${u}\")
file(WRITE \"${CMAKE_BINARY_DIR}/systemd/vigil.service\" \"\${u}\")
file(INSTALL DESTINATION \"\${CMAKE_INSTALL_PREFIX}/${vg_unitdir}\" TYPE FILE
     FILES \"${CMAKE_BINARY_DIR}/systemd/vigil.service\")
")
install(FILES ${CMAKE_SOURCE_DIR}/systemd/vigil.sysusers DESTINATION ${vg_sysusersdir}
        RENAME vigil.conf)
install(FILES ${CMAKE_SOURCE_DIR}/systemd/vigil.tmpfiles DESTINATION ${vg_tmpfilesdir}
        RENAME vigil.conf)

# The web UI: static files, no build step (vigild's default daemon.web_root).
install(DIRECTORY ${CMAKE_SOURCE_DIR}/web/ DESTINATION ${CMAKE_INSTALL_DATADIR}/vigil/web)

file(GLOB vg_labels ${CMAKE_SOURCE_DIR}/models/labels/*.txt)
install(FILES ${vg_labels} DESTINATION ${CMAKE_INSTALL_DATADIR}/vigil/labels)

# install_if_missing(<files> <absolute dir>): file(INSTALL) of each file that
# is not in the destination yet (file(INSTALL) applies DESTDIR itself).
install(CODE "
function(vg_install_if_missing dir)
  foreach(f \${ARGN})
    get_filename_component(n \"\${f}\" NAME)
    if(EXISTS \"\$ENV{DESTDIR}\${dir}/\${n}\")
      message(STATUS \"Keeping existing: \$ENV{DESTDIR}\${dir}/\${n}\")
    else()
      file(INSTALL DESTINATION \"\${dir}\" TYPE FILE FILES \"\${f}\")
    endif()
  endforeach()
endfunction()
vg_install_if_missing(\"${VIGIL_CONFIG_DIR}\" \"${CMAKE_SOURCE_DIR}/etc/vigil.yaml\")
vg_install_if_missing(\"${VIGIL_STATE_DIR}/models\" ${vg_labels})
")
if(VIGIL_INSTALL_MODELS)
  # Globbed at install time: the cache is filled by scripts/fetch-models.sh,
  # which may run after configuring.
  install(CODE "
file(GLOB vg_models \"${VIGIL_CACHE_DIR}/models/*.onnx\" \"${VIGIL_CACHE_DIR}/models/*.json\")
if(vg_models)
  vg_install_if_missing(\"${VIGIL_STATE_DIR}/models\" \${vg_models})
else()
  message(STATUS \"No models in ${VIGIL_CACHE_DIR}/models (run scripts/fetch-models.sh); none installed\")
endif()
")
endif()

# ---- Debian package: cpack -G DEB (in the build dir) -----------------------
# Build the installed targets first (cmake --build B --target vigild vigil),
# then run cpack: install/preinstall do not build "all", so a test or a
# library that is mid-change elsewhere in the tree does not block packaging.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME vigil)
set(CPACK_PACKAGE_VENDOR "vigil")
set(CPACK_PACKAGE_CONTACT "vigil maintainers <vigil@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "camera and video monitoring daemon: decode, correct, recognise, publish over ZeroMQ")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
# Stage with DESTDIR so that the absolute /etc and /var/lib destinations land
# in the package, not on the build machine.
set(CPACK_SET_DESTDIR ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_PREFIX /usr)   # what CPACK_SET_DESTDIR installs under
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION video)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)      # Depends: from dpkg-shlibdeps
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "ffmpeg, v4l-utils")

set(vg_deb ${CMAKE_BINARY_DIR}/debian)
file(WRITE ${vg_deb}/conffiles "${VIGIL_CONFIG_DIR}/vigil.yaml\n")
file(WRITE ${vg_deb}/postinst "#!/bin/sh
set -e
if [ \"$1\" = configure ]; then
  systemd-sysusers vigil.conf
  systemd-tmpfiles --create vigil.conf || true
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload || true
  fi
  echo 'vigil: edit ${VIGIL_CONFIG_DIR}/vigil.yaml, then: systemctl enable --now vigil'
fi
")
file(WRITE ${vg_deb}/prerm "#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ \"$1\" = remove ]; then
  systemctl stop vigil.service || true
fi
")
file(WRITE ${vg_deb}/postrm "#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload || true
fi
")
file(CHMOD ${vg_deb}/postinst ${vg_deb}/prerm ${vg_deb}/postrm
     PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                 WORLD_READ WORLD_EXECUTE)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${vg_deb}/conffiles ${vg_deb}/postinst ${vg_deb}/prerm ${vg_deb}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)

# vigil train: the trainer and the augment library it loads with ctypes.
if(TARGET vigil_augment_shared)
  install(TARGETS vigil_augment_shared LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(FILES ${CMAKE_SOURCE_DIR}/tools/train_classifier.py DESTINATION ${CMAKE_INSTALL_DATADIR}/vigil)
endif()
