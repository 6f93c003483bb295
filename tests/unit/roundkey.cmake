# Unit test of the round's CLK secret and balanced filters
# (common/fuzzy/roundkey.c), against the derivations written out with
# libsodium calls.
udc_unit_test(test_roundkey
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_roundkey.c ${PROJECT_SOURCE_DIR}/common/fuzzy/roundkey.c
          ${PROJECT_SOURCE_DIR}/common/base/secmem.c ${PROJECT_SOURCE_DIR}/common/base/file.c ${PROJECT_SOURCE_DIR}/common/base/err.c
  LIBS PkgConfig::SODIUM)
