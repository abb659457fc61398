/*
 * vfio based device assignment support - what every part of the model uses
 *
 * The few helpers on the state that pci.c, pci-config.c, pci-irq.c and
 * pci-reset.c share: once-only reports of what a guest can repeat, the
 * switch for the BARs' mmaps, and the map of config bits QEMU emulates.
 * They sit below the files that use them, so that no two of those need
 * each other.
 *
 * Copyright Red Hat, Inc. 2012
 *
 * Authors:
 *  Alex Williamson <alex.williamson@redhat.com>
 *
 * This work is licensed under the terms of the GNU GPL, version 2.  See
 * the COPYING file in the top-level directory.
 *
 * SPDX-License-Identifier: GPL-2.0-only
 */

#include "qemu/osdep.h"

#include "hw/vfio/pci-device.h"
#include "trace.h"

/*
 * A guest can repeat whatever makes the host refuse it as often as it
 * likes: each cause is reported once per device (traces show the rest).
 */
bool vfio_first_report(VFIOPCIDevice *vdev, VFIOReportCause cause)
{
    if (vdev->reported & BIT(cause)) {
        trace_vfio_report_repeated(vdev->vbasedev.name, cause);
        return false;
    }
    vdev->reported |= BIT(cause);
    return true;
}

/*
 * The one switch for the BARs' mmaps.  The interrupt code takes them away
 * while an INTx waits for the guest's EOI (which only the slow path sees),
 * the config code while the host does not decode memory; they are back
 * when no @reason holds any more.
 */
void vfio_fast_path_block(VFIOPCIDevice *vdev, unsigned int reason,
                          bool block)
{
    unsigned int was = vdev->fast_path_blocks;
    int i, j;

    vdev->fast_path_blocks = block ? was | reason : was & ~reason;
    if (!was == !vdev->fast_path_blocks) {
        return;
    }
    trace_vfio_fast_path(vdev->vbasedev.name, !vdev->fast_path_blocks,
                         vdev->fast_path_blocks);

    memory_region_transaction_begin();
    for (i = 0; i < PCI_ROM_SLOT; i++) {
        for (j = 0; j < vdev->bars[i].nr_mmaps; j++) {
            memory_region_set_enabled(&vdev->bars[i].mmaps[j].mem,
                                      !vdev->fast_path_blocks);
        }
    }
    memory_region_transaction_commit();
}

/* Config bits QEMU answers for, instead of the host */
void vfio_emulate_config_range(VFIOPCIDevice *vdev, int pos, int len)
{
    memset(vdev->emulated_config_bits + pos, 0xff, len);
}
