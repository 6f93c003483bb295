# Micro-benchmark of the exact-mode crypto: built with the tests, never run by
# ctest (its figures depend on the machine).  Run: bench_crypto [seconds].
add_executable(bench_crypto
  ${PROJECT_SOURCE_DIR}/tests/bench/bench_crypto.c ${PROJECT_SOURCE_DIR}/common/crypto/blind.c ${PROJECT_SOURCE_DIR}/common/secmem.c
  ${PROJECT_SOURCE_DIR}/common/workq.c ${PROJECT_SOURCE_DIR}/common/rand.c
  ${PROJECT_SOURCE_DIR}/common/err.c)
target_include_directories(bench_crypto PRIVATE ${PROJECT_SOURCE_DIR}/common
                           ${PROJECT_SOURCE_DIR}/common/crypto)
target_link_libraries(bench_crypto PRIVATE PkgConfig::SODIUM Threads::Threads)
