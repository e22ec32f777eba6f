# CTest tests (label "fuzz") that build the fuzz preset's targets and run each for a short time.
# Included by tests/fuzz/CMakeLists.txt in a normal test tree (not in the fuzz preset itself).
#
#   fuzz_build             (FIXTURES_SETUP) configures the fuzz preset into
#                          ${CMAKE_BINARY_DIR}/fuzz-build and builds dbproxy_common + the targets
#   fuzz_<target>          runs <target> for FUZZ_SECONDS over a temporary copy of
#                          tests/fuzz/corpus/<target> (nothing is written into the repository)
# Without clang++ or libFuzzer (libclang-rt-14-dev), or with FUZZ_SECONDS=0, every fuzz test is
# skipped with a message saying why.
set(FUZZ_SECONDS 5 CACHE STRING "Seconds each libFuzzer target runs in CTest (0: skip them)")

set(dbproxy_fuzz_dir ${CMAKE_CURRENT_SOURCE_DIR})
set(dbproxy_fuzz_build ${CMAKE_BINARY_DIR}/fuzz-build)
set(dbproxy_fuzz_skip "")

find_program(DBPROXY_FUZZ_CLANGXX NAMES clang++ clang++-14)
if(FUZZ_SECONDS EQUAL 0)
  set(dbproxy_fuzz_skip "FUZZ_SECONDS is 0")
elseif(NOT DBPROXY_FUZZ_CLANGXX)
  set(dbproxy_fuzz_skip "clang++ was not found at configure time")
else()
  # clang without compiler-rt's libFuzzer compiles but cannot link a fuzz target: probe once.
  if(NOT DEFINED DBPROXY_FUZZ_LINKS)
    set(probe_dir ${CMAKE_BINARY_DIR}/fuzz-probe)
    file(WRITE ${probe_dir}/probe.cpp
         "extern \"C\" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n")
    execute_process(
      COMMAND ${DBPROXY_FUZZ_CLANGXX} -fsanitize=fuzzer,address,undefined probe.cpp -o probe
      WORKING_DIRECTORY ${probe_dir} RESULT_VARIABLE probe_result OUTPUT_QUIET ERROR_QUIET)
    if(probe_result EQUAL 0)
      set(DBPROXY_FUZZ_LINKS ON CACHE INTERNAL "clang++ links libFuzzer targets")
    else()
      set(DBPROXY_FUZZ_LINKS OFF CACHE INTERNAL "clang++ links libFuzzer targets")
    endif()
  endif()
  if(NOT DBPROXY_FUZZ_LINKS)
    set(dbproxy_fuzz_skip "${DBPROXY_FUZZ_CLANGXX} cannot link libFuzzer (libclang-rt-14-dev)")
  endif()
endif()

if(dbproxy_fuzz_skip)
  message(STATUS "Fuzz tests will be skipped: ${dbproxy_fuzz_skip}")
  foreach(target IN LISTS DBPROXY_FUZZ_TARGETS)
    add_test(NAME fuzz_${target}
             COMMAND sh -c "echo \"fuzz test skipped: $1\"; exit 77" sh "${dbproxy_fuzz_skip}")
    set_tests_properties(fuzz_${target} PROPERTIES LABELS fuzz SKIP_RETURN_CODE 77)
  endforeach()
  return()
endif()

find_program(DBPROXY_FUZZ_CCACHE ccache)
# A unity build: dbproxy_common compiled as a few large files (the same -DCMAKE_UNITY_BUILD the
# asan preset uses), which halves this fixture's time in CI.
set(fuzz_configure_args -DCMAKE_CXX_COMPILER=${DBPROXY_FUZZ_CLANGXX} -DCMAKE_UNITY_BUILD=ON)
if(DBPROXY_FUZZ_CCACHE)
  list(APPEND fuzz_configure_args -DCMAKE_CXX_COMPILER_LAUNCHER=${DBPROXY_FUZZ_CCACHE})
endif()
add_test(NAME fuzz_build
         COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${PROJECT_SOURCE_DIR} -DBUILD_DIR=${dbproxy_fuzz_build}
                 "-DCONFIGURE_ARGS=${fuzz_configure_args}" -P ${dbproxy_fuzz_dir}/build_fuzzers.cmake)
set_tests_properties(fuzz_build PROPERTIES LABELS fuzz FIXTURES_SETUP dbproxy_fuzzers
                                           TIMEOUT 1500 RUN_SERIAL TRUE)

foreach(target IN LISTS DBPROXY_FUZZ_TARGETS)
  set(dict "")
  if(EXISTS ${dbproxy_fuzz_dir}/dict/${target}.dict)
    set(dict ${dbproxy_fuzz_dir}/dict/${target}.dict)
  endif()
  add_test(NAME fuzz_${target}
           COMMAND sh ${dbproxy_fuzz_dir}/run_fuzz_test.sh ${dbproxy_fuzz_build}/tests/fuzz/${target}
                   ${dbproxy_fuzz_dir}/corpus/${target} "${dict}" ${FUZZ_SECONDS}
                   ${CMAKE_BINARY_DIR}/fuzz-run/${target})
  math(EXPR fuzz_timeout "${FUZZ_SECONDS} * 2 + 60")
  set_tests_properties(fuzz_${target} PROPERTIES LABELS fuzz FIXTURES_REQUIRED dbproxy_fuzzers
                                                 TIMEOUT ${fuzz_timeout} RUN_SERIAL TRUE)
endforeach()
