/* Scenario files (docs/scenarios.md): parsed into a header and a list of
 * steps, each remembering its file and line for error messages. */
#ifndef TB_SCENARIO_H
#define TB_SCENARIO_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

/* Limits the parser enforces, so that a scenario's numbers can neither
 * reach outside the engine's buffer nor make the runner wait unbounded. */
#define SCN_DMA_MAX 4096u          /* edu's buffer: LEN, and offset + LEN */
#define SCN_STORM_MAX 100000u      /* storm COUNT */
#define SCN_WAIT_MAX_MS 60000u     /* wait MS */
#define SCN_NO_FAULT_MAX_MS 5000u  /* expect-no-fault MS: well inside the runner's reply timeout */

/* What an address word is relative to: "N", "ram+N", "pool+N". */
typedef enum { SCN_ABS, SCN_RAM, SCN_POOL } ScnBase;

typedef struct {
    char *file;
    unsigned line;
    char **words;  /* the statement, split; words[0] is the verb or a client name */
    char **expect; /* after "=>", or NULL */
    char *text;    /* the line as written, for logs */
} ScnStep;

typedef struct {
    char *name, *file, *purpose;
    char **boards;        /* "any" or names */
    char *service;        /* "smmuman" or "smmuman-safety" */
    GPtrArray *config;    /* char*: configuration lines */
    bool start_dss;       /* the service is expected to go to DSS at start-up */
    char *start_reason;   /* substring expected in that reason */
    GPtrArray *clients;   /* char*: "NAME" or "NAME target" */
    GPtrArray *steps;     /* ScnStep* */
} Scenario;

/* Parses a file (includes resolved relative to it). NULL with err naming
 * FILE:LINE and what was expected. */
Scenario *scenario_load(const char *path, GError **err);
void scenario_free(Scenario *s);
bool scenario_has_client(const Scenario *s, const char *name);
/* An address word: its base and the number after it (K/M/G allowed).
 * 0, or -EINVAL / -ERANGE. The sum with the board's base is the runner's
 * to check: only it knows the base. */
int scenario_parse_addr(const char *w, ScnBase *base, uint64_t *off);

#endif
