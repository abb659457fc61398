/*
 * vfio-pci: a bounded parser for the standard capability chain
 *
 * The chain comes from the device, and a broken or malicious device can
 * make it loop, point into the header, overlap or repeat itself.  This
 * walks it within the 256 bytes of standard config space, in at most
 * VFIO_STD_CAP_MAX steps, and says which capabilities are safe to expose
 * and what is wrong with the others.  It uses no QEMU API, so a host unit
 * test can feed it crafted config spaces.
 *
 * This work is licensed under the terms of the GNU GPL, version 2.  See
 * the COPYING file in the top-level directory.
 *
 * SPDX-License-Identifier: GPL-2.0-only
 */

#include "qemu/osdep.h"
#include "hw/pci/pci_regs.h"
#include "pci-caps.h"

/* QEMU's PCI_CONFIG_SPACE_SIZE lives in hw/pci/pci.h, which we avoid */
#define VFIO_STD_CONFIG_SIZE 0x100

#define VFIO_MSIX_MAX_ENTRIES 2048
#define VFIO_MSIX_ENTRY_SIZE 16
#define VFIO_NR_BARS 6

/*
 * The low two bits of every capability pointer are reserved; Linux masks
 * them too, so we see the same chain as the host kernel does.
 */
static uint8_t vfio_cap_ptr(const uint8_t *config, unsigned int offset)
{
    return config[offset] & 0xfc;
}

static uint16_t vfio_config_word(const uint8_t *config, unsigned int offset)
{
    /* Config space is little endian whatever the host is */
    return config[offset] | (config[offset + 1] << 8);
}

static void vfio_cap_problem(VFIOCapChain *chain, uint8_t id, uint8_t pos,
                             VFIOCapFault fault)
{
    VFIOCapProblem *p;

    /* One per visited place plus the pointer that ended the walk */
    g_assert(chain->nr_problems < (int)G_N_ELEMENTS(chain->problems));
    p = &chain->problems[chain->nr_problems++];
    p->id = id;
    p->pos = pos;
    p->fault = fault;
}

/*
 * Follows the pointers from 0x34 and writes the places visited, in chain
 * order, to @order.  Returns how many there are; @end gets the pointer
 * that ended the walk when it was a bad one (fault VFIO_CAP_OK if none).
 */
static int vfio_std_caps_walk(const uint8_t *config, uint8_t *order,
                              VFIOCapProblem *end)
{
    bool seen[VFIO_STD_CONFIG_SIZE] = { false };
    uint8_t ptr;
    int n = 0;

    end->fault = VFIO_CAP_OK;
    if (!(config[PCI_STATUS] & PCI_STATUS_CAP_LIST)) {
        return 0;
    }
    ptr = vfio_cap_ptr(config, PCI_CAPABILITY_LIST);
    while (ptr) {
        if (ptr < PCI_STD_HEADER_SIZEOF || seen[ptr]) {
            end->id = 0;
            end->pos = ptr;
            end->fault = seen[ptr] ? VFIO_CAP_LOOP : VFIO_CAP_BAD_POINTER;
            break;
        }
        /*
         * Only 48 aligned places exist above the header, so seen[] ends
         * any walk first; this keeps @order in bounds should that change.
         */
        if (n == VFIO_STD_CAP_MAX) {
            break;
        }
        seen[ptr] = true;
        order[n++] = ptr;
        ptr = vfio_cap_ptr(config, ptr + PCI_CAP_LIST_NEXT);
    }
    return n;
}

/*
 * The bytes a capability may use: up to the nearest visited place above
 * it, hidden ones included (their bytes are not free either), or to the
 * end of standard config space.
 */
static uint8_t vfio_cap_room(const uint8_t *order, int n, uint8_t pos)
{
    unsigned int end = VFIO_STD_CONFIG_SIZE;
    int i;

    for (i = 0; i < n; i++) {
        if (order[i] > pos && order[i] < end) {
            end = order[i];
        }
    }
    return end - pos;
}

uint8_t vfio_std_cap_min_size(const uint8_t *config, uint8_t pos)
{
    uint16_t flags;
    uint8_t size;

    switch (config[pos + PCI_CAP_LIST_ID]) {
    case PCI_CAP_ID_MSI:
        /* id, next, flags, 32-bit address, data */
        flags = vfio_config_word(config, pos + PCI_MSI_FLAGS);
        size = 10;
        if (flags & PCI_MSI_FLAGS_64BIT) {
            size += 4;      /* the upper address dword */
        }
        if (flags & PCI_MSI_FLAGS_MASKBIT) {
            size += 10;     /* 2 reserved bytes, mask and pending dwords */
        }
        return size;
    case PCI_CAP_ID_MSIX:
        return PCI_CAP_MSIX_SIZEOF;
    case PCI_CAP_ID_PM:
        return PCI_PM_SIZEOF;
    default:
        return 2;           /* id and next are all we know of */
    }
}

/*
 * Why the capability at @pos, with @room bytes, must be hidden, or
 * VFIO_CAP_OK.  @have_msi and @have_msix say whether an earlier one of
 * that kind was seen.
 */
static VFIOCapFault vfio_cap_check(const uint8_t *config, uint8_t pos,
                                   uint8_t room, bool have_msi,
                                   bool have_msix)
{
    uint8_t id = config[pos + PCI_CAP_LIST_ID];
    uint16_t flags;

    if (vfio_std_cap_min_size(config, pos) > room) {
        return VFIO_CAP_TOO_LONG;
    }
    if ((id == PCI_CAP_ID_MSI && have_msi) ||
        (id == PCI_CAP_ID_MSIX && have_msix)) {
        return VFIO_CAP_DUPLICATE;
    }
    if (id == PCI_CAP_ID_MSI) {
        /* 32 vectors is the most MSI has; 6 and 7 are reserved */
        flags = vfio_config_word(config, pos + PCI_MSI_FLAGS);
        if (((flags & PCI_MSI_FLAGS_QMASK) >> 1) > 5) {
            return VFIO_CAP_MSI_QSIZE;
        }
    }
    return VFIO_CAP_OK;
}

void vfio_std_caps_parse(const uint8_t *config, VFIOCapChain *chain)
{
    uint8_t order[VFIO_STD_CAP_MAX];
    VFIOCapProblem end;
    bool have_msi = false, have_msix = false;
    int n, i;

    memset(chain, 0, sizeof(*chain));
    n = vfio_std_caps_walk(config, order, &end);
    for (i = 0; i < n; i++) {
        uint8_t pos = order[i];
        uint8_t id = config[pos + PCI_CAP_LIST_ID];
        uint8_t room = vfio_cap_room(order, n, pos);
        VFIOCapFault fault = vfio_cap_check(config, pos, room,
                                            have_msi, have_msix);

        /*
         * The host kernel programs the first MSI and MSI-X it finds, so
         * that one claims the kind even when we hide it: exposing a later
         * one would give the guest registers nobody acts on.
         */
        have_msi |= id == PCI_CAP_ID_MSI;
        have_msix |= id == PCI_CAP_ID_MSIX;
        if (fault != VFIO_CAP_OK) {
            vfio_cap_problem(chain, id, pos, fault);
            continue;
        }
        chain->caps[chain->nr_caps].id = id;
        chain->caps[chain->nr_caps].pos = pos;
        chain->caps[chain->nr_caps].size = room;
        chain->nr_caps++;
    }
    /* Last, so that problems[] too is in chain order */
    if (end.fault != VFIO_CAP_OK) {
        vfio_cap_problem(chain, end.id, end.pos, end.fault);
    }
}

/*
 * The extended chain
 */
#define VFIO_EXT_CONFIG_SIZE 0x1000
#define VFIO_EXT_CAP_ID_VF_REBAR 0x24   /* newer than QEMU 7.2's headers */

static uint32_t vfio_config_long(const uint8_t *config, unsigned int offset)
{
    return vfio_config_word(config, offset) |
           ((uint32_t)vfio_config_word(config, offset + 2) << 16);
}

const char *vfio_ext_cap_hidden_why(uint16_t id)
{
    switch (id) {
    case PCI_EXT_CAP_ID_SRIOV:
        return "SR-IOV: its virtual functions' BARs cannot be assigned";
    case PCI_EXT_CAP_ID_ARI:
        return "ARI: needs next-function virtualization";
    case PCI_EXT_CAP_ID_REBAR:
    case VFIO_EXT_CAP_ID_VF_REBAR:
        return "Resizable BAR: the size a guest picks cannot be kept";
    default:
        return NULL;
    }
}

/* As for the standard chain, a capability's room ends at the next one. */
static void vfio_ext_caps_size(VFIOExtCapChain *chain)
{
    int i, j;

    for (i = 0; i < chain->nr_caps; i++) {
        unsigned int end = VFIO_EXT_CONFIG_SIZE;

        for (j = 0; j < chain->nr_caps; j++) {
            if (chain->caps[j].pos > chain->caps[i].pos &&
                chain->caps[j].pos < end) {
                end = chain->caps[j].pos;
            }
        }
        chain->caps[i].size = end - chain->caps[i].pos;
    }
}

void vfio_ext_caps_parse(const uint8_t *config, VFIOExtCapChain *chain)
{
    bool seen[VFIO_EXT_CONFIG_SIZE / 4] = { false };
    unsigned int pos = VFIO_STD_CONFIG_SIZE;
    uint32_t header = vfio_config_long(config, pos);

    memset(chain, 0, sizeof(*chain));
    if (header == 0 || header == UINT32_MAX) {
        return;
    }
    while (pos) {
        VFIOExtCap *cap;

        if (pos < VFIO_STD_CONFIG_SIZE || seen[pos / 4]) {
            chain->bad_next = pos;
            chain->fault = seen[pos / 4] ? VFIO_CAP_LOOP
                                         : VFIO_CAP_BAD_POINTER;
            break;
        }
        /* seen[] has VFIO_EXT_CAP_MAX places above 0x100: caps[] holds all */
        seen[pos / 4] = true;
        header = vfio_config_long(config, pos);
        cap = &chain->caps[chain->nr_caps++];
        cap->id = PCI_EXT_CAP_ID(header);
        cap->version = PCI_EXT_CAP_VER(header);
        cap->pos = pos;
        cap->hidden = vfio_ext_cap_hidden_why(cap->id) != NULL;
        pos = PCI_EXT_CAP_NEXT(header);
    }
    vfio_ext_caps_size(chain);
}

const char *vfio_cap_fault_str(VFIOCapFault fault)
{
    switch (fault) {
    case VFIO_CAP_OK:
        return "is fine";
    case VFIO_CAP_BAD_POINTER:
        return "points into the header";
    case VFIO_CAP_LOOP:
        return "points back into the chain";
    case VFIO_CAP_TOO_LONG:
        return "runs into the next capability or past 0xff";
    case VFIO_CAP_DUPLICATE:
        return "repeats an earlier MSI or MSI-X capability";
    case VFIO_CAP_MSI_QSIZE:
        return "claims a reserved MSI Multiple Message Capable value";
    }
    return "has an unknown fault";
}

/*
 * What is wrong with @what (the table or the PBA), @size bytes at @offset
 * of BAR @bir, on its own; NULL when nothing is.  The end is computed in
 * 64 bits so that an offset near 4 GiB cannot wrap back into the BAR.
 */
static char *vfio_msix_region_error(const char *what, uint8_t bir,
                                    uint32_t offset, uint64_t size,
                                    const uint64_t *bar_sizes)
{
    uint64_t end = (uint64_t)offset + size;

    if (bir >= VFIO_NR_BARS) {
        return g_strdup_printf("MSI-X %s is in BAR %u, which no device has",
                               what, bir);
    }
    if (!bar_sizes[bir]) {
        return g_strdup_printf("MSI-X %s is in BAR %u, which this device "
                               "does not have", what, bir);
    }
    if (end > bar_sizes[bir]) {
        return g_strdup_printf("MSI-X %s [0x%" PRIx32 ", 0x%" PRIx64 ") "
                               "runs past the end of BAR %u (0x%" PRIx64
                               " bytes)", what, offset, end, bir,
                               bar_sizes[bir]);
    }
    return NULL;
}

char *vfio_msix_placement_error(uint16_t entries,
                                uint8_t table_bar, uint32_t table_offset,
                                uint8_t pba_bar, uint32_t pba_offset,
                                const uint64_t *bar_sizes)
{
    uint64_t table_size = (uint64_t)entries * VFIO_MSIX_ENTRY_SIZE;
    /* One pending bit per entry, in whole qwords */
    uint64_t pba_size = (entries + 63) / 64 * 8;
    char *err;

    if (entries < 1 || entries > VFIO_MSIX_MAX_ENTRIES) {
        return g_strdup_printf("MSI-X has %u entries, not 1 to %u",
                               entries, VFIO_MSIX_MAX_ENTRIES);
    }
    err = vfio_msix_region_error("table", table_bar, table_offset,
                                 table_size, bar_sizes);
    if (!err) {
        err = vfio_msix_region_error("PBA", pba_bar, pba_offset, pba_size,
                                     bar_sizes);
    }
    if (!err && table_bar == pba_bar &&
        table_offset < pba_offset + pba_size &&
        pba_offset < table_offset + table_size) {
        err = g_strdup_printf("MSI-X table [0x%" PRIx32 ", 0x%" PRIx64 ") "
                              "and PBA [0x%" PRIx32 ", 0x%" PRIx64 ") "
                              "overlap in BAR %u", table_offset,
                              table_offset + table_size, pba_offset,
                              pba_offset + pba_size, table_bar);
    }
    return err;
}
