#include "qvm-fixture.h"

#include "status-text.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- smmu-qvm processes ------------------------------------------------------ */


typedef struct {
    const char *log;
} ChildSetup;

/* The VM dies with the test (a failing check exits the test's process at
 * once) and its stderr goes to its log, read by the checks. */
static void child_setup(gpointer data)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = open(((ChildSetup *)data)->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) dup2(fd, 2);
}

char *qvm_field(Qvm *q, const char *key) { return status_file_value(q->status, key); }

char *qvm_log(Qvm *q)
{
    char *text = NULL;
    if (!g_file_get_contents(q->log, &text, NULL, NULL)) text = g_strdup("");
    return text;
}

static bool reap(Qvm *q)
{
    int st;
    if (q->exited) return true;
    if (waitpid(q->pid, &st, WNOHANG) != q->pid) return false;
    q->exited = true;
    q->exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return true;
}

/* Starts smmu-qvm with fixture `name` (of fixtures/vms) against s's
 * target socket (or host_socket), in a run directory of its own. With
 * expect_running, waits (bounded) for state=running; else returns at once. */
void qvm_start_on(Qvm *q, Svc *s, const char *name, const char *host_socket, bool expect_running)
{
    memset(q, 0, sizeof *q);
    g_autoptr(GError) err = NULL;
    q->dir = g_dir_make_tmp("qvm-XXXXXX", &err);
    ck_assert_msg(q->dir, "%s", err ? err->message : "?");
    q->status = g_build_filename(q->dir, "vm.status", NULL);
    q->log = g_build_filename(q->dir, "vm.log", NULL);
    g_autofree char *conf = g_build_filename(VM_FIXTURES_DIR, name, NULL);
    char *argv[] = { (char *)SMMU_QVM, (char *)"--host-socket", (char *)(host_socket ? host_socket : s->target_sock),
                     (char *)"--run-dir", q->dir, (char *)"--status-file", q->status, conf, NULL };
    ChildSetup cs = { q->log };
    ck_assert_msg(g_spawn_async(NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, child_setup, &cs, &q->pid, &err), "%s",
                  err ? err->message : "");
    if (!expect_running) return;
    for (int i = 0; i < WITHIN_MS / 5; i++) {
        g_autofree char *state = qvm_field(q, "state");
        if (state && strcmp(state, "running") == 0) {
            q->vdev = qvm_field(q, "vdev");
            return;
        }
        if (reap(q)) {
            g_autofree char *log = qvm_log(q);
            ck_abort_msg("smmu-qvm %s exited (%d) during start-up: %s", name, q->exit_status, log);
        }
        g_usleep(5000);
    }
    ck_abort_msg("smmu-qvm %s did not become ready", name);
}

void qvm_start(Qvm *q, Svc *s, const char *name) { qvm_start_on(q, s, name, NULL, true); }

int qvm_wait_exit(Qvm *q, int ms)
{
    for (int waited = 0; !reap(q) && waited < ms; waited += 5) g_usleep(5000);
    g_autofree char *log = qvm_log(q);
    ck_assert_msg(q->exited, "smmu-qvm did not exit within %d ms; its log: %s", ms, log);
    return q->exit_status;
}

/* Kills what still runs and removes every file it had. */
void qvm_stop(Qvm *q)
{
    if (q->pid && !q->exited) {
        kill(q->pid, SIGKILL);
        waitpid(q->pid, NULL, 0);
    }
    if (q->pid) g_spawn_close_pid(q->pid);
    GDir *d = q->dir ? g_dir_open(q->dir, 0, NULL) : NULL;
    for (const char *f; d && (f = g_dir_read_name(d));) {
        g_autofree char *p = g_build_filename(q->dir, f, NULL);
        unlink(p);
    }
    if (d) g_dir_close(d);
    if (q->dir) rmdir(q->dir);
    g_free(q->dir);
    g_free(q->status);
    g_free(q->log);
    g_free(q->vdev);
    memset(q, 0, sizeof *q);
}

