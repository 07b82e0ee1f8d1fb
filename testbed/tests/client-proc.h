/* Test helper: a tool process (smmuctl, a driver) started against a
 * running service, whose stdout and stderr the test reads, bounded. It dies
 * with the test process (parent-death signal), so a failing test leaves no
 * such process behind. */
#ifndef TB_TEST_CLIENT_PROC_H
#define TB_TEST_CLIENT_PROC_H

#include <glib.h>
#include <stdbool.h>

#include "service-fixture.h"

typedef struct {
    GPid pid;
    int in, out, err;
    GString *obuf, *ebuf;
    bool exited;
    int status; /* exit status, or 128 + signal */
} Proc;

/* Starts argv with SMMU_SOCKET set to the service's attach socket. */
void proc_start(Proc *p, Svc *s, char **argv);
/* The next line of stdout within timeout_ms (caller frees), or NULL. */
char *proc_line(Proc *p, int timeout_ms);
/* Sends one line to stdin. */
void proc_send(Proc *p, const char *line);
/* Waits up to timeout_ms for the exit, collecting its output; true if it
 * exited (then p->status, p->obuf, p->ebuf hold what it left). */
bool proc_wait(Proc *p, int timeout_ms);
/* Kills what still runs and frees everything. */
void proc_stop(Proc *p);

/* Waits (bounded) until `smmuctl status` counts n clients, itself included. */
void wait_clients(Svc *s, unsigned n);

#endif
