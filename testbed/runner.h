/* Plays one scenario on one board: a fresh run directory, the board, the
 * service and the clients up, the steps played and checked (VMs and their
 * guests' services started by steps), everything torn down, guests first,
 * the board last. docs/scenarios.md says what each step checks. */
#ifndef TB_RUNNER_H
#define TB_RUNNER_H

#include <stdbool.h>

#include "report.h"
#include "scenario.h"

typedef struct {
    const char *build_dir;   /* where smmuman, smmuctl, the support libraries and platform modules are
                              * (the service gets SMMU_HW_DIR=build_dir) */
    const char *client;      /* smmu-client: the test bed's own, whichever service it drives */
    const char *qvm;         /* smmu-qvm: the VM model, the test bed's own likewise */
    bool keep;               /* leave the run directory */
    unsigned seed;
    bool narrate;            /* print each step and its outcome as it happens (scripts/demo) */
} RunOptions;

/* Boards "any" stands for: those with a unit whose support library is built. */
char **runner_boards_for(const Scenario *s, const RunOptions *opt);
/* Plays s on board; the result (never NULL) says pass or fail and why. */
ReportScenario *runner_play(const Scenario *s, const char *board, const RunOptions *opt);

#endif
