# Unit test of the CBS node's linkage in fuzzy and combined modes
# (common/fuzzy/linkage.c): exact keys first, then Dice, on lists built by
# hand; and on generated lists (scripts/gen-population, 20,000 persons, made
# by the fixture linkage_data) read and encoded as the nodes do: the feature
# join loses no link of comparing every pair, threshold = auto meets its
# target with estimates close to the truth.
udc_unit_test(test_linkage
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_linkage.c ${PROJECT_SOURCE_DIR}/common/fuzzy/linkage.c
          ${PROJECT_SOURCE_DIR}/common/fuzzy/fjoin.c ${PROJECT_SOURCE_DIR}/common/fuzzy/scoremodel.c
          ${PROJECT_SOURCE_DIR}/common/fuzzy/fuzzy.c ${PROJECT_SOURCE_DIR}/common/fuzzy/dice.c
          ${PROJECT_SOURCE_DIR}/common/fuzzy/clk.c ${PROJECT_SOURCE_DIR}/common/fuzzy/blake2b.c ${PROJECT_SOURCE_DIR}/common/fuzzy/clkctx.c
          ${PROJECT_SOURCE_DIR}/common/fuzzy/roundkey.c
          ${PROJECT_SOURCE_DIR}/common/exact/link.c ${PROJECT_SOURCE_DIR}/common/exact/blist.c
          ${PROJECT_SOURCE_DIR}/common/exact/blind.c ${UDC_GROUP_SRCS} ${PROJECT_SOURCE_DIR}/common/base/rand.c
          ${PROJECT_SOURCE_DIR}/common/base/secmem.c ${PROJECT_SOURCE_DIR}/common/base/file.c ${PROJECT_SOURCE_DIR}/common/base/workq.c
          ${PROJECT_SOURCE_DIR}/common/input/input.c ${PROJECT_SOURCE_DIR}/common/input/csv.c
          ${PROJECT_SOURCE_DIR}/common/input/normalize.c ${PROJECT_SOURCE_DIR}/common/input/fields.c
          ${PROJECT_SOURCE_DIR}/common/config/spec.c ${PROJECT_SOURCE_DIR}/common/config/spec_index.c
          ${PROJECT_SOURCE_DIR}/common/config/iniread.c
          ${PROJECT_SOURCE_DIR}/common/base/log.c ${PROJECT_SOURCE_DIR}/common/base/err.c
  LIBS PkgConfig::SODIUM PkgConfig::UTF8PROC PkgConfig::INIH PkgConfig::JANSSON OpenSSL::Crypto
       Threads::Threads m)
set(UDC_LINKAGE_DATA ${PROJECT_BINARY_DIR}/tests/linkage-data)
add_test(NAME linkage_data
  COMMAND ${CMAKE_COMMAND} -E env ${PROJECT_SOURCE_DIR}/scripts/gen-population --persons 20000
          --seed 5 --out-gemeente ${UDC_LINKAGE_DATA}/gemeente.csv
          --out-cbs ${UDC_LINKAGE_DATA}/cbs.csv)
set_tests_properties(linkage_data PROPERTIES FIXTURES_SETUP linkage_data LABELS unit TIMEOUT 120)
set_tests_properties(test_linkage PROPERTIES FIXTURES_REQUIRED linkage_data TIMEOUT 900)
set_property(TEST test_linkage APPEND PROPERTY ENVIRONMENT "UDC_LINKAGE_DATA=${UDC_LINKAGE_DATA}")
file(MAKE_DIRECTORY ${UDC_LINKAGE_DATA})
