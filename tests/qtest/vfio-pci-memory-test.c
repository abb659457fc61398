/*
 * QTest cases for guest memory next to assigned devices.
 *
 * Peer-to-peer DMA: the rig's edu (VFIO_EDU) DMAs into the VRAM BAR of
 * the rig's std VGA (VFIO_VGA), both assigned to one guest, through the
 * maps our listener made of the VGA's BAR mmap.  On the legacy backend the
 * bytes land in the VGA's VRAM and follow the guest moving the BAR; on
 * iommufd (whose kernel here cannot map device memory) the DMA faults on
 * the host, QEMU says so once and runs on.
 *
 * virtio-mem: each plugged block is a DMA map of its own, so type1's
 * limit of maps bounds the blocks a device may have; realize refuses a
 * block size that could exceed it, with the numbers.  (Plugging takes the
 * guest's driver: the inner Linux guest's vmem test.)
 *
 * Background maps: 2 GiB of guest RAM takes seconds to pin, done by a
 * worker while QEMU goes on.  A device told to DMA the moment Bus Master
 * Enable is set finds its data mapped; RAM appearing and going (a DIMM's
 * memory freed too), and system_reset, while the maps run leave the maps
 * (as the trace says the host made them) exactly where the flat view has
 * RAM; q35's RAM, laid out anew at its first reset, is pinned once.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "vfio-pci-util.h"

#define VGA_SLOT        5
#define P2P_SRC         0x100000ULL     /* guest RAM with the bytes */
/*
 * Where the guest puts the VGA's 16 MiB VRAM BAR: below 256 MiB, as
 * edu's DMA engine reaches no higher (its 28-bit mask), above RAM.
 */
#define VRAM_AT         0x0c000000ULL
#define VRAM_MOVED_TO   0x0e000000ULL
#define VRAM_OFF        0x4000

typedef struct P2P {
    Assigned edu;
    QPCIDevice *vga;
    QPCIBar vram;
    uint8_t before[256];    /* what the VRAM held before any DMA */
} P2P;

/* Puts the VGA's VRAM BAR at @addr, as the guest's firmware would. */
static void vram_place(P2P *p, uint64_t addr)
{
    qpci_config_writew(p->vga, PCI_COMMAND, 0);
    qpci_config_writel(p->vga, PCI_BASE_ADDRESS_0, addr);
    qpci_config_writew(p->vga, PCI_COMMAND, PCI_COMMAND_MEMORY);
    p->vram.addr = addr;
    p->vram.is_io = false;
}

static bool p2p_start(P2P *p, const char *log)
{
    const char *vga = rig_device("VFIO_VGA");
    g_autofree char *args = NULL;

    if (!vga) {
        return false;
    }
    args = g_strdup_printf("-device vfio-pci,host=%s,addr=%02x.0 -trace "
                           "enable=vfio_p2p_unmapped -D %s.trace", vga,
                           VGA_SLOT, log);
    if (!assign_logged(&p->edu, "pc", "VFIO_EDU", NULL, args, log)) {
        return false;
    }
    p->edu.bar0 = qpci_iomap(p->edu.dev, 0, NULL);
    p->vga = qpci_device_find(p->edu.bus, QPCI_DEVFN(VGA_SLOT, 0));
    g_assert_nonnull(p->vga);
    vram_place(p, VRAM_AT);
    memset(p->before, 0xa5, sizeof(p->before));
    qpci_memwrite(p->vga, p->vram, VRAM_OFF, p->before, sizeof(p->before));
    return true;
}

static void p2p_stop(P2P *p)
{
    g_free(p->vga);
    release(&p->edu);
}

/* edu copies @len bytes of @pattern from guest RAM into the VRAM BAR */
static void edu_to_vram(P2P *p, const uint8_t *pattern, size_t len)
{
    qtest_memwrite(p->edu.qts, P2P_SRC, pattern, len);
    edu_dma(&p->edu, P2P_SRC, EDU_DMA_BUF, len, EDU_DMA_START);
    edu_dma(&p->edu, EDU_DMA_BUF, p->vram.addr + VRAM_OFF, len,
            EDU_DMA_START | EDU_DMA_TO_RAM);
}

static void vram_read(P2P *p, uint8_t *buf, size_t len)
{
    qpci_memread(p->vga, p->vram, VRAM_OFF, buf, len);
}

static void fill(uint8_t *buf, size_t len, uint8_t seed)
{
    size_t i;

    for (i = 0; i < len; i++) {
        buf[i] = seed + i * 13;
    }
}

static void test_edu_to_vga(void)
{
    g_autofree char *log = test_log_path("p2p");
    g_autofree char *trace = g_strdup_printf("%s.trace", log);
    uint8_t out[256], in[256];
    P2P p;

    if (!p2p_start(&p, log)) {
        return;
    }
    fill(out, sizeof(out), 0x11);
    edu_to_vram(&p, out, sizeof(out));
    vram_read(&p, in, sizeof(in));

    if (backend_iommufd()) {
        /* The host IOMMU faulted the DMA: VRAM is as it was */
        g_assert_cmpmem(in, sizeof(in), p.before, sizeof(p.before));
        assert_qemu_alive(p.edu.qts);
        p2p_stop(&p);
        g_assert_cmpint(count_log_lines(log, "no peer-to-peer DMA between "
                                        "the devices of the iommufd "
                                        "backend"), ==, 1);
    } else {
        g_test_message("VRAM reads %02x %02x %02x %02x (wrote %02x %02x, "
                       "was %02x %02x)", in[0], in[1], in[2], in[3], out[0],
                       out[1], p.before[0], p.before[1]);
        g_assert_cmpmem(in, sizeof(in), out, sizeof(out));

        /* The guest moves the BAR: the map follows it */
        vram_place(&p, VRAM_MOVED_TO);
        fill(out, sizeof(out), 0x77);
        edu_to_vram(&p, out, sizeof(out));
        vram_read(&p, in, sizeof(in));
        g_assert_cmpmem(in, sizeof(in), out, sizeof(out));
        p2p_stop(&p);
        assert_only_warnings(log);
        /* Both BARs of the VGA are whole pages: both mapped */
        g_assert_true(!g_file_test(trace, G_FILE_TEST_EXISTS) ||
                      !count_log_lines(trace, "vfio_p2p_unmapped"));
    }
    unlink(trace);
    unlink(log);
}

/*
 * The guest moves the VGA's VRAM BAR while edu's DMA into it is under
 * way: the DMA lands at the old address or faults on the host, either is
 * the guest's own doing; QEMU runs on, says nothing but warnings, and the
 * next DMA reaches the BAR where it is now (legacy backend).
 */
static void test_bar_moved_during_dma(void)
{
    g_autofree char *log = test_log_path("p2p-moved");
    g_autofree char *trace = g_strdup_printf("%s.trace", log);
    uint8_t out[256], in[256];
    P2P p;

    if (!p2p_start(&p, log)) {
        return;
    }
    fill(out, sizeof(out), 0x33);
    qtest_memwrite(p.edu.qts, P2P_SRC, out, sizeof(out));
    edu_dma(&p.edu, P2P_SRC, EDU_DMA_BUF, sizeof(out), EDU_DMA_START);
    edu_dma_start(&p.edu, EDU_DMA_BUF, VRAM_AT + VRAM_OFF, sizeof(out),
                  EDU_DMA_START | EDU_DMA_TO_RAM);
    vram_place(&p, VRAM_MOVED_TO);
    edu_dma_wait(&p.edu);
    vram_read(&p, in, sizeof(in));
    g_test_message("the DMA under way %s",
                   !memcmp(in, out, sizeof(in)) ? "landed before the move" :
                   !memcmp(in, p.before, sizeof(in)) ? "faulted or missed" :
                   "left part of it");
    assert_qemu_alive(p.edu.qts);

    if (!backend_iommufd()) {
        fill(out, sizeof(out), 0x55);
        edu_to_vram(&p, out, sizeof(out));
        vram_read(&p, in, sizeof(in));
        g_assert_cmpmem(in, sizeof(in), out, sizeof(out));
    }
    p2p_stop(&p);
    assert_only_warnings(log);
    unlink(trace);
    unlink(log);
}

/*
 * nvme's MSI-X table and PBA share pages of its BAR0 mmap: the pieces of
 * those pages beside them are no BAR a peer DMAs to, and say no warning.
 */
static void test_msix_page_quiet(void)
{
    g_autofree char *log = test_log_path("p2p-msix");
    g_autofree char *trace = g_strdup_printf("%s.trace", log);
    g_autofree char *args = g_strdup_printf("-trace enable=vfio_p2p_unmapped "
                                            "-D %s", trace);
    Assigned nvme;

    if (!assign_logged(&nvme, "pc", "VFIO_NVME", NULL, args, log)) {
        return;
    }
    qpci_iomap(nvme.dev, 0, NULL);
    release(&nvme);
    assert_only_warnings(log);
    g_assert_cmpint(count_log_lines(log, "peer-to-peer"), ==, 0);
    if (!backend_iommufd()) {
        g_assert_cmpint(count_log_lines(trace, "beside an emulated region"),
                        >, 0);
    }
    unlink(trace);
    unlink(log);
}

#define VMEM_ARGS "-m 128M,slots=1,maxmem=1G " \
                  "-object memory-backend-ram,id=vmem0,size=512M " \
                  "-device virtio-mem-pci,id=vm0,memdev=vmem0,block-size=%s"

static void vmem_limit_body(void)
{
    const char *edu = rig_device("VFIO_EDU");
    g_autofree char *vmem_2m = g_strdup_printf(VMEM_ARGS, "2M");
    g_autofree char *vmem_4m = g_strdup_printf(VMEM_ARGS, "4M");
    g_autofree char *refused = NULL, *first = NULL, *later = NULL;
    g_autofree char *log = test_log_path("vmem-limit");
    g_autofree char *warned = NULL;
    QTestState *qts;

    if (!edu) {
        return;
    }
    warned = g_strdup_printf("warning: vfio %s: \"vmem0\" (512 MiB in "
                             "blocks of 2 MiB) can need 256", edu);
    /* 512 MiB in 2 MiB blocks: 256 maps, more than the host's 200 */
    refused = g_strdup_printf("%s -device vfio-pci,host=%s", vmem_2m, edu);
    first = qemu_exits_1(NULL, "pc", refused, NULL);
    g_assert_nonnull(strstr(first, "in blocks of 2 MiB) can need 256 more "
                            "DMA maps"));
    g_assert_nonnull(strstr(first, "dma_entry_limit"));

    /* In 4 MiB blocks it fits: the device runs */
    qts = qtest_initf("-M pc -nodefaults %s -device vfio-pci,host=%s %s",
                      vmem_4m, edu, backend_args());
    assert_qemu_alive(qts);
    qtest_quit(qts);

    /* virtio-mem added after the device: a warning, and it runs */
    later = g_strdup_printf("-M pc -nodefaults -device vfio-pci,host=%s "
                            "%s %s", edu, vmem_2m, backend_args());
    qts = qtest_init_stderr(later, log);
    assert_qemu_alive(qts);
    qtest_quit(qts);
    g_assert_cmpint(count_log_lines(log, "can need 256 more DMA maps"), ==,
                    1);
    g_assert_cmpint(count_log_lines(log, warned), ==, 1);
    unlink(log);
}

/* type1's dma_entry_limit at 200, against virtio-mem's blocks */
static void test_vmem_limit(void)
{
    if (g_test_subprocess()) {
        vmem_limit_body();
        return;
    }
    run_with_entry_limit("200");
}

/*
 * Background maps
 */
#define BG_RAM      "2G"
#define BG_TRACE    "-trace enable=vfio_dma_* " \
                    "-trace enable=vfio_iommufd_map_file_refused -D %s"
#define BG_SRC      0x400000ULL
#define BG_DST      0x500000ULL
#define I440FX_PAM1 0x5a        /* 0xc0000-0xc7fff in its low nibble */

/* Every map done (Bus Master Enable waits for them), then as RAM is */
static void assert_maps_match_ram(Assigned *a, const char *trace)
{
    qpci_device_enable(a->dev);
    assert_maps_are_ram(a->qts, trace);
}

/*
 * QEMU on @machine with edu and its guest RAM (-m @mem, 2 GiB if NULL)
 * being mapped, the device not yet enabled
 */
static bool bg_start_on(Assigned *a, const char *machine, const char *mem,
                        const char *trace)
{
    const char *env = g_getenv("VFIO_TEST_QEMU_ARGS");
    g_autofree char *tr = g_strdup_printf(BG_TRACE, trace);

    a->host = rig_device("VFIO_EDU");
    if (!a->host) {
        return false;
    }
    unlink(trace);
    a->qts = qtest_initf("-M %s -nodefaults -m %s -device "
                         "vfio-pci,host=%s,addr=%02x.0 %s %s %s", machine,
                         mem ? mem : BG_RAM, a->host, SLOT, tr,
                         env ? env : "", backend_args());
    a->bus = qpci_new_pc(a->qts, NULL);
    a->dev = qpci_device_find(a->bus, DEVFN);
    g_assert_nonnull(a->dev);
    return true;
}

static bool bg_start(Assigned *a, const char *mem, const char *trace)
{
    return bg_start_on(a, "pc", mem, trace);
}

/* The maps were still running when the test acted: it tested something */
static void assert_was_queued(const char *trace, const char *what)
{
    g_assert_cmpint(count_log_lines(trace, what), >=, 1);
}

/* ... and @what came before the boot RAM's map was done */
static void assert_before_boot_ram(const char *trace, const char *what)
{
    g_auto(GStrv) lines = read_lines(trace);
    int i;

    for (i = 0; lines[i]; i++) {
        if (strstr(lines[i], "vfio_dma_pinned iova 0x100000 ")) {
            break;
        }
        if (strstr(lines[i], what)) {
            return;
        }
    }
    g_test_message("no \"%s\" before the boot RAM was mapped", what);
    g_test_fail();
}

static void bg_stop(Assigned *a, const char *trace)
{
    release(a);
    unlink(trace);
}

/*
 * edu copies bytes through guest RAM right as Bus Master Enable is set,
 * guest RAM being anonymous, or a memfd's (mapped by the file where the
 * kernel can: the bytes show that it is the guest's own pages).  With
 * @in_flight, its maps were still being made then.
 */
static void bg_dma_at_bus_master(const char *mem, bool in_flight)
{
    g_autofree char *trace = test_log_path("bg-dma.trace");
    uint8_t out[256], in[256];
    Assigned a;

    if (!bg_start(&a, mem, trace)) {
        return;
    }
    fill(out, sizeof(out), 0x3c);
    memset(in, 0, sizeof(in));
    qtest_memwrite(a.qts, BG_SRC, out, sizeof(out));
    qtest_memwrite(a.qts, BG_DST, in, sizeof(in));
    a.bar0 = qpci_iomap(a.dev, 0, NULL);
    qpci_device_enable(a.dev);
    edu_dma(&a, BG_SRC, EDU_DMA_BUF, sizeof(out), EDU_DMA_START);
    edu_dma(&a, EDU_DMA_BUF, BG_DST, sizeof(out),
            EDU_DMA_START | EDU_DMA_TO_RAM);
    qtest_memread(a.qts, BG_DST, in, sizeof(in));
    g_assert_cmpmem(in, sizeof(in), out, sizeof(out));
    /* Bus Master Enable waited for the maps: they had not finished */
    if (in_flight) {
        assert_was_queued(trace, "vfio_dma_wait ");
    }
    assert_maps_match_ram(&a, trace);
    if (count_log_lines(trace, "vfio_iommufd_map_file_refused")) {
        g_test_message("mapped by address: the file map was refused");
    }
    bg_stop(&a, trace);
}

static void test_bg_dma_at_bus_master(void)
{
    bg_dma_at_bus_master(NULL, true);
}

static void test_bg_dma_memfd_shared(void)
{
    bg_dma_at_bus_master(BG_RAM " -object memory-backend-memfd,id=ram0,size="
                         BG_RAM ",share=on -machine memory-backend=ram0",
                         true);
}

/*
 * A private mapping of the file: the guest's pages are copies, not the
 * file's.  Pinning them for writing copies every page the file has, so
 * the guest is smaller here: 2 GiB would take 4 of the rig's memory.
 */
static void test_bg_dma_memfd_private(void)
{
    bg_dma_at_bus_master("1G -object memory-backend-memfd,id=ram0,size=1G,"
                         "share=off -machine memory-backend=ram0", false);
}

/* The BIOS's PAM: RAM below 1 MiB appears and goes behind the maps */
static void test_bg_pam_toggled(void)
{
    g_autofree char *trace = test_log_path("bg-pam.trace");
    QPCIDevice *host;
    Assigned a;

    if (!bg_start(&a, NULL, trace)) {
        return;
    }
    host = qpci_device_find(a.bus, QPCI_DEVFN(0, 0));
    g_assert_nonnull(host);
    qpci_config_writeb(host, I440FX_PAM1, 0x33);
    qpci_config_writeb(host, I440FX_PAM1, 0x00);
    qpci_config_writeb(host, I440FX_PAM1, 0x33);
    g_free(host);
    assert_maps_match_ram(&a, trace);
    assert_before_boot_ram(trace, "vfio_dma_queue unmap ");
    bg_stop(&a, trace);
}

/* A DIMM plugged while the boot RAM is still being mapped */
static void test_bg_dimm_added(void)
{
    g_autofree char *trace = test_log_path("bg-dimm.trace");
    Assigned a;

    if (!bg_start(&a, BG_RAM ",slots=1,maxmem=3G -object memory-backend-ram,"
                  "id=dimm0,size=256M", trace)) {
        return;
    }
    qtest_qmp_assert_success(a.qts, "{'execute': 'device_add', 'arguments':"
                             " {'driver': 'pc-dimm', 'id': 'd0', "
                             "'memdev': 'dimm0'}}");
    assert_maps_match_ram(&a, trace);
    assert_before_boot_ram(trace, "vfio_dma_queue map iova 0x100000000 ");
    bg_stop(&a, trace);
}

/* piix4's ACPI memory hot-plug registers: a slot, and its eject bit */
#define MHP_BASE        0x0a00
#define MHP_SLOT        0x00
#define MHP_CTRL        0x14
#define MHP_EJECT       0x08

/*
 * A DIMM whose map is queued behind the boot RAM's is unplugged (the
 * guest's ACPI eject) and its memory deleted: the map, not started, is
 * cancelled, and the memory is freed once the worker lets go of it.
 */
static void test_bg_dimm_removed(void)
{
    g_autofree char *trace = test_log_path("bg-dimm-del.trace");
    Assigned a;

    if (!bg_start(&a, BG_RAM ",slots=1,maxmem=3G -object memory-backend-ram,"
                  "id=dimm0,size=256M -device pc-dimm,id=d0,memdev=dimm0",
                  trace)) {
        return;
    }
    qtest_qmp_assert_success(a.qts, "{'execute': 'device_del', "
                             "'arguments': {'id': 'd0'}}");
    qtest_outl(a.qts, MHP_BASE + MHP_SLOT, 0);
    qtest_outb(a.qts, MHP_BASE + MHP_CTRL, MHP_EJECT);
    qtest_qmp_eventwait(a.qts, "DEVICE_DELETED");
    qtest_qmp_assert_success(a.qts, "{'execute': 'object-del', "
                             "'arguments': {'id': 'dimm0'}}");
    assert_maps_match_ram(&a, trace);
    assert_before_boot_ram(trace, "vfio_dma_cancel iova 0x100000000 ");
    assert_qemu_alive(a.qts);
    bg_stop(&a, trace);
}

/*
 * q35 lays RAM out at its first reset, after the devices came (pc before
 * them): the map of all RAM queued before it is cancelled, not made and
 * undone, and guest RAM is pinned once.
 */
static void test_bg_q35_pinned_once(void)
{
    g_autofree char *trace = test_log_path("bg-q35.trace");
    Assigned a;

    if (!bg_start_on(&a, "q35", NULL, trace)) {
        return;
    }
    assert_maps_match_ram(&a, trace);
    g_assert_cmpint(count_log_lines(trace, "vfio_dma_cancel iova 0x0 size "
                                    "0x80000000 "), ==, 1);
    g_assert_cmpint(count_log_lines(trace, "vfio_dma_unmap "), ==, 0);
    g_assert_cmpint(count_log_lines(trace, "vfio_dma_pinned iova 0x100000 "),
                    ==, 1);
    bg_stop(&a, trace);
}

/* system_reset, twice, while the maps run: they are not disturbed */
static void test_bg_system_reset(void)
{
    g_autofree char *trace = test_log_path("bg-reset.trace");
    Assigned a;

    if (!bg_start(&a, NULL, trace)) {
        return;
    }
    qtest_qmp_assert_success(a.qts, "{'execute': 'system_reset'}");
    qtest_qmp_assert_success(a.qts, "{'execute': 'system_reset'}");
    g_assert_cmpint(count_log_lines(trace, "vfio_dma_pinned iova 0x100000 "),
                    ==, 0);
    assert_maps_match_ram(&a, trace);
    assert_qemu_alive(a.qts);
    bg_stop(&a, trace);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (g_strcmp0(g_getenv("VFIO_RIG"), "1")) {
        return g_test_run();
    }
    qtest_add_func("/vfio-pci/rig/p2p/edu-to-vga", test_edu_to_vga);
    qtest_add_func("/vfio-pci/rig/p2p/bar-moved-during-dma",
                   test_bar_moved_during_dma);
    qtest_add_func("/vfio-pci/rig/p2p/msix-page-quiet", test_msix_page_quiet);
    qtest_add_func("/vfio-pci/rig/virtio-mem/entry-limit", test_vmem_limit);
    qtest_add_func("/vfio-pci/rig/background/dma-at-bus-master",
                   test_bg_dma_at_bus_master);
    qtest_add_func("/vfio-pci/rig/background/dma-memfd-shared",
                   test_bg_dma_memfd_shared);
    qtest_add_func("/vfio-pci/rig/background/dma-memfd-private",
                   test_bg_dma_memfd_private);
    qtest_add_func("/vfio-pci/rig/background/pam-toggled",
                   test_bg_pam_toggled);
    qtest_add_func("/vfio-pci/rig/background/dimm-added",
                   test_bg_dimm_added);
    qtest_add_func("/vfio-pci/rig/background/dimm-removed",
                   test_bg_dimm_removed);
    qtest_add_func("/vfio-pci/rig/background/q35-pinned-once",
                   test_bg_q35_pinned_once);
    qtest_add_func("/vfio-pci/rig/background/system-reset",
                   test_bg_system_reset);
    return g_test_run();
}
