#include "suite-timing.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The q-quantile (nearest rank) of v[0..n), sorted here. */
static double quantile(double *v, unsigned n, double q)
{
    qsort(v, n, sizeof *v, by_value);
    unsigned i = (unsigned)(q * n + 0.999999);
    return v[i ? i - 1 : 0];
}

static const char *const phase_names[RP_PHASES] = { "board", "service", "clients", "steps", "teardown" };

int suite_timing_write(const char *path, const SuiteTime *t, unsigned n, double wall, unsigned jobs, bool reuse)
{
    FILE *f = fopen(path, "a");
    if (!f) {
        fprintf(stderr, "smmu-scenario: --timing %s: %s\n", path, strerror(errno));
        return 2;
    }
    const char *mode = reuse ? "boards kept" : "fresh boards";
    double *v = g_new(double, n ? n : 1);
    /* every board the runs played on, in order of first appearance */
    for (unsigned b = 0; b < n; b++) {
        bool first = true;
        for (unsigned j = 0; j < b && first; j++) first = strcmp(t[j].board, t[b].board) != 0;
        if (!first) continue;
        const char *board = t[b].board;
        unsigned m = 0, reused = 0, failed = 0;
        for (unsigned i = 0; i < n; i++)
            if (strcmp(t[i].board, board) == 0) v[m++] = t[i].seconds * 1e3, reused += t[i].reused, failed += !t[i].passed;
        double med = quantile(v, m, 0.5), p99 = quantile(v, m, 0.99);
        /* the goal is the kept boards' (fresh ones are their floor), and a
         * median of a few runs (q35-bare has one scenario) says nothing */
        const char *goal = reuse && m >= 10 ? "\"median <= 50\"" : "null";
        GString *note = g_string_new(NULL);
        g_string_append_printf(note, "smmu-scenario --jobs %u, %s (%u of %u runs on a reset board, %u failed); phase medians ms:",
                               jobs, mode, reused, m, failed);
        for (unsigned p = 0; p < RP_PHASES; p++) {
            unsigned k = 0;
            for (unsigned i = 0; i < n; i++)
                if (strcmp(t[i].board, board) == 0) v[k++] = t[i].phase[p] * 1e3;
            g_string_append_printf(note, " %s %.1f", phase_names[p], quantile(v, k, 0.5));
        }
        fprintf(f,
                "{\"name\":\"suite scenario time, jobs %u, %s\",\"row\":7,\"board\":\"%s\",\"unit\":\"ms\","
                "\"median\":%.1f,\"p99\":%.1f,\"spread\":null,\"floor\":null,\"ratio\":null,\"runs\":%u,"
                "\"goal\":%s,\"note\":\"%s\"}\n",
                jobs, mode, board, med, p99, m, goal, note->str);
        g_string_free(note, TRUE);
    }
    /* the whole suite: runs per minute of wall time (boards share the workers) */
    fprintf(f,
            "{\"name\":\"suite runs per minute, jobs %u, %s\",\"row\":7,\"board\":\"all\",\"unit\":\"runs/min\","
            "\"median\":%.0f,\"p99\":null,\"spread\":\"one suite run: %u runs in %.1f s\",\"floor\":null,\"ratio\":null,"
            "\"runs\":%u,\"goal\":null,\"note\":\"smmu-scenario --jobs %u over every suite, %s\"}\n",
            jobs, mode, wall > 0 ? n * 60.0 / wall : 0.0, n, wall, n, jobs, mode);
    g_free(v);
    return fclose(f) ? 2 : 0;
}
