/* The agent's request grammar (docs/board-protocol.md). Parsing is pure and
 * checks everything that does not depend on the board: a request that parses
 * is safe to turn into qtest lines once its device and addresses are resolved. */
#ifndef AGENT_REQUEST_H
#define AGENT_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edu.h"

#define AGENT_PROTOCOL_VERSION 1
#define REQ_MAX_LINE   16384 /* a 4 KiB "ram write" is 8 KiB of hex */
#define REQ_MAX_DEVS   8
#define REQ_DEV_NAME   32
#define REQ_MAX_STORM  100000u
#define REQ_MAX_IRQ    1024u

typedef enum {
    REQ_HELLO, REQ_HELP, REQ_INFO, REQ_QUIT,
    REQ_MMIO_READ, REQ_MMIO_WRITE,
    REQ_PCI_READ, REQ_PCI_WRITE,
    REQ_RAM_READ, REQ_RAM_WRITE,
    REQ_IRQ_SUBSCRIBE, REQ_IRQ_UNSUBSCRIBE, REQ_IRQ_LEVEL,
    REQ_DMA, REQ_STORM, REQ_MSI,
    REQ_BRINGUP,
} ReqKind;

typedef struct {
    ReqKind kind;
    uint64_t addr;     /* bus/physical address, or PCI config offset */
    uint64_t value;    /* register value, MSI data */
    uint64_t len;      /* bytes */
    uint64_t offset;   /* offset in the edu buffer */
    uint64_t count;    /* storm: number of DMAs */
    uint64_t stride;   /* storm: address step */
    unsigned size;     /* access width in bytes */
    unsigned bdf;
    unsigned irq;
    bool to_ram;       /* dma/storm direction: true = device writes RAM */
    unsigned ndev;
    char dev[REQ_MAX_DEVS][REQ_DEV_NAME];
    bool has_pattern;
    size_t data_len;   /* ram write bytes, or pattern bytes */
    uint8_t data[EDU_BUF_SIZE];
} Request;

/* Parses one line (without its newline). Returns 0, or a negative errno with
 * a one-line message naming the field in err. -ENOSYS for an unknown verb. */
int request_parse(const char *line, size_t len, Request *req, char *err, size_t errlen);

/* The "help" text, one line per entry, NUL-separated list ending in "". */
extern const char *const request_help[];

#endif
