/* The board agent: a TCG plugin that lives exactly as long as QEMU. QEMU's
 * plugin API cannot write memory or registers, so the agent opens QEMU's own
 * qtest port from a thread of its own, does the firmware's bring-up, and then
 * serves clients on a Unix socket (docs/board-protocol.md). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "plugin-api.h"
#include "server.h"

/* QEMU 10 accepts plugin API versions 2..4; we use nothing newer than 2. */
AGENT_EXPORT int qemu_plugin_version = 2;

#define QTEST_CONNECT_TIMEOUT_MS 30000

static Agent agent;
static int stop_pipe[2] = { -1, -1 };

static void on_irq(void *opaque, unsigned irq, bool raised)
{
    Agent *a = opaque;
    if (irq < REQ_MAX_IRQ) a->irq_level[irq] = raised;
    if (raised) a->last_raised = (int)irq;
    if (a->irq_event) a->irq_event(a, irq, raised);
}

static void bring_up(Agent *a)
{
    char reply[160];
    int rc = qt_connect(&a->qt, a->def.run_qtest, QTEST_CONNECT_TIMEOUT_MS, on_irq, a);
    if (rc) {
        snprintf(a->bringup_error, sizeof a->bringup_error, "cannot reach qtest at %s: %s",
                 a->def.run_qtest, strerror(-rc));
        return;
    }
    /* Interrupt lines first, so that bring-up can learn each engine's INTx. */
    rc = qt_cmd(&a->qt, reply, sizeof reply, "irq_intercept_in %s", a->def.irq_controller);
    if (rc) {
        snprintf(a->bringup_error, sizeof a->bringup_error, "irq_intercept_in %s: %s",
                 a->def.irq_controller, rc == -EIO ? reply : strerror(-rc));
        return;
    }
    if ((rc = units_probe(a))) {
        snprintf(a->bringup_error, sizeof a->bringup_error, "probing the IOMMU units failed: %s",
                 strerror(-rc));
        return;
    }
    pci_bringup(a);
}

static void *agent_thread(void *arg)
{
    Agent *a = arg;
    char err[256];
    bring_up(a);
    if (a->bringup_error[0]) fprintf(stderr, "board-agent: %s\n", a->bringup_error);
    if (a->def.run_log && !(a->log = fopen(a->def.run_log, "we")))
        fprintf(stderr, "board-agent: %s: %s (DMA log disabled)\n", a->def.run_log, strerror(errno));
    /* Listen even after a failed bring-up: the launcher then gets the reason
     * at once instead of waiting for a socket that never comes. */
    Server *s = server_new(a, a->def.run_socket, stop_pipe[0], err, sizeof err);
    if (!s) {
        fprintf(stderr, "board-agent: %s\n", err);
        return NULL;
    }
    server_run(s);
    server_free(s);
    return NULL;
}

static void on_exit_cb(qemu_plugin_id_t id, void *userdata)
{
    (void)id;
    Agent *a = userdata;
    /* QEMU is exiting: its main loop no longer answers qtest, so the thread
     * may be blocked; wake it, and remove our socket ourselves. */
    if (stop_pipe[1] >= 0 && write(stop_pipe[1], "x", 1) < 0) { /* exiting anyway */ }
    if (a->def.run_socket) unlink(a->def.run_socket);
}

AGENT_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv);

AGENT_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    const char *conf = NULL;
    GError *err = NULL;
    if (!info->system_emulation) {
        fprintf(stderr, "board-agent: needs system emulation\n");
        return -1;
    }
    for (int i = 0; i < argc; i++) {
        if (g_str_has_prefix(argv[i], "conf=")) conf = argv[i] + 5;
        else {
            fprintf(stderr, "board-agent: unknown argument '%s' (expected conf=PATH)\n", argv[i]);
            return -1;
        }
    }
    if (!conf) {
        fprintf(stderr, "board-agent: missing conf=PATH (the run directory's board.conf)\n");
        return -1;
    }
    if (tb_board_def_load(conf, &agent.def, &err)) {
        fprintf(stderr, "board-agent: %s\n", err->message);
        g_error_free(err);
        return -1;
    }
    if (!agent.def.run_socket || !agent.def.run_qtest) {
        fprintf(stderr, "board-agent: %s: [run] socket and qtest are required\n", conf);
        return -1;
    }
    agent.last_raised = AGENT_NO_IRQ;
    if (pipe2(stop_pipe, O_CLOEXEC) < 0) return -1;
    pthread_t t;
    if (pthread_create(&t, NULL, agent_thread, &agent) != 0) return -1;
    pthread_detach(t);
    qemu_plugin_register_atexit_cb(id, on_exit_cb, &agent);
    return 0;
}
