# Unit test of the daemon's control handlers (common/node/daemon.c) behind
# the control channel (common/node/ctl.c): the shared start-up runs in a
# thread with a test party; requests go over the socket in a temporary
# directory.
udc_unit_test(test_daemonctl
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_daemonctl.c
  LIBS udccommon)
