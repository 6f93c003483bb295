# The batch group backend (common/exact/group_*.c, group_batch.h) and its tests.
#
# UDC_GROUP_SRCS: what a program compiling common/exact/blind.c also needs.
# Set here because this fragment sorts before every other one that compiles
# blind.c (tests/CMakeLists.txt includes the fragments sorted by name).
set(UDC_GROUP_SRCS
  ${PROJECT_SOURCE_DIR}/common/exact/group_batch.c
  ${PROJECT_SOURCE_DIR}/common/exact/group_portable.c
  ${PROJECT_SOURCE_DIR}/common/exact/group_ifma.c
  ${PROJECT_SOURCE_DIR}/common/exact/group_ifma256.c
  ${PROJECT_SOURCE_DIR}/common/base/log.c
  ${PROJECT_SOURCE_DIR}/common/base/err.c)

# Differential test against libsodium, one ctest entry per backend: the
# RFC 9496 vectors, edges, and 1,000,000 pseudo-random inputs for a vector
# backend.  A backend this CPU cannot run exits 77 and ctest reports it as
# skipped, with the reason in its output.  UDC_GROUP_DIFF_SCALE=k for k
# times the random inputs.
add_executable(test_group_diff ${PROJECT_SOURCE_DIR}/tests/unit/test_group_diff.c ${UDC_GROUP_SRCS})
target_include_directories(test_group_diff PRIVATE ${UDC_COMMON_INCLUDE_DIRS})
target_link_libraries(test_group_diff PRIVATE PkgConfig::CMOCKA PkgConfig::SODIUM Threads::Threads)
# Sanitized builds (Debug, ASan): the portable backend is compiled -O2 in
# the tests (still instrumented; at -O0 it is some fifty times slower than
# at -O2, which made test_blind_portable take 20 minutes) and the
# differential tests check a twentieth of the random inputs (the test
# prints how many).
if(UDC_SANITIZE)
  set_source_files_properties(${PROJECT_SOURCE_DIR}/common/exact/group_portable.c
                              PROPERTIES COMPILE_OPTIONS "-O2")
  set(UDC_GROUP_DIFF_ENV "${UDC_TEST_ENV};UDC_GROUP_DIFF_SCALE=0.05")
  set(UDC_GROUP_SLOW_TIMEOUT 1500)
else()
  set(UDC_GROUP_DIFF_ENV "${UDC_TEST_ENV}")
  set(UDC_GROUP_SLOW_TIMEOUT 600)
endif()
foreach(b libsodium portable ifma ifma256)
  add_test(NAME test_group_diff_${b} COMMAND test_group_diff ${b})
  set_tests_properties(test_group_diff_${b} PROPERTIES TIMEOUT ${UDC_GROUP_SLOW_TIMEOUT}
                       ENVIRONMENT "${UDC_GROUP_DIFF_ENV}" LABELS unit SKIP_RETURN_CODE 77)
endforeach()

# Lane operations of the IFMA build against the portable build, and the
# field arithmetic of each vector build against a bignum reference at the
# edges of its bounds.  The ifma entry is skipped (77, with the reason)
# where the CPU lacks AVX-512 IFMA.
add_executable(test_group_lanes ${PROJECT_SOURCE_DIR}/tests/unit/test_group_lanes.c ${UDC_GROUP_SRCS})
target_include_directories(test_group_lanes PRIVATE ${UDC_COMMON_INCLUDE_DIRS})
target_link_libraries(test_group_lanes PRIVATE PkgConfig::CMOCKA PkgConfig::SODIUM Threads::Threads)
foreach(b portable ifma ifma256)
  add_test(NAME test_group_lanes_${b} COMMAND test_group_lanes ${b})
  set_tests_properties(test_group_lanes_${b} PROPERTIES TIMEOUT 300 ENVIRONMENT "${UDC_TEST_ENV}"
                       LABELS unit SKIP_RETURN_CODE 77)
endforeach()

# Dispatch: UDC_GROUP_BACKEND, the self-test, the fallback and its log line.
udc_unit_test(test_group_dispatch
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_group_dispatch.c ${UDC_GROUP_SRCS}
  LIBS PkgConfig::SODIUM Threads::Threads)

# Constant time, proven on the portable build: valgrind memcheck with the
# scalar, the points and the digests marked undefined fails on any branch
# or address that depends on them.  The three mutants carry a deliberate
# branch on a scalar digit, a table index by a digit and a branch on an
# input point: each must be caught, where it is, or the harness proves
# nothing.
find_program(UDC_VALGRIND valgrind)
set(UDC_CT_VALGRIND_ARGS --tool=memcheck --error-exitcode=1 --track-origins=yes
    --read-var-info=no --num-callers=8)
foreach(m 0 1 2 3)
  if(m EQUAL 0)
    set(t test_group_ct)
  elseif(m EQUAL 1)
    set(t test_group_ct_mutant_branch)
  elseif(m EQUAL 2)
    set(t test_group_ct_mutant_index)
  else()
    set(t test_group_ct_mutant_input)
  endif()
  add_executable(${t} ${PROJECT_SOURCE_DIR}/tests/unit/test_group_ct.c
    ${PROJECT_SOURCE_DIR}/common/exact/group_batch.c ${PROJECT_SOURCE_DIR}/common/exact/group_portable.c
    ${PROJECT_SOURCE_DIR}/common/exact/group_ifma.c ${PROJECT_SOURCE_DIR}/common/exact/group_ifma256.c
    ${PROJECT_SOURCE_DIR}/common/base/log.c
    ${PROJECT_SOURCE_DIR}/common/base/err.c)
  target_include_directories(${t} PRIVATE ${UDC_COMMON_INCLUDE_DIRS})
  target_compile_definitions(${t} PRIVATE UDC_GROUP_DECLASSIFY UDC_GROUP_CT_MUTANT=${m})
  target_link_libraries(${t} PRIVATE PkgConfig::SODIUM Threads::Threads)
  if(UDC_VALGRIND AND NOT UDC_SANITIZE)
    add_test(NAME ${t} COMMAND ${UDC_VALGRIND} ${UDC_CT_VALGRIND_ARGS} $<TARGET_FILE:${t}>)
  elseif(UDC_SANITIZE)
    # valgrind cannot run an ASan binary: says so and exits 77 (skipped);
    # the check runs in the plain build.
    add_test(NAME ${t} COMMAND ${t} --sanitized)
  else()
    # Says that valgrind is missing and exits 77: reported as skipped.
    add_test(NAME ${t} COMMAND ${t} --no-valgrind)
  endif()
  set_tests_properties(${t} PROPERTIES TIMEOUT 600 ENVIRONMENT "${UDC_TEST_ENV}" LABELS unit
                       SKIP_RETURN_CODE 77)
endforeach()
if(UDC_VALGRIND AND NOT UDC_SANITIZE)
  set_tests_properties(test_group_ct PROPERTIES
    FAIL_REGULAR_EXPRESSION "uninitialised;Invalid read;Invalid write")
  # Caught, and caught where the mutation is.
  set_tests_properties(test_group_ct_mutant_branch PROPERTIES
    PASS_REGULAR_EXPRESSION "Conditional jump or move depends on uninitialised value[^=]*=+[0-9]+=+ +at [^(]*ge_select")
  set_tests_properties(test_group_ct_mutant_index PROPERTIES
    PASS_REGULAR_EXPRESSION "Use of uninitialised value of size 8[^=]*=+[0-9]+=+ +at [^(]*ge_select")
  set_tests_properties(test_group_ct_mutant_input PROPERTIES
    PASS_REGULAR_EXPRESSION "Conditional jump or move depends on uninitialised value[^=]*=+[0-9]+=+ +at [^(]*enc_canonical")
endif()

# dudect-style timing (fixed against random scalars, Welch's t) of each
# backend this CPU runs, with libsodium alongside: a tool, not a test (a
# shared machine is too noisy to gate on; on an IFMA machine run
# "bench_group_timing 30" for the IFMA builds' figures).  The ctest entry
# runs it for 0.3 s per backend: the tool works, its timed outputs equal
# libsodium's, and the output names what this CPU could not measure (here:
# ifma and ifma256) and why.  It does not fail on t.
add_executable(bench_group_timing ${PROJECT_SOURCE_DIR}/tests/bench/bench_group_timing.c
  ${UDC_GROUP_SRCS})
target_include_directories(bench_group_timing PRIVATE ${UDC_COMMON_INCLUDE_DIRS})
target_link_libraries(bench_group_timing PRIVATE PkgConfig::SODIUM Threads::Threads m)
add_test(NAME bench_group_timing_smoke COMMAND bench_group_timing --smoke)
set_tests_properties(bench_group_timing_smoke PROPERTIES TIMEOUT 120 ENVIRONMENT "${UDC_TEST_ENV}"
                     LABELS unit)

# The self-test guard: a portable backend that gets one lane wrong must be
# refused, with libsodium used instead and one line logged.
add_executable(test_group_fallback ${PROJECT_SOURCE_DIR}/tests/unit/test_group_dispatch.c
  ${UDC_GROUP_SRCS})
target_include_directories(test_group_fallback PRIVATE ${UDC_COMMON_INCLUDE_DIRS})
target_compile_definitions(test_group_fallback PRIVATE UDC_TEST_BROKEN_PORTABLE
                           UDC_GROUP_PORTABLE_SYM=real_portable_impl)
target_link_libraries(test_group_fallback PRIVATE PkgConfig::CMOCKA PkgConfig::SODIUM Threads::Threads)
add_test(NAME test_group_fallback COMMAND test_group_fallback)
set_tests_properties(test_group_fallback PROPERTIES TIMEOUT 300 ENVIRONMENT "${UDC_TEST_ENV}" LABELS unit)

# The automatic choice on a CPU with IFMA, here: group_batch.c reads the
# emulated Ice Lake's CPUID and XCR0 values (UDC_GROUP_TEST_CPU) and the
# portable code stands in for the IFMA builds (group_ifma*.c not linked).
# Auto must take ifma; UDC_GROUP_BACKEND=libsodium must force libsodium.
add_executable(test_group_dispatch_ifmacpu ${PROJECT_SOURCE_DIR}/tests/unit/test_group_dispatch.c
  ${PROJECT_SOURCE_DIR}/common/exact/group_batch.c ${PROJECT_SOURCE_DIR}/common/exact/group_portable.c
  ${PROJECT_SOURCE_DIR}/common/base/log.c ${PROJECT_SOURCE_DIR}/common/base/err.c)
target_include_directories(test_group_dispatch_ifmacpu PRIVATE ${UDC_COMMON_INCLUDE_DIRS})
target_compile_definitions(test_group_dispatch_ifmacpu PRIVATE UDC_TEST_IFMA_CPU UDC_GROUP_TEST_CPU)
target_link_libraries(test_group_dispatch_ifmacpu PRIVATE PkgConfig::CMOCKA PkgConfig::SODIUM
                      Threads::Threads)
add_test(NAME test_group_dispatch_ifmacpu COMMAND test_group_dispatch_ifmacpu)
set_tests_properties(test_group_dispatch_ifmacpu PROPERTIES TIMEOUT 300 ENVIRONMENT "${UDC_TEST_ENV}"
                     LABELS unit)

# The users of the backend once more with it forced (the plain entries run
# the automatic choice: ifma where the CPU has it, libsodium elsewhere).
# Targets from crypto_table.cmake and link.cmake; names resolve at generate time.
foreach(b libsodium portable)
  foreach(t test_blind test_link)
    add_test(NAME ${t}_${b} COMMAND ${t})
    set_tests_properties(${t}_${b} PROPERTIES TIMEOUT ${UDC_GROUP_SLOW_TIMEOUT} LABELS unit
                         ENVIRONMENT "${UDC_TEST_ENV};UDC_GROUP_BACKEND=${b}")
  endforeach()
endforeach()

# The IFMA builds executed where the CPU has no IFMA: an emulated Ice Lake
# (bochs, corei7_icelake_u) boots a freestanding payload that checks both
# IFMA builds against the portable one (lanes, field) and on the RFC 9496
# known answers, then prints every input and output of a differential
# stream (the edge cases of test_group_diff.c and UDC_EMU_ROUNDS rounds of
# pseudo-random valid, from_hash, mul and hash_mul calls); group_emu/check.c
# compares each with libsodium on the host.  The payload is compiled with
# its own flags (no libc, no sanitizers) by group_emu/build.sh; without
# bochs the test says what it did not run and is skipped.  Emulation is
# slow (15-25 million instructions per second here): 128 rounds of cases of
# up to sixteen inputs, some 7,000 inputs per build, 45-90 s; the sanitized
# build, whose payload
# is the same unsanitized code, runs 16 rounds to sanitize check.c.
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64" AND CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
  find_program(UDC_BOCHS bochs-bin)
  find_program(UDC_AS as)
  if(UDC_SANITIZE)
    set(UDC_EMU_ROUNDS 16)
  else()
    set(UDC_EMU_ROUNDS 128)
  endif()
  set(UDC_EMU_DIR ${CMAKE_CURRENT_BINARY_DIR}/group_emu)
  set(UDC_EMU_SRC ${PROJECT_SOURCE_DIR}/tests/unit/group_emu)
  add_custom_command(OUTPUT ${UDC_EMU_DIR}/group_emu.img
    COMMAND sh ${UDC_EMU_SRC}/build.sh ${CMAKE_C_COMPILER} ${UDC_AS} ${CMAKE_LINKER}
            ${CMAKE_OBJCOPY} ${PROJECT_SOURCE_DIR} ${UDC_EMU_DIR} ${UDC_EMU_ROUNDS}
    DEPENDS ${UDC_EMU_SRC}/build.sh ${UDC_EMU_SRC}/boot.s ${UDC_EMU_SRC}/main.c
            ${UDC_EMU_SRC}/payload.ld ${UDC_EMU_SRC}/sodium.h ${UDC_EMU_SRC}/rfc9496.h
            ${PROJECT_SOURCE_DIR}/common/exact/group_core.inc
            ${PROJECT_SOURCE_DIR}/common/exact/group_impl.h
            ${PROJECT_SOURCE_DIR}/common/exact/group_portable.c
            ${PROJECT_SOURCE_DIR}/common/exact/group_ifma.c
            ${PROJECT_SOURCE_DIR}/common/exact/group_ifma256.c
            ${PROJECT_SOURCE_DIR}/common/exact/group_lane_portable.h
            ${PROJECT_SOURCE_DIR}/common/exact/group_lane_ifma.h
            ${PROJECT_SOURCE_DIR}/common/exact/group_lane_ifma256.h
    COMMENT "Building the IFMA check payload for bochs")
  add_custom_target(group_emu_image ALL DEPENDS ${UDC_EMU_DIR}/group_emu.img)
  # The host half: libsodium's answers for what the payload printed.
  add_executable(group_emu_check ${UDC_EMU_SRC}/check.c)
  target_link_libraries(group_emu_check PRIVATE PkgConfig::SODIUM)
  if(NOT UDC_BOCHS)
    set(UDC_BOCHS bochs-bin)
  endif()
  add_test(NAME test_group_ifma_emulated
           COMMAND sh ${UDC_EMU_SRC}/run.sh ${UDC_BOCHS} ${UDC_EMU_DIR}/group_emu.img
                   ${UDC_EMU_DIR}/run $<TARGET_FILE:group_emu_check> ${UDC_EMU_ROUNDS})
  set_tests_properties(test_group_ifma_emulated PROPERTIES TIMEOUT 1200 LABELS unit
                       SKIP_RETURN_CODE 77)
endif()
