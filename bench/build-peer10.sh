#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Builds the peer of the iommufd benchmark rows (bench/iommufd.sh): upstream
# QEMU 10.0's qemu-system-x86_64 with its own vfio-pci, from Debian 13's
# qemu source package, on this Debian 12 machine.  Debian 13's packages are
# only downloaded, through an apt state of their own under $PEER10 (the
# machine's apt sources are never touched, nothing of Debian 13 is
# installed): the source, meson 1.7 (QEMU 10.0 needs 1.5 or later, Debian 12
# has 1.0) and the x86 firmware that the +ds source lacks.  Cached in
# $VFIO_CACHE/peer10 and built only when its binary is missing (about 5
# minutes on 2 cores).  Nothing of it is copied into this repository.
# Prints the binary's path.
set -eu

. "$(dirname "$0")/../scripts/config.sh"
. "$REPO/scripts/apt-suite.sh"

PEER10_VERSION=${PEER10_VERSION:-1:10.0.13+ds-0+deb13u1}
PEER10=$VFIO_CACHE/peer10
APT=$PEER10/apt
BIN=$PEER10/build/qemu-system-x86_64

log() { echo "build-peer10: $*" >&2; }
die() { echo "build-peer10: error: $*" >&2; exit 1; }

fetch() {
    [ -f "$PEER10/src/configure" ] && return 0
    apt_suite_init "$APT" trixie
    apt_suite update >/dev/null
    rm -rf "$PEER10/dl" "$PEER10/src" "$PEER10/meson" "$PEER10/fw"
    mkdir -p "$PEER10/dl"
    (cd "$PEER10/dl" &&
     apt_suite download meson qemu-system-data seabios ipxe-qemu >/dev/null &&
     apt_suite source --download-only "qemu=$PEER10_VERSION" >/dev/null) ||
        die "cannot download Debian 13's qemu $PEER10_VERSION"
    dpkg-deb -x "$PEER10"/dl/meson_*.deb "$PEER10/meson"
    for d in qemu-system-data seabios ipxe-qemu; do
        dpkg-deb -x "$PEER10"/dl/"$d"_*.deb "$PEER10/fw"
    done
    dpkg-source -q --no-copy -x "$PEER10"/dl/qemu_*.dsc "$PEER10/src" >/dev/null
}

build() {
    mpy=$PEER10/meson/usr/lib/python3/dist-packages
    fw=$PEER10/fw/usr/share/seabios:$PEER10/fw/usr/lib/ipxe/qemu:$PEER10/fw/usr/share/qemu
    rm -rf "$PEER10/build"
    mkdir -p "$PEER10/build"
    log "configuring and building QEMU $PEER10_VERSION (about 5 minutes)"
    # The same features as ours and the 7.2 peer (scripts/build-lib.sh)
    (cd "$PEER10/build" &&
     PYTHONPATH=$mpy PATH=$PEER10/meson/usr/bin:$PATH \
     ../src/configure --python=/usr/bin/python3 --target-list=x86_64-softmmu \
        --without-default-features --enable-kvm --enable-tcg \
        --disable-docs --disable-werror --disable-tools --disable-rust \
        --disable-download --disable-install-blobs --firmwarepath="$fw" \
        > configure.log 2>&1) || { tail -30 "$PEER10/build/configure.log" >&2; die "configure failed"; }
    # Later ninja runs regenerate with the venv's meson: keep it found
    echo "$mpy" > "$(ls -d "$PEER10"/build/pyvenv/lib/python3*/site-packages)/peer10-meson.pth"
    ninja -C "$PEER10/build" qemu-system-x86_64 > "$PEER10/build/ninja.log" 2>&1 ||
        { tail -40 "$PEER10/build/ninja.log" >&2; die "ninja failed"; }
    # Run from its build tree, QEMU looks for the firmware path under qemu-bundle
    mkdir -p "$PEER10/build/qemu-bundle$PEER10"
    ln -sfn "$PEER10/fw" "$PEER10/build/qemu-bundle$PEER10/fw"
}

check() {
    "$BIN" --version | grep -q "version 10\.0\." || die "$BIN is not QEMU 10.0"
    "$BIN" -object help | grep -qw iommufd || die "$BIN has no iommufd object"
    "$BIN" -device vfio-pci,help | grep -q "iommufd" ||
        die "$BIN's vfio-pci has no iommufd property"
}

if [ ! -x "$BIN" ]; then
    fetch
    build
fi
check
echo "$BIN"
