/* Plays a list of scenario runs on a few threads and reports them the way
 * every run of smmu-scenario does (docs/scenarios.md "Running"): a
 * progress line (or TAP) per run as it finishes, its --events line, and,
 * once all are done, the JUnit and HTML reports and the events summary.
 * The suites (smmu-scenario.c) and the random campaigns (campaign-run.c)
 * differ only in what a run is, which their play function says. */
#ifndef TB_PLAY_POOL_H
#define TB_PLAY_POOL_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "report.h"

#define PLAY_POOL_MAX_JOBS 16

typedef struct {
    unsigned jobs;                     /* threads, 1..PLAY_POOL_MAX_JOBS (else 1) */
    bool tap;                          /* TAP on stdout instead of progress lines */
    const char *junit, *html, *events; /* report files, or NULL */
    const char *title;                 /* the HTML report's */
    uint64_t seed;                     /* for the events summary */
    void (*thread_end)(void);          /* each thread calls it before it ends (what it kept goes), or NULL */
} PlayPoolOptions;

/* What a play function says beyond its report. */
typedef struct {
    char *suffix;        /* after the progress line's time (", 48 steps"), or NULL */
    char *detail;        /* a further progress line (the shrunk file), or NULL */
    bool first_line;     /* print only the message's first line (the rest is for the reports) */
    bool stop;           /* play no further runs (those playing finish) */
} PlayNote;

/* Plays run i (of n) on one of the pool's threads, without its lock: the
 * report (the pool owns it from then on) and, in note, what to print. */
typedef ReportScenario *(*PlayFn)(void *ctx, guint i, PlayNote *note);

typedef struct {
    unsigned passed, failed;
    double seconds;
    guint first_failed;  /* the lowest i that failed; G_MAXUINT: none */
} PlayPoolResult;

/* 0: every played run passed; 1: some failed; 2: a report file could not be
 * written (said on stderr). Runs not played (stop) are in no report. */
int play_pool_run(const PlayPoolOptions *o, guint n, PlayFn play, void *ctx, PlayPoolResult *res);

#endif
