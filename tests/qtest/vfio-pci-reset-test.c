/*
 * QTest testcases for vfio-pci resets against the rig's devices
 *
 * A register the test sets in a BAR reads its reset value after the
 * guest's FLR and after a system reset, and QEMU's trace names how the
 * device was reset (or that QEMU's first reset was skipped, the kernel's
 * at open being the same): FLR for the nvme, a PM reset for the e1000e on the
 * root bus, and for the two functions behind the rig's root port (an
 * e1000e whose only reset is the weak PM one and an nvme with FLR, which
 * share a bus and an IOMMU group) a single bus reset for both.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "vfio-pci-util.h"
#include "hw/pci/pcie_regs.h"

#define NVME_CC         0x14        /* controller configuration */
#define NVME_CC_ENTRIES 0x00460000  /* queue entry sizes, controller off */
#define E1000_RDBAL     0x2800      /* rx descriptor base */
#define E1000_RX_BASE   0x12345670
#define TRACES          "-trace enable=vfio_reset -trace enable=vfio_bus_reset " \
                        "-trace enable=vfio_guest_flr"

/* A BAR0 register that reads 0 after the device's reset */
typedef struct ResetCase {
    const char *var;
    uint32_t reg;
    uint32_t val;
    const char *how;        /* what the vfio_reset trace says */
    bool clears;            /* the reset clears @reg */
} ResetCase;

static const ResetCase nvme_case = {
    "VFIO_NVME", NVME_CC, NVME_CC_ENTRIES, ") FLR", true
};
/*
 * A PM reset is all the e1000e on the root bus has, and QEMU 7.2's
 * emulated devices do nothing on D3hot to D0: only the method is seen.
 */
static const ResetCase e1000e_case = {
    "VFIO_E1000E", E1000_RDBAL, E1000_RX_BASE, ") PM reset", false
};

/* Maps BAR0 again, as a driver does after a reset, and sets @reg. */
static void bar_set(Assigned *a, uint32_t reg, uint32_t val)
{
    qpci_device_enable(a->dev);
    a->bar0 = qpci_iomap(a->dev, 0, NULL);
    qpci_io_writel(a->dev, a->bar0, reg, val);
    g_assert_cmphex(qpci_io_readl(a->dev, a->bar0, reg), ==, val);
}

static uint32_t bar_get(Assigned *a, uint32_t reg)
{
    qpci_device_enable(a->dev);
    a->bar0 = qpci_iomap(a->dev, 0, NULL);
    return qpci_io_readl(a->dev, a->bar0, reg);
}

static void system_reset(QTestState *qts)
{
    qobject_unref(qtest_qmp(qts, "{'execute': 'system_reset'}"));
    qtest_qmp_eventwait(qts, "RESET");
}

/* A system reset resets the device, the way the trace says. */
static void test_system_reset(gconstpointer data)
{
    const ResetCase *c = data;
    g_autofree char *log = test_log_path("reset");
    g_autofree char *args = g_strdup_printf(TRACES " -D %s", log);
    Assigned a;
    int before;

    if (!assign_args(&a, "q35", c->var, NULL, args)) {
        return;
    }
    bar_set(&a, c->reg, c->val);
    before = count_log_lines(log, c->how);
    system_reset(a.qts);
    g_assert_cmphex(bar_get(&a, c->reg), ==, c->clears ? 0 : c->val);
    g_assert_cmpint(count_log_lines(log, c->how), ==, before + 1);
    release(&a);
    unlink(log);
}

/*
 * The guest's FLR through Device Control resets the device: through
 * QEMU, which resets its own view too, and the bit reads as 0.
 */
static void test_guest_flr(void)
{
    g_autofree char *log = test_log_path("flr");
    g_autofree char *args = g_strdup_printf(TRACES " -D %s", log);
    Assigned a;
    uint8_t exp;
    uint16_t devctl;

    if (!assign_args(&a, "q35", nvme_case.var, NULL, args)) {
        return;
    }
    exp = qpci_find_capability(a.dev, PCI_CAP_ID_EXP, 0);
    g_assert_cmpint(exp, !=, 0);
    g_assert_true(qpci_config_readl(a.dev, exp + PCI_EXP_DEVCAP) &
                  PCI_EXP_DEVCAP_FLR);
    bar_set(&a, nvme_case.reg, nvme_case.val);
    devctl = qpci_config_readw(a.dev, exp + PCI_EXP_DEVCTL);
    qpci_config_writew(a.dev, exp + PCI_EXP_DEVCTL,
                       devctl | PCI_EXP_DEVCTL_BCR_FLR);
    g_assert_cmphex(qpci_config_readw(a.dev, exp + PCI_EXP_DEVCTL) &
                    PCI_EXP_DEVCTL_BCR_FLR, ==, 0);
    /* QEMU's config went back to reset values: memory decoding is off */
    g_assert_cmphex(qpci_config_readw(a.dev, PCI_COMMAND) &
                    PCI_COMMAND_MEMORY, ==, 0);
    g_assert_cmphex(bar_get(&a, nvme_case.reg), ==, 0);
    g_assert_cmpint(count_log_lines(log, "vfio_guest_flr"), ==, 1);
    /* The FLR at start was the kernel's, at open (test_no_redundant_reset) */
    g_assert_cmpint(count_log_lines(log, nvme_case.how), ==, 1);
    release(&a);
    unlink(log);
}

#define SKIPPED "skipped: as the kernel's reset at open left it"

/*
 * The kernel resets a function with FLR when QEMU opens it: QEMU's own
 * first reset, at start and right after a hot-plug, would repeat it and
 * is skipped.  Once the guest has used a device, its reset is an FLR
 * again, and so is the hot-plugged one's next.
 */
static void test_no_redundant_reset(void)
{
    g_autofree char *log = test_log_path("no-redundant-reset");
    g_autofree char *args = g_strdup_printf(
        TRACES " -device pcie-root-port,id=rp,chassis=1 -D %s", log);
    const char *other = rig_device("VFIO_RP_NVME");
    Assigned a;

    if (!other || !assign_args(&a, "q35", nvme_case.var, NULL, args)) {
        return;
    }
    g_assert_cmpint(count_log_lines(log, SKIPPED), ==, 1);
    g_assert_cmpint(count_log_lines(log, nvme_case.how), ==, 0);
    qtest_qmp_device_add(a.qts, "vfio-pci", "plugged", "{'host': %s, "
                         "'bus': 'rp'}", other);
    g_assert_cmpint(count_log_lines(log, SKIPPED), ==, 2);
    g_assert_cmpint(count_log_lines(log, nvme_case.how), ==, 0);
    bar_set(&a, nvme_case.reg, nvme_case.val);
    system_reset(a.qts);
    g_assert_cmphex(bar_get(&a, nvme_case.reg), ==, 0);
    g_assert_cmpint(count_log_lines(log, SKIPPED), ==, 2);
    g_assert_cmpint(count_log_lines(log, nvme_case.how), ==, 2);
    release(&a);
    unlink(log);
}

/* The rig's two functions behind its root port: a PM-reset-only e1000e */
static const ResetCase rp_nic_case = {
    "VFIO_RP_NIC0", E1000_RDBAL, E1000_RX_BASE, ") PM reset", false
};
/* ... and an nvme with FLR */
static const ResetCase rp_nvme_case = {
    "VFIO_RP_NVME", NVME_CC, NVME_CC_ENTRIES, ") FLR", true
};

typedef struct Pair {
    QTestState *qts;
    QPCIBus *bus;
    Assigned fn[2];
} Pair;

/*
 * Both functions at 04.0 and 04.1, or the first alone.  QEMU resets the
 * one added last first: the nvme takes its FLR before the e1000e asks
 * for the bus reset.
 */
static bool pair_start(Pair *p, int nr, const char *log)
{
    const ResetCase *cases[] = { &rp_nic_case, &rp_nvme_case };
    g_autoptr(GString) cmd = g_string_new("-M q35 -nodefaults " TRACES);
    int i;

    for (i = 0; i < nr; i++) {
        p->fn[i].host = rig_device(cases[i]->var);
        if (!p->fn[i].host) {
            return false;
        }
        g_string_append_printf(cmd, " -device vfio-pci,host=%s,addr=%02x.%d%s",
                               p->fn[i].host, SLOT, i,
                               nr > 1 && !i ? ",multifunction=on" : "");
    }
    g_string_append_printf(cmd, " -D %s %s", log, backend_args());
    p->qts = qtest_init(cmd->str);
    p->bus = qpci_new_pc(p->qts, NULL);
    for (i = 0; i < nr; i++) {
        p->fn[i].qts = p->qts;
        p->fn[i].bus = p->bus;
        p->fn[i].dev = qpci_device_find(p->bus, QPCI_DEVFN(SLOT, i));
        g_assert_nonnull(p->fn[i].dev);
        bar_set(&p->fn[i], cases[i]->reg, cases[i]->val);
    }
    return true;
}

static void pair_stop(Pair *p, int nr)
{
    int i;

    for (i = 0; i < nr; i++) {
        g_free(p->fn[i].dev);
    }
    qpci_free_pc(p->bus);
    qtest_quit(p->qts);
}

/*
 * A system reset resets the bus behind the root port once, which the
 * e1000e needs (its PM reset does nothing), also when the nvme took its
 * own FLR first; with the e1000e alone too, the group being ours.
 */
static void test_bus_reset(gconstpointer data)
{
    int nr = GPOINTER_TO_INT(data), before;
    g_autofree char *log = test_log_path("bus-reset");
    Pair p;

    if (!pair_start(&p, nr, log)) {
        return;
    }
    before = count_log_lines(log, "vfio_bus_reset");
    system_reset(p.qts);
    g_assert_cmphex(bar_get(&p.fn[0], E1000_RDBAL), ==, 0);
    if (nr > 1) {
        g_assert_cmphex(bar_get(&p.fn[1], NVME_CC), ==, 0);
        g_assert_cmphex(qpci_io_readl(p.fn[1].dev, p.fn[1].bar0, 0), !=,
                        UINT32_MAX);
    }
    g_assert_cmpint(count_log_lines(log, "vfio_bus_reset"), ==, before + 1);
    /* Both functions are one group; on iommufd the kernel checks devids */
    g_assert_cmpint(count_log_lines(log, backend_iommufd() ?
                                    "resets 2 devices in 0 groups, iommufd 1" :
                                    "resets 2 devices in 1 groups"), ==,
                    before + 1);
    pair_stop(&p, nr);
    unlink(log);
}

/*
 * Hot-adding the e1000e next to the nvme the guest uses resets it, but
 * never with a bus reset: that would reset the nvme under the guest.
 */
static void test_hotplug_no_bus_reset(void)
{
    g_autofree char *log = test_log_path("hotplug-reset");
    g_autofree char *args = g_strdup_printf(
        TRACES " -device pcie-root-port,id=rp,chassis=1 -D %s", log);
    const char *nic = rig_device(rp_nic_case.var);
    Assigned a;

    if (!nic || !assign_args(&a, "q35", rp_nvme_case.var, NULL, args)) {
        return;
    }
    bar_set(&a, rp_nvme_case.reg, rp_nvme_case.val);
    qtest_qmp_device_add(a.qts, "vfio-pci", "nic", "{'host': %s, "
                         "'bus': 'rp'}", nic);
    g_assert_cmphex(qpci_io_readl(a.dev, a.bar0, rp_nvme_case.reg), ==,
                    rp_nvme_case.val);
    g_assert_cmpint(count_log_lines(log, "which the guest is using"), ==, 1);
    release(&a);
    unlink(log);
}

/* A device with no reset at all says so once, at realize, and why. */
static void test_no_reset_warning(void)
{
    g_autofree char *log = test_log_path("no-reset");
    Assigned a;

    if (!assign_logged(&a, "q35", "VFIO_EDU", NULL, NULL, log)) {
        return;
    }
    system_reset(a.qts);
    assert_qemu_alive(a.qts);
    release(&a);
    g_assert_cmpint(count_log_lines(log, "has no reset mechanism"), ==, 1);
    g_assert_cmpint(count_log_lines(log, "no bus or slot reset either"), ==,
                    1);
    assert_only_warnings(log);
    unlink(log);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (g_strcmp0(g_getenv("VFIO_RIG"), "1")) {
        return g_test_run();
    }
    qtest_add_data_func("/vfio-pci/rig/nvme/system-reset", &nvme_case,
                        test_system_reset);
    qtest_add_func("/vfio-pci/rig/nvme/guest-flr", test_guest_flr);
    qtest_add_func("/vfio-pci/rig/nvme/no-redundant-reset",
                   test_no_redundant_reset);
    qtest_add_data_func("/vfio-pci/rig/e1000e/system-reset", &e1000e_case,
                        test_system_reset);
    qtest_add_data_func("/vfio-pci/rig/rp-pair/bus-reset-both",
                        GINT_TO_POINTER(2), test_bus_reset);
    qtest_add_data_func("/vfio-pci/rig/rp-pair/bus-reset-one",
                        GINT_TO_POINTER(1), test_bus_reset);
    qtest_add_func("/vfio-pci/rig/rp-pair/hotplug-no-bus-reset",
                   test_hotplug_no_bus_reset);
    qtest_add_func("/vfio-pci/rig/edu/no-reset-warning",
                   test_no_reset_warning);
    return g_test_run();
}
