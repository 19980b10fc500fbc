# llmux_bundle_dependencies(<library> <destination>): at install time (cmake_install.cmake, under
# LLMUX_BUNDLE_DEPENDENCIES), copies every shared library <library> needs, directly or through another
# bundled one, into <destination>, except those every target system is expected to have: glibc,
# libstdc++/libgcc_s, libcurl, OpenSSL and zlib. Each copy is the real file under the name the loader
# asks for (its soname), so no symlink has to survive packaging.
function(llmux_bundle_dependencies library destination)
  file(GET_RUNTIME_DEPENDENCIES
    LIBRARIES "${library}"
    RESOLVED_DEPENDENCIES_VAR bundled
    UNRESOLVED_DEPENDENCIES_VAR unresolved
    # Matched against the needed names before resolution, so the system's own dependencies (libcurl's
    # nghttp2, libidn2, ...) are never walked.
    PRE_EXCLUDE_REGEXES
      "^ld-linux" "^linux-vdso" "^libc\\.so" "^libm\\.so" "^libdl\\.so" "^libpthread\\.so" "^librt\\.so"
      "^libstdc\\+\\+\\.so" "^libgcc_s\\.so" "^libcurl\\.so" "^libssl\\.so" "^libcrypto\\.so" "^libz\\.so")
  if(unresolved)
    message(FATAL_ERROR "llmux: cannot bundle the dependencies of ${library}, not found: ${unresolved}")
  endif()
  foreach(dependency IN LISTS bundled)
    get_filename_component(name "${dependency}" NAME)
    file(REAL_PATH "${dependency}" real_file)
    file(INSTALL DESTINATION "${destination}" TYPE FILE RENAME "${name}" FILES "${real_file}")
  endforeach()
endfunction()
