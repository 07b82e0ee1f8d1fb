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

/* What an address word is relative to: "N", "ram+N", "pool+N", and
 * "gpa(VM)+N" (the VM's guest RAM base: a guest-physical address). */
typedef enum { SCN_ABS, SCN_RAM, SCN_POOL, SCN_GPA } ScnBase;

#define SCN_NAME_MAX 64 /* VM, guest and client names (a VM's is also its file's: docs/vm-config.md) */

/* A VM (smmu-qvm, "qvm NAME"): its configuration, inline lines or a file;
 * started by a "start NAME" step, after the host service. */
typedef struct {
    char *name;
    char *fixture;      /* a VM configuration file ("{board}" replaced by the board), or NULL */
    GPtrArray *config;  /* char*: its lines (ram+N / pool+N resolved by the runner) */
    GPtrArray *origin;  /* char*: "FILE:LINE" of each line, for messages */
    char *file;         /* where it was declared */
    unsigned line;
} ScnVm;

/* A guest's smmuman in a VM; its clients say "client NAME guest=G". */
typedef struct {
    char *name, *vm;
    char *service;      /* "smmuman" or "smmuman-safety" */
    bool no_vdev;       /* vdev=none: started without SMMU_VDEV even if its VM has one */
    GPtrArray *config;  /* char*: its configuration lines */
    GPtrArray *origin;  /* char*: "FILE:LINE" of each */
    char *file;
    unsigned line;
} ScnGuest;

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
    GPtrArray *config_origin; /* char*: "FILE:LINE" of each */
    bool board_fresh;     /* "board-fresh": play on a newly started board, not a kept one */
    bool start_dss;       /* the service is expected to go to DSS at start-up */
    char *start_reason;   /* substring expected in that reason */
    GPtrArray *clients;   /* char*: "NAME", "NAME target" or "NAME guest=G" */
    GPtrArray *vms;       /* ScnVm*, in declaration order */
    GPtrArray *guests;    /* ScnGuest* */
    GPtrArray *steps;     /* ScnStep* */
} Scenario;

/* Parses a file (includes resolved relative to it). NULL with err naming
 * FILE:LINE and what was expected. */
Scenario *scenario_load(const char *path, GError **err);
/* The same for text in memory (a generated scenario), as if read from the
 * file path: messages name it, includes are relative to it. */
Scenario *scenario_parse_text(const char *text, const char *path, GError **err);
void scenario_free(Scenario *s);
bool scenario_has_client(const Scenario *s, const char *name);
/* The guest a client attaches to ("client NAME guest=G"), or NULL: the host. */
const char *scenario_client_guest(const Scenario *s, const char *name);
const ScnVm *scenario_vm(const Scenario *s, const char *name);
const ScnGuest *scenario_guest(const Scenario *s, const char *name);
/* An address word: its base and the number after it (K/M/G allowed).
 * 0, or -EINVAL / -ERANGE. The sum with the board's base is the runner's
 * to check: only it knows the base. */
int scenario_parse_addr(const char *w, ScnBase *base, uint64_t *off);
/* The same, and for "gpa(VM)+N" the VM's name into vm (cap bytes; "" for
 * the other forms). */
int scenario_parse_addr_vm(const char *w, ScnBase *base, char *vm, size_t cap, uint64_t *off);

/* Address words inside a configuration line ("allow b ram+0x300000,4096",
 * "ram 0x0,32M=ram+0x4000000"): each "ram+N", "pool+N" and (when gpa_ok)
 * "gpa(VM)+N" at the start of a word or after ',' or '=' is replaced by
 * what resolve() gives, written "0x..." (hexadecimal in every
 * configuration syntax). resolve NULL: only checks the words. The new
 * line, or NULL with err naming the word and what is wrong. */
typedef bool (*ScnResolve)(void *ctx, ScnBase base, const char *vm, uint64_t off, uint64_t *addr, GError **err);
char *scenario_subst_addrs(const char *line, bool gpa_ok, ScnResolve resolve, void *ctx, GError **err);

#endif
