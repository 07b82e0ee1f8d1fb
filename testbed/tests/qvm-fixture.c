#include "qvm-fixture.h"

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

/* ---- the board: RAM and DMA ---------------------------------------------------- */

uint64_t at(Svc *s, uint64_t off) { return board_addr(&s->b, off); }

void fill(Svc *s, uint64_t addr, uint8_t v) { memset(board_ram(&s->b, addr, LEN), v, LEN); }

void check_ram(Svc *s, uint64_t addr, uint8_t v, const char *what)
{
    const uint8_t *p = board_ram(&s->b, addr, LEN);
    for (unsigned i = 0; i < LEN; i++)
        ck_assert_msg(p[i] == v, "%s: RAM 0x%llx+%u is 0x%02x, want 0x%02x", what, (unsigned long long)addr, i, p[i], v);
}

void dma(Svc *s, const char *dev, const char *dir, uint64_t addr)
{
    g_free(board_ok(&s->b, "dma %s %s 0x%llx %d", dev, dir, (unsigned long long)addr, LEN));
}

/* The device reads at gpa (the bytes at hpa, filled with v), then writes
 * them back at gpa after hpa was cleared: they are at hpa, and the RAM at
 * the untranslated address gpa (when it is not hpa) did not change. The
 * engine holds v afterwards (never 0x5a: that is the blocked writes'
 * witness). */
void lands(Svc *s, const char *dev, uint64_t gpa, uint64_t hpa, uint8_t v, const char *what)
{
    ck_assert(v != 0x5a);
    if (gpa != hpa) fill(s, gpa, 0xee);
    fill(s, hpa, v);
    dma(s, dev, "read", gpa);
    fill(s, hpa, 0x00);
    dma(s, dev, "write", gpa);
    check_ram(s, hpa, v, what);
    if (gpa != hpa) check_ram(s, gpa, 0xee, what);
}

/* A write by dev at gpa crosses nowhere: the RAM at each watched address
 * (the backing, the untranslated address, ...) keeps 0x5a. */
void blocked(Svc *s, const char *dev, uint64_t gpa, const uint64_t *watch, unsigned n, const char *what)
{
    for (unsigned i = 0; i < n; i++) fill(s, watch[i], 0x5a);
    dma(s, dev, "write", gpa);
    for (unsigned i = 0; i < n; i++) check_ram(s, watch[i], 0x5a, what);
}

/* ---- records -------------------------------------------------------------------- */

int next_record(struct smmu_conn *conn, struct smmu_status *st, int ms)
{
    int fd = smmu_conn_xfer_fd(conn);
    ck_assert_msg(fd >= 0, "smmu_conn_xfer_fd: %s", strerror(errno));
    gint64 deadline = g_get_monotonic_time() + ms * 1000ll;
    for (;;) {
        int r = smmu_conn_xfer_status(conn, st);
        ck_assert_msg(r >= 0, "smmu_conn_xfer_status: %s", strerror(errno));
        if (r == 1) return 1;
        gint64 left = (deadline - g_get_monotonic_time()) / 1000;
        if (left <= 0) return 0;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        poll(&p, 1, (int)left);
    }
}

/* conn's queue holds the record of 0:dev.0 writing at addr, and nothing
 * else (SMMUv3 folds a DMA's records into one; any more must be the same). */
void expect_record(struct smmu_conn *conn, const char *who, unsigned dev, uint64_t addr)
{
    struct smmu_status st;
    ck_assert_msg(next_record(conn, &st, WITHIN_MS), "%s: no record of 0:%u.0 at 0x%llx within %d ms", who, dev,
                  (unsigned long long)addr, WITHIN_MS);
    unsigned n = 0;
    do {
        ck_assert_msg(st.devid.type == SDT_PCI && st.devid.pci.bus == 0 && st.devid.pci.dev == dev &&
                          st.devid.pci.func == 0 && st.fault_addr == addr && (st.flags & SSF_WRITE),
                      "%s: record %u: device %u:%u.%u address 0x%llx flags 0x%x, want 0:%u.0 0x%llx write", who, n,
                      st.devid.pci.bus, st.devid.pci.dev, st.devid.pci.func, (unsigned long long)st.fault_addr,
                      st.flags, dev, (unsigned long long)addr);
        n++;
    } while (next_record(conn, &st, 0));
}

void expect_no_record(struct smmu_conn *conn, const char *who, int ms)
{
    struct smmu_status st;
    ck_assert_msg(!next_record(conn, &st, ms), "%s: unexpected record: device 0:%u.%u address 0x%llx", who,
                  st.devid.pci.dev, st.devid.pci.func, (unsigned long long)st.fault_addr);
}

struct smmu_conn *open_or_fail(const char *path)
{
    struct smmu_conn *c = smmu_conn_open(path, 0);
    ck_assert_msg(c, "smmu_conn_open %s: %s", path, strerror(errno));
    return c;
}


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

char *qvm_field(Qvm *q, const char *key)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents(q->status, &text, NULL, NULL)) return NULL;
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    size_t n = strlen(key);
    for (unsigned i = 0; lines[i]; i++)
        if (strncmp(lines[i], key, n) == 0 && lines[i][n] == '=') return g_strdup(lines[i] + n + 1);
    return NULL;
}

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

