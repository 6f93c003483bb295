# Where the time of one blinding goes (validation, scalar multiplication,
# SHA-512, from_hash), one core: built with the tests, never run by ctest
# (its figures depend on the machine).  Run: bench_blind [seconds per figure].
add_executable(bench_blind
  ${PROJECT_SOURCE_DIR}/tests/bench/bench_blind.c ${PROJECT_SOURCE_DIR}/common/exact/blind.c ${UDC_GROUP_SRCS} ${PROJECT_SOURCE_DIR}/common/base/secmem.c ${PROJECT_SOURCE_DIR}/common/base/file.c
  ${PROJECT_SOURCE_DIR}/common/base/workq.c ${PROJECT_SOURCE_DIR}/common/base/rand.c
  ${PROJECT_SOURCE_DIR}/common/base/err.c)
target_include_directories(bench_blind PRIVATE ${UDC_COMMON_INCLUDE_DIRS})
target_link_libraries(bench_blind PRIVATE PkgConfig::SODIUM Threads::Threads)
