# udc-clk: encode a CSV file as clkhash-compatible CLKs (common/fuzzy/clk.c).
add_executable(udc-clk ${CMAKE_CURRENT_SOURCE_DIR}/udc-clk.c)
target_link_libraries(udc-clk PRIVATE udccommon)
install(TARGETS udc-clk RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
