/* smmu-qvm: the VM model, one process per VM (docs/vm-config.md,
 * docs/vdev-smmu.md). It plays what QNX's qvm does for smmuman: a client of
 * the host service with the target ability that gives its pass-through
 * devices the VM's whole memory (A) until the guest's own smmuman takes over
 * through vdev-smmu, whose requests it checks, translates and forwards.
 *
 *   smmu-qvm [--host-socket PATH] [--run-dir DIR] [--status-file PATH] CONFIG
 *
 * Exit status: 0 stopped by a signal, 1 did not start, 2 usage, 3 the VM's
 * DSS (its guest's service went away), 4 the host service went away. */
#include <errno.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vdev-server.h"
#include "vm-config.h"
#include "vm.h"

#ifndef SMMU_VERSION
#error "SMMU_VERSION: the build passes the project's version"
#endif

typedef struct {
    const char *prog;
    VmConfig cfg;
    bool have_cfg;
    char *status_file, *vdev_path, *host_socket;
    Vm *vm;
    VdevServer *srv;
    bool ending;
} Qvm;

static void usage(FILE *f, const char *prog)
{
    fprintf(f,
            "usage: %s [--host-socket PATH] [--run-dir DIR] [--status-file PATH] CONFIG\n"
            "A VM model (one process per VM): connects to the host smmuman's target socket, gives\n"
            "the VM's pass-through devices its whole guest RAM, and serves vdev-smmu to the\n"
            "guest's smmuman. CONFIG is a VM configuration (docs/vm-config.md).\n"
            "  --host-socket PATH  the host service's target socket (default: $SMMU_SOCKET, else %s)\n"
            "  --run-dir DIR       where relative vdev 'loc' paths are (default: the current directory)\n"
            "  --status-file PATH  state=running|dss|stopped, vdev=, reason=, ... (written once serving)\n"
            "  --help, --version\n"
            "Exit status: 0 stopped by SIGTERM/SIGINT/SIGHUP (devices blocked), 1 did not start,\n"
            "2 usage, 3 the VM's DSS (its guest's service went away), 4 the host service went away.\n",
            prog, SMMU_DEFAULT_TARGET_SOCKET);
}

static const char *vm_name(const Qvm *q) { return q->have_cfg ? q->cfg.name : "-"; }

static void say(Qvm *q, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void say(Qvm *q, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: %s: %s\n", q->prog, vm_name(q), msg);
}

static void write_status(Qvm *q, const char *state, const char *reason)
{
    if (!q->status_file) return;
    g_autofree char *text =
        g_strdup_printf("state=%s\npid=%d\nvm=%s\nvdev=%s\nhost=%s\nreason=%s\n", state, (int)getpid(), vm_name(q),
                        q->vdev_path ? q->vdev_path : "", q->host_socket ? q->host_socket : "", reason ? reason : "");
    /* write-then-rename: a runner never reads half a status */
    g_autofree char *tmp = g_strconcat(q->status_file, ".tmp", NULL);
    if (!g_file_set_contents(tmp, text, -1, NULL) || rename(tmp, q->status_file) < 0)
        say(q, "%s: cannot write the status file", q->status_file);
}

/* The one way out once running: every pass-through device blocked on the
 * host first, then the guest told, the socket gone, the status written. */
static _Noreturn void end(void *ctx, int exit_status, const char *state, const char *reason)
{
    Qvm *q = ctx;
    if (q->ending) { /* a failure on the way out: keep going out */
        say(q, "while ending: %s", reason);
        _exit(exit_status);
    }
    q->ending = true;
    const char *what = exit_status == VM_EXIT_DSS    ? "entering the VM's Design Safe State"
                       : exit_status == VM_EXIT_HOST ? "ending: the host service is gone"
                                                     : "stopping";
    say(q, "%s: %s; every pass-through device is blocked, exit status %d", what, reason, exit_status);
    if (q->vm) vm_block_all(q->vm);
    char told[1024]; /* on the stack: exit() below frees nothing of ours */
    snprintf(told, sizeof told, "VM %s: %s", vm_name(q), reason);
    vdev_server_tell_end(q->srv, -EIO, told);
    vdev_server_close(q->srv);
    q->srv = NULL;
    write_status(q, state, reason);
    vm_free(q->vm);
    q->vm = NULL;
    fflush(NULL);
    exit(exit_status);
}

/* Did not start: nothing is left behind (the host undoes what the VM's
 * connection made when it closes). */
static _Noreturn void refuse(Qvm *q, const char *reason)
{
    say(q, "not started: %s", reason);
    write_status(q, "stopped", reason);
    exit(VM_EXIT_REFUSED);
}

static void hook_log(void *ctx, const char *msg) { say(ctx, "%s", msg); }

static gboolean on_host(gint fd, GIOCondition cond, gpointer data)
{
    Qvm *q = data;
    vm_drain_faults(q->vm);
    return G_SOURCE_CONTINUE;
}

static gboolean on_signal_term(gpointer data) { end(data, VM_EXIT_STOPPED, "stopped", "stopped by SIGTERM"); }
static gboolean on_signal_int(gpointer data) { end(data, VM_EXIT_STOPPED, "stopped", "stopped by SIGINT"); }
static gboolean on_signal_hup(gpointer data) { end(data, VM_EXIT_STOPPED, "stopped", "stopped by SIGHUP"); }

int main(int argc, char **argv)
{
    Qvm q = { .prog = "smmu-qvm" };
    const char *config = NULL, *run_dir = NULL, *host = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout, q.prog);
            return 0;
        }
        if (strcmp(a, "--version") == 0) {
            printf("%s %s\n", q.prog, SMMU_VERSION);
            return 0;
        }
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = strcmp(a, "--host-socket") == 0   ? &host
                            : strcmp(a, "--run-dir") == 0     ? &run_dir
                            : strcmp(a, "--status-file") == 0 ? (const char **)&q.status_file
                                                              : NULL;
        if (slot) {
            if (i + 1 >= argc) {
                fprintf(stderr, "%s: %s needs a value\n", q.prog, a);
                usage(stderr, q.prog);
                return VM_EXIT_USAGE;
            }
            *slot = argv[++i];
        } else if (a[0] == '-' || config) {
            fprintf(stderr, "%s: unexpected argument '%s'\n", q.prog, a);
            usage(stderr, q.prog);
            return VM_EXIT_USAGE;
        } else {
            config = a;
        }
    }
    if (!config) {
        fprintf(stderr, "%s: no VM configuration given\n", q.prog);
        usage(stderr, q.prog);
        return VM_EXIT_USAGE;
    }
    q.status_file = g_strdup(q.status_file);
    if (!host) host = g_getenv("SMMU_SOCKET");
    q.host_socket = g_strdup(host && *host ? host : SMMU_ABILITY_TARGET_NAME);
    signal(SIGPIPE, SIG_IGN);

    g_autoptr(GError) gerr = NULL;
    if (vm_config_load(config, &q.cfg, &gerr)) refuse(&q, gerr->message);
    q.have_cfg = true;
    if (q.cfg.smmu >= 0) {
        const char *loc = q.cfg.vdev[q.cfg.smmu].loc;
        g_autofree char *cwd = g_get_current_dir();
        /* relative: from the VM's run directory, never the configuration's
         * (a fixture in a source tree would get sockets, and two VMs of one
         * file would share one) */
        q.vdev_path = g_path_is_absolute(loc) ? g_strdup(loc) : g_build_filename(run_dir ? run_dir : cwd, loc, NULL);
    }

    char err[1024] = "";
    VmHooks hooks = { .ctx = &q, .log = hook_log, .end = end };
    if (vm_start(&q.cfg, q.host_socket, &hooks, &q.vm, err, sizeof err)) refuse(&q, err);
    if (q.vdev_path && vdev_server_open(q.vdev_path, &vm_vdev_ops, q.vm, &q.srv, err, sizeof err)) {
        vm_free(q.vm); /* its connection closes: the host undoes A */
        q.vm = NULL;
        refuse(&q, err);
    }
    vm_set_server(q.vm, q.srv);
    g_unix_fd_add(vm_host_fd(q.vm), G_IO_IN | G_IO_HUP | G_IO_ERR, on_host, &q);
    g_unix_signal_add(SIGTERM, on_signal_term, &q);
    g_unix_signal_add(SIGINT, on_signal_int, &q);
    g_unix_signal_add(SIGHUP, on_signal_hup, &q);
    write_status(&q, "running", NULL);
    char *ram = vm_ram_text(&q.cfg), *pass = vm_pass_text(&q.cfg);
    say(&q, "running: guest RAM %s, pass-through %s, vdev-smmu %s, host service %s", ram, pass,
        q.vdev_path ? q.vdev_path : "none", q.host_socket);
    g_free(ram); /* main never returns: every end is an exit() */
    g_free(pass);
    GMainLoop *loop = g_main_loop_new(NULL, FALSE);
    g_main_loop_run(loop); /* nothing quits it: every end is end() */
    end(&q, VM_EXIT_DSS, "dss", "main loop ended");
}
