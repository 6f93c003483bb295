# Unit tests of the report (common/report/): intervals against the truth of
# random tables, shares against brute force, the documents, the
# configuration and the CSV, malformed input refused with file and line.
udc_unit_test(test_report
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_report.c
          ${PROJECT_SOURCE_DIR}/common/report/bounds.c ${PROJECT_SOURCE_DIR}/common/report/released.c
          ${PROJECT_SOURCE_DIR}/common/report/reportconf.c ${PROJECT_SOURCE_DIR}/common/report/indicators.c
          ${PROJECT_SOURCE_DIR}/common/report/geomap.c ${PROJECT_SOURCE_DIR}/common/report/html.c
          ${PROJECT_SOURCE_DIR}/common/report/report.c ${PROJECT_SOURCE_DIR}/common/config/iniread.c
          ${PROJECT_SOURCE_DIR}/common/input/csv.c ${PROJECT_SOURCE_DIR}/common/base/err.c ${PROJECT_SOURCE_DIR}/common/base/file.c ${PROJECT_SOURCE_DIR}/common/base/secmem.c
  LIBS PkgConfig::INIH PkgConfig::JANSSON PkgConfig::SODIUM PkgConfig::UTF8PROC m)
