add_executable(udcctl ${CMAKE_CURRENT_SOURCE_DIR}/udcctl.c)
target_link_libraries(udcctl PRIVATE udccommon)
# udcctl report: the report configuration it uses unless --report-config
# names another, the study's as installed (tools/report.cmake), else as in the
# source tree, for a udcctl run from its build tree.
target_compile_definitions(udcctl PRIVATE
  UDC_REPORT_CONFIG_INSTALLED="${CMAKE_INSTALL_FULL_DATADIR}/udclink/examples/denhaag-kinderarmoede.report"
  UDC_REPORT_CONFIG_SOURCE="${PROJECT_SOURCE_DIR}/docs/examples/denhaag-kinderarmoede.report")
install(TARGETS udcctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
