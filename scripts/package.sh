#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# usage: scripts/package.sh
#
# Wraps the qemu-system-x86_64 that scripts/build.sh built, and its
# modules, into a Debian package, qemu-system-x86-vfio, in $BUILD/deb, and
# prints its path.  The package diverts Debian's
# /usr/bin/qemu-system-x86_64 to /usr/bin/qemu-system-x86_64.debian
# (dpkg-divert) and puts ours in its place, its modules in a directory of
# their own (QEMU_MODDIR in scripts/config.sh); Debian's firmware,
# keymaps and data stay Debian's, and an upgrade of Debian's
# qemu-system-x86 lands its binary beside ours, not over it.
# Removing the package puts Debian's binary back.  Does nothing when the
# package is newer than the binary.
set -eu

. "$(dirname "$0")/config.sh"
. "$REPO/scripts/build-lib.sh"

PKG=qemu-system-x86-vfio
BIN=/usr/bin/qemu-system-x86_64
DEB_DIR=$BUILD/deb

log() { echo "package: $*" >&2; }
die() { echo "package: error: $*" >&2; exit 1; }

ours=$QEMU_BUILD/qemu-system-x86_64
[ -x "$ours" ] || die "no $ours: run scripts/build.sh first"
deb=$(ls "$DEB_DIR/${PKG}"_*.deb 2>/dev/null | head -n 1)
if [ -n "$deb" ] && [ "$deb" -nt "$ours" ]; then
    echo "$deb"
    exit 0
fi
count=$(git -C "$REPO" rev-list --count HEAD 2>/dev/null || echo 0)
version=${QEMU_DEB_VERSION}+vfio$count
deb=$DEB_DIR/${PKG}_${version#*:}_amd64.deb

# The maintainer scripts: the diversion is made before ours is unpacked
# and undone once ours is gone.
preinst() {
    cat <<EOF
#!/bin/sh
set -e
case "\$1" in
install|upgrade)
    dpkg-divert --package $PKG --add --rename \\
        --divert $BIN.debian $BIN ;;
esac
EOF
}

postrm() {
    cat <<EOF
#!/bin/sh
set -e
case "\$1" in
remove|abort-install|disappear)
    dpkg-divert --package $PKG --remove --rename \\
        --divert $BIN.debian $BIN ;;
esac
EOF
}

# The libraries ours links, as dpkg-shlibdeps finds their packages
shlib_depends() {
    mkdir -p "$1/debian"
    printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$PKG" "$PKG" \
        > "$1/debian/control"
    (cd "$1" && dpkg-shlibdeps -O "root$BIN" "root$QEMU_MODDIR"/*.so 2>/dev/null) |
        sed -n 's/^shlibs:Depends=//p'
}

control() {
    cat <<EOF
Package: $PKG
Version: $version
Architecture: amd64
Maintainer: vfio-pci for QEMU <root@localhost>
Section: misc
Priority: optional
Depends: $1, qemu-system-x86 (>= 1:7.2), qemu-system-x86 (<< 1:7.3~)
Description: QEMU 7.2's qemu-system-x86_64 with a reworked vfio-pci
 Debian's QEMU $QEMU_DEB_VERSION, built with Debian's configure options,
 with hw/vfio replaced by this project's vfio-pci (iommufd, migration v2,
 and more).  Diverts Debian's binary to $BIN.debian.
EOF
}

log "packaging $ours as $PKG $version"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root/DEBIAN" "$root/usr/bin" "$root/usr/share/doc/$PKG" \
    "$root$QEMU_MODDIR"
cp "$ours" "$root$BIN"
# As Debian's package, without the qtest accelerator (tests only)
for m in $(module_targets | grep -v '^accel-qtest-'); do
    cp "$QEMU_BUILD/$m" "$root$QEMU_MODDIR/" || die "no module $m: run scripts/build.sh"
done
cp "$REPO/COPYING" "$root/usr/share/doc/$PKG/copyright"
preinst > "$root/DEBIAN/preinst"
postrm > "$root/DEBIAN/postrm"
chmod 755 "$root/DEBIAN/preinst" "$root/DEBIAN/postrm"
depends=$(shlib_depends "$work")
[ -n "$depends" ] || die "dpkg-shlibdeps found no dependencies"
control "$depends" > "$root/DEBIAN/control"
mkdir -p "$DEB_DIR"
rm -f "$DEB_DIR/${PKG}"_*.deb
dpkg-deb --root-owner-group -Zxz -z1 --build "$root" "$deb" >/dev/null ||
    die "dpkg-deb failed"
echo "$deb"
