/* smmuman: the IOMMU/SMMU manager service.
 *
 *   smmuman [option ...]          options as in docs/configuration.md, @file reads a file
 *   smmuman-safety [option ...]   the safety variant (prefers -safety libraries,
 *                                 integrity scrub of table memory)
 *
 * Order of start-up: configuration, platform, support library, units (each
 * left blocking everything: deny by default), startup mappings, sockets.
 * Anything unrecoverable on the way, or later, is the Design Safe State:
 * exit status SMMU_EXIT_DSS (docs/dss.md). */
#include <errno.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../hw/vdev.h"
#include "../lib/proto.h"
#include "service.h"

static Service svc;

static gboolean on_fault_timer(gpointer data)
{
    Service *s = data;
    /* interrupt events that arrived during register accesses wait in the
     * platform: the fd will not show them */
    if (platform_irq_pending(s->platform)) platform_irq_dispatch(s->platform);
    core_poll_faults(s->core);
    return G_SOURCE_CONTINUE;
}

static gboolean on_scrub_timer(gpointer data)
{
    Service *s = data;
    uint64_t bad;
    if (pool_scrub(s->pool, &bad)) svc_dss(s, "integrity scrub: table memory at 0x%llx was changed behind the service's back",
                                            (unsigned long long)bad);
    return G_SOURCE_CONTINUE;
}

static void on_irq(void *opaque, unsigned irq, bool raised)
{
    Service *s = opaque;
    if (raised) core_irq(s->core, irq); /* event queue, global error: the library's lines */
}

static gboolean on_platform_fd(gint fd, GIOCondition cond, gpointer data)
{
    Service *s = data;
    if (cond & (G_IO_HUP | G_IO_ERR)) svc_dss(s, "lost the platform (board agent connection closed)");
    platform_irq_dispatch(s->platform);
    return G_SOURCE_CONTINUE;
}

/* Stopping the service is never safe (seed 000: "You should never stop the
 * smmuman service"): a stop request is a DSS, leaving every device blocked. */
static gboolean on_stop_signal(gpointer data)
{
    svc_dss(data, "stopped by a signal: the service must never be stopped");
}

/* Without "foreground": the parent returns once the service is ready, or
 * with the service's own exit status if it went to DSS on the way. A crash
 * is reported as a crash: its signal, and 128 + the signal as a shell
 * would, never the DSS status (a DSS has blocked every unit; a crash has
 * not). */
static int daemonize(const char *prog, int *ready_fd)
{
    int p[2];
    if (pipe(p) < 0) return -errno;
    pid_t pid = fork();
    if (pid < 0) return -errno;
    if (pid > 0) {
        close(p[1]);
        char c;
        ssize_t n;
        while ((n = read(p[0], &c, 1)) < 0 && errno == EINTR) {}
        if (n == 1) _exit(0);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
        int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
        fprintf(stderr, "%s: the service crashed during start-up (signal %d, %s)%s: this is not a Design Safe State, "
                        "the units may not be blocking\n",
                prog, sig, strsignal(sig), WCOREDUMP(status) ? ", core dumped" : "");
        _exit(128 + sig);
    }
    close(p[0]);
    setsid();
    *ready_fd = p[1];
    return 0;
}

static void usage(FILE *f, const char *prog)
{
    fprintf(f,
            "usage: %s [option ...]\n"
            "The IOMMU/SMMU manager service. Options are the configuration's keywords\n"
            "(docs/configuration.md), without dashes; @FILE reads a file of them, e.g.\n"
            "  %s @/etc/board.smmu\n"
            "  %s foreground platform board:RUNDIR smmu vtd attach-socket PATH\n"
            "Anything unrecoverable, including a stop signal, is the Design Safe State:\n"
            "every unit left blocking, exit status %d (docs/dss.md).\n"
            "  --help     this text\n"
            "  --version  the version\n",
            prog, prog, prog, SMMU_EXIT_DSS);
}

/* Each client's share, from the configuration or the defaults
 * (docs/configuration.md): an eighth of the table pool, and counts that
 * no honest driver comes near. */
static CoreLimits limits_of(const Service *s)
{
    const SmmuConfig *c = &s->cfg;
    return (CoreLimits){
        .client_pages = c->client_pages ? c->client_pages : s->pool ? pool_pages_total(s->pool) / 8 : 0,
        .client_objects = c->client_objects ? (unsigned)c->client_objects : 1024,
        .client_devices = c->client_devices ? (unsigned)c->client_devices : 64,
        .client_regions = c->client_regions ? c->client_regions : 16384,
    };
}

/* ---- what the core tells its shell ---- */

static void hook_log(void *ctx, SmmuLogLevel level, const char *msg) { svc_log(ctx, level, "%s", msg); }

static void hook_notify(void *ctx, CoreClient *cc, uint32_t pending)
{
    client_send_event(cc->shell, SMMU_EV_FAULT, 0, pending, NULL);
}

static void hook_dss(void *ctx, const char *reason) { svc_dss(ctx, "%s", reason); }
static void door(Service *s, const char *reason) { svc_dss(s, "%s", reason); }

static size_t pool_used_cb(void *ctx) { return pool_pages_used(ctx); }
static size_t pool_total_cb(void *ctx) { return pool_pages_total(ctx); }

/* A host weighs its table pool; a guest has none (the host weighs its own). */
static Core *make_core(Service *s)
{
    CoreHooks hooks = { .ctx = s, .log = hook_log, .notify = hook_notify, .dss = hook_dss };
    CoreMemory mem = { 0 };
    if (s->pool) {
        uint64_t base, size;
        platform_pool(s->platform, &base, &size);
        mem = (CoreMemory){ .ctx = s->pool, .pages_used = pool_used_cb, .pages_total = pool_total_cb,
                            .protected_base = base, .protected_size = size };
    }
    CoreLimits limits = limits_of(s);
    return core_new(&hooks, &mem, &limits);
}

/* ---- where the service runs: a guest's vdev-smmu first (seed 000) ---- */

/* Where a guest would find vdev-smmu: $SMMU_VDEV, else the configuration's
 * vdev-smmu, read from whatever of it parses (the mode decides how the
 * rest is parsed). NULL when neither names one. */
static char *vdev_named(int argc, char **argv)
{
    const char *env = g_getenv("SMMU_VDEV");
    if (env && *env) return g_strdup(env);
    SmmuConfig c;
    memset(&c, 0, sizeof c);
    smmu_config_salvage(argc, argv, &c);
    char *path = g_strdup(c.vdev_smmu);
    smmu_config_clear(&c);
    return path;
}

/* Found: a socket is there (opening it is the VM's cue that its guest's
 * service is up, so it is opened once, for good, not probed). */
static bool vdev_present(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

static gboolean on_vdev_fd(gint fd, GIOCondition cond, gpointer data)
{
    Service *s = data;
    core_poll_faults(s->core); /* records, or the VM gone: the core decides */
    return G_SOURCE_CONTINUE;
}

/* The certification query (docs/vdev-smmu.md): what is not certified, as
 * "cert.KEY" words; NULL when the VM's answer does not say a host service
 * runs with this VM as its client. */
static char *uncertified(const char *status, unsigned *family)
{
    bool running = false, client = false;
    GString *no = g_string_new(NULL);
    g_auto(GStrv) lines = g_strsplit(status, "\n", -1);
    for (unsigned i = 0; lines[i]; i++) {
        const char *l = lines[i];
        if (strcmp(l, "host.service=running") == 0) running = true;
        else if (strcmp(l, "host.client=yes") == 0) client = true;
        else if (strcmp(l, "host.hardware=vtd") == 0) *family = SSF_HW_VTD;
        else if (strcmp(l, "host.hardware=smmuv3") == 0) *family = SSF_HW_SMMUV3;
        else if (g_str_has_prefix(l, "cert.") && g_str_has_suffix(l, "=no"))
            g_string_append_printf(no, "%s%.*s", no->len ? ", " : "", (int)(strchr(l, '=') - l - 5), l + 5);
    }
    if (!running || !client) {
        g_string_free(no, TRUE);
        return NULL;
    }
    return g_string_free(no, FALSE);
}

/* Guest mode: no platform, no support library, no table pool; the one
 * unit is vdev-smmu, queried before anyone is served. */
static void start_guest(Service *s, const char *path)
{
    char err[512];
    SmmuHwUnit *u;
    if (vdev_unit_open("vdev0", path, &u, err, sizeof err)) svc_dss(s, "required hardware not present: %s", err);
    s->vdev = u;
    g_autofree char *status = vdev_status_text(u);
    if (!status) svc_dss(s, "vdev-smmu %s: the certification query failed: %s", path, g_strerror(errno));
    unsigned family = 0;
    g_autofree char *no = uncertified(status, &family);
    if (!no) svc_dss(s, "vdev-smmu %s: no host service has this VM as its client", path);
    s->guest_certified = !*no;
    if (*no) {
        if (s->cfg.safety == CFG_SAFETY_REQUIRED) svc_dss(s, "safety: uncertified components: %s", no);
        if (s->cfg.safety == CFG_SAFETY_WARN) svc_log(s, SMMU_LOG_WARN, "safety: uncertified components: %s", no);
    }
    s->hw_family = family;
    s->core = make_core(s);
    if (core_add_unit(s->core, "vdev0", &vdev_ops, u, family) < 0) svc_dss(s, "cannot add the vdev-smmu unit");
    svc_log(s, SMMU_LOG_INFO, "guest mode: vdev-smmu %s; every pass-through device blocked until mapped", path);
}

/* Host mode: the platform, the table pool, the support library and its units. */
static void start_host(Service *s)
{
    char err[512];
    const char *spec = s->cfg.platform ? s->cfg.platform : g_getenv("SMMU_PLATFORM");
    if (!spec) svc_dss(s, "required hardware not present: no platform (platform option or SMMU_PLATFORM)");
    if (platform_open(spec, &s->platform, err, sizeof err)) svc_dss(s, "required hardware not present: %s", err);
    s->platform_spec = g_strdup(spec);
    uint64_t base, size;
    platform_pool(s->platform, &base, &size);
    if (!(s->pool = pool_new(base, size, platform_map(s->platform, base, size))))
        svc_dss(s, "table pool 0x%llx+0x%llx is not RAM", (unsigned long long)base, (unsigned long long)size);
    s->core = make_core(s);
    if (svc_load_library(s, err, sizeof err) || svc_open_units(s, err, sizeof err)) svc_dss(s, "%s", err);
}

static void open_log(Service *s)
{
    if (s->cfg.log_file && !(s->log = fopen(s->cfg.log_file, "ae")))
        svc_log(s, SMMU_LOG_WARN, "%s: %s; logging to stderr only", s->cfg.log_file, g_strerror(errno));
}

int main(int argc, char **argv)
{
    Service *s = &svc;
    char err[512];
    g_autoptr(GError) gerr = NULL;
    s->prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    s->safety_variant = strstr(s->prog, "safety") != NULL;
    /* asked about itself: answer, touch nothing */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout, s->prog);
            return 0;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("%s %s\n", s->prog, SMMU_VERSION);
            return 0;
        }
    }
    s->attach_fd = s->target_fd = -1;
    s->door = door;
    signal(SIGPIPE, SIG_IGN);

    g_autofree char *vdev = vdev_named(argc - 1, argv + 1);
    s->guest = vdev_present(vdev);
    if (smmu_config_parse(argc - 1, argv + 1, s->guest, &s->cfg, &gerr)) {
        /* what the door needs (platform, units, status and log files) is
         * read again from whatever of the input still reads */
        smmu_config_salvage(argc - 1, argv + 1, &s->cfg);
        open_log(s);
        svc_dss(s, "bad configuration: %s", gerr->message);
    }
    if (!s->cfg.safety_given) s->cfg.safety = s->safety_variant ? CFG_SAFETY_REQUIRED : CFG_SAFETY_NONE;
    open_log(s);
    /* what a guest ignores, said at its line */
    for (guint i = 0; i < s->cfg.notices->len; i++)
        svc_log(s, SMMU_LOG_INFO, "%s", (const char *)g_ptr_array_index(s->cfg.notices, i));
    int ready_fd = -1;
    if (!s->cfg.foreground && daemonize(s->prog, &ready_fd)) svc_dss(s, "cannot daemonize: %s", g_strerror(errno));

    s->max_clients = s->cfg.max_clients ? (unsigned)s->cfg.max_clients : 256;
    if (s->guest) start_guest(s, vdev);
    else start_host(s);
    if (svc_apply_config(s, err, sizeof err)) svc_dss(s, "bad configuration: %s", err);
    if (svc_listen(s, err, sizeof err)) svc_dss(s, "cannot listen: %s", err);

    s->loop = g_main_loop_new(NULL, FALSE);
    if (s->guest) {
        g_unix_fd_add(vdev_fault_fd(s->vdev), G_IO_IN | G_IO_HUP | G_IO_ERR, on_vdev_fd, s);
    } else {
        g_timeout_add(s->cfg.fault_poll_ms, on_fault_timer, s);
        if (s->safety_variant) g_timeout_add(s->cfg.scrub_ms, on_scrub_timer, s);
        if (platform_irq_subscribe(s->platform, on_irq, s) == 0)
            g_unix_fd_add(platform_irq_fd(s->platform), G_IO_IN | G_IO_HUP | G_IO_ERR, on_platform_fd, s);
    }
    g_unix_signal_add(SIGTERM, on_stop_signal, s);
    g_unix_signal_add(SIGINT, on_stop_signal, s);
    g_unix_signal_add(SIGHUP, on_stop_signal, s);
    svc_write_status(s, "running", NULL);
    svc_log(s, SMMU_LOG_INFO, "ready: %u unit(s), attach socket %s, target socket %s", core_units(s->core),
            s->cfg.attach_socket, s->cfg.target_socket);
    if (ready_fd >= 0) {
        if (write(ready_fd, "R", 1) != 1) { /* the parent is gone; carry on */ }
        close(ready_fd);
    }
    g_main_loop_run(s->loop);
    svc_dss(s, "main loop ended"); /* cannot happen: nothing quits the loop */
}
