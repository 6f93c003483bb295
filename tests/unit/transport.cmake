# Unit test of the peer link's socket set-up (common/node/transport.c):
# refusals without a peer, and a TLS loopback pair in one process with
# certificates made by scripts/gen-certs.sh (openssl) in a temporary directory.
udc_unit_test(test_transport
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_transport.c ${PROJECT_SOURCE_DIR}/common/node/transport.c
          ${PROJECT_SOURCE_DIR}/common/base/secmem.c ${PROJECT_SOURCE_DIR}/common/base/file.c ${PROJECT_SOURCE_DIR}/common/base/err.c
  LIBS nng::nng PkgConfig::SODIUM Threads::Threads)
