#!/bin/sh
# SPDX-License-Identifier: MIT
# Check (and, as root, install) the Debian packages a make target needs.
#
#   scripts/deps.sh build    compiler, cmake, cmocka, libsodium, libzmq, libnng
#   scripts/deps.sh test     what make test needs: build + python3-zmq (the
#                            pyzmq interop test)
#   scripts/deps.sh fuzz     build + clang and its fuzzing runtime
#   scripts/deps.sh format   clang-format
#   scripts/deps.sh ci       all of the above
#
# Run as root it installs what is missing with apt-get; otherwise it prints
# the exact apt-get line to run and exits 1.  Set IPCX_NO_INSTALL=1 to only
# check.
set -eu

what=${1:-build}
pkgs="gcc make cmake pkg-config libc6-dev libcmocka-dev libsodium-dev libzmq3-dev libnng-dev"
case "$what" in
build) ;;
test) pkgs="$pkgs python3-zmq" ;;
fuzz) pkgs="$pkgs clang libclang-rt-14-dev" ;;
format) pkgs="clang-format" ;;
ci) pkgs="$pkgs python3-zmq clang libclang-rt-14-dev clang-format" ;;
*) echo "usage: $0 build|test|fuzz|format|ci" >&2; exit 2 ;;
esac

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps: not a Debian system; make sure these are installed: $pkgs" >&2
    exit 0
fi

missing=""
for p in $pkgs; do
    st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
    case "$st" in
    ii*) ;;
    *) missing="$missing $p" ;;
    esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ] && [ "${IPCX_NO_INSTALL:-0}" != 1 ]; then
    echo "deps: installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing
    exit 0
fi
echo "deps: missing Debian packages:$missing" >&2
if command -v sudo >/dev/null 2>&1; then
    echo "deps: install them with:" >&2
    echo "    sudo apt-get update && sudo apt-get install -y$missing" >&2
else
    echo "deps: install them as root with:" >&2
    echo "    apt-get update && apt-get install -y$missing" >&2
fi
exit 1
