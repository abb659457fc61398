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
#include "qapi/qapi-types-common.h"
#include "qemu/queue.h"
#include "qemu/uuid.h"
#include <linux/vfio.h>

#define VFIO_MSG_PREFIX "vfio %s: "

/*
 * What QEMU 7.2's linux-headers lack of migration v2 (Linux 6.2 and
 * later): pre-copy, the stop-copy size, and the device's own DMA logging,
 * as the kernel's uapi linux/vfio.h defines them.
 */
#ifndef VFIO_MIGRATION_PRE_COPY
#define VFIO_MIGRATION_PRE_COPY             (1 << 2)
#define VFIO_DEVICE_STATE_PRE_COPY          6
#define VFIO_DEVICE_STATE_PRE_COPY_P2P      7

struct vfio_precopy_info {
    __u32 argsz;
    __u32 flags;
    __aligned_u64 initial_bytes;
    __aligned_u64 dirty_bytes;
};
#define VFIO_MIG_GET_PRECOPY_INFO           _IO(VFIO_TYPE, VFIO_BASE + 21)

struct vfio_device_feature_dma_logging_control {
    __aligned_u64 page_size;
    __u32 num_ranges;
    __u32 __reserved;
    __aligned_u64 ranges;
};

struct vfio_device_feature_dma_logging_range {
    __aligned_u64 iova;
    __aligned_u64 length;
};
#define VFIO_DEVICE_FEATURE_DMA_LOGGING_START   6
#define VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP    7

struct vfio_device_feature_dma_logging_report {
    __aligned_u64 iova;
    __aligned_u64 length;
    __aligned_u64 page_size;
    __aligned_u64 bitmap;
};
#define VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT  8

struct vfio_device_feature_mig_data_size {
    __aligned_u64 stop_copy_length;
};
#define VFIO_DEVICE_FEATURE_MIG_DATA_SIZE       9
#endif

typedef struct VFIOContainer VFIOContainer;
typedef struct VFIODevice VFIODevice;
typedef struct VFIOGroup VFIOGroup;
typedef struct IOMMUFDBackend IOMMUFDBackend;
typedef struct VFIOMigration VFIOMigration;
typedef struct VFIOGuestIOMMU VFIOGuestIOMMU;
typedef struct VFIORamDiscardListener VFIORamDiscardListener;
typedef struct VFIODMAWorker VFIODMAWorker;

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
    /* @perm: IOMMU_RO, IOMMU_WO or IOMMU_RW, as the device may access */
    int (*dma_map)(VFIOContainer *container, hwaddr iova, uint64_t size,
                   void *vaddr, IOMMUAccessFlags perm);
    int (*dma_unmap)(VFIOContainer *container, hwaddr iova, uint64_t size);
    /* Maps [@start, @start + @size) of file @fd; NULL where it cannot */
    int (*dma_map_file)(VFIOContainer *container, hwaddr iova, uint64_t size,
                        int fd, uint64_t start, IOMMUAccessFlags perm);
    /* Dirty tracking of the DMA maps; NULL where the backend has none */
    int (*set_dirty_tracking)(VFIOContainer *container, bool start);
    /* @bitmap: one bit per @pgsize page of [@iova, @iova + @size) */
    int (*query_dirty_bitmap)(VFIOContainer *container, hwaddr iova,
                              uint64_t size, uint64_t pgsize,
                              uint64_t *bitmap);
    /* Device memory (other devices' BAR mmaps) can be mapped: P2P DMA */
    bool maps_device_memory;
    /* Maps of disjoint ranges pin at once (type1 locks across a map) */
    bool pins_in_parallel;
    /* The IOVA ranges the host IOMMU can map, as an array of Range */
    GArray *(*iova_ranges)(VFIOContainer *container);
    /* How many more maps the host takes, -1 if it does not count them */
    int64_t (*dma_maps_left)(VFIOContainer *container);
    /*
     * The /proc/PID/status field that counts what the kernel has charged
     * against RLIMIT_MEMLOCK for the pins: type1 adds them to the locked
     * memory (with mlock's), iommufd to the pinned memory.
     */
    const char *pin_charge;
} VFIOIOMMUOps;

/* An IOMMU address space that mirrors guest RAM, whatever the backend */
struct VFIOContainer {
    const VFIOIOMMUOps *ops;
    AddressSpace *as;
    MemoryListener listener;      /* mirrors guest RAM into the DMA maps */
    bool replaying;               /* mapping the RAM that already exists */
    Error *listener_error;        /* first map failure then, for realize */
    GHashTable *mappings;         /* iova -> size of each live map */
    VFIODMAWorker *dma_worker;    /* pins guest RAM behind the VM's back */
    /* A map the worker could not make: the listener says it, stops the VM */
    void (*map_failed)(VFIOContainer *container, hwaddr iova, uint64_t size,
                       int err, const char *mr_name);
    uint64_t dirty_pgsizes;       /* pages the backend can track, 0 if none */
    uint64_t max_dirty_bitmap_size; /* bytes of one bitmap query, at most */
    bool dirty_tracking;          /* on, while migration logs dirty RAM */
    bool dirty_by_devices;        /* the devices' own DMA logging does it */
    bool dirty_sync_failed;       /* reported once per migration */
    GArray *dirty_ranges;         /* what the devices were told to log */
    GHashTable *dirty_all;        /* iovas to sync wholly dirty, once */
    GHashTable *dirty_stopped;    /* iovas sent whole, unread, since a stop */
    bool dirty_logging_lost;      /* a restart failed: all RAM is dirty */
    bool unaligned_reported;      /* a RAM section no page can map: said */
    GHashTable *p2p_reported;     /* the BARs P2P cannot reach: said */
    uint32_t guest_map_reported;  /* guest IOMMU map failures said (viommu.c) */
    QLIST_HEAD(, VFIODevice) device_list;
    QLIST_HEAD(, VFIOGuestIOMMU) giommu_list; /* behind a guest IOMMU */
    QLIST_HEAD(, VFIORamDiscardListener) rdl_list; /* virtio-mem memory */
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
    bool dma_logging;             /* logs its own DMA (migration) */
    DeviceState *dev;             /* the device model's, for migration */
    OnOffAuto enable_migration;   /* the property */
    bool ram_discard_allowed;     /* x-balloon-allowed: pins on demand */
    QemuUUID vf_token;            /* vf-token: the PF's VF token, or null */
    /* x-pre-copy-dirty-page-tracking: off syncs only once stopped */
    OnOffAuto pre_copy_dirty_page_tracking;
    /* x-device-dirty-page-tracking: false never uses DMA logging */
    bool device_dirty_page_tracking;
    bool migration_events;        /* VFIO_MIGRATION on each state change */
    VFIOMigration *migration;     /* while it can migrate */
    Error *migration_blocker;     /* while it cannot */
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
/* "0000:00:02.0, 0000:00:04.0": the devices that DMA through @container */
char *vfio_container_devices(VFIOContainer *container);
/* Takes the device info of the open vbasedev->fd; fails a non-PCI one */
bool vfio_check_device_info(VFIODevice *vbasedev, Error **errp);
void vfio_kvm_file_op(int fd, bool add);
/*
 * VFIO_DEVICE_FEATURE: @flags (GET, SET or PROBE with the feature's
 * number) and its @size bytes of @data, in and out; 0 or -errno.
 */
int vfio_device_feature(VFIODevice *vbasedev, uint32_t flags, void *data,
                        size_t size);
/*
 * Takes the fd that @str names (a number, or a name given to the monitor's
 * getfd) into *@fd, closing the one there before; @what names the option.
 * Once @in_use (the object created, the device realized) it is refused:
 * the fd there is live.
 */
/* What the sysfs link @dir/@name names (a driver, a PF), or NULL */
char *vfio_sysfs_link_name(const char *dir, const char *name);
bool vfio_set_fd_param(int *fd, const char *str, const char *what,
                       bool in_use, Error **errp);

/* vf-token.c: the VF token of SR-IOV devices */
/* Whether vf-token was given (the null UUID is none) */
bool vfio_vf_token_given(VFIODevice *vbasedev);
/* What VFIO_GROUP_GET_DEVICE_FD matches: the name, and any token */
char *vfio_vf_token_device_name(VFIODevice *vbasedev);
/*
 * Why the kernel refused to open @vbasedev (errno @err, on the @cdev
 * path or the group's), where the VF token is the reason; false, with
 * @errp untouched, where it is not.
 */
bool vfio_vf_token_error(VFIODevice *vbasedev, int err, bool cdev,
                         Error **errp);
/* vf-token=UUID, refusing anything else with the form it needs */
extern const PropertyInfo vfio_prop_vf_token;

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
/* Whether the backend itself tracks the pages DMA writes (type1) */
bool vfio_container_tracks_dirty(VFIOContainer *container);
/* Joins @vbasedev to the devices that DMA through @container */
void vfio_container_add_device(VFIOContainer *container,
                               VFIODevice *vbasedev);
void vfio_container_del_device(VFIODevice *vbasedev);

/*
 * dma-map.c: the maps of a container, each undone as it was made; guest
 * RAM (of @mr) may be mapped in the background, and whatever lets a
 * device reach memory waits for it first (vfio_container_dma_wait)
 */
int vfio_container_dma_map(VFIOContainer *container, hwaddr iova,
                           uint64_t size, void *vaddr, bool readonly);
int vfio_container_dma_map_ram(VFIOContainer *container, hwaddr iova,
                               uint64_t size, void *vaddr, bool readonly,
                               MemoryRegion *mr);
int vfio_container_dma_unmap(VFIOContainer *container, hwaddr iova);
void vfio_container_dma_wait(VFIOContainer *container);
/* Waits for the worker and ends it, before the container goes */
void vfio_container_dma_finish(VFIOContainer *container);

/*
 * ram-discard.c: the RAM sections of the listener whose manager (virtio-mem)
 * plugs blocks, each plugged block mapped on its own; the first failure
 * while @realizing fails the caller
 */
bool vfio_ram_discard_region_add(VFIOContainer *container,
                                 MemoryRegionSection *section,
                                 bool realizing, Error **errp);
void vfio_ram_discard_region_del(VFIOContainer *container,
                                 MemoryRegionSection *section);
/* The size of one block (and map) of @section, 0 if it has no manager */
uint64_t vfio_ram_discard_granularity(MemoryRegionSection *section);

/* viommu.c: the IOMMU sections of the listener, behind a guest IOMMU */
bool vfio_viommu_region_add(VFIOContainer *container,
                            MemoryRegionSection *section, Error **errp);
void vfio_viommu_region_del(VFIOContainer *container,
                            MemoryRegionSection *section);
/* Whether DMA in @as goes through a guest IOMMU */
bool vfio_viommu_present(AddressSpace *as);
/* Whether the guest IOMMU of @as (if any) can tell an assigned device */
bool vfio_viommu_check(AddressSpace *as, Error **errp);

bool vfio_get_region_info(VFIODevice *vbasedev, int index,
                          struct vfio_region_info *info, Error **errp);
/* The region's info with its capability chain, for g_free() */
struct vfio_region_info *vfio_get_region_info_caps(VFIODevice *vbasedev,
                                                   int index, Error **errp);
/* A device-specific region by its type capability, for g_free(); or NULL */
struct vfio_region_info *vfio_get_dev_region_info(VFIODevice *vbasedev,
                                                  uint32_t type,
                                                  uint32_t subtype);
/*
 * Capability @id of @info's chain, when at least @min_size bytes of it lie
 * within @info; NULL when there is none, or the chain is broken before.
 */
struct vfio_info_cap_header *vfio_region_info_cap(
    const struct vfio_region_info *info, uint16_t id, size_t min_size);
/* The same in any info struct: @argsz bytes, the chain from @off */
struct vfio_info_cap_header *vfio_info_cap(const void *info, uint32_t argsz,
                                           uint32_t off, size_t head_size,
                                           uint16_t id, size_t min_size);

int vfio_set_irq_fds(VFIODevice *vbasedev, int index, int start, int count,
                     const int32_t *fds);
int vfio_set_irq_action(VFIODevice *vbasedev, int index, int start,
                        uint32_t action);
void vfio_disable_irqindex(VFIODevice *vbasedev, int index);
bool vfio_irqindex_resizable(VFIODevice *vbasedev, int index);

/*
 * migration.c: makes @vbasedev migratable, or blocks migration with the
 * reason it cannot be; false (with that reason) for enable-migration=on.
 */
bool vfio_migration_realize(VFIODevice *vbasedev, Error **errp);
void vfio_migration_exit(VFIODevice *vbasedev);
/* Whether a device migrates now, and its bytes so far (query-migrate) */
bool vfio_mig_active(void);
int64_t vfio_mig_bytes_transferred(void);

#endif /* HW_VFIO_VFIO_COMMON_H */
