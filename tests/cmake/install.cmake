# The install tree: headers, both libraries, the CMake package and the
# pkg-config file, used the way a user would.  Sanitized builds are left
# out: their libraries need the sanitizer runtime in every consumer.
if(NOT IPCX_SANITIZE)
  add_test(NAME install_consumer
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/install/check_install.sh
                   ${PROJECT_BINARY_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/install
                   ${PROJECT_SOURCE_DIR}/README.md)
  set_tests_properties(install_consumer PROPERTIES LABELS integration TIMEOUT 180)
endif()
