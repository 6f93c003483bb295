# Unit tests of the operator keys (common/governance/sign.c) and the audit log
# (common/governance/audit.c).
udc_unit_test(test_sign
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_sign.c ${PROJECT_SOURCE_DIR}/common/governance/sign.c
          ${PROJECT_SOURCE_DIR}/common/base/secmem.c ${PROJECT_SOURCE_DIR}/common/base/file.c ${PROJECT_SOURCE_DIR}/common/base/err.c
  LIBS PkgConfig::SODIUM)
udc_unit_test(test_audit
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_audit.c ${PROJECT_SOURCE_DIR}/common/governance/audit.c
          ${PROJECT_SOURCE_DIR}/common/governance/sign.c ${PROJECT_SOURCE_DIR}/common/base/secmem.c ${PROJECT_SOURCE_DIR}/common/base/file.c
          ${PROJECT_SOURCE_DIR}/common/base/err.c
  LIBS PkgConfig::SODIUM PkgConfig::JANSSON Threads::Threads)
