/* An expected value in a scenario's check (docs/scenarios.md: expect-fault's
 * record fields, expect-counters): what the hardware gives may differ per
 * board, so a value is one or more alternatives, separated by ',', each
 * optionally for one board or one IOMMU kind:
 *
 *   1023                  a number (decimal or 0x hex)
 *   1..64                 a range, both ends included
 *   vtd:0,smmuv3:1023     per IOMMU kind (the board's unit) or board name
 *   F_PERMISSION          a name (reason-name=), per board likewise
 *
 * The first alternative without a qualifier, or whose qualifier is the
 * board's name or its unit's kind, is the one checked; none: the scenario
 * says nothing for this board, which is a failure (a scenario on `board
 * any` must say what every board gives). */
#ifndef TB_EXPECT_VALUE_H
#define TB_EXPECT_VALUE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

/* The text is well formed: numbers (or ranges lo <= hi) when numeric,
 * names (letters, digits, '_', '-') otherwise; qualifiers are names.
 * false with why (what is wrong, for FILE:LINE messages). */
bool ev_valid(const char *text, bool numeric, char *why, size_t cap);

/* The alternative for this board (board name, unit kind, either may be
 * NULL), into buf without its qualifier; false when none applies. */
bool ev_for_board(const char *text, const char *board, const char *kind, char *buf, size_t cap);

/* A number against an alternative ("N" or "LO..HI"); a name against a name. */
bool ev_num_matches(const char *alt, uint64_t x);
bool ev_name_matches(const char *alt, const char *name);

#endif
