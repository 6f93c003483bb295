# Micro-benchmark of the exact-mode crypto: built with the tests, never run by
# ctest (its figures depend on the machine).  Run: bench_crypto [seconds].
add_executable(bench_crypto
  ${PROJECT_SOURCE_DIR}/tests/bench/bench_crypto.c ${PROJECT_SOURCE_DIR}/common/exact/blind.c ${UDC_GROUP_SRCS} ${PROJECT_SOURCE_DIR}/common/base/secmem.c ${PROJECT_SOURCE_DIR}/common/base/file.c
  ${PROJECT_SOURCE_DIR}/common/base/workq.c ${PROJECT_SOURCE_DIR}/common/base/rand.c
  ${PROJECT_SOURCE_DIR}/common/base/err.c)
target_include_directories(bench_crypto PRIVATE ${UDC_COMMON_INCLUDE_DIRS})
target_link_libraries(bench_crypto PRIVATE PkgConfig::SODIUM Threads::Threads)
