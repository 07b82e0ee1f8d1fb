/* PCI configuration space, as the agent uses it for firmware-style bring-up. */
#ifndef AGENT_PCI_REGS_H
#define AGENT_PCI_REGS_H

#define PCI_VENDOR_ID         0x00
#define PCI_DEVICE_ID         0x02
#define PCI_COMMAND           0x04
#define PCI_COMMAND_MEMORY    0x0002
#define PCI_COMMAND_MASTER    0x0004
#define PCI_STATUS            0x06
#define PCI_STATUS_CAP_LIST   0x0010
#define PCI_CLASS_REVISION    0x08 /* class code in bits 31:8 */
#define PCI_HEADER_TYPE       0x0e
#define PCI_HEADER_TYPE_MASK  0x7f
#define PCI_HEADER_MULTIFUNC  0x80
#define PCI_BAR0              0x10
#define PCI_NUM_BARS          6
#define PCI_BAR_END           0x28
#define PCI_BAR_IO            0x1
#define PCI_BAR_MEM_TYPE_MASK 0x6
#define PCI_BAR_MEM_TYPE_64   0x4
#define PCI_BAR_MEM_MASK      (~0xfULL)
#define PCI_CAP_PTR           0x34
#define PCI_CAP_ID_MSI        0x05

/* MSI capability, relative to its offset */
#define PCI_MSI_FLAGS         0x02
#define PCI_MSI_FLAGS_ENABLE  0x0001
#define PCI_MSI_FLAGS_64BIT   0x0080
#define PCI_MSI_ADDRESS_LO    0x04
#define PCI_MSI_ADDRESS_HI    0x08
#define PCI_MSI_DATA_32       0x08
#define PCI_MSI_DATA_64       0x0c

/* Legacy configuration mechanism #1 (x86 I/O ports) */
#define PCI_CONF1_ADDRESS_PORT 0xcf8
#define PCI_CONF1_DATA_PORT    0xcfc
#define PCI_CONF1_ENABLE       0x80000000u

/* q35 MCH (00:00.0): PCIEXBAR enables ECAM at the given base (256 buses). */
#define Q35_MCH_PCIEXBAR       0x60
#define Q35_PCIEXBAR_ENABLE    0x1

/* ECAM: one 4 KiB config page per function */
#define PCI_ECAM_OFFSET(bdf, off) (((uint64_t)(bdf) << 12) + (off))

#endif
