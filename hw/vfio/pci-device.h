/*
 * vfio based device assignment support - PCI device model types
 *
 * The state that the parts of the vfio-pci model share, and what each
 * part offers the ones above it: pci.c (realize, BARs) uses them all,
 * pci-reset.c uses config and interrupts, pci-config.c the interrupts,
 * and everything the few helpers of pci-device.c.  The legacy VGA ranges
 * (vga.c), the device's display (display.c) and Intel graphics (igd.c)
 * serve pci.c alone; the device quirks (quirks.c) serve pci.c and
 * pci-reset.c.
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

#ifndef HW_VFIO_PCI_DEVICE_H
#define HW_VFIO_PCI_DEVICE_H

#include "hw/pci/pci.h"
#include "hw/vfio/vfio-common.h"
#include "pci-caps.h"
#include "qapi/qapi-types-common.h"
#include "qemu/event_notifier.h"
#include "qemu/range.h"
#include "qemu/timer.h"
#include "qom/object.h"

/* An x-pci-*-id property left unset: the device's own ID shows */
#define PCI_ANY_ID (~0U)

#define TYPE_VFIO_PCI "vfio-pci"
#define TYPE_VFIO_PCI_NOHOTPLUG "vfio-pci-nohotplug"
OBJECT_DECLARE_SIMPLE_TYPE(VFIOPCIDevice, VFIO_PCI)

/* A direct-mapped window into a BAR, laid around what must be emulated */
typedef struct VFIOMmap {
    MemoryRegion mem;
    void *mmap;
    off_t offset;                 /* of the window, within its BAR */
    size_t size;                  /* of the window */
    size_t map_size;              /* mmap'd: the window up to a host page */
    bool lost;                    /* the device's pages could not return */
} VFIOMmap;

typedef struct VFIOBAR {
    struct VFIOPCIDevice *vdev;   /* lets a BAR be MemoryRegionOps opaque */
    off_t fd_offset;              /* offset of the BAR within the device fd */
    uint64_t size;                /* on the host */
    uint64_t guest_size;          /* larger with the MSI-X table moved in */
    uint32_t flags;               /* VFIO region flags (rd/wr/mmap) */
    uint8_t nr;
    MemoryRegion mem;             /* slow path: pread/pwrite on the fd */
    VFIOMmap *mmaps;
    unsigned int nr_mmaps;
    bool sparse;                  /* only these areas may be mmap'd: */
    Range *areas;
    unsigned int nr_areas;
    bool msix_mappable;           /* MSI-X table and PBA may be mmap'd too */
} VFIOBAR;

typedef struct VFIOINTx {
    bool pending;                 /* asserted, waiting for the guest */
    bool kvm_accel;               /* KVM irqfd + resamplefd carry it */
    uint8_t pin;                  /* 0 = INTA# */
    EventNotifier interrupt;      /* the host signals the interrupt */
    EventNotifier unmask;         /* KVM signals the guest's EOI */
    PCIINTxRoute route;           /* where the pin goes, for KVM */
    QEMUTimer *mmap_timer;        /* restores the mmaps after a quiet spell */
} VFIOINTx;

typedef struct VFIOMSIVector {
    EventNotifier interrupt;      /* the host signals the vector */
    struct VFIOPCIDevice *vdev;
    int virq;                     /* KVM route, -1 for the userspace path */
    bool use;
} VFIOMSIVector;

typedef enum VFIOInterruptType {
    VFIO_INT_NONE = 0,
    VFIO_INT_INTx = 1,
    VFIO_INT_MSI  = 2,
    VFIO_INT_MSIX = 3,
} VFIOInterruptType;

/* Where the MSI-X table and PBA live, read before the BARs are set up */
typedef struct VFIOMSIXInfo {
    uint16_t entries;
    uint8_t table_bar;
    uint32_t table_offset;        /* within table_bar */
    uint8_t pba_bar;
    uint32_t pba_offset;          /* within pba_bar */
    bool noresize;                /* growing means disable and re-enable */
} VFIOMSIXInfo;

/* Why the BARs' mmaps are off (VFIOPCIDevice.fast_path_blocks) */
#define VFIO_FAST_PATH_INTX     BIT(0)  /* INTx pending, EOI on an access */
#define VFIO_FAST_PATH_DECODE   BIT(1)  /* the host does not decode memory */

/* What a guest can make the host refuse again and again: reported once */
typedef enum VFIOReportCause {
    VFIO_REPORT_MSI_ENABLE,
    VFIO_REPORT_MSI_PARTIAL,
    VFIO_REPORT_MSIX_ENABLE,
    VFIO_REPORT_MSIX_VECTOR,
    VFIO_REPORT_MSI_AND_MSIX,
    VFIO_REPORT_EVENTFD,
    VFIO_REPORT_INTX_ENABLE,
    VFIO_REPORT_KVM_INTX,
    VFIO_REPORT_CONFIG_ACCESS,
    VFIO_REPORT_BAR_ACCESS,
    VFIO_REPORT_VGA_ACCESS,
    VFIO_REPORT_RESET,
} VFIOReportCause;

typedef struct VFIOVGA VFIOVGA;          /* vga.c's */
typedef struct VFIODisplay VFIODisplay;  /* display.c's */
typedef struct VFIOQuirk VFIOQuirk;      /* quirks.c's */

struct VFIOPCIDevice {
    PCIDevice pdev;
    VFIODevice vbasedev;
    PCIHostDeviceAddress host;
    VFIOINTx intx;
    off_t config_offset;          /* config space within the device fd */
    unsigned int config_size;
    off_t rom_offset;
    uint64_t rom_size;
    uint8_t emulated_config_bits[PCIE_CONFIG_SPACE_SIZE]; /* as config */
    VFIOCapChain caps;            /* the device's chain, parsed once */
    uint8_t msi_cap_size;
    VFIOMSIVector *msi_vectors;
    VFIOMSIXInfo *msix;
    int nr_vectors;               /* MSI/MSI-X vectors enabled on the host */
    VFIOInterruptType interrupt;
    VFIOBAR bars[PCI_ROM_SLOT];
    uint8_t pm_cap;               /* power management capability, or 0 */
    uint8_t exp_size;             /* of the PCI Express capability */
    bool low_power;               /* the guest put the device in D1-D3 */
    bool has_flr;                 /* Function Level Reset, PCIe or AF */
    bool has_pm_reset;            /* D3hot to D0 resets it (No_Soft_Reset 0) */
    bool in_reset;                /* between reset enter and exit */
    bool needs_reset;             /* in a reset, not yet reset with its bus */
    bool pristine;                /* as the kernel's reset at open left it */
    EventNotifier err_notifier;   /* the host saw an uncorrectable error */
    EventNotifier req_notifier;   /* the host wants the device back */
    bool err_notifier_on;
    bool req_notifier_on;
    bool unplug_requested;        /* the host asked for the device */
    bool unplug_refused;          /* asking the guest failed: said once */
    unsigned int fast_path_blocks; /* VFIO_FAST_PATH_*; mmaps on when 0 */
    uint32_t reported;            /* BIT(VFIOReportCause) once reported */
    int32_t bootindex;
    bool migrated_intx_pending;   /* in the vmstate */
    Notifier machine_done;        /* checks that no guest IOMMU came after */
    VFIOVGA *vga;                 /* x-vga: the legacy ranges */
    VFIODisplay *dpy;             /* display: the device's screen */
    QLIST_HEAD(, VFIOQuirk) quirks; /* quirks.c's windows */
    /* properties */
    bool no_mmap;
    bool no_kvm_intx;
    bool no_kvm_msi;
    bool no_kvm_msix;
    bool msix_noresize;
    bool err_notifier_wanted;
    bool req_notifier_wanted;
    uint32_t intx_mmap_timeout_ms;
    bool igd_opregion;            /* x-igd-opregion */
    uint32_t igd_gms;             /* x-igd-gms: 32 MiB units, 0 the host's */
    bool vga_wanted;              /* x-vga */
    OnOffAuto display;
    uint32_t display_xres;
    uint32_t display_yres;
    bool ramfb_wanted;            /* vfio-pci-nohotplug's ramfb */
    bool skip_vsc_check;          /* vendor caps not compared on load */
    uint32_t vendor_id;           /* x-pci-*: what the guest sees, or */
    uint32_t device_id;           /* PCI_ANY_ID for the device's own */
    uint32_t sub_vendor_id;
    uint32_t sub_device_id;
    uint32_t class_code;
    bool no_geforce_quirks;
    uint8_t nv_gpudirect_clique;  /* 0-15, or 0xff for none */
    OffAutoPCIBAR msix_relocation;
    bool no_kvm_ioeventfd;
    bool no_vfio_ioeventfd;
};

/* pci-device.c, for every part of the model */
bool vfio_first_report(VFIOPCIDevice *vdev, VFIOReportCause cause);
void vfio_fast_path_block(VFIOPCIDevice *vdev, unsigned int reason,
                          bool block);
void vfio_emulate_config_range(VFIOPCIDevice *vdev, int pos, int len);
bool vfio_slow_path_read(VFIOPCIDevice *vdev, off_t off, unsigned size,
                         uint64_t *data, VFIOReportCause cause,
                         const char *what, int nr, hwaddr addr);
void vfio_slow_path_write(VFIOPCIDevice *vdev, off_t off, uint64_t data,
                          unsigned size, VFIOReportCause cause,
                          const char *what, int nr, hwaddr addr);
int vfio_bar_prot(VFIOBAR *bar);
bool vfio_mmap_to_anon(VFIOPCIDevice *vdev, VFIOMmap *m);

/* pci-config.c, for pci.c, pci-irq.c, pci-reset.c, quirks.c and igd.c */
uint32_t vfio_pci_read_config(PCIDevice *pdev, uint32_t addr, int len);
void vfio_pci_write_config(PCIDevice *pdev, uint32_t addr, uint32_t val,
                           int len);
bool vfio_read_config_space(VFIOPCIDevice *vdev, Error **errp);
void vfio_pcie_config_size(VFIOPCIDevice *vdev);
bool vfio_add_capabilities(VFIOPCIDevice *vdev, Error **errp);
bool vfio_host_config_read(VFIOPCIDevice *vdev, uint32_t addr, int len,
                           uint32_t *val);
void vfio_host_config_write(VFIOPCIDevice *vdev, uint32_t addr, uint32_t val,
                            int len);
void vfio_decode_update(VFIOPCIDevice *vdev);
uint8_t vfio_find_cap(VFIOPCIDevice *vdev, uint8_t id);
/* The config space state that migrates with the device's own (vmsd) */
extern const VMStateDescription vfio_pci_vmstate;

/* vga.c, for pci.c and quirks.c */
bool vfio_vga_setup(VFIOPCIDevice *vdev, Error **errp);
void vfio_vga_exit(VFIOPCIDevice *vdev);
void vfio_vga_finalize(VFIOPCIDevice *vdev);
MemoryRegion *vfio_vga_io_hi(VFIOPCIDevice *vdev);

/* quirks.c, for pci.c and pci-reset.c */
void vfio_quirks_msix(VFIOPCIDevice *vdev);
void vfio_quirks_bars(VFIOPCIDevice *vdev);
bool vfio_quirks_caps(VFIOPCIDevice *vdev, Error **errp);
void vfio_quirks_exit(VFIOPCIDevice *vdev);
void vfio_quirks_finalize(VFIOPCIDevice *vdev);
bool vfio_quirk_has_reset(VFIOPCIDevice *vdev);
bool vfio_quirk_reset(VFIOPCIDevice *vdev);

/* igd.c, for pci.c */
bool vfio_igd_setup(VFIOPCIDevice *vdev, Error **errp);

/* display.c, for pci.c */
bool vfio_display_setup(VFIOPCIDevice *vdev, Error **errp);
void vfio_display_exit(VFIOPCIDevice *vdev);

/* pci-notifiers.c, for pci.c */
void vfio_notifiers_setup(VFIOPCIDevice *vdev);
void vfio_notifiers_teardown(VFIOPCIDevice *vdev);

/* pci-reset.c, for pci.c */
void vfio_pci_quiesce(VFIOPCIDevice *vdev);
void vfio_pci_reset_probe(VFIOPCIDevice *vdev);
void vfio_pci_reset_enter(Object *obj, ResetType type);
void vfio_pci_reset_hold(Object *obj);
void vfio_pci_reset_exit(Object *obj);

/* pci-irq.c, for pci.c */
void vfio_intx_eoi(VFIOPCIDevice *vdev);
void vfio_intx_reenable(VFIOPCIDevice *vdev);
bool vfio_setup_intx(VFIOPCIDevice *vdev, Error **errp);
void vfio_teardown_intx(VFIOPCIDevice *vdev);
bool vfio_msi_setup(VFIOPCIDevice *vdev, int pos, Error **errp);
bool vfio_msix_setup(VFIOPCIDevice *vdev, int pos, Error **errp);
void vfio_teardown_msi(VFIOPCIDevice *vdev);
void vfio_disable_interrupts(VFIOPCIDevice *vdev);
void vfio_irq_write_config(VFIOPCIDevice *vdev, uint32_t addr, uint32_t val,
                           int len);
void vfio_irq_restore(VFIOPCIDevice *vdev, bool intx_pending);

#endif /* HW_VFIO_PCI_DEVICE_H */
