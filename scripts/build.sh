#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Builds qemu-system-x86_64 and our qtests from Debian's QEMU 7.2 source with
# QEMU's own hw/vfio and include/hw/vfio replaced by ours.  The tree in
# $QEMU_TREE links back to this repository, so an edit here rebuilds in
# seconds; ccache makes a fresh build tree cheap too.
set -eu

. "$(dirname "$0")/config.sh"
. "$(dirname "$0")/build-lib.sh"

log() { echo "build: $*"; }
die() { echo "build: error: $*" >&2; exit 1; }

OUR_QTESTS=$(cd "$REPO/tests/qtest" && ls *.c | sed 's/\.c$//')

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

# QEMU 7.2's -object and object-add only take the types that qapi/qom.json
# lists: add ours, "iommufd" (scripts/qom-iommufd.json), as upstream's
# later QEMU has it.  From the pristine file, as for the qtest list.
splice_qapi() {
    q=$QEMU_TREE/qapi/qom.json
    python3 - "$QEMU_SRC/qapi/qom.json" "$REPO/scripts/qom-iommufd.json" \
        "$q.new" <<'PY' || die "could not splice $q"
import sys
src, frag, out = sys.argv[1:]
text = open(src).read()
anchor = "##\n# @ObjectType:\n"
enum = "    'iothread',\n"
union = "      'iothread':                   'IothreadProperties',\n"
assert text.count(anchor) == 1 and text.count(enum) == 1
assert text.count(union) == 1
text = text.replace(anchor, open(frag).read() + anchor)
text = text.replace(enum, "    'iommufd',\n" + enum)
text = text.replace(union, "      'iommufd':                    "
                    "'IOMMUFDProperties',\n" + union)
open(out, "w").write(text)
PY
    if cmp -s "$q" "$q.new"; then
        rm "$q.new"
    else
        rm "$q" && mv "$q.new" "$q"
    fi
}

# QEMU 7.2 has no VFIO_MIGRATION event (upstream's qapi/vfio.json, 9.1):
# scripts/qapi-vfio.json becomes the QAPI module qapi/vfio.json, listed in
# qapi/meson.build (so qapi-events-vfio.h is generated) and included by
# qapi/qapi-schema.json.  From the pristine files, as above; a changed
# qapi/meson.build has ninja rerun meson once, not configure.
splice_qapi_vfio() {
    v=$QEMU_TREE/qapi/vfio.json
    cp "$REPO/scripts/qapi-vfio.json" "$v.new"
    python3 - "$QEMU_SRC/qapi" "$QEMU_TREE/qapi" <<'PY' || die "could not splice qapi/vfio.json"
import sys
src, dst = sys.argv[1:]
edits = {
    "meson.build": ("    'tpm',\n", "    'tpm',\n    'vfio',\n"),
    "qapi-schema.json": ("{ 'include': 'virtio.json' }\n",
                         "{ 'include': 'virtio.json' }\n"
                         "{ 'include': 'vfio.json' }\n"),
}
for name, (anchor, text) in edits.items():
    pristine = open(f"{src}/{name}").read()
    assert pristine.count(anchor) == 1, f"{name}: no single {anchor!r}"
    open(f"{dst}/{name}.new", "w").write(pristine.replace(anchor, text))
PY
    for f in "$v" "$QEMU_TREE/qapi/meson.build" "$QEMU_TREE/qapi/qapi-schema.json"; do
        if cmp -s "$f" "$f.new"; then
            rm "$f.new"
        else
            rm -f "$f" && mv "$f.new" "$f"
        fi
    done
}

compile() {
    targets="qemu-system-x86_64 $(module_targets)"
    for t in $OUR_QTESTS; do
        targets="$targets tests/qtest/$t"
    done
    log "ninja $targets"
    ninja -C "$QEMU_BUILD" $targets > "$QEMU_BUILD/ninja.log" 2>&1 ||
        { grep -B2 -A10 "error" "$QEMU_BUILD/ninja.log" | head -60; die "ninja failed"; }
    # The faults test's shim: an LD_PRELOAD library, not part of QEMU
    cc -shared -fPIC -O2 -Wall -Wextra -Werror \
        -o "$QEMU_BUILD/tests/qtest/vfio-fault-shim.so" \
        "$REPO/tests/fault/vfio-fault-shim.c" -ldl ||
        die "the fault shim does not build"
    # Our code builds without a warning.
    # (a warning may be reported in a header that our file includes)
    if grep -B6 -A3 "warning:" "$QEMU_BUILD/ninja.log" | grep -v '^\[' |
       grep -q "hw/vfio/\|tests/qtest/vfio"; then
        grep -B6 -A3 "warning:" "$QEMU_BUILD/ninja.log" | head -40
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
splice_qapi
splice_qapi_vfio
use_ccache
configure_tree
link_firmware
compile
check_sources
