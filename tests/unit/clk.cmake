# Unit tests of the fuzzy-mode crypto: the clkhash-compatible CLK encoder
# (every vector in tests/vectors/clkhash) and the Dice kernels (every code
# path this CPU can run; the others are reported as skipped).
udc_unit_test(test_clk
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_clk.c ${PROJECT_SOURCE_DIR}/common/crypto/clk.c ${PROJECT_SOURCE_DIR}/common/secmem.c
          ${PROJECT_SOURCE_DIR}/common/err.c
  LIBS PkgConfig::SODIUM OpenSSL::Crypto PkgConfig::JANSSON PkgConfig::UTF8PROC m)
udc_unit_test(test_dice
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_dice.c ${PROJECT_SOURCE_DIR}/common/crypto/dice.c
          ${PROJECT_SOURCE_DIR}/common/err.c)
