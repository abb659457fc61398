/*
 * VFIO: the listener that mirrors guest RAM into the host IOMMU
 *
 * Whatever the backend (type1 container or iommufd IOAS), each RAM section
 * of the device's address space becomes one DMA map of its page-aligned
 * part, and goes when the section goes.  Map failures get one message
 * with the RLIMIT_MEMLOCK hint; during realize they fail the device,
 * later they stop the VM.  Behind a guest IOMMU the sections are IOMMU
 * regions instead, whose maps follow the guest's (viommu.c).
 *
 * While migration logs dirty RAM, the pages the devices write are tracked
 * too: by the backend where it can (type1), else by the devices' own DMA
 * logging, and each sync copies them into QEMU's dirty log.
 *
 * Copyright Red Hat, Inc. 2012
 *
 * This work is licensed under the terms of the GNU GPL, version 2.  See
 * the COPYING file in the top-level directory.
 *
 * SPDX-License-Identifier: GPL-2.0-only
 */

#include "qemu/osdep.h"
#include <sys/resource.h>

#include "hw/vfio/vfio-common.h"
#include "exec/address-spaces.h"
#include "exec/ram_addr.h"
#include "qapi/error.h"
#include "qemu/cutils.h"
#include "qemu/error-report.h"
#include "qemu/rcu.h"
#include "qemu/units.h"
#include "sysemu/runstate.h"
#include "trace.h"

/* What the kernel takes in one DMA logging start (vfio_main.c) */
#define VFIO_DMA_LOGGING_MAX_RANGES 256

typedef struct vfio_device_feature_dma_logging_range VFIODMARange;

/*
 * Peer-to-peer DMA: the BAR mmaps of assigned devices (RAM-device
 * sections) are mapped like RAM where the backend can map device memory,
 * so that one device can DMA into another's BAR (GPUDirect, an NVMe
 * controller memory buffer).  A BAR that cannot be mapped is said once,
 * naming it, and the VM runs on: only DMA to that BAR faults.
 */
static bool vfio_is_p2p(MemoryRegionSection *section)
{
    return memory_region_is_ram_device(section->mr);
}

static void vfio_p2p_report(VFIOContainer *container,
                            MemoryRegionSection *section, const char *why)
{
    const char *name = memory_region_name(section->mr);

    trace_vfio_p2p_unmapped(name, section->offset_within_address_space,
                            why);
    if (!container->p2p_reported) {
        container->p2p_reported = g_hash_table_new_full(g_str_hash,
                                                        g_str_equal,
                                                        g_free, NULL);
    }
    if (g_hash_table_add(container->p2p_reported, g_strdup(name))) {
        warn_report("vfio: \"%s\" at 0x%" HWADDR_PRIx " cannot be mapped "
                    "for peer-to-peer DMA (%s): other assigned devices "
                    "cannot DMA to it", name,
                    section->offset_within_address_space, why);
    }
}

/*
 * A BAR mmap smaller than a page cannot be mapped.  A larger one whose
 * visible piece is smaller is cut by an emulated region sharing its page
 * (the MSI-X table or PBA), where no peer DMAs: that piece is only traced.
 */
static void vfio_p2p_small(VFIOContainer *container,
                           MemoryRegionSection *section)
{
    if (memory_region_size(section->mr) < qemu_real_host_page_size()) {
        vfio_p2p_report(container, section, "smaller than a page");
        return;
    }
    trace_vfio_p2p_unmapped(memory_region_name(section->mr),
                            section->offset_within_address_space,
                            "a piece beside an emulated region in its page");
}

/* Guest RAM, and the BARs of assigned devices where the backend maps them */
static bool vfio_listener_skipped_section(VFIOContainer *container,
                                          MemoryRegionSection *section)
{
    return !memory_region_is_ram(section->mr) ||
           (vfio_is_p2p(section) && !container->ops->maps_device_memory);
}

/*
 * RAM that is known to sit at an offset no host page can map, and that no
 * device DMAs to: tpm-crb's command buffer, just past its registers.
 */
static bool vfio_unaligned_is_expected(MemoryRegionSection *section)
{
    Object *owner = memory_region_owner(section->mr);

    return owner && object_dynamic_cast(owner, "tpm-crb");
}

/*
 * A RAM section whose guest address and host page disagree cannot be
 * mapped.  Said once per container when it is added (the same section
 * comes back on every remap and every dirty sync), traced otherwise.
 */
static void vfio_section_unaligned(VFIOContainer *container,
                                   MemoryRegionSection *section,
                                   const char *op)
{
    hwaddr start = section->offset_within_address_space;
    bool expected = vfio_unaligned_is_expected(section);

    trace_vfio_listener_unaligned(op, memory_region_name(section->mr), start,
                                  section->offset_within_region, expected);
    if (expected || strcmp(op, "add") || container->unaligned_reported) {
        return;
    }
    container->unaligned_reported = true;
    error_report("vfio: cannot map unaligned section \"%s\" at 0x%"
                 HWADDR_PRIx " (region offset 0x%" HWADDR_PRIx "): assigned "
                 "devices cannot DMA there", memory_region_name(section->mr),
                 start, section->offset_within_region);
}

/* The page-aligned part of a RAM @section, false when there is none. */
static bool vfio_section_range(VFIOContainer *container,
                               MemoryRegionSection *section, const char *op,
                               hwaddr *iova, hwaddr *end)
{
    hwaddr start = section->offset_within_address_space;
    hwaddr mask = qemu_real_host_page_mask();

    if (vfio_listener_skipped_section(container, section)) {
        trace_vfio_listener_region_skip(op, start,
                                        int128_get64(section->size));
        return false;
    }

    if ((start & ~mask) != (section->offset_within_region & ~mask)) {
        if (!vfio_is_p2p(section)) {
            vfio_section_unaligned(container, section, op);
        } else if (!strcmp(op, "add")) {
            vfio_p2p_report(container, section, "not page-aligned");
        }
        return false;
    }

    *iova = ROUND_UP(start, qemu_real_host_page_size());
    *end = (start + int128_get64(section->size)) & mask;
    if (*iova >= *end && vfio_is_p2p(section) && !strcmp(op, "add")) {
        vfio_p2p_small(container, section);
    }
    return *iova < *end;
}

static bool vfio_count_ram(Int128 start, Int128 len, const MemoryRegion *mr,
                           hwaddr offset_in_region, void *opaque)
{
    uint64_t *total = opaque;

    /* virtio-mem's plugged blocks are counted as they are mapped */
    if (mr->ram && !mr->ram_device && !mr->rdm) {
        *total += int128_get64(len);
    }
    return false;
}

static uint64_t vfio_container_mapped(VFIOContainer *container)
{
    GHashTableIter iter;
    gpointer size;
    uint64_t total = 0;

    g_hash_table_iter_init(&iter, container->mappings);
    while (g_hash_table_iter_next(&iter, NULL, &size)) {
        total += *(uint64_t *)size;
    }
    return total;
}

/*
 * What a container pins: all guest RAM and ROM, as the listener maps it.
 * While RAM is being added the flat view still lacks it: then what is
 * mapped already, plus the @size that failed, is the better count.
 */
static uint64_t vfio_ram_to_pin(VFIOContainer *container, uint64_t size)
{
    uint64_t total = 0;

    RCU_READ_LOCK_GUARD();
    flatview_for_each_range(address_space_to_flatview(container->as),
                            vfio_count_ram, &total);
    return MAX(total, vfio_container_mapped(container) + size);
}

static void vfio_memlock_hint(Error **errp, uint64_t need_kib)
{
    error_append_hint(errp, "Assigned devices pin all guest RAM and ROM: "
                      "raise the limit, e.g. with 'ulimit -l %" PRIu64 "'.\n",
                      need_kib);
}

/* A number field of /proc/self/status ("VmLck" in kB, "CapEff" in hex) */
static uint64_t vfio_self_status(const char *field, int base)
{
    g_autofree char *status = NULL;
    g_autofree char *key = g_strdup_printf("\n%s:", field);
    const char *line;

    if (!g_file_get_contents("/proc/self/status", &status, NULL, NULL)) {
        return 0;
    }
    line = strstr(status, key);
    return line ? g_ascii_strtoull(line + strlen(key), NULL, base) : 0;
}

#define VFIO_CAP_IPC_LOCK 14

/*
 * The kernel charges each pinned page to the memory cgroup before it
 * checks RLIMIT_MEMLOCK, so with a limit below what the guest needs a
 * cgroup limit of the same size (libvirt sets both from <hard_limit>) gets
 * QEMU killed without a word.  Compare the sizes before pinning anything:
 * what the backend has charged this process already, and what the new
 * container will pin.  CAP_IPC_LOCK lifts the limit, as in the kernel.
 */
static bool vfio_container_check_memlock(VFIOContainer *container,
                                         Error **errp)
{
    struct rlimit rlim;
    uint64_t need, locked;

    if (getrlimit(RLIMIT_MEMLOCK, &rlim) || rlim.rlim_cur == RLIM_INFINITY ||
        vfio_self_status("CapEff", 16) & BIT_ULL(VFIO_CAP_IPC_LOCK)) {
        return true;
    }
    need = DIV_ROUND_UP(vfio_ram_to_pin(container, 0), KiB);
    locked = vfio_self_status(container->ops->pin_charge, 10);
    trace_vfio_container_check_memlock(rlim.rlim_cur / KiB, locked, need);
    if ((locked + need) * KiB <= rlim.rlim_cur) {
        return true;
    }
    error_setg(errp, "cannot pin guest RAM for DMA (RLIMIT_MEMLOCK is %"
               PRIu64 " KiB, the guest needs %" PRIu64 " KiB locked%s)",
               (uint64_t)rlim.rlim_cur / KiB, need,
               locked ? ", besides what this QEMU has locked already" : "");
    vfio_memlock_hint(errp, need + locked);
    return false;
}

/*
 * RAM that appears after realize (memory hot-plug) and cannot be mapped
 * would leave the devices unable to reach part of guest RAM, and the
 * guest would not know: stop the VM rather than let it run on like that.
 */
static void vfio_container_fatal(VFIOContainer *container, Error *err)
{
    g_autofree char *devices = vfio_container_devices(container);

    error_prepend(&err, "vfio %s: ", devices);
    error_append_hint(&err, "The VM is stopped: the assigned devices cannot "
                      "reach that RAM.  Fix the cause, then remove the new "
                      "memory or restart the VM.\n");
    error_report_err(err);
    qemu_system_vmstop_request_prepare();
    qemu_system_vmstop_request(RUN_STATE_INTERNAL_ERROR);
}

/* While realize maps what exists, its first error fails it: true if kept */
static bool vfio_listener_keep_error(VFIOContainer *container, Error *err)
{
    if (!container->replaying) {
        return false;
    }
    if (!container->listener_error) {
        container->listener_error = err;
    } else {
        error_free(err);
    }
    return true;
}

static void vfio_listener_error(VFIOContainer *container, Error *err)
{
    g_autofree char *devices = NULL;

    if (!vfio_listener_keep_error(container, err)) {
        devices = vfio_container_devices(container);
        error_prepend(&err, "vfio %s: ", devices);
        error_report_err(err);
    }
}

static void vfio_map_error(VFIOContainer *container, hwaddr iova,
                           uint64_t size, int err, const char *mr_name)
{
    g_autofree char *size_str = size_to_str(size);
    g_autofree char *what = g_strdup_printf("failed to map guest RAM \"%s\" "
                                            "[0x%" HWADDR_PRIx " - 0x%"
                                            HWADDR_PRIx "] (%s) for DMA",
                                            mr_name, iova, iova + size - 1,
                                            size_str);
    Error *local_err = NULL;
    struct rlimit rlim;

    if (err == -ENOMEM && !getrlimit(RLIMIT_MEMLOCK, &rlim) &&
        rlim.rlim_cur != RLIM_INFINITY) {
        uint64_t need = DIV_ROUND_UP(vfio_ram_to_pin(container, size), KiB);

        error_setg(&local_err, "%s: %s (RLIMIT_MEMLOCK is %" PRIu64 " KiB, "
                   "the guest needs %" PRIu64 " KiB locked)", what,
                   strerror(-err), (uint64_t)rlim.rlim_cur / KiB, need);
        vfio_memlock_hint(&local_err, need);
    } else {
        error_setg_errno(&local_err, -err, "%s", what);
    }

    /* Realize reports the first failure; later ones stop the VM. */
    if (!vfio_listener_keep_error(container, local_err)) {
        vfio_container_fatal(container, local_err);
    }
}

/*
 * Dirty tracking
 */
bool vfio_container_tracks_dirty(VFIOContainer *container)
{
    return container->ops->set_dirty_tracking &&
           (container->dirty_pgsizes & qemu_real_host_page_size());
}

/* The ranges a device logs: every map, or one span where there are many */
static GArray *vfio_dma_logging_ranges(VFIOContainer *container)
{
    GArray *ranges = g_array_new(false, false, sizeof(VFIODMARange));
    VFIODMARange range, span = { 0 };
    GHashTableIter iter;
    gpointer iova, size;
    hwaddr end = 0;

    g_hash_table_iter_init(&iter, container->mappings);
    while (g_hash_table_iter_next(&iter, &iova, &size)) {
        range.iova = *(hwaddr *)iova;
        range.length = *(uint64_t *)size;
        span.iova = ranges->len ? MIN(span.iova, range.iova) : range.iova;
        end = MAX(end, range.iova + range.length);
        g_array_append_val(ranges, range);
    }
    if (ranges->len > VFIO_DMA_LOGGING_MAX_RANGES) {
        span.length = end - span.iova;
        g_array_set_size(ranges, 1);
        g_array_index(ranges, VFIODMARange, 0) = span;
    }
    return ranges;
}

static int vfio_device_dma_logging_start(VFIODevice *vbasedev,
                                         GArray *ranges)
{
    struct vfio_device_feature_dma_logging_control control = {
        .page_size = qemu_real_host_page_size(),
        .num_ranges = ranges->len,
        .ranges = (uintptr_t)ranges->data,
    };

    return vfio_device_feature(vbasedev, VFIO_DEVICE_FEATURE_SET |
                               VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
                               &control, sizeof(control));
}

static void vfio_device_dma_logging_stop(VFIODevice *vbasedev)
{
    vfio_device_feature(vbasedev, VFIO_DEVICE_FEATURE_SET |
                        VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP, NULL, 0);
}

/*
 * Starts or stops the logging of all devices, undoing a partial start.
 * The ranges they log are kept: a map outside them needs a restart.
 */
static int vfio_devices_dma_logging(VFIOContainer *container, bool start)
{
    GArray *ranges;
    VFIODevice *vbasedev, *done;
    int ret = 0;

    g_clear_pointer(&container->dirty_ranges, g_array_unref);
    if (!start) {
        QLIST_FOREACH(vbasedev, &container->device_list, container_next) {
            vfio_device_dma_logging_stop(vbasedev);
        }
        return 0;
    }
    ranges = vfio_dma_logging_ranges(container);
    container->dirty_ranges = ranges;
    QLIST_FOREACH(vbasedev, &container->device_list, container_next) {
        ret = vbasedev->dma_logging ?
              vfio_device_dma_logging_start(vbasedev, ranges) : -ENOTSUP;
        if (ret) {
            break;
        }
    }
    for (done = QLIST_FIRST(&container->device_list); ret && done != vbasedev;
         done = QLIST_NEXT(done, container_next)) {
        vfio_device_dma_logging_stop(done);
    }
    if (ret) {
        g_clear_pointer(&container->dirty_ranges, g_array_unref);
    }
    return ret;
}

static bool vfio_dirty_ranges_cover(VFIOContainer *container, hwaddr iova,
                                    uint64_t size)
{
    guint i;

    for (i = 0; i < container->dirty_ranges->len; i++) {
        VFIODMARange *r = &g_array_index(container->dirty_ranges,
                                         VFIODMARange, i);

        if (iova >= r->iova && iova + size <= r->iova + r->length) {
            return true;
        }
    }
    return false;
}

/*
 * RAM mapped while the devices log (PAM or SMRAM toggled, RAM plugged)
 * lies outside what they were told to log: restart their logging over
 * every map, and count each map wholly dirty at its next sync, since
 * what they logged before the restart is gone with it.
 */
static void vfio_dirty_ranges_update(VFIOContainer *container, hwaddr iova,
                                     uint64_t size)
{
    GHashTableIter iter;
    gpointer mapped;
    int ret;

    if (!container->dirty_tracking || !container->dirty_by_devices ||
        (container->dirty_ranges &&
         vfio_dirty_ranges_cover(container, iova, size))) {
        return;
    }
    vfio_devices_dma_logging(container, false);
    ret = vfio_devices_dma_logging(container, true);
    trace_vfio_dirty_ranges_restart(iova, size, ret);
    g_hash_table_iter_init(&iter, container->mappings);
    while (g_hash_table_iter_next(&iter, &mapped, NULL)) {
        g_hash_table_add(container->dirty_all,
                         g_memdup2(mapped, sizeof(hwaddr)));
    }
    container->dirty_logging_lost = ret != 0;
}

static int vfio_devices_query_dirty(VFIOContainer *container, hwaddr iova,
                                    uint64_t size, uint64_t *bitmap)
{
    struct vfio_device_feature_dma_logging_report report = {
        .iova = iova,
        .length = size,
        .page_size = qemu_real_host_page_size(),
        .bitmap = (uintptr_t)bitmap,
    };
    VFIODevice *vbasedev;
    int ret;

    /* Each report sets the bits of what its device wrote: they add up */
    QLIST_FOREACH(vbasedev, &container->device_list, container_next) {
        ret = vfio_device_feature(vbasedev, VFIO_DEVICE_FEATURE_GET |
                                  VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT,
                                  &report, sizeof(report));
        if (ret) {
            return ret;
        }
    }
    return 0;
}

/*
 * Global dirty logging is not only migration's (calc-dirty-rate starts it
 * too): track only where a device can migrate, and so will need it.
 */
static bool vfio_container_migrates(VFIOContainer *container)
{
    VFIODevice *vbasedev;

    QLIST_FOREACH(vbasedev, &container->device_list, container_next) {
        if (vbasedev->migration) {
            return true;
        }
    }
    return false;
}

/* Whether every device of @container logs its own DMA */
static bool vfio_devices_all_log(VFIOContainer *container)
{
    VFIODevice *vbasedev;

    QLIST_FOREACH(vbasedev, &container->device_list, container_next) {
        if (!vbasedev->dma_logging) {
            return false;
        }
    }
    return !QLIST_EMPTY(&container->device_list);
}

/*
 * Whether the devices report what they log: a kernel built without
 * IOMMUFD (Debian's) starts their logging but answers every report
 * EOPNOTSUPP, having no iova_bitmap.  One page of the first map tells;
 * what the report read and cleared there goes out at the next sync.
 */
static bool vfio_devices_report(VFIOContainer *container)
{
    uint64_t bitmap = 0;
    GHashTableIter iter;
    gpointer iova;
    int ret;

    g_hash_table_iter_init(&iter, container->mappings);
    if (!g_hash_table_iter_next(&iter, &iova, NULL)) {
        return true;
    }
    g_hash_table_add(container->dirty_all, g_memdup2(iova, sizeof(hwaddr)));
    ret = vfio_devices_query_dirty(container, *(hwaddr *)iova,
                                   qemu_real_host_page_size(), &bitmap);
    trace_vfio_dirty_report_probe(*(hwaddr *)iova, ret);
    return !ret;
}

/*
 * The devices' own logging, where all of them have it and report it,
 * rather than the backend's: type1 can only say that every pinned page
 * is dirty, and a pre-copy that resends all RAM each pass never
 * converges.  Without either, every sync says all RAM is dirty.
 */
static int vfio_dirty_tracking_start(VFIOContainer *container)
{
    bool backend = vfio_container_tracks_dirty(container);
    int ret;

    container->dirty_by_devices = vfio_devices_all_log(container) || !backend;
    if (container->dirty_by_devices) {
        ret = vfio_devices_dma_logging(container, true);
        if (ret || !backend || vfio_devices_report(container)) {
            return ret;
        }
        vfio_devices_dma_logging(container, false);
        container->dirty_by_devices = false;
    }
    return container->ops->set_dirty_tracking(container, true);
}

static void vfio_dirty_tracking(VFIOContainer *container, bool start)
{
    g_autofree char *devices = NULL;
    int ret;

    if (start && !vfio_container_migrates(container)) {
        return;
    }
    /* The devices log, or the backend tracks, what is mapped */
    vfio_container_dma_wait(container);
    devices = vfio_container_devices(container);
    if (start) {
        container->dirty_sync_failed = false;
        container->dirty_logging_lost = false;
        g_hash_table_remove_all(container->dirty_all);
        g_hash_table_remove_all(container->dirty_stopped);
        ret = vfio_dirty_tracking_start(container);
    } else {
        ret = container->dirty_by_devices ?
              vfio_devices_dma_logging(container, false) :
              container->ops->set_dirty_tracking(container, false);
    }
    trace_vfio_dirty_tracking(devices, start, container->dirty_by_devices ?
                              "device" : container->ops->name, ret);
    if (ret) {
        /* Migration fails when it finds tracking off (vfio_save_setup) */
        error_report("vfio %s: cannot %s dirty page tracking (%s): %s",
                     devices, start ? "start" : "stop",
                     container->dirty_by_devices ? "device DMA logging" :
                     container->ops->name, strerror(-ret));
    }
    container->dirty_tracking = start && !ret;
}

/*
 * The listener
 */

/* RAM whose manager (virtio-mem) plugs blocks: each mapped when plugged */
static void vfio_listener_discard_add(VFIOContainer *container,
                                      MemoryRegionSection *section,
                                      hwaddr iova, hwaddr end)
{
    Error *err = NULL;

    /* Its block count is checked against the maps the host has made */
    vfio_container_dma_wait(container);
    if (!vfio_ram_discard_region_add(container, section,
                                     container->replaying, &err)) {
        if (!vfio_listener_keep_error(container, err)) {
            vfio_container_fatal(container, err);
        }
        return;
    }
    vfio_dirty_ranges_update(container, iova, end - iova);
}

static void vfio_listener_region_add(MemoryListener *listener,
                                     MemoryRegionSection *section)
{
    VFIOContainer *container = container_of(listener, VFIOContainer,
                                            listener);
    hwaddr iova, end;
    void *vaddr;
    int ret;

    if (memory_region_is_iommu(section->mr)) {
        Error *err = NULL;

        if (!vfio_viommu_region_add(container, section, &err)) {
            vfio_listener_error(container, err);
        }
        return;
    }
    if (!vfio_section_range(container, section, "add", &iova, &end)) {
        return;
    }

    /* Realize fails on the first failure: pin nothing more for it */
    if (container->replaying && container->listener_error) {
        return;
    }
    if (memory_region_has_ram_discard_manager(section->mr)) {
        vfio_listener_discard_add(container, section, iova, end);
        return;
    }

    vaddr = memory_region_get_ram_ptr(section->mr) +
            section->offset_within_region +
            (iova - section->offset_within_address_space);
    trace_vfio_listener_region_add(iova, end - 1, vaddr);

    if (vfio_is_p2p(section)) {
        ret = vfio_container_dma_map(container, iova, end - iova, vaddr,
                                     section->readonly);
        if (ret) {
            vfio_p2p_report(container, section, strerror(-ret));
            return;
        }
    } else {
        ret = vfio_container_dma_map_ram(container, iova, end - iova, vaddr,
                                         section->readonly, section->mr);
    }
    if (ret) {
        vfio_map_error(container, iova, end - iova, ret,
                       memory_region_name(section->mr));
        return;
    }
    vfio_dirty_ranges_update(container, iova, end - iova);
}

static void vfio_listener_region_del(MemoryListener *listener,
                                     MemoryRegionSection *section)
{
    VFIOContainer *container = container_of(listener, VFIOContainer,
                                            listener);
    hwaddr iova, end;
    int ret;

    if (memory_region_is_iommu(section->mr)) {
        vfio_viommu_region_del(container, section);
        return;
    }
    if (!vfio_section_range(container, section, "del", &iova, &end)) {
        return;
    }

    trace_vfio_listener_region_del(iova, end - 1);
    if (memory_region_has_ram_discard_manager(section->mr)) {
        vfio_ram_discard_region_del(container, section);
        return;
    }
    ret = vfio_container_dma_unmap(container, iova);
    if (ret) {
        error_report("vfio: failed to unmap [0x%" HWADDR_PRIx " - 0x%"
                     HWADDR_PRIx "] (%s): %s", iova, end - 1,
                     container->ops->name, strerror(-ret));
    }
}

static void vfio_listener_log_global_start(MemoryListener *listener)
{
    vfio_dirty_tracking(container_of(listener, VFIOContainer, listener),
                        true);
}

static void vfio_listener_log_global_stop(MemoryListener *listener)
{
    VFIOContainer *container = container_of(listener, VFIOContainer,
                                            listener);

    if (container->dirty_tracking) {
        vfio_dirty_tracking(container, false);
    }
}

/*
 * x-pre-copy-dirty-page-tracking=off: while a device of @container still
 * runs, the pages it writes pile up in the tracker, to be read once, when
 * the VM has stopped: no query in each pre-copy pass, at the price of a
 * stop-copy that sends them all (and a RAM estimate that misses them).
 */
static bool vfio_dirty_sync_deferred(VFIOContainer *container)
{
    VFIODevice *vbasedev;

    if (!runstate_is_running()) {
        return false;
    }
    QLIST_FOREACH(vbasedev, &container->device_list, container_next) {
        if (vbasedev->migration &&
            vbasedev->pre_copy_dirty_page_tracking == ON_OFF_AUTO_OFF) {
            return true;
        }
    }
    return false;
}

/*
 * The dirty pages of the map at @iova cannot be read: all of them, but
 * once only while the VM is stopped, its devices with it: a stopped
 * device writes nothing more, and a migration of a paused VM (virsh
 * save) that found all RAM dirty at each pass would never end.
 */
static void vfio_dirty_all_unknown(VFIOContainer *container, hwaddr iova,
                                   uint64_t *bitmap, uint64_t pages)
{
    if (runstate_is_running()) {
        g_hash_table_remove_all(container->dirty_stopped);
    } else if (g_hash_table_contains(container->dirty_stopped, &iova)) {
        return;
    } else {
        g_hash_table_add(container->dirty_stopped,
                         g_memdup2(&iova, sizeof(iova)));
    }
    memset(bitmap, 0xff, DIV_ROUND_UP(pages, 64) * sizeof(uint64_t));
}

/*
 * The pages the devices wrote in the map at @iova of @section since the
 * last sync.
 * Where they cannot be told, all of them: migration sends too much rather
 * than lose a write.
 */
static void vfio_dirty_sync_map(VFIOContainer *container,
                                MemoryRegionSection *section, hwaddr iova)
{
    uint64_t pgsize = qemu_real_host_page_size();
    g_autofree uint64_t *bitmap = NULL;
    const uint64_t *mapped;
    uint64_t pages;
    ram_addr_t ram_addr;
    int ret;

    mapped = g_hash_table_lookup(container->mappings, &iova);
    if (!mapped) {
        return;
    }
    if (vfio_dirty_sync_deferred(container)) {
        trace_vfio_dirty_sync_deferred(iova, *mapped);
        return;
    }
    pages = *mapped / pgsize;
    bitmap = g_new0(uint64_t, DIV_ROUND_UP(pages, 64));
    if (container->dirty_logging_lost) {
        ret = -EIO;
    } else if (container->dirty_by_devices) {
        ret = vfio_devices_query_dirty(container, iova, *mapped, bitmap);
        if (!ret && g_hash_table_remove(container->dirty_all, &iova)) {
            memset(bitmap, 0xff, DIV_ROUND_UP(pages, 64) * sizeof(uint64_t));
        }
    } else {
        ret = container->ops->query_dirty_bitmap(container, iova, *mapped,
                                                 pgsize, bitmap);
    }
    if (ret) {
        if (!container->dirty_sync_failed) {
            error_report("vfio: cannot read the dirty pages of [0x%"
                         HWADDR_PRIx " - 0x%" HWADDR_PRIx "]: %s; all of "
                         "them are sent", iova, iova + *mapped - 1,
                         strerror(-ret));
            container->dirty_sync_failed = true;
        }
        vfio_dirty_all_unknown(container, iova, bitmap, pages);
    }
    ram_addr = memory_region_get_ram_addr(section->mr) +
               section->offset_within_region +
               (iova - section->offset_within_address_space);
    cpu_physical_memory_set_dirty_lebitmap((unsigned long *)bitmap, ram_addr,
                                           pages);
    trace_vfio_dirty_sync(iova, *mapped, ret);
}

static void vfio_listener_log_sync(MemoryListener *listener,
                                   MemoryRegionSection *section)
{
    VFIOContainer *container = container_of(listener, VFIOContainer,
                                            listener);
    uint64_t block = vfio_ram_discard_granularity(section);
    hwaddr iova, end;

    /* A BAR's contents are the device's to migrate, not RAM's */
    if (!container->dirty_tracking || vfio_is_p2p(section) ||
        !vfio_section_range(container, section, "sync", &iova, &end)) {
        return;
    }
    vfio_container_dma_wait(container);
    if (!block) {
        vfio_dirty_sync_map(container, section, iova);
        return;
    }
    /* Each plugged block is a map of its own; the others have none */
    for (; iova < end; iova += block) {
        vfio_dirty_sync_map(container, section, iova);
    }
}

static const MemoryListener vfio_memory_listener = {
    .name = "vfio",
    .region_add = vfio_listener_region_add,
    .region_del = vfio_listener_region_del,
    .log_global_start = vfio_listener_log_global_start,
    .log_global_stop = vfio_listener_log_global_stop,
    .log_sync = vfio_listener_log_sync,
};

void vfio_container_init(VFIOContainer *container, const VFIOIOMMUOps *ops,
                         AddressSpace *as)
{
    container->ops = ops;
    container->as = as;
    container->map_failed = vfio_map_error;
    container->mappings = g_hash_table_new_full(g_int64_hash, g_int64_equal,
                                                g_free, g_free);
    container->dirty_all = g_hash_table_new_full(g_int64_hash, g_int64_equal,
                                                 g_free, NULL);
    container->dirty_stopped = g_hash_table_new_full(g_int64_hash,
                                                     g_int64_equal, g_free,
                                                     NULL);
    QLIST_INIT(&container->device_list);
    QLIST_INIT(&container->giommu_list);
    QLIST_INIT(&container->rdl_list);
}

void vfio_container_destroy(VFIOContainer *container)
{
    vfio_container_dma_finish(container);
    assert(QLIST_EMPTY(&container->giommu_list));
    assert(QLIST_EMPTY(&container->rdl_list));
    g_hash_table_destroy(container->mappings);
    g_hash_table_destroy(container->dirty_all);
    g_hash_table_destroy(container->dirty_stopped);
    g_clear_pointer(&container->p2p_reported, g_hash_table_destroy);
    g_clear_pointer(&container->dirty_ranges, g_array_unref);
}

bool vfio_container_start_dma(VFIOContainer *container, Error **errp)
{
    if (!vfio_container_check_memlock(container, errp)) {
        return false;
    }
    container->listener = vfio_memory_listener;
    container->replaying = true;
    memory_listener_register(&container->listener, container->as);
    container->replaying = false;

    if (container->listener_error) {
        error_propagate(errp, container->listener_error);
        container->listener_error = NULL;
        memory_listener_unregister(&container->listener);
        return false;
    }
    return true;
}

/* Unmaps everything: unregistering deletes every section. */
void vfio_container_stop_dma(VFIOContainer *container)
{
    memory_listener_unregister(&container->listener);
    vfio_container_dma_wait(container);
    trace_vfio_container_stop_dma(container->ops->name,
                                  g_hash_table_size(container->mappings));
}

void vfio_container_add_device(VFIOContainer *container, VFIODevice *vbasedev)
{
    vbasedev->container = container;
    QLIST_INSERT_HEAD(&container->device_list, vbasedev, container_next);
}

void vfio_container_del_device(VFIODevice *vbasedev)
{
    if (vbasedev->container) {
        QLIST_REMOVE(vbasedev, container_next);
        vbasedev->container = NULL;
    }
}
