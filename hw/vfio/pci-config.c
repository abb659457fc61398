/*
 * vfio based device assignment support - config space
 *
 * What the guest reads and writes in config space: the bits QEMU emulates
 * (BARs, ROM BAR, MSI and MSI-X, the multifunction bit, and what of PCI
 * Express must not reach the host) and the rest, which goes to the device
 * through VFIO; the capability chains the guest walks, rebuilt from the
 * parsed ones (pci-caps.c); the PCI Express capability's fixups for where
 * the device sits in the guest.
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
#include "hw/pci/msi.h"
#include "hw/pci/msix.h"
#include "hw/pci/pci_bus.h"
#include "migration/vmstate.h"
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "qemu/log.h"
#include "qemu/range.h"
#include "trace.h"

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

/* Whether a write to the device lets it master the bus, and so DMA */
static bool vfio_write_sets_master(uint32_t addr, uint32_t val, int len)
{
    return ranges_overlap(addr, len, PCI_COMMAND, 1) &&
           ((val >> (PCI_COMMAND - addr) * 8) & PCI_COMMAND_MASTER);
}

/* VFIO filters out what the guest must not write to the device. */
void vfio_host_config_write(VFIOPCIDevice *vdev, uint32_t addr, uint32_t val,
                            int len)
{
    uint32_t val_le = cpu_to_le32(val);

    /* Guest RAM may still be being mapped: the device's DMA must find it */
    if (vfio_write_sets_master(addr, val, len)) {
        vfio_container_dma_wait(vdev->vbasedev.container);
    }
    trace_vfio_host_config_write(vdev->vbasedev.name, addr, val, len);
    if (pwrite(vdev->vbasedev.fd, &val_le, len,
               vdev->config_offset + addr) != len &&
        vfio_first_report(vdev, VFIO_REPORT_CONFIG_ACCESS)) {
        qemu_log_mask(LOG_GUEST_ERROR, "vfio %s: config write of %d bytes "
                      "at 0x%x failed: %s\n", vdev->vbasedev.name, len, addr,
                      strerror(errno));
    }
}

uint32_t vfio_pci_read_config(PCIDevice *pdev, uint32_t addr, int len)
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
/* The MSI and MSI-X capabilities, whose writes pci-irq.c takes */
static bool vfio_write_hits_irq_caps(VFIOPCIDevice *vdev, uint32_t addr,
                                     int len)
{
    PCIDevice *pdev = &vdev->pdev;

    return (msi_present(pdev) &&
            ranges_overlap(addr, len, pdev->msi_cap, vdev->msi_cap_size)) ||
           (msix_present(pdev) &&
            ranges_overlap(addr, len, pdev->msix_cap, MSIX_CAP_LENGTH));
}

/*
 * Past the header, what QEMU emulates (the PCI Express fixups, hidden
 * extended capabilities, the capabilities and registers quirks.c and
 * igd.c add) is QEMU's alone: the host device never sees those writes.
 */
static uint32_t vfio_host_kept_bits(VFIOPCIDevice *vdev, uint32_t addr,
                                    int len)
{
    if (addr >= PCI_CONFIG_HEADER_SIZE &&
        !vfio_write_hits_irq_caps(vdev, addr, len)) {
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

void vfio_pci_write_config(PCIDevice *pdev, uint32_t addr,
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

    if (vfio_write_hits_irq_caps(vdev, addr, len)) {
        vfio_irq_write_config(vdev, addr, val, len);
    } else if (addr < PCI_CONFIG_HEADER_SIZE ||
               vfio_emulated_bits(vdev, addr, len)) {
        /* QEMU's copy takes what its write mask lets the guest write */
        pci_default_write_config(pdev, addr, val, len);
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


/* Our copy of config space, with the host's resource addresses cleared. */
/*
 * x-pci-*: the guest sees @val in the @len bytes at @reg instead of the
 * device's own; the host's config space keeps its own.
 */
static bool vfio_config_override(VFIOPCIDevice *vdev, const char *prop,
                                 uint32_t val, int reg, int len, Error **errp)
{
    uint32_t max = MAKE_64BIT_MASK(0, len * 8);
    uint32_t host = 0;

    if (val == PCI_ANY_ID) {
        return true;
    }
    if (val > max) {
        error_setg(errp, "%s=0x%x is out of range: 0-0x%x", prop, val, max);
        return false;
    }
    memcpy(&host, vdev->pdev.config + reg, len);
    trace_vfio_config_override(vdev->vbasedev.name, prop,
                               le32_to_cpu(host), val);
    val = cpu_to_le32(val);
    memcpy(vdev->pdev.config + reg, &val, len);
    vfio_emulate_config_range(vdev, reg, len);
    return true;
}

static bool vfio_config_override_ids(VFIOPCIDevice *vdev, Error **errp)
{
    return vfio_config_override(vdev, "x-pci-vendor-id", vdev->vendor_id,
                                PCI_VENDOR_ID, 2, errp) &&
           vfio_config_override(vdev, "x-pci-device-id", vdev->device_id,
                                PCI_DEVICE_ID, 2, errp) &&
           vfio_config_override(vdev, "x-pci-sub-vendor-id",
                                vdev->sub_vendor_id,
                                PCI_SUBSYSTEM_VENDOR_ID, 2, errp) &&
           vfio_config_override(vdev, "x-pci-sub-device-id",
                                vdev->sub_device_id, PCI_SUBSYSTEM_ID, 2,
                                errp) &&
           vfio_config_override(vdev, "x-pci-class-code", vdev->class_code,
                                PCI_CLASS_PROG, 3, errp);
}

bool vfio_read_config_space(VFIOPCIDevice *vdev, Error **errp)
{
    PCIDevice *pdev = &vdev->pdev;
    size_t size = MIN(pci_config_size(pdev), vdev->config_size);

    if (pread(vdev->vbasedev.fd, pdev->config, size,
              vdev->config_offset) != size) {
        error_setg_errno(errp, errno, "failed to read device config space");
        return false;
    }
    if (size < pci_config_size(pdev)) {
        trace_vfio_config_short(vdev->vbasedev.name, vdev->config_size);
        vfio_emulate_config_range(vdev, size, pci_config_size(pdev) - size);
    }

    /*
     * Clear host resource mapping info.  If we choose not to register a
     * BAR, such as might be the case with the option ROM, we can get
     * confusing, unwritable, residual addresses from the host here.
     */
    memset(&pdev->config[PCI_BASE_ADDRESS_0], 0, 24);
    memset(&pdev->config[PCI_ROM_ADDRESS], 0, 4);
    /*
     * Past the header, what QEMU emulates is read-only to the guest unless
     * the part that emulates it (MSI, MSI-X) says otherwise: the rest
     * reaches the host, which decides.
     */
    memset(pdev->wmask + PCI_CONFIG_HEADER_SIZE, 0,
           pci_config_size(pdev) - PCI_CONFIG_HEADER_SIZE);
    vfio_std_caps_parse(pdev->config, &vdev->caps);
    vfio_emulate_config_range(vdev, PCI_BASE_ADDRESS_0, 24);
    vfio_emulate_config_range(vdev, PCI_ROM_ADDRESS, 4);

    if (!vfio_config_override_ids(vdev, errp)) {
        return false;
    }

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
void vfio_pcie_config_size(VFIOPCIDevice *vdev)
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
 * Capabilities
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

/* A vendor capability's own bytes follow its ID, next pointer and length */
#define VFIO_VNDR_CAP_DATA      3

/*
 * A vendor capability holds what the vendor's firmware put there, which
 * may differ between two host devices of one model: with skip-vsc-check
 * the PCI core's compare on migration load (cmask) leaves its own bytes
 * out, and checks only that the chain is the same.
 */
static bool vfio_add_vendor_cap(VFIOPCIDevice *vdev, const VFIOCap *cap,
                                Error **errp)
{
    if (!vfio_add_plain_cap(vdev, cap, errp)) {
        return false;
    }
    if (vdev->skip_vsc_check && cap->size > VFIO_VNDR_CAP_DATA) {
        memset(vdev->pdev.cmask + cap->pos + VFIO_VNDR_CAP_DATA, 0,
               cap->size - VFIO_VNDR_CAP_DATA);
    }
    trace_vfio_vendor_cap(vdev->vbasedev.name, cap->pos, cap->size,
                          vdev->skip_vsc_check);
    return true;
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
    case PCI_CAP_ID_VNDR:
        ok = vfio_add_vendor_cap(vdev, cap, errp);
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
bool vfio_add_capabilities(VFIOPCIDevice *vdev, Error **errp)
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

/*
 * Migration: QEMU's copy of config space (the BARs, the command register,
 * the MSI and MSI-X capabilities, the guest's INTx level) and the MSI-X
 * table.  The destination's host device gets what the guest had written.
 */
static int vfio_pci_pre_save(void *opaque)
{
    VFIOPCIDevice *vdev = opaque;
    uint32_t pmcsr;

    /* The host keeps the power state: it comes along in QEMU's copy */
    if (vdev->pm_cap &&
        vfio_host_config_read(vdev, vdev->pm_cap + PCI_PM_CTRL, 2, &pmcsr)) {
        pci_set_word(vdev->pdev.config + vdev->pm_cap + PCI_PM_CTRL, pmcsr);
    }
    vdev->migrated_intx_pending = vdev->intx.pending;
    return 0;
}

static void vfio_pci_config_rewrite(VFIOPCIDevice *vdev, uint32_t addr,
                                    int len)
{
    uint32_t val = 0;

    memcpy(&val, vdev->pdev.config + addr, len);
    vfio_pci_write_config(&vdev->pdev, addr, le32_to_cpu(val), len);
}

static int vfio_pci_post_load(void *opaque, int version_id)
{
    VFIOPCIDevice *vdev = opaque;
    int i;

    for (i = 0; i < PCI_ROM_SLOT; i++) {
        vfio_pci_config_rewrite(vdev, PCI_BASE_ADDRESS_0 + 4 * i, 4);
    }
    vfio_pci_config_rewrite(vdev, PCI_COMMAND, 2);
    if (vdev->pm_cap) {
        vfio_pci_config_rewrite(vdev, vdev->pm_cap + PCI_PM_CTRL, 2);
    }
    vfio_irq_restore(vdev, vdev->migrated_intx_pending);
    return 0;
}

const VMStateDescription vfio_pci_vmstate = {
    .name = "vfio-pci",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = vfio_pci_pre_save,
    .post_load = vfio_pci_post_load,
    .fields = (VMStateField[]) {
        VMSTATE_PCI_DEVICE(pdev, VFIOPCIDevice),
        VMSTATE_MSIX(pdev, VFIOPCIDevice),
        VMSTATE_BOOL(migrated_intx_pending, VFIOPCIDevice),
        VMSTATE_END_OF_LIST()
    },
};
