#include "service-fixture.h"

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "line-reader.h"
#include "paths-service.h"
#include "status-text.h"

#define REPLY_TIMEOUT_MS 10000

static char *run_path(Svc *s, const char *f) { return g_build_filename(tb_board_run_dir(s->b.board), f, NULL); }

void svc_start(Svc *s, const char *board, const char *prog, const char *extra, bool expect_running)
{
    memset(s, 0, sizeof *s);
    board_fixture_start(&s->b, board);
    const char *run = tb_board_run_dir(s->b.board);
    s->conf = run_path(s, "smmu.conf");
    s->sock = run_path(s, "smmu.sock");
    s->target_sock = run_path(s, "smmu-target.sock");
    s->status = run_path(s, "smmu.status");
    s->log = run_path(s, "smmu.log");
    g_autofree char *text = g_strdup_printf("# written by the test\nforeground\nplatform board:%s\nattach-socket %s\n"
                                            "target-socket %s\nstatus-file %s\nlog-file %s\nfault-poll-ms 2\n%s\n",
                                            run, s->sock, s->target_sock, s->status, s->log, extra ? extra : "smmu vtd");
    ck_assert(g_file_set_contents(s->conf, text, -1, NULL));
    g_autofree char *exe = g_build_filename(SMMU_BUILD_DIR, prog, NULL);
    g_autofree char *at = g_strconcat("@", s->conf, NULL);
    char *argv[] = { exe, at, NULL };
    g_autofree char *platform = g_strdup_printf("board:%s", run);
    char **envp = g_environ_setenv(g_get_environ(), "SMMU_PLATFORM", platform, TRUE);
    envp = g_environ_setenv(envp, "SMMU_STATUS_FILE", s->status, TRUE);
    g_autoptr(GError) err = NULL;
    ck_assert_msg(g_spawn_async(NULL, argv, envp, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &s->pid, &err), "%s",
                  err ? err->message : "");
    g_strfreev(envp);
    if (!expect_running) return;
    for (int i = 0; i < 1000; i++) {
        g_autofree char *state = svc_status_field(s, "state");
        if (state && strcmp(state, "running") == 0) return;
        int st;
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
            s->exited = true;
            s->exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            g_autofree char *reason = svc_status_field(s, "reason");
            ck_abort_msg("%s exited (%d) during start-up: %s", prog, s->exit_status, reason ? reason : "?");
        }
        g_usleep(5000);
    }
    ck_abort_msg("%s did not become ready", prog);
}

int svc_wait_exit(Svc *s, int timeout_ms)
{
    for (int waited = 0; !s->exited && waited < timeout_ms; waited += 5) {
        int st;
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
            s->exited = true;
            s->exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            break;
        }
        g_usleep(5000);
    }
    ck_assert_msg(s->exited, "the service did not exit within %d ms", timeout_ms);
    return s->exit_status;
}

char *svc_status_field(Svc *s, const char *key) { return status_file_value(s->status, key); }

void svc_stop(Svc *s)
{
    if (!s->exited && s->pid) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
    }
    if (s->pid) g_spawn_close_pid(s->pid);
    const char *files[] = { s->conf, s->sock, s->target_sock, s->status, s->log, NULL };
    for (unsigned i = 0; files[i]; i++) unlink(files[i]);
    g_autofree char *tmp = g_strconcat(s->status, ".tmp", NULL);
    unlink(tmp);
    g_free(s->conf);
    g_free(s->sock);
    g_free(s->target_sock);
    g_free(s->status);
    g_free(s->log);
    board_fixture_stop(&s->b);
}

void cli_start(Cli *c, Svc *s, bool target)
{
    memset(c, 0, sizeof *c);
    char *argv[] = { (char *)SMMU_CLIENT, NULL };
    char **envp = g_environ_setenv(g_get_environ(), "SMMU_SOCKET", target ? s->target_sock : s->sock, TRUE);
    g_autoptr(GError) err = NULL;
    ck_assert_msg(g_spawn_async_with_pipes(NULL, argv, envp, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &c->pid, &c->in,
                                           &c->out, NULL, &err),
                  "%s", err ? err->message : "");
    g_strfreev(envp);
    c->buf = g_string_new(NULL);
    g_free(cli_ok(c, "init"));
}

void cli_owning(Cli *c, Svc *s, unsigned slot)
{
    cli_start(c, s, false);
    g_free(cli_ok(c, "obj"));
    g_free(cli_ok(c, "add 0 pci 0 %u 0", slot));
}

static char *vcli(Cli *c, const char *fmt, va_list ap)
{
    g_autofree char *line = g_strdup_vprintf(fmt, ap);
    g_autofree char *msg = g_strconcat(line, "\n", NULL);
    ck_assert_int_eq(write(c->in, msg, strlen(msg)), (ssize_t)strlen(msg));
    bool timed_out;
    char *reply = tb_read_line(c->out, c->buf, REPLY_TIMEOUT_MS, &timed_out);
    ck_assert_msg(reply, timed_out ? "client: no reply to '%s'" : "client exited while asked '%s'", line);
    return reply;
}

char *cli(Cli *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *r = vcli(c, fmt, ap);
    va_end(ap);
    return r;
}

char *cli_ok(Cli *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *r = vcli(c, fmt, ap);
    va_end(ap);
    ck_assert_msg(g_str_has_prefix(r, "ok"), "expected ok, got '%s'", r);
    return r;
}

void cli_stop(Cli *c)
{
    if (!c->pid) return;
    if (write(c->in, "exit\n", 5) != 5) { /* already gone */ }
    close(c->in);
    close(c->out);
    waitpid(c->pid, NULL, 0);
    g_spawn_close_pid(c->pid);
    g_string_free(c->buf, TRUE);
    memset(c, 0, sizeof *c);
}

void expect_fault(Cli *c, const char *device, uint64_t addr, bool write)
{
    g_autofree char *r = cli(c, "wait-fault 3000");
    g_autofree char *want = g_strdup_printf("fault device=%s address=0x%llx access=%s ", device,
                                            (unsigned long long)addr, write ? "write" : "read");
    ck_assert_msg(g_str_has_prefix(r, want), "expected '%s...', got '%s'", want, r);
}

void expect_no_fault(Cli *c, int ms)
{
    g_autofree char *r = cli(c, "wait-fault %d", ms);
    ck_assert_msg(strcmp(r, "none") == 0, "expected no fault, got '%s'", r);
}

char *smmuctl(Svc *s, const char *args)
{
    g_autofree char *ctl = g_build_filename(SMMU_BUILD_DIR, "smmuctl", NULL);
    g_autofree char *cmd = g_strdup_printf("env SMMU_SOCKET=%s %s %s", s->sock, ctl, args);
    char *out = NULL;
    int status;
    ck_assert(g_spawn_command_line_sync(cmd, &out, NULL, &status, NULL));
    ck_assert_msg(g_spawn_check_wait_status(status, NULL), "smmuctl %s failed", args);
    return out;
}
