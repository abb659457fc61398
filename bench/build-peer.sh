#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Builds the benchmark peer: qemu-system-x86_64 from the same cached Debian
# QEMU 7.2 source ($QEMU_SRC) with QEMU's own hw/vfio left in, configured
# and compiled exactly like scripts/build.sh builds ours (scripts/build-lib.sh
# holds the shared arguments and the ccache set-up).  It lives in
# $BUILD/peer and is built only when its binary is missing.  Nothing of it
# is copied into this repository.
set -eu

. "$(dirname "$0")/../scripts/config.sh"
. "$REPO/scripts/build-lib.sh"

QEMU_TREE=$BUILD/peer/qemu
QEMU_BUILD=$QEMU_TREE/build
PEER_QEMU=$QEMU_BUILD/qemu-system-x86_64
QEMU_PKGVERSION="Debian $QEMU_DEB_VERSION"

log() { echo "build-peer: $*"; }
die() { echo "build-peer: error: $*" >&2; exit 1; }

# With its modules, as ours: Debian's configuration makes the qtest and
# TCG accelerators modules.  QEMU 7.2's meson does not order the D-Bus
# display's generated header before the sources that include it: a cold
# build races it (and lost, on a fresh machine).
compile() {
    log "ninja qemu-system-x86_64 and its modules (peer)"
    # shellcheck disable=SC2046
    { ninja -C "$QEMU_BUILD" ui/dbus-display1.h &&
      ninja -C "$QEMU_BUILD" qemu-system-x86_64 $(module_targets); } \
        > "$QEMU_BUILD/ninja.log" 2>&1 ||
        { grep -B2 -A10 "error" "$QEMU_BUILD/ninja.log" | head -60; die "ninja failed"; }
}

# The peer must be QEMU's own vfio-pci, never a link to ours.
check_peer() {
    [ -d "$QEMU_TREE/hw/vfio" ] && [ ! -L "$QEMU_TREE/hw/vfio" ] ||
        die "$QEMU_TREE/hw/vfio is not QEMU's own"
    grep -q '"file": "[^"]*hw/vfio/pci.c"' "$QEMU_BUILD/compile_commands.json" ||
        die "the peer did not compile hw/vfio/pci.c"
    "$PEER_QEMU" -device help 2>&1 | grep -q '"vfio-pci"' ||
        die "vfio-pci is missing from the peer's -device help"
    log "ok: $PEER_QEMU (QEMU's own hw/vfio)"
}

[ -f "$QEMU_SRC/.vfio-pristine" ] || die "no QEMU source in $QEMU_SRC: run scripts/setup.sh"
if [ -x "$PEER_QEMU" ] && [ -f "$QEMU_BUILD/accel-qtest-x86_64.so" ] &&
   [ ! -L "$QEMU_TREE/hw/vfio" ]; then
    log "cached: $PEER_QEMU"
    exit 0
fi
[ -f "$QEMU_TREE/configure" ] || copy_tree
use_ccache
configure_tree
link_firmware
compile
check_peer
