/* The Design Safe State: the one door (ARCHITECTURE.md decision 8).
 * Every unrecoverable condition ends here: every unit is left blocking all
 * DMA, the reason goes to stderr, the log and the status file, connected
 * clients are told, and the service exits with SMMU_EXIT_DSS. There is no
 * way back. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../hw/vdev.h"
#include "../lib/proto.h"
#include "service.h"

#define DSS_TELL_US 200000 /* telling clients must not hold up the exit */

void svc_write_status(Service *s, const char *state, const char *reason)
{
    /* $SMMU_STATUS_FILE too: a configuration that failed to parse names none */
    const char *path = s->cfg.status_file ? s->cfg.status_file : g_getenv("SMMU_STATUS_FILE");
    if (!path) return;
    g_autofree char *text = g_strdup_printf("state=%s\npid=%d\nreason=%s\n", state, (int)getpid(),
                                            reason ? reason : "");
    /* write-then-rename: a reader never sees half a status */
    g_autofree char *tmp = g_strconcat(path, ".tmp", NULL);
    if (g_file_set_contents(tmp, text, -1, NULL)) rename(tmp, path);
}

void svc_dss(Service *s, const char *fmt, ...)
{
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    if (s->in_dss) { /* a failure while already on the way out: keep going out */
        svc_log(s, SMMU_LOG_ERROR, "during DSS: %s", reason);
        _exit(SMMU_EXIT_DSS);
    }
    s->in_dss = true;
    svc_log(s, SMMU_LOG_ERROR, "entering Design Safe State: %s", reason);
#ifndef SMMU_MUTATION_DSS_NO_BLOCK
    /* no unit of ours is open (bad configuration, no platform, library
     * missing or refused, unit not found): block what every platform we
     * were told of describes rather than leave it passing DMA */
    unsigned n = s->core ? core_units(s->core) : 0;
    /* a guest has no hardware of its own to open: the VM blocks its
     * devices when this service's connection goes (docs/vdev-smmu.md) */
    if (n == 0 && s->guest && s->vdev) vdev_ops.block_all(s->vdev);
    else if (n == 0 && !s->guest) svc_block_described_units(s);
    for (unsigned i = 0; i < n; i++)
        if (core_unit_ops(s->core, i)->block_all(core_unit_hw(s->core, i)))
            svc_log(s, SMMU_LOG_ERROR, "%s: blocking all DMA may not have completed", core_unit_name(s->core, i));
#endif
    svc_write_status(s, "dss", reason);
    /* every client hears why; one that does not read is waited for a
     * little, all of them together for at most DSS_TELL_US */
    const int64_t deadline = g_get_monotonic_time() + DSS_TELL_US;
    for (GList *l = s->clients; l; l = l->next) {
        client_send_event(l->data, SMMU_EV_DSS, -EIO, 0, reason);
        client_flush_until(l->data, deadline);
    }
    /* nobody is listening any more: leave no socket for a client to find */
    if (s->attach_fd >= 0) unlink(s->cfg.attach_socket);
    if (s->target_fd >= 0) unlink(s->cfg.target_socket);
    for (unsigned i = G_N_ELEMENTS(s->made_dirs); i-- > 0;)
        if (s->made_dirs[i]) rmdir(s->made_dirs[i]);
    fflush(NULL);
    exit(SMMU_EXIT_DSS);
}
