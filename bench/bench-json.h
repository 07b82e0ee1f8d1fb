/* The row contract every benchmark program follows (scripts/bench says it in
 * full): given `--json FILE`, a program appends one JSON object per line to
 * FILE, so that several programs can add rows to the same file and
 * scripts/bench-report can print and document them all alike. */
#ifndef BENCH_JSON_H
#define BENCH_JSON_H

#include <math.h>
#include <stdbool.h>

typedef struct {
    const char *name;   /* stable identifier, e.g. "pt_map vtd 4K x256" */
    unsigned row;       /* the issue-12 row it belongs to (1..7) */
    const char *board;  /* "q35-vtd", "virt-smmuv3", or "in-process" */
    const char *unit;   /* of median, p99 and floor: "ns", "us", "ms", "DMA/s", "KiB", "pages" */
    double median;
    double p99;         /* NAN: none (then spread may say something) */
    const char *spread; /* free text, e.g. "min-max 3-5"; NULL: none */
    double floor;       /* NAN: no floor */
    double ratio;       /* median / floor, or what the goal compares; NAN: none */
    unsigned runs;      /* samples behind the median */
    const char *goal;   /* "FIELD OP NUMBER" (field: ratio|median|p99), e.g.
                         * "ratio <= 2"; NULL or "": no goal. scripts/bench-report
                         * evaluates it, so no program grades itself. */
    const char *note;   /* what was measured, how; NULL: none */
} BenchRow;

/* FILE from --json, or NULL: rows are then only printed. Exits on error. */
void bench_json_open(const char *prog, const char *path);
/* Prints the row on stdout and, when a file is open, appends it there. */
void bench_row(const BenchRow *r);
void bench_json_close(void);

#endif
