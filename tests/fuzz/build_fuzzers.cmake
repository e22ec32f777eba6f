# cmake -DSOURCE_DIR=... -DBUILD_DIR=... -DCONFIGURE_ARGS=... -P build_fuzzers.cmake
# Configures the fuzz preset into BUILD_DIR and builds its default target (dbproxy_common and
# the fuzz targets only). Run by the fuzz_build CTest fixture.
string(TIMESTAMP started "%s")
execute_process(
  COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${BUILD_DIR} --preset fuzz ${CONFIGURE_ARGS}
  COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} COMMAND_ERROR_IS_FATAL ANY)
string(TIMESTAMP finished "%s")
math(EXPR seconds "${finished} - ${started}")
message(STATUS "fuzz targets built in ${BUILD_DIR} in ${seconds} s")
