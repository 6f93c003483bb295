# Unit tests of the fuzzy-mode crypto: the clkhash-compatible CLK encoder
# (every vector in tests/vectors/clkhash) and the Dice kernels (every code
# path this CPU can run; the others are reported as skipped).
udc_unit_test(test_clk
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_clk.c ${PROJECT_SOURCE_DIR}/common/fuzzy/clk.c ${PROJECT_SOURCE_DIR}/common/fuzzy/blake2b.c ${PROJECT_SOURCE_DIR}/common/base/secmem.c ${PROJECT_SOURCE_DIR}/common/base/file.c
          ${PROJECT_SOURCE_DIR}/common/base/err.c
  LIBS PkgConfig::SODIUM OpenSSL::Crypto PkgConfig::JANSSON PkgConfig::UTF8PROC m)
udc_unit_test(test_dice
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_dice.c ${PROJECT_SOURCE_DIR}/common/fuzzy/dice.c
          ${PROJECT_SOURCE_DIR}/common/base/err.c)
