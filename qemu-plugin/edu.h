/* QEMU's "edu" educational PCI device, used as the boards' DMA engine.
 * Facts: ../shared/notes/qemu-10-hardware.md and QEMU hw/misc/edu.c. */
#ifndef AGENT_EDU_H
#define AGENT_EDU_H

#define EDU_VENDOR_ID       0x1234
#define EDU_DEVICE_ID       0x11e8
#define EDU_BAR_SIZE        0x100000u

/* Registers below 0x80 take 4-byte accesses only; the DMA ones 8-byte. */
#define EDU_REG_ID          0x00
#define EDU_ID_VALUE        0x010000edu
#define EDU_REG_LIVENESS    0x04 /* reads back the complement of the last write */
#define EDU_REG_IRQ_STATUS  0x24
#define EDU_REG_IRQ_RAISE   0x60
#define EDU_REG_IRQ_ACK     0x64
#define EDU_REG_DMA_SRC     0x80
#define EDU_REG_DMA_DST     0x88
#define EDU_REG_DMA_COUNT   0x90
#define EDU_REG_DMA_CMD     0x98
#define EDU_DMA_REGS_END    0xa0

#define EDU_DMA_CMD_RUN     0x1 /* cleared by the device when the transfer is done */
#define EDU_DMA_CMD_TO_RAM  0x2 /* direction: device buffer -> bus address */
#define EDU_DMA_CMD_IRQ     0x4

/* Interrupt status bit used for forged MSI writes (any non-zero value works). */
#define EDU_IRQ_FORGE       0x1000u

/* The device-side buffer. edu only logs a transfer outside it and then copies
 * past it into QEMU's own memory, so the agent must never let one through. */
#define EDU_BUF_DEVADDR     0x40000u
#define EDU_BUF_SIZE        4096u

#endif
