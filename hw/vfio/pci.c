/*
 * vfio based device assignment support
 *
 * The vfio-pci device model: BARs (slow path and mmap windows), the ROM,
 * realize and exit.  Config space and capabilities are in pci-config.c,
 * interrupts in pci-irq.c, resets in pci-reset.c, the host's error and
 * request signals in pci-notifiers.c.
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
 *
 * Based on qemu-kvm device-assignment:
 *  Adapted for KVM by Qumranet.
 *  Copyright (c) 2007, Neocleus, Alex Novik (alex@neocleus.com)
 *  Copyright (c) 2007, Neocleus, Guy Zana (guy@neocleus.com)
 *  Copyright (C) 2008, Qumranet, Amit Shah (amit.shah@qumranet.com)
 *  Copyright (C) 2008, Red Hat, Amit Shah (amit.shah@redhat.com)
 *  Copyright (C) 2008, IBM, Muli Ben-Yehuda (muli@il.ibm.com)
 */

#include "qemu/osdep.h"
#include <sys/ioctl.h>

#include "hw/vfio/pci-device.h"
#include "hw/vfio/vfio-iommufd.h"
#include "hw/qdev-properties.h"
#include "hw/qdev-properties-system.h"
#include "migration/vmstate.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "qemu/cutils.h"
#include "qemu/error-report.h"
#include "qemu/module.h"
#include "qemu/range.h"
#include "qemu/units.h"
#include "sysemu/sysemu.h"
#include "trace.h"

/*
 * IO Port/MMIO: the slow path, through the device fd
 */
static void vfio_bar_write(void *opaque, hwaddr addr, uint64_t data,
                           unsigned size)
{
    VFIOBAR *bar = opaque;

    /* Past the device's BAR: room for the MSI-X table, which lies above */
    if (addr + size > bar->size) {
        return;
    }
    vfio_slow_path_write(bar->vdev, bar->fd_offset + addr, data, size,
                         VFIO_REPORT_BAR_ACCESS, "BAR", bar->nr, addr);
    trace_vfio_bar_write(bar->vdev->vbasedev.name, bar->nr, addr, data, size);

    /* Any access may be the guest servicing a pending INTx. */
    vfio_intx_eoi(bar->vdev);
}

static uint64_t vfio_bar_read(void *opaque, hwaddr addr, unsigned size)
{
    VFIOBAR *bar = opaque;
    uint64_t data;

    if (addr + size > bar->size) {
        return 0;
    }
    if (!vfio_slow_path_read(bar->vdev, bar->fd_offset + addr, size, &data,
                             VFIO_REPORT_BAR_ACCESS, "BAR", bar->nr, addr)) {
        return data;
    }
    trace_vfio_bar_read(bar->vdev->vbasedev.name, bar->nr, addr, data, size);

    vfio_intx_eoi(bar->vdev);
    return data;
}

static const MemoryRegionOps vfio_bar_ops = {
    .read = vfio_bar_read,
    .write = vfio_bar_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = {
        .min_access_size = 1,
        .max_access_size = 8,
    },
    .impl = {
        .min_access_size = 1,
        .max_access_size = 8,
    },
};

/*
 * Port I/O goes no wider than 4 bytes: the memory core refuses the rest,
 * as a guest error, without a check on every access.
 */
static const MemoryRegionOps vfio_bar_io_ops = {
    .read = vfio_bar_read,
    .write = vfio_bar_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = {
        .min_access_size = 1,
        .max_access_size = 4,
    },
    .impl = {
        .min_access_size = 1,
        .max_access_size = 4,
    },
};

/*
 * x-msix-relocation: the MSI-X table and PBA move out of the device's BAR
 * (whose pages they share with registers the guest uses all the time, or
 * whose 64 KiB host pages they make unmappable) into @nr: an unused BAR
 * slot becomes a new 32-bit memory BAR, a memory BAR grows to hold them
 * above the device's own registers.
 */
static bool vfio_bar_is_upper_half(VFIOPCIDevice *vdev, int nr)
{
    uint32_t prev = 0;

    return nr > 0 && vdev->bars[nr - 1].size &&
           vfio_host_config_read(vdev, PCI_BASE_ADDRESS_0 + 4 * (nr - 1), 4,
                                 &prev) &&
           !(prev & PCI_BASE_ADDRESS_SPACE_IO) &&
           (prev & PCI_BASE_ADDRESS_MEM_TYPE_64);
}

static int vfio_msix_auto_bar(VFIOPCIDevice *vdev)
{
    int i;

    for (i = 0; i < PCI_ROM_SLOT; i++) {
        if (!vdev->bars[i].size && !vfio_bar_is_upper_half(vdev, i)) {
            return i;
        }
    }
    return vdev->msix->table_bar;
}

static bool vfio_msix_relocate(VFIOPCIDevice *vdev, Error **errp)
{
    VFIOMSIXInfo *msix = vdev->msix;
    uint64_t page = qemu_real_host_page_size();
    uint64_t table = ROUND_UP(msix->entries * PCI_MSIX_ENTRY_SIZE, page);
    uint64_t room = table + ROUND_UP(QEMU_ALIGN_UP(msix->entries, 64) / 8,
                                     page);
    int nr = vdev->msix_relocation == OFF_AUTOPCIBAR_AUTO ?
             vfio_msix_auto_bar(vdev) :
             vdev->msix_relocation - OFF_AUTOPCIBAR_BAR0;
    VFIOBAR *bar = &vdev->bars[nr];
    uint32_t reg = 0;

    if (vfio_bar_is_upper_half(vdev, nr)) {
        error_setg(errp, "x-msix-relocation=bar%d: BAR %d is the upper half "
                   "of 64-bit BAR %d", nr, nr, nr - 1);
        return false;
    }
    if (bar->size && (!vfio_host_config_read(vdev, PCI_BASE_ADDRESS_0 +
                                             4 * nr, 4, &reg) ||
                      (reg & PCI_BASE_ADDRESS_SPACE_IO))) {
        error_setg(errp, "x-msix-relocation=bar%d: BAR %d is an I/O BAR, "
                   "which cannot hold the MSI-X table", nr, nr);
        return false;
    }
    bar->guest_size = pow2ceil(bar->size + room);
    if (!(reg & PCI_BASE_ADDRESS_MEM_TYPE_64) && bar->guest_size > 2 * GiB) {
        error_setg(errp, "x-msix-relocation=bar%d: 32-bit BAR %d cannot grow "
                   "to 0x%" PRIx64 " bytes", nr, nr, bar->guest_size);
        bar->guest_size = bar->size;
        return false;
    }
    msix->table_bar = msix->pba_bar = nr;
    msix->table_offset = bar->size;
    msix->pba_offset = bar->size + table;
    trace_vfio_msix_relocated(vdev->vbasedev.name, nr, bar->size,
                             bar->guest_size);
    return true;
}

/*
 * We don't have any control over how pci_add_capability() inserts
 * capabilities into the chain.  In order to setup MSI-X we need a
 * MemoryRegion for the BAR.  In order to setup the BAR and not
 * attempt to mmap the MSI-X table area, which VFIO won't allow, we
 * need to first look for where the MSI-X table lives.  So we
 * unfortunately split MSI-X setup across two functions.
 */
static bool vfio_msix_early_setup(VFIOPCIDevice *vdev, Error **errp)
{
    uint8_t *config = vdev->pdev.config;
    uint8_t pos = vfio_find_cap(vdev, PCI_CAP_ID_MSIX);
    uint64_t bar_sizes[PCI_ROM_SLOT];
    g_autofree char *bad = NULL;
    VFIOMSIXInfo *msix;
    uint32_t table, pba;
    int i;

    if (!pos) {
        return true;
    }

    table = pci_get_long(config + pos + PCI_MSIX_TABLE);
    pba = pci_get_long(config + pos + PCI_MSIX_PBA);
    msix = g_new0(VFIOMSIXInfo, 1);
    msix->table_bar = table & PCI_MSIX_FLAGS_BIRMASK;
    msix->table_offset = table & ~PCI_MSIX_FLAGS_BIRMASK;
    msix->pba_bar = pba & PCI_MSIX_FLAGS_BIRMASK;
    msix->pba_offset = pba & ~PCI_MSIX_FLAGS_BIRMASK;
    msix->entries = (pci_get_word(config + pos + PCI_MSIX_FLAGS) &
                     PCI_MSIX_FLAGS_QSIZE) + 1;
    vdev->msix = msix;
    vfio_quirks_msix(vdev);

    /* Before any memory region is laid out around them */
    for (i = 0; i < PCI_ROM_SLOT; i++) {
        bar_sizes[i] = vdev->bars[i].size;
    }
    bad = vfio_msix_placement_error(msix->entries, msix->table_bar,
                                    msix->table_offset, msix->pba_bar,
                                    msix->pba_offset, bar_sizes);
    if (bad) {
        error_setg(errp, "%s", bad);
        return false;
    }

    if (vdev->msix_relocation != OFF_AUTOPCIBAR_OFF &&
        !vfio_msix_relocate(vdev, errp)) {
        return false;
    }
    msix->noresize = vdev->msix_noresize ||
                     !vfio_irqindex_resizable(&vdev->vbasedev,
                                              VFIO_PCI_MSIX_IRQ_INDEX);
    trace_vfio_msix_early_setup(vdev->vbasedev.name, pos, msix->table_bar,
                                msix->table_offset, msix->entries,
                                msix->noresize);
    return true;
}

/*
 * Resource setup
 */
static bool vfio_bar_mmap_window(VFIOPCIDevice *vdev, VFIOBAR *bar,
                                 hwaddr start, hwaddr end)
{
    VFIOMmap *m = &bar->mmaps[bar->nr_mmaps];
    g_autofree char *name = NULL;

    m->map_size = ROUND_UP(end - start, qemu_real_host_page_size());
    m->offset = start;
    m->mmap = mmap(NULL, m->map_size, vfio_bar_prot(bar), MAP_SHARED,
                   vdev->vbasedev.fd, bar->fd_offset + start);
    if (m->mmap == MAP_FAILED) {
        m->mmap = NULL;
        warn_report(VFIO_MSG_PREFIX "BAR %d [0x%" HWADDR_PRIx "-0x%"
                    HWADDR_PRIx "] cannot be mmap'd (%s): it runs on the "
                    "slow path", vdev->vbasedev.name, bar->nr, start,
                    end - 1, strerror(errno));
        return false;
    }

    name = g_strdup_printf("%s BAR %d mmap[%u]", vdev->vbasedev.name,
                           bar->nr, bar->nr_mmaps);
    m->size = end - start;
    memory_region_init_ram_device_ptr(&m->mem, OBJECT(vdev), name, m->size,
                                      m->mmap);
    memory_region_set_enabled(&m->mem, !vdev->fast_path_blocks);
    /* Below the MSI-X table and PBA, where the kernel lets us map those */
    memory_region_add_subregion_overlap(&bar->mem, start, &m->mem, -1);
    bar->nr_mmaps++;
    trace_vfio_bar_mmap(vdev->vbasedev.name, bar->nr, start, m->size);
    return true;
}

/* Adds [start, end) of @bar to @holes, widened to whole host pages. */
static void vfio_bar_add_hole(Range *holes, int *n, hwaddr start, hwaddr end)
{
    range_set_bounds1(&holes[(*n)++],
                      QEMU_ALIGN_DOWN(start, qemu_real_host_page_size()),
                      ROUND_UP(end, qemu_real_host_page_size()));
}

/* The pages of @bar that hold the MSI-X table and PBA, in order. */
static int vfio_bar_msix_holes(VFIOPCIDevice *vdev, VFIOBAR *bar,
                               Range *holes)
{
    VFIOMSIXInfo *msix = vdev->msix;
    int n = 0;

    if (msix && msix->table_bar == bar->nr) {
        vfio_bar_add_hole(holes, &n, msix->table_offset, msix->table_offset +
                          msix->entries * PCI_MSIX_ENTRY_SIZE);
    }
    if (msix && msix->pba_bar == bar->nr) {
        vfio_bar_add_hole(holes, &n, msix->pba_offset, msix->pba_offset +
                          QEMU_ALIGN_UP(msix->entries, 64) / 8);
    }
    if (n == 2 && range_lob(&holes[1]) < range_lob(&holes[0])) {
        Range tmp = holes[0];

        holes[0] = holes[1];
        holes[1] = tmp;
    }
    return n;
}

static void vfio_window_add(GArray *windows, hwaddr start, hwaddr end)
{
    Range r;

    if (start < end) {
        range_set_bounds(&r, start, end - 1);
        g_array_append_val(windows, r);
    }
}

/*
 * What of @bar to mmap: what the kernel lets us (its sparse areas, or
 * all of it) less the MSI-X table and PBA, which QEMU emulates, unless
 * the kernel lets us map those too: QEMU's emulation lies on top then.
 */
static GArray *vfio_bar_windows(VFIOPCIDevice *vdev, VFIOBAR *bar)
{
    GArray *windows = g_array_new(false, false, sizeof(Range));
    Range whole, holes[2];
    Range *areas = bar->sparse ? bar->areas : &whole;
    unsigned int nr = bar->sparse ? bar->nr_areas : 1, i;
    int n = 0, j;

    range_set_bounds(&whole, 0, bar->size - 1);
    if (!bar->msix_mappable) {
        n = vfio_bar_msix_holes(vdev, bar, holes);
    }
    for (i = 0; i < nr; i++) {
        hwaddr pos = range_lob(&areas[i]), end = range_upb(&areas[i]) + 1;

        for (j = 0; j < n; j++) {
            if (range_lob(&holes[j]) < end && range_upb(&holes[j]) >= pos) {
                vfio_window_add(windows, pos, range_lob(&holes[j]));
                pos = MAX(pos, range_upb(&holes[j]) + 1);
            }
        }
        vfio_window_add(windows, pos, end);
    }
    return windows;
}

static void vfio_bar_mmap(VFIOPCIDevice *vdev, VFIOBAR *bar)
{
    g_autoptr(GArray) windows = NULL;
    unsigned int i;

    /*
     * The kernel offers to mmap a BAR smaller than a page only when it
     * has the page to itself (it reserves the rest): the window is the
     * BAR, the mapping its page.
     */
    if (vdev->no_mmap || !(bar->flags & VFIO_REGION_INFO_FLAG_MMAP)) {
        return;
    }
    windows = vfio_bar_windows(vdev, bar);
    /* Sized once: the MemoryRegions in it must never move */
    bar->mmaps = g_new0(VFIOMmap, windows->len);
    for (i = 0; i < windows->len; i++) {
        Range *r = &g_array_index(windows, Range, i);

        if (!vfio_bar_mmap_window(vdev, bar, range_lob(r),
                                  range_upb(r) + 1)) {
            return;
        }
    }
}

static bool vfio_bar_register(VFIOPCIDevice *vdev, int nr, Error **errp)
{
    VFIOBAR *bar = &vdev->bars[nr];
    g_autofree char *name = NULL;
    uint32_t pci_bar;
    bool ioport;
    uint8_t type;

    /* Skip both unimplemented BARs and the upper half of 64bit BARS. */
    if (!bar->guest_size) {
        return true;
    }

    if (pread(vdev->vbasedev.fd, &pci_bar, sizeof(pci_bar),
              vdev->config_offset + PCI_BASE_ADDRESS_0 + 4 * nr) !=
        sizeof(pci_bar)) {
        error_setg_errno(errp, errno, "failed to read BAR %d", nr);
        return false;
    }
    pci_bar = le32_to_cpu(pci_bar);
    ioport = pci_bar & PCI_BASE_ADDRESS_SPACE_IO;
    type = pci_bar & (ioport ? ~PCI_BASE_ADDRESS_IO_MASK :
                                    ~PCI_BASE_ADDRESS_MEM_MASK);

    /* A "slow" read/write mapping underlies all BARs */
    name = g_strdup_printf("%s BAR %d", vdev->vbasedev.name, nr);
    memory_region_init_io(&bar->mem, OBJECT(vdev),
                          ioport ? &vfio_bar_io_ops : &vfio_bar_ops,
                          bar, name, bar->guest_size);
    pci_register_bar(&vdev->pdev, nr, type, &bar->mem);

    vfio_bar_mmap(vdev, bar);
    return true;
}

static bool vfio_bars_setup(VFIOPCIDevice *vdev, Error **errp)
{
    int i;

    for (i = 0; i < PCI_ROM_SLOT; i++) {
        if (!vfio_bar_register(vdev, i, errp)) {
            return false;
        }
    }
    return true;
}

/*
 * An mmap holds the device file open, and the kernel keeps the device, its
 * group and their container busy until the last mmap goes; but a reader
 * that started before the unplug may still use the window until finalize.
 * Anonymous memory takes the window's place (vfio_mmap_to_anon): such a
 * late reader sees zeroes, and the device goes back to the host as soon
 * as we close its fd.
 */
static void vfio_bars_exit(VFIOPCIDevice *vdev)
{
    int i, j;

    for (i = 0; i < PCI_ROM_SLOT; i++) {
        VFIOBAR *bar = &vdev->bars[i];

        for (j = 0; j < bar->nr_mmaps; j++) {
            memory_region_del_subregion(&bar->mem, &bar->mmaps[j].mem);
            vfio_mmap_to_anon(vdev, &bar->mmaps[j]);
        }
    }
}

/* After the last reader of the memory regions is gone: drop the mmaps. */
static void vfio_bars_finalize(VFIOPCIDevice *vdev)
{
    int i, j;

    for (i = 0; i < PCI_ROM_SLOT; i++) {
        VFIOBAR *bar = &vdev->bars[i];

        for (j = 0; j < bar->nr_mmaps; j++) {
            object_unparent(OBJECT(&bar->mmaps[j].mem));
            munmap(bar->mmaps[j].mmap, bar->mmaps[j].map_size);
        }
        bar->nr_mmaps = 0;
        g_clear_pointer(&bar->mmaps, g_free);
        g_clear_pointer(&bar->areas, g_free);
        if (bar->guest_size) {
            object_unparent(OBJECT(&bar->mem));
        }
    }
}

/* Reads the ROM until it ends; a ROM shorter than its BAR is normal. */
static bool vfio_rom_read(VFIOPCIDevice *vdev, uint8_t *ptr, Error **errp)
{
    uint64_t off = 0;
    ssize_t bytes;

    while (off < vdev->rom_size) {
        bytes = pread(vdev->vbasedev.fd, ptr + off, vdev->rom_size - off,
                      vdev->rom_offset + off);
        if (bytes == 0) {
            break;
        } else if (bytes > 0) {
            off += bytes;
        } else if (errno != EINTR && errno != EAGAIN) {
            error_setg_errno(errp, errno, "failed to read the device ROM");
            return false;
        }
    }
    trace_vfio_rom_read(vdev->vbasedev.name, off, vdev->rom_size);
    return true;
}

static bool vfio_rom_load(VFIOPCIDevice *vdev, Error **errp)
{
    ERRP_GUARD();
    PCIDevice *pdev = &vdev->pdev;
    uint8_t *ptr;

    /* If loading ROM from file, pci handles it */
    if (pdev->romfile || !pdev->rom_bar || !vdev->rom_size) {
        return true;
    }

    /*
     * Each side reads its own device's ROM, as QEMU 7.2's vfio-pci does:
     * a migration never carries it, so a destination that has no such
     * block yet (a failover primary, plugged only after the load; QEMU
     * 7.2's, whose ROM is no RAM) accepts the stream.
     */
    memory_region_init_rom_nomigrate(&pdev->rom, OBJECT(vdev), "vfio-pci.rom",
                                     vdev->rom_size, errp);
    if (*errp) {
        return false;
    }
    ptr = memory_region_get_ram_ptr(&pdev->rom);
    memset(ptr, 0xff, vdev->rom_size);

    if (!vfio_rom_read(vdev, ptr, errp)) {
        object_unparent(OBJECT(&pdev->rom));
        return false;
    }

    pci_register_bar(pdev, PCI_ROM_SLOT, 0, &pdev->rom);
    pdev->has_rom = true;
    return true;
}

/* A ROM BAR must be a power of two; the region is what the kernel read. */
static void vfio_set_rom_info(VFIOPCIDevice *vdev,
                              struct vfio_region_info *info)
{
    if (!(info->flags & VFIO_REGION_INFO_FLAG_READ) || !info->size) {
        return;
    }
    vdev->rom_size = pow2ceil(info->size);
    vdev->rom_offset = info->offset;
}

/*
 * What the kernel says of mmap'ing the BAR: only its sparse areas (what
 * lies outside the BAR is dropped), and whether the MSI-X table may be.
 */
static void vfio_bar_read_caps(VFIOBAR *bar,
                               const struct vfio_region_info *info)
{
    struct vfio_region_info_cap_sparse_mmap *sparse;
    size_t room;
    unsigned int i;

    bar->msix_mappable = vfio_region_info_cap(
        info, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE,
        sizeof(struct vfio_info_cap_header));
    sparse = (void *)vfio_region_info_cap(info,
                                          VFIO_REGION_INFO_CAP_SPARSE_MMAP,
                                          sizeof(*sparse));
    trace_vfio_bar_caps(bar->vdev->vbasedev.name, bar->nr,
                        bar->msix_mappable, sparse ? sparse->nr_areas : -1);
    if (!sparse) {
        return;
    }
    room = (info->argsz - ((uint8_t *)sparse->areas - (uint8_t *)info)) /
           sizeof(sparse->areas[0]);
    bar->sparse = true;
    bar->areas = g_new0(Range, MIN(sparse->nr_areas, room) + 1);
    for (i = 0; i < sparse->nr_areas && i < room; i++) {
        uint64_t off = sparse->areas[i].offset, size = sparse->areas[i].size;

        if (size && off < bar->size && size <= bar->size - off) {
            range_set_bounds(&bar->areas[bar->nr_areas++], off,
                             off + size - 1);
        }
        trace_vfio_bar_sparse_area(bar->vdev->vbasedev.name, bar->nr, off,
                                   size);
    }
}

/*
 * A host driver's answer is checked before QEMU builds on it: a BAR that
 * is not a power of two would trip the PCI core's asserts, a region that
 * wraps around the fd's offsets would make every access wrong.
 */
static bool vfio_region_info_valid(const struct vfio_region_info *info,
                                   bool is_bar, Error **errp)
{
    const char *what = is_bar ? "BAR" : "region";
    int nr = info->index;

    if (!info->size) {
        return true;
    }
    if (info->offset > INT64_MAX || info->size > INT64_MAX - info->offset) {
        error_setg(errp, "the host driver gives %s %d an offset of 0x%"
                   PRIx64 " and a size of 0x%" PRIx64 ", beyond what a file "
                   "offset can reach", what, nr, (uint64_t)info->offset,
                   (uint64_t)info->size);
        return false;
    }
    /* A ROM the host cannot read is no ROM (vfio_set_rom_info) */
    if (is_bar && !(info->flags & (VFIO_REGION_INFO_FLAG_READ |
                                   VFIO_REGION_INFO_FLAG_WRITE))) {
        error_setg(errp, "the host driver gives BAR %d (0x%" PRIx64 " bytes) "
                   "neither read nor write access", nr, (uint64_t)info->size);
        return false;
    }
    if (is_bar && !is_power_of_2(info->size)) {
        error_setg(errp, "the host driver gives BAR %d a size of 0x%" PRIx64
                   ", which is not a power of two", nr,
                   (uint64_t)info->size);
        return false;
    }
    return true;
}

static bool vfio_populate_device(VFIOPCIDevice *vdev, Error **errp)
{
    VFIODevice *vbasedev = &vdev->vbasedev;
    struct vfio_region_info info;
    int i;

    for (i = VFIO_PCI_BAR0_REGION_INDEX; i < VFIO_PCI_ROM_REGION_INDEX; i++) {
        g_autofree struct vfio_region_info *bar_info =
            vfio_get_region_info_caps(vbasedev, i, errp);

        if (!bar_info || !vfio_region_info_valid(bar_info, true, errp)) {
            return false;
        }
        vdev->bars[i].vdev = vdev;
        vdev->bars[i].nr = i;
        vdev->bars[i].flags = bar_info->flags;
        vdev->bars[i].size = bar_info->size;
        vdev->bars[i].guest_size = bar_info->size;
        vdev->bars[i].fd_offset = bar_info->offset;
        vfio_bar_read_caps(&vdev->bars[i], bar_info);
    }

    if (!vfio_get_region_info(vbasedev, VFIO_PCI_ROM_REGION_INDEX, &info,
                              errp) ||
        !vfio_region_info_valid(&info, false, errp)) {
        return false;
    }
    vfio_set_rom_info(vdev, &info);

    if (!vfio_get_region_info(vbasedev, VFIO_PCI_CONFIG_REGION_INDEX, &info,
                              errp) ||
        !vfio_region_info_valid(&info, false, errp)) {
        return false;
    }
    /* No more of it than PCI Express has is ever read */
    vdev->config_size = MIN(info.size, PCIE_CONFIG_SPACE_SIZE);
    vdev->config_offset = info.offset;
    vfio_pcie_config_size(vdev);
    /* Shorter than 256 bytes (the mtty sample's 255): the rest reads 0 */
    if (vdev->config_size < PCI_CONFIG_HEADER_SIZE) {
        error_setg(errp, "config space of %u bytes is too small",
                   vdev->config_size);
        return false;
    }
    return true;
}

/*
 * Realize and exit
 */
/* The sysfs directory that host=, sysfsdev= or fd= name, not canonical. */
static char *vfio_named_sysfsdev(VFIOPCIDevice *vdev, const char *from_fd,
                                 Error **errp)
{
    PCIHostDeviceAddress *host = &vdev->host;
    VFIODevice *vbasedev = &vdev->vbasedev;

    if (host->domain != ~0U && vbasedev->sysfsdev) {
        error_setg(errp, "host= and sysfsdev= both name the device: give "
                   "one of them");
        return NULL;
    }
    if (host->domain != ~0U) {
        return g_strdup_printf("/sys/bus/pci/devices/%04x:%02x:%02x.%01x",
                               host->domain, host->bus, host->slot,
                               host->function);
    }
    if (vbasedev->sysfsdev || from_fd) {
        return g_strdup(vbasedev->sysfsdev ? vbasedev->sysfsdev : from_fd);
    }
    error_setg(errp, "the 'host' property is required (or sysfsdev=, or "
               "fd= with iommufd=)");
    error_append_hint(errp, "Name the host device to assign, e.g. "
                      "-device vfio-pci,host=0000:05:00.0\n");
    return NULL;
}

/*
 * The device to assign: its canonical sysfs directory and its name there
 * (a PCI address, or an mdev's UUID).  fd= names its device too, and any
 * host= or sysfsdev= beside it must name the same one.
 */
static bool vfio_check_host(VFIOPCIDevice *vdev, Error **errp)
{
    VFIODevice *vbasedev = &vdev->vbasedev;
    g_autofree char *from_fd = NULL;
    g_autofree char *named = NULL;
    g_autofree char *real = NULL;

    if (vbasedev->passed_fd >= 0) {
        from_fd = vfio_cdev_sysfsdev(vbasedev->passed_fd, errp);
        if (!from_fd) {
            return false;
        }
    }
    named = vfio_named_sysfsdev(vdev, from_fd, errp);
    if (!named) {
        return false;
    }
    real = realpath(named, NULL);
    vbasedev->name = g_path_get_basename(real ? real : named);
    if (!real || !g_file_test(real, G_FILE_TEST_IS_DIR)) {
        error_setg(errp, "host device %s does not exist", vbasedev->name);
        error_append_hint(errp, "Check the address with lspci -D; %s is "
                          "missing.\n", named);
        return false;
    }
    if (from_fd && strcmp(from_fd, real)) {
        error_setg(errp, "fd=%d is the cdev of %s, not of %s",
                   vbasedev->passed_fd, from_fd, real);
        return false;
    }
    g_free(vbasedev->sysfsdev);
    vbasedev->sysfsdev = g_steal_pointer(&real);
    trace_vfio_check_host(vbasedev->name, vbasedev->sysfsdev);
    return true;
}

/* Only a mediated device's driver pins what it uses, not all guest RAM */
static bool vfio_check_balloon(VFIOPCIDevice *vdev, Error **errp)
{
    VFIODevice *vbasedev = &vdev->vbasedev;
    g_autofree char *type = g_strdup_printf("%s/mdev_type",
                                            vbasedev->sysfsdev);

    if (vbasedev->ram_discard_allowed &&
        !g_file_test(type, G_FILE_TEST_EXISTS)) {
        error_setg(errp, "x-balloon-allowed=on is for mediated devices, "
                   "whose driver pins only the pages it uses; %s is not "
                   "one, and all guest RAM is pinned for it",
                   vbasedev->name);
        return false;
    }
    return true;
}

static bool vfio_check_options(VFIOPCIDevice *vdev, Error **errp)
{
    if (!vfio_viommu_check(pci_device_iommu_address_space(&vdev->pdev),
                           errp)) {
        return false;
    }
    vdev->vbasedev.ops = vdev->vbasedev.iommufd ? &vfio_iommufd_ops
                                                : &vfio_legacy_ops;
    return vfio_check_host(vdev, errp) && vfio_check_balloon(vdev, errp);
}

/*
 * A guest IOMMU created after the device (later on the command line) is
 * not in front of it: the device would reach all guest RAM while the
 * guest believes it confined.  Refuse to start like that.
 */
static void vfio_machine_done(Notifier *notifier, void *data)
{
    VFIOPCIDevice *vdev = container_of(notifier, VFIOPCIDevice,
                                       machine_done);

    if (pci_device_iommu_address_space(&vdev->pdev) !=
        vdev->vbasedev.container->as) {
        error_report(VFIO_MSG_PREFIX "the guest IOMMU was created after the "
                     "device and is not in front of it: put the IOMMU's "
                     "-device before the device's", vdev->vbasedev.name);
        exit(1);
    }
}

static void vfio_realize(PCIDevice *pdev, Error **errp)
{
    ERRP_GUARD();
    VFIOPCIDevice *vdev = VFIO_PCI(pdev);

    if (!vfio_check_options(vdev, errp) ||
        !vfio_attach_device(&vdev->vbasedev,
                            pci_device_iommu_address_space(pdev), errp)) {
        goto error;
    }

    if (!vfio_populate_device(vdev, errp) ||
        !vfio_read_config_space(vdev, errp) ||
        !vfio_msix_early_setup(vdev, errp) ||
        !vfio_bars_setup(vdev, errp) ||
        !vfio_vga_setup(vdev, errp)) {
        goto detach_exit;
    }
    vfio_quirks_bars(vdev);
    if (!vfio_add_capabilities(vdev, errp) ||
        !vfio_quirks_caps(vdev, errp) ||
        !vfio_igd_setup(vdev, errp) ||
        !vfio_rom_load(vdev, errp) ||
        !vfio_setup_intx(vdev, errp)) {
        goto teardown_irqs_exit;
    }
    if (!vfio_display_setup(vdev, errp)) {
        goto teardown_intx_exit;
    }
    /* A failover primary is unplugged for migration, not migrated */
    if (!pdev->failover_pair_id &&
        !vfio_migration_realize(&vdev->vbasedev, errp)) {
        goto display_exit;
    }
    vfio_pci_reset_probe(vdev);
    vfio_notifiers_setup(vdev);
    vfio_decode_update(vdev);
    vdev->machine_done.notify = vfio_machine_done;
    qemu_add_machine_init_done_notifier(&vdev->machine_done);
    return;

display_exit:
    vfio_display_exit(vdev);
teardown_intx_exit:
    vfio_disable_interrupts(vdev);
teardown_irqs_exit:
    vfio_teardown_intx(vdev);
    vfio_teardown_msi(vdev);
detach_exit:
    vfio_quirks_exit(vdev);
    vfio_vga_exit(vdev);
    vfio_bars_exit(vdev);       /* whatever BAR setup got to */
    vfio_detach_device(&vdev->vbasedev);
error:
    if (vdev->vbasedev.name) {
        error_prepend(errp, VFIO_MSG_PREFIX, vdev->vbasedev.name);
    }
    /* Some callers drop the error (virtio-net's failover under qtest) */
    trace_vfio_realize_failed(vdev->vbasedev.name ?: "?",
                              error_get_pretty(*errp));
}

static void vfio_exitfn(PCIDevice *pdev)
{
    VFIOPCIDevice *vdev = VFIO_PCI(pdev);

    qemu_remove_machine_init_done_notifier(&vdev->machine_done);
    vfio_migration_exit(&vdev->vbasedev);
    vfio_notifiers_teardown(vdev);
    vfio_display_exit(vdev);
    vfio_disable_interrupts(vdev);
    vfio_teardown_intx(vdev);
    vfio_teardown_msi(vdev);
    vfio_quirks_exit(vdev);
    vfio_vga_exit(vdev);
    vfio_bars_exit(vdev);
    vfio_detach_device(&vdev->vbasedev);
}

static void vfio_instance_init(Object *obj)
{
    VFIOPCIDevice *vdev = VFIO_PCI(obj);

    /* Room for 4 KiB of config space; realize decides whether it shows */
    PCI_DEVICE(obj)->cap_present |= QEMU_PCI_CAP_EXPRESS;
    /* ~0 marks 'host' as unset: 0000:00:00.0 is a real address */
    vdev->host.domain = ~0U;
    vdev->vbasedev.fd = -1;
    vdev->vbasedev.passed_fd = -1;
    vdev->vbasedev.dev = DEVICE(obj);
    device_add_bootindex_property(obj, &vdev->bootindex, "bootindex", NULL,
                                  DEVICE(obj));
}

static void vfio_instance_finalize(Object *obj)
{
    VFIOPCIDevice *vdev = VFIO_PCI(obj);

    vfio_quirks_finalize(vdev);
    vfio_vga_finalize(vdev);
    vfio_bars_finalize(vdev);
    g_free(vdev->msix);
    g_free(vdev->vbasedev.name);
    if (vdev->vbasedev.passed_fd >= 0) {
        close(vdev->vbasedev.passed_fd);
    }
}

/* fd=: a device cdev that the caller opened (a number or a getfd name) */
static void vfio_pci_set_fd(Object *obj, const char *str, Error **errp)
{
    vfio_set_fd_param(&VFIO_PCI(obj)->vbasedev.passed_fd, str, "vfio-pci",
                      DEVICE(obj)->realized, errp);
}

/* NVIDIA's P2P clique IDs are four bits; 0xff, the default, is none */
static void vfio_clique_get(Object *obj, Visitor *v, const char *name,
                            void *opaque, Error **errp)
{
    uint8_t *ptr = object_field_prop_ptr(obj, opaque);

    visit_type_uint8(v, name, ptr, errp);
}

static void vfio_clique_set(Object *obj, Visitor *v, const char *name,
                            void *opaque, Error **errp)
{
    uint8_t *ptr = object_field_prop_ptr(obj, opaque);
    uint8_t value;

    if (!visit_type_uint8(v, name, &value, errp)) {
        return;
    }
    if (value > 15 && value != 0xff) {
        error_setg(errp, "%s=%u: a clique ID is 0-15", name, value);
        return;
    }
    *ptr = value;
}

static void vfio_clique_set_default(ObjectProperty *op, const Property *prop)
{
    object_property_set_default_uint(op, prop->defval.u);
}

static const PropertyInfo vfio_prop_clique = {
    .name = "uint4",
    .description = "NVIDIA GPUDirect P2P clique ID (0-15)",
    .get = vfio_clique_get,
    .set = vfio_clique_set,
    .set_default_value = vfio_clique_set_default,
};

/*
 * QEMU 7.2's spellings.  x-enable-migration=on asked for migration v1,
 * which kernels no longer offer: it is migration where the device can
 * (enable-migration=auto), and off still blocks it.
 */
static bool vfio_x_enable_migration_get(Object *obj, Error **errp)
{
    return VFIO_PCI(obj)->vbasedev.enable_migration != ON_OFF_AUTO_OFF;
}

static void vfio_x_enable_migration_set(Object *obj, bool value, Error **errp)
{
    warn_report("vfio-pci: x-enable-migration is the old spelling of "
                "enable-migration: x-enable-migration=%s is "
                "enable-migration=%s", value ? "on" : "off",
                value ? "auto" : "off");
    VFIO_PCI(obj)->vbasedev.enable_migration = value ? ON_OFF_AUTO_AUTO
                                                     : ON_OFF_AUTO_OFF;
}

static bool vfio_x_req_get(Object *obj, Error **errp)
{
    return VFIO_PCI(obj)->req_notifier_wanted;
}

static void vfio_x_req_set(Object *obj, bool value, Error **errp)
{
    warn_report("vfio-pci: x-req is the old spelling of req-notifier: use "
                "req-notifier=%s", value ? "on" : "off");
    VFIO_PCI(obj)->req_notifier_wanted = value;
}

static Property vfio_pci_properties[] = {
    DEFINE_PROP_PCI_HOST_DEVADDR("host", VFIOPCIDevice, host),
    DEFINE_PROP_STRING("sysfsdev", VFIOPCIDevice, vbasedev.sysfsdev),
    DEFINE_PROP_LINK("iommufd", VFIOPCIDevice, vbasedev.iommufd,
                     TYPE_IOMMUFD_BACKEND, IOMMUFDBackend *),
    DEFINE_PROP_ON_OFF_AUTO("enable-migration", VFIOPCIDevice,
                            vbasedev.enable_migration, ON_OFF_AUTO_AUTO),
    DEFINE_PROP_BOOL("x-no-mmap", VFIOPCIDevice, no_mmap, false),
    /* A balloon may discard guest RAM: for mdevs that pin on demand */
    DEFINE_PROP_BOOL("x-balloon-allowed", VFIOPCIDevice,
                     vbasedev.ram_discard_allowed, false),
    DEFINE_PROP_UINT32("x-intx-mmap-timeout-ms", VFIOPCIDevice,
                       intx_mmap_timeout_ms, 1100),
    DEFINE_PROP_BOOL("x-no-kvm-intx", VFIOPCIDevice, no_kvm_intx, false),
    DEFINE_PROP_BOOL("x-no-kvm-msi", VFIOPCIDevice, no_kvm_msi, false),
    DEFINE_PROP_BOOL("x-no-kvm-msix", VFIOPCIDevice, no_kvm_msix, false),
    /* Grow MSI-X by disable and re-enable even where the kernel can resize */
    DEFINE_PROP_BOOL("x-msix-noresize", VFIOPCIDevice, msix_noresize, false),
    /* The host's AER error stops the VM; its request for the device unplugs */
    DEFINE_PROP_BOOL("err-notifier", VFIOPCIDevice, err_notifier_wanted,
                     true),
    DEFINE_PROP_BOOL("req-notifier", VFIOPCIDevice, req_notifier_wanted,
                     true),
    /* The legacy VGA ranges reach a VGA-class device (vga.c) */
    DEFINE_PROP_BOOL("x-vga", VFIOPCIDevice, vga_wanted, false),
    /* The device's own screen on a console, its first mode (display.c) */
    DEFINE_PROP_ON_OFF_AUTO("display", VFIOPCIDevice, display,
                            ON_OFF_AUTO_OFF),
    DEFINE_PROP_UINT32("xres", VFIOPCIDevice, display_xres, 0),
    DEFINE_PROP_UINT32("yres", VFIOPCIDevice, display_yres, 0),
    /* The IDs and class the guest sees, and by which quirks are chosen */
    DEFINE_PROP_UINT32("x-pci-vendor-id", VFIOPCIDevice, vendor_id,
                       PCI_ANY_ID),
    DEFINE_PROP_UINT32("x-pci-device-id", VFIOPCIDevice, device_id,
                       PCI_ANY_ID),
    DEFINE_PROP_UINT32("x-pci-sub-vendor-id", VFIOPCIDevice, sub_vendor_id,
                       PCI_ANY_ID),
    DEFINE_PROP_UINT32("x-pci-sub-device-id", VFIOPCIDevice, sub_device_id,
                       PCI_ANY_ID),
    DEFINE_PROP_UINT32("x-pci-class-code", VFIOPCIDevice, class_code,
                       PCI_ANY_ID),
    /* NVIDIA's quirks off: what only GeForce drivers need (quirks.c) */
    DEFINE_PROP_BOOL("x-no-geforce-quirks", VFIOPCIDevice,
                     no_geforce_quirks, false),
    DEFINE_PROP_UNSIGNED("x-nv-gpudirect-clique", VFIOPCIDevice,
                         nv_gpudirect_clique, 0xff, vfio_prop_clique,
                         uint8_t),
    /* The MSI-X table and PBA moved to another BAR, off the device's */
    DEFINE_PROP_OFF_AUTO_PCIBAR("x-msix-relocation", VFIOPCIDevice,
                                msix_relocation, OFF_AUTOPCIBAR_OFF),
    /* No ioeventfd acceleration of the quirks' hot registers */
    DEFINE_PROP_BOOL("x-no-kvm-ioeventfd", VFIOPCIDevice, no_kvm_ioeventfd,
                     false),
    DEFINE_PROP_BOOL("x-no-vfio-ioeventfd", VFIOPCIDevice, no_vfio_ioeventfd,
                     false),
    /* The PF's VF token, for an SR-IOV PF or VF of a vfio-pci PF */
    DEFINE_PROP("vf-token", VFIOPCIDevice, vbasedev.vf_token,
                vfio_prop_vf_token, QemuUUID),
    /* Off: the devices' dirty pages are read only once the VM stopped */
    DEFINE_PROP_ON_OFF_AUTO("x-pre-copy-dirty-page-tracking", VFIOPCIDevice,
                            vbasedev.pre_copy_dirty_page_tracking,
                            ON_OFF_AUTO_ON),
    /* False: never the device's DMA logging, only the IOMMU's tracking */
    DEFINE_PROP_BOOL("x-device-dirty-page-tracking", VFIOPCIDevice,
                     vbasedev.device_dirty_page_tracking, true),
    /* Vendor capabilities may differ between hosts: not compared on load */
    DEFINE_PROP_BOOL("skip-vsc-check", VFIOPCIDevice, skip_vsc_check, true),
    /* A VFIO_MIGRATION QAPI event on each migration state change */
    DEFINE_PROP_BOOL("migration-events", VFIOPCIDevice,
                     vbasedev.migration_events, false),
    /* The host's IGD OpRegion to the guest's firmware, by fw_cfg (igd.c) */
    DEFINE_PROP_BOOL("x-igd-opregion", VFIOPCIDevice, igd_opregion, false),
    /* The stolen memory an IGD's GMCH shows, 32 MiB units (igd.c) */
    DEFINE_PROP_UINT32("x-igd-gms", VFIOPCIDevice, igd_gms, 0),
    DEFINE_PROP_END_OF_LIST(),
};

/* ramfb cannot be taken back out of fw_cfg: only a device that stays has it */
static Property vfio_pci_nohotplug_properties[] = {
    DEFINE_PROP_BOOL("ramfb", VFIOPCIDevice, ramfb_wanted, false),
    DEFINE_PROP_END_OF_LIST(),
};

static void vfio_pci_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    ResettableClass *rc = RESETTABLE_CLASS(klass);
    PCIDeviceClass *pdc = PCI_DEVICE_CLASS(klass);

    rc->phases.enter = vfio_pci_reset_enter;
    rc->phases.hold = vfio_pci_reset_hold;
    rc->phases.exit = vfio_pci_reset_exit;
    dc->vmsd = &vfio_pci_vmstate;
    dc->desc = "VFIO-based PCI device assignment";
    device_class_set_props(dc, vfio_pci_properties);
    object_class_property_add_str(klass, "fd", NULL, vfio_pci_set_fd);
    object_class_property_set_description(klass, "fd", "an open vfio device "
                                          "cdev, with iommufd=");
    object_class_property_add_bool(klass, "x-enable-migration",
                                   vfio_x_enable_migration_get,
                                   vfio_x_enable_migration_set);
    object_class_property_set_description(klass, "x-enable-migration",
                                          "old spelling of enable-migration");
    object_class_property_add_bool(klass, "x-req", vfio_x_req_get,
                                   vfio_x_req_set);
    object_class_property_set_description(klass, "x-req",
                                          "old spelling of req-notifier");
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);

    pdc->realize = vfio_realize;
    pdc->exit = vfio_exitfn;
    pdc->config_read = vfio_pci_read_config;
    pdc->config_write = vfio_pci_write_config;
}

static const TypeInfo vfio_pci_info = {
    .name = TYPE_VFIO_PCI,
    .parent = TYPE_PCI_DEVICE,
    .instance_size = sizeof(VFIOPCIDevice),
    .instance_init = vfio_instance_init,
    .instance_finalize = vfio_instance_finalize,
    .class_init = vfio_pci_class_init,
    .interfaces = (InterfaceInfo[]) {
        { INTERFACE_PCIE_DEVICE },
        { INTERFACE_CONVENTIONAL_PCI_DEVICE },
        { }
    },
};

static void vfio_pci_nohotplug_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);

    dc->hotpluggable = false;
    dc->desc = "VFIO-based PCI device assignment, not hot-pluggable";
    device_class_set_props(dc, vfio_pci_nohotplug_properties);
}

static const TypeInfo vfio_pci_nohotplug_info = {
    .name = TYPE_VFIO_PCI_NOHOTPLUG,
    .parent = TYPE_VFIO_PCI,
    .instance_size = sizeof(VFIOPCIDevice),
    .class_init = vfio_pci_nohotplug_class_init,
};

static void vfio_pci_register_types(void)
{
    type_register_static(&vfio_pci_info);
    type_register_static(&vfio_pci_nohotplug_info);
}

type_init(vfio_pci_register_types)
