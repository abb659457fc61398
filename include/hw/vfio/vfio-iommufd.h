/*
 * VFIO: the iommufd object (-object iommufd) and the kernel interface of
 * /dev/iommu and of vfio device cdevs
 *
 * QEMU 7.2's linux-headers predate both, so the few definitions we use are
 * given here, as the kernel's uapi headers (linux/iommufd.h, linux/vfio.h
 * of Linux 6.6 and later) define them.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VFIO_VFIO_IOMMUFD_H
#define HW_VFIO_VFIO_IOMMUFD_H

#include "qom/object.h"
#include <linux/ioctl.h>
#include <linux/types.h>
#include <linux/vfio.h>

#define TYPE_IOMMUFD_BACKEND "iommufd"
OBJECT_DECLARE_SIMPLE_TYPE(IOMMUFDBackend, IOMMUFD_BACKEND)

/* /dev/iommu (or the fd given for it), shared by the devices that name it */
struct IOMMUFDBackend {
    Object parent_obj;
    int fd;                       /* -1 until complete */
    unsigned int users;           /* devices bound to it */
    bool complete;                /* fd is live: it no longer changes */
    bool no_map_file;             /* the kernel has no IOMMU_IOAS_MAP_FILE */
};

#ifndef IOMMUFD_TYPE
#define IOMMUFD_TYPE (';')

struct iommu_destroy {
    __u32 size;
    __u32 id;
};
#define IOMMU_DESTROY               _IO(IOMMUFD_TYPE, 0x80)

struct iommu_ioas_alloc {
    __u32 size;
    __u32 flags;
    __u32 out_ioas_id;
};
#define IOMMU_IOAS_ALLOC            _IO(IOMMUFD_TYPE, 0x81)

struct iommu_iova_range {
    __aligned_u64 start;
    __aligned_u64 last;
};

struct iommu_ioas_iova_ranges {
    __u32 size;
    __u32 ioas_id;
    __u32 num_iovas;
    __u32 __reserved;
    __aligned_u64 allowed_iovas;
    __aligned_u64 out_iova_alignment;
};
#define IOMMU_IOAS_IOVA_RANGES      _IO(IOMMUFD_TYPE, 0x84)

#define IOMMU_IOAS_MAP_FIXED_IOVA   (1 << 0)
#define IOMMU_IOAS_MAP_WRITEABLE    (1 << 1)
#define IOMMU_IOAS_MAP_READABLE     (1 << 2)

struct iommu_ioas_map {
    __u32 size;
    __u32 flags;
    __u32 ioas_id;
    __u32 __reserved;
    __aligned_u64 user_va;
    __aligned_u64 length;
    __aligned_u64 iova;
};
#define IOMMU_IOAS_MAP              _IO(IOMMUFD_TYPE, 0x85)

struct iommu_ioas_unmap {
    __u32 size;
    __u32 ioas_id;
    __aligned_u64 iova;
    __aligned_u64 length;
};
#define IOMMU_IOAS_UNMAP            _IO(IOMMUFD_TYPE, 0x86)
#endif /* IOMMUFD_TYPE */

/* Linux 6.13: maps a memfd's (or hugetlbfs file's) range by the file */
#ifndef IOMMU_IOAS_MAP_FILE
struct iommu_ioas_map_file {
    __u32 size;
    __u32 flags;
    __u32 ioas_id;
    __s32 fd;
    __aligned_u64 start;
    __aligned_u64 length;
    __aligned_u64 iova;
};
#define IOMMU_IOAS_MAP_FILE         _IO(IOMMUFD_TYPE, 0x8f)
#endif

#ifndef VFIO_DEVICE_BIND_IOMMUFD
struct vfio_device_bind_iommufd {
    __u32 argsz;
    __u32 flags;
    __s32 iommufd;
    __u32 out_devid;
};
#define VFIO_DEVICE_BIND_IOMMUFD        _IO(VFIO_TYPE, VFIO_BASE + 18)

struct vfio_device_attach_iommufd_pt {
    __u32 argsz;
    __u32 flags;
    __u32 pt_id;
};
#define VFIO_DEVICE_ATTACH_IOMMUFD_PT   _IO(VFIO_TYPE, VFIO_BASE + 19)

struct vfio_device_detach_iommufd_pt {
    __u32 argsz;
    __u32 flags;
};
#define VFIO_DEVICE_DETACH_IOMMUFD_PT   _IO(VFIO_TYPE, VFIO_BASE + 20)

/* In VFIO_DEVICE_GET_PCI_HOT_RESET_INFO of a device bound to iommufd */
#define VFIO_PCI_HOT_RESET_FLAG_DEV_ID          (1 << 0)
#define VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED    (1 << 1)
#define VFIO_PCI_DEVID_OWNED                    0
#define VFIO_PCI_DEVID_NOT_OWNED                (-1)
#endif /* VFIO_DEVICE_BIND_IOMMUFD */

#endif /* HW_VFIO_VFIO_IOMMUFD_H */
