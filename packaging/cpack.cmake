# Install rules for everything but the binaries (agent/ and cli/ install those) and the CPack DEB
# configuration. Included from the top-level CMakeLists.txt so CPack sees every install rule.
#
#   packaging/build-deb      configures build/pkg (release preset, no tests), builds, packs
#
# Paths follow Debian bookworm: units in /lib/systemd/system, sysusers.d and tmpfiles.d in
# /usr/lib, configuration in /etc/dbproxy (conffiles), documentation in /usr/share/doc/dbproxy.

set(DBPROXY_PKG_DIR ${CMAKE_CURRENT_LIST_DIR})
set(DBPROXY_PKG_OUT ${PROJECT_BINARY_DIR}/packaging)
set(DBPROXY_DEB_REVISION 1)

# Man pages and the Debian changelog are installed gzip -9n compressed (Debian policy 12.1 and
# 12.7; -n leaves out the timestamp so the package is reproducible).
find_program(DBPROXY_GZIP gzip REQUIRED)
set(dbproxy_man_pages dbproxyd.8 dbproxyctl.8 dbproxy-policy.5)
set(dbproxy_gzipped)
foreach(page IN LISTS dbproxy_man_pages)
  add_custom_command(
    OUTPUT ${DBPROXY_PKG_OUT}/man/${page}.gz
    COMMAND ${CMAKE_COMMAND} -E make_directory ${DBPROXY_PKG_OUT}/man
    COMMAND ${DBPROXY_GZIP} -9n -c ${DBPROXY_PKG_DIR}/man/${page} > ${DBPROXY_PKG_OUT}/man/${page}.gz
    DEPENDS ${DBPROXY_PKG_DIR}/man/${page}
    COMMENT "Compressing man page ${page}"
    VERBATIM)
  list(APPEND dbproxy_gzipped ${DBPROXY_PKG_OUT}/man/${page}.gz)
endforeach()
add_custom_command(
  OUTPUT ${DBPROXY_PKG_OUT}/changelog.Debian.gz
  COMMAND ${CMAKE_COMMAND} -E make_directory ${DBPROXY_PKG_OUT}
  COMMAND ${DBPROXY_GZIP} -9n -c ${DBPROXY_PKG_DIR}/debian/changelog > ${DBPROXY_PKG_OUT}/changelog.Debian.gz
  DEPENDS ${DBPROXY_PKG_DIR}/debian/changelog
  VERBATIM)
list(APPEND dbproxy_gzipped ${DBPROXY_PKG_OUT}/changelog.Debian.gz)
add_custom_target(dbproxy_package_docs ALL DEPENDS ${dbproxy_gzipped})

foreach(page IN LISTS dbproxy_man_pages)
  string(REGEX MATCH "[0-9]$" section ${page})
  install(FILES ${DBPROXY_PKG_OUT}/man/${page}.gz DESTINATION share/man/man${section})
endforeach()
install(FILES ${DBPROXY_PKG_DIR}/completion/dbproxyctl
        DESTINATION share/bash-completion/completions)
install(FILES ${DBPROXY_PKG_DIR}/debian/copyright ${DBPROXY_PKG_OUT}/changelog.Debian.gz
        DESTINATION share/doc/dbproxy)
install(FILES ${DBPROXY_PKG_DIR}/debian/lintian-overrides
        DESTINATION share/lintian/overrides RENAME dbproxy)
# The reference the man pages point to: README.md and docs/*.md, as in the source tree (the
# README's links into docs/ keep working).
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION share/doc/dbproxy)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION share/doc/dbproxy/docs
        FILES_MATCHING PATTERN "*.md")
install(FILES ${PROJECT_SOURCE_DIR}/systemd/dbproxyd-exe-matching.conf
              ${PROJECT_SOURCE_DIR}/systemd/dbproxyd-encrypted-key.conf
              ${PROJECT_SOURCE_DIR}/systemd/dbproxyd-loopback.conf
              ${PROJECT_SOURCE_DIR}/systemd/dbproxy-client-example.conf
        DESTINATION share/doc/dbproxy/examples)

install(FILES ${PROJECT_SOURCE_DIR}/systemd/dbproxyd.service
              ${PROJECT_SOURCE_DIR}/systemd/dbproxyd.socket
              ${PROJECT_SOURCE_DIR}/systemd/dbproxyd-admin.socket
        DESTINATION /lib/systemd/system)
install(FILES ${PROJECT_SOURCE_DIR}/systemd/dbproxy.sysusers
        DESTINATION /usr/lib/sysusers.d RENAME dbproxy.conf)
install(FILES ${PROJECT_SOURCE_DIR}/systemd/dbproxy.tmpfiles
        DESTINATION /usr/lib/tmpfiles.d RENAME dbproxy.conf)

# Conffiles (listed in debian/conffiles): dpkg keeps the administrator's edits on upgrade.
install(FILES ${DBPROXY_PKG_DIR}/agent.toml DESTINATION /etc/dbproxy)
install(FILES ${DBPROXY_PKG_DIR}/policy/00-example.toml DESTINATION /etc/dbproxy/policy.d)
install(FILES ${DBPROXY_PKG_DIR}/logrotate/dbproxy DESTINATION /etc/logrotate.d)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME dbproxy)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "dbproxy developers <dbproxy@example.com>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "per-host Databricks credential agent")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
"dbproxyd keeps Databricks service-principal credentials encrypted at rest,
identifies each local caller from the kernel (peer credentials, cgroup,
executable), decides by policy, and hands out short-lived, scoped OAuth
tokens over a Unix socket, so services on the host never hold a Databricks
secret. Every request is audited.

dbproxyctl is the operator CLI: enrol credentials, inspect and explain
policy decisions, runtime grants and maintenance switches.")
set(CPACK_DEBIAN_PACKAGE_RELEASE ${DBPROXY_DEB_REVISION})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Library dependencies come from dpkg-shlibdeps (dpkg-dev), libxmlsec1 and libxmlsec1-openssl
# (SAML assertions, linked directly, not loaded at run time) among them; adduser is the
# postinst's fallback when systemd-sysusers is missing.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd, logrotate")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${DBPROXY_PKG_DIR}/debian/conffiles
    ${DBPROXY_PKG_DIR}/debian/postinst
    ${DBPROXY_PKG_DIR}/debian/prerm
    ${DBPROXY_PKG_DIR}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/deb)
include(CPack)
