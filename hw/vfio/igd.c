/*
 * vfio based device assignment support - Intel graphics (IGD)
 *
 * What an Intel integrated graphics device needs beyond its BARs: its
 * OpRegion (x-igd-opregion), the memory table that the host's firmware
 * leaves for the graphics driver (the panel's and outputs' description,
 * the VBT), given to the guest's firmware through fw_cfg; the stolen
 * memory size its GMCH register shows (x-igd-gms); and the ISA/LPC
 * bridge at 00:1f.0 whose IDs the IGD's drivers read to tell the platform
 * (vfio-pci-igd-lpc-bridge).  pci.c calls in here at realize; nothing
 * here calls pci.c.
 *
 * Written from the kernel's VFIO interface (linux/vfio.h, the vfio-pci
 * driver's IGD regions), Intel's datasheets and the Linux i915 driver's
 * reading of these registers.
 *
 * This work is licensed under the terms of the GNU GPL, version 2.  See
 * the COPYING file in the top-level directory.
 *
 * SPDX-License-Identifier: GPL-2.0-only
 */

#include "qemu/osdep.h"

#include "hw/nvram/fw_cfg.h"
#include "hw/pci/pci_bus.h"
#include "hw/vfio/pci-device.h"
#include "migration/vmstate.h"
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "qemu/module.h"
#include "qemu/units.h"
#include "trace.h"

/* The IGD's own config registers */
#define IGD_GMCH            0x50    /* mirror of the host bridge's GGC */
#define IGD_ASLS            0xfc    /* where the OpRegion is, for the OS */

/* The OpRegion's header: a signature, then its size in KiB */
#define IGD_OPREGION_SIGNATURE      "IntelGraphicsMem"
#define IGD_OPREGION_SIGNATURE_LEN  16
#define IGD_OPREGION_VERSION        0x16    /* minor, major */
#define IGD_OPREGION_HEADER_LEN     0x18
/* 8 KiB, with an extended VBT a few more: anything near this is wrong */
#define IGD_OPREGION_MAX            (16 * MiB)

#define IGD_FW_CFG_OPREGION "etc/igd-opregion"

/* The address the IGD's drivers look for the LPC bridge at, on bus 0 */
#define IGD_LPC_DEVFN       PCI_DEVFN(0x1f, 0)
#define IGD_HOST_LPC        "/sys/bus/pci/devices/0000:00:1f.0/config"

/*
 * Where GMCH keeps the GMS field (Graphics Mode Select, the size of the
 * stolen memory) and which of its values count 32 MiB units, as i915
 * reads them (arch/x86/kernel/early-quirks.c) and the datasheets list
 * them: Sandy Bridge to Haswell (and Valleyview) have five bits, 0x11
 * and up reserved or not 32 MiB steps (Ivy Bridge's 0x11 is 1 GiB), and
 * so has Cherryview, which counts 4 MiB from 0x11; Broadwell moved the
 * field to eight bits, all 32 MiB units; from Skylake on 0xf0 and up
 * count 4 MiB.
 */
typedef struct VFIOIGDGmsField {
    uint8_t shift;
    uint8_t mask;
    uint8_t max;                  /* the last value in 32 MiB units */
} VFIOIGDGmsField;

static const VFIOIGDGmsField igd_gms_snb = { 3, 0x1f, 0x10 };
static const VFIOIGDGmsField igd_gms_bdw = { 8, 0xff, 0xff };
static const VFIOIGDGmsField igd_gms_gen9 = { 8, 0xff, 0xef };

/*
 * IGD families by device ID (the IDs of i915's i915_pciids.h), the
 * exact ones before the prefixes that would take them: Broxton's 0x0a84
 * among Haswell's 0x0axx, Valleyview's 0x0155 among Ivy Bridge's.
 * Discrete Intel GPUs are in none.
 */
typedef struct VFIOIGDFamily {
    uint16_t id;
    uint16_t mask;
    const char *name;
    int gen;
    const VFIOIGDGmsField *gms;
} VFIOIGDFamily;

static const VFIOIGDFamily igd_families[] = {
    { 0x0a84, 0xffff, "Broxton", 9, &igd_gms_gen9 },
    { 0x1a84, 0xfffe, "Broxton", 9, &igd_gms_gen9 },
    { 0x5a84, 0xfffe, "Apollo Lake", 9, &igd_gms_gen9 },
    { 0x3184, 0xfffe, "Gemini Lake", 9, &igd_gms_gen9 },
    { 0x0155, 0xfffd, "Valleyview", 7, &igd_gms_snb },
    { 0x0150, 0xfff0, "Ivy Bridge", 7, &igd_gms_snb },
    { 0x0160, 0xfff0, "Ivy Bridge", 7, &igd_gms_snb },
    { 0x0100, 0xff00, "Sandy Bridge", 6, &igd_gms_snb },
    { 0x0f30, 0xfffc, "Valleyview", 7, &igd_gms_snb },
    { 0x0400, 0xff00, "Haswell", 7, &igd_gms_snb },
    { 0x0a00, 0xff00, "Haswell", 7, &igd_gms_snb },
    { 0x0c00, 0xff00, "Haswell", 7, &igd_gms_snb },
    { 0x0d00, 0xff00, "Haswell", 7, &igd_gms_snb },
    { 0x1600, 0xff00, "Broadwell", 8, &igd_gms_bdw },
    { 0x22b0, 0xfffc, "Cherryview", 8, &igd_gms_snb },
    { 0x1900, 0xff00, "Skylake", 9, &igd_gms_gen9 },
    { 0x5900, 0xff00, "Kaby Lake", 9, &igd_gms_gen9 },
    { 0x8700, 0xff00, "Amber Lake", 9, &igd_gms_gen9 },
    { 0x3e00, 0xff00, "Coffee Lake", 9, &igd_gms_gen9 },
    { 0x9b00, 0xff00, "Comet Lake", 9, &igd_gms_gen9 },
    { 0x5a00, 0xff00, "Cannon Lake", 10, &igd_gms_gen9 },
    { 0x8a00, 0xff00, "Ice Lake", 11, &igd_gms_gen9 },
    { 0x4500, 0xff00, "Elkhart Lake", 11, &igd_gms_gen9 },
    { 0x4e00, 0xff00, "Jasper Lake", 11, &igd_gms_gen9 },
    { 0x9a00, 0xff00, "Tiger Lake", 12, &igd_gms_gen9 },
    { 0x4c00, 0xff00, "Rocket Lake", 12, &igd_gms_gen9 },
    { 0x4600, 0xff00, "Alder Lake", 12, &igd_gms_gen9 },
    { 0xa700, 0xff00, "Raptor Lake", 12, &igd_gms_gen9 },
};

/*
 * The IGD family of the device as the guest sees it (after any x-pci-*
 * override, as quirks are chosen), or NULL: not Intel, not a display
 * controller, or no IGD known here.
 */
static const VFIOIGDFamily *vfio_igd_family(VFIOPCIDevice *vdev)
{
    uint8_t *config = vdev->pdev.config;
    uint16_t device = pci_get_word(config + PCI_DEVICE_ID);
    int i;

    if (pci_get_word(config + PCI_VENDOR_ID) != PCI_VENDOR_ID_INTEL ||
        config[PCI_CLASS_DEVICE + 1] != PCI_BASE_CLASS_DISPLAY) {
        return NULL;
    }
    for (i = 0; i < ARRAY_SIZE(igd_families); i++) {
        if ((device & igd_families[i].mask) == igd_families[i].id) {
            return &igd_families[i];
        }
    }
    return NULL;
}

/* "8086:0412 (class 0x030000)", for messages */
static char *vfio_igd_ids(VFIOPCIDevice *vdev)
{
    uint8_t *config = vdev->pdev.config;

    return g_strdup_printf("%04x:%04x (class 0x%06x)",
                           pci_get_word(config + PCI_VENDOR_ID),
                           pci_get_word(config + PCI_DEVICE_ID),
                           pci_get_long(config + PCI_CLASS_REVISION) >> 8);
}

/*
 * x-igd-gms
 */
static const VFIOIGDFamily *vfio_igd_gms_family(VFIOPCIDevice *vdev,
                                                Error **errp)
{
    const VFIOIGDFamily *family = vfio_igd_family(vdev);
    uint8_t *config = vdev->pdev.config;
    g_autofree char *ids = NULL;

    if (family) {
        return family;
    }
    ids = vfio_igd_ids(vdev);
    if (pci_get_word(config + PCI_VENDOR_ID) == PCI_VENDOR_ID_INTEL &&
        config[PCI_CLASS_DEVICE + 1] == PCI_BASE_CLASS_DISPLAY) {
        error_setg(errp, "x-igd-gms=%u: Intel graphics %s is no integrated "
                   "graphics device (IGD) known here: Sandy Bridge to "
                   "Raptor Lake", vdev->igd_gms, ids);
    } else {
        error_setg(errp, "x-igd-gms=%u is for Intel integrated graphics "
                   "(IGD), and this device is %s, not Intel graphics",
                   vdev->igd_gms, ids);
    }
    return NULL;
}

/*
 * The stolen memory size the guest's driver reads in GMCH: the field
 * alone is ours, read-only as the register is on the IGD (a mirror of
 * the host bridge's, which the host's firmware locks); the rest of GMCH
 * is the device's.
 */
static bool vfio_igd_gms_setup(VFIOPCIDevice *vdev, Error **errp)
{
    const VFIOIGDFamily *family = vfio_igd_gms_family(vdev, errp);
    const VFIOIGDGmsField *gms;
    uint16_t field, gmch;

    if (!family) {
        return false;
    }
    gms = family->gms;
    if (vdev->igd_gms > gms->max) {
        error_setg(errp, "x-igd-gms=0x%x is beyond what a %s IGD (gen%d) "
                   "shows in 32 MiB units: 1-0x%x (32-%u MiB)",
                   vdev->igd_gms, family->name, family->gen, gms->max,
                   gms->max * 32);
        return false;
    }
    field = gms->mask << gms->shift;
    gmch = pci_get_word(vdev->pdev.config + IGD_GMCH);
    trace_vfio_igd_gms(vdev->vbasedev.name, family->name,
                       (gmch & field) >> gms->shift, vdev->igd_gms);
    pci_set_word(vdev->pdev.config + IGD_GMCH,
                 (gmch & ~field) | (vdev->igd_gms << gms->shift));
    pci_word_test_and_set_mask(vdev->emulated_config_bits + IGD_GMCH, field);
    return true;
}

/*
 * x-igd-opregion
 */
/* The one etc/igd-opregion of the VM: fw_cfg can neither drop nor repeat it */
static bool igd_opregion_given;

static struct vfio_region_info *vfio_igd_opregion_info(VFIOPCIDevice *vdev,
                                                       Error **errp)
{
    struct vfio_region_info *info;
    g_autofree char *ids = NULL;

    info = vfio_get_dev_region_info(&vdev->vbasedev,
                                    VFIO_REGION_TYPE_PCI_VENDOR_TYPE |
                                    PCI_VENDOR_ID_INTEL,
                                    VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION);
    if (!info) {
        ids = vfio_igd_ids(vdev);
        error_setg(errp, "x-igd-opregion=on: the host driver offers no IGD "
                   "OpRegion for this device (no VFIO region of type "
                   "0x%x, subtype %u); it is %s",
                   VFIO_REGION_TYPE_PCI_VENDOR_TYPE | PCI_VENDOR_ID_INTEL,
                   VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION, ids);
        error_append_hint(errp, "Only Intel integrated graphics has an "
                          "OpRegion, and the host's vfio-pci offers it when "
                          "the host's firmware left one (ASLS set).\n");
        return NULL;
    }
    if (!(info->flags & VFIO_REGION_INFO_FLAG_READ) ||
        info->size < IGD_OPREGION_HEADER_LEN ||
        info->size > IGD_OPREGION_MAX) {
        error_setg(errp, "x-igd-opregion=on: the host's OpRegion region "
                   "(0x%" PRIx64 " bytes, flags 0x%x) is not a readable "
                   "OpRegion", (uint64_t)info->size, info->flags);
        g_free(info);
        return NULL;
    }
    return info;
}

/* The OpRegion's bytes, for g_free() */
static uint8_t *vfio_igd_opregion_read(VFIOPCIDevice *vdev,
                                       struct vfio_region_info *info,
                                       Error **errp)
{
    g_autofree uint8_t *data = g_malloc(info->size);
    size_t done = 0;
    ssize_t n;

    while (done < info->size) {
        n = pread(vdev->vbasedev.fd, data + done, info->size - done,
                  info->offset + done);
        if (n > 0) {
            done += n;
        } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
            error_setg_errno(errp, n ? errno : EIO, "x-igd-opregion=on: "
                             "cannot read the host's OpRegion (0x%zx of "
                             "0x%" PRIx64 " bytes read)", done,
                             (uint64_t)info->size);
            return NULL;
        }
    }
    if (memcmp(data, IGD_OPREGION_SIGNATURE, IGD_OPREGION_SIGNATURE_LEN)) {
        error_setg(errp, "x-igd-opregion=on: the host's OpRegion region "
                   "does not start with the OpRegion signature \"%s\"",
                   IGD_OPREGION_SIGNATURE);
        return NULL;
    }
    return g_steal_pointer(&data);
}

/*
 * ASLS tells the guest's OS where the OpRegion is; the guest's firmware
 * writes there the address of the copy it made.  The kernel's vfio-pci
 * keeps ASLS virtual whenever it offers the OpRegion (it answers reads
 * and takes writes itself, never reaching the host's IGD, which keeps
 * its own for the host's driver), and QEMU forwards the register: so
 * clearing it here gives the guest a register that reads 0 until its
 * firmware fills it in.  A register that does not read back 0 is not
 * the kernel's virtual one.
 */
static bool vfio_igd_asls_clear(VFIOPCIDevice *vdev, Error **errp)
{
    uint32_t asls = ~0U;

    vfio_host_config_write(vdev, IGD_ASLS, 0, 4);
    if (!vfio_host_config_read(vdev, IGD_ASLS, 4, &asls) || asls) {
        error_setg(errp, "x-igd-opregion=on: the host driver does not let "
                   "ASLS (config 0x%x) be cleared (it reads 0x%x): the "
                   "guest could not be told where its OpRegion is",
                   IGD_ASLS, asls);
        return false;
    }
    /* Our copy holds no host address either */
    pci_set_long(vdev->pdev.config + IGD_ASLS, 0);
    return true;
}

static bool vfio_igd_opregion_setup(VFIOPCIDevice *vdev, Error **errp)
{
    g_autofree struct vfio_region_info *info = NULL;
    g_autofree uint8_t *data = NULL;
    FWCfgState *fw_cfg = fw_cfg_find();

    info = vfio_igd_opregion_info(vdev, errp);
    if (!info) {
        return false;
    }
    if (DEVICE(vdev)->hotplugged) {
        error_setg(errp, "x-igd-opregion=on: the OpRegion reaches the "
                   "guest's firmware through fw_cfg, which takes no new "
                   "file once the VM runs: put the device on the command "
                   "line instead of hot-plugging it");
        return false;
    }
    if (!fw_cfg) {
        error_setg(errp, "x-igd-opregion=on: the machine has no fw_cfg to "
                   "give the guest's firmware the OpRegion");
        return false;
    }
    if (igd_opregion_given) {
        error_setg(errp, "x-igd-opregion=on: another device's OpRegion is "
                   "the VM's %s already: a VM has one", IGD_FW_CFG_OPREGION);
        return false;
    }
    data = vfio_igd_opregion_read(vdev, info, errp);
    if (!data || !vfio_igd_asls_clear(vdev, errp)) {
        return false;
    }
    trace_vfio_igd_opregion(vdev->vbasedev.name, info->size,
                            pci_get_word(data + IGD_OPREGION_VERSION));
    /* fw_cfg keeps the data, not a copy, for as long as the VM lives */
    fw_cfg_add_file(fw_cfg, IGD_FW_CFG_OPREGION, g_steal_pointer(&data),
                    info->size);
    igd_opregion_given = true;
    return true;
}

/*
 * QEMU 7.2 set an IGD at the guest's 00:02.0 with its VGA ROM up in its
 * "legacy mode": the LPC bridge at 00:1f.0, the host bridge's IDs on the
 * guest's, and stolen memory for the ROM's frame buffer.  This model has
 * no legacy mode: whoever relied on it is told, and the device goes on as
 * a secondary (UPT) device.
 */
/* Whether the guest gets a ROM: romfile= (an empty one is none), or ours */
static bool vfio_igd_has_rom(VFIOPCIDevice *vdev)
{
    PCIDevice *pdev = &vdev->pdev;

    if (pdev->romfile) {
        return *pdev->romfile;
    }
    return pdev->rom_bar && vdev->rom_size;
}

static void vfio_igd_legacy_check(VFIOPCIDevice *vdev)
{
    PCIDevice *pdev = &vdev->pdev;

    if (!vfio_igd_family(vdev) ||
        pci_get_word(pdev->config + PCI_CLASS_DEVICE) !=
        PCI_CLASS_DISPLAY_VGA ||
        !pci_bus_is_root(pci_get_bus(pdev)) ||
        pdev->devfn != PCI_DEVFN(2, 0) || !vfio_igd_has_rom(vdev)) {
        return;
    }
    warn_report(VFIO_MSG_PREFIX "an IGD at 00:02.0 with its VGA ROM is what "
                "QEMU 7.2 set up in IGD legacy mode; this vfio-pci has no "
                "legacy mode and assigns it as a secondary (UPT) device, "
                "whose VGA ROM cannot run (see docs/vfio-pci.rst, Intel "
                "Graphics)", vdev->vbasedev.name);
}

bool vfio_igd_setup(VFIOPCIDevice *vdev, Error **errp)
{
    vfio_igd_legacy_check(vdev);
    if (vdev->igd_gms && !vfio_igd_gms_setup(vdev, errp)) {
        return false;
    }
    return !vdev->igd_opregion || vfio_igd_opregion_setup(vdev, errp);
}

/*
 * vfio-pci-igd-lpc-bridge: an ISA bridge at 00:1f.0 with the IDs of the
 * host's own LPC bridge there, for the IGD's drivers, which read the
 * platform from it.  Not hot-pluggable: drivers look once, at boot.
 */
#define TYPE_VFIO_PCI_IGD_LPC_BRIDGE "vfio-pci-igd-lpc-bridge"
OBJECT_DECLARE_SIMPLE_TYPE(VFIOIGDLPCBridge, VFIO_PCI_IGD_LPC_BRIDGE)

struct VFIOIGDLPCBridge {
    PCIDevice parent_obj;
};

/* The host's 00:1f.0 config header, which must be an ISA bridge's */
static uint8_t *vfio_igd_host_lpc(Error **errp)
{
    g_autoptr(GError) gerr = NULL;
    g_autofree char *data = NULL;
    uint16_t class;
    gsize len = 0;

    if (!g_file_get_contents(IGD_HOST_LPC, &data, &len, &gerr)) {
        error_setg(errp, "cannot read the host's LPC bridge, whose IDs it "
                   "shows: %s", gerr->message);
        return NULL;
    }
    if (len < PCI_SUBSYSTEM_ID + 2) {
        error_setg(errp, "%s has %zu bytes, not the header of a PCI device",
                   IGD_HOST_LPC, (size_t)len);
        return NULL;
    }
    class = pci_get_word((uint8_t *)data + PCI_CLASS_DEVICE);
    if (class != PCI_CLASS_BRIDGE_ISA) {
        error_setg(errp, "the host's 0000:00:1f.0 (%04x:%04x) is of class "
                   "0x%04x, not an ISA/LPC bridge (0x%04x): there is no "
                   "LPC bridge to show the IGD's drivers",
                   pci_get_word((uint8_t *)data + PCI_VENDOR_ID),
                   pci_get_word((uint8_t *)data + PCI_DEVICE_ID), class,
                   PCI_CLASS_BRIDGE_ISA);
        return NULL;
    }
    return (uint8_t *)g_steal_pointer(&data);
}

/* 00:1f.0, and nowhere else, is where the IGD's drivers look */
static bool vfio_igd_lpc_placed(PCIDevice *pdev, Error **errp)
{
    PCIBus *bus = pci_get_bus(pdev);
    g_autofree char *where = NULL;

    if (pci_bus_is_root(bus) && !pci_bus_num(bus) &&
        pdev->devfn == IGD_LPC_DEVFN) {
        return true;
    }
    /* Behind a bridge the bus has no number before the firmware's scan */
    where = pci_bus_is_root(bus) ?
            g_strdup_printf("at %02x:%02x.%x", pci_bus_num(bus),
                            PCI_SLOT(pdev->devfn), PCI_FUNC(pdev->devfn)) :
            g_strdup("behind a bridge");
    error_setg(errp, "%s must be at 00:1f.0 (addr=1f.0 on the root bus), "
               "where the IGD's drivers look for the LPC bridge, not %s",
               TYPE_VFIO_PCI_IGD_LPC_BRIDGE, where);
    return false;
}

static void vfio_igd_lpc_realize(PCIDevice *pdev, Error **errp)
{
    g_autofree uint8_t *host = NULL;
    uint8_t *config = pdev->config;

    if (!vfio_igd_lpc_placed(pdev, errp)) {
        return;
    }
    host = vfio_igd_host_lpc(errp);
    if (!host) {
        return;
    }
    pci_set_word(config + PCI_VENDOR_ID, pci_get_word(host + PCI_VENDOR_ID));
    pci_set_word(config + PCI_DEVICE_ID, pci_get_word(host + PCI_DEVICE_ID));
    config[PCI_REVISION_ID] = host[PCI_REVISION_ID];
    pci_set_word(config + PCI_SUBSYSTEM_VENDOR_ID,
                 pci_get_word(host + PCI_SUBSYSTEM_VENDOR_ID));
    pci_set_word(config + PCI_SUBSYSTEM_ID,
                 pci_get_word(host + PCI_SUBSYSTEM_ID));
    trace_vfio_igd_lpc_bridge(pci_get_word(config + PCI_VENDOR_ID),
                              pci_get_word(config + PCI_DEVICE_ID),
                              config[PCI_REVISION_ID],
                              pci_get_word(config + PCI_SUBSYSTEM_VENDOR_ID),
                              pci_get_word(config + PCI_SUBSYSTEM_ID));
}

/* The IDs come back from the stream: a host with another bridge refuses it */
static const VMStateDescription vfio_igd_lpc_vmstate = {
    .name = TYPE_VFIO_PCI_IGD_LPC_BRIDGE,
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (VMStateField[]) {
        VMSTATE_PCI_DEVICE(parent_obj, VFIOIGDLPCBridge),
        VMSTATE_END_OF_LIST()
    },
};

static void vfio_igd_lpc_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(klass);

    dc->desc = "ISA/LPC bridge with the host's IDs, for assigned Intel "
               "graphics (IGD)";
    dc->hotpluggable = false;
    dc->vmsd = &vfio_igd_lpc_vmstate;
    set_bit(DEVICE_CATEGORY_BRIDGE, dc->categories);
    k->realize = vfio_igd_lpc_realize;
    k->class_id = PCI_CLASS_BRIDGE_ISA;
}

static const TypeInfo vfio_igd_lpc_info = {
    .name = TYPE_VFIO_PCI_IGD_LPC_BRIDGE,
    .parent = TYPE_PCI_DEVICE,
    .instance_size = sizeof(VFIOIGDLPCBridge),
    .class_init = vfio_igd_lpc_class_init,
    .interfaces = (InterfaceInfo[]) {
        { INTERFACE_CONVENTIONAL_PCI_DEVICE },
        { }
    },
};

static void vfio_igd_register_types(void)
{
    type_register_static(&vfio_igd_lpc_info);
}

type_init(vfio_igd_register_types)
