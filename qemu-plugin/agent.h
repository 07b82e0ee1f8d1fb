/* State of the board agent: one per QEMU process, owned by the agent thread.
 * Only that thread touches it, so nothing here is locked. */
#ifndef AGENT_AGENT_H
#define AGENT_AGENT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <glib.h>

#include "../testbed/board-def.h"
#include "pci-regs.h"
#include "qtest-link.h"
#include "request.h"

#define AGENT_MAX_DEVICES 64
#define AGENT_MAX_CLIENTS 64
#define AGENT_NO_IRQ      (-1)
/* Wall-clock bound on one DMA; a DMA normally takes well under 1 ms. */
#define AGENT_DMA_TIMEOUT_MS 5000

typedef struct {
    char name[REQ_DEV_NAME]; /* "edu0"... for engines, "BB:DD.F" otherwise */
    unsigned bdf;
    uint16_t vendor, device;
    uint32_t class_code;
    bool is_edu;
    uint64_t bar_base[PCI_NUM_BARS], bar_size[PCI_NUM_BARS];
    uint8_t msi_cap;   /* 0 = none */
    int intx;          /* input of the intercepted controller, or AGENT_NO_IRQ */
    bool maybe_busy;   /* a transfer may still run (started, not seen done) */
} AgentDevice;

typedef struct {
    bool present;
    uint64_t id;       /* VT-d VER, or SMMUv3 AIDR */
} AgentUnit;

typedef struct Agent {
    TbBoardDef def;
    QtLink qt;
    char bringup_error[256]; /* non-empty: every request fails with it */
    unsigned ndev;
    AgentDevice devs[AGENT_MAX_DEVICES];
    AgentUnit units[TB_MAX_UNITS];
    uint8_t irq_level[REQ_MAX_IRQ];
    int last_raised;   /* bring-up INTx probing */
    FILE *log;         /* JSON lines, one per injected DMA */
    uint64_t dma_seq;
    unsigned current_client; /* for the log */
    /* set by the server: where interrupt events go */
    void (*irq_event)(struct Agent *a, unsigned irq, bool raised);
    void *server;
} Agent;

/* pci.c */
int pci_cfg_read(Agent *a, unsigned bdf, unsigned off, unsigned size, uint64_t *val);
int pci_cfg_write(Agent *a, unsigned bdf, unsigned off, unsigned size, uint64_t val);
int pci_bringup(Agent *a);
AgentDevice *agent_find_device(Agent *a, const char *name);

/* dma.c */
int edu_dma(Agent *a, AgentDevice *d, bool to_ram, uint64_t bus_addr, uint64_t len,
            uint64_t offset, const char *purpose, char *err, size_t errlen);
int edu_storm(Agent *a, AgentDevice *const *devs, unsigned ndev, const Request *r,
              uint64_t *done, char *err, size_t errlen);
int edu_msi(Agent *a, const AgentDevice *d, uint64_t addr, uint16_t data, char *err,
            size_t errlen);

/* inventory.c */
int units_probe(Agent *a);
void inventory_write(const Agent *a, GString *out);

/* dispatch.c: executes one request; appends data lines and the final line. */
void reply_error(GString *out, int rc, const char *msg);
void dispatch(Agent *a, const Request *r, GString *out, bool *subscribe_change, bool *subscribed);

#endif
