/* How the scenario runner (runner.h) plays: the programs it starts, what
 * it keeps and what it prints. A header of its own: the runner's lower
 * files (runner-base.c, runner-vm.c) read these options, and runner.h is
 * the runner's top, runner.c's. */
#ifndef TB_RUNNER_OPTIONS_H
#define TB_RUNNER_OPTIONS_H

#include <stdbool.h>

typedef struct {
    const char *build_dir;   /* where smmuman, smmuctl, the support libraries and platform modules are
                              * (the service gets SMMU_HW_DIR=build_dir) */
    const char *client;      /* smmu-client: the test bed's own, whichever service it drives */
    const char *qvm;         /* smmu-qvm: the VM model, the test bed's own likewise */
    bool keep;               /* leave the run directory */
    bool reuse_boards;       /* keep a started board per thread and board name, reset between
                              * scenarios (runner.h); never with keep */
    unsigned seed;
    bool narrate;            /* print each step and its outcome as it happens (scripts/demo) */
} RunOptions;

#endif
