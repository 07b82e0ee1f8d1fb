#include "client-proc.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void die_with_parent(gpointer data)
{
    (void)data;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
}

void proc_start(Proc *p, Svc *s, char **argv)
{
    memset(p, 0, sizeof *p);
    char **envp = g_environ_setenv(g_get_environ(), "SMMU_SOCKET", s->sock, TRUE);
    g_autoptr(GError) err = NULL;
    ck_assert_msg(g_spawn_async_with_pipes(NULL, argv, envp, G_SPAWN_DO_NOT_REAP_CHILD, die_with_parent, NULL, &p->pid,
                                           &p->in, &p->out, &p->err, &err),
                  "%s: %s", argv[0], err ? err->message : "");
    g_strfreev(envp);
    fcntl(p->out, F_SETFL, O_NONBLOCK);
    fcntl(p->err, F_SETFL, O_NONBLOCK);
    p->obuf = g_string_new(NULL);
    p->ebuf = g_string_new(NULL);
}

/* Moves whatever the pipes hold into the buffers; false once both are at
 * their end. */
static bool drain(Proc *p, int timeout_ms)
{
    struct pollfd fds[2] = { { .fd = p->out, .events = POLLIN }, { .fd = p->err, .events = POLLIN } };
    if (poll(fds, 2, timeout_ms) <= 0) return true;
    bool open = false;
    int fd[2] = { p->out, p->err };
    GString *to[2] = { p->obuf, p->ebuf };
    for (int i = 0; i < 2; i++) {
        char buf[4096];
        ssize_t n;
        while ((n = read(fd[i], buf, sizeof buf)) > 0) g_string_append_len(to[i], buf, n);
        if (n < 0 && errno == EAGAIN) open = true;
    }
    return open;
}

char *proc_line(Proc *p, int timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + timeout_ms * 1000ll;
    for (bool open = true;;) {
        char *nl = memchr(p->obuf->str, '\n', p->obuf->len);
        if (nl) {
            char *line = g_strndup(p->obuf->str, (gsize)(nl - p->obuf->str));
            g_string_erase(p->obuf, 0, nl - p->obuf->str + 1);
            return line;
        }
        gint64 left = (deadline - g_get_monotonic_time()) / 1000;
        if (left <= 0 || !open) return NULL;
        open = drain(p, (int)left); /* what came with the end is in the buffer: look once more */
    }
}

void proc_send(Proc *p, const char *line)
{
    size_t n = strlen(line);
    ck_assert_int_eq(write(p->in, line, n), (ssize_t)n);
    ck_assert_int_eq(write(p->in, "\n", 1), 1);
}

bool proc_wait(Proc *p, int timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + timeout_ms * 1000ll;
    while (!p->exited) {
        int st;
        if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
            p->exited = true;
            p->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            break;
        }
        gint64 left = (deadline - g_get_monotonic_time()) / 1000;
        if (left <= 0) return false;
        drain(p, left < 10 ? (int)left : 10);
    }
    /* the rest of its output, up to the pipes' end (bounded: a grandchild
     * could hold them open) */
    for (int i = 0; i < 50 && drain(p, 100); i++) {}
    return true;
}

void proc_stop(Proc *p)
{
    if (!p->pid) return;
    if (!p->exited) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
    }
    g_spawn_close_pid(p->pid);
    close(p->in);
    close(p->out);
    close(p->err);
    g_string_free(p->obuf, TRUE);
    g_string_free(p->ebuf, TRUE);
    memset(p, 0, sizeof *p);
}

void wait_clients(Svc *s, unsigned n)
{
    g_autofree char *want = g_strdup_printf("\nclients=%u\n", n);
    for (int i = 0; i < 200; i++) {
        g_autofree char *st = smmuctl(s, "status");
        if (strstr(st, want)) return;
        g_usleep(25000);
    }
    ck_abort_msg("the service never counted %u clients", n);
}
