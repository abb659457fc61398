# SPDX-License-Identifier: GPL-2.0-or-later
#
# A group that is not viable, for the rig's error tests (sourced after
# guest-lib.sh; busybox sh, before chroot).  q35's ICH9 functions 00:1f.0
# (LPC), 00:1f.2 (SATA) and 00:1f.3 (SMBus) share one IOMMU group and have
# no driver in the rig.
#
#   rig_ich9_setup    loads lpc_ich, which takes 00:1f.0, and binds 00:1f.2
#                     and 00:1f.3 alone to vfio-pci (driver_override); exports
#                     VFIO_ICH9 (00:1f.3) and VFIO_ICH9_HOLDER (00:1f.0)
#   rig_ich9_restore  puts all three back on no driver
#
# RIG_KERNEL_DIR is the unpacked rig kernel on the host (tests/run.sh sets
# it; default the usual cache).

RIG_ICH9_LPC=0000:00:1f.0
RIG_ICH9_VFIO="0000:00:1f.2 0000:00:1f.3"

rig_ich9_driver() {
    _rig_l=$(readlink "/sys/bus/pci/devices/$1/driver" 2>/dev/null || true)
    echo "${_rig_l##*/}"
}

rig_ich9_setup() {
    _rig_k=/host${RIG_KERNEL_DIR:-/var/cache/vfio-pci-ci/kernel}
    _rig_k=$_rig_k/lib/modules/$(uname -r)/kernel/drivers/mfd/lpc_ich.ko.xz
    [ -d /sys/module/lpc_ich ] || {
        xz -dc "$_rig_k" > /run/lpc_ich.ko && insmod /run/lpc_ich.ko
    } || { rig_log "error: cannot load $_rig_k"; return 1; }
    for _rig_d in $RIG_ICH9_VFIO; do
        echo vfio-pci > "/sys/bus/pci/devices/$_rig_d/driver_override"
        echo "$_rig_d" > /sys/bus/pci/drivers_probe
    done
    for _rig_d in $RIG_ICH9_LPC $RIG_ICH9_VFIO; do
        rig_log "ICH9 $_rig_d: $(rig_ich9_driver "$_rig_d")"
    done
    [ "$(rig_ich9_driver $RIG_ICH9_LPC)" = lpc_ich ] || return 1
    export VFIO_ICH9=0000:00:1f.3 VFIO_ICH9_HOLDER=$RIG_ICH9_LPC
}

rig_ich9_restore() {
    for _rig_d in $RIG_ICH9_VFIO $RIG_ICH9_LPC; do
        echo > "/sys/bus/pci/devices/$_rig_d/driver_override"
        if [ "$(rig_ich9_driver "$_rig_d")" = vfio-pci ]; then
            echo "$_rig_d" > /sys/bus/pci/drivers/vfio-pci/unbind
        fi
    done
    [ ! -d /sys/module/lpc_ich ] || rmmod lpc_ich
}
