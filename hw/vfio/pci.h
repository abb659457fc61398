/*
 * vfio based device assignment support - PCI device model types
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

#ifndef HW_VFIO_PCI_H
#define HW_VFIO_PCI_H

#include "hw/pci/pci.h"
#include "hw/vfio/vfio-common.h"
#include "qemu/event_notifier.h"
#include "qemu/timer.h"
#include "qom/object.h"

#define TYPE_VFIO_PCI "vfio-pci"
OBJECT_DECLARE_SIMPLE_TYPE(VFIOPCIDevice, VFIO_PCI)

/* A direct-mapped window into a BAR, laid around what must be emulated */
typedef struct VFIOMmap {
    MemoryRegion mem;
    void *mmap;
    hwaddr offset;                /* within the BAR */
    size_t size;
} VFIOMmap;

/* The MSI-X table and PBA split a BAR into at most three mmap windows. */
#define VFIO_BAR_MAX_MMAPS 3

typedef struct VFIOBAR {
    struct VFIOPCIDevice *vdev;   /* lets a BAR be MemoryRegionOps opaque */
    off_t fd_offset;              /* offset of the BAR within the device fd */
    uint64_t size;
    uint32_t flags;               /* VFIO region flags (rd/wr/mmap) */
    uint8_t nr;
    bool ioport;
    MemoryRegion mem;             /* slow path: pread/pwrite on the fd */
    VFIOMmap mmaps[VFIO_BAR_MAX_MMAPS];
    unsigned int nr_mmaps;
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
} VFIOMSIXInfo;

struct VFIOPCIDevice {
    PCIDevice pdev;
    VFIODevice vbasedev;
    PCIHostDeviceAddress host;
    VFIOINTx intx;
    off_t config_offset;          /* config space within the device fd */
    unsigned int config_size;
    off_t rom_offset;
    uint64_t rom_size;
    uint8_t emulated_config_bits[PCI_CONFIG_SPACE_SIZE];
    uint8_t msi_cap_size;
    VFIOMSIVector *msi_vectors;
    VFIOMSIXInfo *msix;
    int nr_vectors;               /* MSI/MSI-X vectors enabled on the host */
    VFIOInterruptType interrupt;
    VFIOBAR bars[PCI_ROM_SLOT];
    uint8_t pm_cap;               /* power management capability, or 0 */
    bool low_power;               /* the guest put the device in D1-D3 */
    int32_t bootindex;
    /* properties */
    bool no_mmap;
    bool no_kvm_intx;
    bool no_kvm_msi;
    bool no_kvm_msix;
    uint32_t intx_mmap_timeout_ms;
};

#endif /* HW_VFIO_PCI_H */
