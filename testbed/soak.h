/* smmu-soak, the reliability campaign (docs/reliability.md): what its
 * parts share. One Soak per board: the board, its RAM as the shared file
 * maps it, the service under test, and the figures the table prints. */
#ifndef TB_SOAK_H
#define TB_SOAK_H

#include <glib.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "agent-client.h"
#include "inventory.h"
#include "launcher.h"

/* ---- a reproducible random stream (splitmix64): the same seed gives the
 * same corpus mutants, messages, kills and addresses on every machine */

typedef struct {
    uint64_t s;
} SoakRng;

uint64_t rng_next(SoakRng *r);
/* 0..n-1 (n > 0) */
uint64_t rng_below(SoakRng *r, uint64_t n);
bool rng_pct(SoakRng *r, unsigned percent);
/* An independent stream for (seed, part, index): a part's randomness does
 * not depend on how much another part drew before it. */
SoakRng rng_for(uint64_t seed, const char *part, uint64_t index);

/* a signal asked the campaign to stop: every wait gives up */
extern volatile sig_atomic_t soak_interrupted;

/* ---- the figures of one board's row --------------------------------------- */

typedef struct {
    /* attempts, by kind */
    uint64_t corpus_cases, mutants, messages, kills, neverread_requests, storm_dmas, dma_checks;
    /* failures: each is also described in findings */
    unsigned crashes, client_dss, dma_open, replies_lost, mapped_missed, other_failures;
    /* what the fuzzing reached: replies with status 0 and refusals */
    uint64_t accepted, refused, events;
    uint64_t op_accepted[12], op_refused[12]; /* by request op (1..11) */
    uint64_t by_errno[4096];                  /* refusals by errno */
    long rss_before_kb, rss_after_kb;   /* VmRSS */
    long anon_before_kb, anon_after_kb; /* RssAnon: without the mapped table pool */
    double p50_ms, p99_ms, max_ms;
    unsigned samples;
    uint64_t faults_seen, pool_used_before, pool_used_after;
    bool harness_error; /* the campaign itself could not do its job */
    double seconds;     /* wall time of this board's campaign */
} SoakStats;

typedef struct {
    const char *board_name;
    const char *kind; /* "vtd" or "smmuv3" */
    uint64_t seed;
    double seconds; /* the budget the timed parts share */
    const char *build_dir, *corpus_dir;
    bool verbose;

    TbBoard *board;
    TbAgent *agent;
    TbInventory inv;
    uint8_t *ram;
    size_t ram_size;
    char *scratch;  /* everything of ours: sockets, configurations, the corpus copy */
    char *platform; /* "board:RUNDIR" */

    /* the long-running service (parts 2-6) */
    GPid svc;
    bool svc_running;
    bool svc_signalled; /* we sent it a stop signal: its exit 3 is ours */
    char *sock, *tsock, *status, *log, *conf;

    uint64_t victim_addr; /* mapped rw for edu0 by the victim, a libsmmu client */

    SoakStats st;
    GString *findings; /* one paragraph per failure, with how to reproduce it */
    GHashTable *seen;  /* finding key -> how many more times it was seen */
    FILE *repro;       /* repro file: the bytes behind a finding */
    char *repro_path;
} Soak;

/* ---- shared helpers (smmu-soak.c) ---------------------------------------- */

void soak_finding(Soak *S, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* A finding that one defect causes many times: the first is described,
 * the others counted under key. Returns whether this one was described. */
bool soak_finding_key(Soak *S, const char *key, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
void soak_note(Soak *S, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* The campaign could not do its job (takes text): not a finding about the
 * service, but the run fails all the same. */
void harness_error_text(Soak *S, char *text);
void harness_error(Soak *S, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* One line per kind of finding, at the end. */
void findings_summary(Soak *S);
/* An agent request that must succeed; the reply text (caller frees) or NULL
 * with a harness error recorded. */
char *soak_agent(Soak *S, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
uint8_t *soak_ram(Soak *S, uint64_t addr, size_t len);

typedef enum { DMA_BLOCKED, DMA_LANDED, DMA_MIXED, DMA_ERROR } DmaOutcome;
/* RAM at addr is set to SOAK_FILL, then DEV writes len bytes there (loading
 * `pattern` first when pattern >= 0); what RAM shows afterwards. */
#define SOAK_FILL 0x5a
DmaOutcome soak_dma_write(Soak *S, const char *dev, uint64_t addr, size_t len, int pattern, uint8_t *landed);
/* A pattern byte that can be told apart from SOAK_FILL and from zeros. */
uint8_t soak_pattern(SoakRng *r);

/* Puts the board's IOMMU back to its reset state, passing all DMA, and
 * proves it with a DMA write that lands: the corpus then shows that each
 * failed start-up closed it again (and not that a previous case had). */
bool soak_reopen_dma(Soak *S, uint64_t dst);

/* A process whose stderr is collected (the corpus' services). */
typedef struct {
    GPid pid;
    int err_fd;
    GString *err;
    bool exited, signalled;
    int status; /* exit code, or 128 + N for signal N */
} SoakProc;

bool soak_proc_spawn(Soak *S, SoakProc *p, char **argv, char **env);
/* Waits until it exits (1), the status file says "running" (0), or
 * timeout_ms passed (-1). */
int soak_proc_wait(SoakProc *p, const char *status_path, int timeout_ms);
void soak_proc_kill(SoakProc *p);
void soak_proc_free(SoakProc *p);
void soak_child_setup(gpointer data);
/* Our environment without SMMU_PLATFORM, SMMU_STATUS_FILE and SMMU_SOCKET
 * (a case sets what it means to), with SMMU_HW_DIR = S's build directory:
 * the service loads the libraries and platform modules built with it. */
char **soak_clean_env(const Soak *S);
/* The reason after "entering Design Safe State: " in a service's stderr. */
char *soak_dss_reason(const char *err);

/* Text of a key=value status file (or NULL) */
char *soak_file_field(const char *path, const char *key);

/* ---- part 1: the bad-configuration corpus (soak-corpus.c) ----------------- */

void soak_part_corpus(Soak *S);

#endif
