udc_unit_test(test_link SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_link.c
  ${PROJECT_SOURCE_DIR}/common/exact/link.c ${PROJECT_SOURCE_DIR}/common/exact/blist.c
  ${PROJECT_SOURCE_DIR}/common/release/table.c ${PROJECT_SOURCE_DIR}/common/config/spec_index.c
  ${PROJECT_SOURCE_DIR}/common/exact/blind.c ${UDC_GROUP_SRCS} ${PROJECT_SOURCE_DIR}/common/base/rand.c
  ${PROJECT_SOURCE_DIR}/common/base/secmem.c ${PROJECT_SOURCE_DIR}/common/base/file.c ${PROJECT_SOURCE_DIR}/common/base/workq.c
  ${PROJECT_SOURCE_DIR}/common/input/input.c ${PROJECT_SOURCE_DIR}/common/input/csv.c
  ${PROJECT_SOURCE_DIR}/common/input/normalize.c ${PROJECT_SOURCE_DIR}/common/input/fields.c
  ${PROJECT_SOURCE_DIR}/common/base/log.c ${PROJECT_SOURCE_DIR}/common/base/err.c
  LIBS PkgConfig::SODIUM PkgConfig::UTF8PROC Threads::Threads)
