/* The scenario runner's checks of a record's other fields and of the
 * service's counters (runner-expect.c; docs/scenarios.md: expect-fault
 * FIELD=VALUE, expect-counters), for runner.c alone. Values are
 * expect-value.h's: per board where the hardware differs. */
#ifndef TB_RUNNER_EXPECT_H
#define TB_RUNNER_EXPECT_H

#include <stdbool.h>

#include "runner-base.h"

/* The client named by expect-fault's from=CLIENT among fields, or NULL:
 * the runner's monitor. */
const char *rn_fault_from(char **fields);

/* A record as the client printed it ("fault device=... repeat=N ...")
 * against fields' repeat=, dropped=, reason=, reason-name= (others are
 * skipped); fails the step naming the field, what was expected on this
 * board and what came. fields may be NULL (nothing more to check). */
bool rn_check_fields(Run *r, const char *rec, char **fields);

/* expect-counters [CLIENT] KEY=VALUE ...: the service's counters and a
 * client's queue, as the client (or the runner's monitor) reads them. */
bool rn_step_counters(Run *r, char **w);

#endif
