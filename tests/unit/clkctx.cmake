# Unit test of a round's CLK encoding context (common/fuzzy/clkctx.c):
# the clkhash vectors fed through it by field name, the handle, balanced
# filters, field scoring, refusals.
udc_unit_test(test_clkctx
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_clkctx.c ${PROJECT_SOURCE_DIR}/common/fuzzy/clkctx.c
          ${PROJECT_SOURCE_DIR}/common/fuzzy/clk.c ${PROJECT_SOURCE_DIR}/common/fuzzy/blake2b.c ${PROJECT_SOURCE_DIR}/common/fuzzy/roundkey.c
          ${PROJECT_SOURCE_DIR}/common/input/fields.c ${PROJECT_SOURCE_DIR}/common/input/normalize.c
          ${PROJECT_SOURCE_DIR}/common/base/rand.c ${PROJECT_SOURCE_DIR}/common/base/secmem.c ${PROJECT_SOURCE_DIR}/common/base/file.c
          ${PROJECT_SOURCE_DIR}/common/base/err.c
  LIBS PkgConfig::SODIUM OpenSSL::Crypto PkgConfig::JANSSON PkgConfig::UTF8PROC m)
