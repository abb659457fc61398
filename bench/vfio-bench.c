/*
 * vfio-bench: times one QEMU's vfio-pci through the qtest protocol
 *
 * usage: vfio-bench [-s STRACE_LOG] MODE [KEY=VALUE...] -- QEMU [ARGS...]
 *
 * It starts QEMU itself (adding -qtest and a QMP monitor on its own unix
 * sockets), runs one measurement and prints "name value" lines.  Both QEMUs
 * of a comparison are driven by this same program with the same commands,
 * so whatever the protocol costs is the same for both; where that cost
 * would hide what is measured (BAR and config accesses), the accesses are
 * made by the guest vCPU running bench/bar-loop.S instead.
 *
 * Modes:
 *   start     slots=4,5  time to each slot answering a config read, and
 *                        to QEMU's exit after "quit" (slots in decimal)
 *   hotplug   hosts=BDF,BDF slots=4,5  device_add each, time to its first
 *                        config read
 *   loop      slot=4 count=N  BAR0 loads, stores, config reads by the vCPU
 *                        (QEMU needs -accel tcg -S -bios bar-loop.bin)
 *   msi       slot=4 count=N  edu MSI raise -> message in RAM -> ack
 *   msix      slot=4 count=N  nvme admin command -> MSI-X message -> ack
 *   msix-bringup slot=4 [secs=N]  every MSI-X entry unmasked, one by one
 *   dma       slot=4     time to edu's first DMA into guest RAM completed
 *                        (Bus Master Enable set the moment it answers)
 *   intx      slot=4 count=N  edu INTx raise -> IOAPIC pin -> ack (q35)
 *   viommu    slot=4 count=N  guest intel-iommu map + unmap of one page
 *                        (q35, -device intel-iommu,caching-mode=on)
 *   mtree                QEMU's flat memory map (info mtree -f)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#define BAR_ADDR        0xe0000000u   /* where BAR0 is placed */
#define MSI_ADDR        0x200000u     /* guest RAM the interrupts land in */
#define LOOP_BLOCK      0x7000u       /* bar-loop.S request block */
#define TIMEOUT_S       600

/* PCI config space */
#define PCI_COMMAND             0x04
#define PCI_COMMAND_IO_MEM_BM   0x7
#define PCI_BAR0                0x10
#define PCI_BAR1                0x14
#define PCI_CAP_LIST            0x34
#define PCI_CAP_ID_MSI          0x05
#define PCI_CAP_ID_MSIX         0x11

/* edu (docs/specs/edu.txt) */
#define EDU_LIVENESS    0x04
#define EDU_IRQ_RAISE   0x60
#define EDU_IRQ_ACK     0x64
#define EDU_MSI_DATA    0x4321
#define EDU_INTX_GSI    20            /* slot 4 INTA# on q35, no firmware */
#define EDU_DMA_DST     0x88
#define EDU_DMA_COUNT   0x90
#define EDU_DMA_CMD     0x98
#define EDU_DMA_BUF     0x40000u      /* edu's buffer, in its DMA space */
#define EDU_DMA_TO_RAM  3             /* start, from its buffer to RAM */
#define DMA_DST_ADDR    0x400000u     /* guest RAM the DMA lands in */
#define DMA_SENTINEL    0x5eeded00u

/* nvme */
#define NVME_CC         0x14
#define NVME_CSTS       0x1c
#define NVME_AQA        0x24
#define NVME_ASQ        0x28
#define NVME_ACQ        0x30
#define NVME_SQ0TDBL    0x1000
#define NVME_CQ0HDBL    0x1004
#define NVME_QSIZE      64
#define NVME_ASQ_ADDR   0x500000u
#define NVME_ACQ_ADDR   0x510000u
#define NVME_MSG_DATA   0xbeef

/* A socket read line by line, with what was read ahead kept. */
typedef struct Conn {
    int fd;
    char buf[65536];
    size_t start, end;
} Conn;

typedef struct Bench {
    pid_t pid;
    Conn qtest;             /* replies and "IRQ" lines from QEMU */
    Conn qmp;
    bool qmp_ready;
    bool irq[256];          /* IOAPIC pins as intercepted */
    struct timespec t0;     /* when QEMU was started */
} Bench;

static Bench b;

static void die(const char *fmt, ...)
    __attribute__((noreturn, format(printf, 1, 2)));

/*
 * Helpers
 */
static void die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fprintf(stderr, "vfio-bench: error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    if (b.pid > 0) {
        kill(b.pid, SIGKILL);
    }
    exit(1);
}

static void on_alarm(int sig)
{
    die("timed out after %d s", TIMEOUT_S);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double since_start_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (ts.tv_sec - b.t0.tv_sec) * 1e3 +
           (ts.tv_nsec - b.t0.tv_nsec) / 1e6;
}

static int listen_unix(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    unlink(path);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(fd, 1) < 0) {
        die("cannot listen on %s: %s", path, strerror(errno));
    }
    return fd;
}

/* Accepts QEMU's connection, unless QEMU exits first. */
static int accept_one(int lfd, const char *what)
{
    struct pollfd p = { .fd = lfd, .events = POLLIN };
    int fd, status;

    while (poll(&p, 1, 100) != 1) {
        if (waitpid(b.pid, &status, WNOHANG) == b.pid) {
            b.pid = 0;
            die("QEMU exited before connecting its %s socket", what);
        }
    }
    fd = accept(lfd, NULL, NULL);
    if (fd < 0) {
        die("accept: %s", strerror(errno));
    }
    close(lfd);
    return fd;
}

/*
 * Starting and stopping QEMU
 */
static void spawn(char **qemu, const char *strace_log, const char *qsock,
                  const char *msock)
{
    char qarg[128], marg[128];
    char *argv[256];
    int n = 0, i;

    if (strace_log) {
        argv[n++] = "strace";
        argv[n++] = "-f";
        argv[n++] = "-ttt";
        argv[n++] = "-T";
        argv[n++] = "--seccomp-bpf";
        argv[n++] = "-e";
        argv[n++] = "trace=ioctl";
        argv[n++] = "-o";
        argv[n++] = (char *)strace_log;
    }
    for (i = 0; qemu[i] && n < 240; i++) {
        argv[n++] = qemu[i];
    }
    snprintf(qarg, sizeof(qarg), "unix:%s", qsock);
    snprintf(marg, sizeof(marg), "socket,id=bench-qmp,path=%s", msock);
    argv[n++] = "-qtest";
    argv[n++] = qarg;
    argv[n++] = "-qtest-log";
    argv[n++] = "none";
    argv[n++] = "-chardev";
    argv[n++] = marg;
    argv[n++] = "-mon";
    argv[n++] = "chardev=bench-qmp,mode=control";
    argv[n++] = "-display";
    argv[n++] = "none";
    argv[n] = NULL;

    clock_gettime(CLOCK_MONOTONIC, &b.t0);
    b.pid = fork();
    if (b.pid == 0) {
        execvp(argv[0], argv);
        fprintf(stderr, "vfio-bench: cannot run %s\n", argv[0]);
        _exit(127);
    }
    if (b.pid < 0) {
        die("fork: %s", strerror(errno));
    }
}

static void start_qemu(char **qemu, const char *strace_log)
{
    char qsock[64], msock[64];
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    int ql, ml;

    snprintf(qsock, sizeof(qsock), "%s/vb-%d.qtest", dir, getpid());
    snprintf(msock, sizeof(msock), "%s/vb-%d.qmp", dir, getpid());
    ql = listen_unix(qsock);
    ml = listen_unix(msock);
    spawn(qemu, strace_log, qsock, msock);
    b.qmp.fd = accept_one(ml, "QMP");
    b.qtest.fd = accept_one(ql, "qtest");
    unlink(qsock);
    unlink(msock);
}

static void send_all(int fd, const char *s)
{
    size_t len = strlen(s);

    while (len) {
        ssize_t n = write(fd, s, len);

        if (n <= 0) {
            die("QEMU went away (write: %s)", strerror(errno));
        }
        s += n;
        len -= n;
    }
}

static bool has_line(Conn *c)
{
    return memchr(c->buf + c->start, '\n', c->end - c->start) != NULL;
}

/* The next line from @c (without its newline), truncated to @size. */
static void read_line(Conn *c, char *line, size_t size)
{
    char *nl;
    size_t len;

    while (!has_line(c)) {
        ssize_t n;

        if (c->start) {
            memmove(c->buf, c->buf + c->start, c->end - c->start);
            c->end -= c->start;
            c->start = 0;
        }
        if (c->end == sizeof(c->buf)) {
            die("a line from QEMU is too long");
        }
        n = read(c->fd, c->buf + c->end, sizeof(c->buf) - c->end);
        if (n <= 0) {
            die("QEMU went away");
        }
        c->end += n;
    }
    nl = memchr(c->buf + c->start, '\n', c->end - c->start);
    len = nl - (c->buf + c->start);
    snprintf(line, size, "%.*s", (int)len, c->buf + c->start);
    c->start += len + 1;
}

/* The next QMP reply, skipping events. */
static void qmp_reply(char *buf, size_t size)
{
    do {
        read_line(&b.qmp, buf, size);
    } while (!strstr(buf, "\"return\"") && !strstr(buf, "\"error\""));
}

static void qmp_send(const char *cmd)
{
    char buf[4096];

    send_all(b.qmp.fd, cmd);
    send_all(b.qmp.fd, "\n");
    qmp_reply(buf, sizeof(buf));
    if (strstr(buf, "\"error\"")) {
        die("QMP %s: %s", cmd, buf);
    }
}

/* A QMP command; the first one does the handshake. */
static void qmp(const char *cmd)
{
    char buf[4096];

    if (!b.qmp_ready) {
        read_line(&b.qmp, buf, sizeof(buf));    /* greeting */
        qmp_send("{\"execute\": \"qmp_capabilities\"}");
        b.qmp_ready = true;
    }
    qmp_send(cmd);
}

/* Returns how long QEMU took to exit after "quit", in ms. */
static double quit_qemu(void)
{
    struct timespec ts;
    double t;
    int status;

    qmp("{\"execute\": \"query-status\"}");
    clock_gettime(CLOCK_REALTIME, &ts);
    printf("quit_epoch %ld.%06ld\n", (long)ts.tv_sec, ts.tv_nsec / 1000);
    t = now_s();
    send_all(b.qmp.fd, "{\"execute\": \"quit\"}\n");
    if (waitpid(b.pid, &status, 0) != b.pid) {
        die("waitpid: %s", strerror(errno));
    }
    b.pid = 0;
    return (now_s() - t) * 1e3;
}

/*
 * The qtest protocol
 */
static void irq_line(const char *line)
{
    int n;

    if (sscanf(line, "IRQ raise %d", &n) == 1 && n >= 0 && n < 256) {
        b.irq[n] = true;
    } else if (sscanf(line, "IRQ lower %d", &n) == 1 && n >= 0 && n < 256) {
        b.irq[n] = false;
    }
}

/* One command; its "OK ..." reply in @reply, IRQ lines set aside. */
static void qtest_cmd(char *reply, size_t size, const char *fmt, ...)
{
    char cmd[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd) - 1, fmt, ap);
    va_end(ap);
    strcat(cmd, "\n");
    send_all(b.qtest.fd, cmd);
    for (;;) {
        read_line(&b.qtest, reply, size);
        if (strncmp(reply, "IRQ ", 4)) {
            break;
        }
        irq_line(reply);
    }
    if (strncmp(reply, "OK", 2)) {
        die("qtest \"%.*s\": %s", (int)strlen(cmd) - 1, cmd, reply);
    }
}

static uint64_t qtest_read(const char *op, uint64_t addr)
{
    char reply[128];

    qtest_cmd(reply, sizeof(reply), "%s 0x%" PRIx64, op, addr);
    return strtoull(reply + 3, NULL, 0);
}

static void qtest_write(const char *op, uint64_t addr, uint64_t val)
{
    char reply[128];

    qtest_cmd(reply, sizeof(reply), "%s 0x%" PRIx64 " 0x%" PRIx64, op, addr,
              val);
}

static uint32_t readl(uint64_t addr)
{
    return qtest_read("readl", addr);
}

static void writel(uint64_t addr, uint32_t val)
{
    qtest_write("writel", addr, val);
}

/* Waits up to @ms for an "IRQ" line without sending a command. */
static void wait_irq(int gsi, bool level, int ms)
{
    char line[128];
    double end = now_s() + ms / 1e3;

    while (b.irq[gsi] != level) {
        struct pollfd p = { .fd = b.qtest.fd, .events = POLLIN };

        if (now_s() > end) {
            die("IOAPIC pin %d never went %s", gsi, level ? "up" : "down");
        }
        if (!has_line(&b.qtest) && poll(&p, 1, 100) != 1) {
            continue;
        }
        read_line(&b.qtest, line, sizeof(line));
        irq_line(line);
    }
}

/*
 * PCI config space through 0xcf8/0xcfc, bus 0
 */
static uint32_t cfg_addr(int slot, int off)
{
    return 0x80000000u | (slot << 11) | (off & 0xfc);
}

static uint32_t cfg_readl(int slot, int off)
{
    qtest_write("outl", 0xcf8, cfg_addr(slot, off));
    return qtest_read("inl", 0xcfc);
}

static uint16_t cfg_readw(int slot, int off)
{
    qtest_write("outl", 0xcf8, cfg_addr(slot, off));
    return qtest_read("inw", 0xcfc + (off & 2));
}

static uint8_t cfg_readb(int slot, int off)
{
    qtest_write("outl", 0xcf8, cfg_addr(slot, off));
    return qtest_read("inb", 0xcfc + (off & 3));
}

static void cfg_writel(int slot, int off, uint32_t val)
{
    qtest_write("outl", 0xcf8, cfg_addr(slot, off));
    qtest_write("outl", 0xcfc, val);
}

static void cfg_writew(int slot, int off, uint16_t val)
{
    qtest_write("outl", 0xcf8, cfg_addr(slot, off));
    qtest_write("outw", 0xcfc + (off & 2), val);
}

static int find_cap(int slot, int id)
{
    int pos = cfg_readb(slot, PCI_CAP_LIST);
    int i;

    for (i = 0; pos && i < 48; i++) {
        if (cfg_readb(slot, pos) == id) {
            return pos;
        }
        pos = cfg_readb(slot, pos + 1);
    }
    die("slot %d has no capability 0x%x", slot, id);
}

/* BAR0 at BAR_ADDR (64-bit BARs get a zero high half), memory on. */
static void map_bar0(int slot)
{
    uint32_t bar = cfg_readl(slot, PCI_BAR0);

    cfg_writel(slot, PCI_BAR0, BAR_ADDR);
    if ((bar & 0x7) == 0x4) {
        cfg_writel(slot, PCI_BAR1, 0);
    }
    cfg_writew(slot, PCI_COMMAND, PCI_COMMAND_IO_MEM_BM);
}

/*
 * Options
 */
static const char *opt(char **kv, const char *key, const char *def)
{
    size_t len = strlen(key);

    for (; *kv; kv++) {
        if (!strncmp(*kv, key, len) && (*kv)[len] == '=') {
            return *kv + len + 1;
        }
    }
    if (!def) {
        die("missing %s=", key);
    }
    return def;
}

static long opt_num(char **kv, const char *key, const char *def)
{
    return strtol(opt(kv, key, def), NULL, 0);
}

/*
 * Measurements
 */
static void wait_config(int slot)
{
    uint32_t id = cfg_readl(slot, 0);

    if ((id & 0xffff) == 0xffff) {
        die("nothing answers config reads at slot %d", slot);
    }
}

static void mode_start(char **kv)
{
    char *slots = strdup(opt(kv, "slots", "0"));
    char *s;

    for (s = strtok(slots, ","); s; s = strtok(NULL, ",")) {
        wait_config(atoi(s));
        printf("ready_ms_%s %.3f\n", s, since_start_ms());
    }
    printf("ready_ms %.3f\n", since_start_ms());
    free(slots);
}

static void mode_hotplug(char **kv)
{
    char *hosts = strdup(opt(kv, "hosts", NULL));
    char *slots = strdup(opt(kv, "slots", NULL));
    char *hs, *ss, *h, *s;
    char cmd[512];
    double t, total = 0;

    wait_config(0);
    h = strtok_r(hosts, ",", &hs);
    s = strtok_r(slots, ",", &ss);
    for (; h && s; h = strtok_r(NULL, ",", &hs), s = strtok_r(NULL, ",", &ss)) {
        t = now_s();
        snprintf(cmd, sizeof(cmd), "{\"execute\": \"device_add\", "
                 "\"arguments\": {\"driver\": \"vfio-pci\", \"host\": \"%s\", "
                 "\"addr\": \"%x.0\", \"id\": \"hp%s\"}}", h, atoi(s), s);
        qmp(cmd);
        wait_config(atoi(s));
        t = (now_s() - t) * 1e3;
        total += t;
        printf("add_ms_%s %.3f\n", s, t);
    }
    printf("add_ms %.3f\n", total);
    free(hosts);
    free(slots);
}

static void print_mtree(void);

/* One request to bar-loop.S; returns its wall time in seconds. */
static double loop_run(uint32_t addr, uint32_t count, uint32_t op,
                       uint32_t go)
{
    double t;

    writel(LOOP_BLOCK + 0x00, addr);
    writel(LOOP_BLOCK + 0x04, count);
    writel(LOOP_BLOCK + 0x08, op);
    t = now_s();
    writel(LOOP_BLOCK + 0x14, go);
    while (readl(LOOP_BLOCK + 0x0c) != go) {
        usleep(2000);
        if (now_s() - t > TIMEOUT_S / 2) {
            die("the vCPU never finished request %u", go);
        }
    }
    return now_s() - t;
}

/* Runs @op long enough (about @secs) to time it; prints accesses/s. */
static void loop_rate(const char *name, uint32_t addr, uint32_t op,
                      uint32_t *go, double secs)
{
    uint32_t count = 1000;
    double t;

    /* First touches fault the BAR mmap in and translate the loop */
    loop_run(addr, count, op, ++*go);
    t = loop_run(addr, count, op, ++*go);

    while (t < secs / 8 && count < (1u << 30)) {
        count *= 4;
        t = loop_run(addr, count, op, ++*go);
    }
    count = count * (secs / t) > (1u << 31) ? 1u << 31 : count * (secs / t);
    t = loop_run(addr, count, op, ++*go);
    printf("%s_per_s %.1f\n", name, count / t);
    printf("%s_last 0x%x\n", name, readl(LOOP_BLOCK + 0x10));
}

static void mode_loop(char **kv)
{
    int slot = opt_num(kv, "slot", "4");
    uint32_t off = opt_num(kv, "off", "4");
    double secs = strtod(opt(kv, "secs", "2"), NULL);
    uint32_t go = 0;

    wait_config(slot);
    map_bar0(slot);
    printf("bar_id 0x%x\n", readl(BAR_ADDR));
    if (opt_num(kv, "mtree", "0")) {
        print_mtree();
    }
    qmp("{\"execute\": \"cont\"}");
    loop_rate("bar_load", BAR_ADDR + off, 0, &go, secs);
    loop_rate("bar_store", BAR_ADDR + off, 1, &go, secs);
    loop_rate("config_read", cfg_addr(slot, 0), 2, &go, secs);
    loop_rate("ram_load", LOOP_BLOCK + 0x100, 0, &go, secs);
    if (opt_num(kv, "mtree", "0")) {
        print_mtree();
    }
}

/* Polls a guest RAM word (through qtest) until it reads @want. */
static void wait_ram(uint64_t addr, uint32_t want)
{
    double end = now_s() + 10;

    while (readl(addr) != want) {
        if (now_s() > end) {
            die("0x%x never arrived at 0x%" PRIx64, want, addr);
        }
    }
}

static void print_rate(const char *name, int count, double t)
{
    printf("%s_per_s %.1f\n", name, count / t);
}

/*
 * The first DMA a device makes into guest RAM: what the guest waits for
 * before its device works, guest RAM being pinned by then whatever QEMU.
 */
static void mode_dma(char **kv)
{
    int slot = opt_num(kv, "slot", "4");
    double end;

    wait_config(slot);
    writel(DMA_DST_ADDR, DMA_SENTINEL);
    map_bar0(slot);
    writel(BAR_ADDR + 0x80, EDU_DMA_BUF);
    writel(BAR_ADDR + 0x84, 0);
    writel(BAR_ADDR + EDU_DMA_DST, DMA_DST_ADDR);
    writel(BAR_ADDR + EDU_DMA_DST + 4, 0);
    writel(BAR_ADDR + EDU_DMA_COUNT, 4);
    writel(BAR_ADDR + EDU_DMA_CMD, EDU_DMA_TO_RAM);
    end = now_s() + 10;
    while (readl(BAR_ADDR + EDU_DMA_CMD) & 1) {
        if (now_s() > end) {
            die("edu never finished its DMA");
        }
    }
    if (readl(DMA_DST_ADDR) == DMA_SENTINEL) {
        die("edu's DMA did not reach guest RAM");
    }
    printf("dma_ms %.3f\n", since_start_ms());
}

static void edu_msi_enable(int slot)
{
    int cap = find_cap(slot, PCI_CAP_ID_MSI);
    uint16_t flags = cfg_readw(slot, cap + 2);

    cfg_writel(slot, cap + 4, MSI_ADDR);
    cfg_writel(slot, cap + 8, 0);
    cfg_writew(slot, cap + 12, EDU_MSI_DATA);
    cfg_writew(slot, cap + 2, flags | 1);
}

static void mode_msi(char **kv)
{
    int slot = opt_num(kv, "slot", "4");
    int count = opt_num(kv, "count", "500");
    double t;
    int i;

    wait_config(slot);
    map_bar0(slot);
    edu_msi_enable(slot);
    t = now_s();
    for (i = 0; i < count; i++) {
        writel(MSI_ADDR, 0);
        writel(BAR_ADDR + EDU_IRQ_RAISE, 1);
        wait_ram(MSI_ADDR, EDU_MSI_DATA);
        writel(BAR_ADDR + EDU_IRQ_ACK, 1);
    }
    print_rate("msi", count, now_s() - t);
}

static void mode_intx(char **kv)
{
    int slot = opt_num(kv, "slot", "4");
    int count = opt_num(kv, "count", "500");
    char reply[128];
    double t;
    int i;

    wait_config(slot);
    qtest_cmd(reply, sizeof(reply), "irq_intercept_in ioapic");
    map_bar0(slot);
    t = now_s();
    for (i = 0; i < count; i++) {
        writel(BAR_ADDR + EDU_IRQ_RAISE, 1);
        wait_irq(EDU_INTX_GSI, true, 10000);
        writel(BAR_ADDR + EDU_IRQ_ACK, 1);
        readl(BAR_ADDR);                        /* the EOI */
        wait_irq(EDU_INTX_GSI, false, 10000);
    }
    print_rate("intx", count, now_s() - t);
}

/* MSI-X vector 0 of nvme to MSI_ADDR; the table is in BAR0. */
static void nvme_msix_enable(int slot)
{
    int cap = find_cap(slot, PCI_CAP_ID_MSIX);
    uint32_t table = cfg_readl(slot, cap + 4);
    uint64_t e = BAR_ADDR + (table & ~7u);
    uint16_t flags = cfg_readw(slot, cap + 2);

    if (table & 7) {
        die("the MSI-X table is not in BAR0");
    }
    writel(e, MSI_ADDR);
    writel(e + 4, 0);
    writel(e + 8, NVME_MSG_DATA);
    writel(e + 12, 0);
    cfg_writew(slot, cap + 2, flags | 0x8000);
}

static void nvme_wait_ready(uint32_t rdy)
{
    double end = now_s() + 10;

    while ((readl(BAR_ADDR + NVME_CSTS) & 1) != rdy) {
        if (now_s() > end) {
            die("nvme CSTS.RDY never became %u", rdy);
        }
    }
}

static void nvme_enable(void)
{
    char reply[64];

    writel(BAR_ADDR + NVME_CC, 0);
    nvme_wait_ready(0);
    qtest_cmd(reply, sizeof(reply), "memset 0x%x 0x%x 0", NVME_ASQ_ADDR,
              NVME_ACQ_ADDR + NVME_QSIZE * 16 - NVME_ASQ_ADDR);
    writel(BAR_ADDR + NVME_AQA, ((NVME_QSIZE - 1) << 16) | (NVME_QSIZE - 1));
    qtest_write("writeq", BAR_ADDR + NVME_ASQ, NVME_ASQ_ADDR);
    qtest_write("writeq", BAR_ADDR + NVME_ACQ, NVME_ACQ_ADDR);
    writel(BAR_ADDR + NVME_CC, 1 | (6 << 16) | (4 << 20));
    nvme_wait_ready(1);
}

/* Get Features (number of queues): a completion and no data transfer. */
static void nvme_get_features(int slot, uint16_t cid)
{
    uint64_t cmd = NVME_ASQ_ADDR + slot * 64;
    char reply[64];

    qtest_cmd(reply, sizeof(reply), "memset 0x%" PRIx64 " 64 0", cmd);
    writel(cmd, 0x0a | ((uint32_t)cid << 16));
    writel(cmd + 40, 0x07);
    writel(BAR_ADDR + NVME_SQ0TDBL, (slot + 1) % NVME_QSIZE);
}

static void mode_msix(char **kv)
{
    int slot = opt_num(kv, "slot", "4");
    int count = opt_num(kv, "count", "500");
    double t;
    int i;

    wait_config(slot);
    map_bar0(slot);
    nvme_msix_enable(slot);
    nvme_enable();
    t = now_s();
    for (i = 0; i < count; i++) {
        int s = i % NVME_QSIZE;
        uint32_t phase = ((i / NVME_QSIZE) & 1) ? 0 : 1;

        writel(MSI_ADDR, 0);
        nvme_get_features(s, i & 0xffff);
        wait_ram(MSI_ADDR, NVME_MSG_DATA);
        if (((readl(NVME_ACQ_ADDR + s * 16 + 12) >> 16) & 1) != phase) {
            die("nvme completion %d is not there", i);
        }
        writel(BAR_ADDR + NVME_CQ0HDBL, (s + 1) % NVME_QSIZE);
    }
    print_rate("msix", count, now_s() - t);
}

/*
 * MSI-X bring-up: every entry of nvme's table (65 on the rig's nvme, 2048
 * on bench/scale.sh's) unmasked one by one, as a driver brings its queues
 * up; each unmask is a qtest round trip plus whatever the device model
 * asks the host for that vector.  The time at each power of two from 64
 * shows how the cost grows; secs= stops it early.
 */
static void mode_msix_bringup(char **kv)
{
    int slot = opt_num(kv, "slot", "4");
    double secs = opt_num(kv, "secs", "0");
    int cap, entries, i;
    uint64_t table;
    double t, t0;

    wait_config(slot);
    map_bar0(slot);
    cap = find_cap(slot, PCI_CAP_ID_MSIX);
    entries = (cfg_readw(slot, cap + 2) & 0x7ff) + 1;
    table = BAR_ADDR + (cfg_readl(slot, cap + 4) & ~7u);
    for (i = 0; i < entries; i++) {
        writel(table + i * 16, MSI_ADDR + 4 * i);
        writel(table + i * 16 + 4, 0);
        writel(table + i * 16 + 8, NVME_MSG_DATA + i);
        writel(table + i * 16 + 12, 1);
    }
    cfg_writew(slot, cap + 2, cfg_readw(slot, cap + 2) | 0x8000);
    t0 = now_s();
    for (i = 0; i < entries; i++) {
        writel(table + i * 16 + 12, 0);
        t = now_s() - t0;
        if (i + 1 >= 64 && !((i + 1) & i)) {
            printf("msix_bringup_ms_%d %.3f\n", i + 1, t * 1e3);
        }
        if (secs && t > secs) {
            i++;
            break;
        }
    }
    printf("msix_bringup_ms %.3f\nmsix_bringup_vectors %d\n",
           (now_s() - t0) * 1e3, i);
}

/* Prints QEMU's flat memory map as QMP returns it (one JSON line). */
static void print_mtree(void)
{
    char buf[65536];

    qmp("{\"execute\": \"query-status\"}");
    send_all(b.qmp.fd, "{\"execute\": \"human-monitor-command\", "
             "\"arguments\": {\"command-line\": \"info mtree -f\"}}\n");
    qmp_reply(buf, sizeof(buf));
    printf("mtree %s\n", buf);
}

static void mode_mtree(char **kv)
{
    wait_config(0);
    print_mtree();
}

/*
 * The guest's side of intel-iommu (VT-d spec 10.4, 9.1-9.8): root and
 * context tables for bus 0, a 3-level second-level table for the device,
 * the IOTLB register at ECAP.IRO.  Maps and unmaps IOVA_PAGE, invalidating
 * it each time: with caching-mode=on every one reaches vfio-pci.
 */
#define DMAR_BASE       0xfed90000ull
#define DMAR_ECAP       0x10
#define DMAR_GCMD       0x18
#define DMAR_GSTS       0x1c
#define DMAR_RTADDR     0x20
#define DMAR_CCMD       0x28
#define DMAR_TE         (1u << 31)
#define DMAR_SRTP       (1u << 30)
#define DMAR_IVT        (1ull << 63)    /* also CCMD's ICC */
#define VTD_TABLES      0x1000000ull    /* root, context, 3 levels */
#define VTD_DID         1
#define IOVA_PAGE       0x100000ull
#define IOVA_TARGET     0x2000000ull

static void vtd_wait(uint32_t reg, uint64_t mask, uint64_t want)
{
    double end = now_s() + 10;

    while ((qtest_read("readq", DMAR_BASE + reg) & mask) != want) {
        if (now_s() > end) {
            die("intel-iommu register 0x%x never read 0x%" PRIx64, reg, want);
        }
    }
}

static uint32_t vtd_enable(int slot)
{
    uint64_t root = VTD_TABLES, ctx = root + 0x1000, l3 = ctx + 0x1000;
    uint64_t l2 = l3 + 0x1000, l1 = l2 + 0x1000;
    uint32_t iotlb = ((qtest_read("readq", DMAR_BASE + DMAR_ECAP) >> 8) &
                      0x3ff) * 16 + 8;
    uint64_t a;

    for (a = root; a <= l1; a += 8) {
        qtest_write("writeq", a, 0);
    }
    qtest_write("writeq", root, ctx | 1);
    qtest_write("writeq", ctx + slot * 8 * 16 + 8, 1 | (VTD_DID << 8));
    qtest_write("writeq", ctx + slot * 8 * 16, l3 | 1);
    qtest_write("writeq", l3, l2 | 3);
    qtest_write("writeq", l2, l1 | 3);
    qtest_write("writeq", DMAR_BASE + DMAR_RTADDR, root);
    writel(DMAR_BASE + DMAR_GCMD, DMAR_SRTP);
    vtd_wait(DMAR_GSTS, DMAR_SRTP, DMAR_SRTP);
    qtest_write("writeq", DMAR_BASE + DMAR_CCMD, DMAR_IVT | (1ull << 61));
    vtd_wait(DMAR_CCMD, DMAR_IVT, 0);
    writel(DMAR_BASE + DMAR_GCMD, DMAR_TE);
    vtd_wait(DMAR_GSTS, DMAR_TE, DMAR_TE);
    return iotlb;
}

static void vtd_set_page(uint32_t iotlb, uint64_t pte)
{
    uint64_t l1 = VTD_TABLES + 4 * 0x1000;

    qtest_write("writeq", l1 + ((IOVA_PAGE >> 12) & 511) * 8, pte);
    qtest_write("writeq", DMAR_BASE + iotlb - 8, IOVA_PAGE);
    qtest_write("writeq", DMAR_BASE + iotlb,
                DMAR_IVT | (3ull << 60) | ((uint64_t)VTD_DID << 32));
    vtd_wait(iotlb, DMAR_IVT, 0);
}

static void mode_viommu(char **kv)
{
    int slot = opt_num(kv, "slot", "4");
    int count = opt_num(kv, "count", "1000");
    uint32_t iotlb = vtd_enable(slot);
    double t0;
    int i;

    t0 = now_s();
    for (i = 0; i < count; i++) {
        vtd_set_page(iotlb, IOVA_TARGET | 3);
        vtd_set_page(iotlb, 0);
    }
    print_rate("viommu_map_unmap", count, now_s() - t0);
}

typedef struct Mode {
    const char *name;
    void (*run)(char **kv);
} Mode;

static const Mode modes[] = {
    { "start", mode_start },
    { "hotplug", mode_hotplug },
    { "loop", mode_loop },
    { "msi", mode_msi },
    { "msix", mode_msix },
    { "msix-bringup", mode_msix_bringup },
    { "intx", mode_intx },
    { "dma", mode_dma },
    { "mtree", mode_mtree },
    { "viommu", mode_viommu },
};

static void usage(void)
{
    fprintf(stderr, "usage: vfio-bench [-s STRACE_LOG] "
            "start|hotplug|loop|msi|msix|msix-bringup|intx|dma|mtree|viommu "
            "[KEY=VALUE...] "
            "-- QEMU...\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *strace_log = NULL;
    const Mode *mode = NULL;
    char **kv, **qemu;
    size_t i;

    if (argc > 2 && !strcmp(argv[1], "-s")) {
        strace_log = argv[2];
        argv += 2;
        argc -= 2;
    }
    for (i = 0; argc > 1 && i < sizeof(modes) / sizeof(modes[0]); i++) {
        if (!strcmp(argv[1], modes[i].name)) {
            mode = &modes[i];
        }
    }
    if (!mode) {
        usage();
    }
    kv = argv + 2;
    for (qemu = kv; *qemu && strcmp(*qemu, "--"); qemu++) {
        continue;
    }
    if (!*qemu || !qemu[1]) {
        usage();
    }
    *qemu++ = NULL;

    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGALRM, on_alarm);
    alarm(TIMEOUT_S);
    start_qemu(qemu, strace_log);
    mode->run(kv);
    printf("quit_ms %.3f\n", quit_qemu());
    return 0;
}
