udc_unit_test(test_link SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_link.c
  ${PROJECT_SOURCE_DIR}/common/link.c ${PROJECT_SOURCE_DIR}/common/blist.c
  ${PROJECT_SOURCE_DIR}/common/table.c ${PROJECT_SOURCE_DIR}/common/spec_index.c
  ${PROJECT_SOURCE_DIR}/common/crypto/blind.c ${PROJECT_SOURCE_DIR}/common/rand.c
  ${PROJECT_SOURCE_DIR}/common/secmem.c ${PROJECT_SOURCE_DIR}/common/workq.c
  ${PROJECT_SOURCE_DIR}/common/input.c ${PROJECT_SOURCE_DIR}/common/csv.c
  ${PROJECT_SOURCE_DIR}/common/normalize.c ${PROJECT_SOURCE_DIR}/common/fields.c
  ${PROJECT_SOURCE_DIR}/common/log.c ${PROJECT_SOURCE_DIR}/common/err.c
  LIBS PkgConfig::SODIUM PkgConfig::UTF8PROC Threads::Threads)
