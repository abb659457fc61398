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

#include <sys/mman.h>

#include "hw/vfio/pci-device.h"
#include "qemu/error-report.h"
#include "qemu/log.h"
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
 * A guest access on the slow path: @size bytes at @off of the device fd,
 * little endian, as VFIO is.  A failure is the guest's to meet, logged once
 * per @cause as a guest error that names @what (with its number @nr, if
 * not negative) and the guest's address @addr.
 */
static void vfio_slow_path_failed(VFIOPCIDevice *vdev, VFIOReportCause cause,
                                  const char *what, int nr, const char *op,
                                  hwaddr addr, unsigned size)
{
    g_autofree char *place = nr < 0 ? g_strdup(what) :
                             g_strdup_printf("%s %d", what, nr);

    if (!vfio_first_report(vdev, cause)) {
        return;
    }
    qemu_log_mask(LOG_GUEST_ERROR, "vfio %s: %s %s of %u bytes at 0x%"
                  HWADDR_PRIx " failed: %s\n", vdev->vbasedev.name, place, op,
                  size, addr, strerror(errno));
}

bool vfio_slow_path_read(VFIOPCIDevice *vdev, off_t off, unsigned size,
                         uint64_t *data, VFIOReportCause cause,
                         const char *what, int nr, hwaddr addr)
{
    uint64_t buf = 0;

    if (pread(vdev->vbasedev.fd, &buf, size, off) != size) {
        vfio_slow_path_failed(vdev, cause, what, nr, "read", addr, size);
        *data = MAKE_64BIT_MASK(0, size * 8);
        return false;
    }
    *data = le64_to_cpu(buf);
    return true;
}

void vfio_slow_path_write(VFIOPCIDevice *vdev, off_t off, uint64_t data,
                          unsigned size, VFIOReportCause cause,
                          const char *what, int nr, hwaddr addr)
{
    uint64_t buf = cpu_to_le64(data);

    if (pwrite(vdev->vbasedev.fd, &buf, size, off) != size) {
        vfio_slow_path_failed(vdev, cause, what, nr, "write", addr, size);
    }
}

int vfio_bar_prot(VFIOBAR *bar)
{
    return (bar->flags & VFIO_REGION_INFO_FLAG_READ ? PROT_READ : 0) |
           (bar->flags & VFIO_REGION_INFO_FLAG_WRITE ? PROT_WRITE : 0);
}

/*
 * Anonymous memory in the place of a window, at the same address: an
 * access that still reaches it reads zeroes and writes nowhere, where
 * the device's pages could cost QEMU a SIGBUS.
 */
bool vfio_mmap_to_anon(VFIOPCIDevice *vdev, VFIOMmap *m)
{
    if (mmap(m->mmap, m->map_size, PROT_READ | PROT_WRITE,
             MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED) {
        warn_report(VFIO_MSG_PREFIX "cannot take a BAR mmap away: %s",
                    vdev->vbasedev.name, strerror(errno));
        return false;
    }
    return true;
}

/* The device's pages back in the window, where they were */
static void vfio_mmap_to_device(VFIOPCIDevice *vdev, VFIOBAR *bar,
                                VFIOMmap *m)
{
    if (mmap(m->mmap, m->map_size, vfio_bar_prot(bar),
             MAP_FIXED | MAP_SHARED, vdev->vbasedev.fd,
             bar->fd_offset + m->offset) != MAP_FAILED) {
        return;
    }
    /* The window stays on the slow path, anonymous memory behind it */
    warn_report(VFIO_MSG_PREFIX "BAR %d mmap at 0x%" PRIx64 " cannot be "
                "restored (%s): it runs on the slow path", vdev->vbasedev.name,
                bar->nr, (uint64_t)m->offset, strerror(errno));
    m->lost = true;
    vfio_mmap_to_anon(vdev, m);
}

/*
 * While the host does not decode memory, a touch of a BAR mmap is a
 * SIGBUS for QEMU.  Disabling the windows reaches the other vCPUs only
 * when they flush their TLBs, which multi-threaded TCG does on its own
 * time: one could still write through a window after the host stopped
 * decoding.  So anonymous memory takes the windows' place before the
 * host stops, and the device's pages return before the windows do.
 */
static void vfio_fast_path_swap(VFIOPCIDevice *vdev, bool device)
{
    int i, j;

    trace_vfio_fast_path_swap(vdev->vbasedev.name, device);
    for (i = 0; i < PCI_ROM_SLOT; i++) {
        for (j = 0; j < vdev->bars[i].nr_mmaps; j++) {
            VFIOMmap *m = &vdev->bars[i].mmaps[j];

            if (m->lost) {
                continue;
            }
            if (device) {
                vfio_mmap_to_device(vdev, &vdev->bars[i], m);
            } else {
                vfio_mmap_to_anon(vdev, m);
            }
        }
    }
}

static void vfio_fast_path_enable(VFIOPCIDevice *vdev, bool on)
{
    int i, j;

    memory_region_transaction_begin();
    for (i = 0; i < PCI_ROM_SLOT; i++) {
        for (j = 0; j < vdev->bars[i].nr_mmaps; j++) {
            VFIOMmap *m = &vdev->bars[i].mmaps[j];

            memory_region_set_enabled(&m->mem, on && !m->lost);
        }
    }
    memory_region_transaction_commit();
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
    unsigned int now = block ? was | reason : was & ~reason;
    bool decode_change = (was ^ now) & VFIO_FAST_PATH_DECODE;

    /*
     * The device's pages are in the windows whenever the windows are on:
     * the listener maps what they hold for peer-to-peer DMA, and anonymous
     * pages it pinned there would take that DMA instead of the BAR.
     */
    vdev->fast_path_blocks = now;
    if (decode_change) {
        vfio_fast_path_swap(vdev, !(now & VFIO_FAST_PATH_DECODE));
    }
    if (!was != !now) {
        trace_vfio_fast_path(vdev->vbasedev.name, !now, now);
        vfio_fast_path_enable(vdev, !now);
    }
}

/* Config bits QEMU answers for, instead of the host */
void vfio_emulate_config_range(VFIOPCIDevice *vdev, int pos, int len)
{
    memset(vdev->emulated_config_bits + pos, 0xff, len);
}
