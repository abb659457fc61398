# SPDX-License-Identifier: GPL-2.0-or-later
# What the rig's two initramfs builders share (sourced after config.sh,
# with log and die defined): the kernel they use, a busybox root, and
# packing it.

# The version of the unpacked Debian kernel in $KERNEL_DIR.
kernel_version() {
    [ -d "$KERNEL_DIR/lib/modules" ] ||
        die "no guest kernel in $KERNEL_DIR (run scripts/setup.sh)"
    ls "$KERNEL_DIR/lib/modules"
}

# initrd_fresh OUT: OUT is newer than the builder ($0) and this file.
initrd_fresh() {
    [ -f "$1" ] &&
        [ -n "$(find "$1" -newer "$0" -newer "$REPO/tests/rig/initrd-lib.sh")" ]
}

# initrd_root DIR [SUBDIR...]: a busybox root with the usual mount points.
initrd_root() {
    _root=$1
    shift
    for _sub in bin proc sys dev tmp mods "$@"; do
        mkdir -p "$_root/$_sub"
    done
    cp /bin/busybox "$_root/bin/"
}

# initrd_pack DIR OUT: DIR, whose /init the caller wrote, into OUT.
initrd_pack() {
    chmod +x "$1/init"
    mkdir -p "${2%/*}"
    (cd "$1" && find . | cpio -o -H newc 2>/dev/null | gzip -1) > "$2.tmp"
    mv "$2.tmp" "$2"
}
