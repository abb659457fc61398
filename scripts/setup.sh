#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Installs what building and testing our vfio-pci needs on a Debian 12
# machine, and fetches the pinned QEMU 7.2 source and the rig's guest kernel
# into a cache outside the clone ($VFIO_CACHE).  Idempotent: a second run
# finds everything in place and returns in seconds.
set -eu

. "$(dirname "$0")/config.sh"

log() { echo "setup: $*"; }

need_root() {
    if [ "$(id -u)" != 0 ]; then
        echo "setup: must run as root (it installs Debian packages)" >&2
        exit 1
    fi
}

# apt-get source needs deb-src lines for the suites apt already uses.
enable_deb_src() {
    changed=0
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        if grep -q '^Types: deb$' "$f"; then
            sed -i 's/^Types: deb$/Types: deb deb-src/' "$f"
            changed=1
        fi
    done
    if [ -f /etc/apt/sources.list ] &&
       grep -q '^deb ' /etc/apt/sources.list &&
       ! grep -q '^deb-src ' /etc/apt/sources.list; then
        sed -n 's/^deb /deb-src /p' /etc/apt/sources.list >> /etc/apt/sources.list
        changed=1
    fi
    if [ $changed = 1 ] || [ ! -f "$VFIO_CACHE/.apt-updated" ] ||
       ! apt-cache showsrc "qemu=$QEMU_DEB_VERSION" 2>/dev/null | grep -q Version; then
        log "apt-get update"
        apt-get update -q >/dev/null
        touch "$VFIO_CACHE/.apt-updated"
    fi
}

install_packages() {
    missing=""
    for p in $PACKAGES; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
            missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    log "installing$missing"
    # A locally changed conffile (libvirt's qemu.conf) would stop dpkg at a
    # prompt: keep the local one.  The rig writes its own qemu.conf anyway.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        --no-install-recommends $missing >/dev/null
}

fetch_qemu() {
    [ -f "$QEMU_SRC/.vfio-pristine" ] && return 0
    log "fetching qemu $QEMU_DEB_VERSION source"
    rm -rf "$QEMU_SRC"
    (cd "$VFIO_CACHE" &&
     apt-get source -q --download-only "qemu=$QEMU_DEB_VERSION" >/dev/null 2>&1 &&
     dpkg-source -x "qemu_${QEMU_DEB_VERSION#*:}.dsc" "$QEMU_SRC" >/dev/null)
    touch "$QEMU_SRC/.vfio-pristine"
}

fetch_kernel() {
    [ -d "$KERNEL_DIR/lib/modules" ] && return 0
    log "fetching guest kernel $KERNEL_PKG"
    (cd "$VFIO_CACHE" && apt-get download -q "$KERNEL_PKG" >/dev/null 2>&1)
    rm -rf "$KERNEL_DIR.tmp"
    dpkg-deb -x "$VFIO_CACHE"/"$KERNEL_PKG"_*.deb "$KERNEL_DIR.tmp"
    mv "$KERNEL_DIR.tmp" "$KERNEL_DIR"
}

# The headers of that kernel, unpacked as the packages would install them
# (installing them would pull in the kernel image, udev and an initramfs
# build: minutes): the tree of the -amd64 package includes its -common
# sibling's Makefile by an absolute path, which is pointed at the copy.
fetch_kernel_headers() {
    [ -f "$KERNEL_HEADERS_DIR/.vfio-extracted" ] && return 0
    v=${KERNEL_PKG#linux-image-}
    log "fetching the headers of $v"
    d=$KERNEL_HEADERS_DIR.tmp
    rm -rf "$d"
    mkdir -p "$d/debs"
    (cd "$d/debs" && apt-get download -q "linux-headers-$v" \
        "linux-headers-${v%-amd64}-common" "linux-kbuild-${v%-amd64}" \
        >/dev/null 2>&1)
    for deb in "$d"/debs/*.deb; do
        dpkg-deb -x "$deb" "$d"
    done
    rm -rf "$d/debs"
    sed -i "s|^include /usr/src/|include $KERNEL_HEADERS_DIR/usr/src/|" \
        "$d/usr/src/linux-headers-$v/Makefile"
    touch "$d/.vfio-extracted"
    rm -rf "$KERNEL_HEADERS_DIR"
    mv "$d" "$KERNEL_HEADERS_DIR"
}

# Debian's qemu-system-x86 package as installed here: the rig unpacks it
# over our installed package, as an upgrade of Debian's would.
fetch_debian_qemu_deb() {
    [ -n "$(debian_qemu_deb)" ] && return 0
    v=$(dpkg-query -W -f='${Version}' qemu-system-x86)
    log "fetching qemu-system-x86 $v"
    mkdir -p "$VFIO_CACHE/debian-deb"
    (cd "$VFIO_CACHE/debian-deb" && apt-get download -q "qemu-system-x86=$v" >/dev/null 2>&1)
}

need_root
mkdir -p "$VFIO_CACHE"
enable_deb_src
install_packages
fetch_qemu
fetch_kernel
fetch_kernel_headers
fetch_debian_qemu_deb
log "ready (cache: $VFIO_CACHE)"
