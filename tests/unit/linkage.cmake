# Unit test of the CBS node's linkage in fuzzy and combined modes
# (common/fuzzy/linkage.c): exact keys first, then Dice, on lists built by hand.
udc_unit_test(test_linkage
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_linkage.c ${PROJECT_SOURCE_DIR}/common/fuzzy/linkage.c ${PROJECT_SOURCE_DIR}/common/fuzzy/fjoin.c
          ${PROJECT_SOURCE_DIR}/common/fuzzy/fuzzy.c ${PROJECT_SOURCE_DIR}/common/fuzzy/dice.c
          ${PROJECT_SOURCE_DIR}/common/exact/link.c ${PROJECT_SOURCE_DIR}/common/exact/blist.c
          ${PROJECT_SOURCE_DIR}/common/exact/blind.c ${PROJECT_SOURCE_DIR}/common/base/rand.c
          ${PROJECT_SOURCE_DIR}/common/base/secmem.c ${PROJECT_SOURCE_DIR}/common/base/workq.c
          ${PROJECT_SOURCE_DIR}/common/input/input.c ${PROJECT_SOURCE_DIR}/common/input/csv.c
          ${PROJECT_SOURCE_DIR}/common/input/normalize.c ${PROJECT_SOURCE_DIR}/common/input/fields.c
          ${PROJECT_SOURCE_DIR}/common/config/spec_index.c
          ${PROJECT_SOURCE_DIR}/common/base/log.c ${PROJECT_SOURCE_DIR}/common/base/err.c
  LIBS PkgConfig::SODIUM PkgConfig::UTF8PROC Threads::Threads m)
