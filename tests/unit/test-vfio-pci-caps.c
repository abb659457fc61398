/*
 * Host unit test for hw/vfio/pci-caps.c
 *
 * Feeds the capability chain parser and the MSI-X placement check crafted
 * config spaces and BAR layouts, the kind a broken or malicious device
 * could present, without QEMU or a device.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/pci/pci_regs.h"
#include "pci-caps.h"

#define CONFIG_SIZE 256
#define CAP_ID_VNDR 0x09    /* vendor specific: needs only id and next */
#define MAX_SPECS 8

/* A capability to write into a crafted config space */
typedef struct CapSpec {
    uint8_t pos;            /* 0 ends the list */
    uint8_t id;
    uint8_t next;           /* written as is, reserved bits included */
    uint16_t flags;         /* the word at pos + 2 */
} CapSpec;

typedef struct ChainCase {
    const char *path;
    bool no_cap_list;       /* leave PCI_STATUS_CAP_LIST clear */
    uint8_t first;          /* the byte at 0x34 */
    CapSpec caps[MAX_SPECS];
    VFIOCap kept[MAX_SPECS];            /* pos 0 ends the list */
    VFIOCapProblem problems[MAX_SPECS]; /* VFIO_CAP_OK ends the list */
} ChainCase;

static void config_init(uint8_t *config, bool cap_list, uint8_t first)
{
    memset(config, 0, CONFIG_SIZE);
    config[PCI_STATUS] = cap_list ? PCI_STATUS_CAP_LIST : 0;
    config[PCI_CAPABILITY_LIST] = first;
}

static void cap_put(uint8_t *config, const CapSpec *cap)
{
    config[cap->pos + PCI_CAP_LIST_ID] = cap->id;
    config[cap->pos + PCI_CAP_LIST_NEXT] = cap->next;
    config[cap->pos + 2] = cap->flags & 0xff;
    config[cap->pos + 3] = cap->flags >> 8;
}

/* What must hold for any config space, however broken */
static void check_invariants(const VFIOCapChain *chain)
{
    int i;

    g_assert_cmpint(chain->nr_caps, >=, 0);
    g_assert_cmpint(chain->nr_caps, <=, VFIO_STD_CAP_MAX);
    g_assert_cmpint(chain->nr_problems, >=, 0);
    g_assert_cmpint(chain->nr_problems, <=, VFIO_STD_CAP_MAX + 1);
    for (i = 0; i < chain->nr_caps; i++) {
        g_assert_cmphex(chain->caps[i].pos, >=, PCI_STD_HEADER_SIZEOF);
        g_assert_cmphex(chain->caps[i].pos % 4, ==, 0);
        g_assert_cmpuint(chain->caps[i].pos + chain->caps[i].size, <=,
                         CONFIG_SIZE);
    }
    for (i = 0; i < chain->nr_problems; i++) {
        g_assert_cmpint(chain->problems[i].fault, !=, VFIO_CAP_OK);
        g_assert_nonnull(vfio_cap_fault_str(chain->problems[i].fault));
    }
}

static void check_cap(const VFIOCap *got, uint8_t id, uint8_t pos,
                      uint8_t size)
{
    g_assert_cmphex(got->id, ==, id);
    g_assert_cmphex(got->pos, ==, pos);
    g_assert_cmphex(got->size, ==, size);
}

static void check_problem(const VFIOCapProblem *got, uint8_t id, uint8_t pos,
                          VFIOCapFault fault)
{
    g_assert_cmpint(got->fault, ==, fault);
    g_assert_cmphex(got->id, ==, id);
    g_assert_cmphex(got->pos, ==, pos);
}

static void test_chain_case(gconstpointer opaque)
{
    const ChainCase *c = opaque;
    uint8_t config[CONFIG_SIZE];
    VFIOCapChain chain;
    int i;

    config_init(config, !c->no_cap_list, c->first);
    for (i = 0; i < MAX_SPECS && c->caps[i].pos; i++) {
        cap_put(config, &c->caps[i]);
    }
    vfio_std_caps_parse(config, &chain);
    check_invariants(&chain);

    for (i = 0; i < MAX_SPECS && c->kept[i].pos; i++) {
        g_assert_cmpint(i, <, chain.nr_caps);
        check_cap(&chain.caps[i], c->kept[i].id, c->kept[i].pos,
                  c->kept[i].size);
    }
    g_assert_cmpint(chain.nr_caps, ==, i);

    for (i = 0; i < MAX_SPECS && c->problems[i].fault; i++) {
        g_assert_cmpint(i, <, chain.nr_problems);
        check_problem(&chain.problems[i], c->problems[i].id,
                      c->problems[i].pos, c->problems[i].fault);
    }
    g_assert_cmpint(chain.nr_problems, ==, i);
}

#define MSI_64_MASK (PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT)
#define MSI_MMC(n) ((n) << 1)   /* Multiple Message Capable, bits 3:1 */

static const ChainCase chain_cases[] = {
    {
        .path = "/vfio-pci-caps/no-cap-list",
        .no_cap_list = true, .first = 0x40,
        .caps = { { 0x40, PCI_CAP_ID_PM, 0 } },
    }, {
        .path = "/vfio-pci-caps/zero-pointer",
        .first = 0,
        .caps = { { 0x40, PCI_CAP_ID_PM, 0 } },
    }, {
        .path = "/vfio-pci-caps/well-formed",
        .first = 0x40,
        .caps = {
            { 0x40, PCI_CAP_ID_PM, 0x50 },
            { 0x50, PCI_CAP_ID_MSI, 0x70, MSI_64_MASK },
            { 0x70, PCI_CAP_ID_MSIX, 0x80 },
            { 0x80, PCI_CAP_ID_EXP, 0 },
        },
        .kept = {
            { PCI_CAP_ID_PM, 0x40, 0x10 },
            { PCI_CAP_ID_MSI, 0x50, 0x20 },
            { PCI_CAP_ID_MSIX, 0x70, 0x10 },
            { PCI_CAP_ID_EXP, 0x80, 0x80 },
        },
    }, {
        /* Rooms go to the next place up, not to the next in the chain */
        .path = "/vfio-pci-caps/out-of-order",
        .first = 0x80,
        .caps = {
            { 0x80, PCI_CAP_ID_EXP, 0x40 },
            { 0x40, PCI_CAP_ID_PM, 0x60 },
            { 0x60, PCI_CAP_ID_MSIX, 0 },
        },
        .kept = {
            { PCI_CAP_ID_EXP, 0x80, 0x80 },
            { PCI_CAP_ID_PM, 0x40, 0x20 },
            { PCI_CAP_ID_MSIX, 0x60, 0x20 },
        },
    }, {
        .path = "/vfio-pci-caps/loop",
        .first = 0x40,
        .caps = {
            { 0x40, CAP_ID_VNDR, 0x50 },
            { 0x50, PCI_CAP_ID_PM, 0x40 },
        },
        .kept = {
            { CAP_ID_VNDR, 0x40, 0x10 },
            { PCI_CAP_ID_PM, 0x50, 0xb0 },
        },
        .problems = { { 0, 0x40, VFIO_CAP_LOOP } },
    }, {
        .path = "/vfio-pci-caps/self-loop",
        .first = 0x40,
        .caps = { { 0x40, PCI_CAP_ID_PM, 0x40 } },
        .kept = { { PCI_CAP_ID_PM, 0x40, 0xc0 } },
        .problems = { { 0, 0x40, VFIO_CAP_LOOP } },
    }, {
        .path = "/vfio-pci-caps/first-into-header",
        .first = 0x20,
        .problems = { { 0, 0x20, VFIO_CAP_BAD_POINTER } },
    }, {
        .path = "/vfio-pci-caps/next-into-header",
        .first = 0x40,
        .caps = {
            { 0x40, PCI_CAP_ID_PM, 0x50 },
            { 0x50, CAP_ID_VNDR, 0x08 },
        },
        .kept = {
            { PCI_CAP_ID_PM, 0x40, 0x10 },
            { CAP_ID_VNDR, 0x50, 0xb0 },
        },
        .problems = { { 0, 0x08, VFIO_CAP_BAD_POINTER } },
    }, {
        /* The reserved low bits are masked, so 0x02 ends the chain */
        .path = "/vfio-pci-caps/unaligned",
        .first = 0x43,
        .caps = {
            { 0x40, PCI_CAP_ID_PM, 0x51 },
            { 0x50, PCI_CAP_ID_MSIX, 0x02 },
        },
        .kept = {
            { PCI_CAP_ID_PM, 0x40, 0x10 },
            { PCI_CAP_ID_MSIX, 0x50, 0xb0 },
        },
    }, {
        .path = "/vfio-pci-caps/past-end",
        .first = 0x40,
        .caps = {
            { 0x40, CAP_ID_VNDR, 0xfc },
            { 0xfc, PCI_CAP_ID_PM, 0 },
        },
        .kept = { { CAP_ID_VNDR, 0x40, 0xbc } },
        .problems = { { PCI_CAP_ID_PM, 0xfc, VFIO_CAP_TOO_LONG } },
    }, {
        /* 24 bytes of MSI in 16; the hidden one's bytes stay taken */
        .path = "/vfio-pci-caps/msi-into-next",
        .first = 0x40,
        .caps = {
            { 0x40, PCI_CAP_ID_PM, 0x48 },
            { 0x48, PCI_CAP_ID_MSI, 0x58, MSI_64_MASK },
            { 0x58, CAP_ID_VNDR, 0 },
        },
        .kept = {
            { PCI_CAP_ID_PM, 0x40, 0x08 },
            { CAP_ID_VNDR, 0x58, 0xa8 },
        },
        .problems = { { PCI_CAP_ID_MSI, 0x48, VFIO_CAP_TOO_LONG } },
    }, {
        /* 32-bit MSI with masking needs 20 bytes: exactly its room */
        .path = "/vfio-pci-caps/msi-fits-exactly",
        .first = 0x40,
        .caps = {
            { 0x40, PCI_CAP_ID_MSI, 0x54, PCI_MSI_FLAGS_MASKBIT },
            { 0x54, CAP_ID_VNDR, 0 },
        },
        .kept = {
            { PCI_CAP_ID_MSI, 0x40, 0x14 },
            { CAP_ID_VNDR, 0x54, 0xac },
        },
    }, {
        .path = "/vfio-pci-caps/duplicate-msi",
        .first = 0x40,
        .caps = {
            { 0x40, PCI_CAP_ID_MSI, 0x50 },
            { 0x50, PCI_CAP_ID_MSI, 0 },
        },
        .kept = { { PCI_CAP_ID_MSI, 0x40, 0x10 } },
        .problems = { { PCI_CAP_ID_MSI, 0x50, VFIO_CAP_DUPLICATE } },
    }, {
        .path = "/vfio-pci-caps/duplicate-msix",
        .first = 0x40,
        .caps = {
            { 0x40, PCI_CAP_ID_MSIX, 0x50 },
            { 0x50, PCI_CAP_ID_PM, 0x60 },
            { 0x60, PCI_CAP_ID_MSIX, 0x70 },
            { 0x70, PCI_CAP_ID_MSIX, 0 },
        },
        .kept = {
            { PCI_CAP_ID_MSIX, 0x40, 0x10 },
            { PCI_CAP_ID_PM, 0x50, 0x10 },
        },
        .problems = {
            { PCI_CAP_ID_MSIX, 0x60, VFIO_CAP_DUPLICATE },
            { PCI_CAP_ID_MSIX, 0x70, VFIO_CAP_DUPLICATE },
        },
    }, {
        /* The first MSI claims the kind even when it is hidden */
        .path = "/vfio-pci-caps/duplicate-after-hidden",
        .first = 0x40,
        .caps = {
            { 0x40, PCI_CAP_ID_MSI, 0x48, MSI_64_MASK },
            { 0x48, PCI_CAP_ID_MSI, 0 },
        },
        .problems = {
            { PCI_CAP_ID_MSI, 0x40, VFIO_CAP_TOO_LONG },
            { PCI_CAP_ID_MSI, 0x48, VFIO_CAP_DUPLICATE },
        },
    }, {
        /* 5 (32 vectors) is the largest valid value */
        .path = "/vfio-pci-caps/msi-mmc",
        .first = 0x40,
        .caps = {
            { 0x40, PCI_CAP_ID_MSI, 0, MSI_MMC(5) },
        },
        .kept = { { PCI_CAP_ID_MSI, 0x40, 0xc0 } },
    }, {
        .path = "/vfio-pci-caps/msi-mmc-6",
        .first = 0x40,
        .caps = {
            { 0x40, PCI_CAP_ID_MSI, 0x50, MSI_MMC(6) },
            { 0x50, PCI_CAP_ID_PM, 0 },
        },
        .kept = { { PCI_CAP_ID_PM, 0x50, 0xb0 } },
        .problems = { { PCI_CAP_ID_MSI, 0x40, VFIO_CAP_MSI_QSIZE } },
    }, {
        .path = "/vfio-pci-caps/msi-mmc-7",
        .first = 0x40,
        .caps = {
            { 0x40, PCI_CAP_ID_MSI, 0, MSI_MMC(7) | PCI_MSI_FLAGS_64BIT },
        },
        .problems = { { PCI_CAP_ID_MSI, 0x40, VFIO_CAP_MSI_QSIZE } },
    },
};

/*
 * Every one of the 48 places holds a capability.  @step 4 walks them up
 * from 0x40, -4 down from 0xfc; @loop makes the last point back at the
 * first.  Each owns the 4 bytes up to the next place up.
 */
static void check_full_chain(int step, bool loop)
{
    uint8_t config[CONFIG_SIZE];
    uint8_t first = step > 0 ? 0x40 : 0xfc;
    uint8_t last = first + step * (VFIO_STD_CAP_MAX - 1);
    VFIOCapChain chain;
    int i;

    config_init(config, true, first);
    for (i = 0; i < VFIO_STD_CAP_MAX; i++) {
        CapSpec cap = {
            .pos = first + step * i,
            .id = CAP_ID_VNDR,
            .next = first + step * (i + 1),
        };

        if (cap.pos == last) {
            cap.next = loop ? first : 0;
        }
        cap_put(config, &cap);
    }
    vfio_std_caps_parse(config, &chain);
    check_invariants(&chain);

    g_assert_cmpint(chain.nr_caps, ==, VFIO_STD_CAP_MAX);
    for (i = 0; i < VFIO_STD_CAP_MAX; i++) {
        check_cap(&chain.caps[i], CAP_ID_VNDR, first + step * i, 4);
    }
    g_assert_cmpint(chain.nr_problems, ==, loop ? 1 : 0);
    if (loop) {
        check_problem(&chain.problems[0], 0, first, VFIO_CAP_LOOP);
    }
}

static void test_max_length(void)
{
    check_full_chain(4, false);
}

static void test_max_length_loop(void)
{
    check_full_chain(4, true);
}

static void test_max_length_down(void)
{
    check_full_chain(-4, false);
}

/* Whatever the bytes, the walk ends and stays inside the invariants */
static void test_random(void)
{
    uint8_t config[CONFIG_SIZE];
    VFIOCapChain chain;
    int round, i;

    for (round = 0; round < 10000; round++) {
        for (i = 0; i < CONFIG_SIZE; i++) {
            config[i] = g_test_rand_int_range(0, 256);
        }
        config[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
        vfio_std_caps_parse(config, &chain);
        check_invariants(&chain);
    }
}

static void test_min_size(void)
{
    static const struct {
        uint8_t id;
        uint16_t flags;
        uint8_t size;
    } sizes[] = {
        { PCI_CAP_ID_MSI, 0, 10 },
        { PCI_CAP_ID_MSI, PCI_MSI_FLAGS_64BIT, 14 },
        { PCI_CAP_ID_MSI, PCI_MSI_FLAGS_MASKBIT, 20 },
        { PCI_CAP_ID_MSI, MSI_64_MASK, 24 },
        { PCI_CAP_ID_MSIX, 0, 12 },
        { PCI_CAP_ID_PM, 0, 8 },
        { PCI_CAP_ID_EXP, 0, 2 },
    };
    uint8_t config[CONFIG_SIZE];
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(sizes); i++) {
        CapSpec cap = { 0xfc, sizes[i].id, 0, sizes[i].flags };

        config_init(config, true, cap.pos);
        cap_put(config, &cap);
        g_assert_cmpuint(vfio_std_cap_min_size(config, cap.pos), ==,
                         sizes[i].size);
    }
}

typedef struct PlacementCase {
    const char *path;
    uint16_t entries;
    uint8_t table_bar;
    uint32_t table_offset;
    uint8_t pba_bar;
    uint32_t pba_offset;
    uint64_t bar_sizes[6];
    const char *error;      /* NULL when the placement is sane */
} PlacementCase;

static void test_placement_case(gconstpointer opaque)
{
    const PlacementCase *c = opaque;
    g_autofree char *err = vfio_msix_placement_error(c->entries,
                                                     c->table_bar,
                                                     c->table_offset,
                                                     c->pba_bar,
                                                     c->pba_offset,
                                                     c->bar_sizes);

    g_assert_cmpstr(err, ==, c->error);
}

static const PlacementCase placement_cases[] = {
    {
        "/vfio-pci-caps/msix/fine",
        16, 0, 0x0, 0, 0x800, { 0x1000 },
        NULL,
    }, {
        "/vfio-pci-caps/msix/table-past-end",
        64, 0, 0x3000, 2, 0x0, { 0x2000, 0, 0x1000 },
        "MSI-X table [0x3000, 0x3400) runs past the end of BAR 0 "
        "(0x2000 bytes)",
    }, {
        /* 65 entries need two qwords of pending bits */
        "/vfio-pci-caps/msix/pba-past-end",
        65, 0, 0x0, 2, 0xff8, { 0x2000, 0, 0x1000 },
        "MSI-X PBA [0xff8, 0x1008) runs past the end of BAR 2 "
        "(0x1000 bytes)",
    }, {
        "/vfio-pci-caps/msix/pba-fits",
        65, 0, 0x0, 2, 0xff0, { 0x2000, 0, 0x1000 },
        NULL,
    }, {
        /* In 32 bits the end would wrap to 0x8, inside the 4 GiB BAR */
        "/vfio-pci-caps/msix/table-wrap",
        1, 0, 0xfffffff8, 2, 0x0, { 0x100000000ULL, 0, 0x1000 },
        "MSI-X table [0xfffffff8, 0x100000008) runs past the end of BAR 0 "
        "(0x100000000 bytes)",
    }, {
        "/vfio-pci-caps/msix/pba-wrap",
        1, 2, 0x0, 0, 0xfffffffc, { 0x100000000ULL, 0, 0x1000 },
        "MSI-X PBA [0xfffffffc, 0x100000004) runs past the end of BAR 0 "
        "(0x100000000 bytes)",
    }, {
        "/vfio-pci-caps/msix/table-bir-6",
        16, 6, 0x0, 0, 0x800, { 0x1000 },
        "MSI-X table is in BAR 6, which no device has",
    }, {
        "/vfio-pci-caps/msix/pba-bir-7",
        16, 0, 0x0, 7, 0x0, { 0x1000 },
        "MSI-X PBA is in BAR 7, which no device has",
    }, {
        "/vfio-pci-caps/msix/missing-bar",
        16, 1, 0x0, 0, 0x800, { 0x1000 },
        "MSI-X table is in BAR 1, which this device does not have",
    }, {
        "/vfio-pci-caps/msix/overlap",
        16, 3, 0x0, 3, 0x80, { [3] = 0x1000 },
        "MSI-X table [0x0, 0x100) and PBA [0x80, 0x88) overlap in BAR 3",
    }, {
        "/vfio-pci-caps/msix/pba-before-table",
        16, 3, 0x100, 3, 0xfc, { [3] = 0x1000 },
        "MSI-X table [0x100, 0x200) and PBA [0xfc, 0x104) overlap in BAR 3",
    }, {
        "/vfio-pci-caps/msix/adjacent",
        16, 3, 0x0, 3, 0x100, { [3] = 0x1000 },
        NULL,
    }, {
        "/vfio-pci-caps/msix/table-fills-bar",
        2048, 4, 0x0, 5, 0x0, { [4] = 0x8000, [5] = 0x1000 },
        NULL,
    }, {
        "/vfio-pci-caps/msix/no-entries",
        0, 0, 0x0, 0, 0x800, { 0x1000 },
        "MSI-X has 0 entries, not 1 to 2048",
    }, {
        "/vfio-pci-caps/msix/too-many-entries",
        2049, 0, 0x0, 1, 0x0, { 0x10000, 0x1000 },
        "MSI-X has 2049 entries, not 1 to 2048",
    },
};

/*
 * The extended chain
 */
#define EXT_CONFIG_SIZE 4096

static void ext_put(uint8_t *config, uint16_t pos, uint16_t id,
                    uint8_t ver, uint16_t next)
{
    uint32_t header = id | (ver << 16) | ((uint32_t)next << 20);

    config[pos] = header;
    config[pos + 1] = header >> 8;
    config[pos + 2] = header >> 16;
    config[pos + 3] = header >> 24;
}

static void test_ext_none(void)
{
    g_autofree uint8_t *config = g_malloc0(EXT_CONFIG_SIZE);
    g_autofree VFIOExtCapChain *chain = g_new(VFIOExtCapChain, 1);

    vfio_ext_caps_parse(config, chain);
    g_assert_cmpint(chain->nr_caps, ==, 0);
    memset(config + 0x100, 0xff, 4);    /* what a gone device reads */
    vfio_ext_caps_parse(config, chain);
    g_assert_cmpint(chain->nr_caps, ==, 0);
    g_assert_cmpint(chain->fault, ==, VFIO_CAP_OK);
}

/* e1000e-like AER and DSN, and an nvme-like SR-IOV and ARI, interleaved */
static void test_ext_chain(void)
{
    static const VFIOExtCap want[] = {
        { PCI_EXT_CAP_ID_ERR, 2, false, 0x100, 0x40 },
        { PCI_EXT_CAP_ID_SRIOV, 1, true, 0x160, 0x40 },
        { PCI_EXT_CAP_ID_DSN, 1, false, 0x140, 0x20 },
        { PCI_EXT_CAP_ID_ARI, 1, true, 0x1a0, 0xe60 },
    };
    g_autofree uint8_t *config = g_malloc0(EXT_CONFIG_SIZE);
    g_autofree VFIOExtCapChain *chain = g_new(VFIOExtCapChain, 1);
    size_t i;

    ext_put(config, 0x100, PCI_EXT_CAP_ID_ERR, 2, 0x160);
    ext_put(config, 0x160, PCI_EXT_CAP_ID_SRIOV, 1, 0x140);
    ext_put(config, 0x140, PCI_EXT_CAP_ID_DSN, 1, 0x1a3);  /* low bits */
    ext_put(config, 0x1a0, PCI_EXT_CAP_ID_ARI, 1, 0);
    vfio_ext_caps_parse(config, chain);
    g_assert_cmpint(chain->nr_caps, ==, G_N_ELEMENTS(want));
    g_assert_cmpint(chain->fault, ==, VFIO_CAP_OK);
    for (i = 0; i < G_N_ELEMENTS(want); i++) {
        g_assert_cmpint(chain->caps[i].id, ==, want[i].id);
        g_assert_cmpint(chain->caps[i].version, ==, want[i].version);
        g_assert_cmpint(chain->caps[i].hidden, ==, want[i].hidden);
        g_assert_cmpint(chain->caps[i].pos, ==, want[i].pos);
        g_assert_cmpint(chain->caps[i].size, ==, want[i].size);
    }
}

static void test_ext_bad_pointers(void)
{
    g_autofree uint8_t *config = g_malloc0(EXT_CONFIG_SIZE);
    g_autofree VFIOExtCapChain *chain = g_new(VFIOExtCapChain, 1);

    ext_put(config, 0x100, PCI_EXT_CAP_ID_ERR, 2, 0x200);
    ext_put(config, 0x200, PCI_EXT_CAP_ID_DSN, 1, 0x100);
    vfio_ext_caps_parse(config, chain);
    g_assert_cmpint(chain->nr_caps, ==, 2);
    g_assert_cmpint(chain->fault, ==, VFIO_CAP_LOOP);
    g_assert_cmpint(chain->bad_next, ==, 0x100);

    ext_put(config, 0x200, PCI_EXT_CAP_ID_DSN, 1, 0x40);
    vfio_ext_caps_parse(config, chain);
    g_assert_cmpint(chain->nr_caps, ==, 2);
    g_assert_cmpint(chain->fault, ==, VFIO_CAP_BAD_POINTER);
    g_assert_cmpint(chain->bad_next, ==, 0x40);
    g_assert_cmpint(chain->caps[1].size, ==, 0xe00);
}

/* Every place used once, in either direction: all 960 are walked */
static void test_ext_max_length(void)
{
    g_autofree uint8_t *config = g_malloc0(EXT_CONFIG_SIZE);
    g_autofree VFIOExtCapChain *chain = g_new(VFIOExtCapChain, 1);
    unsigned int pos;

    for (pos = 0x100; pos < EXT_CONFIG_SIZE; pos += 4) {
        ext_put(config, pos, PCI_EXT_CAP_ID_DSN, 1,
                pos + 4 < EXT_CONFIG_SIZE ? pos + 4 : 0);
    }
    vfio_ext_caps_parse(config, chain);
    g_assert_cmpint(chain->nr_caps, ==, VFIO_EXT_CAP_MAX);
    g_assert_cmpint(chain->fault, ==, VFIO_CAP_OK);
    ext_put(config, EXT_CONFIG_SIZE - 4, PCI_EXT_CAP_ID_DSN, 1, 0x100);
    vfio_ext_caps_parse(config, chain);
    g_assert_cmpint(chain->nr_caps, ==, VFIO_EXT_CAP_MAX);
    g_assert_cmpint(chain->fault, ==, VFIO_CAP_LOOP);
}

static void test_ext_random(void)
{
    g_autofree uint8_t *config = g_malloc(EXT_CONFIG_SIZE);
    g_autofree VFIOExtCapChain *chain = g_new(VFIOExtCapChain, 1);
    int round, i;

    for (round = 0; round < 2000; round++) {
        for (i = 0; i < EXT_CONFIG_SIZE; i++) {
            config[i] = g_test_rand_int_range(0, 256);
        }
        vfio_ext_caps_parse(config, chain);
        g_assert_cmpint(chain->nr_caps, <=, VFIO_EXT_CAP_MAX);
        for (i = 0; i < chain->nr_caps; i++) {
            g_assert_cmpint(chain->caps[i].pos, >=, 0x100);
            g_assert_cmpint(chain->caps[i].pos % 4, ==, 0);
            g_assert_cmpint(chain->caps[i].pos + chain->caps[i].size, <=,
                            EXT_CONFIG_SIZE);
        }
    }
}

int main(int argc, char **argv)
{
    size_t i;

    g_test_init(&argc, &argv, NULL);
    for (i = 0; i < G_N_ELEMENTS(chain_cases); i++) {
        g_test_add_data_func(chain_cases[i].path, &chain_cases[i],
                             test_chain_case);
    }
    g_test_add_func("/vfio-pci-caps/max-length", test_max_length);
    g_test_add_func("/vfio-pci-caps/max-length-loop", test_max_length_loop);
    g_test_add_func("/vfio-pci-caps/max-length-down", test_max_length_down);
    g_test_add_func("/vfio-pci-caps/random", test_random);
    g_test_add_func("/vfio-pci-caps/min-size", test_min_size);
    g_test_add_func("/vfio-pci-caps/ext/none", test_ext_none);
    g_test_add_func("/vfio-pci-caps/ext/chain", test_ext_chain);
    g_test_add_func("/vfio-pci-caps/ext/bad-pointers", test_ext_bad_pointers);
    g_test_add_func("/vfio-pci-caps/ext/max-length", test_ext_max_length);
    g_test_add_func("/vfio-pci-caps/ext/random", test_ext_random);
    for (i = 0; i < G_N_ELEMENTS(placement_cases); i++) {
        g_test_add_data_func(placement_cases[i].path, &placement_cases[i],
                             test_placement_case);
    }
    return g_test_run();
}
