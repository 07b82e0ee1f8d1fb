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
#include <sys/wait.h>
#include <unistd.h>

#include "service.h"

static Service svc;

static gboolean on_fault_timer(gpointer data)
{
    Service *s = data;
    /* interrupt events that arrived during register accesses wait in the
     * platform: the fd will not show them */
    if (platform_irq_pending(s->platform)) platform_irq_dispatch(s->platform);
    svc_poll_faults(s);
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
    if (raised) svc_unit_irq(opaque, irq); /* event queue, global error: the library's lines */
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

/* Without "foreground": the parent returns once the service is ready (or
 * with the service's own exit status if it went to DSS on the way). */
static int daemonize(int *ready_fd)
{
    int p[2];
    if (pipe(p) < 0) return -errno;
    pid_t pid = fork();
    if (pid < 0) return -errno;
    if (pid > 0) {
        close(p[1]);
        char c;
        if (read(p[0], &c, 1) == 1) _exit(0);
        int status = 0;
        waitpid(pid, &status, 0);
        _exit(WIFEXITED(status) ? WEXITSTATUS(status) : SMMU_EXIT_DSS);
    }
    close(p[0]);
    setsid();
    *ready_fd = p[1];
    return 0;
}

int main(int argc, char **argv)
{
    Service *s = &svc;
    char err[512];
    g_autoptr(GError) gerr = NULL;
    s->prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    s->safety_variant = strstr(s->prog, "safety") != NULL;
    s->attach_fd = s->target_fd = -1;
    s->devices = g_hash_table_new(g_str_hash, g_str_equal);
    s->objects = g_hash_table_new(g_int64_hash, g_int64_equal);
    signal(SIGPIPE, SIG_IGN);

    if (smmu_config_parse(argc - 1, argv + 1, false, &s->cfg, &gerr)) {
        s->cfg.units = g_ptr_array_new(); /* cleared by the failed parse; the DSS opens described units */
        svc_dss(s, "bad configuration: %s", gerr->message);
    }
    if (!s->cfg.safety_given) s->cfg.safety = s->safety_variant ? CFG_SAFETY_REQUIRED : CFG_SAFETY_NONE;
    if (s->cfg.log_file && !(s->log = fopen(s->cfg.log_file, "ae")))
        svc_log(s, SMMU_LOG_WARN, "%s: %s; logging to stderr only", s->cfg.log_file, g_strerror(errno));
    int ready_fd = -1;
    if (!s->cfg.foreground && daemonize(&ready_fd)) svc_dss(s, "cannot daemonize: %s", g_strerror(errno));

    const char *spec = s->cfg.platform ? s->cfg.platform : g_getenv("SMMU_PLATFORM");
    if (!spec) svc_dss(s, "required hardware not present: no platform (platform option or SMMU_PLATFORM)");
    if (platform_open(spec, &s->platform, err, sizeof err)) svc_dss(s, "required hardware not present: %s", err);
    uint64_t base, size;
    platform_pool(s->platform, &base, &size);
    if (!(s->pool = pool_new(base, size, platform_map(s->platform, base, size))))
        svc_dss(s, "table pool 0x%llx+0x%llx is not RAM", (unsigned long long)base, (unsigned long long)size);
    if (svc_load_library(s, err, sizeof err) || svc_open_units(s, err, sizeof err)) svc_dss(s, "%s", err);
    if (obj_apply_config(s, err, sizeof err)) svc_dss(s, "bad configuration: %s", err);
    if (svc_listen(s, err, sizeof err)) svc_dss(s, "cannot listen: %s", err);

    s->loop = g_main_loop_new(NULL, FALSE);
    g_timeout_add(s->cfg.fault_poll_ms, on_fault_timer, s);
    if (s->safety_variant) g_timeout_add(s->cfg.scrub_ms, on_scrub_timer, s);
    if (platform_irq_subscribe(s->platform, on_irq, s) == 0)
        g_unix_fd_add(platform_irq_fd(s->platform), G_IO_IN | G_IO_HUP | G_IO_ERR, on_platform_fd, s);
    g_unix_signal_add(SIGTERM, on_stop_signal, s);
    g_unix_signal_add(SIGINT, on_stop_signal, s);
    g_unix_signal_add(SIGHUP, on_stop_signal, s);
    svc_write_status(s, "running", NULL);
    svc_log(s, SMMU_LOG_INFO, "ready: %u unit(s), attach socket %s, target socket %s", s->n_units,
            s->cfg.attach_socket, s->cfg.target_socket);
    if (ready_fd >= 0) {
        if (write(ready_fd, "R", 1) != 1) { /* the parent is gone; carry on */ }
        close(ready_fd);
    }
    g_main_loop_run(s->loop);
    svc_dss(s, "main loop ended"); /* cannot happen: nothing quits the loop */
}
