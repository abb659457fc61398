/*
 * QTest testcases for vfio-pci against hostile host answers
 *
 * Each case starts QEMU with tests/fault/vfio-fault-shim.c preloaded and
 * VFIO_FAULT naming one bad answer (a BAR size that is no power of two, a
 * capability chain that loops, an argsz beyond the buffer, an IRQ count of
 * 0 or 65,536, a short config read, an EINTR, a refused DMA map, ...),
 * then hot-plugs the rig's edu.  The device_add either fails, naming the
 * device, or the device works and unplugs; QEMU never aborts, and its
 * fds, containers, groups and pinned memory are what they were before.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/pci/pci_regs.h"
#include "vfio-pci-util.h"
#include "qapi/qmp/qdict.h"

#define SHIM            "tests/qtest/vfio-fault-shim.so"
#define FAULTY_ID       "faulty"

typedef enum Outcome {
    RUNS,               /* the device realizes and works */
    FAILS,              /* device_add fails naming the device (and needle) */
    EITHER,             /* whichever QEMU picks, cleanly */
} Outcome;

typedef struct Fault {
    const char *name;   /* VFIO_FAULT for the shim */
    Outcome outcome;
    const char *needle; /* in the device_add error, with FAILS */
    bool type1_only;    /* a container ioctl, not iommufd's */
} Fault;

static const Fault faults[] = {
    { "bar0-size-npot", FAILS, "which is not a power of two" },
    { "bar0-size-zero", RUNS },
    { "bar0-offset-wrap", FAILS, "beyond what a file offset can reach" },
    { "bar0-offset-past", RUNS },
    { "bar0-no-access", FAILS, "neither read nor write access" },
    { "config-size-tiny", FAILS, "config space of 32 bytes is too small" },
    { "config-size-huge", RUNS },
    { "rom-size-npot", EITHER },
    { "region-caps-loop", RUNS },
    { "region-caps-past-argsz", RUNS },
    { "region-argsz-huge", RUNS },
    { "region-argsz-grows", RUNS },
    { "sparse-nr-areas-huge", RUNS },
    { "region-info-einval", FAILS, "failed to get region 2 info" },
    { "device-info-not-pci", FAILS, "not a PCI device" },
    { "device-info-no-regions", FAILS, "unexpected number of regions" },
    { "msi-irq-count-0", EITHER },
    { "intx-irq-count-0", EITHER },
    { "irq-count-64k", EITHER },
    { "req-irq-info-enotty", RUNS },
    { "config-short-read", EITHER },
    { "config-read-eagain", EITHER },
    { "set-irqs-eintr", EITHER },
    { "reset-eio", RUNS },
    { "iommu-info-argsz-grows", RUNS, NULL, true },
    { "iommu-info-caps-loop", RUNS, NULL, true },
    { "group-not-viable", FAILS, "is not viable", true },
    { "api-version", FAILS, "unsupported VFIO API version", true },
    { "map-dma-enomem", FAILS, "failed to map guest RAM", true },
};

/* QEMU with the shim preloaded and @fault chosen, its stderr in @log */
static QTestState *start_faulty(const char *fault, const char *log)
{
    g_autofree char *shim = realpath(SHIM, NULL);
    g_autofree char *args = g_strdup_printf("-M pc -nodefaults %s",
                                            backend_args());
    QTestState *qts;

    g_assert_nonnull(shim);
    g_setenv("LD_PRELOAD", shim, true);
    g_setenv("VFIO_FAULT", fault, true);
    qts = qtest_init_stderr(args, log);
    g_unsetenv("LD_PRELOAD");
    g_unsetenv("VFIO_FAULT");
    return qts;
}

/* The hot-plugged device answers in config space, then unplugs. */
static void use_and_unplug(QTestState *qts)
{
    QPCIBus *bus = qpci_new_pc(qts, NULL);
    QPCIDevice *dev = qpci_device_find(bus, DEVFN);

    g_assert_nonnull(dev);
    g_assert_cmphex(qpci_config_readw(dev, PCI_VENDOR_ID), ==, 0x1234);
    g_free(dev);
    qpci_free_pc(bus);
    qpci_unplug_acpi_device_test(qts, FAULTY_ID, SLOT);
}

static void test_fault(const void *opaque)
{
    const Fault *f = opaque;
    const char *host = rig_device("VFIO_EDU");
    g_autofree char *log = test_log_path(f->name);
    Footprint before, after;
    QTestState *qts;
    QDict *resp, *error;
    pid_t pid;

    if (!host) {
        return;
    }
    if (f->type1_only && backend_iommufd()) {
        g_test_skip("a type1 container's ioctl: iommufd has no such call");
        return;
    }
    qts = start_faulty(f->name, log);
    pid = qemu_pid();
    footprint(pid, &before);
    resp = qtest_qmp(qts, "{'execute': 'device_add', 'arguments': "
                     "{'driver': 'vfio-pci', 'id': %s, 'host': %s, "
                     "'addr': '04.0'}}", FAULTY_ID, host);
    error = qdict_get_qdict(resp, "error");
    if (error) {
        const char *desc = qdict_get_str(error, "desc");

        g_test_message("%s: device_add said: %s", f->name, desc);
        g_assert_cmpint(f->outcome, !=, RUNS);
        g_assert_nonnull(strstr(desc, host));
        g_assert_true(!f->needle || strstr(desc, f->needle));
    } else {
        g_test_message("%s: the device realized", f->name);
        g_assert_cmpint(f->outcome, !=, FAILS);
        use_and_unplug(qts);
    }
    qobject_unref(resp);
    footprint(pid, &after);
    log_footprint("before", &before);
    log_footprint("after", &after);
    assert_same_fds(&after, &before);
    assert_qemu_alive(qts);
    qtest_quit(qts);
    unlink(log);
}

int main(int argc, char **argv)
{
    size_t i;

    g_test_init(&argc, &argv, NULL);
    if (g_strcmp0(g_getenv("VFIO_RIG"), "1")) {
        return g_test_run();
    }
    for (i = 0; i < G_N_ELEMENTS(faults); i++) {
        g_autofree char *path = g_strdup_printf("/vfio-pci/rig/faults/%s",
                                                faults[i].name);

        qtest_add_data_func(path, &faults[i], test_fault);
    }
    return g_test_run();
}
