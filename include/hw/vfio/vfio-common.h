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

typedef struct VFIOContainer VFIOContainer;
typedef struct VFIODevice VFIODevice;
typedef struct VFIOGroup VFIOGroup;
typedef struct IOMMUFDBackend IOMMUFDBackend;

/*
 * An IOMMU backend: how a device reaches the host IOMMU and how the DMA
 * maps of its address space are made.  The legacy group/container (type1)
 * backend is in container.c, the cdev + iommufd one in iommufd.c; the
 * listener (listener.c) and the device code never ask which one runs.
 */
typedef struct VFIOIOMMUOps {
    const char *name;             /* for traces and messages */
    /* Opens the device, attaches it to a container of @as: vbasedev->fd */
    bool (*attach_device)(VFIODevice *vbasedev, AddressSpace *as,
                          Error **errp);
    void (*detach_device)(VFIODevice *vbasedev);
    int (*dma_map)(VFIOContainer *container, hwaddr iova, uint64_t size,
                   void *vaddr, bool readonly);
    int (*dma_unmap)(VFIOContainer *container, hwaddr iova, uint64_t size);
} VFIOIOMMUOps;

/* An IOMMU address space that mirrors guest RAM, whatever the backend */
struct VFIOContainer {
    const VFIOIOMMUOps *ops;
    AddressSpace *as;
    MemoryListener listener;      /* mirrors guest RAM into the DMA maps */
    bool replaying;               /* mapping the RAM that already exists */
    Error *listener_error;        /* first map failure then, for realize */
    GHashTable *mappings;         /* iova -> size of each live map */
    QLIST_HEAD(, VFIODevice) device_list;
};

/* What the backends and the listener need of an assigned device */
struct VFIODevice {
    QLIST_ENTRY(VFIODevice) next;             /* all devices */
    QLIST_ENTRY(VFIODevice) container_next;
    QLIST_ENTRY(VFIODevice) group_next;
    const VFIOIOMMUOps *ops;      /* chosen at realize */
    VFIOContainer *container;     /* while attached */
    VFIOGroup *group;             /* legacy backend */
    IOMMUFDBackend *iommufd;      /* iommufd backend (the property) */
    uint32_t devid;               /* iommufd's id of the bound device */
    char *name;                   /* e.g. 0000:05:00.0, or an mdev UUID */
    char *sysfsdev;               /* the device's sysfs directory */
    int fd;
    int passed_fd;                /* fd=, until attach takes it */
    bool reset_works;
    uint32_t irqs_enabled;        /* BIT(index) of each index the host runs */
    unsigned int num_regions;
    unsigned int num_irqs;
};

struct VFIOGroup {
    int fd;
    int groupid;
    struct VFIOLegacyContainer *container;
    QLIST_HEAD(, VFIODevice) device_list;
    QLIST_ENTRY(VFIOGroup) next;
    QLIST_ENTRY(VFIOGroup) container_next;
};

extern const VFIOIOMMUOps vfio_legacy_ops;
extern const VFIOIOMMUOps vfio_iommufd_ops;

/* device.c: attach and detach through the device's backend */
bool vfio_attach_device(VFIODevice *vbasedev, AddressSpace *as, Error **errp);
void vfio_detach_device(VFIODevice *vbasedev);
/* The assigned device named @name (a host address), or NULL */
VFIODevice *vfio_find_device(const char *name);
/* Takes the device info of the open vbasedev->fd; fails a non-PCI one */
bool vfio_check_device_info(VFIODevice *vbasedev, Error **errp);
void vfio_kvm_file_op(int fd, bool add);
/*
 * Takes the fd that @str names (a number, or a name given to the monitor's
 * getfd) into *@fd, closing the one there before; @what names the option.
 */
bool vfio_set_fd_param(int *fd, const char *str, const char *what,
                       Error **errp);

/* iommufd.c: the sysfs directory of the device whose cdev @fd is open */
char *vfio_cdev_sysfsdev(int fd, Error **errp);

/* container.c: the group this QEMU holds open, or NULL */
VFIOGroup *vfio_find_group(int groupid);

/* listener.c */
void vfio_container_init(VFIOContainer *container, const VFIOIOMMUOps *ops,
                         AddressSpace *as);
void vfio_container_destroy(VFIOContainer *container);
/*
 * Maps all current guest RAM, and keeps RAM discard off until stopped;
 * the first failure fails the caller.
 */
bool vfio_container_start_dma(VFIOContainer *container, Error **errp);
void vfio_container_stop_dma(VFIOContainer *container);
/* Joins @vbasedev to the devices that DMA through @container */
void vfio_container_add_device(VFIOContainer *container,
                               VFIODevice *vbasedev);
void vfio_container_del_device(VFIODevice *vbasedev);

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
