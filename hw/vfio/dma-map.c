/*
 * VFIO: the DMA maps of a container, as the host IOMMU holds them
 *
 * Each map the listener or the RAM-discard step makes is kept by its
 * IOVA with its size, so that it is undone exactly as it was made (the
 * backends refuse an unmap that splits a map), and so that the dirty
 * pages of each can be asked for.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"

#include "hw/vfio/vfio-common.h"
#include "trace.h"

int vfio_container_dma_map(VFIOContainer *container, hwaddr iova,
                           uint64_t size, void *vaddr, bool readonly)
{
    int ret;

    trace_vfio_dma_map(container->ops->name, iova, size, vaddr, readonly);
    ret = container->ops->dma_map(container, iova, size, vaddr,
                                  readonly ? IOMMU_RO : IOMMU_RW);
    if (ret) {
        return ret;
    }
    g_hash_table_insert(container->mappings, g_memdup2(&iova, sizeof(iova)),
                        g_memdup2(&size, sizeof(size)));
    return 0;
}

/* A range whose map failed was never there: that is no error */
int vfio_container_dma_unmap(VFIOContainer *container, hwaddr iova)
{
    const uint64_t *mapped = g_hash_table_lookup(container->mappings, &iova);
    uint64_t size;

    if (!mapped) {
        return 0;
    }
    size = *mapped;
    trace_vfio_dma_unmap(container->ops->name, iova, size);
    g_hash_table_remove(container->mappings, &iova);
    return container->ops->dma_unmap(container, iova, size);
}
