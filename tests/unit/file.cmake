# Unit tests of the one whole-file reader and the one atomic writer
# (common/base/file.c).
udc_unit_test(test_file
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_file.c ${PROJECT_SOURCE_DIR}/common/base/file.c
          ${PROJECT_SOURCE_DIR}/common/base/secmem.c ${PROJECT_SOURCE_DIR}/common/base/err.c
  LIBS PkgConfig::SODIUM)
