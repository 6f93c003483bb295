# Unit tests of disclosure control: suppression, rounding, noise, ledger,
# (the release history: test_history).
udc_unit_test(test_disclosure
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_disclosure.c
          ${PROJECT_SOURCE_DIR}/common/release/disclosure.c ${PROJECT_SOURCE_DIR}/common/release/bipartite.c
          ${PROJECT_SOURCE_DIR}/common/release/table.c
          ${PROJECT_SOURCE_DIR}/common/config/spec_index.c ${PROJECT_SOURCE_DIR}/common/base/rand.c
          ${PROJECT_SOURCE_DIR}/common/node/store.c ${PROJECT_SOURCE_DIR}/common/base/file.c ${PROJECT_SOURCE_DIR}/common/base/secmem.c ${PROJECT_SOURCE_DIR}/common/node/statepath.c ${PROJECT_SOURCE_DIR}/common/base/err.c
  LIBS PkgConfig::SODIUM m)
target_compile_definitions(test_disclosure PRIVATE UDC_SOURCE_DIR_DEF="${PROJECT_SOURCE_DIR}")
