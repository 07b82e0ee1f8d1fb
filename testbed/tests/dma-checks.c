#include "dma-checks.h"

#include <poll.h>

/* ---- the board: RAM and DMA ---------------------------------------------------- */

uint64_t at(Svc *s, uint64_t off) { return board_addr(&s->b, off); }

void fill(Svc *s, uint64_t addr, uint8_t v) { memset(board_ram(&s->b, addr, LEN), v, LEN); }

void check_ram(Svc *s, uint64_t addr, uint8_t v, const char *what)
{
    const uint8_t *p = board_ram(&s->b, addr, LEN);
    for (unsigned i = 0; i < LEN; i++)
        ck_assert_msg(p[i] == v, "%s: RAM 0x%llx+%u is 0x%02x, want 0x%02x", what, (unsigned long long)addr, i, p[i], v);
}

void dma(Svc *s, const char *dev, const char *dir, uint64_t addr)
{
    g_free(board_ok(&s->b, "dma %s %s 0x%llx %d", dev, dir, (unsigned long long)addr, LEN));
}

/* The device reads at gpa (the bytes at hpa, filled with v), then writes
 * them back at gpa after hpa was cleared: they are at hpa, and the RAM at
 * the untranslated address gpa (when it is not hpa) did not change. The
 * engine holds v afterwards (never 0x5a: that is the blocked writes'
 * witness). */
void lands(Svc *s, const char *dev, uint64_t gpa, uint64_t hpa, uint8_t v, const char *what)
{
    ck_assert(v != 0x5a);
    if (gpa != hpa) fill(s, gpa, 0xee);
    fill(s, hpa, v);
    dma(s, dev, "read", gpa);
    fill(s, hpa, 0x00);
    dma(s, dev, "write", gpa);
    check_ram(s, hpa, v, what);
    if (gpa != hpa) check_ram(s, gpa, 0xee, what);
}

/* A write by dev at gpa crosses nowhere: the RAM at each watched address
 * (the backing, the untranslated address, ...) keeps 0x5a. */
void blocked(Svc *s, const char *dev, uint64_t gpa, const uint64_t *watch, unsigned n, const char *what)
{
    for (unsigned i = 0; i < n; i++) fill(s, watch[i], 0x5a);
    dma(s, dev, "write", gpa);
    for (unsigned i = 0; i < n; i++) check_ram(s, watch[i], 0x5a, what);
}

/* ---- records -------------------------------------------------------------------- */

int next_record(struct smmu_conn *conn, struct smmu_status *st, int ms)
{
    int fd = smmu_conn_xfer_fd(conn);
    ck_assert_msg(fd >= 0, "smmu_conn_xfer_fd: %s", strerror(errno));
    gint64 deadline = g_get_monotonic_time() + ms * 1000ll;
    for (;;) {
        int r = smmu_conn_xfer_status(conn, st);
        ck_assert_msg(r >= 0, "smmu_conn_xfer_status: %s", strerror(errno));
        if (r == 1) return 1;
        gint64 left = (deadline - g_get_monotonic_time()) / 1000;
        if (left <= 0) return 0;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        poll(&p, 1, (int)left);
    }
}

/* conn's queue holds the record of 0:dev.0 writing at addr, and nothing
 * else (SMMUv3 folds a DMA's records into one; any more must be the same). */
void expect_record(struct smmu_conn *conn, const char *who, unsigned dev, uint64_t addr)
{
    struct smmu_status st;
    ck_assert_msg(next_record(conn, &st, WITHIN_MS), "%s: no record of 0:%u.0 at 0x%llx within %d ms", who, dev,
                  (unsigned long long)addr, WITHIN_MS);
    unsigned n = 0;
    do {
        ck_assert_msg(st.devid.type == SDT_PCI && st.devid.pci.bus == 0 && st.devid.pci.dev == dev &&
                          st.devid.pci.func == 0 && st.fault_addr == addr && (st.flags & SSF_WRITE),
                      "%s: record %u: device %u:%u.%u address 0x%llx flags 0x%x, want 0:%u.0 0x%llx write", who, n,
                      st.devid.pci.bus, st.devid.pci.dev, st.devid.pci.func, (unsigned long long)st.fault_addr,
                      st.flags, dev, (unsigned long long)addr);
        n++;
    } while (next_record(conn, &st, 0));
}

void expect_no_record(struct smmu_conn *conn, const char *who, int ms)
{
    struct smmu_status st;
    ck_assert_msg(!next_record(conn, &st, ms), "%s: unexpected record: device 0:%u.%u address 0x%llx", who,
                  st.devid.pci.dev, st.devid.pci.func, (unsigned long long)st.fault_addr);
}

struct smmu_conn *open_or_fail(const char *path)
{
    struct smmu_conn *c = smmu_conn_open(path, 0);
    ck_assert_msg(c, "smmu_conn_open %s: %s", path, strerror(errno));
    return c;
}
