#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Builds qemu-system-x86_64 and our qtests from Debian's QEMU 7.2 source with
# QEMU's own hw/vfio and include/hw/vfio replaced by ours.  The tree in
# $QEMU_TREE links back to this repository, so an edit here rebuilds in
# seconds; ccache makes a fresh build tree cheap too.
set -eu

. "$(dirname "$0")/config.sh"

log() { echo "build: $*"; }
die() { echo "build: error: $*" >&2; exit 1; }

OUR_QTESTS=$(cd "$REPO/tests/qtest" && ls *.c | sed 's/\.c$//')

# Hard links keep the copy cheap; QEMU's files are never edited in place
# (we replace, never write through, so the cache stays pristine).
copy_tree() {
    log "preparing $QEMU_TREE"
    rm -rf "$QEMU_TREE"
    mkdir -p "$BUILD"
    cp -al "$QEMU_SRC" "$QEMU_TREE" 2>/dev/null || cp -a "$QEMU_SRC" "$QEMU_TREE"
    rm "$QEMU_TREE/.vfio-pristine"
}

# Our hw/vfio and include/hw/vfio stand where QEMU's were.
link_ours() {
    rm -rf "$QEMU_TREE/hw/vfio" "$QEMU_TREE/include/hw/vfio"
    ln -s "$REPO/hw/vfio" "$QEMU_TREE/hw/vfio"
    ln -s "$REPO/include/hw/vfio" "$QEMU_TREE/include/hw/vfio"
    for f in "$REPO"/tests/qtest/*.c "$REPO"/tests/qtest/*.h; do
        [ -e "$f" ] && ln -sf "$f" "$QEMU_TREE/tests/qtest/${f##*/}"
    done
    return 0
}

# Splice our qtest list (tests/qtest/meson.build here) into QEMU's, right
# after qtests_pci is defined and before anything reads it.  Always from
# QEMU's pristine file, so that a changed list reaches an existing tree.
splice_qtests() {
    mb=$QEMU_TREE/tests/qtest/meson.build
    awk -v frag="$REPO/tests/qtest/meson.build" '
        /^qtests_cxl = / { while ((getline l < frag) > 0) print l; print "" }
        { print }' "$QEMU_SRC/tests/qtest/meson.build" > "$mb.new"
    grep -q "vfio-pci qtests" "$mb.new" || die "could not splice $mb"
    if cmp -s "$mb" "$mb.new"; then
        rm "$mb.new"
    else
        rm "$mb" && mv "$mb.new" "$mb"
    fi
}

CONFIGURE_ARGS="--target-list=x86_64-softmmu --meson=meson
    --without-default-features --enable-kvm --enable-tcg
    --disable-docs --disable-werror --disable-tools"

# ccache through Debian's masquerade directory: meson records the compiler
# it finds first on PATH.  Relative paths let every clone share the cache.
use_ccache() {
    [ -d /usr/lib/ccache ] && PATH=/usr/lib/ccache:$PATH
    CCACHE_BASEDIR=$QEMU_TREE
    CCACHE_NOHASHDIR=1
    export PATH CCACHE_BASEDIR CCACHE_NOHASHDIR
}

configure_tree() {
    stamp="$CONFIGURE_ARGS $(command -v cc)"
    if [ -f "$QEMU_BUILD/build.ninja" ] &&
       [ "$(cat "$QEMU_BUILD/.vfio-configured" 2>/dev/null)" = "$stamp" ]; then
        return 0
    fi
    log "configuring"
    rm -rf "$QEMU_BUILD"
    mkdir -p "$QEMU_BUILD"
    # shellcheck disable=SC2086
    (cd "$QEMU_BUILD" && ../configure $CONFIGURE_ARGS > configure.log 2>&1) ||
        { tail -30 "$QEMU_BUILD/configure.log"; die "configure failed"; }
    echo "$stamp" > "$QEMU_BUILD/.vfio-configured"
}

# A QEMU run from its build tree looks for firmware in qemu-bundle; the dfsg
# source has none, so use Debian's.
link_firmware() {
    fw=$QEMU_BUILD/qemu-bundle/usr/local/share/qemu
    mkdir -p "$fw"
    for f in /usr/share/seabios/*.bin /usr/share/qemu/*.bin \
             /usr/share/qemu/*.rom /usr/lib/ipxe/qemu/*.rom; do
        [ -e "$f" ] && ln -sf "$f" "$fw/"
    done
    return 0
}

compile() {
    targets="qemu-system-x86_64"
    for t in $OUR_QTESTS; do
        targets="$targets tests/qtest/$t"
    done
    log "ninja $targets"
    ninja -C "$QEMU_BUILD" $targets > "$QEMU_BUILD/ninja.log" 2>&1 ||
        { grep -B2 -A10 "error" "$QEMU_BUILD/ninja.log" | head -60; die "ninja failed"; }
    # Our code builds without a warning.
    if grep -A3 "hw/vfio/.*warning:\|tests/qtest/vfio.*warning:" "$QEMU_BUILD/ninja.log"; then
        touch "$REPO"/hw/vfio/*.c
        die "warnings in our sources"
    fi
}

# Fail loudly if anything of QEMU's own hw/vfio got compiled.
check_sources() {
    srcs=$(grep -o '"file": "[^"]*hw/vfio/[^"]*"' "$QEMU_BUILD/compile_commands.json" |
           sed 's/"file": "//; s/"$//' | sort -u)
    [ -n "$srcs" ] || die "no hw/vfio source was compiled"
    for s in $srcs; do
        real=$(cd "$QEMU_BUILD" && readlink -f "$s")
        case "$real" in
        "$REPO"/hw/vfio/*) ;;
        *) die "$s is not ours ($real)" ;;
        esac
    done
    "$QEMU_BUILD/qemu-system-x86_64" -device help 2>&1 | grep -q '"vfio-pci"' ||
        die "vfio-pci is missing from qemu-system-x86_64 -device help"
    log "ok: $(echo $srcs | wc -w) hw/vfio sources, all ours; vfio-pci registered"
}

[ -f "$QEMU_SRC/.vfio-pristine" ] || die "no QEMU source in $QEMU_SRC: run scripts/setup.sh"
if [ ! -L "$QEMU_TREE/hw/vfio" ] || [ ! -f "$QEMU_TREE/configure" ]; then
    copy_tree
fi
link_ours
splice_qtests
use_ccache
configure_tree
link_firmware
compile
check_sources
