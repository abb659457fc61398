#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# scripts/bind-vfio.sh against the rig guest's real sysfs and kernel
# vfio-pci (busybox sh, as root, before or after chroot).  Prints TAP.
#
# Needs the state the rig's guest script leaves: RIG_NIC (default
# 0000:00:03.0, the e1000e) alone in its group and on vfio-pci, and the
# ICH9 group as tests/rig/guest-ich9.sh sets it up: 00:1f.0 on lpc_ich,
# 00:1f.2 and 00:1f.3 on vfio-pci.  The NIC ends on vfio-pci again.
#
#   sh bind-vfio-rig-test.sh TOOL > result.tap
set -u

TOOL=${1:?usage: bind-vfio-rig-test.sh PATH-OF-bind-vfio.sh}
NIC=${RIG_NIC:-0000:00:03.0}
LPC=0000:00:1f.0
SATA=0000:00:1f.2
SMBUS=0000:00:1f.3
STATE=/run/bind-vfio-rig-test
OUT=/run/bind-vfio-rig-test.out
N=0

ok()    { N=$((N + 1)); echo "ok $N - $1"; }
notok() { N=$((N + 1)); echo "not ok $N - $1"; sed 's/^/#   /' "$OUT"; }

# expect DESC RC PATTERN CMD...: runs CMD and checks its exit code (0, or
# "fail" for any other) and that its output matches the grep -E PATTERN.
expect() {
    desc=$1 want=$2 pat=$3
    shift 3
    rc=0
    "$@" > "$OUT" 2>&1 || rc=$?
    case $want:$rc in
    0:0|fail:[1-9]*) ;;
    *) notok "$desc (exit $rc)"; return 0 ;;
    esac
    if grep -Eq -- "$pat" "$OUT"; then ok "$desc"; else notok "$desc"; fi
}

# check DESC CMD...: CMD's exit code alone decides.
check() {
    desc=$1
    shift
    if "$@" > "$OUT" 2>&1; then ok "$desc"; else notok "$desc"; fi
}

tool() { BIND_VFIO_STATE=$STATE sh "$TOOL" "$@"; }

driver() {
    l=$(readlink "/sys/bus/pci/devices/$1/driver" 2>/dev/null || true)
    echo "${l##*/}"
}

# on BDF DRIVER ("" for none): the device is bound to DRIVER.
on() {
    echo "$1: driver '$(driver "$1")', want '$2'"
    [ "$(driver "$1")" = "$2" ]
}

override_clear() {
    o=$(cat "/sys/bus/pci/devices/$1/driver_override")
    echo "$1: driver_override '$o'"
    [ "$o" = "(null)" ] || [ -z "$o" ]
}

group_of() { basename "$(readlink "/sys/bus/pci/devices/$1/iommu_group")"; }

rm -rf "$STATE"
NIC_GROUP=$(group_of "$NIC")

# A device alone in its group
expect "status: $NIC on vfio-pci is viable" 0 '^viable for VFIO$' \
    tool status "$NIC"
expect "status lists the device with its IDs and driver" 0 \
    "^  $NIC [0-9a-f]{4}:[0-9a-f]{4} vfio-pci$" tool status "$NIC"
expect "dry-run unbind prints the vfio-pci unbind" 0 \
    "^echo '$NIC' > /sys/bus/pci/drivers/vfio-pci/unbind\$" \
    tool --dry-run unbind "$NIC"
check "dry-run unbind changes nothing" on "$NIC" vfio-pci
expect "unbind gives the device back" 0 "$NIC: given back, now on no driver" \
    tool unbind "$NIC"
check "after unbind: no driver" on "$NIC" ""
check "after unbind: driver_override is clear" override_clear "$NIC"
check "after unbind: /dev/vfio/$NIC_GROUP is gone" \
    test ! -e "/dev/vfio/$NIC_GROUP"
expect "unbind again leaves it alone" 0 "$NIC: not ours, left on no driver" \
    tool unbind "$NIC"
expect "bind" 0 "$NIC: no driver -> vfio-pci" tool bind "$NIC"
check "after bind: on vfio-pci" on "$NIC" vfio-pci
check "after bind: /dev/vfio/$NIC_GROUP exists" \
    test -c "/dev/vfio/$NIC_GROUP"
check "after bind: the previous driver is recorded" test -f "$STATE/$NIC"
expect "bind again is a no-op" 0 "$NIC: already on vfio-pci" tool bind "$NIC"
check "bind again: still on vfio-pci" on "$NIC" vfio-pci
expect "restore gives the device back" 0 "$NIC: given back" \
    tool restore "$NIC"
check "after restore: no driver, as before bind" on "$NIC" ""
expect "bind once more (the rig keeps it on vfio-pci)" 0 "-> vfio-pci" \
    tool bind "$NIC"

# ICH9: one group, 00:1f.0 on a host driver
expect "status: ICH9 group with lpc_ich is not viable" 0 \
    "^not viable for VFIO: bound to other drivers: $LPC\$" tool status "$SMBUS"
expect "status lists 00:1f.0 on lpc_ich" 0 "^  $LPC 8086:2918 lpc_ich\$" \
    tool status "$SMBUS"
expect "dry-run bind of 00:1f.3 takes 00:1f.0 off lpc_ich" 0 \
    "^echo '$LPC' > /sys/bus/pci/devices/$LPC/driver/unbind\$" \
    tool --dry-run bind "$SMBUS"
check "dry-run bind changes nothing" on "$LPC" lpc_ich
expect "bind 00:1f.3 binds the whole group" 0 "$LPC: lpc_ich -> vfio-pci" \
    tool bind "$SMBUS"
check "after bind: 00:1f.0 on vfio-pci" on "$LPC" vfio-pci
expect "status: the group is viable now" 0 '^viable for VFIO$' \
    tool status "$LPC"
expect "bind again is a no-op" 0 "$LPC: already on vfio-pci" \
    tool bind "$SATA"
expect "unbind gives 00:1f.0 back to lpc_ich" 0 \
    "$LPC: given back, now on lpc_ich" tool unbind "$LPC"
check "after unbind: 00:1f.0 on lpc_ich" on "$LPC" lpc_ich
check "after unbind: 00:1f.2 on no driver" on "$SATA" ""
check "after unbind: 00:1f.3 on no driver" on "$SMBUS" ""
expect "status: not viable again" 0 \
    "^not viable for VFIO: bound to other drivers: $LPC\$" tool status "$SATA"
expect "unbind again leaves lpc_ich alone" 0 "$LPC: not ours, left on lpc_ich" \
    tool unbind "$SMBUS"
check "unbind again: 00:1f.0 still on lpc_ich" on "$LPC" lpc_ich

# Refusals
expect "no such device" fail 'no such PCI device: 0000:00:1f\.7' \
    tool bind 00:1f.7
expect "malformed address" fail "malformed PCI address '1f.3'" tool bind 1f.3
# The script comes on stdin: the checkout may be out of nobody's reach.
if [ -x /host/usr/bin/setpriv ] && grep -q " /host/sys " /proc/mounts; then
    expect "bind as non-root is refused" fail 'must run as root' \
        chroot /host /usr/bin/setpriv --reuid=65534 --regid=65534 \
        --clear-groups /bin/sh -s bind "$NIC" < "$TOOL"
    expect "status as non-root works" 0 '^viable for VFIO$' \
        chroot /host /usr/bin/setpriv --reuid=65534 --regid=65534 \
        --clear-groups /bin/sh -s status "$NIC" < "$TOOL"
else
    N=$((N + 1)); echo "ok $N - bind as non-root is refused # SKIP no chroot"
    N=$((N + 1)); echo "ok $N - status as non-root works # SKIP no chroot"
fi
check "the NIC is on vfio-pci, as the rig had it" on "$NIC" vfio-pci

rm -rf "$STATE" "$OUT"
echo "1..$N"
