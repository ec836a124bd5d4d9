#!/bin/sh
# SPDX-License-Identifier: MIT
# Install a build tree into a scratch prefix, then build and run a consumer
# with find_package(ipcx) (shared and static) and with pkg-config, and run
# the README's own example exactly as the README tells a user to: its
# blocks marked "install-test: demo.c" and "install-test: demo.sh", with
# HOME a scratch directory whose .local is the install prefix.
#   check_install.sh BUILD_DIR SOURCE_DIR_OF_THIS_SCRIPT README
set -eu
build=$1
here=$2
readme=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
cmake -S "$here" -B "$tmp/b" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/b" >/dev/null
"$tmp/b/consumer_shared"
"$tmp/b/consumer_static"
pc=$(find "$tmp/prefix" -name ipcx.pc)
flags=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --cflags --libs ipcx)
# shellcheck disable=SC2086
cc "$here/consumer.c" $flags -o "$tmp/consumer_pc"
LD_LIBRARY_PATH=$(dirname "$(dirname "$pc")") "$tmp/consumer_pc"
test -x "$tmp/prefix/bin/ipcx"
"$tmp/prefix/bin/ipcx" version
# The examples and their README are installed with the docs.
test -f "$(find "$tmp/prefix" -path '*doc*/examples/ring_pingpong.c' | head -n 1)"

# ---- the README's example, block by block
block() { # block MARKER: the fenced block that follows the marker line
    awk -v m="install-test: $1" '
        index($0, m) { found = 1; next }
        found && /^```/ { if (inside) exit; inside = 1; next }
        inside { print }' "$readme"
}
mkdir -p "$tmp/home" "$tmp/work" "$tmp/shm"
block demo.c >"$tmp/work/demo.c"
block demo.sh >"$tmp/work/demo.sh"
test -s "$tmp/work/demo.c"
test -s "$tmp/work/demo.sh"
# `make install PREFIX=$HOME/.local` is `cmake --install build --prefix ...`.
cmake --install "$build" --prefix "$tmp/home/.local" >/dev/null
out=$(cd "$tmp/work" && env -u LD_LIBRARY_PATH -u PKG_CONFIG_PATH HOME="$tmp/home" \
      IPCX_SHM_DIR="$tmp/shm" sh -e demo.sh)
printf '%s\n' "$out"
printf '%s\n' "$out" | grep -q '^demo  *raw .* no .* stale$'
printf '%s\n' "$out" | tail -n 1 | grep -qx 'hello from another process'
test -z "$(ls "$tmp/shm")"
echo "README example: ok"
