/* The format-independent part of the page-table walker's unit tests, shared
 * by test-pgtable.c (VT-d second level) and test-pgtable-arm.c (Arm stage 2).
 *
 * Table memory is an arena of 4 KiB pages with fake physical addresses that
 * counts allocations, poisons freed pages, can fail the n-th allocation and
 * records every written() call with the page's contents at that moment. The
 * fixture scans the whole structure after every call (invariants, pt_pages,
 * deferred pages, no leak, written() once per changed page, tables complete
 * before they are linked) and judges translations by the test's own
 * reference walk.
 *
 * Everything that depends on how entries are encoded comes from a PghFormat
 * the test program writes from the architecture's bits, never from the
 * walker's decode or the format's header: that independence is what the
 * tests are for. The tests every format runs alike (leaf sizes, split and
 * merge, invalidation, deferred pages, out of memory, random sequences
 * against a model) are here too, in the test program's suite made by
 * pgh_suite(). */
#ifndef SMMU_PGTABLE_HARNESS_H
#define SMMU_PGTABLE_HARNESS_H

#include <check.h>
#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../hw/pgtable/pgtable.h"

#define PG  PT_PAGE_SIZE
#define KiB 1024ull
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)
#define RW  (PT_READ | PT_WRITE)

/* libcheck records where every passing assertion stood, a write to its pipe
 * each time: the hot paths test first and call it only to fail. */
#define REQUIRE(cond, ...)               \
    do {                                 \
        if (!(cond))                     \
            ck_abort_msg(__VA_ARGS__);   \
    } while (0)

static inline uint64_t level_size(unsigned level)
{
    return PG << (9 * level);
}

/* ---------------------------------------------------------------------- */
/* Table memory double */

#define ARENA_BASE 0xabc00000000ull /* far from every IOVA and pa mapped */

typedef void WrittenHook(void *ctx, uint64_t pa);

typedef struct {
    size_t cap;
    uint64_t (*page)[PT_ENTRIES];
    uint64_t (*shadow)[PT_ENTRIES];     /* contents when the current call began */
    uint64_t (*at_written)[PT_ENTRIES]; /* contents at the last written() */
    bool *used, *was_used;
    unsigned *written;
    size_t *fifo, head, nfree; /* free pages, oldest first: reuse is late */
    size_t in_use, allocs, frees;
    unsigned fail_in; /* n > 0: the n-th allocation from now fails */
    WrittenHook *hook;
    void *hook_ctx;
} Arena;

void arena_init(Arena *a, size_t cap);
void arena_fini(Arena *a);
size_t arena_index(const Arena *a, uint64_t pa);
/* The entries of a table page (which must be in use). */
uint64_t *arena_page(const Arena *a, uint64_t pa);
PtMem arena_mem(Arena *a);
/* Before a call: remembers every page's contents. */
void arena_begin(Arena *a);
/* After a call: written() came exactly once for each page whose entries
 * changed, after its last change, and never for others; no page was freed
 * (unlinked pages wait for pt_release). Returns whether any page changed. */
bool arena_end(const Arena *a);

/* ---------------------------------------------------------------------- */
/* The format under test, as the test reads it */

typedef struct Fix Fix;

/* A random sequence: `steps` map/unmap calls on a table of `levels` levels
 * made with pt_init(leaf_arg), which must leave leaf_levels. */
typedef struct {
    const char *name;
    unsigned levels, leaf_arg, leaf_levels;
    unsigned steps;
    unsigned gig_pct;   /* operations on whole gigabytes */
    unsigned fault_pct; /* operations run first with an allocation failing */
    guint32 seed;
} RandomCfg;

typedef struct {
    const PtFormat *fmt;         /* what the walker is given */
    unsigned min_levels, max_levels;
    uint64_t pa_limit;           /* output addresses: below this */
    /* An entry at `level` as the hardware takes it. */
    PtEntryKind (*kind)(uint64_t e, unsigned level);
    unsigned (*perms)(uint64_t e); /* a leaf's PT_READ | PT_WRITE */
    uint64_t (*addr)(uint64_t e);  /* the address a table entry or leaf holds */
    /* Everything the walker must never write in a table at `level`
     * (entries not present but not clear, reserved or stray bits, missing
     * attributes, misaligned leaves...): fails the test. */
    void (*check)(uint64_t e, unsigned level);
    /* The reference walk: what the hardware makes of iova (page aligned):
     * pa | perms, or 0 when the walk faults; *leaf_level (when not NULL):
     * where the leaf stood, -1 when none. */
    uint64_t (*walk)(const Fix *f, uint64_t iova, int *leaf_level);
    const RandomCfg *random; /* test_random's configurations */
    size_t nrandom;
} PghFormat;

/* The format every Fix and shared test uses (set by pgh_suite). */
extern const PghFormat *pgh;

/* The suite of the test program for fmt: a test case "walker" with the
 * format's own tests (added by add_own) and the shared ones, and a test
 * case "random" with a random sequence per configuration. */
Suite *pgh_suite(const char *name, const PghFormat *fmt, void (*add_own)(TCase *walker));

/* ---------------------------------------------------------------------- */
/* Fixture: a table in an arena, checked after every call */

struct Fix {
    Arena a;
    PtTable t;
    unsigned levels, leaf_levels; /* leaf_levels: what the walker must use */
    int8_t *level_of;             /* per arena page: its level if linked, else -1 */
    bool *seen;
    size_t reachable;
};

void fix_init(Fix *f, unsigned levels, unsigned leaf_arg, unsigned expect_leaf, size_t cap);
void fix_fini(Fix *f);
/* The whole structure: invariants, pt_pages, deferred pages, no leak. */
void fix_scan(Fix *f);
/* One call under full checking; returns its PtInval. */
PtInval fix_map(Fix *f, uint64_t iova, uint64_t pa, uint64_t len, unsigned perms);
PtInval fix_unmap(Fix *f, uint64_t iova, uint64_t len);
/* iova translates to pa with perms through a leaf at `level` (both by the
 * reference walk and pt_lookup); perms 0: unmapped. */
void expect_xlate(const Fix *f, uint64_t iova, uint64_t pa, unsigned perms, int level);
/* Every page of [iova, iova+len) maps pa + offset through leaves at level. */
void expect_range(const Fix *f, uint64_t iova, uint64_t pa, uint64_t len, unsigned perms, int level);

/* A written() hook: every page of [start, start+len) but `skip` keeps
 * translating to pa + offset with perms throughout the call. */
typedef struct {
    Fix *f;
    uint64_t start, len, pa; /* every page of it must stay mapped as before */
    unsigned perms;
    uint64_t skip; /* except this one */
    unsigned calls;
} Hitless;

void hitless_hook(void *ctx, uint64_t pa);

#endif
