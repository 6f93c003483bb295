# Unit test of the round metadata (common/release/result.c): the input
# report's wire form, the linkage report in the released JSON.
udc_unit_test(test_result
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_result.c ${PROJECT_SOURCE_DIR}/common/release/result.c
          ${PROJECT_SOURCE_DIR}/common/release/table.c ${PROJECT_SOURCE_DIR}/common/release/linked.c ${PROJECT_SOURCE_DIR}/common/release/magest.c
          ${PROJECT_SOURCE_DIR}/common/release/history.c ${PROJECT_SOURCE_DIR}/common/release/protect.c
          ${PROJECT_SOURCE_DIR}/common/release/lpaudit.c ${PROJECT_SOURCE_DIR}/common/release/bipartite.c
          ${PROJECT_SOURCE_DIR}/common/release/disclosure.c ${PROJECT_SOURCE_DIR}/common/node/store.c ${PROJECT_SOURCE_DIR}/common/node/statepath.c
          ${PROJECT_SOURCE_DIR}/common/base/rand.c
          ${PROJECT_SOURCE_DIR}/common/input/input.c
          ${PROJECT_SOURCE_DIR}/common/input/csv.c ${PROJECT_SOURCE_DIR}/common/input/fields.c
          ${PROJECT_SOURCE_DIR}/common/input/normalize.c ${PROJECT_SOURCE_DIR}/common/config/spec.c
          ${PROJECT_SOURCE_DIR}/common/config/spec_index.c ${PROJECT_SOURCE_DIR}/common/config/iniread.c
          ${PROJECT_SOURCE_DIR}/common/fuzzy/clk.c ${PROJECT_SOURCE_DIR}/common/fuzzy/blake2b.c ${PROJECT_SOURCE_DIR}/common/base/secmem.c ${PROJECT_SOURCE_DIR}/common/base/file.c
          ${PROJECT_SOURCE_DIR}/common/base/log.c ${PROJECT_SOURCE_DIR}/common/base/err.c
  LIBS udcproto GLPK::GLPK PkgConfig::JANSSON PkgConfig::UTF8PROC PkgConfig::INIH PkgConfig::SODIUM
       OpenSSL::Crypto Threads::Threads m)
