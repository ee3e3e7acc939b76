#!/usr/bin/env bash
# The package test (`make test-package`, after `make dist`): uses libcce the way its users
# get it, from the artefacts in dist/ only, with no Rust toolchain on PATH.
#
#   bash scripts/test_package.sh [DIST]
#
# * checks the artefacts: wheel tags, size, symbol versions (nothing newer than GLIBC_2.17),
#   the SONAME (readelf -d), the LICENSE in each, the npm layout, `make install`'s tree;
# * installs the wheel into a fresh venv, the two npm tarballs into an empty directory and
#   the SDK tarball into a temporary prefix;
# * runs from each the CTI agent flow on the embedded simulator, a GC agent flow on the
#   in-memory STOMP broker and the ECE chat on the ECE simulator (the examples/ programs),
#   and every code block of README.md;
# * builds C programs via pkg-config and a CMake project via find_package(libcce) against
#   the installed SDK only, dynamically and statically, and runs them.
# (grep -c, not grep -q, after a pipe: with pipefail, -q's early exit can fail the writer.)
set -euo pipefail
unset CCE_STOMP_ADDR # the GC examples then use the simulator's in-memory broker

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dist=$(cd "${1:-$root/dist}" && pwd)
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -1)
major=${version%%.*}
work=$(mktemp -d "${TMPDIR:-/tmp}/libcce-package.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

step() { echo "test-package: $*"; }
fail() {
  echo "test-package: FAILED: $*" >&2
  exit 1
}
one() { # exactly one file matches the pattern
  local m=("$@")
  [ "${#m[@]}" -eq 1 ] && [ -f "${m[0]}" ] || fail "expected one artefact matching $*"
  echo "${m[0]}"
}

wheel=$(one "$dist"/libcce-"$version"-cp*-abi3-*.whl)
sdist=$(one "$dist"/libcce-"$version".tar.gz)
sdk=$(one "$dist"/libcce-"$version"-linux-x86_64.tar.gz)
npm_main=$(one "$dist"/libcce-"$version".tgz)
npm_platform=$(one "$dist"/libcce-linux-x64-gnu-"$version".tgz)

if ! command -v cmake >/dev/null; then
  step "installing cmake"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cmake >/dev/null
fi

# ---------------------------------------------------------------------------
# The artefacts themselves.

step "wheel $(basename "$wheel")"
case $(basename "$wheel") in
*manylinux_2_17_x86_64*manylinux2014_x86_64* | *manylinux2014_x86_64*manylinux_2_17_x86_64*) ;;
*) fail "wheel not tagged manylinux2014 / manylinux_2_17: $(basename "$wheel")" ;;
esac
size=$(stat -c %s "$wheel")
[ "$size" -lt $((8 * 1024 * 1024)) ] || fail "wheel is $size bytes (limit 8 MiB)"
mkdir wheel && (cd wheel && python3 -m zipfile -e "$wheel" .)
so=$(one wheel/libcce/_native*.so)
newest=$(readelf --dyn-syms --wide "$so" | grep -o 'GLIBC_[0-9.]*' | sort -u -t. -k1,1 -k2,2n -k3,3n | tail -1)
python3 - "$newest" <<'EOF' || fail "$so needs $newest (manylinux2014 allows GLIBC_2.17 at most)"
import sys
v = tuple(int(x) for x in sys.argv[1].removeprefix("GLIBC_").split("."))
sys.exit(0 if v <= (2, 17) else 1)
EOF
readelf -S --wide "$so" | grep -c '\.debug_' >/dev/null && fail "$so has debug sections"
readelf -S --wide "$so" | grep -c ' \.symtab ' >/dev/null && fail "$so is not stripped"
ls wheel/libcce-"$version".dist-info/licenses/LICENSE >/dev/null || fail "no LICENSE in the wheel"
step "  $((size / 1024)) KiB, newest symbol version $newest, stripped, LICENSE"

step "sdist $(basename "$sdist")"
tar -tzf "$sdist" >sdist.txt
grep -q '^libcce-[^/]*/LICENSE$' sdist.txt || fail "no LICENSE in the sdist"
grep -q '^libcce-[^/]*/pyproject.toml$' sdist.txt || fail "no pyproject.toml in the sdist"
grep -q '/core/src/lib.rs$' sdist.txt || fail "the sdist lacks the core crate"

step "SDK $(basename "$sdk")"
mkdir sdk-unpacked && tar -C sdk-unpacked -xzf "$sdk"
sdk_root=sdk-unpacked/libcce-$version-linux-x86_64
for f in include/cce.h lib/libcce.so.$major lib/libcce.a lib/pkgconfig/libcce.pc \
  lib/cmake/libcce/libcceConfig.cmake lib/cmake/libcce/libcceConfigVersion.cmake LICENSE README.md; do
  [ -e "$sdk_root/$f" ] || fail "SDK lacks $f"
done
[ "$(readlink "$sdk_root/lib/libcce.so")" = "libcce.so.$major" ] || fail "lib/libcce.so is not a link to libcce.so.$major"
readelf -d "$sdk_root/lib/libcce.so.$major" | grep -c "(SONAME).*\[libcce.so.$major\]" >/dev/null ||
  fail "lib/libcce.so.$major has no SONAME libcce.so.$major"
readelf -S --wide "$sdk_root/lib/libcce.so.$major" | grep -c '\.debug_' >/dev/null && fail "libcce.so has debug sections"
step "  SONAME libcce.so.$major, libcce.so -> libcce.so.$major, .pc, CMake package, LICENSE, README"

# `make install` lays out the same include/ and lib/ (its LICENSE and README go to share/doc).
bash "$root/scripts/dist.sh" install "$work/destdir" /usr/local >/dev/null
diff <(cd "$sdk_root" && find include lib | sort) <(cd destdir/usr/local && find include lib | sort) ||
  fail "make install and the SDK tarball differ"
[ -f destdir/usr/local/share/doc/libcce/LICENSE ] || fail "make install puts no LICENSE"

step "npm $(basename "$npm_main") + $(basename "$npm_platform")"
for t in "$npm_main" "$npm_platform"; do
  tar -tzf "$t" | grep -cx 'package/LICENSE' >/dev/null || fail "no LICENSE in $(basename "$t")"
  tar -xzOf "$t" package/package.json | grep -c '"private"' >/dev/null && fail "$(basename "$t") is private"
done
tar -tzf "$npm_main" | grep -c '\.node$' >/dev/null && fail "the main npm package holds an addon"
tar -tzf "$npm_platform" | grep -cx "package/libcce.linux-x64-gnu.node" >/dev/null || fail "no addon in the platform package"

# ---------------------------------------------------------------------------
# From here on, no Rust toolchain.

PATH=$(tr ':' '\n' <<<"$PATH" | grep -v -e '/\.cargo/bin$' -e '/\.rustup/' | paste -sd:)
export PATH
unset CARGO CARGO_HOME RUSTUP_HOME RUSTC CARGO_TARGET_DIR
if command -v cargo >/dev/null || command -v rustc >/dev/null; then fail "cargo is still on PATH"; fi
step "no cargo on PATH from here on"

python3 "$root/scripts/readme_blocks.py" "$root/README.md" readme >readme.txt
if ! cmp -s <(sed -n '/^rust /{s/^rust \([^ ]*\) .*/\1/p}' readme.txt | head -1 | xargs -r cat) \
  "$root/examples/rust/readme.rs"; then
  fail "README.md's Rust block differs from examples/rust/readme.rs"
fi

# --- Python ------------------------------------------------------------------
step "Python: wheel into a fresh venv"
python3 -m venv venv
venv/bin/pip install -q --no-index --disable-pip-version-check "$wheel"
py=$work/venv/bin/python
"$py" -c 'import libcce, sys; sys.exit(0 if libcce.__file__.startswith(sys.prefix) else 1)' ||
  fail "libcce is not imported from the venv"
for ex in agent_session ece_chat gc_agent; do
  "$py" "$root/examples/python/$ex.py" >"py-$ex.log" || fail "examples/python/$ex.py (see above)"
  step "  examples/python/$ex.py ok"
done
while read -r lang file where; do
  [ "$lang" = python ] || continue
  "$py" "$file" >"$file.log" || fail "$where (Python)"
  step "  $where ok"
done <readme.txt

# --- Node --------------------------------------------------------------------
step "Node: npm tarballs into an empty directory"
mkdir node && (cd node && npm install --silent --no-audit --no-fund "$npm_main" "$npm_platform")
resolved=$(cd node && node -p 'require.resolve("libcce")')
[[ $resolved == "$work/node/node_modules/libcce/"* ]] || fail "libcce resolves to $resolved"
for ex in agent_session ece_chat gc_agent; do
  sed -e "s#'\.\./\.\./bindings/node/index\.js'#'libcce'#" "$root/examples/node/$ex.mjs" >"node/$ex.mjs"
  grep -c "\.\./bindings/node" "node/$ex.mjs" >/dev/null && fail "examples/node/$ex.mjs: unexpected import"
  (cd node && env -u LIBCCE_NODE_ADDON node "$ex.mjs" >"$ex.log") || fail "examples/node/$ex.mjs"
  step "  examples/node/$ex.mjs ok"
done
while read -r lang file where; do
  [ "$lang" = js ] || continue
  cp "$file" node/
  (cd node && env -u LIBCCE_NODE_ADDON node "$(basename "$file")" >"$(basename "$file").log") || fail "$where (Node)"
  step "  $where ok"
done <readme.txt

# --- C / C++ -------------------------------------------------------------------
step "C/C++: SDK into a temporary prefix"
prefix=$work/prefix
mkdir -p "$prefix" && tar -C "$prefix" --strip-components=1 -xzf "$sdk"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
[ "$(pkg-config --modversion libcce)" = "$version" ] || fail "pkg-config --modversion libcce"
libdir=$(pkg-config --variable=libdir libcce)

# The header: C99 and C++11 clean, and its version macros agree with cce_version().
cat >version.c <<'EOF'
#include <stdio.h>
#include <string.h>

#include "cce.h"

int main(void) {
    char header[32];
    snprintf(header, sizeof header, "%d.%d.%d", CCE_VERSION_MAJOR, CCE_VERSION_MINOR,
             CCE_VERSION_PATCH);
    if (strcmp(header, cce_version()) != 0) {
        fprintf(stderr, "cce.h says %s, the library %s\n", header, cce_version());
        return 1;
    }
    printf("cce.h and libcce agree: %s\n", header);
    return 0;
}
EOF
cp version.c version.cpp
# shellcheck disable=SC2046
cc -std=c99 -Wall -Wextra -pedantic -Werror version.c -o version_c \
  $(pkg-config --cflags --libs libcce) -Wl,-rpath,"$libdir"
# shellcheck disable=SC2046
c++ -std=c++11 -Wall -Wextra -pedantic -Werror version.cpp -o version_cpp \
  $(pkg-config --cflags --libs libcce) -Wl,-rpath,"$libdir"
./version_c >/dev/null || fail "CCE_VERSION_* and cce_version() differ (C)"
./version_cpp >/dev/null || fail "CCE_VERSION_* and cce_version() differ (C++)"
step "  cce.h: C99 and C++11 -Wall -Wextra -pedantic clean; CCE_VERSION_* == cce_version()"

cc_dynamic() { # SRC OUT
  # shellcheck disable=SC2046
  cc -std=c11 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L "$1" -o "$2" \
    $(pkg-config --cflags --libs libcce) -Wl,-rpath,"$libdir"
  readelf -d "$2" | grep -c "(NEEDED).*\[libcce.so.$major\]" >/dev/null || fail "$2 does not need libcce.so.$major"
}
cc_static() { # SRC OUT
  # shellcheck disable=SC2046
  cc -std=c11 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L "$1" -o "$2" \
    $(pkg-config --cflags libcce) -Wl,-Bstatic -lcce -Wl,-Bdynamic \
    -Wl,--as-needed $(pkg-config --static --libs libcce)
  readelf -d "$2" | grep -c 'NEEDED.*libcce' >/dev/null && fail "$2 is linked to libcce.so, not libcce.a"
  return 0
}
for ex in agent_session ece_chat gc_agent; do
  cc_dynamic "$root/examples/c/$ex.c" "c-$ex"
  cc_static "$root/examples/c/$ex.c" "c-$ex-static"
  "./c-$ex" >/dev/null || fail "examples/c/$ex.c (shared)"
  "./c-$ex-static" >/dev/null || fail "examples/c/$ex.c (static)"
  step "  examples/c/$ex.c via pkg-config: shared and static ok"
done

mkdir cmake-project && cp "$root/examples/cpp/siebel_poll.cpp" cmake-project/
cat >cmake-project/CMakeLists.txt <<'EOF'
cmake_minimum_required(VERSION 3.16)
project(libcce_package_test CXX)
set(CMAKE_CXX_STANDARD 17)
find_package(libcce 0.1 REQUIRED)
add_executable(siebel_poll siebel_poll.cpp)
target_link_libraries(siebel_poll PRIVATE libcce::libcce)
add_executable(siebel_poll_static siebel_poll.cpp)
target_link_libraries(siebel_poll_static PRIVATE libcce::libcce_static)
EOF
cmake -S cmake-project -B cmake-build -DCMAKE_PREFIX_PATH="$prefix" >cmake.log 2>&1 || {
  cat cmake.log
  fail "cmake configure"
}
cmake --build cmake-build >>cmake.log 2>&1 || {
  cat cmake.log
  fail "cmake build"
}
readelf -d cmake-build/siebel_poll | grep -c "(NEEDED).*\[libcce.so.$major\]" >/dev/null || fail "siebel_poll not linked to libcce.so.$major"
readelf -d cmake-build/siebel_poll_static | grep -c 'NEEDED.*libcce' >/dev/null && fail "siebel_poll_static linked to libcce.so"
cmake-build/siebel_poll >/dev/null || fail "examples/cpp/siebel_poll.cpp (CMake, shared)"
cmake-build/siebel_poll_static >/dev/null || fail "examples/cpp/siebel_poll.cpp (CMake, static)"
step "  examples/cpp/siebel_poll.cpp via find_package(libcce): shared and static ok"

while read -r lang file where; do
  case $lang in
  c)
    cc_dynamic "$file" "$file.bin"
    "$file.bin" >"$file.log" || fail "$where (C)"
    ;;
  cmake)
    cmake -S "$file" -B "$file/build" -DCMAKE_PREFIX_PATH="$prefix" >"$file.log" 2>&1 &&
      cmake --build "$file/build" >>"$file.log" 2>&1 || {
      cat "$file.log"
      fail "$where (CMake)"
    }
    exe=$(find "$file/build" -maxdepth 1 -type f -executable | head -1)
    [ -n "$exe" ] || fail "$where: the CMake project built no program"
    "$exe" >"$file.run.log" || fail "$where (C++)"
    ;;
  *) continue ;;
  esac
  step "  $where ok"
done <readme.txt

echo "test-package: every artefact installed and used without cargo: passed"
