/* The board inventory as the agent's "info" reports it, parsed. */
#ifndef TB_INVENTORY_H
#define TB_INVENTORY_H

#include <stdbool.h>
#include <stdint.h>

#include "agent-client.h"

#define TB_INV_MAX_UNITS   4
#define TB_INV_MAX_DEVICES 64

#define TB_INV_MAX_IRQS 8

typedef struct {
    char name[32], kind[16];
    uint64_t base, size;
    unsigned n_irqs;
    char irq_names[TB_INV_MAX_IRQS][16];
    unsigned irqs[TB_INV_MAX_IRQS];
} TbInvUnit;

typedef struct {
    char name[32], bdf[16];
    uint16_t vendor, device;
    bool is_edu;
    uint64_t bar0, bar0_size;
    unsigned rid;
    int intx; /* -1 if none */
} TbInvDevice;

typedef struct {
    char board[64], arch[32], ram_file[4096], dma_log[4096];
    uint64_t ram_base, ram_size, pool_base, pool_size, stage_base;
    unsigned n_units, n_devices;
    TbInvUnit units[TB_INV_MAX_UNITS];
    TbInvDevice devices[TB_INV_MAX_DEVICES];
} TbInventory;

int tb_inventory_parse(const TbReply *r, TbInventory *inv, GError **err);
int tb_inventory_fetch(TbAgent *ag, TbInventory *inv, GError **err);
const TbInvDevice *tb_inventory_device(const TbInventory *inv, const char *name);
unsigned tb_inventory_count_edu(const TbInventory *inv);

#endif
