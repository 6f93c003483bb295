# Benchmark of the fuzzy-mode matcher: 100,000 x 100,000 synthetic CLKs
# linked on every core.  Built with the tests, never run by ctest (its
# figures depend on the machine).  Run: bench_fuzzy [n_a [n_b [threshold]]].
add_executable(bench_fuzzy
  ${PROJECT_SOURCE_DIR}/tests/bench/bench_fuzzy.c ${PROJECT_SOURCE_DIR}/common/fuzzy/fuzzy.c ${PROJECT_SOURCE_DIR}/common/fuzzy/fjoin.c
  ${PROJECT_SOURCE_DIR}/common/fuzzy/dice.c ${PROJECT_SOURCE_DIR}/common/base/workq.c
  ${PROJECT_SOURCE_DIR}/common/base/err.c)
target_include_directories(bench_fuzzy PRIVATE ${UDC_COMMON_INCLUDE_DIRS})
target_link_libraries(bench_fuzzy PRIVATE Threads::Threads m)
