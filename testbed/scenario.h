/* Scenario files (docs/scenarios.md): parsed into a header and a list of
 * steps, each remembering its file and line for error messages. */
#ifndef TB_SCENARIO_H
#define TB_SCENARIO_H

#include <glib.h>
#include <stdbool.h>

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

#endif
