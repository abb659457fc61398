/*
 * vfio-pci: a bounded parser for the standard capability chain
 *
 * This work is licensed under the terms of the GNU GPL, version 2.  See
 * the COPYING file in the top-level directory.
 *
 * SPDX-License-Identifier: GPL-2.0-only
 */

#ifndef HW_VFIO_PCI_CAPS_H
#define HW_VFIO_PCI_CAPS_H

/*
 * No includes: the fixed-width types and bool come from qemu/osdep.h,
 * which every file including this one has included first.
 */

#define VFIO_STD_CAP_MAX 48   /* (256 - 64) / 4 dword-aligned places */

typedef enum VFIOCapFault {
    VFIO_CAP_OK = 0,
    VFIO_CAP_BAD_POINTER,   /* points into the header: the chain ends there */
    VFIO_CAP_LOOP,          /* points back into the chain: it ends there */
    VFIO_CAP_TOO_LONG,      /* runs into the next capability or past 0xff */
    VFIO_CAP_DUPLICATE,     /* a second MSI or MSI-X: hidden */
    VFIO_CAP_MSI_QSIZE,     /* MSI Multiple Message Capable 6 or 7: hidden */
} VFIOCapFault;

typedef struct VFIOCap {
    uint8_t id;
    uint8_t pos;            /* dword aligned, >= 0x40 */
    uint8_t size;           /* up to the next capability, or to 0x100 */
} VFIOCap;

typedef struct VFIOCapProblem {
    uint8_t id;             /* 0 when the pointer itself was bad */
    uint8_t pos;            /* BAD_POINTER/LOOP: the bad pointer value */
    VFIOCapFault fault;
} VFIOCapProblem;

typedef struct VFIOCapChain {
    VFIOCap caps[VFIO_STD_CAP_MAX];     /* the ones kept, in chain order */
    int nr_caps;
    /* one per hidden capability, plus the pointer that ended the walk */
    VFIOCapProblem problems[VFIO_STD_CAP_MAX + 1];
    int nr_problems;
} VFIOCapChain;

/* (4096 - 256) / 4 dword-aligned places in extended config space */
#define VFIO_EXT_CAP_MAX 960

typedef struct VFIOExtCap {
    uint16_t id;
    uint8_t version;
    bool hidden;            /* cannot work in a guest: see below */
    uint16_t pos;           /* dword aligned, >= 0x100 */
    uint16_t size;          /* up to the next capability, or to 0x1000 */
} VFIOExtCap;

typedef struct VFIOExtCapChain {
    VFIOExtCap caps[VFIO_EXT_CAP_MAX];  /* in chain order, hidden too */
    int nr_caps;
    /* the pointer that ended the walk when it was a bad one */
    uint16_t bad_next;
    VFIOCapFault fault;     /* VFIO_CAP_OK, _BAD_POINTER or _LOOP */
} VFIOExtCapChain;

/* Parses the chain of the 256-byte standard config space @config. */
void vfio_std_caps_parse(const uint8_t *config, VFIOCapChain *chain);

/*
 * Parses the extended capability chain of the 4096-byte @config.  A
 * header of 0 or all ones at 0x100 means there is none.
 */
void vfio_ext_caps_parse(const uint8_t *config, VFIOExtCapChain *chain);

/*
 * Why extended capability @id cannot be shown to a guest, or NULL:
 * SR-IOV (its VFs' BARs are read-only), ARI (needs next-function
 * virtualization), Resizable BAR and VF Resizable BAR (a BAR size the
 * guest picks cannot be kept read-only).
 */
const char *vfio_ext_cap_hidden_why(uint16_t id);

/* A short human phrase for a fault, e.g. "points into the header". */
const char *vfio_cap_fault_str(VFIOCapFault fault);

/*
 * How many bytes the capability at @pos of @config needs at least
 * (MSI: 10/14/20/24 from its flags, MSI-X 12, PM 8, anything else 2).
 */
uint8_t vfio_std_cap_min_size(const uint8_t *config, uint8_t pos);

/*
 * MSI-X table/PBA placement: NULL when sane, else a g_malloc'd message.
 * @entries is the table size (1..2048), @bar_sizes has 6 entries, 0 for
 * a BAR the device does not have.
 */
char *vfio_msix_placement_error(uint16_t entries,
                                uint8_t table_bar, uint32_t table_offset,
                                uint8_t pba_bar, uint32_t pba_offset,
                                const uint64_t *bar_sizes);

#endif /* HW_VFIO_PCI_CAPS_H */
