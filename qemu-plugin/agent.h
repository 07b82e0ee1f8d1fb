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
    bool held;         /* a running job owns the engine (its buffer, its transfers) */
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

/* dma.c: requests that drive DMA engines (dma, storm, msi) run as jobs, a
 * bounded step at a time, so that one client's storm does not hold up the
 * others' requests. A job owns its engines from its first step to its end:
 * nobody else's transfer or pattern load can touch their buffers meanwhile. */
typedef struct Job Job;

/* Resolves and checks r's engines. NULL, with the ERR line in out, if r
 * cannot run; nothing reaches qtest either way. */
Job *job_new(Agent *a, const Request *r, unsigned client, GString *out);
/* The engines the job needs (all of them free before its first step). */
unsigned job_engines(const Job *j, AgentDevice *const **devs);
/* Takes the engines; the caller checked that they are free. */
void job_start(Job *j);
bool job_started(const Job *j);
/* One step: a few qtest round trips, well under a millisecond unless QEMU
 * stalls (each is bounded). True when the job is finished: its reply is
 * then in out. */
bool job_step(Agent *a, Job *j, GString *out);
/* The client is gone: start no new transfer, let those in flight finish (and
 * be logged), then end. */
void job_cancel(Job *j);
/* Releases the engines. */
void job_free(Job *j);

/* inventory.c */
int units_probe(Agent *a);
void inventory_write(const Agent *a, GString *out);

/* dispatch.c: executes one request; appends data lines and the final line. */
void reply_error(GString *out, int rc, const char *msg);
/* True (and the ERR line in out) if the board cannot take requests of r's kind. */
bool dispatch_refused(const Agent *a, const Request *r, GString *out);
/* Requests that need a DMA engine run as jobs (above), not through dispatch(). */
bool request_is_job(const Request *r);
/* An engine by name or BB:DD.F; NULL with *rc and err set if none. */
AgentDevice *agent_engine(Agent *a, const char *name, char *err, size_t n, int *rc);
void dispatch(Agent *a, const Request *r, GString *out, bool *subscribe_change, bool *subscribed);

#endif
