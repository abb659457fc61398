/*
 * VFIO: DMA maps that follow a guest IOMMU
 *
 * Behind a guest IOMMU (intel-iommu with caching-mode=on, virtio-iommu)
 * the device's address space shows IOMMU memory regions where it would
 * show guest RAM, and the listener hands each such section here.  An IOMMU
 * notifier turns every guest map into a host DMA map of the guest RAM it
 * translates to, at the guest's IOVA and with the guest's permissions, and
 * every unmap or invalidation into the unmap of the maps it covers.  The
 * device reaches only what the guest mapped; when the guest turns its
 * IOMMU off (or resets), the section goes, and every map with it.
 *
 * A map the host cannot make (beyond the host IOMMU's IOVA ranges, past
 * type1's dma_entry_limit, of something that is not guest RAM) is the
 * guest's problem, not QEMU's: the device faults there.  Each cause is
 * reported once per container (a device's, behind a guest IOMMU), however
 * often the guest toggles translation and so re-creates its sections;
 * later failures are guest errors in the log.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"

#include "hw/vfio/vfio-common.h"
#include "qapi/error.h"
#include "qemu/bitops.h"
#include "qemu/error-report.h"
#include "qemu/iova-tree.h"
#include "qemu/log.h"
#include "qemu/range.h"
#include "qemu/rcu.h"
#include "qom/object.h"
#include "trace.h"

/* One IOMMU section of a container's address space, and its host maps */
struct VFIOGuestIOMMU {
    VFIOContainer *container;
    MemoryRegion *mr;             /* the IOMMU memory region */
    hwaddr iova_offset;           /* from the region's IOVA to the host's */
    IOMMUNotifier n;
    IOVATree *maps;               /* the host maps made for the guest */
    unsigned int nr_maps;
    GArray *iova_ranges;          /* Ranges the host can map; NULL: unknown */
    QLIST_ENTRY(VFIOGuestIOMMU) next;
};

/* The IOMMU region among @mr and its subregions, where DMA is translated */
static IOMMUMemoryRegion *vfio_find_iommu_mr(MemoryRegion *mr)
{
    MemoryRegion *sub;

    if (memory_region_is_iommu(mr)) {
        return IOMMU_MEMORY_REGION(mr);
    }
    QTAILQ_FOREACH(sub, &mr->subregions, subregions_link) {
        IOMMUMemoryRegion *iommu_mr = vfio_find_iommu_mr(sub);

        if (iommu_mr) {
            return iommu_mr;
        }
    }
    return NULL;
}

bool vfio_viommu_present(AddressSpace *as)
{
    return vfio_find_iommu_mr(as->root) != NULL;
}

static void vfio_viommu_probe_notify(IOMMUNotifier *n, IOMMUTLBEntry *entry)
{
}

/*
 * The guest IOMMU must tell its maps, not only its unmaps: intel-iommu
 * does with caching-mode=on only, since without it a guest need not
 * invalidate what it maps.  Ask it now, while a realize can still fail,
 * rather than when the guest turns it on.
 */
bool vfio_viommu_check(AddressSpace *as, Error **errp)
{
    IOMMUMemoryRegion *iommu_mr = vfio_find_iommu_mr(as->root);
    Object *owner = iommu_mr ? memory_region_owner(MEMORY_REGION(iommu_mr))
                             : NULL;
    IOMMUNotifier probe;

    if (!iommu_mr) {
        return true;
    }
    if (owner && object_property_find(owner, "caching-mode") &&
        !object_property_get_bool(owner, "caching-mode", NULL)) {
        error_setg(errp, "the guest IOMMU (%s) must have caching-mode=on "
                   "for an assigned device behind it",
                   object_get_typename(owner));
        return false;
    }
    iommu_notifier_init(&probe, vfio_viommu_probe_notify,
                        IOMMU_NOTIFIER_IOTLB_EVENTS, 0, 0,
                        memory_region_iommu_attrs_to_index(
                            iommu_mr, MEMTXATTRS_UNSPECIFIED));
    if (memory_region_register_iommu_notifier(MEMORY_REGION(iommu_mr),
                                              &probe, errp)) {
        error_prepend(errp, "the guest IOMMU cannot report its maps to an "
                      "assigned device: ");
        return false;
    }
    memory_region_unregister_iommu_notifier(MEMORY_REGION(iommu_mr), &probe);
    return true;
}

/* Why a guest map cannot be made: reported once each, per container */
typedef enum VFIOGuestMapFailure {
    VFIO_GMAP_OK,
    VFIO_GMAP_BEYOND_IOVA,
    VFIO_GMAP_NOT_RAM,
    VFIO_GMAP_SPANS_BLOCKS,
    VFIO_GMAP_ROM_WRITABLE,
    VFIO_GMAP_UNPLUGGED,
    VFIO_GMAP_ENTRY_LIMIT,
    VFIO_GMAP_MEMLOCK,
    VFIO_GMAP_HOST_ERROR,
} VFIOGuestMapFailure;

static const char *const vfio_gmap_why[] = {
    [VFIO_GMAP_BEYOND_IOVA] = "it is beyond the IOVA ranges of the host IOMMU",
    [VFIO_GMAP_NOT_RAM] = "that is not guest RAM",
    [VFIO_GMAP_SPANS_BLOCKS] = "that spans more than one block of guest RAM",
    [VFIO_GMAP_ROM_WRITABLE] = "it makes guest ROM writable",
    [VFIO_GMAP_UNPLUGGED] = "that is memory the guest has not plugged "
                            "(virtio-mem)",
    [VFIO_GMAP_ENTRY_LIMIT] = "the host's limit of DMA maps is reached "
                              "(vfio_iommu_type1 dma_entry_limit)",
    [VFIO_GMAP_MEMLOCK] = "QEMU's locked memory limit (RLIMIT_MEMLOCK) is "
                          "reached",
    [VFIO_GMAP_HOST_ERROR] = "the host refuses the map",
};

static bool vfio_viommu_iova_valid(VFIOGuestIOMMU *giommu, hwaddr iova,
                                   hwaddr last)
{
    Range map;
    guint i;

    if (!giommu->iova_ranges) {
        return true;
    }
    range_set_bounds(&map, iova, last);
    for (i = 0; i < giommu->iova_ranges->len; i++) {
        if (range_contains_range(&g_array_index(giommu->iova_ranges, Range,
                                                i), &map)) {
            return true;
        }
    }
    return false;
}

/* Where in QEMU the guest RAM of @map lies, or why it is none */
/* Pinning memory virtio-mem has not plugged would allocate it */
static bool vfio_viommu_plugged(MemoryRegion *mr, hwaddr offset, hwaddr len)
{
    RamDiscardManager *rdm = memory_region_get_ram_discard_manager(mr);
    MemoryRegionSection section = {
        .mr = mr,
        .offset_within_region = offset,
        .size = int128_make64(len),
    };

    return !rdm || ram_discard_manager_is_populated(rdm, &section);
}

static VFIOGuestMapFailure vfio_viommu_translate(VFIOGuestIOMMU *giommu,
                                                 AddressSpace *target,
                                                 const DMAMap *map,
                                                 void **vaddr)
{
    hwaddr xlat, len = map->size + 1;
    MemoryRegion *mr;

    if (!vfio_viommu_iova_valid(giommu, map->iova, map->iova + map->size)) {
        return VFIO_GMAP_BEYOND_IOVA;
    }
    RCU_READ_LOCK_GUARD();
    mr = address_space_translate(target, map->translated_addr, &xlat, &len,
                                 map->perm & IOMMU_WO,
                                 MEMTXATTRS_UNSPECIFIED);
    if (!memory_region_is_ram(mr) || memory_region_is_ram_device(mr)) {
        return VFIO_GMAP_NOT_RAM;
    }
    if (len <= map->size) {
        return VFIO_GMAP_SPANS_BLOCKS;
    }
    if ((map->perm & IOMMU_WO) && memory_region_is_rom(mr)) {
        return VFIO_GMAP_ROM_WRITABLE;
    }
    if (!vfio_viommu_plugged(mr, xlat, map->size + 1)) {
        return VFIO_GMAP_UNPLUGGED;
    }
    *vaddr = memory_region_get_ram_ptr(mr) + xlat;
    return VFIO_GMAP_OK;
}

static void vfio_viommu_map_failed(VFIOGuestIOMMU *giommu, const DMAMap *map,
                                   VFIOGuestMapFailure why, int err)
{
    VFIOContainer *container = giommu->container;
    g_autofree char *devices = vfio_container_devices(container);
    g_autofree char *msg = g_strdup_printf(
        "vfio %s: the guest IOMMU maps [0x%" HWADDR_PRIx " - 0x%" HWADDR_PRIx
        "] to 0x%" HWADDR_PRIx ", which the host cannot map: %s%s%s",
        devices, map->iova, map->iova + map->size, map->translated_addr,
        vfio_gmap_why[why], err ? ": " : "", err ? strerror(-err) : "");

    trace_vfio_viommu_map_failed(map->iova, map->size + 1, why, err);
    if (container->guest_map_reported & BIT(why)) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s\n", msg);
        return;
    }
    container->guest_map_reported |= BIT(why);
    error_report("%s (the device faults there; later failures for this "
                 "reason are guest errors, -d guest_errors)", msg);
}

/* Unmaps every host map that overlaps [@iova, @last]: none may be split */
static void vfio_viommu_unmap(VFIOGuestIOMMU *giommu, hwaddr iova,
                              hwaddr last)
{
    VFIOContainer *container = giommu->container;
    DMAMap range = { .iova = iova, .size = last - iova };
    const DMAMap *found;

    while ((found = iova_tree_find(giommu->maps, &range))) {
        DMAMap map = *found;
        int ret = container->ops->dma_unmap(container, map.iova,
                                            map.size + 1);

        iova_tree_remove(giommu->maps, map);
        giommu->nr_maps--;
        trace_vfio_viommu_unmap(map.iova, map.size + 1, ret, giommu->nr_maps);
        if (ret) {
            error_report("vfio: cannot unmap guest IOMMU map [0x%" HWADDR_PRIx
                         " - 0x%" HWADDR_PRIx "] (%s): %s", map.iova,
                         map.iova + map.size, container->ops->name,
                         strerror(-ret));
        }
    }
}

static VFIOGuestMapFailure vfio_viommu_map_errno(int err)
{
    switch (err) {
    case -ENOSPC:
        return VFIO_GMAP_ENTRY_LIMIT;
    case -ENOMEM:
        return VFIO_GMAP_MEMLOCK;
    default:
        return VFIO_GMAP_HOST_ERROR;
    }
}

static void vfio_viommu_map(VFIOGuestIOMMU *giommu, IOMMUTLBEntry *entry,
                            hwaddr iova)
{
    VFIOContainer *container = giommu->container;
    DMAMap map = {
        .iova = iova,
        .size = entry->addr_mask,
        .translated_addr = entry->translated_addr,
        .perm = entry->perm,
    };
    VFIOGuestMapFailure why;
    void *vaddr = NULL;
    int ret;

    /* A new map replaces what it overlaps, as in the guest's tables */
    vfio_viommu_unmap(giommu, iova, iova + map.size);
    why = vfio_viommu_translate(giommu, entry->target_as, &map, &vaddr);
    if (why != VFIO_GMAP_OK) {
        vfio_viommu_map_failed(giommu, &map, why, 0);
        return;
    }
    ret = container->ops->dma_map(container, iova, map.size + 1, vaddr,
                                  map.perm);
    trace_vfio_viommu_map(iova, map.size + 1, map.translated_addr, map.perm,
                          ret, giommu->nr_maps + !ret);
    if (ret) {
        vfio_viommu_map_failed(giommu, &map, vfio_viommu_map_errno(ret), ret);
        return;
    }
    iova_tree_insert(giommu->maps, &map);
    giommu->nr_maps++;
}

static void vfio_viommu_notify(IOMMUNotifier *n, IOMMUTLBEntry *entry)
{
    VFIOGuestIOMMU *giommu = container_of(n, VFIOGuestIOMMU, n);
    hwaddr iova = entry->iova + giommu->iova_offset;

    if (entry->perm == IOMMU_NONE) {
        vfio_viommu_unmap(giommu, iova, iova + entry->addr_mask);
    } else {
        vfio_viommu_map(giommu, entry, iova);
    }
}

static void vfio_viommu_free(VFIOGuestIOMMU *giommu)
{
    iova_tree_destroy(giommu->maps);
    if (giommu->iova_ranges) {
        g_array_unref(giommu->iova_ranges);
    }
    memory_region_unref(giommu->mr);
    g_free(giommu);
}

/* Follows the guest's maps of @section, the ones it has already first */
bool vfio_viommu_region_add(VFIOContainer *container,
                            MemoryRegionSection *section, Error **errp)
{
    IOMMUMemoryRegion *iommu_mr = IOMMU_MEMORY_REGION(section->mr);
    VFIOGuestIOMMU *giommu = g_new0(VFIOGuestIOMMU, 1);
    hwaddr start = section->offset_within_region;
    hwaddr last = int128_get64(int128_sub(int128_add(int128_make64(start),
                                                     section->size),
                                          int128_one()));

    memory_region_ref(section->mr);
    giommu->container = container;
    giommu->mr = section->mr;
    giommu->iova_offset = section->offset_within_address_space - start;
    giommu->maps = iova_tree_new();
    giommu->iova_ranges = container->ops->iova_ranges ?
                          container->ops->iova_ranges(container) : NULL;
    iommu_notifier_init(&giommu->n, vfio_viommu_notify,
                        IOMMU_NOTIFIER_IOTLB_EVENTS, start, last,
                        memory_region_iommu_attrs_to_index(
                            iommu_mr, MEMTXATTRS_UNSPECIFIED));
    trace_vfio_viommu_region_add(memory_region_name(section->mr),
                                 start + giommu->iova_offset,
                                 last + giommu->iova_offset);

    if (memory_region_register_iommu_notifier(section->mr, &giommu->n,
                                              errp)) {
        error_prepend(errp, "the guest IOMMU cannot report its maps: ");
        vfio_viommu_free(giommu);
        return false;
    }
    QLIST_INSERT_HEAD(&container->giommu_list, giommu, next);
    memory_region_iommu_replay(iommu_mr, &giommu->n);
    return true;
}

/* Drops every map the guest made in @section */
void vfio_viommu_region_del(VFIOContainer *container,
                            MemoryRegionSection *section)
{
    VFIOGuestIOMMU *giommu;

    QLIST_FOREACH(giommu, &container->giommu_list, next) {
        if (giommu->mr == section->mr &&
            giommu->n.start == section->offset_within_region) {
            break;
        }
    }
    if (!giommu) {
        return;
    }
    memory_region_unregister_iommu_notifier(section->mr, &giommu->n);
    trace_vfio_viommu_region_del(memory_region_name(section->mr),
                                 giommu->nr_maps);
    vfio_viommu_unmap(giommu, 0, HWADDR_MAX);
    QLIST_REMOVE(giommu, next);
    vfio_viommu_free(giommu);
}
