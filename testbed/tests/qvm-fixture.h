/* Test helper: smmu-qvm processes (the VM model) on a service fixture's
 * board. Everything started here is killed and removed by qvm_stop(). */
#ifndef TB_TEST_QVM_FIXTURE_H
#define TB_TEST_QVM_FIXTURE_H

#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>

#include "dma-checks.h"
#include "service-fixture.h"

/* ---- smmu-qvm processes ---- */
typedef struct {
    GPid pid;
    char *dir, *status, *log, *vdev;
    bool exited;
    int exit_status;
} Qvm;

char *qvm_field(Qvm *q, const char *key);
char *qvm_log(Qvm *q);
/* Starts smmu-qvm with fixture `name` (of fixtures/vms) against s's target
 * socket (or host_socket), in a run directory of its own; with
 * expect_running, waits (bounded) for state=running. */
void qvm_start_on(Qvm *q, Svc *s, const char *name, const char *host_socket, bool expect_running);
void qvm_start(Qvm *q, Svc *s, const char *name);
int qvm_wait_exit(Qvm *q, int ms);
/* Kills what still runs and removes every file it had. */
void qvm_stop(Qvm *q);

#endif
