# Unit tests of disclosure control: suppression, rounding, noise, ledger,
# release store.
udc_unit_test(test_disclosure
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_disclosure.c
          ${PROJECT_SOURCE_DIR}/common/disclosure.c ${PROJECT_SOURCE_DIR}/common/table.c
          ${PROJECT_SOURCE_DIR}/common/spec_index.c ${PROJECT_SOURCE_DIR}/common/rand.c
          ${PROJECT_SOURCE_DIR}/common/store.c ${PROJECT_SOURCE_DIR}/common/err.c
  LIBS PkgConfig::SODIUM m)
target_compile_definitions(test_disclosure PRIVATE UDC_SOURCE_DIR_DEF="${PROJECT_SOURCE_DIR}")
