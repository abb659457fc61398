/*
 * QTest testcases for the host's error and request notifiers of vfio-pci
 *
 * Errors: the rig kernel's aer_inject (loaded by the rig script) makes
 * the AER driver of the rig's root port report an uncorrectable error on
 * the e1000e behind it, which vfio-pci passes to us.  Requests: the test
 * unbinds the device from vfio-pci while our QEMU holds it; the unbind
 * returns once the guest (the test, writing the ACPI eject register the
 * way a guest's ACPI code does) has let the device go.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <sys/wait.h>
#include "hw/pci/pci_regs.h"
#include "vfio-pci-util.h"
#include "qapi/qmp/qdict.h"

#define AER_INJECT          "/dev/aer_inject"
#define ERR_UNC_COMP_ABORT  0x00008000
#define ACPI_PCIHP_EJECT    0xae08      /* PIIX4 ACPI PCI hotplug: eject */
#define DEV_ID              "assigned"
#define KERNEL_REPEAT_S     10          /* the kernel asks again this often */

/* The kernel's struct aer_error_inj (drivers/pci/pcie/aer_inject.c) */
typedef struct AerErrorInj {
    uint8_t bus, dev, fn;
    uint32_t uncor_status, cor_status;
    uint32_t header_log[4];
    uint32_t domain;
} AerErrorInj;

static void aer_inject(const char *host)
{
    unsigned int domain, bus, dev, fn;
    AerErrorInj inj = { .uncor_status = ERR_UNC_COMP_ABORT };
    int fd = open(AER_INJECT, O_WRONLY);

    if (fd < 0) {
        g_test_message("%s: %s: the rig script loads aer_inject", AER_INJECT,
                       strerror(errno));
        g_test_fail();
        return;
    }
    g_assert_cmpint(sscanf(host, "%x:%x:%x.%x", &domain, &bus, &dev, &fn),
                    ==, 4);
    inj.domain = domain;
    inj.bus = bus;
    inj.dev = dev;
    inj.fn = fn;
    g_assert_cmpint(write(fd, &inj, sizeof(inj)), ==, sizeof(inj));
    close(fd);
}

/* An uncorrectable error on the host stops the VM, and says so. */
static void test_aer_stops_vm(void)
{
    g_autofree char *log = test_log_path("aer");
    g_autofree char *status = NULL;
    Assigned a;

    if (!assign_logged(&a, "q35", "VFIO_RP_NIC0", NULL, NULL, log)) {
        return;
    }
    aer_inject(a.host);
    qtest_qmp_eventwait(a.qts, "STOP");
    status = query_status(a.qts);
    g_assert_cmpstr(status, ==, "internal-error");
    release(&a);
    g_assert_cmpint(count_log_lines(log, "the host reported an "
                                    "uncorrectable error on the device"),
                    ==, 1);
    unlink(log);
}

/* With err-notifier=off the VM runs on: the user chose so. */
static void test_aer_notifier_off(void)
{
    g_autofree char *status = NULL;
    Assigned a;

    if (!assign_on(&a, "q35", "VFIO_RP_NIC0", "err-notifier=off")) {
        return;
    }
    aer_inject(a.host);
    g_usleep(2 * G_USEC_PER_SEC);
    status = query_status(a.qts);
    g_assert_cmpstr(status, ==, "running");
    release(&a);
}

/* Unbinds @host from vfio-pci in a child, which blocks until released. */
static pid_t unbind_start(const char *host)
{
    pid_t pid = fork();

    g_assert_cmpint(pid, >=, 0);
    if (!pid) {
        int fd = open("/sys/bus/pci/drivers/vfio-pci/unbind", O_WRONLY);
        bool ok = fd >= 0 && write(fd, host, strlen(host)) == strlen(host);

        _exit(ok ? 0 : 1);
    }
    return pid;
}

/* The unbind's exit status once it returned, or -1 after @secs. */
static int unbind_wait(pid_t pid, int secs)
{
    gint64 end = g_get_monotonic_time() + secs * G_USEC_PER_SEC;
    int status;

    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (g_get_monotonic_time() > end) {
            return -1;
        }
        g_usleep(100 * 1000);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

/* Gives the device back to vfio-pci for the tests after this one. */
static void rebind(const char *host)
{
    g_autofree char *drv = sysfs_path(host, "driver");
    int fd = open("/sys/bus/pci/drivers/vfio-pci/bind", O_WRONLY);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(write(fd, host, strlen(host)), ==, strlen(host));
    close(fd);
    g_assert_true(g_file_test(drv, G_FILE_TEST_EXISTS));
}

/*
 * The host asks for the device back: the guest is asked to unplug it,
 * it leaves, the unbind returns, and QEMU runs on without its fds.
 */
static void test_unbind_unplugs(void)
{
    g_autofree char *log = test_log_path("req");
    g_autofree char *args = g_strdup_printf(
        "-trace enable=vfio_host_signal -D %s", log);
    Assigned a;
    pid_t pid, qemu;

    if (!assign_args(&a, "pc", "VFIO_EDU", "id=" DEV_ID, args)) {
        return;
    }
    qemu = qemu_pid();
    g_assert_cmpint(count_fds(qemu, "/dev/vfio/"), >, 0);
    pid = unbind_start(a.host);
    g_assert_true(wait_log(log, ") request", 1, 30));
    qtest_outl(a.qts, ACPI_PCIHP_EJECT, 1 << SLOT);
    qtest_qmp_eventwait(a.qts, "DEVICE_DELETED");
    g_assert_cmpint(unbind_wait(pid, 30), ==, 0);
    g_assert_cmpint(count_fds(qemu, "/dev/vfio/"), ==, 0);
    assert_qemu_alive(a.qts);
    rebind(a.host);
    release(&a);
    unlink(log);
}

/*
 * On q35's pcie.0 nothing can unplug the device: said once, however
 * often the kernel asks, and the unbind returns when QEMU exits.
 */
static void test_unbind_no_hotplug(void)
{
    g_autofree char *log = test_log_path("req-nohp");
    g_autofree char *errlog = test_log_path("req-nohp-stderr");
    g_autofree char *args = g_strdup_printf(
        "-trace enable=vfio_host_signal -D %s", log);
    Assigned a;
    pid_t pid;

    if (!assign_logged(&a, "q35", "VFIO_EDU", "id=" DEV_ID, args, errlog)) {
        return;
    }
    pid = unbind_start(a.host);
    g_assert_true(wait_log(log, "request, again", 1,
                           KERNEL_REPEAT_S * 3));
    g_assert_cmpint(count_log_lines(errlog, "cannot be asked to unplug"), ==,
                    1);
    assert_qemu_alive(a.qts);
    g_assert_cmpint(unbind_wait(pid, 0), ==, -1);
    release(&a);
    g_assert_cmpint(unbind_wait(pid, 30), ==, 0);
    rebind(a.host);
    unlink(log);
    unlink(errlog);
}

/* Sets the power indicator of the root port at 00:01.0, and its power */
static void slot_control(QPCIBus *bus, uint16_t indicator, bool power_off)
{
    QPCIDevice *rp = qpci_device_find(bus, QPCI_DEVFN(1, 0));
    uint8_t exp = qpci_find_capability(rp, PCI_CAP_ID_EXP, 0);
    uint16_t ctl = qpci_config_readw(rp, exp + PCI_EXP_SLTCTL) &
                   ~(PCI_EXP_SLTCTL_PCC | PCI_EXP_SLTCTL_PIC);

    qpci_config_writew(rp, exp + PCI_EXP_SLTCTL, ctl | indicator |
                       (power_off ? PCI_EXP_SLTCTL_PCC : 0));
    g_free(rp);
}

/* Waits until the root port's Attention Button Pressed bit is set */
static bool wait_attention(QPCIBus *bus, int secs)
{
    QPCIDevice *rp = qpci_device_find(bus, QPCI_DEVFN(1, 0));
    uint8_t exp = qpci_find_capability(rp, PCI_CAP_ID_EXP, 0);
    gint64 end = g_get_monotonic_time() + secs * G_USEC_PER_SEC;
    bool pressed = false;

    for (;;) {
        pressed = qpci_config_readw(rp, exp + PCI_EXP_SLTSTA) &
                  PCI_EXP_SLTSTA_ABP;
        if (pressed || g_get_monotonic_time() >= end) {
            break;
        }
        g_usleep(100 * 1000);
    }
    g_free(rp);
    return pressed;
}

/*
 * While the guest cannot be asked (its hot-plug driver busy, the slot's
 * power indicator blinking) the request is refused, and said once; the
 * kernel's next request, once the guest is ready, presses the slot's
 * attention button, and the unbind returns when the guest powers it off.
 */
static void test_unbind_retried(void)
{
    g_autofree char *log = test_log_path("req-retry");
    g_autofree char *errlog = test_log_path("req-retry-stderr");
    const char *host = rig_device("VFIO_EDU");
    g_autofree char *args = NULL;
    QTestState *qts;
    QPCIBus *bus;
    pid_t pid;

    if (!host) {
        return;
    }
    args = g_strdup_printf("-M q35 -nodefaults "
        "-global ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off "
        "-device pcie-root-port,id=rp,chassis=1,addr=01.0 "
        "-device vfio-pci,host=%s,id=" DEV_ID ",bus=rp "
        "-trace enable=vfio_host_signal -trace enable=vfio_unplug_refused "
        "-D %s %s", host, log, backend_args());
    qts = qtest_init_stderr(args, errlog);
    bus = qpci_new_pc(qts, NULL);
    slot_control(bus, PCI_EXP_SLTCTL_PWR_IND_BLINK, false);
    pid = unbind_start(host);
    g_assert_true(wait_log(log, "unplug refused", 1, KERNEL_REPEAT_S * 3));
    g_assert_false(wait_attention(bus, 0));
    slot_control(bus, PCI_EXP_SLTCTL_PWR_IND_ON, false);
    g_assert_true(wait_attention(bus, KERNEL_REPEAT_S * 3));
    slot_control(bus, PCI_EXP_SLTCTL_PWR_IND_OFF, true);
    qtest_qmp_eventwait(qts, "DEVICE_DELETED");
    g_assert_cmpint(unbind_wait(pid, 30), ==, 0);
    g_assert_cmpint(count_log_lines(errlog, "cannot be asked to unplug it "
                                    "now"), ==, 1);
    assert_qemu_alive(qts);
    qpci_free_pc(bus);
    qtest_quit(qts);
    rebind(host);
    unlink(log);
    unlink(errlog);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (g_strcmp0(g_getenv("VFIO_RIG"), "1")) {
        return g_test_run();
    }
    qtest_add_func("/vfio-pci/rig/rp-nic/aer-stops-vm", test_aer_stops_vm);
    qtest_add_func("/vfio-pci/rig/rp-nic/aer-notifier-off",
                   test_aer_notifier_off);
    qtest_add_func("/vfio-pci/rig/edu/unbind-unplugs", test_unbind_unplugs);
    qtest_add_func("/vfio-pci/rig/edu/unbind-no-hotplug",
                   test_unbind_no_hotplug);
    qtest_add_func("/vfio-pci/rig/edu/unbind-retried", test_unbind_retried);
    return g_test_run();
}
