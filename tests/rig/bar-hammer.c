/*
 * bar-hammer: the inner guest's half of the multi-vCPU BAR test
 *
 *     bar-hammer SYSFS_DIR N SECONDS
 *
 * One process reads and writes BAR0 of the PCI device at SYSFS_DIR
 * through its resource0 mmap, without pause, while another clears and
 * sets Memory Space Enable in its config space N times, or as many times
 * as SECONDS allow: two vCPU threads of TCG inside the rig's one vCPU
 * share a core, and how fast the toggling vCPU gets the BQL varies ten
 * times over with the host's load.  With -smp 2 and
 * multi-threaded TCG the two run on two vCPUs of our QEMU, which must
 * survive it: a vCPU that still touches a BAR mmap after the host stopped
 * decoding would cost QEMU a SIGBUS.  Built static into the inner guest's
 * initramfs (tests/rig/make-inner-initrd.sh).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PCI_COMMAND         0x04
#define PCI_COMMAND_MEMORY  0x2

static int open_file(const char *dir, const char *name, int flags)
{
    char path[512];
    int fd;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, flags);
    if (fd < 0) {
        perror(path);
    }
    return fd;
}

static void hammer(volatile uint32_t *bar)
{
    for (;;) {
        (void)bar[0];
        bar[1] = 0x5a5a5a5a;
    }
}

static void on_alarm(int sig)
{
}

/*
 * About one run in four, in both rig boots, the inner guest hangs after
 * the last toggle without saying its result (the result is written
 * before the kill, so the kill is not where), while our QEMU runs on:
 * guest-inner.sh tells that hang from a failure.  The wait for the
 * killed process is bounded all the same.
 */
static void reap(pid_t child)
{
    struct sigaction sa = { .sa_handler = on_alarm };

    sigaction(SIGALRM, &sa, NULL);
    kill(child, SIGKILL);
    alarm(10);
    if (waitpid(child, NULL, 0) != child) {
        printf("INNER: hammer: the hammering process did not exit within "
               "10 s of SIGKILL\n");
    }
    alarm(0);
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int set_command(int cfg, uint16_t cmd)
{
    return pwrite(cfg, &cmd, sizeof(cmd), PCI_COMMAND) == sizeof(cmd) ? 0 : -1;
}

int main(int argc, char **argv)
{
    volatile uint32_t *bar;
    uint16_t cmd;
    double start, seconds;
    pid_t child;
    int cfg, res, i, n, failed = 0;

    if (argc != 4 || (n = atoi(argv[2])) <= 0 ||
        (seconds = atof(argv[3])) <= 0) {
        fprintf(stderr, "usage: bar-hammer SYSFS_DIR N SECONDS\n");
        return 2;
    }
    cfg = open_file(argv[1], "config", O_RDWR);
    res = open_file(argv[1], "resource0", O_RDWR | O_SYNC);
    if (cfg < 0 || res < 0 ||
        pread(cfg, &cmd, sizeof(cmd), PCI_COMMAND) != sizeof(cmd)) {
        return 1;
    }
    cmd |= PCI_COMMAND_MEMORY;
    bar = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, res, 0);
    if (bar == MAP_FAILED || set_command(cfg, cmd)) {
        perror("bar-hammer: BAR0");
        return 1;
    }
    child = fork();
    if (child == 0) {
        hammer(bar);
    }
    start = now();
    for (i = 0; i < n && now() - start < seconds; i++) {
        if (set_command(cfg, cmd & ~PCI_COMMAND_MEMORY) ||
            set_command(cfg, cmd)) {
            perror("bar-hammer: config write");
            failed = 1;
            break;
        }
    }
    printf("INNER: hammer %s: %d toggles of Memory Space Enable in %.0f s "
           "while BAR0 was hammered; BAR0 reads 0x%08x\n",
           failed ? "FAIL" : "ok", i, now() - start, bar[0]);
    fflush(stdout);
    reap(child);
    return failed;
}
