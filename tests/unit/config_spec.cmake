# Unit tests of the node configuration (common/config.c) and the round spec
# (common/spec.c, common/spec_index.c).
udc_unit_test(test_config
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_config.c ${PROJECT_SOURCE_DIR}/common/config.c ${PROJECT_SOURCE_DIR}/common/iniread.c
          ${PROJECT_SOURCE_DIR}/common/fields.c ${PROJECT_SOURCE_DIR}/common/log.c
          ${PROJECT_SOURCE_DIR}/common/err.c
  LIBS PkgConfig::INIH Threads::Threads)
udc_unit_test(test_spec
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_spec.c ${PROJECT_SOURCE_DIR}/common/spec.c ${PROJECT_SOURCE_DIR}/common/iniread.c
          ${PROJECT_SOURCE_DIR}/common/spec_index.c ${PROJECT_SOURCE_DIR}/common/fields.c
          ${PROJECT_SOURCE_DIR}/common/crypto/clk.c ${PROJECT_SOURCE_DIR}/common/secmem.c ${PROJECT_SOURCE_DIR}/common/err.c
  LIBS PkgConfig::INIH PkgConfig::SODIUM PkgConfig::JANSSON PkgConfig::UTF8PROC OpenSSL::Crypto)
