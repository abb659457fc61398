/*
 * QTest testcases for vfio-pci on PCI Express: the extended config space
 * a q35 guest reads through ECAM, and its absence on a conventional bus
 *
 * The test plays the firmware: it enables q35's ECAM window (MCH
 * PCIEXBAR) and numbers the bus behind a bridge.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "vfio-pci-util.h"
#include "hw/pci/pcie_regs.h"
#include "qemu/bswap.h"

#define EXT_SIZE        4096
#define BRIDGE_SLOT     2
#define BRIDGE_BUS      1

static bool ext_cap_hidden(uint16_t id)
{
    return id == PCI_EXT_CAP_ID_SRIOV || id == PCI_EXT_CAP_ID_ARI ||
           id == PCI_EXT_CAP_ID_REBAR || id == 0x24 /* VF Resizable BAR */;
}

/* The room of the capability at @pos: up to the next one, or the end. */
static int ext_cap_room(const uint32_t *host, int pos)
{
    int end = EXT_SIZE, p = PCI_CFG_SPACE_SIZE, n = 0;

    while (p && n++ < 960) {
        if (p > pos && p < end) {
            end = p;
        }
        p = PCI_EXT_CAP_NEXT(host[p / 4]);
    }
    return end - pos;
}

/*
 * What the guest must read at each dword of extended space: the host's
 * sysfs config with the hidden capabilities zeroed and the chain's
 * pointers skipping them.  Returns how many capabilities it kept.
 */
static int ext_expected(const uint32_t *host, uint32_t *want)
{
    int pos = PCI_CFG_SPACE_SIZE, last = 0, kept = 0, n = 0;

    memcpy(want, host, EXT_SIZE);
    if (host[pos / 4] == 0 || host[pos / 4] == UINT32_MAX) {
        return 0;
    }
    want[pos / 4] = 0;
    while (pos && n++ < 960) {
        uint32_t header = host[pos / 4];
        uint16_t id = PCI_EXT_CAP_ID(header);

        if (ext_cap_hidden(id)) {
            memset(&want[pos / 4], 0, ext_cap_room(host, pos));
        } else {
            if (pos != PCI_CFG_SPACE_SIZE) {
                want[last / 4] |= PCI_EXT_CAP(0, 0, pos);
            }
            want[pos / 4] = PCI_EXT_CAP(id, PCI_EXT_CAP_VER(header), 0);
            last = pos;
            kept++;
        }
        pos = PCI_EXT_CAP_NEXT(header);
    }
    return kept;
}

static uint32_t *host_config(const char *host)
{
    g_autofree char *path = sysfs_path(host, "config");
    g_autofree char *data = NULL;
    uint32_t *config = g_malloc0(EXT_SIZE);
    gsize len;

    g_assert_true(g_file_get_contents(path, &data, &len, NULL));
    g_assert_cmpuint(len, ==, EXT_SIZE);
    memcpy(config, data, EXT_SIZE);
    return config;
}

/* On q35's pcie.0, extended space through ECAM is the host's, as above. */
static void test_ext_config(gconstpointer var)
{
    g_autofree uint32_t *host = NULL;
    g_autofree uint32_t *want = g_malloc0(EXT_SIZE);
    Assigned a;
    int i, kept, diffs = 0;

    if (!assign_on(&a, "q35", var, NULL)) {
        return;
    }
    host = host_config(a.host);
    kept = ext_expected(host, want);
    g_test_message("%s: %d extended capabilities kept", a.host, kept);
    ecam_enable(&a);
    /* ECAM reaches the standard space too: the same bytes as 0xcf8 */
    g_assert_cmphex(ecam_readl(&a, 0, DEVFN, 0), ==,
                    qpci_config_readl(a.dev, 0));
    for (i = PCI_CFG_SPACE_SIZE; i < EXT_SIZE; i += 4) {
        uint32_t ours = ecam_readl(&a, 0, DEVFN, i);

        if (ours != le32_to_cpu(want[i / 4])) {
            g_test_message("%s ext config 0x%03x: 0x%08x, want 0x%08x "
                           "(host 0x%08x)", a.host, i, ours,
                           le32_to_cpu(want[i / 4]),
                           le32_to_cpu(host[i / 4]));
            diffs++;
        }
    }
    g_assert_cmpint(diffs, ==, 0);
    release(&a);
}

static void host_config_write(const char *host, int reg, uint32_t val)
{
    g_autofree char *path = sysfs_path(host, "config");
    uint32_t le = cpu_to_le32(val);
    int fd = open(path, O_WRONLY);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(pwrite(fd, &le, 4, reg), ==, 4);
    close(fd);
}

static uint32_t host_config_readl(const char *host, int reg)
{
    g_autofree uint32_t *config = host_config(host);

    return le32_to_cpu(config[reg / 4]);
}

/* The first extended capability @id of @host's config space, or 0. */
static int ext_cap_find(const uint32_t *host, uint16_t id)
{
    int pos = PCI_CFG_SPACE_SIZE, n = 0;

    while (pos && n++ < 960) {
        uint32_t header = le32_to_cpu(host[pos / 4]);

        if (PCI_EXT_CAP_ID(header) == id) {
            return pos;
        }
        pos = PCI_EXT_CAP_NEXT(header);
    }
    return 0;
}

/*
 * A capability that passes through takes the guest's writes as they are:
 * what the guest wrote to AER's mask and severity registers through ECAM
 * is what root writing the same through sysfs leaves in the device.
 */
static void test_ext_write(gconstpointer var)
{
    static const int regs[] = {
        PCI_ERR_UNCOR_MASK, PCI_ERR_UNCOR_SEVER, PCI_ERR_COR_MASK,
    };
    g_autofree uint32_t *host = NULL;
    Assigned a;
    int aer;
    size_t i;

    if (!assign_on(&a, "q35", var, NULL)) {
        return;
    }
    host = host_config(a.host);
    aer = ext_cap_find(host, PCI_EXT_CAP_ID_ERR);
    if (!aer) {
        g_test_skip("the device has no AER capability");
        release(&a);
        return;
    }
    ecam_enable(&a);
    for (i = 0; i < G_N_ELEMENTS(regs); i++) {
        int reg = aer + regs[i];
        uint32_t orig = le32_to_cpu(host[reg / 4]), guest, direct;

        host_config_write(a.host, reg, 0);
        qtest_writel(a.qts, ecam_addr(0, DEVFN, reg), UINT32_MAX);
        guest = host_config_readl(a.host, reg);
        g_assert_cmphex(ecam_readl(&a, 0, DEVFN, reg), ==, guest);
        host_config_write(a.host, reg, UINT32_MAX);
        direct = host_config_readl(a.host, reg);
        host_config_write(a.host, reg, orig);
        g_test_message("AER register 0x%03x: guest wrote 0x%08x, sysfs "
                       "0x%08x", reg, guest, direct);
        g_assert_cmphex(guest, ==, direct);
    }
    release(&a);
}

/* Integrated into pcie.0, the device says it is a root complex endpoint. */
static void test_pcie_cap_type(gconstpointer var)
{
    Assigned a;
    uint8_t pos;
    uint16_t flags;

    if (!assign_on(&a, "q35", var, NULL)) {
        return;
    }
    pos = qpci_find_capability(a.dev, PCI_CAP_ID_EXP, 0);
    g_assert_cmpint(pos, !=, 0);
    flags = qpci_config_readw(a.dev, pos + PCI_EXP_FLAGS);
    g_assert_cmphex((flags & PCI_EXP_FLAGS_TYPE) >> 4, ==,
                    PCI_EXP_TYPE_RC_END);
    g_assert_cmphex(flags & PCI_EXP_FLAGS_SLOT, ==, 0);
    /* Retrain Link and Link Disable never reach the host's link */
    qpci_config_writew(a.dev, pos + PCI_EXP_LNKCTL,
                       PCI_EXP_LNKCTL_LD | PCI_EXP_LNKCTL_RL);
    g_assert_cmphex(qpci_config_readw(a.dev, pos + PCI_EXP_LNKCTL) &
                    (PCI_EXP_LNKCTL_LD | PCI_EXP_LNKCTL_RL), ==, 0);
    release(&a);
}

/*
 * Behind a conventional bridge, the same device has 256 bytes: ECAM
 * reads above them come back as all ones, as for any PCI device.
 */
static void test_conventional_bus(gconstpointer var)
{
    g_autofree uint32_t *host = NULL;
    QPCIDevice *bridge;
    Assigned a;

    a.host = rig_device(var);
    if (!a.host) {
        return;
    }
    host = host_config(a.host);
    a.qts = qtest_initf("-M q35 -nodefaults "
                        "-device pcie-pci-bridge,id=br,addr=%02x.0 "
                        "-device vfio-pci,host=%s,bus=br,addr=01.0",
                        BRIDGE_SLOT, a.host);
    a.bus = qpci_new_pc(a.qts, NULL);
    bridge = qpci_device_find(a.bus, QPCI_DEVFN(BRIDGE_SLOT, 0));
    g_assert_nonnull(bridge);
    qpci_config_writeb(bridge, PCI_SECONDARY_BUS, BRIDGE_BUS);
    qpci_config_writeb(bridge, PCI_SUBORDINATE_BUS, BRIDGE_BUS);
    ecam_enable(&a);
    g_assert_cmphex(ecam_readl(&a, BRIDGE_BUS, QPCI_DEVFN(1, 0), 0), ==,
                    le32_to_cpu(host[0]));
    g_assert_cmphex(ecam_readl(&a, BRIDGE_BUS, QPCI_DEVFN(1, 0),
                               PCI_CFG_SPACE_SIZE), ==, UINT32_MAX);
    g_free(bridge);
    qpci_free_pc(a.bus);
    qtest_quit(a.qts);
}

/* On -M pc (a conventional root bus) the device has 256 bytes, as traced. */
static void test_pc_machine(gconstpointer var)
{
    g_autofree char *log = test_log_path("pc-config-size");
    g_autofree char *args = g_strdup_printf(
        "-trace enable=vfio_config_size -D %s", log);
    Assigned a;

    if (!assign_args(&a, "pc", var, NULL, args)) {
        return;
    }
    release(&a);
    g_assert_cmpint(count_log_lines(log, ") 256 bytes of config space (PCI "
                                    "Express bus 0, host has 4096)"), ==, 1);
    unlink(log);
}

int main(int argc, char **argv)
{
    /* The PF's SR-IOV and ARI capabilities are hidden */
    static const char *const devices[] = {
        "VFIO_NVME", "VFIO_E1000E", "VFIO_NVME_PF",
    };
    size_t i;

    g_test_init(&argc, &argv, NULL);
    if (g_strcmp0(g_getenv("VFIO_RIG"), "1")) {
        return g_test_run();
    }
    for (i = 0; i < G_N_ELEMENTS(devices); i++) {
        g_autofree char *dev = g_ascii_strdown(devices[i] + 5, -1);
        g_autofree char *p1 = g_strdup_printf("/vfio-pci/rig/%s/ext-config",
                                              dev);
        g_autofree char *p2 = g_strdup_printf("/vfio-pci/rig/%s/pcie-cap-type",
                                              dev);
        g_autofree char *p3 = g_strdup_printf(
            "/vfio-pci/rig/%s/conventional-bus", dev);
        g_autofree char *p4 = g_strdup_printf("/vfio-pci/rig/%s/pc-machine",
                                              dev);

        qtest_add_data_func(p1, devices[i], test_ext_config);
        qtest_add_data_func(p2, devices[i], test_pcie_cap_type);
        qtest_add_data_func(p3, devices[i], test_conventional_bus);
        qtest_add_data_func(p4, devices[i], test_pc_machine);
        if (!strcmp(devices[i], "VFIO_E1000E")) {
            qtest_add_data_func("/vfio-pci/rig/e1000e/ext-write",
                                devices[i], test_ext_write);
        }
    }
    return g_test_run();
}
