#include "launcher.h"
#include "tb-error.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent-client.h"
#include "paths.h"

/* Files a run directory may hold; stop removes them all (keep: the logs stay). */
#define F_CONF  "board.conf"
#define F_RAM   "ram"
#define F_AGENT TB_RUN_AGENT_SOCK
#define F_QTEST "qtest.sock"
#define F_QMP   "qmp.sock"
#define F_LOG   "qemu.log"
#define F_PID   "qemu.pid"
#define F_DMA   "dma.jsonl"
static const char *const run_files[] = { F_RAM, F_AGENT, F_QTEST, F_QMP, F_PID, F_CONF, F_LOG, F_DMA, NULL };
#define N_VOLATILE 5 /* the first five go even with keep */

struct TbBoard {
    TbBoardDef def;
    char *run_dir;
    bool created_dir;
    bool keep;
    bool child;  /* ours to waitpid */
    pid_t pid;
    char *agent, *qtest, *ram;
};

static char *run_path(const char *dir, const char *f) { return g_build_filename(dir, f, NULL); }

static const char *env_or(const char *var, const char *def)
{
    const char *v = g_getenv(var);
    return v && *v ? v : def;
}

char *tb_board_resolve(const char *board, GError **err)
{
    char *path = strchr(board, '/') || g_str_has_suffix(board, ".board")
                     ? g_strdup(board)
                     : g_strdup_printf("%s/%s.board", env_or("SMMU_BOARD_DIR", TB_FIXTURES_DIR), board);
    if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
        g_autofree char *names = g_strjoinv(", ", tb_board_list());
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_NOENT, "no board '%s' (%s missing); boards: %s", board,
                    path, names);
        g_free(path);
        return NULL;
    }
    return path;
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **tb_board_list(void)
{
    GPtrArray *names = g_ptr_array_new();
    GDir *d = g_dir_open(env_or("SMMU_BOARD_DIR", TB_FIXTURES_DIR), 0, NULL);
    for (const char *f; d && (f = g_dir_read_name(d));)
        if (g_str_has_suffix(f, ".board")) g_ptr_array_add(names, g_strndup(f, strlen(f) - 6));
    if (d) g_dir_close(d);
    g_ptr_array_sort(names, compare_names);
    g_ptr_array_add(names, NULL);
    return (char **)g_ptr_array_free(names, FALSE);
}

static void remove_files(const char *dir, bool keep)
{
    for (unsigned i = 0; run_files[i]; i++) {
        if (keep && i >= N_VOLATILE) break;
        g_autofree char *p = run_path(dir, run_files[i]);
        unlink(p);
    }
}

static void board_free(TbBoard *b)
{
    tb_board_def_clear(&b->def);
    g_free(b->run_dir);
    g_free(b->agent);
    g_free(b->qtest);
    g_free(b->ram);
    g_free(b);
}

/* The fixture text plus a [run] section: what the agent reads. */
static int write_conf(TbBoard *b, const char *fixture, GError **err)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents(fixture, &text, NULL, err)) return -ENOENT;
    g_autofree char *qmp = run_path(b->run_dir, F_QMP);
    g_autofree char *log = run_path(b->run_dir, F_DMA);
    g_autofree char *conf = g_strdup_printf("%s\n[run]\ndir=%s\nsocket=%s\nqtest=%s\nqmp=%s\nram=%s\nlog=%s\n",
                                            text, b->run_dir, b->agent, b->qtest, qmp, b->ram, log);
    g_autofree char *path = run_path(b->run_dir, F_CONF);
    return g_file_set_contents(path, conf, -1, err) ? 0 : -EIO;
}

static GPtrArray *qemu_argv(const TbBoard *b, const TbLaunchOptions *opt)
{
    const TbBoardDef *d = &b->def;
    GPtrArray *v = g_ptr_array_new_with_free_func(g_free);
#define ARG(...) g_ptr_array_add(v, g_strdup_printf(__VA_ARGS__))
    ARG("%s", d->qemu);
    ARG("-machine"), ARG("%s,memory-backend=ram", d->machine);
    ARG("-accel"), ARG("tcg"); /* plugins and icount need TCG; Debian has no qtest accel */
    if (d->cpu) ARG("-cpu"), ARG("%s", d->cpu);
    ARG("-bios"), ARG("%s/%s", env_or("SMMU_FIRMWARE_DIR", TB_FIRMWARE_DIR), d->firmware);
    ARG("-m"), ARG("%llu", (unsigned long long)(d->ram_size >> 20));
    ARG("-object"), ARG("memory-backend-file,id=ram,size=%llu,mem-path=%s,share=on",
                        (unsigned long long)d->ram_size, b->ram);
    /* Halted CPU + icount without sleep: virtual time jumps to the next timer,
     * so edu's 100 ms DMA timer fires at once. */
    ARG("-icount"), ARG("shift=0,sleep=off");
    ARG("-display"), ARG("none"), ARG("-nodefaults"), ARG("-serial"), ARG("none");
    for (unsigned i = 0; d->devices_before[i]; i++)
        if (*d->devices_before[i]) ARG("-device"), ARG("%s", d->devices_before[i]);
    /* dma_mask all ones: edu's default silently truncates bus addresses to 28 bits. */
    for (unsigned i = 0; i < d->n_edu; i++)
        ARG("-device"), ARG("edu,addr=%x.0,dma_mask=0xffffffffffffffff", d->edu_slots[i]);
    ARG("-qtest"), ARG("unix:%s,server=on,wait=off", b->qtest);
    ARG("-qtest-log"), ARG("none");
    ARG("-qmp"), ARG("unix:%s/%s,server=on,wait=off", b->run_dir, F_QMP);
    if (!opt->no_agent)
        ARG("-plugin"), ARG("%s,conf=%s/%s", env_or("SMMU_AGENT_PLUGIN", TB_AGENT_PLUGIN), b->run_dir, F_CONF);
#undef ARG
    g_ptr_array_add(v, NULL);
    return v;
}

static int spawn(TbBoard *b, GPtrArray *argv, bool detach, GError **err)
{
    g_autofree char *log = run_path(b->run_dir, F_LOG);
    int logfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (logfd < 0 || nullfd < 0) {
        int e = errno;
        g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e), "%s: %s", log, g_strerror(e));
        if (logfd >= 0) close(logfd);
        if (nullfd >= 0) close(nullfd);
        return -e;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* Attached boards die with their owner: no QEMU outlives a test. */
        if (detach) setsid();
        else if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent) _exit(127);
        dup2(nullfd, 0);
        dup2(logfd, 1);
        dup2(logfd, 2);
        execvp(argv->pdata[0], (char **)argv->pdata);
        dprintf(2, "exec %s: %s\n", (char *)argv->pdata[0], strerror(errno));
        _exit(127);
    }
    int e = errno;
    close(logfd);
    close(nullfd);
    if (pid < 0) {
        g_set_error(err, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED, "fork: %s", g_strerror(e));
        return -e;
    }
    b->pid = pid;
    b->child = true;
    g_autofree char *pidfile = run_path(b->run_dir, F_PID);
    g_autofree char *text = g_strdup_printf("%d %d\n", pid, b->created_dir);
    return g_file_set_contents(pidfile, text, -1, err) ? 0 : -EIO;
}

static char *log_tail(const TbBoard *b)
{
    g_autofree char *log = run_path(b->run_dir, F_LOG);
    g_autofree char *text = NULL;
    gsize len = 0;
    if (!g_file_get_contents(log, &text, &len, NULL) || len == 0) return g_strdup("(QEMU printed nothing)");
    return g_strdup(len > 1500 ? text + len - 1500 : text);
}

/* Waits, bounded, until the agent (or, without it, the qtest socket) answers. */
static int wait_ready(TbBoard *b, const TbLaunchOptions *opt, GError **err)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)(opt->timeout_ms ? opt->timeout_ms : TB_START_TIMEOUT_MS) * 1000;
    for (;;) {
        int status;
        if (waitpid(b->pid, &status, WNOHANG) == b->pid) {
            b->child = false;
            b->pid = 0;
            g_autofree char *tail = log_tail(b);
            g_set_error(err, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED, "board %s: QEMU exited during start-up:\n%s",
                        b->def.name, tail);
            return -ECHILD;
        }
        if (opt->no_agent) {
            if (g_file_test(b->qtest, G_FILE_TEST_EXISTS)) return 0;
        } else if (g_file_test(b->agent, G_FILE_TEST_EXISTS)) {
            TbAgent *ag = NULL;
            TbReply r = { 0 };
            g_autoptr(GError) e = NULL;
            int rc = tb_agent_connect(b->agent, 5000, &ag, &e);
            if (!rc) rc = tb_agent_call(ag, &r, &e, "hello");
            tb_agent_close(ag);
            if (!rc && r.ok) {
                tb_reply_clear(&r);
                return 0;
            }
            if (!rc) { /* the agent is up but bring-up failed: say why */
                g_set_error(err, TB_ERROR, EIO, "board %s: %s", b->def.name, r.text);
                tb_reply_clear(&r);
                return -EIO;
            }
        }
        if (g_get_monotonic_time() > deadline) {
            g_autofree char *tail = log_tail(b);
            g_set_error(err, TB_ERROR, ETIMEDOUT, "board %s: no answer from the %s within %d ms:\n%s",
                        b->def.name, opt->no_agent ? "qtest socket" : "agent",
                        opt->timeout_ms ? opt->timeout_ms : TB_START_TIMEOUT_MS, tail);
            return -ETIMEDOUT;
        }
        g_usleep(10000);
    }
}

static int make_run_dir(TbBoard *b, const char *want, GError **err)
{
    if (!want) {
        g_autofree char *tmpl = g_build_filename(g_get_tmp_dir(), "smmu-board-XXXXXX", NULL);
        if (!g_mkdtemp(tmpl)) {
            g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s", tmpl, g_strerror(errno));
            return -errno;
        }
        b->run_dir = g_steal_pointer(&tmpl);
        b->created_dir = true;
        return 0;
    }
    /* QEMU's option syntax gives ',' a meaning; a path with one would be cut. */
    if (strchr(want, ',')) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL, "run directory '%s': ',' is not allowed", want);
        return -EINVAL;
    }
    b->created_dir = !g_file_test(want, G_FILE_TEST_IS_DIR);
    if (g_mkdir_with_parents(want, 0700) < 0) {
        g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s", want, g_strerror(errno));
        return -errno;
    }
    b->run_dir = g_canonicalize_filename(want, NULL);
    g_autofree char *pidfile = run_path(b->run_dir, F_PID);
    if (g_file_test(pidfile, G_FILE_TEST_EXISTS)) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_EXIST,
                    "run directory %s already has a board (%s); stop it first", b->run_dir, pidfile);
        b->created_dir = false; /* not ours to remove */
        return -EEXIST;
    }
    return 0;
}

TbBoard *tb_board_start(const char *board, const TbLaunchOptions *opt, GError **err)
{
    static const TbLaunchOptions defaults = { 0 };
    if (!opt) opt = &defaults;
    g_autofree char *fixture = tb_board_resolve(board, err);
    if (!fixture) return NULL;
    TbBoard *b = g_new0(TbBoard, 1);
    b->keep = opt->keep;
    if (tb_board_def_load(fixture, &b->def, err) || make_run_dir(b, opt->run_dir, err)) {
        if (b->run_dir && b->created_dir) rmdir(b->run_dir);
        board_free(b);
        return NULL;
    }
    b->agent = run_path(b->run_dir, F_AGENT);
    b->qtest = run_path(b->run_dir, F_QTEST);
    b->ram = run_path(b->run_dir, F_RAM);
    GPtrArray *argv = qemu_argv(b, opt);
    int rc = write_conf(b, fixture, err);
    if (!rc) rc = spawn(b, argv, opt->detach, err);
    if (!rc) rc = wait_ready(b, opt, err);
    g_ptr_array_unref(argv);
    if (rc) {
        tb_board_stop(b, NULL);
        return NULL;
    }
    return b;
}

/* A process that has exited holds no socket or file any more, even while
 * it waits as a zombie for its parent. A board started detached has init
 * for a parent, and init here reaps only every couple of seconds: polling
 * for the PID to vanish (kill(pid, 0)) made every "smmu-board stop" take
 * 1-2 s after QEMU itself had gone in ~10 ms. */
static bool exited(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT || errno == ESRCH;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return true; /* went while we looked */
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')'); /* the name may hold anything, but not past its ')' */
    return paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X');
}

/* A pidfd names this very process (no PID reuse) and becomes readable when
 * it exits; -1 where the kernel has none (before 5.3). */
static int pidfd_of(pid_t pid)
{
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    errno = ENOSYS;
    return -1;
#endif
}

static int send_signal(pid_t pid, int pidfd, int sig)
{
#ifdef SYS_pidfd_send_signal
    if (pidfd >= 0) return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
#endif
    return kill(pid, sig);
}

/* Waits, bounded, until the process has exited (and reaps it if it is
 * ours); true if it did. */
static bool wait_exit(pid_t pid, int pidfd, bool child, int timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + timeout_ms * 1000ll;
    for (;;) {
        if (child) {
            pid_t w = waitpid(pid, NULL, WNOHANG);
            if (w == pid || (w < 0 && errno == ECHILD)) return true;
        } else if (exited(pid)) {
            return true;
        }
        gint64 left = deadline - g_get_monotonic_time();
        if (left <= 0) return false;
        if (pidfd >= 0) { /* wakes the moment it exits */
            struct pollfd p = { .fd = pidfd, .events = POLLIN };
            if (poll(&p, 1, (int)MIN(left / 1000 + 1, 1000)) > 0 && !child) return true;
        } else {
            g_usleep((gulong)MIN(left, 2000));
        }
    }
}

/* SIGTERM lets QEMU run its exit path (the agent removes its socket);
 * SIGKILL if it does not go in time. Every wait is bounded: -ETIMEDOUT if
 * even SIGKILL did not end it (a process stuck in the kernel). */
static int terminate(pid_t pid, int pidfd, bool child)
{
    if (send_signal(pid, pidfd, SIGTERM) < 0 && errno == ESRCH && !child) return 0;
    if (wait_exit(pid, pidfd, child, TB_STOP_TIMEOUT_MS)) return 0;
    send_signal(pid, pidfd, SIGKILL);
    return wait_exit(pid, pidfd, child, TB_STOP_TIMEOUT_MS) ? 0 : -ETIMEDOUT;
}

static int clean_run_dir(const char *dir, bool created, bool keep, GError **err)
{
    remove_files(dir, keep);
    if (created && !keep && rmdir(dir) < 0 && errno != ENOENT) {
        g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno),
                    "run directory %s not removed: %s (files not made by the board?)", dir, g_strerror(errno));
        return -errno;
    }
    return 0;
}

static int not_stopped(GError **err, pid_t pid)
{
    g_set_error(err, TB_ERROR, ETIMEDOUT, "QEMU (pid %d) did not exit within %d ms of SIGKILL; run directory left as it is",
                (int)pid, TB_STOP_TIMEOUT_MS);
    return -ETIMEDOUT;
}

int tb_board_stop(TbBoard *b, GError **err)
{
    if (!b) return 0;
    int rc = 0;
    if (b->pid > 0) {
        int pidfd = pidfd_of(b->pid);
        rc = terminate(b->pid, pidfd, b->child);
        if (pidfd >= 0) close(pidfd);
        if (rc) rc = not_stopped(err, b->pid);
    }
    if (!rc && b->run_dir) rc = clean_run_dir(b->run_dir, b->created_dir, b->keep, err);
    board_free(b);
    return rc;
}

void tb_board_release(TbBoard *b)
{
    if (b) board_free(b);
}

int tb_board_stop_run_dir(const char *run_dir, bool keep, GError **err)
{
    g_autofree char *pidfile = run_path(run_dir, F_PID);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(pidfile, &text, NULL, NULL)) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_NOENT, "%s: no board is running here (no %s)", run_dir, F_PID);
        return -ENOENT;
    }
    int pid = 0, created = 0;
    if (sscanf(text, "%d %d", &pid, &created) < 1 || pid <= 1) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: malformed pid file", pidfile);
        return -EINVAL;
    }
    /* Only signal the process if it is still the QEMU of this run directory;
     * the pidfd, taken first, keeps the PID from naming another process
     * between the check and the signal. */
    int pidfd = pidfd_of(pid);
    g_autofree char *cmdline_path = g_strdup_printf("/proc/%d/cmdline", pid);
    g_autofree char *cmdline = NULL;
    gsize len = 0;
    int rc = 0;
    if (g_file_get_contents(cmdline_path, &cmdline, &len, NULL)) {
        gboolean ours = FALSE;
        for (gsize off = 0; off < len; off += strlen(cmdline + off) + 1)
            ours |= strstr(cmdline + off, run_dir) != NULL;
        if (ours && terminate(pid, pidfd, false)) rc = not_stopped(err, pid);
    }
    if (pidfd >= 0) close(pidfd);
    return rc ? rc : clean_run_dir(run_dir, created, keep, err);
}

const char *tb_board_run_dir(const TbBoard *b) { return b->run_dir; }
const char *tb_board_agent_path(const TbBoard *b) { return b->agent; }
const char *tb_board_qtest_path(const TbBoard *b) { return b->qtest; }
const char *tb_board_ram_path(const TbBoard *b) { return b->ram; }
const TbBoardDef *tb_board_def(const TbBoard *b) { return &b->def; }
pid_t tb_board_pid(const TbBoard *b) { return b->pid; }
