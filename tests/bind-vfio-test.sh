#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Host-side tests of scripts/bind-vfio.sh against a fake sysfs tree (plain
# directories, files and symlinks in a temporary directory).  Prints TAP;
# exits non-zero if a test fails.  Needs no IOMMU, no root.  TEST_SH picks
# the shell that runs the tool (e.g. TEST_SH="busybox sh"; default sh).
set -eu

TOOL=$(cd "$(dirname "$0")/.." && pwd)/scripts/bind-vfio.sh
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
chmod 755 "$T"
S=$T/sys
N=0
FAILED=0

ok()    { N=$((N + 1)); echo "ok $N - $1"; }
notok() { N=$((N + 1)); FAILED=1; echo "not ok $N - $1"; sed 's/^/#   /' "$T/out"; }

# expect DESC RC PATTERN CMD...: runs CMD (stdout+stderr to $T/out) and
# checks its exit code (0 or "fail" for any non-zero) and that the output
# matches the grep -E PATTERN.
expect() {
    desc=$1 want=$2 pat=$3
    shift 3
    rc=0
    "$@" > "$T/out" 2>&1 || rc=$?
    case $want:$rc in
    0:0|fail:[1-9]*) ;;
    *) notok "$desc (exit $rc)"; return 0 ;;
    esac
    if grep -Eq -- "$pat" "$T/out"; then ok "$desc"; else notok "$desc"; fi
}

tool() { BIND_VFIO_SYSFS=$S BIND_VFIO_STATE=$T/state ${TEST_SH:-sh} "$TOOL" "$@"; }

driver() { mkdir -p "$S/bus/pci/drivers/$1"; : > "$S/bus/pci/drivers/$1/bind"; : > "$S/bus/pci/drivers/$1/unbind"; }

# dev BDF VENDOR DEVICE CLASS GROUP DRIVER ("" for none, GROUP "" for none)
dev() {
    d=$S/bus/pci/devices/$1
    mkdir -p "$d"
    echo "0x$2" > "$d/vendor"; echo "0x$3" > "$d/device"; echo "$4" > "$d/class"
    echo "(null)" > "$d/driver_override"
    if [ -n "$5" ]; then
        g=$S/kernel/iommu_groups/$5
        mkdir -p "$g/devices"
        ln -s "$g" "$d/iommu_group"
        ln -s "$d" "$g/devices/$1"
    fi
    [ -z "$6" ] || ln -s "$S/bus/pci/drivers/$6" "$d/driver"
}

make_sysfs() {
    mkdir -p "$S/bus/pci"
    : > "$S/bus/pci/drivers_probe"
    for x in vfio-pci e1000e lpc_ich ahci pcieport; do driver "$x"; done
    dev 0000:00:02.0 1234 11e8 0x00ff00 3 ""
    dev 0000:00:03.0 8086 10d3 0x020000 4 e1000e
    dev 0000:00:05.0 1b36 0010 0x010802 5 vfio-pci
    dev 0000:00:1f.0 8086 2918 0x060100 7 lpc_ich
    dev 0000:00:1f.2 8086 2922 0x010601 7 ahci
    dev 0000:00:1c.0 8086 2940 0x060400 8 pcieport
    dev 0000:01:00.0 8086 10d3 0x020000 8 vfio-pci
    dev 0000:00:06.0 1af4 1000 0x020000 "" ""
}

make_sysfs

expect "--help prints usage" 0 '^usage: bind-vfio' sh "$TOOL" --help
expect "-h prints usage" 0 'status BDF' sh "$TOOL" -h
expect "no command prints usage and fails" fail '^usage:' sh "$TOOL"
expect "unknown command is refused" fail "unknown command 'frob'" tool frob 00:02.0
expect "missing address is refused" fail 'exactly one PCI address' tool status
expect "malformed address is refused" fail "malformed PCI address '00:2.0'" tool status 00:2.0
expect "bad function number is refused" fail 'malformed PCI address' tool status 0000:00:02.8
expect "missing device is refused" fail 'no such PCI device: 0000:00:09.0' tool status 00:09.0
expect "no IOMMU group names the kernel options" fail \
    'no IOMMU group: enable the IOMMU .*intel_iommu=on or amd_iommu=on, iommu=pt' tool bind 00:06.0
expect "status of an unbound device" 0 '^  0000:00:02\.0 1234:11e8 none$' tool status 00:02.0
expect "status: unbound single device is viable" 0 '^viable for VFIO$' tool status 0000:00:02.0
expect "status: upper-case address accepted" 0 '^IOMMU group 7:$' tool status 00:1F.0
expect "status of a multi-function group lists all functions" 0 \
    '0000:00:1f\.2 8086:2922 ahci' tool status 00:1f.0
expect "status: group with lpc_ich and ahci is not viable" 0 \
    '^not viable for VFIO: bound to other drivers: 0000:00:1f\.0 0000:00:1f\.2$' tool status 00:1f.0
expect "status: bridge on pcieport plus vfio-pci device is viable" 0 \
    '^viable for VFIO$' tool status 01:00.0
expect "status marks bridges" 0 '0000:00:1c\.0 8086:2940 pcieport \(bridge\)' tool status 01:00.0

expect "dry-run bind of a driverless device" 0 \
    "^echo 'vfio-pci' > $S/bus/pci/devices/0000:00:02\\.0/driver_override\$" \
    tool --dry-run bind 00:02.0
expect "dry-run bind probes through drivers_probe" 0 \
    "^echo '0000:00:02\\.0' > $S/bus/pci/drivers_probe\$" tool --dry-run bind 00:02.0
expect "dry-run bind unbinds the old driver first" 0 \
    "^echo '0000:00:03\\.0' > $S/bus/pci/devices/0000:00:03\\.0/driver/unbind\$" \
    tool --dry-run bind 0000:00:03.0
expect "dry-run bind never uses new_id" 0 '^' tool --dry-run bind 00:03.0
if grep -q new_id "$T/out"; then notok "no new_id in dry-run output"; else ok "no new_id in dry-run output"; fi
if grep -q . "$S/bus/pci/drivers_probe" || [ "$(cat "$S/bus/pci/devices/0000:00:03.0/driver_override")" != "(null)" ] ||
   [ -e "$T/state" ]; then
    notok "dry-run writes nothing"
else
    ok "dry-run writes nothing"
fi
expect "dry-run bind skips the bridge in the group" 0 \
    'bind-vfio: 0000:00:1c\.0: bridge, left on pcieport' tool --dry-run bind 01:00.0
expect "bind leaves a device already on vfio-pci alone" 0 \
    'already on vfio-pci' tool --dry-run bind 00:05.0

mv "$S/bus/pci/drivers/vfio-pci" "$T/vfio-pci.away"
expect "dry-run bind loads vfio-pci when it is missing" 0 '^modprobe vfio-pci$' tool --dry-run bind 00:02.0
mv "$T/vfio-pci.away" "$S/bus/pci/drivers/vfio-pci"

mkdir -p "$T/state"; echo e1000e > "$T/state/0000:00:05.0"; echo vfio-pci > "$S/bus/pci/devices/0000:00:05.0/driver_override"
expect "dry-run unbind clears driver_override" 0 \
    "^echo '' > $S/bus/pci/devices/0000:00:05\\.0/driver_override\$" tool --dry-run unbind 00:05.0
expect "dry-run unbind releases the device from vfio-pci" 0 \
    "^echo '0000:00:05\\.0' > $S/bus/pci/drivers/vfio-pci/unbind\$" tool --dry-run restore 00:05.0
expect "dry-run unbind binds the recorded driver" 0 \
    "^echo '0000:00:05\\.0' > $S/bus/pci/drivers/e1000e/bind\$" tool --dry-run unbind 00:05.0
rm -rf "$T/state"
expect "unbind of a device that is not ours does nothing" 0 \
    'not ours, left on e1000e' tool unbind 00:03.0

if [ "$(id -u)" != 0 ]; then
    expect "bind as non-root is refused" fail 'must run as root' tool bind 00:02.0
elif command -v setpriv > /dev/null && setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
    # The script comes on stdin: the checkout may be out of nobody's reach.
    chmod -R a+rX "$T"
    expect "bind as non-root is refused" fail 'must run as root' \
        setpriv --reuid=65534 --regid=65534 --clear-groups env BIND_VFIO_SYSFS="$S" sh -s bind 00:02.0 < "$TOOL"
else
    N=$((N + 1)); echo "ok $N - bind as non-root is refused # SKIP no setpriv"
fi

echo "1..$N"
exit $FAILED
