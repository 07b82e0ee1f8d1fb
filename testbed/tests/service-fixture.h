/* Test helper: smmuman on a board, and smmu-client processes driving it.
 * Everything started here is killed and removed by the stop functions. */
#ifndef TB_TEST_SERVICE_FIXTURE_H
#define TB_TEST_SERVICE_FIXTURE_H

#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>

#include "board-fixture.h"

typedef struct {
    BoardFixture b;
    GPid pid;
    bool exited;
    int exit_status;
    char *conf, *sock, *target_sock, *status, *log;
} Svc;

typedef struct {
    GPid pid;
    int in, out;
    GString *buf;
} Cli;

/* Starts board `board` and `prog` ("smmuman" or "smmuman-safety") with the
 * standard options plus `extra` configuration lines. expect_running: wait
 * for "state=running" (fails the test otherwise); else return at once. */
void svc_start(Svc *s, const char *board, const char *prog, const char *extra, bool expect_running);
/* Waits (bounded) for the service to exit; returns its exit status. */
int svc_wait_exit(Svc *s, int timeout_ms);
/* The status file's "reason=" (caller frees), or NULL. */
char *svc_status_field(Svc *s, const char *key);
/* Kills whatever still runs, removes the service's files, stops the board. */
void svc_stop(Svc *s);

void cli_start(Cli *c, Svc *s, bool target);
/* A client holding object 0, which owns the edu engine in PCI slot
 * `slot` of bus 0: the start of most service tests. */
void cli_owning(Cli *c, Svc *s, unsigned slot);
/* Sends one command line, returns the reply line (caller frees). */
char *cli(Cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Like cli(), failing the test unless the reply starts with "ok". */
char *cli_ok(Cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cli_stop(Cli *c);

/* `smmuctl ARGS` against the service; its stdout (caller frees). */
char *smmuctl(Svc *s, const char *args);

/* Waits for the next record and checks device, address and access. */
void expect_fault(Cli *c, const char *device, uint64_t addr, bool write);
/* No record arrives within ms. */
void expect_no_fault(Cli *c, int ms);

#endif
