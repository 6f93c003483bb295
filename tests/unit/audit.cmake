# Unit tests of the operator keys (common/sign.c) and the audit log
# (common/audit.c).
udc_unit_test(test_sign
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_sign.c ${PROJECT_SOURCE_DIR}/common/sign.c
          ${PROJECT_SOURCE_DIR}/common/secmem.c ${PROJECT_SOURCE_DIR}/common/err.c
  LIBS PkgConfig::SODIUM)
udc_unit_test(test_audit
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_audit.c ${PROJECT_SOURCE_DIR}/common/audit.c
          ${PROJECT_SOURCE_DIR}/common/sign.c ${PROJECT_SOURCE_DIR}/common/secmem.c
          ${PROJECT_SOURCE_DIR}/common/err.c
  LIBS PkgConfig::SODIUM PkgConfig::JANSSON Threads::Threads)
