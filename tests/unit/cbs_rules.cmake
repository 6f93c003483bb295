# The CBS node's rule table (party_cbs/dispatch.c): every message in every
# state and mode, and the state table in docs/protocol.md.  Compiled with
# the CBS party's sources (not main.c): no sockets are opened.
udc_unit_test(test_cbs_rules
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_cbs_rules.c
          ${PROJECT_SOURCE_DIR}/party_cbs/dispatch.c ${PROJECT_SOURCE_DIR}/party_cbs/session.c
          ${PROJECT_SOURCE_DIR}/party_cbs/propose.c ${PROJECT_SOURCE_DIR}/party_cbs/link.c
          ${PROJECT_SOURCE_DIR}/party_cbs/count.c ${PROJECT_SOURCE_DIR}/party_cbs/groups.c
          ${PROJECT_SOURCE_DIR}/party_cbs/release.c
  LIBS udccommon)
target_include_directories(test_cbs_rules PRIVATE ${PROJECT_SOURCE_DIR}/party_cbs)
