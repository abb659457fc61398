/* Stands in for QEMU's hw/pci/pci_regs.h in the stand-alone (meson) build. */
#ifndef HW_PCI_PCI_REGS_H
#define HW_PCI_PCI_REGS_H

#include <linux/pci_regs.h>

#endif
