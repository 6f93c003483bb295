# Benchmark of field scoring on generated city lists read and encoded as the
# nodes do (the feature join against comparing every pair): built with the
# tests, never run by ctest.  Run: bench_fields G.csv C.csv SCHEMA THRESHOLD [mode].
add_executable(bench_fields ${PROJECT_SOURCE_DIR}/tests/bench/bench_fields.c)
target_link_libraries(bench_fields PRIVATE udccommon)
