/* Puts a started board back into the state it started in, so that a
 * scenario runner can play the next scenario on it instead of starting
 * QEMU again (docs/scenarios.md "Boards kept between scenarios"). */
#ifndef TB_BOARD_RESET_H
#define TB_BOARD_RESET_H

#include <glib.h>

#include "launcher.h"

#define TB_RESET_TIMEOUT_MS 5000

/* The board's inventory (the agent's "info" lines), to compare a reset
 * board against the one it was at start. Caller frees. */
char *tb_board_inventory_text(const TbBoard *b, GError **err);

/* With no client of the agent left (the service, the clients and VMs of the
 * last scenario are gone): zeroes the RAM file, resets the machine (QMP
 * system_reset: every device, the IOMMU models included), has the agent redo
 * its PCI bring-up, and empties every edu engine's buffer, which QEMU's
 * reset leaves as it was. want: the inventory at start (NULL: not checked);
 * a board whose inventory then differs is an error. Every wait is bounded
 * (TB_RESET_TIMEOUT_MS). On error the board is not fit for reuse: stop it. */
int tb_board_reset(TbBoard *b, const char *want, GError **err);

#endif
