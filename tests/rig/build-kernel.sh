#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Builds the rig kernel for the iommufd, vfio cdev and mdev tests from
# Debian's linux-source package: "make tinyconfig" plus
# tests/rig/kernel.config, everything built in (no modules).  The bzImage
# is cached in $VFIO_CACHE/rig-kernel, keyed by the source version and the
# config, so only a cold run or a config change pays the build (about 10
# minutes on 2 cores).  Prints the bzImage's path; with --cached, prints it
# only if it is built already, and builds nothing; with --source, fetches
# the source only and prints its directory (tests/rig/build-mtty.sh).
#
# RIG_LINUX_SUITE (e.g. trixie-backports) takes LINUX_SRC_PKG (then e.g.
# linux-source-7.2) from that Debian suite, through an apt state of its own
# (scripts/apt-suite.sh), with tests/rig/kernel-newer.config on top: the
# newer kernel that bench/pin.sh compares.
set -eu

REPO=${REPO:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$REPO/scripts/config.sh"
. "$REPO/scripts/apt-suite.sh"

log() { echo "build-kernel: $*" >&2; }
die() { echo "build-kernel: error: $*" >&2; exit 1; }

SUITE=${RIG_LINUX_SUITE:-}
FRAGMENT=$REPO/tests/rig/kernel.config
DIR=$VFIO_CACHE/rig-kernel
SRC=$DIR/src${SUITE:+-${LINUX_SRC_PKG%%=*}}
KEY=$(cat "$FRAGMENT" ${SUITE:+"$REPO/tests/rig/kernel-newer.config"} |
      { cat; echo "$LINUX_SRC_PKG"; } | sha256sum | cut -c1-16)
IMAGE=$DIR/bzImage-$KEY

download_source() {
    if [ -z "$SUITE" ]; then
        apt-get download -q "$LINUX_SRC_PKG"
        return
    fi
    apt_suite_init "$DIR/apt-$SUITE" "$SUITE"
    apt_suite update && apt_suite download "$LINUX_SRC_PKG"
}

fetch_source() {
    [ -f "$SRC/.vfio-extracted" ] && return 0
    log "fetching $LINUX_SRC_PKG${SUITE:+ from $SUITE}"
    mkdir -p "$DIR"
    rm -rf "$SRC" "$DIR/deb"
    (cd "$DIR" && download_source >/dev/null 2>&1) ||
        die "downloading $LINUX_SRC_PKG failed"
    dpkg-deb -x "$DIR"/"${LINUX_SRC_PKG%%=*}"_*.deb "$DIR/deb"
    mkdir -p "$SRC"
    tar -xJf "$DIR"/deb/usr/src/linux-source-*.tar.xz -C "$SRC" \
        --strip-components=1
    rm -rf "$DIR/deb" "$DIR"/"${LINUX_SRC_PKG%%=*}"_*.deb
    touch "$SRC/.vfio-extracted"
}

# Every option of the fragment must survive olddefconfig: a dependency
# that tinyconfig lacks would drop it silently.
check_config() {
    cat "$FRAGMENT" ${SUITE:+"$REPO/tests/rig/kernel-newer.config"} |
        grep '^CONFIG_' | while read -r opt; do
        grep -qx "$opt" "$1/.config" || die "$opt did not take (see $1/.config)"
    done
}

build() {
    o=$DIR/obj
    rm -rf "$o"
    mkdir -p "$o"
    log "building the rig kernel in $o (about 10 minutes)"
    make -s -C "$SRC" O="$o" ARCH=x86_64 tinyconfig >/dev/null
    cat "$FRAGMENT" ${SUITE:+"$REPO/tests/rig/kernel-newer.config"} \
        >> "$o/.config"
    make -s -C "$SRC" O="$o" ARCH=x86_64 olddefconfig > "$o/config.log" 2>&1
    check_config "$o"
    make -s -C "$SRC" O="$o" ARCH=x86_64 -j"$(nproc)" bzImage \
        > "$o/build.log" 2>&1 || { tail -30 "$o/build.log" >&2; die "kernel build failed"; }
    cp "$o/arch/x86/boot/bzImage" "$IMAGE.tmp"
    mv "$IMAGE.tmp" "$IMAGE"
    rm -rf "$o"
    log "built $IMAGE"
}

if [ "${1:-}" = --cached ]; then
    [ ! -f "$IMAGE" ] || echo "$IMAGE"
    exit 0
fi
if [ "${1:-}" = --source ]; then
    fetch_source
    echo "$SRC"
    exit 0
fi
[ -f "$IMAGE" ] || { fetch_source && build; }
echo "$IMAGE"
