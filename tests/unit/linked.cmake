# Unit tests of linked tables (common/release/linked.c, protect.c,
# lpaudit.c, bipartite.c): values against an independent reading of the
# spec, suppression judged by an LP the test builds itself (GLPK), the
# shared-margin leak of tables protected alone, magnitudes, noise.
udc_unit_test(test_linked
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_linked.c
          ${PROJECT_SOURCE_DIR}/common/release/linked.c ${PROJECT_SOURCE_DIR}/common/release/magest.c ${PROJECT_SOURCE_DIR}/common/release/history.c ${PROJECT_SOURCE_DIR}/common/release/protect.c
          ${PROJECT_SOURCE_DIR}/common/release/lpaudit.c ${PROJECT_SOURCE_DIR}/common/release/bipartite.c
          ${PROJECT_SOURCE_DIR}/common/release/disclosure.c ${PROJECT_SOURCE_DIR}/common/release/table.c
          ${PROJECT_SOURCE_DIR}/common/config/spec.c ${PROJECT_SOURCE_DIR}/common/config/iniread.c
          ${PROJECT_SOURCE_DIR}/common/config/spec_index.c ${PROJECT_SOURCE_DIR}/common/input/fields.c ${PROJECT_SOURCE_DIR}/common/input/normalize.c
          ${PROJECT_SOURCE_DIR}/common/fuzzy/clk.c ${PROJECT_SOURCE_DIR}/common/fuzzy/blake2b.c ${PROJECT_SOURCE_DIR}/common/base/secmem.c ${PROJECT_SOURCE_DIR}/common/base/file.c
          ${PROJECT_SOURCE_DIR}/common/base/rand.c ${PROJECT_SOURCE_DIR}/common/node/store.c ${PROJECT_SOURCE_DIR}/common/node/statepath.c
          ${PROJECT_SOURCE_DIR}/common/base/err.c
  LIBS GLPK::GLPK PkgConfig::INIH PkgConfig::SODIUM PkgConfig::JANSSON PkgConfig::UTF8PROC
       OpenSSL::Crypto m)
# Unit tests of the two-way protection engine (common/release/bipartite.c):
# every certificate checked by hand-rolled arithmetic, intervals judged by
# an LP the test builds itself.
udc_unit_test(test_bipartite
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_bipartite.c
          ${PROJECT_SOURCE_DIR}/common/release/bipartite.c ${PROJECT_SOURCE_DIR}/common/base/err.c
  LIBS GLPK::GLPK m)
