# udc-report: the report of a round's released tables: report.html,
# indicators.csv, indicators.json (common/report/report.h, docs/report.md).
add_executable(udc-report ${CMAKE_CURRENT_SOURCE_DIR}/udc-report.c)
target_link_libraries(udc-report PRIVATE udccommon)
install(TARGETS udc-report RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# The study's report configuration and the map it names (relative to it), with
# the map's provenance and licence attribution: kept side by side.
install(FILES ${PROJECT_SOURCE_DIR}/docs/examples/denhaag-kinderarmoede.report
        DESTINATION ${CMAKE_INSTALL_DATADIR}/udclink/examples
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
install(FILES ${PROJECT_SOURCE_DIR}/docs/examples/maps/denhaag_wijken.geojson
              ${PROJECT_SOURCE_DIR}/docs/examples/maps/PROVENANCE.txt
        DESTINATION ${CMAKE_INSTALL_DATADIR}/udclink/examples/maps
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
