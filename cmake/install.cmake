# Install rules, the CMake package and the Debian packages (docs/embedding-cmake.md). Included by
# CMakeLists.txt when CMK_EMULATOR_INSTALL is on (the default when the emulator is the top-level
# project). Two components, which are also the two .deb packages:
#   runtime  bin/cmk-emulator, share/cmk-emulator/fixtures, share/doc/cmk-emulator  (cmk-emulator)
#   dev      the static library, include/cmk_emulator/**.h, lib/cmake/cmk_emulator  (cmk-emulator-dev)
# `cmake --install <build>` installs both as built (RelWithDebInfo: the library is ~330 MB of
# which ~315 MB debug info, the binary ~115 MB); `--strip`, and the .deb packages, strip the binary
# and the library's debug info (~15 MB and ~4 MB).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(CMK_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/cmk_emulator")

install(TARGETS cmk-emulator EXPORT cmk_emulatorTargets
        RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT runtime)
install(TARGETS cmk_emulator_lib EXPORT cmk_emulatorTargets
        ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT dev)
# CMake's --strip leaves static libraries alone (a full strip would remove their symbol table);
# their debug info can go all the same.
if(CMAKE_STRIP)
  install(CODE "
    if(CMAKE_INSTALL_DO_STRIP)
      execute_process(COMMAND \"${CMAKE_STRIP}\" --strip-debug
        \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/$<TARGET_FILE_NAME:cmk_emulator_lib>\"
        COMMAND_ERROR_IS_FATAL ANY)
    endif()" COMPONENT dev)
endif()
# The headers, in their folders: emulator.h includes "arm/arm_api.h" and so on.
install(DIRECTORY "${PROJECT_SOURCE_DIR}/emulator/" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/cmk_emulator"
        COMPONENT dev FILES_MATCHING PATTERN "*.h")

install(EXPORT cmk_emulatorTargets NAMESPACE cmk_emulator:: DESTINATION "${CMK_INSTALL_CMAKEDIR}"
        COMPONENT dev)
configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/cmk_emulatorConfig.cmake.in"
                              "${PROJECT_BINARY_DIR}/cmk_emulatorConfig.cmake"
                              INSTALL_DESTINATION "${CMK_INSTALL_CMAKEDIR}")
write_basic_package_version_file("${PROJECT_BINARY_DIR}/cmk_emulatorConfigVersion.cmake"
                                 COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/cmk_emulatorConfig.cmake" "${PROJECT_BINARY_DIR}/cmk_emulatorConfigVersion.cmake"
        DESTINATION "${CMK_INSTALL_CMAKEDIR}" COMPONENT dev)

# The example fixtures (the default one is also compiled in) and this document.
install(DIRECTORY "${PROJECT_SOURCE_DIR}/fixtures/" DESTINATION "${CMAKE_INSTALL_DATADIR}/cmk-emulator/fixtures"
        COMPONENT runtime FILES_MATCHING PATTERN "*.json")
install(FILES "${PROJECT_SOURCE_DIR}/docs/embedding-cmake.md" DESTINATION "${CMAKE_INSTALL_DATADIR}/doc/cmk-emulator"
        COMPONENT runtime)

# cpack -G DEB (in the build tree): cmk-emulator_<version>-1_<arch>.deb and cmk-emulator-dev_...
set(CPACK_PACKAGE_NAME "cmk-emulator")
set(CPACK_PACKAGE_VENDOR "cmk-emulator")
set(CPACK_PACKAGE_CONTACT "cmk-emulator maintainers <cmk-emulator@localhost>" CACHE STRING
    "Maintainer of the .deb packages")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Emulator of Azure endpoints (ARM, Kusto, Key Vault, managed identity, Entra ID) on localhost")
set(CPACK_PACKAGE_DESCRIPTION
    "cmk-emulator serves Azure Resource Manager (Kusto clusters with customer-managed keys, Key Vault, role assignments, deployments), Key Vault keys, managed identity and Entra ID sign-in on localhost, for tests of clients that speak to them.")
set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_STRIP_FILES ON)
set(CPACK_COMPONENTS_ALL runtime dev)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION "devel")
set(CPACK_DEBIAN_COMPRESSION_TYPE "gzip")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME "cmk-emulator")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION "devel")
# The binary's Depends come from dpkg-shlibdeps (libc6, libstdc++6, libssl3, libsqlite3-0,
# libre2-9, libcpp-httplib0.11, ...); the library's are the -dev packages its package config finds.
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_DEV_PACKAGE_NAME "cmk-emulator-dev")
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION "libdevel")
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
    "cmk-emulator (= ${PROJECT_VERSION}-1), libssl-dev, libcpp-httplib-dev, nlohmann-json3-dev, libsqlite3-dev, libre2-dev, pkg-config")
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION_SUMMARY}")
set(CPACK_COMPONENT_DEV_DESCRIPTION
    "cmk-emulator as a C++ library: run the emulator inside a process (static library, headers, CMake package cmk_emulator)")
include(CPack)
