udc_unit_test(test_wire SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_wire.c
  ${PROJECT_SOURCE_DIR}/common/node/wire.c ${PROJECT_SOURCE_DIR}/common/base/err.c
  LIBS udcproto)
