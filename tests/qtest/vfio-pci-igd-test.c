/*
 * QTest testcases for vfio-pci's Intel graphics (IGD) support
 *
 * The rig has no Intel graphics, so what is tested is what it can show:
 * x-igd-opregion and x-igd-gms on devices that are no IGD are refused
 * with a clear message and leave QEMU as it was; x-igd-gms on the rig's
 * std VGA made to look like an IGD (x-pci-vendor-id, x-pci-device-id)
 * shows in GMCH, within the bounds of the IGD generation it looks like;
 * and vfio-pci-igd-lpc-bridge, which needs no assigned device, shows the
 * host's own 00:1f.0 (in the rig, q35's ICH9 LPC) and sits nowhere else.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/pci/pci_ids.h"
#include "qapi/error.h"
#include "qapi/qmp/qjson.h"
#include "qapi/qmp/qlist.h"
#include "vfio-pci-util.h"

#define IGD_GMCH        0x50
#define HOST_LPC        "/sys/bus/pci/devices/0000:00:1f.0/config"
#define LPC_BRIDGE      "vfio-pci-igd-lpc-bridge"
#define LPC_DEVFN       QPCI_DEVFN(0x1f, 0)
#define NO_OPREGION     "x-igd-opregion=on: the host driver offers no IGD " \
                        "OpRegion for this device"
#define NOT_INTEL       "is for Intel integrated graphics (IGD), and this " \
                        "device is"
#define LEGACY_WARNING  "IGD legacy mode"
#define VGA_ROM         "/usr/share/seabios/vgabios-stdvga.bin"

/*
 * Helpers
 */
/* The little-endian word at @p of a config header */
static uint16_t le16_at(const uint8_t *p)
{
    return p[0] | p[1] << 8;
}

/*
 * The rig device in @var, or NULL with the test skipped when this is
 * not the rig (no device to assign here).
 */
static const char *rig_or_skip(const char *var)
{
    g_autofree char *why = NULL;

    if (!g_strcmp0(g_getenv("VFIO_RIG"), "1")) {
        return rig_device(var);
    }
    why = g_strdup_printf("%s is not set: no rig device to assign here "
                          "(this test runs in the rig, tests/rig)", var);
    g_test_skip(why);
    return NULL;
}

/* Whether vfio-pci has property @name (another part of issue 26's) */
static bool vfio_pci_has_property(QTestState *qts, const char *name)
{
    QDict *resp = qtest_qmp(qts, "{'execute': 'device-list-properties', "
                            "'arguments': {'typename': 'vfio-pci'}}");
    QListEntry *e;
    bool found = false;

    QLIST_FOREACH_ENTRY(qdict_get_qlist(resp, "return"), e) {
        QDict *prop = qobject_to(QDict, qlist_entry_obj(e));

        found |= !g_strcmp0(qdict_get_str(prop, "name"), name);
    }
    qobject_unref(resp);
    return found;
}

/*
 * device_add of vfio-pci with @host and the properties @props (a JSON
 * object) fails saying @needle, and QEMU holds exactly what it held.
 */
static void device_add_refused(QTestState *qts, const char *host,
                               const char *props, const char *needle)
{
    g_autofree char *addr = g_strdup_printf("%02x.0", SLOT);
    QDict *args = qobject_to(QDict, qobject_from_json(props, &error_abort));
    pid_t pid = qemu_pid();
    Footprint before, after;

    qdict_put_str(args, "driver", "vfio-pci");
    qdict_put_str(args, "id", "refused");
    qdict_put_str(args, "host", host);
    qdict_put_str(args, "addr", addr);
    footprint(pid, &before);
    qmp_error_says(qtest_qmp(qts, "{'execute': 'device_add', "
                             "'arguments': %p}", args), "device_add", needle);
    footprint(pid, &after);
    log_footprint("before", &before);
    log_footprint("after", &after);
    assert_same_fds(&after, &before);
    assert_qemu_alive(qts);
}

/* The same device goes in without the refused property: QEMU goes on. */
static void device_add_plain(QTestState *qts, const char *host)
{
    g_autofree char *addr = g_strdup_printf("%02x.0", SLOT);

    qtest_qmp_device_add(qts, "vfio-pci", "plain", "{'host': %s, 'addr': %s}",
                         host, addr);
    assert_qemu_alive(qts);
}

/*
 * x-igd-opregion
 */
/* Refused by device_add and on the command line, naming what is missing */
static void opregion_refused(const char *var, const char *ids)
{
    const char *host = rig_or_skip(var);
    g_autofree char *args = NULL;
    g_autofree char *err = NULL;
    QTestState *qts;

    if (!host) {
        return;
    }
    qts = qtest_initf("-M pc -nodefaults %s", backend_args());
    device_add_refused(qts, host, "{'x-igd-opregion': true}", NO_OPREGION);
    device_add_refused(qts, host, "{'x-igd-opregion': true}", ids);
    device_add_plain(qts, host);
    qtest_quit(qts);

    args = g_strdup_printf("-device vfio-pci,host=%s,x-igd-opregion=on %s",
                           host, backend_args());
    err = qemu_exits_1(NULL, "pc", args, NULL);
    g_assert_nonnull(strstr(err, NO_OPREGION));
    g_assert_nonnull(strstr(err, "Only Intel integrated graphics"));
}

static void test_opregion_edu(void)
{
    opregion_refused("VFIO_EDU", "it is 1234:11e8 (class 0x00ff00)");
}

static void test_opregion_vga(void)
{
    opregion_refused("VFIO_VGA", "it is 1234:1111 (class 0x030000)");
}

/*
 * x-igd-gms
 */
/* On no Intel graphics (an Intel NIC is no graphics either) */
static void test_gms_not_igd(void)
{
    static const struct {
        const char *var, *ids;
    } devs[] = {
        { "VFIO_EDU", "1234:11e8 (class 0x00ff00), not Intel graphics" },
        { "VFIO_VGA", "1234:1111 (class 0x030000), not Intel graphics" },
        { "VFIO_E1000E", "8086:10d3 (class 0x020000), not Intel graphics" },
    };
    const char *hosts[ARRAY_SIZE(devs)];
    QTestState *qts;
    int i;

    for (i = 0; i < ARRAY_SIZE(devs); i++) {
        hosts[i] = rig_or_skip(devs[i].var);
        if (!hosts[i]) {
            return;
        }
    }
    qts = qtest_initf("-M pc -nodefaults %s", backend_args());
    for (i = 0; i < ARRAY_SIZE(devs); i++) {
        device_add_refused(qts, hosts[i], "{'x-igd-gms': 1}",
                           "x-igd-gms=1 " NOT_INTEL);
        device_add_refused(qts, hosts[i], "{'x-igd-gms': 1}", devs[i].ids);
    }
    qtest_quit(qts);
}

/* The config word at @reg of the host device @host, from sysfs (root) */
static uint16_t host_config_word(const char *host, int reg)
{
    g_autofree char *path = sysfs_path(host, "config");
    g_autofree char *data = NULL;
    gsize len = 0;

    g_assert_true(g_file_get_contents(path, &data, &len, NULL));
    g_assert_cmpuint(len, >=, reg + 2);
    return le16_at((uint8_t *)data + reg);
}

/*
 * The rig's std VGA with an IGD's IDs: @device_id's family shows @gms in
 * the GMS field of GMCH, at @shift, and the rest of GMCH is the host's.
 */
static void gms_as_igd(const char *device_id, uint32_t gms, int shift)
{
    g_autofree char *props = g_strdup_printf("x-pci-vendor-id=0x8086,"
                                             "x-pci-device-id=%s,"
                                             "x-igd-gms=0x%x", device_id,
                                             gms);
    uint16_t field = shift == 3 ? 0x1f << 3 : 0xff << 8;
    uint16_t host_gmch, want;
    Assigned a;

    if (!assign(&a, "VFIO_VGA", props)) {
        return;
    }
    host_gmch = host_config_word(a.host, IGD_GMCH);
    want = (host_gmch & ~field) | gms << shift;
    g_assert_cmphex(qpci_config_readw(a.dev, PCI_VENDOR_ID), ==, 0x8086);
    g_assert_cmphex(qpci_config_readw(a.dev, IGD_GMCH), ==, want);
    /* Read-only, as on the IGD: the guest cannot change the field */
    qpci_config_writew(a.dev, IGD_GMCH, want ^ field);
    g_assert_cmphex(qpci_config_readw(a.dev, IGD_GMCH) & field, ==,
                    gms << shift);
    /* The field never reached the host's own 0x50 */
    g_assert_cmphex(host_config_word(a.host, IGD_GMCH), ==, host_gmch);
    release(&a);
}

/* vfio-pci has the ID overrides this needs, or the test skips */
static bool can_override_ids(void)
{
    QTestState *qts = qtest_init("-M pc -nodefaults");
    bool ok = vfio_pci_has_property(qts, "x-pci-vendor-id") &&
              vfio_pci_has_property(qts, "x-pci-device-id");

    qtest_quit(qts);
    if (!ok) {
        g_test_skip("vfio-pci has no x-pci-vendor-id/x-pci-device-id to "
                    "make the std VGA look like an IGD");
    }
    return ok;
}

/* The refusal of a value the family cannot show, by device_add */
static void gms_too_big(const char *host, int device_id, uint32_t gms,
                        const char *needle)
{
    g_autofree char *props = g_strdup_printf("{'x-pci-vendor-id': 32902, "
                                             "'x-pci-device-id': %d, "
                                             "'x-igd-gms': %u}", device_id,
                                             gms);
    QTestState *qts = qtest_initf("-M pc -nodefaults %s", backend_args());

    device_add_refused(qts, host, props, needle);
    qtest_quit(qts);
}

static void test_gms_as_igd(void)
{
    const char *host = rig_or_skip("VFIO_VGA");

    if (!host || !can_override_ids()) {
        return;
    }
    /* Haswell: five bits at 3, 1-0x10; Skylake: eight at 8, below 0xf0 */
    gms_as_igd("0x0412", 0x02, 3);
    gms_as_igd("0x0412", 0x10, 3);
    gms_as_igd("0x1912", 0xef, 8);
    gms_too_big(host, 0x0412, 0x11, "x-igd-gms=0x11 is beyond what a "
                "Haswell IGD (gen7) shows in 32 MiB units: 1-0x10");
    gms_too_big(host, 0x1912, 0xf0, "x-igd-gms=0xf0 is beyond what a "
                "Skylake IGD (gen9) shows in 32 MiB units: 1-0xef");
    /* DG1, Intel's discrete GPU, has no GMCH */
    gms_too_big(host, 0x4905, 1, "Intel graphics 8086:4905 (class "
                "0x030000) is no integrated graphics device (IGD) known "
                "here");
}

/*
 * An IGD at 00:02.0 with a ROM is what QEMU 7.2 ran in legacy mode: a
 * warning says this one does not; elsewhere there is none.
 */
static int legacy_warnings(const char *host, int slot)
{
    g_autofree char *log = test_log_path("igd-legacy");
    /* A ROM for sure: the kernel's copy of a boot VGA's may be none */
    g_autofree char *rom = g_file_test(VGA_ROM, G_FILE_TEST_EXISTS) ?
                           g_strdup(",romfile=" VGA_ROM) : g_strdup("");
    g_autofree char *args = g_strdup_printf(
        "-M pc -nodefaults -device vfio-pci,host=%s,addr=%02x.0%s,"
        "x-pci-vendor-id=0x8086,x-pci-device-id=0x0412 %s", host, slot, rom,
        backend_args());
    QTestState *qts = qtest_init_stderr(args, log);
    int n;

    assert_qemu_alive(qts);
    qtest_quit(qts);
    n = count_log_lines(log, LEGACY_WARNING);
    assert_only_warnings(log);
    unlink(log);
    return n;
}

static void test_legacy_mode_warning(void)
{
    const char *host = rig_or_skip("VFIO_VGA");

    if (!host || !can_override_ids()) {
        return;
    }
    g_assert_cmpint(legacy_warnings(host, 2), ==, 1);
    g_assert_cmpint(legacy_warnings(host, SLOT), ==, 0);
}

/*
 * vfio-pci-igd-lpc-bridge
 */
/* The host's 00:1f.0 header, or NULL with the test skipped */
static uint8_t *host_lpc_or_skip(void)
{
    g_autofree char *data = NULL;
    gsize len = 0;

    if (!g_file_get_contents(HOST_LPC, &data, &len, NULL) ||
        len < PCI_SUBSYSTEM_ID + 2) {
        g_test_skip("this host has no 0000:00:1f.0 whose IDs "
                    LPC_BRIDGE " could show (" HOST_LPC " is unreadable)");
        return NULL;
    }
    return (uint8_t *)g_steal_pointer(&data);
}

static void test_lpc_bridge_ids(void)
{
    g_autofree uint8_t *host = host_lpc_or_skip();
    QTestState *qts;
    QPCIBus *bus;
    QPCIDevice *dev;

    if (!host) {
        return;
    }
    if (le16_at(host + PCI_CLASS_DEVICE) != PCI_CLASS_BRIDGE_ISA) {
        qemu_refuses("pc", "-device " LPC_BRIDGE ",addr=1f.0",
                     "not an ISA/LPC bridge");
        return;
    }
    qts = qtest_init("-M pc -nodefaults -device " LPC_BRIDGE ",addr=1f.0");
    bus = qpci_new_pc(qts, NULL);
    dev = qpci_device_find(bus, LPC_DEVFN);
    g_assert_nonnull(dev);
    g_test_message("host's 00:1f.0: %04x:%04x rev %02x, subsystem %04x:%04x",
                   le16_at(host + PCI_VENDOR_ID),
                   le16_at(host + PCI_DEVICE_ID), host[PCI_REVISION_ID],
                   le16_at(host + PCI_SUBSYSTEM_VENDOR_ID),
                   le16_at(host + PCI_SUBSYSTEM_ID));
    g_assert_cmphex(qpci_config_readw(dev, PCI_VENDOR_ID), ==,
                    le16_at(host + PCI_VENDOR_ID));
    g_assert_cmphex(qpci_config_readw(dev, PCI_DEVICE_ID), ==,
                    le16_at(host + PCI_DEVICE_ID));
    g_assert_cmphex(qpci_config_readb(dev, PCI_REVISION_ID), ==,
                    host[PCI_REVISION_ID]);
    g_assert_cmphex(qpci_config_readw(dev, PCI_SUBSYSTEM_VENDOR_ID), ==,
                    le16_at(host + PCI_SUBSYSTEM_VENDOR_ID));
    g_assert_cmphex(qpci_config_readw(dev, PCI_SUBSYSTEM_ID), ==,
                    le16_at(host + PCI_SUBSYSTEM_ID));
    g_assert_cmphex(qpci_config_readw(dev, PCI_CLASS_DEVICE), ==,
                    PCI_CLASS_BRIDGE_ISA);
    g_free(dev);
    qpci_free_pc(bus);
    qtest_quit(qts);
}

/* Anywhere but 00:1f.0 it is refused before the host is looked at */
static void test_lpc_bridge_elsewhere(void)
{
    qemu_refuses("pc", "-device " LPC_BRIDGE ",addr=1e.0",
                 LPC_BRIDGE " must be at 00:1f.0 (addr=1f.0 on the root "
                 "bus), where the IGD's drivers look for the LPC bridge, "
                 "not at 00:1e.0");
    qemu_refuses("pc", "-device pci-bridge,id=br,chassis_nr=1 "
                 "-device " LPC_BRIDGE ",bus=br,addr=1f.0",
                 "not behind a bridge");
    /* q35's own LPC bridge is there */
    qemu_refuses("q35", "-device " LPC_BRIDGE ",addr=1f.0",
                 "in use by ICH9-LPC");
}

/* The IGD's drivers look at it once, at boot: no hot-plug */
static void test_lpc_bridge_no_hotplug(void)
{
    QTestState *qts = qtest_init("-M pc -nodefaults");

    qmp_error_says(qtest_qmp(qts, "{'execute': 'device_add', 'arguments': "
                             "{'driver': '" LPC_BRIDGE "', 'addr': '1f.0'}}"),
                   "device_add", "pluggable");
    assert_qemu_alive(qts);
    qtest_quit(qts);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    qtest_add_func("/vfio-pci/igd/lpc-bridge/ids", test_lpc_bridge_ids);
    qtest_add_func("/vfio-pci/igd/lpc-bridge/elsewhere",
                   test_lpc_bridge_elsewhere);
    qtest_add_func("/vfio-pci/igd/lpc-bridge/no-hotplug",
                   test_lpc_bridge_no_hotplug);
    qtest_add_func("/vfio-pci/rig/igd/opregion-edu", test_opregion_edu);
    qtest_add_func("/vfio-pci/rig/igd/opregion-vga", test_opregion_vga);
    qtest_add_func("/vfio-pci/rig/igd/gms-not-igd", test_gms_not_igd);
    qtest_add_func("/vfio-pci/rig/igd/gms-as-igd", test_gms_as_igd);
    qtest_add_func("/vfio-pci/rig/igd/legacy-mode-warning",
                   test_legacy_mode_warning);
    return g_test_run();
}
