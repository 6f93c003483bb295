udc_unit_test(test_ratelimit SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_ratelimit.c
  ${PROJECT_SOURCE_DIR}/common/base/ratelimit.c)
