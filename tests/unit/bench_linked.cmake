# Benchmark of disclosure control on large and linked tables: the legacy
# 65535 x 64 table, the same shape as a linked two-way table with an LP
# audit of a sample, the Den Haag study at 10,000 and 100,000 children.
# Built with the tests, never run by ctest (its figures depend on the
# machine).  Run from the source tree: bench_linked [children...].
add_executable(bench_linked ${PROJECT_SOURCE_DIR}/tests/bench/bench_linked.c)
target_link_libraries(bench_linked PRIVATE udccommon)
