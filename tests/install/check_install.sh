#!/bin/sh
# SPDX-License-Identifier: MIT
# Install a build tree into a scratch prefix, then build and run a consumer
# with find_package(ipcx) (shared and static) and with pkg-config.
#   check_install.sh BUILD_DIR SOURCE_DIR_OF_THIS_SCRIPT
set -eu
build=$1
here=$2
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
