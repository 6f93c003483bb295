udc_unit_test(test_backoff SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_backoff.c)
