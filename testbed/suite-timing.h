/* smmu-scenario --timing FILE: a suite's speed as benchmark rows
 * (issue 12, row 7; the JSON-lines row contract of scripts/bench): per
 * board, the median scenario time with its p99 and the median of each
 * phase (board, service, clients, steps, teardown), and scenario runs per
 * minute of wall time. Appended, one JSON object per line. */
#ifndef TB_SUITE_TIMING_H
#define TB_SUITE_TIMING_H

#include <stdbool.h>

#include "report.h"

typedef struct {
    char *board;
    double seconds, phase[RP_PHASES];
    bool reused;
    bool passed;
} SuiteTime;

/* times[0..n): one per run; wall: the suite's seconds; jobs, reuse: how it ran. */
int suite_timing_write(const char *path, const SuiteTime *times, unsigned n, double wall, unsigned jobs, bool reuse);

#endif
