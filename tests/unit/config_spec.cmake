# Unit tests of the node configuration (common/config/config.c) and the round spec
# (common/config/spec.c, common/config/spec_index.c).
udc_unit_test(test_config
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_config.c ${PROJECT_SOURCE_DIR}/common/config/config.c ${PROJECT_SOURCE_DIR}/common/config/iniread.c
          ${PROJECT_SOURCE_DIR}/common/input/fields.c ${PROJECT_SOURCE_DIR}/common/input/normalize.c
          ${PROJECT_SOURCE_DIR}/common/base/log.c ${PROJECT_SOURCE_DIR}/common/base/err.c
  LIBS PkgConfig::INIH PkgConfig::UTF8PROC Threads::Threads)
udc_unit_test(test_spec
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_spec.c ${PROJECT_SOURCE_DIR}/common/config/spec.c ${PROJECT_SOURCE_DIR}/common/config/iniread.c
          ${PROJECT_SOURCE_DIR}/common/config/spec_index.c ${PROJECT_SOURCE_DIR}/common/input/fields.c
          ${PROJECT_SOURCE_DIR}/common/input/normalize.c ${PROJECT_SOURCE_DIR}/common/fuzzy/clk.c ${PROJECT_SOURCE_DIR}/common/fuzzy/blake2b.c ${PROJECT_SOURCE_DIR}/common/base/secmem.c ${PROJECT_SOURCE_DIR}/common/base/file.c ${PROJECT_SOURCE_DIR}/common/base/err.c
  LIBS PkgConfig::INIH PkgConfig::SODIUM PkgConfig::JANSSON PkgConfig::UTF8PROC OpenSSL::Crypto)
