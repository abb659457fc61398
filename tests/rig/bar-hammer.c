/*
 * bar-hammer: the inner guest's half of the multi-vCPU BAR test
 *
 *     bar-hammer SYSFS_DIR N
 *
 * One process reads and writes BAR0 of the PCI device at SYSFS_DIR
 * through its resource0 mmap, without pause, while another clears and
 * sets Memory Space Enable in its config space N times.  With -smp 2 and
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

static int set_command(int cfg, uint16_t cmd)
{
    return pwrite(cfg, &cmd, sizeof(cmd), PCI_COMMAND) == sizeof(cmd) ? 0 : -1;
}

int main(int argc, char **argv)
{
    volatile uint32_t *bar;
    uint16_t cmd;
    pid_t child;
    int cfg, res, i, n;

    if (argc != 3 || (n = atoi(argv[2])) <= 0) {
        fprintf(stderr, "usage: bar-hammer SYSFS_DIR N\n");
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
    for (i = 0; i < n; i++) {
        if (set_command(cfg, cmd & ~PCI_COMMAND_MEMORY) ||
            set_command(cfg, cmd)) {
            perror("bar-hammer: config write");
            break;
        }
    }
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    printf("INNER: hammer %s: %d of %d toggles of Memory Space Enable while "
           "BAR0 was hammered; BAR0 reads 0x%08x\n", i == n ? "ok" : "FAIL",
           i, n, bar[0]);
    return i == n ? 0 : 1;
}
