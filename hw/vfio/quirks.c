/*
 * vfio based device assignment support - device quirks
 *
 * What some devices need beyond plain assignment: most are backdoors into
 * PCI config space that a GPU's driver or VGA BIOS uses instead of config
 * cycles (a mirror in a BAR, an address/data register pair), and those
 * must reach QEMU's emulated config space (its BARs, its MSI capability,
 * the IDs the guest sees), never the host's.  Each quirk is an entry of
 * vfio_quirks[], chosen by the vendor and device IDs the guest sees
 * (x-pci-vendor-id and friends included), and traced armed or not with
 * the reason.  The register facts are the public ones: the Linux drivers
 * (nouveau, radeon, r8169, cxgb4vf, vmd) and the vendors' documentation.
 *
 * This work is licensed under the terms of the GNU GPL, version 2.  See
 * the COPYING file in the top-level directory.
 *
 * SPDX-License-Identifier: GPL-2.0-only
 */

#include "qemu/osdep.h"
#include <sys/ioctl.h>

#include "exec/memory.h"
#include "hw/pci/msix.h"
#include "hw/vfio/pci-device.h"
#include "qapi/error.h"
#include "qemu/bitops.h"
#include "qemu/error-report.h"
#include "qemu/main-loop.h"
#include "qemu/units.h"
#include "trace.h"

#define VFIO_VENDOR_NVIDIA      0x10de
#define VFIO_VENDOR_ATI         0x1002
#define VFIO_VENDOR_REALTEK     0x10ec
#define VFIO_VENDOR_CHELSIO     0x1425
#define VFIO_VENDOR_INTEL       0x8086

/*
 * A window that QEMU answers on top of @parent (a BAR's or a legacy VGA
 * range's slow path); what the quirk does not take goes on to @parent.
 */
/*
 * A write the guest repeats (same address, size and data) that an eventfd
 * takes instead of the quirk's handler: KVM's ioeventfd, or QEMU's own
 * under TCG, signals it, and the kernel's vfio ioeventfd (or QEMU's
 * handler, without one) writes the data to the BAR.
 */
typedef struct VFIOIoeventfd {
    QLIST_ENTRY(VFIOIoeventfd) next;
    struct VFIOQuirk *q;
    hwaddr addr;                  /* within the window */
    unsigned size;
    uint64_t data;
    EventNotifier e;
    bool vfio;                    /* the kernel does the write */
} VFIOIoeventfd;

/* Identical writes in a row before an eventfd takes them */
#define VFIO_IOEVENTFD_HITS     10

struct VFIOQuirk {
    QLIST_ENTRY(VFIOQuirk) next;
    VFIOPCIDevice *vdev;
    const char *name;
    MemoryRegion *parent;
    hwaddr base;                  /* of the window, within @parent */
    MemoryRegion mem;
    VFIOBAR *bar;                 /* @parent's, if it is a BAR's */
    bool msi_ack;                 /* NVIDIA: MSI header writes reach the GPU */
    hwaddr last_addr;             /* the write the guest repeats, */
    uint64_t last_data;
    unsigned last_size;
    int hits;                     /* and how often in a row */
    QLIST_HEAD(, VFIOIoeventfd) ioeventfds;
    /* an address/data register pair's state */
    uint32_t master;              /* NVIDIA BAR5: both bit 0s open it */
    uint32_t enable;
    uint32_t addr;                /* where the data register points */
    uint32_t data;                /* RTL8168: the write data, latched */
    int state;
};

/* A window's accesses: 1 to 4 bytes, as config space and I/O ports have */
#define VFIO_QUIRK_OPS(rd, wr) {                                    \
    .read = (rd),                                                   \
    .write = (wr),                                                  \
    .endianness = DEVICE_LITTLE_ENDIAN,                             \
    .valid = { .min_access_size = 1, .max_access_size = 4 },        \
    .impl = { .min_access_size = 1, .max_access_size = 4 },         \
}

/* A config space mirror: config offset 0 sits at @base of the space. */
typedef struct VFIOConfigMirror {
    hwaddr base;
    hwaddr size;                  /* at most: never past config space */
} VFIOConfigMirror;

#define VFIO_NV_MIRROR          0x88000 /* the PCI Express config space */
#define VFIO_NV_MIRROR_PCI      0x1800  /* the PCI one, of older chips */
#define VFIO_ATI_MIRROR         0x4000

static const VFIOConfigMirror vfio_nvidia_mirrors[] = {
    { VFIO_NV_MIRROR, 4 * KiB },
    { VFIO_NV_MIRROR_PCI, 256 },
};

static const VFIOConfigMirror vfio_ati_mirror = { VFIO_ATI_MIRROR, 4 * KiB };

static uint16_t vfio_guest_vendor(VFIOPCIDevice *vdev)
{
    return pci_get_word(vdev->pdev.config + PCI_VENDOR_ID);
}

static uint16_t vfio_guest_device(VFIOPCIDevice *vdev)
{
    return pci_get_word(vdev->pdev.config + PCI_DEVICE_ID);
}

/*
 * Passing an access on.  The regions under a window (the BAR's slow path,
 * the VGA range's, the MSI-X table) belong to the same device, whose
 * re-entrancy guard would refuse a second dispatch: their own handlers
 * take the access, at sizes they all implement.
 */
static uint64_t vfio_region_read(MemoryRegion *mr, hwaddr addr,
                                 unsigned size)
{
    return mr->ops->read(mr->opaque, addr, size);
}

static void vfio_region_write(MemoryRegion *mr, hwaddr addr, uint64_t val,
                              unsigned size)
{
    mr->ops->write(mr->opaque, addr, val, size);
}

static uint64_t vfio_quirk_pass_read(VFIOQuirk *q, hwaddr addr,
                                     unsigned size)
{
    return vfio_region_read(q->parent, q->base + addr, size);
}

static void vfio_quirk_pass_write(VFIOQuirk *q, hwaddr addr, uint64_t val,
                                  unsigned size)
{
    vfio_region_write(q->parent, q->base + addr, val, size);
}

/* @addr of a mirror at @m: true, with the config offset, when inside. */
static bool vfio_mirror_hit(VFIOQuirk *q, const VFIOConfigMirror *m,
                            uint64_t addr, unsigned size, uint32_t *off)
{
    uint64_t end = MIN(m->size, pci_config_size(&q->vdev->pdev));

    if (addr < m->base || addr - m->base + size > end) {
        return false;
    }
    *off = addr - m->base;
    return true;
}

static uint32_t vfio_quirk_config_read(VFIOQuirk *q, uint32_t off,
                                       unsigned size)
{
    uint32_t val = vfio_pci_read_config(&q->vdev->pdev, off, size);

    trace_vfio_quirk_config_read(q->vdev->vbasedev.name, q->name, off, val,
                                 size);
    return val;
}

static void vfio_quirk_config_write(VFIOQuirk *q, uint32_t off, uint32_t val,
                                    unsigned size)
{
    trace_vfio_quirk_config_write(q->vdev->vbasedev.name, q->name, off, val,
                                  size);
    vfio_pci_write_config(&q->vdev->pdev, off, val, size);
}

/*
 * Config space mirrors in a BAR (NVIDIA BAR0, ATI BAR2)
 */
static uint64_t vfio_mirror_read(void *opaque, hwaddr addr, unsigned size)
{
    VFIOQuirk *q = opaque;

    /* The device sees the read too, as it would a config cycle's */
    vfio_quirk_pass_read(q, addr, size);
    return vfio_quirk_config_read(q, addr, size);
}

/*
 * ioeventfds
 */
static void vfio_ioeventfd_handler(void *opaque)
{
    VFIOIoeventfd *ev = opaque;

    if (event_notifier_test_and_clear(&ev->e)) {
        vfio_quirk_pass_write(ev->q, ev->addr, ev->data, ev->size);
    }
}

/* Asks the kernel to do the write itself when the eventfd fires. */
static bool vfio_ioeventfd_kernel(VFIOIoeventfd *ev, int fd)
{
    VFIOQuirk *q = ev->q;
    struct vfio_device_ioeventfd io = {
        .argsz = sizeof(io),
        .flags = ev->size,        /* IOEVENTFD_8/16/32/64 are 1/2/4/8 */
        .offset = q->bar->fd_offset + q->base + ev->addr,
        .data = ev->data,
        .fd = fd,
    };

    return !ioctl(q->vdev->vbasedev.fd, VFIO_DEVICE_IOEVENTFD, &io);
}

static void vfio_ioeventfd_add(VFIOQuirk *q, hwaddr addr, uint64_t data,
                               unsigned size)
{
    VFIOPCIDevice *vdev = q->vdev;
    VFIOIoeventfd *ev;

    if (vdev->no_kvm_ioeventfd || !q->bar) {
        return;
    }
    ev = g_new0(VFIOIoeventfd, 1);
    ev->q = q;
    ev->addr = addr;
    ev->size = size;
    ev->data = data;
    if (event_notifier_init(&ev->e, 0) < 0) {
        g_free(ev);
        return;
    }
    ev->vfio = !vdev->no_vfio_ioeventfd &&
               vfio_ioeventfd_kernel(ev, event_notifier_get_fd(&ev->e));
    if (!ev->vfio) {
        qemu_set_fd_handler(event_notifier_get_fd(&ev->e),
                            vfio_ioeventfd_handler, NULL, ev);
    }
    memory_region_add_eventfd(&q->mem, addr, size, true, data, &ev->e);
    QLIST_INSERT_HEAD(&q->ioeventfds, ev, next);
    trace_vfio_ioeventfd(vdev->vbasedev.name, q->name, addr, size, data,
                         ev->vfio);
}

static void vfio_ioeventfd_del(VFIOIoeventfd *ev)
{
    VFIOQuirk *q = ev->q;

    memory_region_del_eventfd(&q->mem, ev->addr, ev->size, true, ev->data,
                              &ev->e);
    if (ev->vfio) {
        vfio_ioeventfd_kernel(ev, -1);
    } else {
        qemu_set_fd_handler(event_notifier_get_fd(&ev->e), NULL, NULL, NULL);
    }
    event_notifier_cleanup(&ev->e);
    QLIST_REMOVE(ev, next);
    g_free(ev);
}

/* Counts @q's identical writes in a row; the tenth gets an eventfd. */
static void vfio_quirk_hot_write(VFIOQuirk *q, hwaddr addr, uint64_t data,
                                 unsigned size)
{
    if (addr == q->last_addr && data == q->last_data &&
        size == q->last_size) {
        if (++q->hits == VFIO_IOEVENTFD_HITS) {
            vfio_ioeventfd_add(q, addr, data, size);
        }
        return;
    }
    q->last_addr = addr;
    q->last_data = data;
    q->last_size = size;
    q->hits = 1;
}

/*
 * NVIDIA's driver acknowledges an MSI by writing the MSI capability's
 * header (ID and next pointer, read-only in config space) through the
 * mirror: that write must reach the GPU, every interrupt.
 */
static bool vfio_hits_msi_header(VFIOQuirk *q, hwaddr addr, unsigned size)
{
    uint8_t msi = q->vdev->pdev.msi_cap;

    return msi && addr < msi + 2 && addr + size > msi;
}

static void vfio_mirror_write(void *opaque, hwaddr addr, uint64_t val,
                              unsigned size)
{
    VFIOQuirk *q = opaque;

    vfio_quirk_config_write(q, addr, val, size);
    if (q->msi_ack && vfio_hits_msi_header(q, addr, size)) {
        vfio_quirk_pass_write(q, addr, val, size);
        vfio_quirk_hot_write(q, addr, val, size);
    }
}

static const MemoryRegionOps vfio_mirror_ops =
    VFIO_QUIRK_OPS(vfio_mirror_read, vfio_mirror_write);

/*
 * Windows: an address register and a data register
 */
/* NVIDIA BAR5 (I/O): master 0x0, enable 0x4, address 0x8, data 0xc */
#define VFIO_NV_BAR5_MASTER     0x0
#define VFIO_NV_BAR5_ENABLE     0x4
#define VFIO_NV_BAR5_ADDR       0x8
#define VFIO_NV_BAR5_DATA       0xc

static bool vfio_nvidia_window_hit(VFIOQuirk *q, unsigned size,
                                   uint32_t *off)
{
    int i;

    for (i = 0; i < ARRAY_SIZE(vfio_nvidia_mirrors); i++) {
        if (vfio_mirror_hit(q, &vfio_nvidia_mirrors[i], q->addr, size, off)) {
            return true;
        }
    }
    return false;
}

static bool vfio_nv_bar5_open(VFIOQuirk *q, hwaddr addr, unsigned size,
                              uint32_t *off)
{
    return addr == VFIO_NV_BAR5_DATA && (q->master & q->enable & 1) &&
           vfio_nvidia_window_hit(q, size, off);
}

static uint64_t vfio_nv_bar5_read(void *opaque, hwaddr addr, unsigned size)
{
    VFIOQuirk *q = opaque;
    uint32_t off;

    if (vfio_nv_bar5_open(q, addr, size, &off)) {
        return vfio_quirk_config_read(q, off, size);
    }
    return vfio_quirk_pass_read(q, addr, size);
}

static void vfio_nv_bar5_write(void *opaque, hwaddr addr, uint64_t val,
                               unsigned size)
{
    VFIOQuirk *q = opaque;
    uint32_t off;

    if (vfio_nv_bar5_open(q, addr, size, &off)) {
        vfio_quirk_config_write(q, off, val, size);
        return;
    }
    if (size == 4) {
        switch (addr) {
        case VFIO_NV_BAR5_MASTER:
            q->master = val;
            break;
        case VFIO_NV_BAR5_ENABLE:
            q->enable = val;
            break;
        case VFIO_NV_BAR5_ADDR:
            q->addr = val;
            break;
        }
    }
    vfio_quirk_pass_write(q, addr, val, size);
}

static const MemoryRegionOps vfio_nv_bar5_ops =
    VFIO_QUIRK_OPS(vfio_nv_bar5_read, vfio_nv_bar5_write);

/* ATI BAR4 (I/O): the index register at 0x0, the data register at 0x4 */
static uint64_t vfio_ati_bar4_read(void *opaque, hwaddr addr, unsigned size)
{
    VFIOQuirk *q = opaque;
    uint32_t off;

    if (addr == 4 && vfio_mirror_hit(q, &vfio_ati_mirror, q->addr, size,
                                     &off)) {
        return vfio_quirk_config_read(q, off, size);
    }
    return vfio_quirk_pass_read(q, addr, size);
}

static void vfio_ati_bar4_write(void *opaque, hwaddr addr, uint64_t val,
                                unsigned size)
{
    VFIOQuirk *q = opaque;
    uint32_t off;

    if (addr == 4 && vfio_mirror_hit(q, &vfio_ati_mirror, q->addr, size,
                                     &off)) {
        vfio_quirk_config_write(q, off, val, size);
        return;
    }
    if (addr == 0 && size == 4) {
        q->addr = val;
    }
    vfio_quirk_pass_write(q, addr, val, size);
}

static const MemoryRegionOps vfio_ati_bar4_ops =
    VFIO_QUIRK_OPS(vfio_ati_bar4_read, vfio_ati_bar4_write);

/*
 * NVIDIA's VGA window at ports 0x3d0 (data) and 0x3d4 (select): 0x338 at
 * 0x3d4 selects it, the next write to 0x3d0 is the address, then 0x538
 * (write) or 0x338 (read) at 0x3d4 says what the next 0x3d0 access does.
 */
enum { NV_3D0_NONE, NV_3D0_SELECT, NV_3D0_WINDOW, NV_3D0_READ, NV_3D0_WRITE };

#define VFIO_NV_3D0_DATA        0x0     /* of the window, at port 0x3d0 */
#define VFIO_NV_3D0_SELECT      0x4

static uint64_t vfio_nv_3d0_read(void *opaque, hwaddr addr, unsigned size)
{
    VFIOQuirk *q = opaque;
    int state = q->state;
    uint32_t off;

    q->state = NV_3D0_NONE;
    if (addr == VFIO_NV_3D0_DATA && state == NV_3D0_READ &&
        vfio_nvidia_window_hit(q, size, &off)) {
        return vfio_quirk_config_read(q, off, size);
    }
    return vfio_quirk_pass_read(q, addr, size);
}

static void vfio_nv_3d0_write(void *opaque, hwaddr addr, uint64_t val,
                              unsigned size)
{
    VFIOQuirk *q = opaque;
    int state = q->state;
    uint32_t off;

    q->state = NV_3D0_NONE;
    if (addr == VFIO_NV_3D0_SELECT) {
        if (val == 0x338) {
            q->state = state == NV_3D0_WINDOW ? NV_3D0_READ : NV_3D0_SELECT;
        } else if (val == 0x538 && state == NV_3D0_WINDOW) {
            q->state = NV_3D0_WRITE;
        }
    } else if (addr == VFIO_NV_3D0_DATA) {
        if (state == NV_3D0_SELECT) {
            q->addr = val;
            q->state = NV_3D0_WINDOW;
        } else if (state == NV_3D0_WRITE &&
                   vfio_nvidia_window_hit(q, size, &off)) {
            vfio_quirk_config_write(q, off, val, size);
            return;
        }
    }
    vfio_quirk_pass_write(q, addr, val, size);
}

static const MemoryRegionOps vfio_nv_3d0_ops =
    VFIO_QUIRK_OPS(vfio_nv_3d0_read, vfio_nv_3d0_write);

/*
 * ATI's VGA BIOS reads port 0x3c3 to find its I/O BAR: the byte is bits
 * 15:8 of BAR4's address, which must be the guest's.
 */
static uint64_t vfio_ati_3c3_read(void *opaque, hwaddr addr, unsigned size)
{
    VFIOQuirk *q = opaque;
    uint32_t bar4 = pci_get_long(q->vdev->pdev.config + PCI_BASE_ADDRESS_4);

    trace_vfio_quirk_config_read(q->vdev->vbasedev.name, q->name,
                                 PCI_BASE_ADDRESS_4 + 1, (bar4 >> 8) & 0xff,
                                 1);
    return (bar4 >> 8) & 0xff;
}

static void vfio_ati_3c3_write(void *opaque, hwaddr addr, uint64_t val,
                               unsigned size)
{
    vfio_quirk_pass_write(opaque, addr, val, size);
}

static const MemoryRegionOps vfio_ati_3c3_ops = {
    .read = vfio_ati_3c3_read,
    .write = vfio_ati_3c3_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = { .min_access_size = 1, .max_access_size = 1 },
};

/*
 * The RTL8168's ERI registers in BAR2: data at 0x70, address and command
 * at 0x74.  Type 1 (bits 16 and up) addresses the MSI-X table, offset in
 * bits 11:0; bit 31 on a write means "write", and on a read says "done".
 * The r8169 driver reaches the table this way: it must be QEMU's.
 */
#define VFIO_RTL_ERIDR          0x0     /* of the window, at BAR2 0x70 */
#define VFIO_RTL_ERIAR          0x4
#define VFIO_RTL_ERIAR_FLAG     BIT(31)
enum { RTL_IDLE, RTL_READ };

static bool vfio_rtl_is_msix(uint32_t eriar)
{
    return extract32(eriar, 16, 15) == 1;
}

static uint64_t vfio_rtl_read(void *opaque, hwaddr addr, unsigned size)
{
    VFIOQuirk *q = opaque;
    uint64_t val;

    if (q->state != RTL_READ || size != 4) {
        return vfio_quirk_pass_read(q, addr, size);
    }
    if (addr == VFIO_RTL_ERIAR) {
        return q->addr | VFIO_RTL_ERIAR_FLAG;
    }
    q->state = RTL_IDLE;
    val = vfio_region_read(&q->vdev->pdev.msix_table_mmio, q->addr & 0xfff,
                           4);
    trace_vfio_quirk_msix_access(q->vdev->vbasedev.name, q->name,
                                 q->addr & 0xfff, val, false);
    return val;
}

static void vfio_rtl_write(void *opaque, hwaddr addr, uint64_t val,
                           unsigned size)
{
    VFIOQuirk *q = opaque;

    if (size == 4 && addr == VFIO_RTL_ERIDR) {
        q->data = val;
    } else if (size == 4 && addr == VFIO_RTL_ERIAR && vfio_rtl_is_msix(val)) {
        q->addr = val & ~VFIO_RTL_ERIAR_FLAG;
        q->state = RTL_IDLE;
        if (!(val & VFIO_RTL_ERIAR_FLAG)) {
            q->state = RTL_READ;
            return;
        }
        trace_vfio_quirk_msix_access(q->vdev->vbasedev.name, q->name,
                                     val & 0xfff, q->data, true);
        vfio_region_write(&q->vdev->pdev.msix_table_mmio, val & 0xfff,
                          q->data, 4);
        return;
    }
    vfio_quirk_pass_write(q, addr, val, size);
}

static const MemoryRegionOps vfio_rtl_ops =
    VFIO_QUIRK_OPS(vfio_rtl_read, vfio_rtl_write);

/*
 * Arming a window
 */
static VFIOQuirk *vfio_quirk_window(VFIOPCIDevice *vdev, const char *name,
                                    MemoryRegion *parent, hwaddr base,
                                    hwaddr size, const MemoryRegionOps *ops)
{
    VFIOQuirk *q = g_new0(VFIOQuirk, 1);
    g_autofree char *mr_name = g_strdup_printf("%s %s", vdev->vbasedev.name,
                                               name);

    q->vdev = vdev;
    q->name = name;
    q->parent = parent;
    q->base = base;
    memory_region_init_io(&q->mem, OBJECT(vdev), ops, q, mr_name, size);
    /* Above the BAR's mmaps and the MSI-X table, which it may overlap */
    memory_region_add_subregion_overlap(parent, base, &q->mem, 1);
    QLIST_INSERT_HEAD(&vdev->quirks, q, next);
    return q;
}

/* BAR @nr of @vdev: NULL, and why not, unless it is @io and holds @need. */
static VFIOBAR *vfio_quirk_bar(VFIOPCIDevice *vdev, int nr, bool io,
                               uint64_t need, const char **why)
{
    VFIOBAR *bar = &vdev->bars[nr];
    bool is_io = vdev->pdev.io_regions[nr].type & PCI_BASE_ADDRESS_SPACE_IO;

    if (!bar->guest_size) {
        *why = "the BAR is not implemented";
    } else if (is_io != io) {
        *why = io ? "the BAR is not I/O" : "the BAR is not memory";
    } else if (bar->guest_size < need) {
        *why = "the BAR is too small";
    } else {
        return bar;
    }
    return NULL;
}

/*
 * The host physical address of BAR @nr, from sysfs: what an Intel VMD's
 * driver needs to translate the addresses of the devices behind it.
 */
static bool vfio_host_bar_address(VFIOPCIDevice *vdev, int nr,
                                  uint64_t *addr)
{
    g_autofree char *path = g_strdup_printf("%s/resource",
                                            vdev->vbasedev.sysfsdev);
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;

    if (!g_file_get_contents(path, &text, NULL, NULL)) {
        return false;
    }
    lines = g_strsplit(text, "\n", -1);
    return g_strv_length(lines) > nr &&
           sscanf(lines[nr], "%" SCNx64, addr) == 1;
}

/*
 * Intel VMD: in a guest the vmd driver finds the host addresses of
 * MEMBAR1 (BAR2) and MEMBAR2 (BAR4) in the first vendor-specific
 * capability, after the signature "SHDW" (the "hypervisor-emulated"
 * capability of the client VMDs' driver).
 */
#define VFIO_VMD_SHADOW_SIZE    24
#define VFIO_VMD_SHADOW_SIG     0x53484457      /* "SHDW" */

static const char *vfio_arm_vmd_shadow(VFIOPCIDevice *vdev)
{
    uint8_t *config = vdev->pdev.config;
    uint64_t membar1, membar2;
    Error *err = NULL;
    int pos;

    if (!vfio_host_bar_address(vdev, 2, &membar1) ||
        !vfio_host_bar_address(vdev, 4, &membar2)) {
        return "the host BAR addresses cannot be read from sysfs";
    }
    pos = pci_add_capability(&vdev->pdev, PCI_CAP_ID_VNDR, 0,
                             VFIO_VMD_SHADOW_SIZE, &err);
    if (pos < 0) {
        error_free(err);
        return "no room in config space for the capability";
    }
    config[pos + PCI_CAP_FLAGS] = VFIO_VMD_SHADOW_SIZE;
    pci_set_long(config + pos + 4, VFIO_VMD_SHADOW_SIG);
    pci_set_quad(config + pos + 8, membar1);
    pci_set_quad(config + pos + 16, membar2);
    vfio_emulate_config_range(vdev, pos, VFIO_VMD_SHADOW_SIZE);
    return NULL;
}

/*
 * NVIDIA's P2P clique capability (x-nv-gpudirect-clique): a vendor
 * capability of 8 bytes, "P2P" and then the clique ID in bits 6:3 of
 * byte 6 (bits 2:0 are its version, 0).  GPUs of one clique may DMA to
 * each other.
 */
static const char *vfio_arm_nv_clique(VFIOPCIDevice *vdev)
{
    uint8_t *config = vdev->pdev.config;
    Error *err = NULL;
    int pos;

    if (vdev->nv_gpudirect_clique == 0xff) {
        return "x-nv-gpudirect-clique is not set";
    }
    pos = pci_add_capability(&vdev->pdev, PCI_CAP_ID_VNDR, 0, 8, &err);
    if (pos < 0) {
        error_free(err);
        return "no room in config space for the capability";
    }
    config[pos + PCI_CAP_FLAGS] = 8;
    config[pos + 3] = 'P';
    config[pos + 4] = '2';
    config[pos + 5] = 'P';
    config[pos + 6] = vdev->nv_gpudirect_clique << 3;
    config[pos + 7] = 0;
    vfio_emulate_config_range(vdev, pos, 8);
    return NULL;
}

/*
 * Chelsio T5 VFs (device 0x58xx) report their MSI-X PBA past the end of
 * the BAR; it is at 0x1000, after the table.
 */
static const char *vfio_arm_chelsio_pba(VFIOPCIDevice *vdev)
{
    VFIOMSIXInfo *msix = vdev->msix;

    if ((vfio_guest_device(vdev) & 0xff00) != 0x5800) {
        return "not a T5 VF";
    }
    if (!msix) {
        return "the device has no MSI-X";
    }
    if (msix->pba_offset < vdev->bars[msix->pba_bar].size) {
        return "the PBA is inside its BAR";
    }
    msix->pba_offset = 0x1000;
    return NULL;
}

/*
 * AMD Bonaire and Hawaii GPUs have no FLR, and a bus reset leaves their
 * SMC (power management controller) running what the last driver loaded,
 * so the next one cannot start.  The radeon driver's own way: bus master
 * off, the reset value to config register 0x7c, wait for the registers
 * (BAR5) to answer again, then reset the SMC and stop its clock.
 */
static const uint16_t vfio_radeon_reset_ids[] = {
    0x6640, 0x6641, 0x6646, 0x6647, 0x6649, 0x6650, 0x6651, 0x6658,
    0x665c, 0x665d, 0x665f,                               /* Bonaire */
    0x67a0, 0x67a1, 0x67a2, 0x67a8, 0x67a9, 0x67aa, 0x67b0, 0x67b1,
    0x67b8, 0x67b9, 0x67ba, 0x67be,                       /* Hawaii */
    0
};

#define VFIO_RADEON_RESET_REG       0x7c
#define VFIO_RADEON_RESET_DATA      0x39d5e86b
#define VFIO_RADEON_CONFIG_MEMSIZE  0x5428
#define VFIO_RADEON_SMC_INDEX       0x200
#define VFIO_RADEON_SMC_DATA        0x204
#define VFIO_RADEON_SMC_RESET_CNTL  0x80000000  /* bit 0: reset */
#define VFIO_RADEON_SMC_CLOCK_CNTL  0x80000004  /* bit 0: clock off */
#define VFIO_RADEON_SMC_PC          0x80000370

static uint32_t vfio_radeon_reg_read(VFIOPCIDevice *vdev, uint32_t reg)
{
    VFIOBAR *bar = &vdev->bars[5];
    uint64_t val = ~0ULL;

    vfio_slow_path_read(vdev, bar->fd_offset + reg, 4, &val,
                        VFIO_REPORT_RESET, "BAR", 5, reg);
    return val;
}

static void vfio_radeon_reg_write(VFIOPCIDevice *vdev, uint32_t reg,
                                  uint32_t val)
{
    vfio_slow_path_write(vdev, vdev->bars[5].fd_offset + reg, val, 4,
                         VFIO_REPORT_RESET, "BAR", 5, reg);
}

static uint32_t vfio_radeon_smc_read(VFIOPCIDevice *vdev, uint32_t reg)
{
    vfio_radeon_reg_write(vdev, VFIO_RADEON_SMC_INDEX, reg);
    return vfio_radeon_reg_read(vdev, VFIO_RADEON_SMC_DATA);
}

static void vfio_radeon_smc_set(VFIOPCIDevice *vdev, uint32_t reg,
                                uint32_t bits)
{
    uint32_t val = vfio_radeon_smc_read(vdev, reg);

    vfio_radeon_reg_write(vdev, VFIO_RADEON_SMC_DATA, val | bits);
}

static bool vfio_radeon_smc_running(VFIOPCIDevice *vdev)
{
    return !(vfio_radeon_smc_read(vdev, VFIO_RADEON_SMC_CLOCK_CNTL) & 1) &&
           vfio_radeon_smc_read(vdev, VFIO_RADEON_SMC_PC) >= 0x20100;
}

static bool vfio_radeon_reset(VFIOPCIDevice *vdev)
{
    uint32_t cmd = 0;
    int i;

    if (!vfio_radeon_smc_running(vdev)) {
        trace_vfio_quirk_reset(vdev->vbasedev.name, "the SMC is not running");
        return false;
    }
    vfio_host_config_read(vdev, PCI_COMMAND, 2, &cmd);
    vfio_host_config_write(vdev, PCI_COMMAND, cmd & ~PCI_COMMAND_MASTER, 2);
    vfio_host_config_write(vdev, VFIO_RADEON_RESET_REG,
                           VFIO_RADEON_RESET_DATA, 4);
    for (i = 0; i < 100000; i++) {
        if (vfio_radeon_reg_read(vdev, VFIO_RADEON_CONFIG_MEMSIZE) !=
            0xffffffff) {
            break;
        }
        g_usleep(1);
    }
    vfio_radeon_smc_set(vdev, VFIO_RADEON_SMC_RESET_CNTL, 1);
    vfio_radeon_smc_set(vdev, VFIO_RADEON_SMC_CLOCK_CNTL, 1);
    vfio_host_config_write(vdev, PCI_COMMAND, cmd, 2);
    trace_vfio_quirk_reset(vdev->vbasedev.name, i < 100000 ?
                           "SMC reset" : "SMC reset, registers still gone");
    return true;
}

/* Whether the device has a reset of its own here, which beats the kernel's */
bool vfio_quirk_has_reset(VFIOPCIDevice *vdev)
{
    const uint16_t *id;

    if (vfio_guest_vendor(vdev) != VFIO_VENDOR_ATI || vdev->has_flr ||
        vdev->bars[5].size < VFIO_RADEON_CONFIG_MEMSIZE + 4) {
        return false;
    }
    for (id = vfio_radeon_reset_ids; *id; id++) {
        if (*id == vfio_guest_device(vdev)) {
            return true;
        }
    }
    return false;
}

/* A device-specific reset, where one beats what the kernel can do. */
bool vfio_quirk_reset(VFIOPCIDevice *vdev)
{
    return vfio_quirk_has_reset(vdev) && vfio_radeon_reset(vdev);
}

/*
 * The table
 */
typedef enum VFIOQuirkStage {
    VFIO_QUIRK_MSIX,              /* fixes what the MSI-X capability says */
    VFIO_QUIRK_BARS,              /* windows, once the BARs and VGA exist */
    VFIO_QUIRK_CAPS,              /* capabilities, after the device's */
} VFIOQuirkStage;

/* What one of the windows above overlays */
#define VFIO_QUIRK_VGA          -1      /* ports 0x3c0-0x3df, with x-vga */

typedef struct VFIOWindowInfo {
    int where;                    /* a BAR, or VFIO_QUIRK_VGA */
    bool io;                      /* an I/O BAR */
    hwaddr base;                  /* within the BAR, or from port 0x3c0 */
    hwaddr size;
    const MemoryRegionOps *ops;
    bool mirror;                  /* config space: no larger than it */
    bool msi_ack;                 /* NVIDIA's MSI header writes */
    bool needs_msix;
} VFIOWindowInfo;

typedef struct VFIOQuirkInfo {
    const char *name;
    VFIOQuirkStage stage;
    uint16_t vendor;
    const uint16_t *devices;      /* 0-terminated; NULL: every device */
    bool geforce;                 /* off with x-no-geforce-quirks */
    const char *(*arm)(VFIOPCIDevice *vdev);   /* NULL, or why not */
    VFIOWindowInfo window;        /* without @arm */
} VFIOQuirkInfo;

static const char *vfio_arm_window(VFIOPCIDevice *vdev,
                                   const VFIOQuirkInfo *qi)
{
    const VFIOWindowInfo *w = &qi->window;
    hwaddr size = w->size;
    const char *why = NULL;
    MemoryRegion *parent;
    VFIOBAR *bar = NULL;
    VFIOQuirk *q;

    if (w->mirror) {
        size = MIN(size, pci_config_size(&vdev->pdev));
    }
    if (w->where == VFIO_QUIRK_VGA) {
        parent = vfio_vga_io_hi(vdev);
        if (!parent) {
            return "no legacy VGA (x-vga=off)";
        }
    } else {
        bar = vfio_quirk_bar(vdev, w->where, w->io, w->base + size, &why);
        if (!bar) {
            return why;
        }
        parent = &bar->mem;
    }
    if (w->needs_msix && !vdev->msix) {
        return "the device has no MSI-X";
    }
    q = vfio_quirk_window(vdev, qi->name, parent, w->base, size, w->ops);
    q->bar = bar;
    q->msi_ack = w->msi_ack;
    return NULL;
}

static const uint16_t vfio_rtl8168_ids[] = { 0x8168, 0 };
static const uint16_t vfio_vmd_vscap_ids[] = {
    0x201d, 0x467f, 0x4c3d, 0x7d0b, 0x9a0b, 0xa77f, 0xad0b, 0xb06f, 0xb60b, 0
};

#define VFIO_WINDOW(where_, io_, base_, size_, ops_, ...) \
    .window = { .where = (where_), .io = (io_), .base = (base_), \
                .size = (size_), .ops = (ops_), __VA_ARGS__ }

static const VFIOQuirkInfo vfio_quirks[] = {
    { "chelsio-t5-pba", VFIO_QUIRK_MSIX, VFIO_VENDOR_CHELSIO,
      .arm = vfio_arm_chelsio_pba },
    { "nvidia-bar0-88000", VFIO_QUIRK_BARS, VFIO_VENDOR_NVIDIA, .geforce = true,
      VFIO_WINDOW(0, false, VFIO_NV_MIRROR, 4 * KiB, &vfio_mirror_ops,
                  .mirror = true, .msi_ack = true) },
    { "nvidia-bar0-1800", VFIO_QUIRK_BARS, VFIO_VENDOR_NVIDIA, .geforce = true,
      VFIO_WINDOW(0, false, VFIO_NV_MIRROR_PCI, 256, &vfio_mirror_ops,
                  .mirror = true, .msi_ack = true) },
    { "nvidia-bar5-window", VFIO_QUIRK_BARS, VFIO_VENDOR_NVIDIA,
      .geforce = true, VFIO_WINDOW(5, true, 0, 16, &vfio_nv_bar5_ops) },
    { "nvidia-vga-3d0", VFIO_QUIRK_BARS, VFIO_VENDOR_NVIDIA, .geforce = true,
      VFIO_WINDOW(VFIO_QUIRK_VGA, true, 0x3d0 - 0x3c0, 8, &vfio_nv_3d0_ops) },
    { "ati-bar4-window", VFIO_QUIRK_BARS, VFIO_VENDOR_ATI,
      VFIO_WINDOW(4, true, 0, 8, &vfio_ati_bar4_ops) },
    { "ati-bar2-mirror", VFIO_QUIRK_BARS, VFIO_VENDOR_ATI,
      VFIO_WINDOW(2, false, VFIO_ATI_MIRROR, 4 * KiB, &vfio_mirror_ops,
                  .mirror = true) },
    { "ati-vga-3c3", VFIO_QUIRK_BARS, VFIO_VENDOR_ATI,
      VFIO_WINDOW(VFIO_QUIRK_VGA, true, 0x3c3 - 0x3c0, 1,
                  &vfio_ati_3c3_ops) },
    { "rtl8168-msix-window", VFIO_QUIRK_BARS, VFIO_VENDOR_REALTEK,
      vfio_rtl8168_ids,
      VFIO_WINDOW(2, false, 0x70, 8, &vfio_rtl_ops, .needs_msix = true) },
    { "vmd-shadow-cap", VFIO_QUIRK_CAPS, VFIO_VENDOR_INTEL,
      vfio_vmd_vscap_ids, .arm = vfio_arm_vmd_shadow },
    { "nvidia-gpudirect-clique", VFIO_QUIRK_CAPS, VFIO_VENDOR_NVIDIA,
      .arm = vfio_arm_nv_clique },
};

static bool vfio_quirk_matches(VFIOPCIDevice *vdev, const VFIOQuirkInfo *qi)
{
    const uint16_t *id;

    if (vfio_guest_vendor(vdev) != qi->vendor) {
        return false;
    }
    for (id = qi->devices; id && *id; id++) {
        if (*id == vfio_guest_device(vdev)) {
            return true;
        }
    }
    return !qi->devices;
}

static void vfio_quirks_stage(VFIOPCIDevice *vdev, VFIOQuirkStage stage)
{
    const char *why;
    int i;

    for (i = 0; i < ARRAY_SIZE(vfio_quirks); i++) {
        const VFIOQuirkInfo *qi = &vfio_quirks[i];

        if (qi->stage != stage || !vfio_quirk_matches(vdev, qi)) {
            continue;
        }
        if (qi->geforce && vdev->no_geforce_quirks) {
            why = "x-no-geforce-quirks=on";
        } else {
            why = qi->arm ? qi->arm(vdev) : vfio_arm_window(vdev, qi);
        }
        trace_vfio_quirk(vdev->vbasedev.name, qi->name, why ? why : "armed");
    }
}

void vfio_quirks_msix(VFIOPCIDevice *vdev)
{
    vfio_quirks_stage(vdev, VFIO_QUIRK_MSIX);
}

void vfio_quirks_bars(VFIOPCIDevice *vdev)
{
    vfio_quirks_stage(vdev, VFIO_QUIRK_BARS);
}

bool vfio_quirks_caps(VFIOPCIDevice *vdev, Error **errp)
{
    if (vdev->nv_gpudirect_clique != 0xff &&
        vfio_guest_vendor(vdev) != VFIO_VENDOR_NVIDIA) {
        error_setg(errp, "x-nv-gpudirect-clique is for NVIDIA GPUs: the "
                   "guest sees vendor 0x%04x", vfio_guest_vendor(vdev));
        return false;
    }
    vfio_quirks_stage(vdev, VFIO_QUIRK_CAPS);
    return true;
}

/* Before the BARs go: nothing may reach a window after the unplug. */
void vfio_quirks_exit(VFIOPCIDevice *vdev)
{
    VFIOQuirk *q;

    QLIST_FOREACH(q, &vdev->quirks, next) {
        while (!QLIST_EMPTY(&q->ioeventfds)) {
            vfio_ioeventfd_del(QLIST_FIRST(&q->ioeventfds));
        }
        memory_region_del_subregion(q->parent, &q->mem);
    }
}

void vfio_quirks_finalize(VFIOPCIDevice *vdev)
{
    VFIOQuirk *q, *tmp;

    QLIST_FOREACH_SAFE(q, &vdev->quirks, next, tmp) {
        QLIST_REMOVE(q, next);
        object_unparent(OBJECT(&q->mem));
        g_free(q);
    }
}
