add_executable(udcctl ${CMAKE_CURRENT_SOURCE_DIR}/udcctl.c)
target_link_libraries(udcctl PRIVATE udccommon)
install(TARGETS udcctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
