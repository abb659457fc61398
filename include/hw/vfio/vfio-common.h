/*
 * VFIO: the bus-neutral host side of device assignment
 *
 * Copyright Red Hat, Inc. 2012
 *
 * Authors:
 *  Alex Williamson <alex.williamson@redhat.com>
 *
 * This work is licensed under the terms of the GNU GPL, version 2.  See
 * the COPYING file in the top-level directory.
 *
 * SPDX-License-Identifier: GPL-2.0-only
 */

#ifndef HW_VFIO_VFIO_COMMON_H
#define HW_VFIO_VFIO_COMMON_H

#include "exec/memory.h"
#include "qemu/queue.h"
#include <linux/vfio.h>

#define VFIO_MSG_PREFIX "vfio %s: "

typedef struct VFIOGroup VFIOGroup;

/* /dev/vfio/vfio, empowered by the groups attached to it */
typedef struct VFIOContainer {
    int fd;
    int iommu_type;               /* VFIO_TYPE1v2_IOMMU or VFIO_TYPE1_IOMMU */
    MemoryListener listener;      /* mirrors guest RAM into type1 DMA maps */
    bool replaying;               /* mapping the RAM that already exists */
    Error *listener_error;        /* first map failure then, for realize */
    GHashTable *mappings;         /* iova -> size of each live MAP_DMA */
    QLIST_HEAD(, VFIOGroup) group_list;
    QLIST_ENTRY(VFIOContainer) next;
} VFIOContainer;

/* What common.c needs of an assigned device, whatever its bus */
typedef struct VFIODevice {
    QLIST_ENTRY(VFIODevice) next;
    VFIOGroup *group;
    char *name;                   /* host address, e.g. 0000:05:00.0 */
    int fd;
    bool reset_works;
    uint32_t irqs_enabled;        /* BIT(index) of each index the host runs */
    unsigned int num_regions;
    unsigned int num_irqs;
} VFIODevice;

struct VFIOGroup {
    int fd;
    int groupid;
    VFIOContainer *container;
    QLIST_HEAD(, VFIODevice) device_list;
    QLIST_ENTRY(VFIOGroup) next;
    QLIST_ENTRY(VFIOGroup) container_next;
};

/* The group this QEMU holds open, or NULL */
VFIOGroup *vfio_find_group(int groupid);
VFIOGroup *vfio_get_group(int groupid, Error **errp);
void vfio_put_group(VFIOGroup *group);
VFIODevice *vfio_find_device(VFIOGroup *group, const char *name);
bool vfio_get_device(VFIOGroup *group, const char *name, VFIODevice *vbasedev,
                     Error **errp);
void vfio_put_base_device(VFIODevice *vbasedev);
bool vfio_get_region_info(VFIODevice *vbasedev, int index,
                          struct vfio_region_info *info, Error **errp);
/* The region's info with its capability chain, for g_free() */
struct vfio_region_info *vfio_get_region_info_caps(VFIODevice *vbasedev,
                                                   int index, Error **errp);
/*
 * Capability @id of @info's chain, when at least @min_size bytes of it lie
 * within @info; NULL when there is none, or the chain is broken before.
 */
struct vfio_info_cap_header *vfio_region_info_cap(
    const struct vfio_region_info *info, uint16_t id, size_t min_size);

int vfio_set_irq_fds(VFIODevice *vbasedev, int index, int start, int count,
                     const int32_t *fds);
int vfio_set_irq_action(VFIODevice *vbasedev, int index, int start,
                        uint32_t action);
void vfio_disable_irqindex(VFIODevice *vbasedev, int index);
bool vfio_irqindex_resizable(VFIODevice *vbasedev, int index);

/* Assigned devices cannot migrate; migration/target.c asks anyway. */
bool vfio_mig_active(void);
int64_t vfio_mig_bytes_transferred(void);

#endif /* HW_VFIO_VFIO_COMMON_H */
