# Unit tests of the input path: CSV reader, normalisation, record building.
udc_unit_test(test_csv
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_csv.c ${PROJECT_SOURCE_DIR}/common/csv.c
          ${PROJECT_SOURCE_DIR}/common/err.c
  LIBS PkgConfig::UTF8PROC)
udc_unit_test(test_normalize
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_normalize.c
          ${PROJECT_SOURCE_DIR}/common/normalize.c
  LIBS PkgConfig::UTF8PROC)
udc_unit_test(test_input
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_input.c ${PROJECT_SOURCE_DIR}/common/input.c
          ${PROJECT_SOURCE_DIR}/common/csv.c ${PROJECT_SOURCE_DIR}/common/normalize.c
          ${PROJECT_SOURCE_DIR}/common/fields.c ${PROJECT_SOURCE_DIR}/common/spec_index.c
          ${PROJECT_SOURCE_DIR}/common/err.c ${PROJECT_SOURCE_DIR}/common/log.c
  LIBS PkgConfig::UTF8PROC Threads::Threads)
