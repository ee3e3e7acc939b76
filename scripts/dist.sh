#!/usr/bin/env bash
# Release artefacts of libcce; driven by `make dist` and `make install` (see docs/PACKAGING.md).
#
#   scripts/dist.sh sdk-tree DIR         C/C++ SDK tree (include/, lib/, LICENSE, README.md) into DIR
#   scripts/dist.sh install DESTDIR PREFIX  the same include/ and lib/ under DESTDIR/PREFIX
#   scripts/dist.sh sdk OUT              the tarball libcce-<version>-linux-x86_64.tar.gz into OUT
#   scripts/dist.sh node OUT             npm tarballs of libcce and libcce-linux-x64-gnu into OUT
#   scripts/dist.sh sizes OUT            the size of each artefact in OUT
#
# Inputs are the release builds made by the Makefile (target/release/libcce.{so,a},
# target/release/libcce_node.so); nothing here runs cargo.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
release=$target/release
build=$root/build
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -1)
major=${version%%.*}
soname=libcce.so.$major
# System libraries the Rust standard library of libcce.a needs (rustc --print native-static-libs).
# The package test links statically through `pkg-config --static`, so a stale list fails there.
static_libs="-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"

die() {
  echo "dist: $*" >&2
  exit 1
}

need() {
  for f in "$@"; do [ -f "$f" ] || die "$f is missing (run 'make dist')"; done
}

# The include/ and lib/ part, shared by the tarball and `make install`.
# The .pc and CMake files locate the prefix from their own path, so the tree can be
# unpacked or installed anywhere.
lib_tree() {
  local dir=$1
  need "$release/libcce.so" "$release/libcce.a" "$root/include/cce.h"
  install -d "$dir/include" "$dir/lib/pkgconfig" "$dir/lib/cmake/libcce"
  install -m 644 "$root/include/cce.h" "$dir/include/cce.h"
  install -m 755 "$release/libcce.so" "$dir/lib/$soname"
  ln -sfn "$soname" "$dir/lib/libcce.so"
  install -m 644 "$release/libcce.a" "$dir/lib/libcce.a"
  strip --strip-debug "$dir/lib/libcce.a"

  cat >"$dir/lib/pkgconfig/libcce.pc" <<EOF
prefix=\${pcfiledir}/../..
includedir=\${prefix}/include
libdir=\${prefix}/lib

Name: libcce
Description: Cisco contact center integration: CTI Server (GED-188), Generic Connector and ECE
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} -lcce
Libs.private: $static_libs
EOF

  cat >"$dir/lib/cmake/libcce/libcceConfig.cmake" <<EOF
# CMake package of libcce $version: find_package(libcce) gives the imported targets
#   libcce::libcce         the shared library (lib/$soname)
#   libcce::libcce_static  the static library (lib/libcce.a) and the system libraries it needs
get_filename_component(_libcce_prefix "\${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
include(CMakeFindDependencyMacro)
find_dependency(Threads)

if(NOT TARGET libcce::libcce)
  add_library(libcce::libcce SHARED IMPORTED)
  set_target_properties(libcce::libcce PROPERTIES
    IMPORTED_LOCATION "\${_libcce_prefix}/lib/$soname"
    IMPORTED_SONAME "$soname"
    INTERFACE_INCLUDE_DIRECTORIES "\${_libcce_prefix}/include")
endif()

if(NOT TARGET libcce::libcce_static)
  add_library(libcce::libcce_static STATIC IMPORTED)
  set_target_properties(libcce::libcce_static PROPERTIES
    IMPORTED_LOCATION "\${_libcce_prefix}/lib/libcce.a"
    IMPORTED_LINK_INTERFACE_LANGUAGES "C"
    INTERFACE_INCLUDE_DIRECTORIES "\${_libcce_prefix}/include"
    INTERFACE_LINK_LIBRARIES "Threads::Threads;gcc_s;util;rt;m;\${CMAKE_DL_LIBS}")
endif()

unset(_libcce_prefix)
EOF

  cat >"$dir/lib/cmake/libcce/libcceConfigVersion.cmake" <<EOF
# libcce $version: a request for 0.x is met only by the same minor version (0.x makes no
# compatibility promise across minors); from 1.0 on, by any later version of the same major.
set(PACKAGE_VERSION "$version")
set(PACKAGE_VERSION_COMPATIBLE FALSE)
if(NOT CMAKE_SIZEOF_VOID_P STREQUAL "8")
  set(PACKAGE_VERSION "\${PACKAGE_VERSION} (64-bit)")
  set(PACKAGE_VERSION_UNSUITABLE TRUE)
  return()
endif()
if(NOT PACKAGE_FIND_VERSION)
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
elseif(NOT PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION)
  if(PACKAGE_FIND_VERSION_MAJOR STREQUAL "$major")
    if(NOT "$major" STREQUAL "0" OR PACKAGE_FIND_VERSION_MINOR STREQUAL "$(echo "$version" | cut -d. -f2)")
      set(PACKAGE_VERSION_COMPATIBLE TRUE)
    endif()
  endif()
endif()
if(PACKAGE_FIND_VERSION STREQUAL PACKAGE_VERSION)
  set(PACKAGE_VERSION_EXACT TRUE)
endif()
EOF
}

sdk_readme() {
  cat <<EOF
# libcce $version C/C++ SDK (Linux x86_64)

libcce connects C and C++ programs to Cisco contact centers: CTI Server (GED-188),
Generic Connector (GC) and ECE chat, with embedded simulators of each protocol.

    include/cce.h                        the C API (C99 and C++11 clean)
    lib/$soname, lib/libcce.so       the shared library (SONAME $soname)
    lib/libcce.a                         the static library
    lib/pkgconfig/libcce.pc              pkg-config module \`libcce\`
    lib/cmake/libcce/                    CMake package: find_package(libcce) -> libcce::libcce,
                                         libcce::libcce_static

Unpack anywhere (the .pc and CMake files find their prefix themselves), then:

    export PKG_CONFIG_PATH=\$PWD/lib/pkgconfig          # C, shared
    cc app.c -o app \$(pkg-config --cflags --libs libcce)
    # C, static: libcce.a first, then the system libraries it needs
    cc app.c -o app \$(pkg-config --cflags libcce) -Wl,-Bstatic -lcce -Wl,-Bdynamic \\
      -Wl,--as-needed \$(pkg-config --static --libs libcce)

    cmake -DCMAKE_PREFIX_PATH=\$PWD ...                  # CMake
    find_package(libcce 0.1 REQUIRED)
    target_link_libraries(app PRIVATE libcce::libcce)

The API conventions are at the top of include/cce.h. Licensed under Apache-2.0 (LICENSE).
EOF
}

cmd=${1:-}
case $cmd in
sdk-tree)
  dir=${2:?usage: $0 sdk-tree DIR}
  rm -rf "$dir"
  lib_tree "$dir"
  install -m 644 "$root/LICENSE" "$dir/LICENSE"
  sdk_readme >"$dir/README.md"
  ;;
install)
  destdir=${2-}
  prefix=${3:?usage: $0 install DESTDIR PREFIX}
  lib_tree "$destdir$prefix"
  install -d "$destdir$prefix/share/doc/libcce"
  install -m 644 "$root/LICENSE" "$destdir$prefix/share/doc/libcce/LICENSE"
  sdk_readme >"$destdir$prefix/share/doc/libcce/README.md"
  echo "dist: installed libcce $version into $destdir$prefix"
  ;;
sdk)
  out=${2:?usage: $0 sdk OUT}
  name=libcce-$version-linux-x86_64
  bash "$0" sdk-tree "$build/sdk/$name"
  mkdir -p "$out"
  tar -C "$build/sdk" --owner=0 --group=0 --numeric-owner -czf "$out/$name.tar.gz" "$name"
  ;;
node)
  out=${2:?usage: $0 node OUT}
  need "$release/libcce_node.so"
  node "$root/bindings/node/scripts/pack.js" "$release/libcce_node.so" "$build/npm" "$out"
  ;;
sizes)
  out=${2:?usage: $0 sizes OUT}
  echo "dist: artefacts in ${out#"$root"/}:"
  for f in "$out"/*; do
    [ -f "$f" ] || continue
    printf '  %-56s %8s KiB\n' "$(basename "$f")" "$(($(stat -c %s "$f") / 1024))"
  done
  ;;
*)
  sed -n '2,11p' "$0" >&2
  exit 2
  ;;
esac
