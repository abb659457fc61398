/*
 * VFIO: the user-creatable iommufd object
 *
 *     -object iommufd,id=ID[,fd=FD]
 *
 * opens /dev/iommu, or takes an fd of it that a management layer opened
 * (a number, or the name of an fd passed with getfd), for the devices that
 * name it with iommufd=ID.  Their IOAS and DMA maps live in iommufd.c.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"

#include "hw/vfio/vfio-common.h"
#include "hw/vfio/vfio-iommufd.h"
#include "qapi/error.h"
#include "qom/object_interfaces.h"
#include "trace.h"

static void vfio_iommufd_set_fd(Object *obj, const char *str, Error **errp)
{
    IOMMUFDBackend *be = IOMMUFD_BACKEND(obj);

    vfio_set_fd_param(&be->fd, str, "iommufd", be->complete, errp);
}

static void vfio_iommufd_complete(UserCreatable *uc, Error **errp)
{
    ERRP_GUARD();
    IOMMUFDBackend *be = IOMMUFD_BACKEND(uc);

    if (be->fd >= 0) {
        trace_vfio_iommufd_backend(be->fd, "passed");
        be->complete = true;
        return;
    }
    be->fd = qemu_open("/dev/iommu", O_RDWR, errp);
    if (be->fd < 0) {
        int err = errno;

        error_prepend(errp, "iommufd %s: ",
                      object_get_canonical_path_component(OBJECT(uc)));
        if (err == ENOENT) {
            error_append_hint(errp, "The host kernel has no iommufd "
                              "(CONFIG_IOMMUFD): use the legacy backend, "
                              "without -object iommufd and iommufd=.\n");
        } else if (err == EACCES || err == EPERM) {
            error_append_hint(errp, "QEMU needs read/write permission on "
                              "/dev/iommu, or an fd of it (fd=).\n");
        }
        return;
    }
    trace_vfio_iommufd_backend(be->fd, "opened");
    be->complete = true;
}

static bool vfio_iommufd_can_be_deleted(UserCreatable *uc)
{
    return !IOMMUFD_BACKEND(uc)->users;
}

static void vfio_iommufd_instance_init(Object *obj)
{
    IOMMUFD_BACKEND(obj)->fd = -1;
}

static void vfio_iommufd_instance_finalize(Object *obj)
{
    IOMMUFDBackend *be = IOMMUFD_BACKEND(obj);

    if (be->fd >= 0) {
        close(be->fd);
    }
}

static void vfio_iommufd_class_init(ObjectClass *oc, void *data)
{
    UserCreatableClass *ucc = USER_CREATABLE_CLASS(oc);

    ucc->complete = vfio_iommufd_complete;
    ucc->can_be_deleted = vfio_iommufd_can_be_deleted;
    object_class_property_add_str(oc, "fd", NULL, vfio_iommufd_set_fd);
    object_class_property_set_description(oc, "fd", "an open fd of "
                                          "/dev/iommu, instead of opening it");
}

static const TypeInfo vfio_iommufd_info = {
    .name = TYPE_IOMMUFD_BACKEND,
    .parent = TYPE_OBJECT,
    .instance_size = sizeof(IOMMUFDBackend),
    .instance_init = vfio_iommufd_instance_init,
    .instance_finalize = vfio_iommufd_instance_finalize,
    .class_init = vfio_iommufd_class_init,
    .interfaces = (InterfaceInfo[]) {
        { TYPE_USER_CREATABLE },
        { }
    },
};

static void vfio_iommufd_register_types(void)
{
    type_register_static(&vfio_iommufd_info);
}

type_init(vfio_iommufd_register_types)
