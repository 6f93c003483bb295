# A proposal for common/exact/blist.c dedupe_key (a table of 32-bit indices instead
# of a sorted copy of the points), measured against a copy of the current
# code.  Built with the tests, never run by ctest.  Run: bench_dedupe [records].
add_executable(bench_dedupe ${PROJECT_SOURCE_DIR}/tests/bench/bench_dedupe.c)
