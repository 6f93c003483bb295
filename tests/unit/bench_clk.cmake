# Benchmark of the fuzzy-mode crypto (CLK encodings, Dice comparisons per
# path): built with the tests, never run by ctest (its figures depend on the
# machine).  Run: bench_clk [seconds-per-measurement].
add_executable(bench_clk
  ${PROJECT_SOURCE_DIR}/tests/bench/bench_clk.c ${PROJECT_SOURCE_DIR}/common/fuzzy/clk.c ${PROJECT_SOURCE_DIR}/common/fuzzy/blake2b.c ${PROJECT_SOURCE_DIR}/common/base/secmem.c ${PROJECT_SOURCE_DIR}/common/base/file.c
  ${PROJECT_SOURCE_DIR}/common/fuzzy/dice.c ${PROJECT_SOURCE_DIR}/common/base/err.c)
target_include_directories(bench_clk PRIVATE ${UDC_COMMON_INCLUDE_DIRS})
target_link_libraries(bench_clk PRIVATE PkgConfig::SODIUM OpenSSL::Crypto PkgConfig::JANSSON
                      PkgConfig::UTF8PROC m)
target_compile_definitions(bench_clk PRIVATE
                           UDC_BENCH_VECTORS="${PROJECT_SOURCE_DIR}/tests/vectors/clkhash")
