# udc-keygen: make an operator's Ed25519 key pair, show a key's fingerprint
# (common/governance/sign.c).
add_executable(udc-keygen ${CMAKE_CURRENT_SOURCE_DIR}/udc-keygen.c)
target_link_libraries(udc-keygen PRIVATE udccommon)
install(TARGETS udc-keygen RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
