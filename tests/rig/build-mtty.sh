#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Builds the kernel's mtty sample (samples/vfio-mdev/mtty.c of the rig
# kernel's linux-source) as a module for the Debian kernel the rig boots,
# against that kernel's headers (scripts/setup.sh unpacks them): Debian
# ships mdev.ko but no mdev device, and its boot is the one with AppArmor,
# where libvirt runs an mdev as on a host (guest-debian-host.sh).  The
# module is cached in $VFIO_CACHE/mtty, keyed by the two packages.  Prints
# its path.
set -eu

REPO=${REPO:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$REPO/scripts/config.sh"

die() { echo "build-mtty: error: $*" >&2; exit 1; }

V=${KERNEL_PKG#linux-image-}
HEADERS=$KERNEL_HEADERS_DIR/usr/src/linux-headers-$V
DIR=$VFIO_CACHE/mtty
KEY=$(echo "$KERNEL_PKG $LINUX_SRC_PKG" | sha256sum | cut -c1-16)
KO=$DIR/mtty-$KEY.ko

if [ ! -f "$KO" ]; then
    [ -f "$HEADERS/Makefile" ] || die "no headers of $V in $KERNEL_HEADERS_DIR (scripts/setup.sh)"
    src=$("$REPO/tests/rig/build-kernel.sh" --source)
    o=$DIR/obj
    rm -rf "$o"
    mkdir -p "$o"
    cp "$src/samples/vfio-mdev/mtty.c" "$o/"
    echo 'obj-m := mtty.o' > "$o/Kbuild"
    make -s -C "$HEADERS" M="$o" modules > "$o/build.log" 2>&1 ||
        { tail -20 "$o/build.log" >&2; die "mtty.ko did not build"; }
    cp "$o/mtty.ko" "$KO.tmp"
    mv "$KO.tmp" "$KO"
    rm -rf "$o"
fi
echo "$KO"
