# Benchmark of the fuzzy-mode matcher: 100,000 x 100,000 synthetic CLKs
# linked on every core.  Built with the tests, never run by ctest (its
# figures depend on the machine).  Run: bench_fuzzy [n_a [n_b [threshold]]].
add_executable(bench_fuzzy
  ${PROJECT_SOURCE_DIR}/tests/bench/bench_fuzzy.c ${PROJECT_SOURCE_DIR}/common/fuzzy.c
  ${PROJECT_SOURCE_DIR}/common/crypto/dice.c ${PROJECT_SOURCE_DIR}/common/workq.c
  ${PROJECT_SOURCE_DIR}/common/err.c)
target_include_directories(bench_fuzzy PRIVATE ${PROJECT_SOURCE_DIR}/common
                           ${PROJECT_SOURCE_DIR}/common/crypto)
target_link_libraries(bench_fuzzy PRIVATE Threads::Threads m)
