/*
 * vfio based device assignment support - legacy VGA
 *
 * With x-vga=on, the legacy VGA ranges of a VGA-class device (memory
 * 0xa0000-0xbffff, I/O 0x3b0-0x3bb and 0x3c0-0x3df) reach the host device
 * through the kernel's VGA region, on a slow path.  Firmware, the GPU's own
 * VGA BIOS and text-mode consoles drive a GPU through them before its own
 * driver loads.  The kernel's VGA region is addressed by the legacy
 * addresses themselves: offset 0x3c0 of the region is I/O port 0x3c0.
 *
 * This work is licensed under the terms of the GNU GPL, version 2.  See
 * the COPYING file in the top-level directory.
 *
 * SPDX-License-Identifier: GPL-2.0-only
 */

#include "qemu/osdep.h"

#include "hw/pci/pci_bus.h"
#include "hw/vfio/pci-device.h"
#include "qapi/error.h"
#include "trace.h"

typedef struct VFIOVGARange {
    struct VFIOVGA *vga;
    hwaddr base;                  /* legacy address, and region offset */
    MemoryRegion mem;
} VFIOVGARange;

struct VFIOVGA {
    VFIOPCIDevice *vdev;
    off_t fd_offset;              /* of the VGA region within the device fd */
    bool registered;              /* with the PCI core (pci_register_vga) */
    VFIOVGARange ranges[QEMU_PCI_VGA_NUM_REGIONS];
};

static const struct {
    const char *name;
    hwaddr base;
    uint64_t size;
} vfio_vga_layout[QEMU_PCI_VGA_NUM_REGIONS] = {
    [QEMU_PCI_VGA_MEM] = { "mem", QEMU_PCI_VGA_MEM_BASE,
                           QEMU_PCI_VGA_MEM_SIZE },
    [QEMU_PCI_VGA_IO_LO] = { "io-lo", QEMU_PCI_VGA_IO_LO_BASE,
                             QEMU_PCI_VGA_IO_LO_SIZE },
    [QEMU_PCI_VGA_IO_HI] = { "io-hi", QEMU_PCI_VGA_IO_HI_BASE,
                             QEMU_PCI_VGA_IO_HI_SIZE },
};

/*
 * The slow path, through the device fd.  A guest may touch the ranges
 * after the unplug too: the fd is gone then, and the access fails.
 */
static void vfio_vga_write(void *opaque, hwaddr addr, uint64_t data,
                           unsigned size)
{
    VFIOVGARange *range = opaque;
    VFIOVGA *vga = range->vga;

    vfio_slow_path_write(vga->vdev, vga->fd_offset + range->base + addr, data,
                         size, VFIO_REPORT_VGA_ACCESS, "legacy VGA", -1,
                         range->base + addr);
    trace_vfio_vga_write(range->base + addr, data, size);
}

static uint64_t vfio_vga_read(void *opaque, hwaddr addr, unsigned size)
{
    VFIOVGARange *range = opaque;
    VFIOVGA *vga = range->vga;
    uint64_t data;

    if (vfio_slow_path_read(vga->vdev, vga->fd_offset + range->base + addr,
                            size, &data, VFIO_REPORT_VGA_ACCESS, "legacy VGA",
                            -1, range->base + addr)) {
        trace_vfio_vga_read(range->base + addr, data, size);
    }
    return data;
}

/* The kernel moves at most 4 bytes per access of its VGA region. */
static const MemoryRegionOps vfio_vga_ops = {
    .read = vfio_vga_read,
    .write = vfio_vga_write,
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

/* What already decodes the legacy VGA memory on @bus, or NULL. */
static char *vfio_vga_bus_claimant(PCIBus *bus, PCIDevice *self)
{
    MemoryRegion *sub;
    PCIDevice *dev;
    int devfn;

    QTAILQ_FOREACH(sub, &bus->address_space_mem->subregions,
                   subregions_link) {
        Object *owner = memory_region_owner(sub);

        if (owner && sub->enabled && !sub->alias &&
            sub->addr < QEMU_PCI_VGA_MEM_BASE + QEMU_PCI_VGA_MEM_SIZE &&
            sub->addr + memory_region_size(sub) > QEMU_PCI_VGA_MEM_BASE) {
            return g_strdup_printf("%s (%s)", object_get_typename(owner),
                                   memory_region_name(sub));
        }
    }
    for (devfn = 0; devfn < ARRAY_SIZE(bus->devices); devfn++) {
        dev = bus->devices[devfn];
        if (dev && dev != self && dev->has_vga) {
            return g_strdup_printf("%s at %02x.%x", object_get_typename(
                                   OBJECT(dev)), PCI_SLOT(devfn),
                                   PCI_FUNC(devfn));
        }
    }
    return NULL;
}

typedef struct VFIOVGAClaim {
    PCIDevice *self;
    char *claimant;
} VFIOVGAClaim;

static void vfio_vga_claim_walk(PCIBus *bus, void *opaque)
{
    VFIOVGAClaim *claim = opaque;

    if (!claim->claimant) {
        claim->claimant = vfio_vga_bus_claimant(bus, claim->self);
    }
}

/*
 * Legacy VGA has one owner per VM: an emulated VGA decodes it always, an
 * assigned one with x-vga once the guest enables it.
 */
static char *vfio_vga_claimant(PCIDevice *pdev)
{
    VFIOVGAClaim claim = { .self = pdev };

    pci_for_each_bus(pci_device_root_bus(pdev), vfio_vga_claim_walk, &claim);
    return claim.claimant;
}

static bool vfio_vga_check_host(VFIOPCIDevice *vdev,
                                struct vfio_region_info *info, Error **errp)
{
    uint16_t class = pci_get_word(vdev->pdev.config + PCI_CLASS_DEVICE);

    if (class != PCI_CLASS_DISPLAY_VGA) {
        error_setg(errp, "x-vga=on needs a VGA-class device (class 0x%04x); "
                   "this one is of class 0x%04x", PCI_CLASS_DISPLAY_VGA,
                   class);
        return false;
    }
    if (vdev->vbasedev.num_regions <= VFIO_PCI_VGA_REGION_INDEX ||
        !vfio_get_region_info(&vdev->vbasedev, VFIO_PCI_VGA_REGION_INDEX,
                              info, NULL) || !info->size) {
        error_setg(errp, "x-vga=on: the host offers no VGA region for this "
                   "device");
        error_append_hint(errp, "The host kernel needs CONFIG_VFIO_PCI_VGA, "
                          "and vfio-pci must not be loaded with "
                          "disable_vga=1.\n");
        return false;
    }
    if (info->size < QEMU_PCI_VGA_MEM_BASE + QEMU_PCI_VGA_MEM_SIZE ||
        (info->flags & (VFIO_REGION_INFO_FLAG_READ |
                        VFIO_REGION_INFO_FLAG_WRITE)) !=
        (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE)) {
        error_setg(errp, "x-vga=on: the host's VGA region (0x%" PRIx64
                   " bytes, flags 0x%x) does not cover the legacy ranges "
                   "read-write", (uint64_t)info->size, info->flags);
        return false;
    }
    return true;
}

bool vfio_vga_setup(VFIOPCIDevice *vdev, Error **errp)
{
    struct vfio_region_info info = { 0 };
    g_autofree char *claimant = NULL;
    VFIOVGA *vga;
    int i;

    if (!vdev->vga_wanted) {
        return true;
    }
    if (!vfio_vga_check_host(vdev, &info, errp)) {
        return false;
    }
    claimant = vfio_vga_claimant(&vdev->pdev);
    if (claimant) {
        error_setg(errp, "x-vga=on: legacy VGA is already claimed by %s",
                   claimant);
        error_append_hint(errp, "A VM has one legacy VGA: give it no other "
                          "(-vga none, or no second x-vga=on).\n");
        return false;
    }

    vga = g_new0(VFIOVGA, 1);
    vga->vdev = vdev;
    vga->fd_offset = info.offset;
    for (i = 0; i < QEMU_PCI_VGA_NUM_REGIONS; i++) {
        g_autofree char *name = g_strdup_printf("%s VGA %s",
                                                vdev->vbasedev.name,
                                                vfio_vga_layout[i].name);

        vga->ranges[i].vga = vga;
        vga->ranges[i].base = vfio_vga_layout[i].base;
        memory_region_init_io(&vga->ranges[i].mem, OBJECT(vdev),
                              &vfio_vga_ops, &vga->ranges[i], name,
                              vfio_vga_layout[i].size);
    }
    pci_register_vga(&vdev->pdev, &vga->ranges[QEMU_PCI_VGA_MEM].mem,
                     &vga->ranges[QEMU_PCI_VGA_IO_LO].mem,
                     &vga->ranges[QEMU_PCI_VGA_IO_HI].mem);
    vga->registered = true;
    vdev->vga = vga;
    trace_vfio_vga_setup(vdev->vbasedev.name, (uint64_t)info.offset);
    return true;
}

/* The ranges leave the guest's address spaces; late readers see ~0. */
void vfio_vga_exit(VFIOPCIDevice *vdev)
{
    if (vdev->vga && vdev->vga->registered) {
        pci_unregister_vga(&vdev->pdev);
        vdev->vga->registered = false;
    }
}

void vfio_vga_finalize(VFIOPCIDevice *vdev)
{
    int i;

    if (!vdev->vga) {
        return;
    }
    for (i = 0; i < QEMU_PCI_VGA_NUM_REGIONS; i++) {
        object_unparent(OBJECT(&vdev->vga->ranges[i].mem));
    }
    g_clear_pointer(&vdev->vga, g_free);
}

/* Ports 0x3c0-0x3df, where quirks.c lays its windows, or NULL. */
MemoryRegion *vfio_vga_io_hi(VFIOPCIDevice *vdev)
{
    return vdev->vga ? &vdev->vga->ranges[QEMU_PCI_VGA_IO_HI].mem : NULL;
}
