# Unit tests of the release history (common/release/history.c): entry keys
# written out by hand, differences, the stored release, a damaged file.
udc_unit_test(test_history
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_history.c
          ${PROJECT_SOURCE_DIR}/common/release/history.c
          ${PROJECT_SOURCE_DIR}/common/config/spec.c ${PROJECT_SOURCE_DIR}/common/config/iniread.c
          ${PROJECT_SOURCE_DIR}/common/config/spec_index.c ${PROJECT_SOURCE_DIR}/common/input/fields.c ${PROJECT_SOURCE_DIR}/common/input/normalize.c
          ${PROJECT_SOURCE_DIR}/common/fuzzy/clk.c ${PROJECT_SOURCE_DIR}/common/fuzzy/blake2b.c ${PROJECT_SOURCE_DIR}/common/base/secmem.c ${PROJECT_SOURCE_DIR}/common/base/file.c
          ${PROJECT_SOURCE_DIR}/common/node/store.c ${PROJECT_SOURCE_DIR}/common/node/statepath.c ${PROJECT_SOURCE_DIR}/common/base/err.c
  LIBS PkgConfig::INIH PkgConfig::SODIUM PkgConfig::JANSSON PkgConfig::UTF8PROC OpenSSL::Crypto m)
