# Unit tests of the crypto and counting modules: rand, secmem, workq, blind, table.
udc_unit_test(test_rand
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_rand.c ${PROJECT_SOURCE_DIR}/common/base/rand.c
  LIBS PkgConfig::SODIUM)
udc_unit_test(test_secmem
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_secmem.c ${PROJECT_SOURCE_DIR}/common/base/secmem.c ${PROJECT_SOURCE_DIR}/common/base/file.c
          ${PROJECT_SOURCE_DIR}/common/base/err.c
  LIBS PkgConfig::SODIUM)
udc_unit_test(test_workq
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_workq.c ${PROJECT_SOURCE_DIR}/common/base/workq.c
          ${PROJECT_SOURCE_DIR}/common/base/err.c
  LIBS Threads::Threads)
udc_unit_test(test_blind
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_blind.c ${PROJECT_SOURCE_DIR}/common/exact/blind.c ${UDC_GROUP_SRCS}
          ${PROJECT_SOURCE_DIR}/common/base/workq.c ${PROJECT_SOURCE_DIR}/common/base/rand.c
          ${PROJECT_SOURCE_DIR}/common/base/secmem.c ${PROJECT_SOURCE_DIR}/common/base/file.c ${PROJECT_SOURCE_DIR}/common/base/err.c
  LIBS PkgConfig::SODIUM Threads::Threads)
udc_unit_test(test_table
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_table.c ${PROJECT_SOURCE_DIR}/common/release/table.c
          ${PROJECT_SOURCE_DIR}/common/config/spec_index.c ${PROJECT_SOURCE_DIR}/common/base/err.c)
