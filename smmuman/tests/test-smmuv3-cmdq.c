/* Unit test of the SMMUv3 library's command-queue error handling, against
 * a fake of what QEMU's model does (docs/smmuv3.md, and the facts it was
 * measured from): commands run as PROD is written; a refused command stops
 * the queue there, sets CONS.ERR (which stays after recovery) and toggles
 * GERROR.CMDQ_ERR; moving CONS past it and then acknowledging GERRORN
 * resumes the rest. The library's static functions are reached by
 * including its source. */
#include <check.h>

#include "check-run.h"

#include <string.h>

#include "../hw/smmuv3.c"

#define BASE 0x09050000ull
#define BAD_OPCODE 0x7full

typedef struct {
    uint32_t prod, cons, gerror, gerrorn;
    unsigned executed[256]; /* opcodes run, in order */
    unsigned nexec;
    unsigned refuse_left;   /* how many BAD_OPCODE commands to refuse */
    bool frozen;            /* a broken SMMU: never consumes */
    uint64_t *queue;        /* the library's queue memory */
} Fake;

static Fake fake;

static void run_queue(void)
{
    uint32_t mask = (2u << CMDQ_LOG2) - 1;
    while ((fake.cons & mask) != (fake.prod & mask)) {
        if (fake.gerror != fake.gerrorn) return; /* stopped on an error */
        uint64_t op = HW_EX64(fake.queue[2 * SMMU_Q_IDX(fake.cons, CMDQ_LOG2)], SMMU_CMD0, OPCODE);
        if (op == BAD_OPCODE && fake.refuse_left) {
            fake.refuse_left--;
            fake.cons = (fake.cons & mask) | (1u << 24); /* CERROR_ILL, sticky */
            fake.gerror ^= HW_MASK32(SMMU_GERROR, CMDQ_ERR);
            return;
        }
        fake.executed[fake.nexec++ % 256] = (unsigned)op;
        fake.cons = (fake.cons & ~mask) | (((fake.cons & mask) + 1) & mask);
    }
}

static int f_read(void *ctx, uint64_t pa, unsigned size, uint64_t *v)
{
    (void)ctx, (void)size;
    switch (pa - BASE) {
    case SMMU_REG_CMDQ_CONS: *v = fake.cons; return 0;
    case SMMU_REG_GERROR: *v = fake.gerror; return 0;
    default: *v = 0; return 0;
    }
}

static int f_write(void *ctx, uint64_t pa, unsigned size, uint64_t v)
{
    (void)ctx, (void)size;
    switch (pa - BASE) {
    case SMMU_REG_CMDQ_PROD:
        fake.prod = (uint32_t)v;
        if (!fake.frozen) run_queue();
        return 0;
    case SMMU_REG_CMDQ_CONS: fake.cons = (fake.cons & ~((2u << CMDQ_LOG2) - 1)) | ((uint32_t)v & ((2u << CMDQ_LOG2) - 1)); return 0;
    case SMMU_REG_GERRORN: fake.gerrorn = (uint32_t)v; run_queue(); return 0;
    default: return 0;
    }
}

static void f_log(void *ctx, SmmuLogLevel l, const char *fmt, ...) { (void)ctx, (void)l, (void)fmt; }

static uint64_t qmem[2 * 256];
static SmmuHwUnit unit;

static void setup(void)
{
    memset(&fake, 0, sizeof fake);
    memset(&unit, 0, sizeof unit);
    memset(qmem, 0, sizeof qmem);
    unit.base = BASE;
    unit.cmdq = qmem;
    unit.env.reg_read = f_read;
    unit.env.reg_write = f_write;
    unit.env.log = f_log;
    strcpy(unit.name, "smmu0");
    fake.queue = qmem;
}

START_TEST(commands_run_and_sync_is_awaited)
{
    char err[160] = "";
    const uint64_t c[2][2] = { { CMD_CFGI_ALL }, { SMMU_OP_TLBI_S12_VMALL, 0 } };
    ck_assert_int_eq(cmd_submit(&unit, c, 2, err, sizeof err), 0);
    ck_assert_uint_eq(fake.nexec, 3);
    ck_assert_uint_eq(fake.executed[2], SMMU_OP_CMD_SYNC);
}
END_TEST

START_TEST(one_refusal_is_skipped_and_the_batch_rerun)
{
    char err[160] = "";
    fake.refuse_left = 1;
    const uint64_t c[2][2] = { { BAD_OPCODE, 0 }, { SMMU_OP_TLBI_S12_VMALL, 0 } };
    ck_assert_int_eq(cmd_submit(&unit, c, 2, err, sizeof err), 0);
    /* the first pass ran TLBI+SYNC after the skipped command, the second all three */
    ck_assert_uint_eq(fake.nexec, 5);
    ck_assert_uint_eq(fake.gerror, fake.gerrorn); /* acknowledged */
    /* CONS.ERR stays set in the model: later batches must still succeed */
    ck_assert(fake.cons & (0x7fu << 24));
    const uint64_t d[1][2] = { { CMD_CFGI_ALL } };
    ck_assert_int_eq(cmd_submit(&unit, d, 1, err, sizeof err), 0);
    ck_assert_uint_eq(fake.executed[fake.nexec - 1], SMMU_OP_CMD_SYNC);
}
END_TEST

START_TEST(a_second_refusal_is_fatal)
{
    char err[160] = "";
    fake.refuse_left = 2;
    const uint64_t c[1][2] = { { BAD_OPCODE, 0 } };
    ck_assert_int_eq(cmd_submit(&unit, c, 1, err, sizeof err), -EIO);
    ck_assert_msg(strstr(err, "command queue error 1"), "%s", err);
}
END_TEST

START_TEST(a_stuck_queue_times_out)
{
    char err[160] = "";
    fake.frozen = true; /* PROD is written, nothing is ever consumed */
    const uint64_t c[1][2] = { { CMD_CFGI_ALL } };
    ck_assert_int_eq(cmd_submit(&unit, c, 1, err, sizeof err), -ETIMEDOUT);
    ck_assert_msg(strstr(err, "commands not consumed"), "%s", err);
}
END_TEST

/* The encodings, pinned against the architecture's layout written out here
 * bit by bit (SMMUv3 spec 5.2 STE, 4.1 commands), not through the header's
 * names: a wrong shift or width there fails here. */
START_TEST(stream_table_entry_has_the_architectures_layout)
{
    SmmuHwDomain d = { .vmid = 0x1234 };
    d.pt.root = 0x40123000;
    unit.oas = 4; /* 44 bits */
    uint64_t e[SMMU_STE_QWORDS];
    ste_for(&unit, &d, e);
    ck_assert_uint_eq(e[0], 1ull << 0 | 6ull << 1);          /* V, Config 0b110: stage 2 only */
    ck_assert_uint_eq(e[1], 0);
    ck_assert_uint_eq(e[2], 0x1234ull                          /* S2VMID 15:0 */
                                | 25ull << 32                  /* S2T0SZ 37:32: 64 - 39 */
                                | 1ull << 38                   /* S2SL0 39:38: walk from level 1 */
                                | 1ull << 40 | 1ull << 42      /* S2IR0, S2OR0: write-back */
                                | 3ull << 44                   /* S2SH0: inner shareable */
                                | 0ull << 46                   /* S2TG: 4 KiB */
                                | 4ull << 48                   /* S2PS 50:48 */
                                | 1ull << 51                   /* S2AA64 */
                                | 1ull << 58);                 /* S2R */
    ck_assert_uint_eq(e[3], 0x40123000ull);                    /* S2TTB 51:4 */
    for (unsigned i = 4; i < SMMU_STE_QWORDS; i++) ck_assert_uint_eq(e[i], 0);
}
END_TEST

START_TEST(commands_have_the_architectures_layout)
{
    const uint64_t all[2] = { CMD_CFGI_ALL }, nsnh[2] = { CMD_TLBI_NSNH_ALL };
    ck_assert_uint_eq(all[0], 0x04);
    ck_assert_uint_eq(all[1], 31);                             /* Range 4:0 = 31: every StreamID */
    ck_assert_uint_eq(nsnh[0], 0x30);
    ck_assert_uint_eq(nsnh[1], 0);
    /* CFGI_STE: SID 63:32, Leaf bit 0 of the second qword */
    unit.cfgi_sid = 0x20;
    ck_assert_int_eq(sync_ste(&unit), 0);
    ck_assert_uint_eq(qmem[0], 0x03ull | 0x20ull << 32);
    ck_assert_uint_eq(qmem[1], 1);
    ck_assert_uint_eq(qmem[2], 0x46);                          /* CMD_SYNC, CS 0 */
    ck_assert_uint_eq(qmem[3], 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("smmuv3-cmdq");
    TCase *tc = tcase_create("cmdq");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, commands_run_and_sync_is_awaited);
    tcase_add_test(tc, one_refusal_is_skipped_and_the_batch_rerun);
    tcase_add_test(tc, a_second_refusal_is_fatal);
    tcase_add_test(tc, a_stuck_queue_times_out);
    tcase_add_test(tc, stream_table_entry_has_the_architectures_layout);
    tcase_add_test(tc, commands_have_the_architectures_layout);
    suite_add_tcase(s, tc);
    return check_run(s);
}
