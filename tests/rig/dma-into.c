/*
 * dma-into DEVICE BYTES: reads the first BYTES of DEVICE with O_DIRECT
 * (the device DMAs straight into the buffer) into a fresh anonymous
 * buffer, and writes them to stdout.  On stderr: how many of the
 * buffer's pages lie at or above 4 GiB (from /proc/self/pagemap, as
 * root), where the inner guest's virtio-mem memory is and none of its
 * boot memory: "N of M pages above 4 GiB".
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE        4096UL
#define PFN_MASK    ((1ULL << 55) - 1)
#define PFN_4G      (0x100000000ULL / PAGE)

static unsigned long pages_high(const char *buf, size_t len)
{
    int fd = open("/proc/self/pagemap", O_RDONLY);
    unsigned long n = 0;
    size_t off;

    if (fd < 0) {
        return 0;
    }
    for (off = 0; off < len; off += PAGE) {
        uint64_t ent;
        off_t at = (uintptr_t)(buf + off) / PAGE * sizeof(ent);

        if (pread(fd, &ent, sizeof(ent), at) == sizeof(ent) &&
            (ent & PFN_MASK) >= PFN_4G) {
            n++;
        }
    }
    close(fd);
    return n;
}

int main(int argc, char **argv)
{
    size_t len = argc == 3 ? strtoul(argv[2], NULL, 0) : 0;
    char *buf;
    size_t i;
    int fd;

    if (!len || len % PAGE) {
        fprintf(stderr, "usage: dma-into DEVICE BYTES (whole pages)\n");
        return 2;
    }
    buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    fd = open(argv[1], O_RDONLY | O_DIRECT);
    if (buf == MAP_FAILED || fd < 0) {
        perror("dma-into");
        return 1;
    }
    for (i = 0; i < len; i += PAGE) {
        buf[i] = 1;
    }
    if (pread(fd, buf, len, 0) != (ssize_t)len) {
        perror("dma-into: read");
        return 1;
    }
    fprintf(stderr, "%lu of %lu pages above 4 GiB\n", pages_high(buf, len),
            len / PAGE);
    return fwrite(buf, 1, len, stdout) != len;
}
