#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# usage: tests/debian-help-test.sh [OURS [DEBIAN]]
#
# Our qemu-system-x86_64 must offer everything Debian's does: for each of
# the help listings below, every line Debian's binary prints, ours prints
# too, and the lines only ours prints are the ones this project adds
# (vfio and iommufd).  OURS defaults to the build's binary, DEBIAN to
# /usr/bin/qemu-system-x86_64.  TAP on stdout.
set -eu

. "$(dirname "$0")/../scripts/config.sh"

OURS=${1:-$QEMU_BUILD/qemu-system-x86_64}
DEBIAN=${2:-/usr/bin/qemu-system-x86_64}
LISTINGS="-device -object -machine -display -audiodev -accel -cpu -netdev
 -chardev"
# What ours adds: its own devices and the iommufd object (lines of the
# listings that name them, whatever their description says).
OURS_ADDS='vfio|iommufd'

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# help BINARY OPTION: the listing, sorted, without trailing blanks
help() {
    "$1" "$2" help 2>/dev/null | sed 's/[[:space:]]*$//' | LC_ALL=C sort -u
}

n=0
# shellcheck disable=SC2086
set -- $LISTINGS
echo "1..$(($# + 1))"
if "$OURS" --version | grep -q "Debian $QEMU_DEB_VERSION"; then
    echo "ok 1 - $OURS --version names Debian's $QEMU_DEB_VERSION"
else
    echo "not ok 1 - $OURS --version names Debian's $QEMU_DEB_VERSION"
    "$OURS" --version | sed 's/^/# /'
fi
n=1
for opt in "$@"; do
    n=$((n + 1))
    desc="$opt help: ours lists all of Debian's, and adds only $OURS_ADDS"
    if [ ! -x "$DEBIAN" ]; then
        echo "not ok $n - $desc # no $DEBIAN (Debian's qemu-system-x86)"
        continue
    fi
    help "$DEBIAN" "$opt" > "$work/debian"
    help "$OURS" "$opt" > "$work/ours"
    LC_ALL=C comm -23 "$work/debian" "$work/ours" |
        grep -Ev "$OURS_ADDS" > "$work/missing" || true
    LC_ALL=C comm -13 "$work/debian" "$work/ours" |
        grep -Ev "$OURS_ADDS" > "$work/extra" || true
    if [ ! -s "$work/missing" ] && [ ! -s "$work/extra" ] &&
       [ "$(wc -l < "$work/debian")" -gt 1 ]; then
        echo "ok $n - $desc ($(wc -l < "$work/ours") lines)"
    else
        echo "not ok $n - $desc"
        sed 's/^/# only in Debian'"'"'s: /' "$work/missing"
        sed 's/^/# only in ours: /' "$work/extra"
    fi
done
