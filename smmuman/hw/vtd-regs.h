/* Moved to include/hw/vtd-regs.h, shared with the board agent (include it as
 * "hw/vtd-regs.h" through meson's hw_inc). This forward remains only for the
 * files outside the support libraries that still include it by its old
 * path (smmuman/lib/reasons.c, testbed/tests/test-board.c); remove it once
 * they include "hw/vtd-regs.h". */
#include "../../include/hw/vtd-regs.h"
