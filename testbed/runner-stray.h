/* The end of a run: no fault record came that no step expected. */
#ifndef TB_RUNNER_STRAY_H
#define TB_RUNNER_STRAY_H

#include "runner-base.h"

/* Checks, through a record of the runner's own making (a sentinel), that
 * no record the steps did not expect is on its way to the host's monitor.
 * 1: none (the check is done); 0: one came (the run failed, saying which);
 * -1: no sentinel can be made here (no engine of nobody's, the service not
 * running, no IOMMU): the caller waits a fixed time instead. */
int rn_stray_records_sentinel(Run *r);

#endif
