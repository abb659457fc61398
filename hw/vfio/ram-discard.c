/*
 * VFIO: guest RAM that a RAM discard manager (virtio-mem) plugs and unplugs
 *
 * A virtio-mem device's memory is one RAM section of which only the blocks
 * the guest plugged hold memory.  Mapping the whole section would pin, and
 * so allocate, all of it; instead the listener hands such a section here,
 * and each plugged block becomes one DMA map of its own, made before the
 * guest may use the block and undone when the guest unplugs it (a map
 * cannot be split later).  A plug the host cannot map (QEMU's locked
 * memory limit, type1's limit of maps) is refused: the guest runs on with
 * the memory it has.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <sys/resource.h>

#include "hw/vfio/vfio-common.h"
#include "qapi/error.h"
#include "qemu/cutils.h"
#include "qemu/error-report.h"
#include "qemu/units.h"
#include "trace.h"

struct VFIORamDiscardListener {
    RamDiscardListener listener;
    VFIOContainer *container;
    MemoryRegion *mr;
    hwaddr start;                 /* the section's guest address */
    hwaddr offset;                /* and its offset in @mr */
    uint64_t size;
    uint64_t granularity;         /* the size of one block and of its map */
    uint64_t mapped;              /* blocks mapped now */
    bool replaying;               /* registering: the plugged blocks so far */
    Error *replay_error;          /* the first failure then */
    bool refusal_reported;        /* a refused plug was said */
    QLIST_ENTRY(VFIORamDiscardListener) next;
};

static uint64_t vfio_rdl_blocks(VFIORamDiscardListener *vrdl)
{
    return DIV_ROUND_UP(vrdl->size, vrdl->granularity);
}

/* Unmaps the blocks in [@iova, @end) */
static void vfio_rdl_unmap(VFIORamDiscardListener *vrdl, hwaddr iova,
                           hwaddr end)
{
    VFIOContainer *container = vrdl->container;
    int ret;

    for (; iova < end; iova += vrdl->granularity) {
        if (!g_hash_table_contains(container->mappings, &iova)) {
            continue;
        }
        ret = vfio_container_dma_unmap(container, iova);
        vrdl->mapped--;
        if (ret) {
            error_report("vfio: failed to unmap the unplugged block at 0x%"
                         HWADDR_PRIx " of \"%s\" (%s): %s", iova,
                         memory_region_name(vrdl->mr), container->ops->name,
                         strerror(-ret));
        }
    }
}

static void vfio_rdl_refused(VFIORamDiscardListener *vrdl, hwaddr iova,
                             uint64_t size, int err)
{
    g_autofree char *devices = vfio_container_devices(vrdl->container);
    g_autofree char *size_str = size_to_str(size);
    Error *local_err = NULL;
    struct rlimit rlim;

    trace_vfio_ram_discard_refused(memory_region_name(vrdl->mr), iova, size,
                                   err);
    error_setg(&local_err, "vfio %s: cannot map the block [0x%" HWADDR_PRIx
               " - 0x%" HWADDR_PRIx "] (%s) of \"%s\" for DMA: %s", devices,
               iova, iova + size - 1, size_str, memory_region_name(vrdl->mr),
               strerror(-err));
    if (err == -ENOMEM && !getrlimit(RLIMIT_MEMLOCK, &rlim) &&
        rlim.rlim_cur != RLIM_INFINITY) {
        error_append_hint(&local_err, "RLIMIT_MEMLOCK is %" PRIu64 " KiB, "
                          "and each plugged block is pinned.\n",
                          (uint64_t)rlim.rlim_cur / KiB);
    } else if (err == -ENOSPC) {
        error_append_hint(&local_err, "The host's limit of DMA maps is "
                          "reached (vfio_iommu_type1 dma_entry_limit).\n");
    }
    if (vrdl->replaying) {
        if (!vrdl->replay_error) {
            vrdl->replay_error = local_err;
            return;
        }
    } else if (!vrdl->refusal_reported) {
        vrdl->refusal_reported = true;
        error_append_hint(&local_err, "The guest's plug is refused; later "
                          "refusals are traced (vfio_ram_discard_refused).\n");
        error_report_err(local_err);
        return;
    }
    error_free(local_err);
}

/* The listener behind @rdl, and the IOVAs [*start, *end) of @section */
static VFIORamDiscardListener *vfio_rdl_range(RamDiscardListener *rdl,
                                              MemoryRegionSection *section,
                                              hwaddr *start, hwaddr *end)
{
    VFIORamDiscardListener *vrdl = container_of(rdl, VFIORamDiscardListener,
                                                listener);

    *start = vrdl->start + section->offset_within_region - vrdl->offset;
    *end = *start + int128_get64(section->size);
    return vrdl;
}

/* The guest plugs blocks: each becomes a map before the guest may use it */
static int vfio_rdl_populate(RamDiscardListener *rdl,
                             MemoryRegionSection *section)
{
    hwaddr start, end, iova;
    VFIORamDiscardListener *vrdl = vfio_rdl_range(rdl, section, &start,
                                                  &end);
    int ret;

    for (iova = start; iova < end; iova += vrdl->granularity) {
        uint64_t size = MIN(vrdl->granularity, end - iova);
        void *vaddr = memory_region_get_ram_ptr(section->mr) +
                      section->offset_within_region + (iova - start);

        ret = vfio_container_dma_map(vrdl->container, iova, size, vaddr,
                                     section->readonly);
        if (ret) {
            vfio_rdl_refused(vrdl, iova, size, ret);
            vfio_rdl_unmap(vrdl, start, iova);
            return ret;
        }
        vrdl->mapped++;
    }
    trace_vfio_ram_discard_populate(memory_region_name(vrdl->mr), start,
                                    end - start, vrdl->mapped);
    return 0;
}

/* The guest unplugged blocks (or the manager says so of unplugged ones) */
static void vfio_rdl_discard(RamDiscardListener *rdl,
                             MemoryRegionSection *section)
{
    hwaddr start, end;
    VFIORamDiscardListener *vrdl = vfio_rdl_range(rdl, section, &start,
                                                  &end);

    vfio_rdl_unmap(vrdl, start, end);
    trace_vfio_ram_discard_discard(memory_region_name(vrdl->mr), start,
                                   end - start, vrdl->mapped);
}

/*
 * Whether the host takes a map for every block that all RAM-discard
 * sections of @container, @vrdl among them, could plug: the maps made
 * already are counted by the host too.
 */
static bool vfio_rdl_within_limit(VFIOContainer *container,
                                  VFIORamDiscardListener *vrdl, Error **errp)
{
    ERRP_GUARD();
    int64_t left = container->ops->dma_maps_left ?
                   container->ops->dma_maps_left(container) : -1;
    uint64_t need = vfio_rdl_blocks(vrdl);
    VFIORamDiscardListener *other;
    g_autofree char *size = NULL, *block = NULL;

    if (left < 0) {
        return true;
    }
    QLIST_FOREACH(other, &container->rdl_list, next) {
        need += vfio_rdl_blocks(other) - other->mapped;
    }
    if (need <= left) {
        return true;
    }
    size = size_to_str(vrdl->size);
    block = size_to_str(vrdl->granularity);
    error_setg(errp, "\"%s\" (%s in blocks of %s) can need %" PRIu64
               " more DMA maps with the other virtio-mem memory, and the "
               "host takes %" PRId64 " more (vfio_iommu_type1 "
               "dma_entry_limit)", memory_region_name(vrdl->mr), size, block,
               need, left);
    error_append_hint(errp, "Give the virtio-mem device a larger block-size, "
                      "or raise the limit (modprobe vfio_iommu_type1 "
                      "dma_entry_limit=N).\n");
    return false;
}

/*
 * Past the limit a realize fails; memory added later is only warned of:
 * its plugs are refused once the maps run out.
 */
static bool vfio_rdl_check_limit(VFIOContainer *container,
                                 VFIORamDiscardListener *vrdl,
                                 bool realizing, Error **errp)
{
    g_autofree char *devices = NULL;
    Error *err = NULL;

    if (vfio_rdl_within_limit(container, vrdl, &err)) {
        return true;
    }
    if (realizing) {
        error_propagate(errp, err);
        return false;
    }
    devices = vfio_container_devices(container);
    error_prepend(&err, "vfio %s: ", devices);
    warn_report_err(err);
    return true;
}

static void vfio_rdl_free(VFIORamDiscardListener *vrdl)
{
    RamDiscardManager *rdm = memory_region_get_ram_discard_manager(vrdl->mr);

    /* Unregistering discards what is plugged: its maps go */
    ram_discard_manager_unregister_listener(rdm, &vrdl->listener);
    QLIST_REMOVE(vrdl, next);
    trace_vfio_ram_discard_del(memory_region_name(vrdl->mr), vrdl->start,
                               vrdl->mapped);
    g_free(vrdl);
}

uint64_t vfio_ram_discard_granularity(MemoryRegionSection *section)
{
    RamDiscardManager *rdm = memory_region_get_ram_discard_manager(section->mr);

    return rdm ? ram_discard_manager_get_min_granularity(rdm, section->mr) : 0;
}

bool vfio_ram_discard_region_add(VFIOContainer *container,
                                 MemoryRegionSection *section,
                                 bool realizing, Error **errp)
{
    RamDiscardManager *rdm = memory_region_get_ram_discard_manager(section->mr);
    VFIORamDiscardListener *vrdl = g_new0(VFIORamDiscardListener, 1);

    vrdl->container = container;
    vrdl->mr = section->mr;
    vrdl->start = section->offset_within_address_space;
    vrdl->offset = section->offset_within_region;
    vrdl->size = int128_get64(section->size);
    vrdl->granularity = vfio_ram_discard_granularity(section);
    trace_vfio_ram_discard_add(memory_region_name(vrdl->mr), vrdl->start,
                               vrdl->size, vrdl->granularity);
    if (!QEMU_IS_ALIGNED(vrdl->granularity, qemu_real_host_page_size())) {
        error_setg(errp, "\"%s\" has blocks of 0x%" PRIx64 " bytes, not "
                   "whole host pages", memory_region_name(vrdl->mr),
                   vrdl->granularity);
        g_free(vrdl);
        return false;
    }
    if (!vfio_rdl_check_limit(container, vrdl, realizing, errp)) {
        g_free(vrdl);
        return false;
    }

    ram_discard_listener_init(&vrdl->listener, vfio_rdl_populate,
                              vfio_rdl_discard, true);
    QLIST_INSERT_HEAD(&container->rdl_list, vrdl, next);
    vrdl->replaying = true;
    ram_discard_manager_register_listener(rdm, &vrdl->listener, section);
    vrdl->replaying = false;
    if (vrdl->replay_error) {
        error_propagate(errp, vrdl->replay_error);
        vrdl->replay_error = NULL;
        vfio_rdl_free(vrdl);
        return false;
    }
    return true;
}

void vfio_ram_discard_region_del(VFIOContainer *container,
                                 MemoryRegionSection *section)
{
    VFIORamDiscardListener *vrdl;

    QLIST_FOREACH(vrdl, &container->rdl_list, next) {
        if (vrdl->mr == section->mr &&
            vrdl->start == section->offset_within_address_space) {
            vfio_rdl_free(vrdl);
            return;
        }
    }
}
