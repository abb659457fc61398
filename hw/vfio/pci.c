/*
 * vfio based device assignment support
 *
 * The vfio-pci device model: BARs (slow path and mmap windows), config
 * space and capabilities, the ROM, realize and exit.  Interrupts are in
 * pci-irq.c, resets in pci-reset.c, the host's error and request
 * signals in pci-notifiers.c.
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

#include "hw/vfio/pci.h"
#include "exec/address-spaces.h"
#include "hw/pci/msi.h"
#include "hw/pci/msix.h"
#include "hw/pci/pci_bus.h"
#include "hw/qdev-properties.h"
#include "hw/qdev-properties-system.h"
#include "migration/vmstate.h"
#include "qapi/error.h"
#include "qemu/cutils.h"
#include "qemu/error-report.h"
#include "qemu/log.h"
#include "qemu/module.h"
#include "qemu/range.h"
#include "sysemu/sysemu.h"
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
 * IO Port/MMIO - Beware of the endians, VFIO is always little endian
 */
static void vfio_bar_log_failure(VFIOBAR *bar, const char *op, hwaddr addr,
                                 unsigned size)
{
    if (!vfio_first_report(bar->vdev, VFIO_REPORT_BAR_ACCESS)) {
        return;
    }
    qemu_log_mask(LOG_GUEST_ERROR, "vfio %s: BAR %d %s of %u bytes at 0x%"
                  HWADDR_PRIx " failed: %s\n", bar->vdev->vbasedev.name,
                  bar->nr, op, size, addr, strerror(errno));
}

static void vfio_bar_write(void *opaque, hwaddr addr, uint64_t data,
                           unsigned size)
{
    VFIOBAR *bar = opaque;
    uint64_t buf = cpu_to_le64(data);

    if (pwrite(bar->vdev->vbasedev.fd, &buf, size,
               bar->fd_offset + addr) != size) {
        vfio_bar_log_failure(bar, "write", addr, size);
    }
    trace_vfio_bar_write(bar->vdev->vbasedev.name, bar->nr, addr, data, size);

    /* Any access may be the guest servicing a pending INTx. */
    vfio_intx_eoi(bar->vdev);
}

static uint64_t vfio_bar_read(void *opaque, hwaddr addr, unsigned size)
{
    VFIOBAR *bar = opaque;
    uint64_t buf = 0;
    uint64_t data;

    if (pread(bar->vdev->vbasedev.fd, &buf, size,
              bar->fd_offset + addr) != size) {
        vfio_bar_log_failure(bar, "read", addr, size);
        return MAKE_64BIT_MASK(0, size * 8);
    }
    data = le64_to_cpu(buf);
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
 * PCI config space
 */

/*
 * QEMU emulates the BARs and ROM BAR (the guest must never see host
 * addresses), the MSI and MSI-X capabilities and the multifunction bit;
 * every other bit comes from the device through VFIO, which virtualizes
 * what the host must keep.  Performance is not a concern here.
 */
static uint32_t vfio_emulated_bits(VFIOPCIDevice *vdev, uint32_t addr,
                                   int len)
{
    uint32_t bits = 0;

    memcpy(&bits, vdev->emulated_config_bits + addr, len);
    return le32_to_cpu(bits);
}

/* @len bytes at @addr of the device's own config space, through VFIO. */
bool vfio_host_config_read(VFIOPCIDevice *vdev, uint32_t addr, int len,
                           uint32_t *val)
{
    uint32_t buf = 0;

    if (pread(vdev->vbasedev.fd, &buf, len,
              vdev->config_offset + addr) != len) {
        if (vfio_first_report(vdev, VFIO_REPORT_CONFIG_ACCESS)) {
            qemu_log_mask(LOG_GUEST_ERROR, "vfio %s: config read of %d "
                          "bytes at 0x%x failed: %s\n", vdev->vbasedev.name,
                          len, addr, strerror(errno));
        }
        return false;
    }
    *val = le32_to_cpu(buf);
    return true;
}

/* VFIO filters out what the guest must not write to the device. */
void vfio_host_config_write(VFIOPCIDevice *vdev, uint32_t addr, uint32_t val,
                            int len)
{
    uint32_t val_le = cpu_to_le32(val);

    trace_vfio_host_config_write(vdev->vbasedev.name, addr, val, len);
    if (pwrite(vdev->vbasedev.fd, &val_le, len,
               vdev->config_offset + addr) != len &&
        vfio_first_report(vdev, VFIO_REPORT_CONFIG_ACCESS)) {
        qemu_log_mask(LOG_GUEST_ERROR, "vfio %s: config write of %d bytes "
                      "at 0x%x failed: %s\n", vdev->vbasedev.name, len, addr,
                      strerror(errno));
    }
}

static uint32_t vfio_pci_read_config(PCIDevice *pdev, uint32_t addr, int len)
{
    VFIOPCIDevice *vdev = VFIO_PCI(pdev);
    uint32_t emu_bits = vfio_emulated_bits(vdev, addr, len);
    uint32_t all = MAKE_64BIT_MASK(0, len * 8);
    uint32_t emu_val = 0, phys_val = 0, val;

    if (emu_bits) {
        emu_val = pci_default_read_config(pdev, addr, len);
    }
    if ((~emu_bits & all) &&
        !vfio_host_config_read(vdev, addr, len, &phys_val)) {
        return all;
    }

    val = (emu_val & emu_bits) | (phys_val & ~emu_bits);
    trace_vfio_pci_read_config(vdev->vbasedev.name, addr, len, val);
    return val;
}

/*
 * The host decodes the BARs' memory in D0 with Memory Space Enable set.
 * When it stops, the kernel revokes our mmaps and an access through one
 * is a SIGBUS: so the fast path goes away before a write that stops the
 * decoding reaches the host, and comes back only once the host decodes.
 */
static bool vfio_write_hits_decode(VFIOPCIDevice *vdev, uint32_t addr,
                                   int len)
{
    return ranges_overlap(addr, len, PCI_COMMAND, 1) ||
           (vdev->pm_cap &&
            ranges_overlap(addr, len, vdev->pm_cap + PCI_PM_CTRL, 1));
}

static bool vfio_write_stops_decode(VFIOPCIDevice *vdev, uint32_t addr,
                                    uint32_t val, int len)
{
    uint32_t pmcsr = vdev->pm_cap + PCI_PM_CTRL;

    /* ranges_overlap() means addr <= the register's first byte here */
    if (ranges_overlap(addr, len, PCI_COMMAND, 1) &&
        !((val >> (PCI_COMMAND - addr) * 8) & PCI_COMMAND_MEMORY)) {
        return true;
    }
    return vdev->pm_cap && ranges_overlap(addr, len, pmcsr, 1) &&
           ((val >> (pmcsr - addr) * 8) & PCI_PM_CTRL_STATE_MASK);
}

/* Reads back from the host whether it decodes memory now. */
void vfio_decode_update(VFIOPCIDevice *vdev)
{
    uint32_t cmd = 0, pmcsr = 0;
    bool decodes;

    vfio_host_config_read(vdev, PCI_COMMAND, 2, &cmd);
    if (vdev->pm_cap) {
        vfio_host_config_read(vdev, vdev->pm_cap + PCI_PM_CTRL, 2, &pmcsr);
    }
    if (vdev->low_power != !!(pmcsr & PCI_PM_CTRL_STATE_MASK)) {
        vdev->low_power = pmcsr & PCI_PM_CTRL_STATE_MASK;
        trace_vfio_pm_update(vdev->vbasedev.name,
                             pmcsr & PCI_PM_CTRL_STATE_MASK);
    }
    decodes = (cmd & PCI_COMMAND_MEMORY) && !vdev->low_power;
    vfio_fast_path_block(vdev, VFIO_FAST_PATH_DECODE, !decodes);
}

/*
 * The bits of a write the host must not see.  The kernel virtualizes the
 * BARs and the MSI/MSI-X registers as we do and expects the guest's
 * writes to them; what we emulate in the PCI Express capability and in
 * extended config space (hidden capabilities, the chain's headers, link
 * bits that would retrain or disable the host's link) is emulated to keep
 * it away from the host.
 */
static uint32_t vfio_host_kept_bits(VFIOPCIDevice *vdev, uint32_t addr,
                                    int len)
{
    uint8_t exp = vdev->pdev.exp.exp_cap;

    if (addr >= PCI_CONFIG_SPACE_SIZE ||
        (exp && ranges_overlap(addr, len, exp, vdev->exp_size))) {
        return vfio_emulated_bits(vdev, addr, len);
    }
    return 0;
}

/* Writes what the guest may write, keeping the host's own kept bits. */
static void vfio_host_config_merge(VFIOPCIDevice *vdev, uint32_t addr,
                                   uint32_t val, int len)
{
    uint32_t kept = vfio_host_kept_bits(vdev, addr, len);
    uint32_t host = 0;

    if (kept == MAKE_64BIT_MASK(0, len * 8)) {
        return;
    }
    if (kept && !vfio_host_config_read(vdev, addr, len, &host)) {
        return;
    }
    vfio_host_config_write(vdev, addr, (val & ~kept) | (host & kept), len);
}

/* Initiate FLR in Device Control: always reads 0, never reaches the host */
static bool vfio_write_initiates_flr(VFIOPCIDevice *vdev, uint32_t addr,
                                     uint32_t val, int len)
{
    uint8_t exp = vdev->pdev.exp.exp_cap;
    uint32_t hi = exp + PCI_EXP_DEVCTL + 1;

    return exp && vdev->has_flr && hi >= addr && hi < addr + len &&
           ((val >> (hi - addr) * 8) & (PCI_EXP_DEVCTL_BCR_FLR >> 8));
}

static void vfio_pci_write_config(PCIDevice *pdev, uint32_t addr,
                                  uint32_t val, int len)
{
    VFIOPCIDevice *vdev = VFIO_PCI(pdev);
    bool decode = vfio_write_hits_decode(vdev, addr, len);

    trace_vfio_pci_write_config(vdev->vbasedev.name, addr, val, len);

    if (decode && vfio_write_stops_decode(vdev, addr, val, len)) {
        vfio_fast_path_block(vdev, VFIO_FAST_PATH_DECODE, true);
    }

    /* VFIO filters out what the guest must not write to the device */
    vfio_host_config_merge(vdev, addr, val, len);

    if (addr < PCI_CONFIG_HEADER_SIZE) {
        pci_default_write_config(pdev, addr, val, len);
    } else if ((msi_present(pdev) &&
                ranges_overlap(addr, len, pdev->msi_cap,
                               vdev->msi_cap_size)) ||
               (msix_present(pdev) &&
                ranges_overlap(addr, len, pdev->msix_cap, MSIX_CAP_LENGTH))) {
        vfio_irq_write_config(vdev, addr, val, len);
    }

    if (decode) {
        vfio_decode_update(vdev);
    }
    /* Ours, not the kernel's: QEMU's interrupts and config reset too */
    if (vfio_write_initiates_flr(vdev, addr, val, len)) {
        trace_vfio_guest_flr(vdev->vbasedev.name);
        pci_device_reset(pdev);
    }
}

void vfio_emulate_config_range(VFIOPCIDevice *vdev, int pos, int len)
{
    memset(vdev->emulated_config_bits + pos, 0xff, len);
}

/*
 * We don't have any control over how pci_add_capability() inserts
 * capabilities into the chain.  In order to setup MSI-X we need a
 * MemoryRegion for the BAR.  In order to setup the BAR and not
 * attempt to mmap the MSI-X table area, which VFIO won't allow, we
 * need to first look for where the MSI-X table lives.  So we
 * unfortunately split MSI-X setup across two functions.
 */
uint8_t vfio_find_cap(VFIOPCIDevice *vdev, uint8_t id)
{
    int i;

    for (i = 0; i < vdev->caps.nr_caps; i++) {
        if (vdev->caps.caps[i].id == id) {
            return vdev->caps.caps[i].pos;
        }
    }
    return 0;
}

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

static bool vfio_bar_mmap_window(VFIOPCIDevice *vdev, VFIOBAR *bar,
                                 hwaddr start, hwaddr end)
{
    VFIOMmap *m = &bar->mmaps[bar->nr_mmaps];
    g_autofree char *name = NULL;
    int prot = 0;

    if (bar->flags & VFIO_REGION_INFO_FLAG_READ) {
        prot |= PROT_READ;
    }
    if (bar->flags & VFIO_REGION_INFO_FLAG_WRITE) {
        prot |= PROT_WRITE;
    }

    m->mmap = mmap(NULL, end - start, prot, MAP_SHARED, vdev->vbasedev.fd,
                   bar->fd_offset + start);
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

    if (vdev->no_mmap || !(bar->flags & VFIO_REGION_INFO_FLAG_MMAP) ||
        bar->size < qemu_real_host_page_size()) {
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
    if (!bar->size) {
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
                          bar, name, bar->size);
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
 * Anonymous memory takes the window's place: such a late reader sees zeroes,
 * and the device goes back to the host as soon as we close its fd.
 */
static void vfio_bar_mmap_release(VFIOPCIDevice *vdev, VFIOMmap *m)
{
    if (mmap(m->mmap, m->size, PROT_READ | PROT_WRITE,
             MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED) {
        warn_report(VFIO_MSG_PREFIX "cannot release a BAR mmap: %s",
                    vdev->vbasedev.name, strerror(errno));
    }
}

static void vfio_bars_exit(VFIOPCIDevice *vdev)
{
    int i, j;

    for (i = 0; i < PCI_ROM_SLOT; i++) {
        VFIOBAR *bar = &vdev->bars[i];

        for (j = 0; j < bar->nr_mmaps; j++) {
            memory_region_del_subregion(&bar->mem, &bar->mmaps[j].mem);
            vfio_bar_mmap_release(vdev, &bar->mmaps[j]);
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
            munmap(bar->mmaps[j].mmap, bar->mmaps[j].size);
        }
        bar->nr_mmaps = 0;
        g_clear_pointer(&bar->mmaps, g_free);
        g_clear_pointer(&bar->areas, g_free);
        if (bar->size) {
            object_unparent(OBJECT(&bar->mem));
        }
    }
}

/*
 * PCI Express
 */

/* Emulates @mask of the word at @addr, showing the guest @val there. */
static void vfio_emulate_word(VFIOPCIDevice *vdev, uint16_t addr,
                              uint16_t mask, uint16_t val, const char *what)
{
    uint8_t *config = vdev->pdev.config;
    uint16_t host = pci_get_word(config + addr);
    uint16_t guest = (host & ~mask) | (val & mask);

    pci_set_word(vdev->emulated_config_bits + addr,
                 pci_get_word(vdev->emulated_config_bits + addr) | mask);
    pci_set_word(config + addr, guest);
    if (guest != host) {
        trace_vfio_pcie_cap_fixup(vdev->vbasedev.name, what, host, guest);
    }
}

/* @len bytes at @pos read as zeros and never reach the host. */
static void vfio_emulate_zeros(VFIOPCIDevice *vdev, uint16_t pos, int len)
{
    memset(vdev->pdev.config + pos, 0, len);
    vfio_emulate_config_range(vdev, pos, len);
}

/* The same for registers of the PCI Express capability, with a trace. */
static void vfio_pcie_cap_zero(VFIOPCIDevice *vdev, uint16_t pos, int len,
                               const char *what)
{
    uint32_t host = pci_get_long(vdev->pdev.config + pos);

    if (host) {
        trace_vfio_pcie_cap_fixup(vdev->vbasedev.name, what, host, 0);
    }
    vfio_emulate_zeros(vdev, pos, len);
}

/* The device/port type for where the device sits in the guest. */
static uint8_t vfio_pcie_guest_type(VFIOPCIDevice *vdev, uint8_t type)
{
    bool root = pci_bus_is_root(pci_get_bus(&vdev->pdev));

    if (root && (type == PCI_EXP_TYPE_ENDPOINT ||
                 type == PCI_EXP_TYPE_LEG_END)) {
        return PCI_EXP_TYPE_RC_END;
    }
    if (!root && type == PCI_EXP_TYPE_RC_END) {
        return PCI_EXP_TYPE_ENDPOINT;
    }
    return type;
}

/*
 * The PCI Express capability says where the device sits in the guest,
 * not on the host: its type, no slot (the guest's port has it), and for
 * an integrated endpoint no link.  Link Disable and Retrain Link would
 * act on the host's link: they read as 0 and never reach the device.
 * Neither does Initiate FLR: QEMU resets the device itself.
 */
static void vfio_pcie_cap_fixup(VFIOPCIDevice *vdev, const VFIOCap *cap)
{
    uint8_t pos = cap->pos;
    uint16_t flags;
    uint8_t type;

    if (!pci_is_express(&vdev->pdev) || cap->size < PCI_EXP_SLTSTA + 2) {
        return;
    }
    vdev->pdev.exp.exp_cap = pos;
    vdev->exp_size = cap->size;
    flags = pci_get_word(vdev->pdev.config + pos + PCI_EXP_FLAGS);
    type = vfio_pcie_guest_type(vdev, (flags & PCI_EXP_FLAGS_TYPE) >> 4);
    vfio_emulate_word(vdev, pos + PCI_EXP_FLAGS,
                      PCI_EXP_FLAGS_TYPE | PCI_EXP_FLAGS_SLOT, type << 4,
                      "flags (type, slot)");
    vfio_emulate_word(vdev, pos + PCI_EXP_DEVCTL, PCI_EXP_DEVCTL_BCR_FLR, 0,
                      "device control (Initiate FLR)");
    /* Slot capabilities, control and status: 0x14-0x1b */
    vfio_pcie_cap_zero(vdev, pos + PCI_EXP_SLTCAP, 8, "slot registers");
    if (type == PCI_EXP_TYPE_RC_END) {
        /* Link capabilities, control and status: 0x0c-0x13 */
        vfio_pcie_cap_zero(vdev, pos + PCI_EXP_LNKCAP, 8, "link registers");
    } else {
        vfio_emulate_word(vdev, pos + PCI_EXP_LNKCTL,
                          PCI_EXP_LNKCTL_LD | PCI_EXP_LNKCTL_RL, 0,
                          "link control");
    }
}

/*
 * Extended config space exists on a PCI Express bus when the host device
 * has it; elsewhere the guest gets 256 bytes, as for any conventional
 * device.  (The instance starts out express so that QEMU gives it room.)
 */
static void vfio_pcie_config_size(VFIOPCIDevice *vdev)
{
    PCIDevice *pdev = &vdev->pdev;
    bool express_bus = pci_bus_is_express(pci_get_bus(pdev));

    if (!express_bus || vdev->config_size < PCIE_CONFIG_SPACE_SIZE) {
        pdev->cap_present &= ~QEMU_PCI_CAP_EXPRESS;
    }
    trace_vfio_config_size(vdev->vbasedev.name, pci_config_size(pdev),
                           express_bus, vdev->config_size);
}

static void vfio_ext_cap_hide(VFIOPCIDevice *vdev, const VFIOExtCap *cap)
{
    vfio_emulate_zeros(vdev, cap->pos, cap->size);
    trace_vfio_ext_cap_hidden(vdev->vbasedev.name, cap->id, cap->pos,
                              cap->size, vfio_ext_cap_hidden_why(cap->id));
}

/*
 * As for the standard chain, the guest walks headers we write: a hidden
 * capability drops out, and when it was the first one, 0x100 holds a
 * null capability that points to the first one kept.
 */
static void vfio_add_ext_capabilities(VFIOPCIDevice *vdev)
{
    uint8_t *config = vdev->pdev.config;
    g_autofree VFIOExtCapChain *chain = g_new(VFIOExtCapChain, 1);
    uint16_t last = PCI_CONFIG_SPACE_SIZE;
    int i;

    if (!pci_is_express(&vdev->pdev)) {
        return;
    }
    vfio_ext_caps_parse(config, chain);
    if (chain->fault != VFIO_CAP_OK) {
        warn_report(VFIO_MSG_PREFIX "extended capability pointer 0x%03x %s: "
                    "the guest sees the chain up to there",
                    vdev->vbasedev.name, chain->bad_next,
                    vfio_cap_fault_str(chain->fault));
    }
    /* A capability's room holds no other header: order does not matter */
    vfio_emulate_zeros(vdev, PCI_CONFIG_SPACE_SIZE, 4);
    for (i = 0; i < chain->nr_caps; i++) {
        const VFIOExtCap *cap = &chain->caps[i];

        if (cap->hidden) {
            vfio_ext_cap_hide(vdev, cap);
            continue;
        }
        if (cap->pos != last) {
            pci_set_long(config + last, pci_get_long(config + last) |
                         PCI_EXT_CAP(0, 0, cap->pos));
        }
        pci_set_long(config + cap->pos, PCI_EXT_CAP(cap->id, cap->version, 0));
        vfio_emulate_config_range(vdev, cap->pos, 4);
        last = cap->pos;
        trace_vfio_ext_cap(vdev->vbasedev.name, cap->id, cap->version,
                           cap->pos, cap->size);
    }
}

/*
 * General setup
 */
/*
 * A capability passed through: its size is all the room up to the next
 * capability, which is exact enough for what QEMU emulates.
 */
static bool vfio_add_plain_cap(VFIOPCIDevice *vdev, const VFIOCap *cap,
                               Error **errp)
{
    return pci_add_capability(&vdev->pdev, cap->id, cap->pos, cap->size,
                              errp) >= 0;
}

static bool vfio_add_std_cap(VFIOPCIDevice *vdev, const VFIOCap *cap,
                             Error **errp)
{
    bool ok;

    switch (cap->id) {
    case PCI_CAP_ID_MSI:
        ok = vfio_msi_setup(vdev, cap->pos, errp);
        break;
    case PCI_CAP_ID_MSIX:
        ok = vfio_msix_setup(vdev, cap->pos, errp);
        break;
    case PCI_CAP_ID_PM:
        vdev->pm_cap = cap->pos;
        ok = vfio_add_plain_cap(vdev, cap, errp);
        break;
    case PCI_CAP_ID_EXP:
        vfio_pcie_cap_fixup(vdev, cap);
        ok = vfio_add_plain_cap(vdev, cap, errp);
        break;
    default:
        ok = vfio_add_plain_cap(vdev, cap, errp);
        break;
    }

    if (!ok) {
        error_prepend(errp, "failed to add PCI capability 0x%x[0x%x]@0x%x: ",
                      cap->id, cap->size, cap->pos);
    }
    return ok;
}

/* What was wrong with the device's chain, and what the guest won't see. */
static void vfio_report_cap_problems(VFIOPCIDevice *vdev)
{
    int i;

    for (i = 0; i < vdev->caps.nr_problems; i++) {
        const VFIOCapProblem *p = &vdev->caps.problems[i];
        const char *why = vfio_cap_fault_str(p->fault);

        if (p->fault == VFIO_CAP_BAD_POINTER || p->fault == VFIO_CAP_LOOP) {
            warn_report(VFIO_MSG_PREFIX "capability pointer 0x%02x %s: the "
                        "guest sees the chain up to there",
                        vdev->vbasedev.name, p->pos, why);
        } else {
            warn_report(VFIO_MSG_PREFIX "capability 0x%02x at 0x%02x %s: "
                        "hidden from the guest", vdev->vbasedev.name, p->id,
                        p->pos, why);
        }
    }
}

/*
 * The guest walks the chain we rebuild from the parsed one, never the
 * device's own pointers: they are emulated, so a capability we hide is
 * gone and a device whose chain loops cannot make the guest loop.
 */
static bool vfio_add_capabilities(VFIOPCIDevice *vdev, Error **errp)
{
    PCIDevice *pdev = &vdev->pdev;
    int i;

    vfio_report_cap_problems(vdev);
    pdev->config[PCI_CAPABILITY_LIST] = 0;
    pdev->config[PCI_STATUS] &= ~PCI_STATUS_CAP_LIST;
    vfio_emulate_config_range(vdev, PCI_CAPABILITY_LIST, 1);
    vdev->emulated_config_bits[PCI_STATUS] |= PCI_STATUS_CAP_LIST;

    /* pci_add_capability() puts each at the head: add them last first */
    for (i = vdev->caps.nr_caps - 1; i >= 0; i--) {
        const VFIOCap *cap = &vdev->caps.caps[i];

        if (!vfio_add_std_cap(vdev, cap, errp)) {
            return false;
        }
        vfio_emulate_config_range(vdev, cap->pos, PCI_CAP_FLAGS);
    }
    vfio_add_ext_capabilities(vdev);
    return true;
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

    memory_region_init_rom(&pdev->rom, OBJECT(vdev), "vfio-pci.rom",
                           vdev->rom_size, errp);
    if (*errp) {
        return false;
    }
    ptr = memory_region_get_ram_ptr(&pdev->rom);
    memset(ptr, 0xff, vdev->rom_size);

    if (!vfio_rom_read(vdev, ptr, errp)) {
        vmstate_unregister_ram(&pdev->rom, DEVICE(vdev));
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

static bool vfio_populate_device(VFIOPCIDevice *vdev, Error **errp)
{
    VFIODevice *vbasedev = &vdev->vbasedev;
    struct vfio_region_info info;
    int i;

    for (i = VFIO_PCI_BAR0_REGION_INDEX; i < VFIO_PCI_ROM_REGION_INDEX; i++) {
        g_autofree struct vfio_region_info *bar_info =
            vfio_get_region_info_caps(vbasedev, i, errp);

        if (!bar_info) {
            return false;
        }
        vdev->bars[i].vdev = vdev;
        vdev->bars[i].nr = i;
        vdev->bars[i].flags = bar_info->flags;
        vdev->bars[i].size = bar_info->size;
        vdev->bars[i].fd_offset = bar_info->offset;
        vfio_bar_read_caps(&vdev->bars[i], bar_info);
    }

    if (!vfio_get_region_info(vbasedev, VFIO_PCI_ROM_REGION_INDEX, &info,
                              errp)) {
        return false;
    }
    vfio_set_rom_info(vdev, &info);

    if (!vfio_get_region_info(vbasedev, VFIO_PCI_CONFIG_REGION_INDEX, &info,
                              errp)) {
        return false;
    }
    vdev->config_size = info.size;
    vdev->config_offset = info.offset;
    vfio_pcie_config_size(vdev);
    if (vdev->config_size < pci_config_size(&vdev->pdev)) {
        error_setg(errp, "config space of %u bytes is too small",
                   vdev->config_size);
        return false;
    }
    return true;
}

/* Our copy of config space, with the host's resource addresses cleared. */
static bool vfio_read_config_space(VFIOPCIDevice *vdev, Error **errp)
{
    PCIDevice *pdev = &vdev->pdev;
    size_t size = pci_config_size(pdev);

    if (pread(vdev->vbasedev.fd, pdev->config, size,
              vdev->config_offset) != size) {
        error_setg_errno(errp, errno, "failed to read device config space");
        return false;
    }

    /*
     * Clear host resource mapping info.  If we choose not to register a
     * BAR, such as might be the case with the option ROM, we can get
     * confusing, unwritable, residual addresses from the host here.
     */
    memset(&pdev->config[PCI_BASE_ADDRESS_0], 0, 24);
    memset(&pdev->config[PCI_ROM_ADDRESS], 0, 4);
    vfio_std_caps_parse(pdev->config, &vdev->caps);
    vfio_emulate_config_range(vdev, PCI_BASE_ADDRESS_0, 24);
    vfio_emulate_config_range(vdev, PCI_ROM_ADDRESS, 4);

    /* Multifunction bit is virtualized in QEMU */
    vdev->emulated_config_bits[PCI_HEADER_TYPE] =
        PCI_HEADER_TYPE_MULTI_FUNCTION;
    if (pdev->cap_present & QEMU_PCI_CAP_MULTIFUNCTION) {
        pdev->config[PCI_HEADER_TYPE] |= PCI_HEADER_TYPE_MULTI_FUNCTION;
    } else {
        pdev->config[PCI_HEADER_TYPE] &= ~PCI_HEADER_TYPE_MULTI_FUNCTION;
    }
    return true;
}

/*
 * Realize and exit
 */
static bool vfio_check_host(VFIOPCIDevice *vdev, int *groupid, Error **errp)
{
    const char *name = vdev->vbasedev.name;
    g_autofree char *sysfs = g_strdup_printf("/sys/bus/pci/devices/%s", name);
    g_autofree char *group_link = g_strdup_printf("%s/iommu_group", sysfs);
    g_autofree char *group_path = NULL;
    g_autofree char *group_name = NULL;

    if (!g_file_test(sysfs, G_FILE_TEST_IS_DIR)) {
        error_setg(errp, "host device %s does not exist", name);
        error_append_hint(errp, "Check the address with lspci -D; %s is "
                          "missing.\n", sysfs);
        return false;
    }

    group_path = g_file_read_link(group_link, NULL);
    if (!group_path) {
        error_setg(errp, "host device %s is in no IOMMU group", name);
        error_append_hint(errp, "Enable the IOMMU on the host kernel command "
                          "line (intel_iommu=on or amd_iommu=on).\n");
        return false;
    }

    group_name = g_path_get_basename(group_path);
    if (qemu_strtoi(group_name, NULL, 10, groupid)) {
        error_setg(errp, "cannot parse IOMMU group of %s from %s", name,
                   group_path);
        return false;
    }
    trace_vfio_check_host(name, *groupid);
    return true;
}

static bool vfio_attach_device(VFIOPCIDevice *vdev, Error **errp)
{
    VFIODevice *vbasedev = &vdev->vbasedev;
    VFIOGroup *group;
    int groupid;

    if (!vfio_check_host(vdev, &groupid, errp)) {
        return false;
    }

    group = vfio_get_group(groupid, errp);
    if (!group) {
        return false;
    }

    if (vfio_find_device(group, vbasedev->name)) {
        error_setg(errp, "host device %s is already assigned to this VM",
                   vbasedev->name);
        vfio_put_group(group);
        return false;
    }

    if (!vfio_get_device(group, vbasedev->name, vbasedev, errp)) {
        vfio_put_group(group);
        return false;
    }
    return true;
}

static void vfio_detach_device(VFIOPCIDevice *vdev)
{
    VFIOGroup *group = vdev->vbasedev.group;

    vfio_put_base_device(&vdev->vbasedev);
    vfio_put_group(group);
}

static bool vfio_check_options(VFIOPCIDevice *vdev, Error **errp)
{
    PCIHostDeviceAddress *host = &vdev->host;

    if (host->domain == ~0U) {
        error_setg(errp, "the 'host' property is required");
        error_append_hint(errp, "Name the host device to assign, e.g. "
                          "-device vfio-pci,host=0000:05:00.0\n");
        return false;
    }

    /* Guest DMA goes straight to guest RAM: no guest IOMMU can sit between */
    if (pci_device_iommu_address_space(&vdev->pdev) != &address_space_memory) {
        error_setg(errp, "assignment behind a guest IOMMU is not supported");
        return false;
    }

    vdev->vbasedev.name = g_strdup_printf("%04x:%02x:%02x.%01x",
                                          host->domain, host->bus,
                                          host->slot, host->function);
    return true;
}

static void vfio_realize(PCIDevice *pdev, Error **errp)
{
    ERRP_GUARD();
    VFIOPCIDevice *vdev = VFIO_PCI(pdev);

    if (!vfio_check_options(vdev, errp)) {
        return;
    }
    if (!vfio_attach_device(vdev, errp)) {
        goto error;
    }

    if (!vfio_populate_device(vdev, errp) ||
        !vfio_read_config_space(vdev, errp) ||
        !vfio_msix_early_setup(vdev, errp) ||
        !vfio_bars_setup(vdev, errp)) {
        goto detach_exit;
    }
    if (!vfio_add_capabilities(vdev, errp) ||
        !vfio_rom_load(vdev, errp) ||
        !vfio_setup_intx(vdev, errp)) {
        goto teardown_irqs_exit;
    }

    vfio_pci_reset_probe(vdev);
    vfio_notifiers_setup(vdev);
    vfio_decode_update(vdev);
    return;

teardown_irqs_exit:
    vfio_teardown_intx(vdev);
    vfio_teardown_msi(vdev);
detach_exit:
    vfio_bars_exit(vdev);       /* whatever BAR setup got to */
    vfio_detach_device(vdev);
error:
    error_prepend(errp, VFIO_MSG_PREFIX, vdev->vbasedev.name);
}

static void vfio_exitfn(PCIDevice *pdev)
{
    VFIOPCIDevice *vdev = VFIO_PCI(pdev);

    vfio_notifiers_teardown(vdev);
    vfio_disable_interrupts(vdev);
    vfio_teardown_intx(vdev);
    vfio_teardown_msi(vdev);
    vfio_bars_exit(vdev);
    vfio_detach_device(vdev);
}

static void vfio_instance_init(Object *obj)
{
    VFIOPCIDevice *vdev = VFIO_PCI(obj);

    /* Room for 4 KiB of config space; realize decides whether it shows */
    PCI_DEVICE(obj)->cap_present |= QEMU_PCI_CAP_EXPRESS;
    /* ~0 marks 'host' as unset: 0000:00:00.0 is a real address */
    vdev->host.domain = ~0U;
    vdev->vbasedev.fd = -1;
    device_add_bootindex_property(obj, &vdev->bootindex, "bootindex", NULL,
                                  DEVICE(obj));
}

static void vfio_instance_finalize(Object *obj)
{
    VFIOPCIDevice *vdev = VFIO_PCI(obj);

    vfio_bars_finalize(vdev);
    g_free(vdev->msix);
    g_free(vdev->vbasedev.name);
}

static Property vfio_pci_properties[] = {
    DEFINE_PROP_PCI_HOST_DEVADDR("host", VFIOPCIDevice, host),
    DEFINE_PROP_BOOL("x-no-mmap", VFIOPCIDevice, no_mmap, false),
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
    DEFINE_PROP_END_OF_LIST(),
};

/* The device's state lives in the host: it cannot migrate. */
static const VMStateDescription vfio_pci_vmstate = {
    .name = "vfio-pci",
    .unmigratable = 1,
};

static void vfio_pci_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    ResettableClass *rc = RESETTABLE_CLASS(klass);
    PCIDeviceClass *pdc = PCI_DEVICE_CLASS(klass);

    rc->phases.enter = vfio_pci_reset_enter;
    rc->phases.hold = vfio_pci_reset_hold;
    dc->vmsd = &vfio_pci_vmstate;
    dc->desc = "VFIO-based PCI device assignment";
    device_class_set_props(dc, vfio_pci_properties);
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

static void vfio_pci_register_types(void)
{
    type_register_static(&vfio_pci_info);
}

type_init(vfio_pci_register_types)
