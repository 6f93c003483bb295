# Unit test of the fuzzy-mode matcher: blocking against exhaustive comparison,
# 1:1 greedy resolution against brute force, quality on the anonlink tutorial
# data (tests/vectors/anonlink).  UDC_FUZZY_TEST_SCALE=N shrinks the synthetic
# sets N times (for valgrind).
udc_unit_test(test_fuzzy
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_fuzzy.c ${PROJECT_SOURCE_DIR}/common/fuzzy/fuzzy.c ${PROJECT_SOURCE_DIR}/common/fuzzy/fjoin.c ${PROJECT_SOURCE_DIR}/common/fuzzy/scoremodel.c
          ${PROJECT_SOURCE_DIR}/common/fuzzy/dice.c ${PROJECT_SOURCE_DIR}/common/fuzzy/clk.c ${PROJECT_SOURCE_DIR}/common/fuzzy/blake2b.c ${PROJECT_SOURCE_DIR}/common/base/secmem.c ${PROJECT_SOURCE_DIR}/common/base/file.c
          ${PROJECT_SOURCE_DIR}/common/base/workq.c ${PROJECT_SOURCE_DIR}/common/input/csv.c
          ${PROJECT_SOURCE_DIR}/common/base/err.c
  LIBS PkgConfig::SODIUM OpenSSL::Crypto PkgConfig::JANSSON PkgConfig::UTF8PROC Threads::Threads m)
# The join-versus-exhaustive and model tests take over a minute in a normal
# build; under the sanitizers (3-5x slower) the synthetic sets are halved.
set_tests_properties(test_fuzzy PROPERTIES TIMEOUT 900)
if(UDC_SANITIZE)
  set_property(TEST test_fuzzy APPEND PROPERTY ENVIRONMENT UDC_FUZZY_TEST_SCALE=2)
endif()
