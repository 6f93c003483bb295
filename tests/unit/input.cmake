# Unit tests of the input path: CSV reader, normalisation, record building.
udc_unit_test(test_csv
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_csv.c ${PROJECT_SOURCE_DIR}/common/input/csv.c
          ${PROJECT_SOURCE_DIR}/common/base/err.c
  LIBS PkgConfig::SODIUM PkgConfig::UTF8PROC)
udc_unit_test(test_normalize
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_normalize.c
          ${PROJECT_SOURCE_DIR}/common/input/normalize.c ${PROJECT_SOURCE_DIR}/common/input/fields.c
          ${PROJECT_SOURCE_DIR}/common/base/err.c
  LIBS PkgConfig::UTF8PROC)
udc_unit_test(test_input
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_input.c ${PROJECT_SOURCE_DIR}/common/input/input.c
          ${PROJECT_SOURCE_DIR}/common/input/csv.c ${PROJECT_SOURCE_DIR}/common/input/normalize.c
          ${PROJECT_SOURCE_DIR}/common/input/fields.c ${PROJECT_SOURCE_DIR}/common/config/spec_index.c
          ${PROJECT_SOURCE_DIR}/common/base/err.c ${PROJECT_SOURCE_DIR}/common/base/log.c
  LIBS PkgConfig::SODIUM PkgConfig::UTF8PROC Threads::Threads)
