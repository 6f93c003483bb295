# Unit tests of the state directory (common/node/store.c) and the round
# register (common/node/rounds.c): atomic and streamed writes, links,
# pieces, persistence across a restart.
udc_unit_test(test_store
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_store.c
          ${PROJECT_SOURCE_DIR}/common/node/store.c ${PROJECT_SOURCE_DIR}/common/base/file.c ${PROJECT_SOURCE_DIR}/common/base/secmem.c ${PROJECT_SOURCE_DIR}/common/node/statepath.c ${PROJECT_SOURCE_DIR}/common/node/rounds.c
          ${PROJECT_SOURCE_DIR}/common/base/log.c ${PROJECT_SOURCE_DIR}/common/base/err.c
  LIBS PkgConfig::SODIUM PkgConfig::JANSSON)
