/* The command line of the tools (smmuctl, smmu-client): --help and
 * --version answer on stdout with status 0 and touch nothing: no
 * connection is made. A listening socket stands where $SMMU_SOCKET points,
 * and must have nobody waiting to be accepted afterwards. Also the errno
 * names smmu-client prints (scenarios expect names, not numbers). */
#include <check.h>

#include "check-run.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    int status; /* exit status, or 128 + signal */
    char *out, *err;
} Run;

static char *sock_path;
static int listener = -1;

static void setup(void)
{
    signal(SIGPIPE, SIG_IGN); /* a tool that exits before reading its stdin */
    const char *base = getenv("TMPDIR"); /* check_run()'s private directory */
    g_autofree char *tmpl = g_build_filename(base ? base : "/tmp", "tools-XXXXXX", NULL);
    ck_assert_ptr_nonnull(g_mkdtemp(tmpl));
    sock_path = g_build_filename(tmpl, "smmu.sock", NULL);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    ck_assert_uint_lt(strlen(sock_path), sizeof sa.sun_path);
    strcpy(sa.sun_path, sock_path);
    listener = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    ck_assert_int_ge(listener, 0);
    ck_assert_int_eq(bind(listener, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(listener, 8), 0);
}

static void teardown(void)
{
    close(listener);
    unlink(sock_path);
    g_free(sock_path);
}

/* Nothing connected to the socket $SMMU_SOCKET named. */
static void expect_no_connection(const char *what)
{
    int c = accept(listener, NULL, NULL);
    ck_assert_msg(c < 0 && (errno == EAGAIN || errno == EWOULDBLOCK), "%s connected to the service socket", what);
}

/* Runs exe with args, input on stdin, bounded to 10 s. */
static Run run(const char *exe, const char *args, const char *input)
{
    g_autofree char *line = args[0] ? g_strdup_printf("%s %s", exe, args) : g_strdup(exe);
    g_auto(GStrv) argv = g_strsplit(line, " ", -1);
    char **envp = g_environ_setenv(g_get_environ(), "SMMU_SOCKET", sock_path, TRUE);
    GPid pid;
    int in, out, err;
    g_autoptr(GError) gerr = NULL;
    ck_assert_msg(g_spawn_async_with_pipes(NULL, argv, envp, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid, &in, &out,
                                           &err, &gerr),
                  "%s", gerr ? gerr->message : "");
    g_strfreev(envp);
    if (input && write(in, input, strlen(input)) < 0) { /* it may have exited already: fine */ }
    close(in);
    Run r = { .status = -1 };
    GString *o = g_string_new(NULL), *e = g_string_new(NULL);
    int fds[2] = { out, err };
    GString *to[2] = { o, e };
    for (int i = 0; i < 2; i++) { /* small outputs: one pipe after the other cannot block */
        char buf[4096];
        ssize_t n;
        while ((n = read(fds[i], buf, sizeof buf)) > 0) g_string_append_len(to[i], buf, n);
        close(fds[i]);
    }
    for (int waited = 0; waited < 10000; waited += 5) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            break;
        }
        g_usleep(5000);
    }
    if (r.status < 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    g_spawn_close_pid(pid);
    r.out = g_string_free(o, FALSE);
    r.err = g_string_free(e, FALSE);
    return r;
}

static void run_free(Run *r)
{
    g_free(r->out);
    g_free(r->err);
}

static const char *const tools[] = { SMMUCTL, SMMU_CLIENT };
static const char *const names[] = { "smmuctl", "smmu-client" };

/* _i: the tool. --help, -h, and --help among other words. */
START_TEST(help_prints_usage_and_touches_nothing)
{
    const char *argsets[] = { "--help", "-h", _i == 0 ? "status --help" : "--help --version" };
    for (unsigned k = 0; k < 3; k++) {
        Run r = run(tools[_i], argsets[k], "init\nobj\n");
        g_autofree char *want = g_strdup_printf("usage: %s ", names[_i]);
        ck_assert_msg(r.status == 0, "%s %s: exit %d, stderr %s", names[_i], argsets[k], r.status, r.err);
        ck_assert_msg(g_str_has_prefix(r.out, want), "%s %s: %s", names[_i], argsets[k], r.out);
        ck_assert_str_eq(r.err, "");
        expect_no_connection(argsets[k]);
        run_free(&r);
    }
}
END_TEST

START_TEST(version_is_the_projects)
{
    Run r = run(tools[_i], "--version", "init\n");
    g_autofree char *want = g_strdup_printf("%s (smmuman) %s\n", names[_i], PROJECT_VERSION);
    ck_assert_int_eq(r.status, 0);
    ck_assert_str_eq(r.out, want);
    ck_assert_str_eq(r.err, "");
    expect_no_connection("--version");
    run_free(&r);
}
END_TEST

/* A usage error is an error: status 2, usage on stderr, no connection. */
START_TEST(usage_errors_exit_2_without_connecting)
{
    const char *args[] = { "--bogus", _i == 0 ? "frobnicate" : "extra-word" };
    for (unsigned k = 0; k < 2; k++) {
        Run r = run(tools[_i], args[k], "init\n");
        ck_assert_msg(r.status == 2, "%s %s: exit %d", names[_i], args[k], r.status);
        ck_assert_str_eq(r.out, "");
        ck_assert_msg(g_str_has_prefix(r.err, "usage: "), "%s", r.err);
        expect_no_connection(args[k]);
        run_free(&r);
    }
}
END_TEST

/* The errno values the service returns or will return, by name. */
START_TEST(smmu_client_names_errnos)
{
    static const struct {
        int e;
        const char *name;
    } want[] = {
        { EBUSY, "EBUSY" },         { ENOENT, "ENOENT" },       { EINVAL, "EINVAL" },   { EPERM, "EPERM" },
        { ENOMEM, "ENOMEM" },       { EEXIST, "EEXIST" },       { EIO, "EIO" },         { ENOTCONN, "ENOTCONN" },
        { ECONNREFUSED, "ECONNREFUSED" }, { ETIMEDOUT, "ETIMEDOUT" }, { ENOSPC, "ENOSPC" }, { EPROTO, "EPROTO" },
        { ERANGE, "ERANGE" },       { EDQUOT, "EDQUOT" },       { E2BIG, "E2BIG" },     { EMSGSIZE, "EMSGSIZE" },
        { ENOSYS, "ENOSYS" },       { EAGAIN, "EAGAIN" },       { EOVERFLOW, "EOVERFLOW" }, { EFAULT, "EFAULT" },
        { ENODEV, "ENODEV" },       { EXDEV, "EOTHER" }, /* one it has no name for */
    };
    g_autoptr(GString) in = g_string_new(NULL), expect = g_string_new(NULL);
    for (unsigned i = 0; i < G_N_ELEMENTS(want); i++) {
        g_string_append_printf(in, "errname %d\n", want[i].e);
        g_string_append_printf(expect, "ok %s\n", want[i].name);
    }
    g_string_append(in, "exit\n");
    Run r = run(SMMU_CLIENT, "", in->str);
    ck_assert_int_eq(r.status, 0);
    ck_assert_str_eq(r.out, expect->str);
    expect_no_connection("errname"); /* it needs no service */
    run_free(&r);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("tools-cli");
    TCase *tc = tcase_create("cli");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, help_prints_usage_and_touches_nothing, 0, 2);
    tcase_add_loop_test(tc, version_is_the_projects, 0, 2);
    tcase_add_loop_test(tc, usage_errors_exit_2_without_connecting, 0, 2);
    tcase_add_test(tc, smmu_client_names_errnos);
    suite_add_tcase(su, tc);
    return check_run(su);
}
