/* Plays one scenario on one board: a fresh run directory, the board, the
 * service and the clients up, the steps played and checked (VMs and their
 * guests' services started by steps), everything torn down, guests first,
 * the board last. docs/scenarios.md says what each step checks. */
#ifndef TB_RUNNER_H
#define TB_RUNNER_H

#include "report.h"
#include "runner-options.h" /* RunOptions */
#include "scenario.h"

/* Boards "any" stands for: those with a unit whose support library is built. */
char **runner_boards_for(const Scenario *s, const RunOptions *opt);
/* Plays s on board; the result (never NULL) says pass or fail and why. */
ReportScenario *runner_play(const Scenario *s, const char *board, const RunOptions *opt);
/* With opt->reuse_boards, runner_play keeps the calling thread's boards (one
 * per board name) between its scenarios, reset after each that passed (a
 * failed one's board is stopped); this stops them. Each thread calls it
 * before it ends: its boards die with it (launcher.c: PDEATHSIG). */
void runner_release_boards(void);

#endif
