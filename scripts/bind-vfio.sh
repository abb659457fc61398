#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Hands a PCI device's whole IOMMU group to vfio-pci and gives it back.
# POSIX sh; runs under busybox too.  See usage() below.
#
# Environment: BIND_VFIO_SYSFS (default /sys) lets the tests point it at a
# fake sysfs tree; BIND_VFIO_STATE (default /run/bind-vfio) is where the
# previous driver of each device is recorded, one file per device.
set -eu

SYSFS=${BIND_VFIO_SYSFS:-/sys}
STATE=${BIND_VFIO_STATE:-/run/bind-vfio}
PROG=bind-vfio
DRY=0

usage() {
    cat <<EOF
usage: $PROG [--dry-run] bind|unbind|restore|status BDF
  bind BDF     bind every device of BDF's IOMMU group to vfio-pci
               (driver_override + drivers_probe), recording previous drivers
  unbind BDF   give every device of the group back to its previous driver
  restore BDF  same as unbind
  status BDF   list the group's devices and say whether it is viable for VFIO
  --dry-run    print the sysfs writes instead of doing them
BDF is DDDD:BB:DD.F or BB:DD.F (domain 0000).  Bridges (class 0x0604) are
left alone.  Env: BIND_VFIO_SYSFS (default /sys), BIND_VFIO_STATE (default
/run/bind-vfio).
EOF
}

die() { echo "$PROG: error: $*" >&2; exit 1; }
say() { echo "$PROG: $*"; }

# Prints the canonical DDDD:BB:DD.F form of $1, or dies.
parse_bdf() {
    h='[0-9a-fA-F]'
    case $1 in
    $h$h$h$h:$h$h:[01]$h.[0-7]) b=$1 ;;
    $h$h:[01]$h.[0-7])          b=0000:$1 ;;
    *) die "malformed PCI address '$1' (expected DDDD:BB:DD.F or BB:DD.F)" ;;
    esac
    echo "$b" | tr 'A-F' 'a-f'
}

dev_dir() { echo "$SYSFS/bus/pci/devices/$1"; }

# Name of the driver bound to device $1, or empty.
driver_of() {
    d=$(dev_dir "$1")/driver
    if [ -L "$d" ] || [ -e "$d" ]; then basename "$(readlink "$d")"; fi
}

is_bridge() {
    case $(cat "$(dev_dir "$1")/class" 2>/dev/null) in
    0x0604*) return 0 ;;
    esac
    return 1
}

ids_of() {
    d=$(dev_dir "$1")
    v=$(cat "$d/vendor"); p=$(cat "$d/device")
    echo "${v#0x}:${p#0x}"
}

# Checks that $1 exists and has an IOMMU group; prints the group's devices.
group_devices() {
    d=$(dev_dir "$1")
    [ -e "$d" ] || die "no such PCI device: $1"
    [ -e "$d/iommu_group/devices" ] ||
        die "$1 has no IOMMU group: enable the IOMMU on the kernel command line, e.g. intel_iommu=on or amd_iommu=on, iommu=pt"
    ls "$d/iommu_group/devices"
}

group_name() { basename "$(readlink "$(dev_dir "$1")/iommu_group")"; }

# sysfs_write VALUE FILE
sysfs_write() {
    if [ $DRY = 1 ]; then
        echo "echo '$1' > $2"
    else
        echo "$1" > "$2" || die "writing '$1' to $2 failed"
    fi
}

need_root() {
    [ $DRY = 1 ] || [ "$(id -u)" = 0 ] || die "must run as root (it writes to sysfs)"
}

need_vfio_pci() {
    [ -d "$SYSFS/bus/pci/drivers/vfio-pci" ] && return 0
    if [ $DRY = 1 ]; then
        echo "modprobe vfio-pci"
        return 0
    fi
    modprobe vfio-pci 2>/dev/null || true
    [ -d "$SYSFS/bus/pci/drivers/vfio-pci" ] ||
        die "vfio-pci unavailable: 'modprobe vfio-pci' failed (kernel built without CONFIG_VFIO_PCI?)"
}

record() {
    if [ $DRY = 1 ]; then
        echo "# record previous driver of $1: ${2:-none}"
    else
        mkdir -p "$STATE" && echo "$2" > "$STATE/$1"
    fi
}

bind_one() {
    drv=$(driver_of "$1")
    if is_bridge "$1"; then
        say "$1: bridge, left on ${drv:-no driver}"
        return 0
    fi
    if [ "$drv" = vfio-pci ]; then
        say "$1: already on vfio-pci"
        return 0
    fi
    record "$1" "$drv"
    sysfs_write vfio-pci "$(dev_dir "$1")/driver_override"
    [ -z "$drv" ] || sysfs_write "$1" "$(dev_dir "$1")/driver/unbind"
    sysfs_write "$1" "$SYSFS/bus/pci/drivers_probe"
    [ $DRY = 1 ] && return 0
    [ "$(driver_of "$1")" = vfio-pci ] ||
        die "$1: vfio-pci did not bind (see dmesg)"
    say "$1: ${drv:-no driver} -> vfio-pci"
}

unbind_one() {
    d=$(dev_dir "$1")
    drv=$(driver_of "$1")
    is_bridge "$1" && return 0
    rec=0; prev=
    if [ -f "$STATE/$1" ]; then rec=1; prev=$(cat "$STATE/$1"); fi
    ovr=$(cat "$d/driver_override" 2>/dev/null || true)
    if [ "$drv" != vfio-pci ] && [ $rec = 0 ] &&
       { [ -z "$ovr" ] || [ "$ovr" = "(null)" ]; }; then
        say "$1: not ours, left on ${drv:-no driver}"
        return 0
    fi
    [ -z "$ovr" ] || [ "$ovr" = "(null)" ] || sysfs_write "" "$d/driver_override"
    if [ "$drv" = vfio-pci ]; then
        sysfs_write "$1" "$SYSFS/bus/pci/drivers/vfio-pci/unbind"
        drv=
    fi
    if [ -z "$drv" ]; then
        if [ -n "$prev" ] && [ -d "$SYSFS/bus/pci/drivers/$prev" ]; then
            sysfs_write "$1" "$SYSFS/bus/pci/drivers/$prev/bind"
        else
            sysfs_write "$1" "$SYSFS/bus/pci/drivers_probe"
        fi
    fi
    [ $DRY = 1 ] && return 0
    rm -f "$STATE/$1"
    now=$(driver_of "$1")
    say "$1: given back, now on ${now:-no driver}"
}

cmd_bind() {
    devs=$(group_devices "$1")
    need_root
    need_vfio_pci
    for x in $devs; do bind_one "$x"; done
}

cmd_unbind() {
    devs=$(group_devices "$1")
    need_root
    for x in $devs; do unbind_one "$x"; done
}

cmd_status() {
    devs=$(group_devices "$1")
    echo "IOMMU group $(group_name "$1"):"
    bad=
    for x in $devs; do
        drv=$(driver_of "$x")
        note=
        is_bridge "$x" && note=" (bridge)"
        echo "  $x $(ids_of "$x") ${drv:-none}$note"
        case $drv in
        vfio-pci|"") ;;
        pcieport) is_bridge "$x" || bad="$bad $x" ;;
        *) bad="$bad $x" ;;
        esac
    done
    if [ -z "$bad" ]; then
        echo "viable for VFIO"
    else
        echo "not viable for VFIO: bound to other drivers:$bad"
    fi
}

main() {
    if [ "${1:-}" = --dry-run ]; then DRY=1; shift; fi
    case ${1:-} in
    -h|--help) usage; exit 0 ;;
    bind|unbind|restore|status) ;;
    "") usage >&2; exit 2 ;;
    *) die "unknown command '$1' (try --help)" ;;
    esac
    [ $# = 2 ] || die "$1 takes exactly one PCI address (try --help)"
    bdf=$(parse_bdf "$2")
    case $1 in
    bind) cmd_bind "$bdf" ;;
    unbind|restore) cmd_unbind "$bdf" ;;
    status) cmd_status "$bdf" ;;
    esac
}

main "$@"
