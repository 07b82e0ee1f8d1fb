/* Test helper: what the integration tests check on a service fixture's
 * board, the way a user would see it: bytes in RAM after a DMA, the records
 * on a libsmmu connection, and refused calls with their reason. */
#ifndef TB_TEST_DMA_CHECKS_H
#define TB_TEST_DMA_CHECKS_H

#include <check.h>
#include <errno.h>
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "service-fixture.h"
#include "smmu.h"

#define LEN 256
#define WITHIN_MS 5000 /* records, exits, a VM's start: the service polls every 2 ms */

/* ---- the board: RAM and DMA ---- */
uint64_t at(Svc *s, uint64_t off);
void fill(Svc *s, uint64_t addr, uint8_t v);
void check_ram(Svc *s, uint64_t addr, uint8_t v, const char *what);
void dma(Svc *s, const char *dev, const char *dir, uint64_t addr);
/* The device reads at gpa (the bytes at hpa, filled with v), then writes
 * them back at gpa after hpa was cleared: they are at hpa, and the RAM at
 * the untranslated address gpa (when it is not hpa) did not change. */
void lands(Svc *s, const char *dev, uint64_t gpa, uint64_t hpa, uint8_t v, const char *what);
/* A write by dev at gpa crosses nowhere: each watched address keeps 0x5a. */
void blocked(Svc *s, const char *dev, uint64_t gpa, const uint64_t *watch, unsigned n, const char *what);

/* ---- records on a libsmmu connection ---- */
int next_record(struct smmu_conn *conn, struct smmu_status *st, int ms);
/* conn's queue holds the record of 0:dev.0 writing at addr, and nothing else. */
void expect_record(struct smmu_conn *conn, const char *who, unsigned dev, uint64_t addr);
void expect_no_record(struct smmu_conn *conn, const char *who, int ms);
struct smmu_conn *open_or_fail(const char *path);

/* ---- calls and their refusals ---- */
#define OK(call) ck_assert_msg((call) == 0, "%s: %s", #call, strerror(errno))

/* A refused call: errno e, and the text names what it must. */
#define REFUSED(conn, call, e, ...)                                                                                 \
    do {                                                                                                            \
        errno = 0;                                                                                                  \
        ck_assert_msg((call) == -1 && errno == (e), "%s: errno %d (%s), want %s", #call, errno, strerror(errno), #e); \
        const char *why_ = smmu_conn_last_error(conn);                                                             \
        const char *want_[] = { __VA_ARGS__, NULL };                                                               \
        for (unsigned k_ = 0; want_[k_]; k_++)                                                                      \
            ck_assert_msg(strstr(why_, want_[k_]), "%s: the text '%s' does not name '%s'", #call, why_, want_[k_]);  \
    } while (0)

static inline struct smmu_map_entry page(uint64_t addr, uint64_t len) { return (struct smmu_map_entry){ .phys = addr, .len = len }; }

#endif
