/* A board reset in four steps (board-reset.h), each because a fresh board
 * differs from a used one there:
 * - RAM: the scenarios write it (DMA, "ram fill", the service's tables, the
 *   agent's staging page). The RAM file's pages are punched out, which reads
 *   back as zeros in every mapping of it (QEMU's, the runner's) and costs
 *   only the pages that were written. It is done before the machine reset,
 *   because that reset writes QEMU's own blobs back (virt's device tree at
 *   the base of RAM), as it did when the board started.
 * - the machine: QMP system_reset resets every device: intel-iommu and
 *   arm-smmuv3 lose their registers, tables' addresses and caches; PCI
 *   functions lose their BARs and command register; q35 its ECAM. QEMU
 *   resets on its main loop after answering, so the RESET event is what
 *   says it is done.
 * - the agent's bring-up, redone ("bringup"): it places the same BARs.
 * - edu's buffer: QEMU 10's edu has no reset handler; its 4 KiB buffer
 *   keeps the last scenario's bytes, where a fresh engine holds zeros (the
 *   runner's model of it). Each engine reads a page of the now zero RAM,
 *   the IOMMU being off (its reset state passes DMA through). */
#include "board-reset.h"
#include "tb-error.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent-client.h"

/* For the leak test alone (testbed/tests/board-reuse.sh): the steps named
 * in SMMU_BOARD_RESET_SKIP ("ram", "machine", "edu") are left out, so that
 * the test can show it catches each one missing. */
static bool skipped(const char *step)
{
    const char *v = g_getenv("SMMU_BOARD_RESET_SKIP");
    return v && strstr(v, step);
}

static int fail(GError **err, int e, const char *fmt, const char *what)
{
    g_set_error(err, TB_ERROR, e, fmt, what, g_strerror(e));
    return -e;
}

static int zero_ram(const TbBoard *b, GError **err)
{
    const char *path = tb_board_ram_path(b);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) return fail(err, errno, "board reset: %s: %s", path);
    int rc = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, (off_t)tb_board_def(b)->ram_size);
    int e = errno;
    close(fd);
    return rc < 0 ? fail(err, e, "board reset: punching %s: %s", path) : 0;
}

/* One line from the QMP socket into line (bounded by deadline). */
static int qmp_line(int fd, GString *buf, char *line, size_t n, gint64 deadline, GError **err)
{
    for (;;) {
        char *nl = memchr(buf->str, '\n', buf->len);
        if (nl) {
            size_t len = (size_t)(nl - buf->str);
            g_strlcpy(line, buf->str, MIN(len + 1, n));
            g_string_erase(buf, 0, (gssize)len + 1);
            return 0;
        }
        int left = (int)((deadline - g_get_monotonic_time()) / 1000);
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (left <= 0 || poll(&p, 1, left) <= 0) {
            g_set_error(err, TB_ERROR, ETIMEDOUT, "board reset: QMP did not answer within %d ms", TB_RESET_TIMEOUT_MS);
            return -ETIMEDOUT;
        }
        char chunk[4096];
        ssize_t got = read(fd, chunk, sizeof chunk);
        if (got <= 0) return fail(err, got < 0 ? errno : ECONNRESET, "board reset: QMP %s: %s", "closed");
        g_string_append_len(buf, chunk, got);
    }
}

/* Sends cmd and reads lines until one contains want (an error reply is an error). */
static int qmp_until(int fd, GString *buf, const char *cmd, const char *want, gint64 deadline, GError **err)
{
    if (cmd && write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd)) return fail(err, errno, "board reset: QMP %s: %s", "write");
    char line[2048];
    for (;;) {
        int rc = qmp_line(fd, buf, line, sizeof line, deadline, err);
        if (rc) return rc;
        if (strstr(line, want)) return 0;
        if (strstr(line, "\"error\"")) {
            g_set_error(err, TB_ERROR, EIO, "board reset: QMP refused %s: %s", cmd ? cmd : "(greeting)", line);
            return -EIO;
        }
    }
}

static int machine_reset(const TbBoard *b, GError **err)
{
    g_autofree char *path = g_build_filename(tb_board_run_dir(b), "qmp.sock", NULL);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof sa.sun_path) return fail(err, ENAMETOOLONG, "board reset: %s: %s", path);
    g_strlcpy(sa.sun_path, path, sizeof sa.sun_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = errno;
        if (fd >= 0) close(fd);
        return fail(err, e, "board reset: QMP at %s: %s", path);
    }
    gint64 deadline = g_get_monotonic_time() + TB_RESET_TIMEOUT_MS * 1000ll;
    GString *buf = g_string_new(NULL);
    int rc = qmp_until(fd, buf, NULL, "\"QMP\"", deadline, err);
    if (!rc) rc = qmp_until(fd, buf, "{\"execute\":\"qmp_capabilities\"}\n", "\"return\"", deadline, err);
    /* the reply comes before the reset is done; the event after it */
    if (!rc) rc = qmp_until(fd, buf, "{\"execute\":\"system_reset\"}\n", "\"RESET\"", deadline, err);
    g_string_free(buf, TRUE);
    close(fd);
    return rc;
}

static int agent_do(TbAgent *ag, GError **err, const char *what, const char *req)
{
    TbReply r;
    g_autoptr(GError) e = NULL;
    if (tb_agent_do(ag, &r, &e, "%s", req)) {
        g_set_error(err, TB_ERROR, EIO, "board reset: %s: %s", what, e->message);
        return -EIO;
    }
    tb_reply_clear(&r);
    return 0;
}

static char *inventory_of(TbAgent *ag, GError **err)
{
    TbReply r;
    if (tb_agent_do(ag, &r, err, "info")) return NULL;
    GString *s = g_string_new(NULL);
    for (guint i = 0; r.data && i < r.data->len; i++) g_string_append_printf(s, "%s\n", (char *)g_ptr_array_index(r.data, i));
    tb_reply_clear(&r);
    return g_string_free(s, FALSE);
}

char *tb_board_inventory_text(const TbBoard *b, GError **err)
{
    TbAgent *ag = NULL;
    if (tb_agent_connect(tb_board_agent_path(b), 0, &ag, err)) return NULL;
    char *text = inventory_of(ag, err);
    tb_agent_close(ag);
    return text;
}

int tb_board_reset(TbBoard *b, const char *want, GError **err)
{
    int rc = skipped("ram") ? 0 : zero_ram(b, err);
    if (!rc && !skipped("machine")) rc = machine_reset(b, err);
    if (rc) return rc;
    TbAgent *ag = NULL;
    if (tb_agent_connect(tb_board_agent_path(b), TB_RESET_TIMEOUT_MS, &ag, err)) return -EIO;
    tb_agent_set_timeout(ag, TB_RESET_TIMEOUT_MS);
    rc = agent_do(ag, err, "the agent's bring-up", "bringup");
    const TbBoardDef *d = tb_board_def(b);
    for (unsigned i = 0; !rc && !skipped("edu") && i < d->n_edu; i++) {
        g_autofree char *req = g_strdup_printf("dma edu%u read 0x%llx 4096", i, (unsigned long long)d->stage_base);
        g_autofree char *what = g_strdup_printf("emptying edu%u's buffer", i);
        rc = agent_do(ag, err, what, req);
    }
    if (!rc && want) {
        g_autofree char *now = inventory_of(ag, err);
        if (!now) rc = -EIO;
        else if (strcmp(now, want)) {
            g_set_error(err, TB_ERROR, EIO, "board reset: the inventory differs from the one at start:\n%s\nnow:\n%s", want, now);
            rc = -EIO;
        }
    }
    tb_agent_close(ag);
    return rc;
}
