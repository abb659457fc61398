/*
 * Live migration of an assigned device (VFIO migration v2), between two of
 * our QEMUs in the rig, against the kernel's mtty sample (an mdev with
 * STOP_COPY, P2P and PRE_COPY) and the edu device (no migration in its
 * driver).
 *
 * The rig kernel's boot creates mtty instances and names them:
 * VFIO_MIG_SRC and VFIO_MIG_DST (one port each, the same type) and
 * VFIO_MIG_OTHER (two ports: a destination whose device refuses the
 * state).  The mtty cases run on the backend VFIO_BACKEND names: type1
 * tracks dirty pages itself, on iommufd mtty's own DMA logging does.
 * Where edu shares the mtty's container, guest RAM is pinned and its maps
 * run in the background: a destination resumes only once they are done.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include "vfio-pci-util.h"
#include "libqos/virtio-pci.h"
#include "qapi/qmp/qdict.h"
#include "standard-headers/linux/virtio_config.h"
#include "standard-headers/linux/virtio_net.h"

#define UART_TX         0
#define UART_RX         0
#define UART_IER        1
#define UART_IIR        2
#define UART_FCR        2
#define UART_LCR        3
#define UART_LSR        5
#define UART_SCR        7
#define UART_IER_RDI    0x01
#define UART_IER_THRI   0x02
#define UART_IIR_RDI    0x04
#define UART_LSR_DR     0x01
#define UART_FCR_RESET  0x07        /* FIFO on, both cleared, trigger 1 */

#define MIG_WAIT_US     (120 * G_USEC_PER_SEC)

static const char fifo_bytes[] = "migrate!";

#define ACPI_PCIHP_EJECT    0xae08      /* PIIX4 ACPI PCI hotplug: eject */
#define RACE_ROUNDS         50
#define RACE_MAX_US         20000
#define SHM_SLOT            5
#define SHM_ARGS            "-object memory-backend-ram,id=shm,size=1M," \
                            "share=on -device ivshmem-plain,memdev=shm," \
                            "master=on,addr=05.0"

typedef struct MigPair {
    Assigned src;
    Assigned dst;
    char *uri;
    char *dst_log;
} MigPair;

static const char *mdev_backend_args(void)
{
    return backend_iommufd() ? "-object iommufd,id=ifd0" : "";
}

/*
 * The command line of QEMU on @machine with the mtty @uuid at slot 4 and
 * @props on its -device
 */
static char *mtty_args(const char *machine, const char *uuid,
                       const char *props)
{
    return g_strdup_printf("-M %s -nodefaults %s -device vfio-pci,id=mtty,"
                           "sysfsdev=/sys/bus/mdev/devices/%s,addr=%02x.0"
                           "%s%s", machine, mdev_backend_args(), uuid, SLOT,
                           backend_iommufd() ? ",iommufd=ifd0" : "",
                           props ? props : "");
}

/* Starts it, @args first: their devices are realized before the mtty */
static void mtty_start_on(Assigned *a, const char *machine, const char *uuid,
                          const char *props, const char *args,
                          const char *log)
{
    const char *env = g_getenv("VFIO_TEST_QEMU_ARGS");
    g_autofree char *mtty = mtty_args(machine, uuid, props);
    g_autofree char *cmd = g_strdup_printf("%s %s %s", args ? args : "",
                                           mtty, env ? env : "");

    a->host = uuid;
    a->qts = log ? qtest_init_stderr(cmd, log) : qtest_init(cmd);
    a->bus = qpci_new_pc(a->qts, NULL);
    a->dev = qpci_device_find(a->bus, DEVFN);
    g_assert_nonnull(a->dev);
}

static void mtty_start(Assigned *a, const char *uuid, const char *props,
                       const char *args, const char *log)
{
    mtty_start_on(a, "q35", uuid, props, args, log);
}

/* The source: its mtty's I/O BAR programmed and decoding */
static void mtty_start_source(Assigned *a, const char *uuid,
                              const char *props, const char *args)
{
    mtty_start(a, uuid, props, args, NULL);
    a->bar0 = qpci_iomap(a->dev, 0, NULL);
    qpci_config_writew(a->dev, PCI_COMMAND, PCI_COMMAND_IO);
    /* mtty has no reset: what an earlier test left is still there */
    qpci_io_writeb(a->dev, a->bar0, UART_IER, 0);
    qpci_io_writeb(a->dev, a->bar0, UART_FCR, UART_FCR_RESET);
}

/* The destination waits for the stream on @uri; its BAR comes with it */
static void mtty_start_dest(MigPair *p, const char *uuid, const char *log)
{
    g_autofree char *args = g_strdup_printf("-incoming %s", p->uri);

    mtty_start(&p->dst, uuid, NULL, args, log);
}

static uint8_t uart_read(Assigned *a, int reg)
{
    return qpci_io_readb(a->dev, a->bar0, reg);
}

static void uart_write(Assigned *a, int reg, uint8_t val)
{
    qpci_io_writeb(a->dev, a->bar0, reg, val);
}

static char *mig_status(QTestState *qts)
{
    QDict *resp = qtest_qmp(qts, "{'execute': 'query-migrate'}");
    QDict *ret = qdict_get_qdict(resp, "return");
    char *status = g_strdup(qdict_get_try_str(ret, "status"));

    qobject_unref(resp);
    return status;
}

/* Polls query-migrate until it says @want; false if it ends otherwise */
static bool mig_wait(QTestState *qts, const char *want)
{
    gint64 end = g_get_monotonic_time() + MIG_WAIT_US;

    for (;;) {
        g_autofree char *status = mig_status(qts);

        if (!g_strcmp0(status, want)) {
            return true;
        }
        if (!g_strcmp0(status, "completed") || !g_strcmp0(status, "failed") ||
            !g_strcmp0(status, "cancelled") ||
            g_get_monotonic_time() > end) {
            g_test_message("migration is %s, not %s", status, want);
            return false;
        }
        g_usleep(20 * 1000);
    }
}

static void mig_start(MigPair *p)
{
    qtest_qmp_assert_success(p->src.qts, "{'execute': 'migrate', "
                             "'arguments': {'uri': %s}}", p->uri);
}

static void mig_set_bandwidth(QTestState *qts, int64_t bytes_per_sec)
{
    qtest_qmp_assert_success(qts, "{'execute': 'migrate-set-parameters', "
                             "'arguments': {'max-bandwidth': %" PRId64 "}}",
                             bytes_per_sec);
}

static void mig_pair_init(MigPair *p, const char *what)
{
    memset(p, 0, sizeof(*p));
    p->uri = g_strdup_printf("unix:/run/vfio-mig-%d-%s.sock", getpid(),
                             what);
    p->dst_log = test_log_path(what);
}

/* Fills the source FIFO and sets the registers the destination must show */
static void mtty_load_source(Assigned *a)
{
    int i;

    uart_write(a, UART_SCR, 0xa5);
    uart_write(a, UART_LCR, 0x03);          /* 8N1 */
    for (i = 0; fifo_bytes[i]; i++) {
        uart_write(a, UART_TX, fifo_bytes[i]);
    }
    /* Data ready with its interrupt enabled: the device's INTx state */
    uart_write(a, UART_IER, UART_IER_RDI);
    g_assert_true(uart_read(a, UART_LSR) & UART_LSR_DR);
}

/* What the source had is in the destination's device; INTx works there */
static void mtty_check_dest(Assigned *d)
{
    char got[sizeof(fifo_bytes)] = "";
    int i;

    /* The BAR's address came with the config space */
    d->bar0 = qpci_legacy_iomap(d->dev,
                                qpci_config_readl(d->dev, PCI_BASE_ADDRESS_0) &
                                PCI_BASE_ADDRESS_IO_MASK);
    g_assert_cmphex(qpci_config_readw(d->dev, PCI_COMMAND) &
                    PCI_COMMAND_IO, ==, PCI_COMMAND_IO);
    g_assert_cmphex(uart_read(d, UART_SCR), ==, 0xa5);
    g_assert_cmphex(uart_read(d, UART_LCR), ==, 0x03);
    g_assert_cmphex(uart_read(d, UART_IER), ==, UART_IER_RDI);
    g_assert_cmphex(uart_read(d, UART_IIR) & 0x0f, ==, UART_IIR_RDI);
    for (i = 0; i < sizeof(fifo_bytes) - 1; i++) {
        g_assert_true(uart_read(d, UART_LSR) & UART_LSR_DR);
        got[i] = uart_read(d, UART_RX);
    }
    g_assert_cmpstr(got, ==, fifo_bytes);
    g_assert_false(uart_read(d, UART_LSR) & UART_LSR_DR);

    /* The destination's host INTx is wired: an empty FIFO fires THRI */
    qtest_irq_intercept_in(d->qts, "ioapic");
    uart_write(d, UART_IER, 0);
    uart_write(d, UART_IER, UART_IER_THRI);
    g_assert_true(wait_for_irq(d->qts, SLOT_INTX_GSI, true));
    uart_write(d, UART_IER, 0);
}

/* The only QEMU left, the source, holds no data fd of a session any more */
static void assert_no_session(void)
{
    g_assert_cmpint(count_fds(qemu_pid(), "anon_inode:mtty_mig"), ==, 0);
}

/* A destination that fails its load exits by itself */
static void wait_exit(QTestState *qts)
{
    gint64 end = g_get_monotonic_time() + MIG_WAIT_US;

    while (qtest_probe_child(qts)) {
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        g_usleep(20 * 1000);
    }
}

static void mig_pair_free(MigPair *p)
{
    if (p->dst.qts) {
        release(&p->dst);
    }
    if (p->src.qts) {
        release(&p->src);
    }
    g_free(p->uri);
    g_free(p->dst_log);
}

/* A migration held in pre-copy: RAM crawls at 1 KiB/s */
static void mig_start_crawling(MigPair *p)
{
    mig_set_bandwidth(p->src.qts, 1024);
    mig_start(p);
    g_assert_true(mig_wait(p->src.qts, "active"));
}

/* Migrates the loaded source; what it had comes out of the destination */
static void mig_complete(MigPair *p)
{
    mig_start(p);
    g_assert_true(mig_wait(p->src.qts, "completed"));
    qtest_qmp_eventwait(p->dst.qts, "RESUME");
    mtty_check_dest(&p->dst);
    mig_pair_free(p);
}

/* The FIFO's bytes, its registers and INTx come out of the destination. */
/*
 * mtty logs its own DMA: that, not type1's every-page-dirty tracking, is
 * what a migration uses, on both backends.
 */
static void test_mtty_migrate(void)
{
    const char *src = rig_device("VFIO_MIG_SRC");
    const char *dst = rig_device("VFIO_MIG_DST");
    g_autofree char *trace = test_log_path("mig-dirty");
    g_autofree char *trace_args = NULL;
    g_autofree char *status = NULL;
    MigPair p;

    if (!src || !dst) {
        return;
    }
    mig_pair_init(&p, "migrate");
    trace_args = g_strdup_printf("-trace enable=vfio_dirty_tracking -D %s",
                                 trace);
    mtty_start_source(&p.src, src, ",enable-migration=on", trace_args);
    mtty_load_source(&p.src);
    mtty_start_dest(&p, dst, NULL);

    mig_start(&p);
    g_assert_true(mig_wait(p.src.qts, "completed"));
    status = query_status(p.src.qts);
    g_assert_cmpstr(status, ==, "postmigrate");
    g_free(status);

    qtest_qmp_eventwait(p.dst.qts, "RESUME");
    status = query_status(p.dst.qts);
    g_assert_cmpstr(status, ==, "running");
    mtty_check_dest(&p.dst);
    mig_pair_free(&p);
    g_assert_cmpint(count_log_lines(trace, "start 1 by device: 0"), ==, 1);
    unlink(trace);
}

/* The source device still loops its FIFO: it is back in RUNNING */
static void mtty_check_running(Assigned *a)
{
    g_autofree char *status = query_status(a->qts);

    g_assert_cmpstr(status, ==, "running");
    uart_write(a, UART_IER, 0);
    while (uart_read(a, UART_LSR) & UART_LSR_DR) {
        uart_read(a, UART_RX);
    }
    uart_write(a, UART_TX, 'Z');
    g_assert_true(uart_read(a, UART_LSR) & UART_LSR_DR);
    g_assert_cmphex(uart_read(a, UART_RX), ==, 'Z');
}

/*
 * Cancelled in pre-copy (RAM crawls at 1 KiB/s): the source runs on with
 * its device, and a second migration of it succeeds.
 */
static void test_mtty_cancel(void)
{
    const char *src = rig_device("VFIO_MIG_SRC");
    const char *dst = rig_device("VFIO_MIG_DST");
    MigPair p;

    if (!src || !dst) {
        return;
    }
    mig_pair_init(&p, "cancel");
    mtty_start_source(&p.src, src, NULL, NULL);
    mtty_start_dest(&p, dst, p.dst_log);
    qtest_set_expected_status(p.dst.qts, 1);

    mig_start_crawling(&p);
    qtest_qmp_assert_success(p.src.qts, "{'execute': 'migrate_cancel'}");
    g_assert_true(mig_wait(p.src.qts, "cancelled"));
    mtty_check_running(&p.src);
    wait_exit(p.dst.qts);
    release(&p.dst);
    p.dst.qts = NULL;
    assert_no_session();

    /* Again, at full speed, to a new destination */
    g_free(p.uri);
    p.uri = g_strdup_printf("unix:/run/vfio-mig-%d-again.sock", getpid());
    mtty_load_source(&p.src);
    mtty_start_dest(&p, dst, NULL);
    mig_set_bandwidth(p.src.qts, (int64_t)1 << 40);
    mig_complete(&p);
}

/*
 * A destination told to quit while it loads leaves its device RESUMING
 * (mtty keeps that across opens): the next QEMU to open the device brings
 * it back to RUNNING, and it migrates again, now as a source.
 */
static void test_mtty_dest_quit(void)
{
    const char *src = rig_device("VFIO_MIG_SRC");
    const char *dst = rig_device("VFIO_MIG_DST");
    MigPair p;

    if (!src || !dst) {
        return;
    }
    mig_pair_init(&p, "quit");
    mtty_start_source(&p.src, src, NULL, NULL);
    mtty_start_dest(&p, dst, NULL);
    mig_start_crawling(&p);
    release(&p.dst);
    release(&p.src);

    /* The other way round: the device left RESUMING is the source now */
    memset(&p.src, 0, sizeof(p.src));
    memset(&p.dst, 0, sizeof(p.dst));
    g_free(p.uri);
    p.uri = g_strdup_printf("unix:/run/vfio-mig-%d-back.sock", getpid());
    mtty_start_source(&p.src, dst, NULL, NULL);
    mtty_load_source(&p.src);
    mtty_start_dest(&p, src, NULL);
    mig_complete(&p);
}

/*
 * A destination whose device refuses the state (a two-port mtty): it
 * exits with the kernel's error, the migration fails, and the source VM
 * and its device run on.
 */
static void test_mtty_refused(void)
{
    const char *src = rig_device("VFIO_MIG_SRC");
    const char *other = rig_device("VFIO_MIG_OTHER");
    g_autofree char *log = NULL;
    MigPair p;

    if (!src || !other) {
        return;
    }
    mig_pair_init(&p, "refused");
    mtty_start_source(&p.src, src, NULL, NULL);
    mtty_load_source(&p.src);
    mtty_start_dest(&p, other, p.dst_log);
    qtest_set_expected_status(p.dst.qts, 1);

    mig_start(&p);
    g_assert_true(mig_wait(p.src.qts, "failed"));
    mtty_check_running(&p.src);
    wait_exit(p.dst.qts);
    assert_no_session();

    g_assert_true(g_file_get_contents(p.dst_log, &log, NULL, NULL));
    g_test_message("destination said: %s", log);
    g_assert_nonnull(strstr(log, "the device refused its migration data"));
    mig_pair_free(&p);
}

static void expect_migrate_error(QTestState *qts, const char *needle)
{
    qmp_error_says(qtest_qmp(qts, "{'execute': 'migrate', 'arguments': "
                             "{'uri': 'exec:cat >/dev/null'}}"), "migrate",
                   needle);
}

/* enable-migration=off: the device blocks migration, and says so */
static void test_mtty_off(void)
{
    const char *src = rig_device("VFIO_MIG_SRC");
    g_autofree char *needle = NULL;
    Assigned a;

    if (!src) {
        return;
    }
    mtty_start_source(&a, src, ",enable-migration=off", NULL);
    needle = g_strdup_printf("vfio %s: cannot migrate: migration is off "
                             "(enable-migration=off)", src);
    expect_migrate_error(a.qts, needle);
    mtty_check_running(&a);
    release(&a);
}

/* edu's driver (vfio-pci) has no migration: auto blocks with the reason */
static void test_edu_auto(void)
{
    g_autofree char *needle = NULL;
    Assigned a;

    if (!assign_on(&a, "q35", "VFIO_EDU", NULL)) {
        return;
    }
    needle = g_strdup_printf("vfio %s: cannot migrate: its host driver "
                             "(vfio-pci) does not support VFIO migration",
                             a.host);
    expect_migrate_error(a.qts, needle);
    assert_qemu_alive(a.qts);
    release(&a);
}

/* ... and enable-migration=on fails its realize with the same reason */
static void test_edu_on(void)
{
    const char *host = rig_device("VFIO_EDU");
    QTestState *qts;
    QDict *resp;
    const char *desc;

    if (!host) {
        return;
    }
    qts = qtest_initf("-M pc -nodefaults %s", backend_args());
    resp = qtest_qmp(qts, "{'execute': 'device_add', 'arguments': "
                     "{'driver': 'vfio-pci', 'host': %s, "
                     "'enable-migration': 'on'}}", host);
    g_assert_nonnull(qdict_get_qdict(resp, "error"));
    desc = qdict_get_str(qdict_get_qdict(resp, "error"), "desc");
    g_test_message("device_add said: %s", desc);
    g_assert_nonnull(strstr(desc, "cannot migrate (enable-migration=on): "
                            "its host driver (vfio-pci) does not support "
                            "VFIO migration"));
    qobject_unref(resp);

    /* Nothing of the refused device blocks the VM's migration */
    qtest_qmp_assert_success(qts, "{'execute': 'migrate', 'arguments': "
                             "{'uri': 'exec:cat >/dev/null'}}");
    g_assert_true(mig_wait(qts, "completed"));
    qtest_quit(qts);
}

static void test_mtty_elsewhere(void)
{
    g_test_skip("mtty is in the rig kernel's boot only (VFIO_IOMMUFD=1): "
                "Debian's kernel has no mdev samples");
}

/*
 * The guest ejects the device through ACPI during pre-copy (nothing asks
 * whether a migration runs): the migration fails, saying why, and the
 * source VM runs on without the device.
 */
static void test_mtty_eject(void)
{
    const char *src = rig_device("VFIO_MIG_SRC");
    const char *dst = rig_device("VFIO_MIG_DST");
    g_autofree char *src_log = test_log_path("mig-eject-src");
    g_autofree char *args = NULL;
    g_autofree char *status = NULL;
    MigPair p;

    if (!src || !dst) {
        return;
    }
    mig_pair_init(&p, "eject");
    mtty_start_on(&p.src, "pc", src, NULL, NULL, src_log);
    args = g_strdup_printf("-incoming %s", p.uri);
    mtty_start_on(&p.dst, "pc", dst, NULL, args, p.dst_log);
    qtest_set_expected_status(p.dst.qts, 1);
    mig_start_crawling(&p);

    qtest_outl(p.src.qts, ACPI_PCIHP_EJECT, 1 << SLOT);
    qtest_qmp_eventwait(p.src.qts, "DEVICE_DELETED");
    g_assert_true(mig_wait(p.src.qts, "failed"));
    status = query_status(p.src.qts);
    g_assert_cmpstr(status, ==, "running");
    g_assert_cmpint(count_log_lines(src_log, "the device was removed while "
                                    "a migration ran"), ==, 1);
    wait_exit(p.dst.qts);
    release(&p.dst);
    p.dst.qts = NULL;
    mig_pair_free(&p);
    unlink(src_log);
}

/* Polls query-migrate until the migration ended; its last status */
static char *mig_wait_end(QTestState *qts)
{
    gint64 end = g_get_monotonic_time() + MIG_WAIT_US;

    for (;;) {
        char *status = mig_status(qts);

        if (!g_strcmp0(status, "completed") || !g_strcmp0(status, "failed") ||
            !g_strcmp0(status, "cancelled")) {
            return status;
        }
        g_free(status);
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        g_usleep(5 * 1000);
    }
}

/* What query-migrate says of the migration of round @round that ended */
static void mig_log_end(QTestState *qts, int round)
{
    QDict *resp = qtest_qmp(qts, "{'execute': 'query-migrate'}");
    QDict *ret = qdict_get_qdict(resp, "return");

    g_test_message("round %d: %s%s%s", round,
                   qdict_get_try_str(ret, "status"),
                   qdict_haskey(ret, "error-desc") ? ": " : "",
                   qdict_get_try_str(ret, "error-desc") ?: "");
    qobject_unref(resp);
}

/* QMP @command, whose answer (success or error) does not matter here */
static void qmp_either(QTestState *qts, const char *command)
{
    qobject_unref(qtest_qmp(qts, "{'execute': %s}", command));
}

/*
 * stop and cont at random points of setup and pre-copy: the run-state
 * handlers (main thread) and the save handlers (the migration thread)
 * take turns on the device's state and data fd.  Each migration (into a
 * pipe) completes or fails cleanly, and the device works after each.
 */
static void test_mtty_stop_cont(void)
{
    const char *src = rig_device("VFIO_MIG_SRC");
    g_autoptr(GRand) rand = g_rand_new();
    Assigned a;
    int i;

    if (!src) {
        return;
    }
    mtty_start_source(&a, src, NULL, NULL);
    mig_set_bandwidth(a.qts, (int64_t)1 << 40);
    for (i = 0; i < RACE_ROUNDS; i++) {
        qtest_qmp_assert_success(a.qts, "{'execute': 'migrate', 'arguments': "
                                 "{'uri': 'exec:cat > /dev/null'}}");
        g_usleep(g_rand_int_range(rand, 0, RACE_MAX_US));
        qmp_either(a.qts, "stop");
        g_usleep(g_rand_int_range(rand, 0, RACE_MAX_US));
        qmp_either(a.qts, "cont");
        g_free(mig_wait_end(a.qts));
        mig_log_end(a.qts, i);
        qmp_either(a.qts, "cont");
        mtty_check_running(&a);
    }
    assert_no_session();
    release(&a);
}

/*
 * RAM that appears while the devices log their DMA (here an ivshmem BAR
 * the guest maps during pre-copy) lies outside the ranges they were told
 * to log: their logging restarts over every map, and the migration
 * completes with the device's state.
 */
static void test_mtty_ram_appears(void)
{
    const char *src = rig_device("VFIO_MIG_SRC");
    const char *dst = rig_device("VFIO_MIG_DST");
    g_autofree char *trace = test_log_path("mig-ram-appears");
    g_autofree char *args = NULL;
    QPCIDevice *shm;
    QPCIBar bar2;
    MigPair p;

    if (!src || !dst) {
        return;
    }
    mig_pair_init(&p, "ram-appears");
    args = g_strdup_printf("%s -trace enable=vfio_dirty_* -D %s", SHM_ARGS,
                           trace);
    mtty_start_source(&p.src, src, NULL, args);
    mtty_load_source(&p.src);
    g_free(args);
    args = g_strdup_printf("-incoming %s %s", p.uri, SHM_ARGS);
    mtty_start(&p.dst, dst, NULL, args, NULL);
    mig_start_crawling(&p);

    shm = qpci_device_find(p.src.bus, QPCI_DEVFN(SHM_SLOT, 0));
    g_assert_nonnull(shm);
    bar2 = qpci_iomap(shm, 2, NULL);
    qpci_device_enable(shm);
    qpci_io_writel(shm, bar2, 0, 0x5eed);
    g_free(shm);

    mig_set_bandwidth(p.src.qts, (int64_t)1 << 40);
    g_assert_true(mig_wait(p.src.qts, "completed"));
    qtest_qmp_eventwait(p.dst.qts, "RESUME");
    mtty_check_dest(&p.dst);
    mig_pair_free(&p);
    g_assert_cmpint(count_log_lines(trace, "outside the logged ranges: "
                                    "logging restarted (0)"), >=, 1);
    unlink(trace);
}

/*
 * Migration faults
 */
/* A QEMU of the test's own: libqtest's cannot die of a SIGKILL */
static GPid spawn_qemu(const char *args, const char *log)
{
    g_autofree char *cmd = g_strdup_printf("exec %s -display none %s 2>%s",
                                           g_getenv("QTEST_QEMU_BINARY"),
                                           args, log);
    char *argv[] = { (char *)"sh", (char *)"-c", cmd, NULL };
    GPid pid;

    g_assert_true(g_spawn_async(NULL, argv, NULL, G_SPAWN_SEARCH_PATH |
                                G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid,
                                NULL));
    return pid;
}

static void kill_spawned(GPid pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    g_spawn_close_pid(pid);
}

static void wait_socket(const char *path)
{
    gint64 end = g_get_monotonic_time() + MIG_WAIT_US;

    while (!g_file_test(path, G_FILE_TEST_EXISTS)) {
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        g_usleep(20 * 1000);
    }
}

/*
 * QEMU binds its socket before it listens on it: a connect in between is
 * refused, so try again until it listens (at most MIG_WAIT_US).
 */
static int unix_connect(const char *path)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    gint64 end = g_get_monotonic_time() + MIG_WAIT_US;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    g_assert_cmpint(fd, >=, 0);
    g_strlcpy(addr.sun_path, path, sizeof(addr.sun_path));
    while (connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
        g_assert_cmpint(errno, ==, ECONNREFUSED);
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        g_usleep(20 * 1000);
    }
    return fd;
}

/* The socket path of a unix: URI */
static const char *uri_path(const char *uri)
{
    g_assert_true(g_str_has_prefix(uri, "unix:"));
    return uri + strlen("unix:");
}

/* A second migration to a new destination goes through */
static void mig_again(MigPair *p, const char *dst)
{
    g_free(p->uri);
    p->uri = g_strdup_printf("unix:/run/vfio-mig-%d-again.sock", getpid());
    mtty_load_source(&p->src);
    mtty_start_dest(p, dst, NULL);
    mig_set_bandwidth(p->src.qts, (int64_t)1 << 40);
    mig_complete(p);
}

/*
 * The destination killed mid-stream: the source runs on with its device
 * back in RUNNING, and migrates again to a destination whose device the
 * dead one left in RESUMING.
 */
static void test_mtty_dest_killed(void)
{
    const char *src = rig_device("VFIO_MIG_SRC");
    const char *dst = rig_device("VFIO_MIG_DST");
    g_autofree char *mtty = NULL;
    g_autofree char *args = NULL;
    MigPair p;
    GPid pid;

    if (!src || !dst) {
        return;
    }
    mig_pair_init(&p, "dest-killed");
    mtty_start_source(&p.src, src, NULL, NULL);
    mtty = mtty_args("q35", dst, NULL);
    args = g_strdup_printf("%s -incoming %s", mtty, p.uri);
    pid = spawn_qemu(args, p.dst_log);
    wait_socket(uri_path(p.uri));
    mig_start_crawling(&p);
    kill_spawned(pid);
    g_assert_true(mig_wait(p.src.qts, "failed"));
    mtty_check_running(&p.src);
    mig_again(&p, dst);
}

/*
 * The source killed mid-stream: the destination exits, saying why, its
 * device reset out of RESUMING, and the device works for its next user.
 */
static void test_mtty_src_killed(void)
{
    const char *src = rig_device("VFIO_MIG_SRC");
    const char *dst = rig_device("VFIO_MIG_DST");
    g_autofree char *trace = test_log_path("mig-src-killed-trace");
    g_autofree char *src_log = test_log_path("mig-src-killed-src");
    g_autofree char *qmp = g_strdup_printf("/run/vfio-mig-%d-qmp.sock",
                                           getpid());
    g_autofree char *mtty = NULL;
    g_autofree char *args = NULL;
    Assigned next;
    MigPair p;
    GPid pid;
    int fd;

    if (!src || !dst) {
        return;
    }
    mig_pair_init(&p, "src-killed");
    args = g_strdup_printf("-incoming %s -trace enable=vfio_mig_reset "
                           "-trace enable=vfio_mig_set_state -D %s", p.uri,
                           trace);
    mtty_start(&p.dst, dst, NULL, args, p.dst_log);
    qtest_set_expected_status(p.dst.qts, 1);
    mtty = mtty_args("q35", src, NULL);
    g_free(args);
    args = g_strdup_printf("%s -qmp unix:%s,server=on,wait=off", mtty, qmp);
    pid = spawn_qemu(args, src_log);
    wait_socket(qmp);
    fd = unix_connect(qmp);
    qobject_unref(qmp_fd_receive(fd));
    qobject_unref(qmp_fd(fd, "{'execute': 'qmp_capabilities'}"));
    qobject_unref(qmp_fd(fd, "{'execute': 'migrate-set-parameters', "
                         "'arguments': {'max-bandwidth': 1024}}"));
    qobject_unref(qmp_fd(fd, "{'execute': 'migrate', 'arguments': "
                         "{'uri': %s}}", p.uri));
    /* Mid-stream: the destination's device takes data */
    g_assert_true(wait_log(trace, "-> RESUMING: 0", 1, MIG_WAIT_US /
                           G_USEC_PER_SEC));
    kill_spawned(pid);
    close(fd);
    wait_exit(p.dst.qts);
    g_assert_cmpint(count_log_lines(trace, "vfio_mig_reset"), >=, 1);
    mig_pair_free(&p);

    mtty_start_source(&next, dst, NULL, NULL);
    mtty_check_running(&next);
    release(&next);
    unlink(trace);
    unlink(src_log);
    unlink(qmp);
}

/* The whole stream of a source started with @args, saved through exec: */
static gchar *mig_save_stream(const char *src, const char *args, gsize *len)
{
    g_autofree char *file = g_strdup_printf("/run/vfio-mig-%d.stream",
                                            getpid());
    g_autofree char *uri = g_strdup_printf("exec:cat > %s", file);
    gchar *stream = NULL;
    Assigned a;

    mtty_start_source(&a, src, NULL, args);
    mtty_load_source(&a);
    mig_set_bandwidth(a.qts, (int64_t)1 << 40);
    qtest_qmp_assert_success(a.qts, "{'execute': 'migrate', 'arguments': "
                             "{'uri': %s}}", uri);
    g_assert_true(mig_wait(a.qts, "completed"));
    release(&a);
    g_assert_true(g_file_get_contents(file, &stream, len, NULL));
    unlink(file);
    return stream;
}

/* Where the device's first data chunk starts in @stream (its marker) */
static gsize mig_chunk_offset(const gchar *stream, gsize len)
{
    static const guint8 marker[] = { 'V', 'F', 'I', 'O', 'M', 'I', 'G', 1 };
    gsize i;

    for (i = 0; i + sizeof(marker) + 8 <= len; i++) {
        if (!memcmp(stream + i, marker, sizeof(marker))) {
            return i;
        }
    }
    g_assert_not_reached();
}

/* A destination fed @len bytes of @stream fails, its device reset */
static void mig_feed_damaged(const char *dst, const gchar *stream, gsize len,
                             const char *what)
{
    g_autofree char *trace = test_log_path("mig-damaged-trace");
    g_autofree char *args = NULL;
    MigPair p;
    int fd;

    mig_pair_init(&p, what);
    args = g_strdup_printf("-incoming %s -trace enable=vfio_mig_reset -D %s",
                           p.uri, trace);
    mtty_start(&p.dst, dst, NULL, args, p.dst_log);
    qtest_set_expected_status(p.dst.qts, 1);
    fd = unix_connect(uri_path(p.uri));
    g_assert_cmpint(write(fd, stream, len), ==, len);
    close(fd);
    wait_exit(p.dst.qts);
    g_test_message("%s: the destination exited", what);
    g_assert_cmpint(count_log_lines(trace, "vfio_mig_reset"), >=, 1);
    mig_pair_free(&p);
    unlink(trace);
}

/*
 * The device's section of the stream cut short, or its chunk length
 * corrupted: the load fails cleanly and the device is reset.
 */
static void test_mtty_stream_damaged(void)
{
    const char *src = rig_device("VFIO_MIG_SRC");
    const char *dst = rig_device("VFIO_MIG_DST");
    g_autofree gchar *stream = NULL;
    gsize len, chunk;
    Assigned next;

    if (!src || !dst) {
        return;
    }
    stream = mig_save_stream(src, NULL, &len);
    chunk = mig_chunk_offset(stream, len);
    /* Cut inside the chunk's data */
    mig_feed_damaged(dst, stream, chunk + 16 + 2, "truncated");
    /* A chunk length far past the end of the stream */
    memset(stream + chunk + 8, 0x7f, 8);
    mig_feed_damaged(dst, stream, len, "corrupted");

    mtty_start_source(&next, dst, NULL, NULL);
    mtty_check_running(&next);
    release(&next);
}

/* The first of @lines from @from on with @what, -1 if none */
static int trace_line(GStrv lines, int from, const char *what)
{
    int i;

    for (i = MAX(from, 0); lines[i]; i++) {
        if (strstr(lines[i], what)) {
            return i;
        }
    }
    return -1;
}

/* ... and the last, -1 if none */
static int trace_last(GStrv lines, const char *what)
{
    int i, last = -1;

    for (i = 0; lines[i]; i++) {
        if (strstr(lines[i], what)) {
            last = i;
        }
    }
    return last;
}

/*
 * The destination's RAM: 512 MiB that the stream fills, and a DIMM of
 * its own that the stream does not know.  The stream loads in a second,
 * the 2 GiB take seconds to pin.
 */
#define MAPS_RAM        "-m 512M,slots=1,maxmem=2G"
#define MAPS_DIMM       "-object memory-backend-ram,id=dimm0,size=1536M " \
                        "-device pc-dimm,id=d0,memdev=dimm0"

/*
 * A destination whose guest RAM is still being pinned when the stream
 * arrives: edu, realized first, gives the container an IOMMU domain, so
 * its maps pin in the background while a saved stream loads.  The mtty
 * runs again only once they are done, its state came across, and the
 * host's maps are the guest's RAM.
 */
static void test_mtty_dest_maps_running(void)
{
    const char *src = rig_device("VFIO_MIG_SRC");
    const char *dst = rig_device("VFIO_MIG_DST");
    const char *edu = rig_device("VFIO_EDU");
    g_autofree char *trace = test_log_path("mig-maps-trace");
    g_autofree char *file = g_strdup_printf("/run/vfio-mig-%d-maps.stream",
                                            getpid());
    g_autofree char *uri = g_strdup_printf("exec:cat %s", file);
    g_autofree char *args = NULL;
    g_autofree gchar *stream = NULL;
    g_auto(GStrv) lines = NULL;
    int resuming, waited, running;
    gsize len;
    Assigned d;

    if (!src || !dst || !edu) {
        return;
    }
    stream = mig_save_stream(src, MAPS_RAM, &len);
    g_assert_true(g_file_set_contents(file, stream, len, NULL));
    unlink(trace);
    args = g_strdup_printf(MAPS_RAM " " MAPS_DIMM " -device vfio-pci,host=%s,"
                           "addr=03.0%s -incoming defer "
                           "-trace enable=vfio_dma_* "
                           "-trace enable=vfio_mig_set_state -D %s", edu,
                           backend_iommufd() ? ",iommufd=ifd0" : "", trace);
    mtty_start(&d, dst, NULL, args, NULL);
    qtest_qmp_assert_success(d.qts, "{'execute': 'migrate-incoming', "
                             "'arguments': {'uri': %s}}", uri);
    qtest_qmp_eventwait(d.qts, "RESUME");
    mtty_check_dest(&d);

    lines = read_lines(trace);
    resuming = trace_line(lines, 0, "-> RESUMING:");
    waited = trace_line(lines, resuming, "vfio_dma_wait ");
    running = trace_line(lines, resuming, "-> RUNNING");
    g_test_message("trace lines: RESUMING %d, waited %d, RUNNING %d, "
                   "last pinned %d", resuming, waited, running,
                   trace_last(lines, "vfio_dma_pinned "));
    g_assert_cmpint(resuming, >=, 0);
    g_assert_cmpint(running, >, resuming);
    g_assert_cmpint(trace_last(lines, "vfio_dma_pinned "), <, running);
    if (waited < 0 || waited > running) {
        g_test_skip("the maps were done before the stream was loaded: "
                    "nothing was in flight");
    }
    assert_maps_are_ram(d.qts, trace);
    release(&d);
    unlink(file);
    unlink(trace);
}

/*
 * A device an earlier QEMU left stopped (a source after its migration)
 * is taken back to RUNNING at realize, before the guest RAM it is given
 * is mapped, without waiting for it: no guest has enabled the device yet.
 */
static void test_mtty_found_stopped(void)
{
    const char *src = rig_device("VFIO_MIG_SRC");
    const char *edu = rig_device("VFIO_EDU");
    g_autofree char *trace = test_log_path("mig-found-trace");
    g_autofree char *args = NULL;
    g_autofree gchar *stream = NULL;
    gsize len;
    Assigned a;

    if (!src || !edu) {
        return;
    }
    stream = mig_save_stream(src, NULL, &len);
    unlink(trace);
    args = g_strdup_printf("-m 2G -device vfio-pci,host=%s,addr=03.0%s "
                           "-trace enable=vfio_mig_found_state "
                           "-trace enable=vfio_dma_wait -D %s", edu,
                           backend_iommufd() ? ",iommufd=ifd0" : "", trace);
    mtty_start_source(&a, src, NULL, args);
    if (!count_log_lines(trace, "vfio_mig_found_state")) {
        g_test_skip("the source's mtty was not left stopped");
    }
    g_assert_cmpint(count_log_lines(trace, "vfio_dma_wait "), ==, 0);
    mtty_check_running(&a);
    release(&a);
    unlink(trace);
}

/*
 * The device's data fd answers a read with more bytes than it was asked
 * for (a broken driver, played by tests/fault/vfio-fault-shim.c): the
 * migration fails, saying so, and the source runs on with its device.
 */
static void test_mtty_data_overlong(void)
{
    const char *src = rig_device("VFIO_MIG_SRC");
    const char *dst = rig_device("VFIO_MIG_DST");
    g_autofree char *shim = realpath("tests/qtest/vfio-fault-shim.so", NULL);
    g_autofree char *src_log = test_log_path("mig-overlong-src");
    MigPair p;
    int saved;

    if (!src || !dst) {
        return;
    }
    g_assert_nonnull(shim);
    mig_pair_init(&p, "overlong");
    g_setenv("LD_PRELOAD", shim, true);
    g_setenv("VFIO_FAULT", "mig-read-overlong", true);
    saved = stderr_redirect(src_log);
    mtty_start_source(&p.src, src, NULL, NULL);
    stderr_restore(saved);
    g_unsetenv("LD_PRELOAD");
    g_unsetenv("VFIO_FAULT");
    mtty_load_source(&p.src);
    mtty_start_dest(&p, dst, p.dst_log);
    qtest_set_expected_status(p.dst.qts, 1);

    mig_start(&p);
    g_assert_true(mig_wait(p.src.qts, "failed"));
    mtty_check_running(&p.src);
    g_assert_cmpint(count_log_lines(src_log, "answered a read of"), ==, 1);
    wait_exit(p.dst.qts);
    mig_pair_free(&p);
    unlink(src_log);
}

/*
 * mtty logs its DMA but its reports fail, as on a kernel built without
 * IOMMUFD (Debian's: EOPNOTSUPP, played by the fault shim).  On type1 the
 * container tracks instead.  On iommufd nothing can, and each sync finds
 * all RAM dirty, but only once while the VM is paused: a paused VM's
 * migration (virsh save) at a bandwidth below a pass of its RAM per
 * downtime ends, where it resent all RAM forever before.
 */
static void test_mtty_report_unsupported(void)
{
    const char *src = rig_device("VFIO_MIG_SRC");
    const char *dst = rig_device("VFIO_MIG_DST");
    g_autofree char *shim = realpath("tests/qtest/vfio-fault-shim.so", NULL);
    g_autofree char *trace = test_log_path("mig-report-unsupported");
    g_autofree char *trace_args = NULL;
    MigPair p;

    if (!src || !dst) {
        return;
    }
    g_assert_nonnull(shim);
    mig_pair_init(&p, "report-unsupported");
    trace_args = g_strdup_printf("-trace enable=vfio_dirty_tracking "
                                 "-trace enable=vfio_dirty_report_probe "
                                 "-D %s", trace);
    g_setenv("LD_PRELOAD", shim, true);
    g_setenv("VFIO_FAULT", "dma-report-eopnotsupp", true);
    mtty_start_source(&p.src, src, ",enable-migration=on", trace_args);
    g_unsetenv("LD_PRELOAD");
    g_unsetenv("VFIO_FAULT");
    mtty_load_source(&p.src);
    mtty_start_dest(&p, dst, p.dst_log);
    qtest_qmp_assert_success(p.src.qts, "{'execute': 'stop'}");
    mig_set_bandwidth(p.src.qts, 32 << 20);
    mig_start(&p);
    g_assert_true(mig_wait(p.src.qts, "completed"));
    qtest_qmp_assert_success(p.dst.qts, "{'execute': 'cont'}");
    qtest_qmp_eventwait(p.dst.qts, "RESUME");
    mtty_check_dest(&p.dst);
    mig_pair_free(&p);
    /* Only where the backend could track is the report tried first */
    g_assert_cmpint(count_log_lines(trace, "the devices' report of iova"),
                    ==, backend_iommufd() ? 0 : 1);
    g_assert_cmpint(count_log_lines(trace, backend_iommufd() ?
                                    "start 1 by device: 0" :
                                    "start 1 by type1: 0"), ==, 1);
    unlink(trace);
}

/*
 * migration-events=on: a VFIO_MIGRATION event for each state the device
 * enters, in order, naming it; without it, none.
 */
#define MIG_EVENT_WAIT_US   (10 * G_USEC_PER_SEC)

/*
 * The device-state of the next @n VFIO_MIGRATION events of @qts, each of
 * the mtty's, as one string ("" if none came within the wait).
 */
static char *mig_events(QTestState *qts, int n)
{
    GString *seen = g_string_new(NULL);
    gint64 end = g_get_monotonic_time() + MIG_EVENT_WAIT_US;
    QDict *ev, *data;

    while (n && g_get_monotonic_time() < end) {
        ev = qtest_qmp_event_ref(qts, "VFIO_MIGRATION");
        if (!ev) {
            /* What came meanwhile waits in the buffer: look again */
            qobject_unref(qtest_qmp(qts, "{'execute': 'query-status'}"));
            g_usleep(20 * 1000);
            continue;
        }
        data = qdict_get_qdict(ev, "data");
        g_assert_cmpstr(qdict_get_str(data, "device-id"), ==, "mtty");
        g_assert_cmpstr(qdict_get_str(data, "qom-path"), ==,
                        "/machine/peripheral/mtty");
        g_string_append_printf(seen, "%s%s", seen->len ? " " : "",
                               qdict_get_str(data, "device-state"));
        qobject_unref(ev);
        n--;
    }
    return g_string_free(seen, false);
}

/* @qts sent no VFIO_MIGRATION event, up to now */
static void assert_no_mig_event(QTestState *qts)
{
    qobject_unref(qtest_qmp(qts, "{'execute': 'query-status'}"));
    g_assert_null(qtest_qmp_event_ref(qts, "VFIO_MIGRATION"));
}

/* The destination runs: its VM started after the load */
static void wait_running(QTestState *qts)
{
    gint64 end = g_get_monotonic_time() + MIG_WAIT_US;

    for (;;) {
        g_autofree char *status = query_status(qts);

        if (!strcmp(status, "running")) {
            return;
        }
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        g_usleep(20 * 1000);
    }
}

/*
 * The source: PRE_COPY while the VM runs, the P2P quiescence, STOP_COPY
 * and STOP; the destination: RESUMING, STOP once loaded, and back up
 * through RUNNING_P2P to RUNNING.  (mtty offers PRE_COPY and P2P.)
 */
static void test_mtty_events(gconstpointer on)
{
    const char *src = rig_device("VFIO_MIG_SRC");
    const char *dst = rig_device("VFIO_MIG_DST");
    const char *props = on ? ",migration-events=on" : NULL;
    g_autofree char *args = NULL;
    g_autofree char *got = NULL;
    MigPair p;

    if (!src || !dst) {
        return;
    }
    mig_pair_init(&p, "events");
    args = g_strdup_printf("-incoming %s", p.uri);
    mtty_start_source(&p.src, src, props, NULL);
    mtty_load_source(&p.src);
    mtty_start(&p.dst, dst, props, args, p.dst_log);
    mig_start(&p);
    g_assert_true(mig_wait(p.src.qts, "completed"));
    wait_running(p.dst.qts);
    if (on) {
        got = mig_events(p.src.qts, 4);
        g_assert_cmpstr(got, ==, "pre-copy pre-copy-p2p stop-copy stop");
        g_free(got);
        got = mig_events(p.dst.qts, 4);
        g_assert_cmpstr(got, ==, "resuming stop running-p2p running");
    }
    assert_no_mig_event(p.src.qts);
    assert_no_mig_event(p.dst.qts);
    mtty_check_dest(&p.dst);
    mig_pair_free(&p);
}

/*
 * x-pre-copy-dirty-page-tracking: on (the default), the devices' dirty
 * pages are read at each sync, from the first, while the device runs;
 * off, none is read before the device stopped (STOP_COPY), and then
 * they all are.
 */
static void test_mtty_precopy_sync(gconstpointer on)
{
    const char *src = rig_device("VFIO_MIG_SRC");
    const char *dst = rig_device("VFIO_MIG_DST");
    g_autofree char *trace = test_log_path("mig-precopy-sync");
    g_autofree char *trace_args = NULL;
    g_auto(GStrv) lines = NULL;
    int i, before = 0, after = 0, deferred = 0;
    bool stopped = false;
    MigPair p;

    if (!src || !dst) {
        return;
    }
    mig_pair_init(&p, "precopy-sync");
    trace_args = g_strdup_printf("-trace enable=vfio_dirty_sync* "
                                 "-trace enable=vfio_mig_set_state -D %s",
                                 trace);
    mtty_start_source(&p.src, src, on ? NULL :
                      ",x-pre-copy-dirty-page-tracking=off", trace_args);
    mtty_load_source(&p.src);
    mtty_start_dest(&p, dst, p.dst_log);
    mig_complete(&p);

    lines = read_lines(trace);
    for (i = 0; lines[i]; i++) {
        if (strstr(lines[i], "vfio_mig_set_state") &&
            strstr(lines[i], "-> STOP_COPY: 0")) {
            stopped = true;
        } else if (strstr(lines[i], "vfio_dirty_sync_deferred")) {
            deferred++;
        } else if (strstr(lines[i], "vfio_dirty_sync ")) {
            *(stopped ? &after : &before) += 1;
        }
    }
    g_test_message("syncs: %d before STOP_COPY, %d after, %d deferred",
                   before, after, deferred);
    g_assert_true(stopped);
    g_assert_cmpint(after, >, 0);
    if (on) {
        g_assert_cmpint(before, >, 0);
        g_assert_cmpint(deferred, ==, 0);
    } else {
        g_assert_cmpint(before, ==, 0);
        g_assert_cmpint(deferred, >, 0);
    }
    unlink(trace);
}

/*
 * x-device-dirty-page-tracking=off: never mtty's own DMA logging.  On
 * type1 the container tracks instead, and the migration works; iommufd
 * tracks nothing, and enable-migration=on fails the realize, saying why.
 */
static void test_mtty_no_device_tracking(void)
{
    const char *src = rig_device("VFIO_MIG_SRC");
    const char *dst = rig_device("VFIO_MIG_DST");
    g_autofree char *trace = test_log_path("mig-no-device-tracking");
    g_autofree char *trace_args = NULL;
    g_autofree char *sysfsdev = NULL;
    QTestState *qts;
    MigPair p;

    if (!src || !dst) {
        return;
    }
    if (backend_iommufd()) {
        sysfsdev = g_strdup_printf("/sys/bus/mdev/devices/%s", src);
        qts = qtest_initf("-M pc -nodefaults %s", mdev_backend_args());
        qmp_error_says(qtest_qmp(qts, "{'execute': 'device_add', "
                                 "'arguments': {'driver': 'vfio-pci', "
                                 "'sysfsdev': %s, 'iommufd': 'ifd0', "
                                 "'enable-migration': 'on', "
                                 "'x-device-dirty-page-tracking': false}}",
                                 sysfsdev),
                       "device_add", "the iommufd IOMMU backend cannot "
                       "track the pages the device writes, and "
                       "x-device-dirty-page-tracking=off keeps the device "
                       "from logging them");
        qtest_quit(qts);
        return;
    }
    mig_pair_init(&p, "no-device-tracking");
    trace_args = g_strdup_printf("-trace enable=vfio_dirty_tracking -D %s",
                                 trace);
    mtty_start_source(&p.src, src, ",enable-migration=on,"
                      "x-device-dirty-page-tracking=off", trace_args);
    mtty_load_source(&p.src);
    mtty_start_dest(&p, dst, p.dst_log);
    mig_complete(&p);
    g_assert_cmpint(count_log_lines(trace, "start 1 by type1: 0"), ==, 1);
    unlink(trace);
}

/*
 * skip-vsc-check leaves vendor capabilities' contents out of the config
 * compare on load; the property is there with its default, but the
 * compare needs a device that migrates and has one.
 */
static void test_mtty_skip_vsc_check(void)
{
    const char *src = rig_device("VFIO_MIG_SRC");
    QDict *resp;
    Assigned a;

    if (!src) {
        return;
    }
    mtty_start(&a, src, NULL, NULL, NULL);
    resp = qtest_qmp(a.qts, "{'execute': 'qom-get', 'arguments': "
                     "{'path': '/machine/peripheral/mtty', "
                     "'property': 'skip-vsc-check'}}");
    g_assert_true(qdict_get_bool(resp, "return"));
    qobject_unref(resp);
    release(&a);
    g_test_skip("the compare itself: no rig device both migrates and has "
                "a vendor capability (mtty has no capability list)");
}

#define FAILOVER_NET_SLOT   5
#define ICH9_PCIHP          0x0cc0      /* ICH9's ACPI PCI hotplug block */
#define PCIHP_EJECT         0x08
#define PCIHP_BUS_SELECT    0x10
#define FAILOVER_BSEL       0           /* rp1's bus: pcie.0 has no ACPI hotplug */

/* The guest's virtio-net driver takes the standby feature */
static void failover_negotiate(QPCIBus *bus)
{
    QPCIAddress addr = { .devfn = QPCI_DEVFN(FAILOVER_NET_SLOT, 0) };
    QVirtioPCIDevice *net = virtio_pci_new(bus, &addr);

    g_assert_nonnull(net);
    qvirtio_pci_device_enable(net);
    qvirtio_start_device(&net->vdev);
    qvirtio_set_features(&net->vdev, qvirtio_get_features(&net->vdev) &
                         (1ULL << VIRTIO_F_VERSION_1 |
                          1ULL << VIRTIO_NET_F_STANDBY));
    qvirtio_set_driver_ok(&net->vdev);
    g_free(net->pdev);
    g_free(net);
}

/* Waits up to MIG_WAIT_US for event @name of @qts; false if none came */
static bool event_wait(QTestState *qts, const char *name)
{
    gint64 end = g_get_monotonic_time() + MIG_WAIT_US;
    QDict *ev;

    while (!(ev = qtest_qmp_event_ref(qts, name))) {
        if (g_get_monotonic_time() > end) {
            g_test_message("no %s event", name);
            return false;
        }
        /* What came meanwhile waits in the buffer: look again */
        qobject_unref(qtest_qmp(qts, "{'execute': 'query-status'}"));
        g_usleep(20 * 1000);
    }
    qobject_unref(ev);
    return true;
}

/* The failover primary exists, as the negotiation plugged it */
static bool failover_primary_plugged(QTestState *qts)
{
    QDict *resp = qtest_qmp(qts, "{'execute': 'qom-get', 'arguments': "
                            "{'path': '/machine/peripheral/primary0', "
                            "'property': 'realized'}}");
    bool plugged = qdict_haskey(resp, "return") &&
                   qdict_get_bool(resp, "return");

    qobject_unref(resp);
    return plugged;
}

/*
 * A failover primary (the assigned NIC with failover_pair_id naming a
 * virtio-net with failover=on) does not block migration, as in QEMU 7.2:
 * QEMU unplugs it for the migration and the guest keeps its network on
 * the standby.  The guest negotiates the standby feature, which plugs the
 * NIC; migrate waits for the guest to let it go ("wait-unplug"), the
 * guest ejects it through ACPI, and the migration completes.  The
 * destination plugs its own primary as it loads the standby's negotiated
 * features: the rig's other e1000e, since the source keeps its ejected
 * one (and its group) until it quits, in case the migration fails.
 */
static char *failover_args(const char *host)
{
    return g_strdup_printf("-M q35 -nodefaults -netdev user,id=hs0 "
                           "-device virtio-net-pci,netdev=hs0,id=standby0,"
                           "failover=on,addr=%02x.0 "
                           "-device pcie-root-port,id=rp1,chassis=1,addr=06.0 "
                           "-device vfio-pci,host=%s,id=primary0,bus=rp1,"
                           "failover_pair_id=standby0 %s",
                           FAILOVER_NET_SLOT, host, backend_args());
}

static void test_failover(void)
{
    const char *host = rig_device("VFIO_E1000E");
    const char *other = rig_device("VFIO_RP_NIC0");
    g_autofree char *args = NULL;
    g_autofree char *dst_args = NULL;
    g_autofree char *uri = g_strdup_printf("unix:/run/vfio-mig-%d-failover"
                                           ".sock", getpid());
    g_autofree char *log = test_log_path("failover-dst");
    QTestState *qts, *dst;
    QPCIBus *bus;

    if (!host || !other) {
        return;
    }
    if (!g_strcmp0(g_getenv("VFIO_HOST_BOUND"), host)) {
        g_test_skip("the rig left the e1000e on its host driver for this "
                    "run (legacy failover runs in the Debian kernel's boot)");
        return;
    }
    args = failover_args(host);
    dst_args = failover_args(other);
    qts = qtest_initf("%s", args);
    bus = qpci_new_pc(qts, NULL);
    failover_negotiate(bus);
    g_assert_true(event_wait(qts, "FAILOVER_NEGOTIATED"));
    g_assert_true(failover_primary_plugged(qts));
    dst = qtest_initf("%s -incoming %s -trace enable=vfio_realize_failed "
                      "-D %s", dst_args, uri, log);
    g_assert_false(failover_primary_plugged(dst));

    qtest_qmp_assert_success(qts, "{'execute': 'migrate', 'arguments': "
                             "{'uri': %s}}", uri);
    g_assert_true(event_wait(qts, "UNPLUG_PRIMARY"));
    g_assert_true(mig_wait(qts, "wait-unplug"));
    qtest_outl(qts, ICH9_PCIHP + PCIHP_BUS_SELECT, FAILOVER_BSEL);
    qtest_outl(qts, ICH9_PCIHP + PCIHP_EJECT, 1);
    g_assert_true(mig_wait(qts, "completed"));
    qtest_qmp_eventwait(dst, "RESUME");
    g_assert_cmpint(count_log_lines(log, "vfio_realize_failed"), ==, 0);
    g_assert_true(failover_primary_plugged(dst));
    qpci_free_pc(bus);
    qtest_quit(dst);
    qtest_quit(qts);
    unlink(log);
}

static void add_case(const char *name, void (*fn)(void))
{
    g_autofree char *path = g_strdup_printf("/vfio-pci/rig/migration/%s/%s",
                                            backend_iommufd() ? "iommufd" :
                                            "legacy", name);

    qtest_add_func(path, fn);
}

static void add_data_case(const char *name, GTestDataFunc fn,
                          const char *data)
{
    g_autofree char *path = g_strdup_printf("/vfio-pci/rig/migration/%s/%s",
                                            backend_iommufd() ? "iommufd" :
                                            "legacy", name);

    qtest_add_data_func(path, data, fn);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (g_strcmp0(g_getenv("VFIO_RIG"), "1")) {
        return g_test_run();
    }
    add_case("edu-auto", test_edu_auto);
    add_case("edu-on", test_edu_on);
    add_case("failover", test_failover);
    if (g_strcmp0(g_getenv("VFIO_IOMMUFD"), "1")) {
        add_case("mtty", test_mtty_elsewhere);
        return g_test_run();
    }
    add_case("mtty", test_mtty_migrate);
    add_case("mtty-cancel", test_mtty_cancel);
    add_case("mtty-refused", test_mtty_refused);
    add_case("mtty-dest-quit", test_mtty_dest_quit);
    add_case("mtty-off", test_mtty_off);
    add_case("mtty-eject", test_mtty_eject);
    add_case("mtty-stop-cont", test_mtty_stop_cont);
    add_case("mtty-ram-appears", test_mtty_ram_appears);
    add_case("mtty-dest-killed", test_mtty_dest_killed);
    add_case("mtty-src-killed", test_mtty_src_killed);
    add_case("mtty-stream-damaged", test_mtty_stream_damaged);
    add_case("mtty-data-overlong", test_mtty_data_overlong);
    add_case("mtty-dest-maps-running", test_mtty_dest_maps_running);
    add_case("mtty-found-stopped", test_mtty_found_stopped);
    add_data_case("mtty-events", test_mtty_events, "on");
    add_data_case("mtty-no-events", test_mtty_events, NULL);
    add_data_case("mtty-precopy-sync-on", test_mtty_precopy_sync, "on");
    add_data_case("mtty-precopy-sync-off", test_mtty_precopy_sync, NULL);
    add_case("mtty-no-device-tracking", test_mtty_no_device_tracking);
    add_case("mtty-report-unsupported", test_mtty_report_unsupported);
    add_case("mtty-skip-vsc-check", test_mtty_skip_vsc_check);
    return g_test_run();
}
