# udc-audit: verify a node's audit log (common/governance/audit.c).
add_executable(udc-audit ${CMAKE_CURRENT_SOURCE_DIR}/udc-audit.c)
target_link_libraries(udc-audit PRIVATE udccommon)
install(TARGETS udc-audit RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
