/* The format-independent page-table walker (see pgtable.h).
 *
 * Every change runs the same walk twice. The dry run changes nothing: it
 * counts the table pages the change will need, describing the tables it
 * would create instead of building them, and bounds how many pages it may
 * unlink. Then every page is allocated and room is made on the deferred
 * list, and only then does the second pass change entries, so it cannot
 * fail halfway: -ENOMEM always leaves the table as it was.
 *
 * The walk goes down the levels once over the range, left to right, so
 * recursion is as deep as the table (at most PT_MAX_LEVELS). A table it
 * creates is filled completely, including the part the call changes, and
 * announced with written() before the entry pointing to it is stored; a
 * table it leaves is checked on the way back up for merging (after a map)
 * or for being empty (after an unmap), which cascades towards the root. */
#include "pgtable.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PT_PAGE_MASK (PT_PAGE_SIZE - 1)

static uint64_t level_mask(unsigned level)
{
    return PT_LEVEL_SIZE(level) - 1;
}

static unsigned entry_index(uint64_t iova, unsigned level)
{
    return (unsigned)(iova >> (PT_PAGE_SHIFT + PT_LEVEL_BITS * level)) & (PT_ENTRIES - 1);
}

static uint64_t *table_va(const PtTable *t, uint64_t pa)
{
    return t->mem.va(t->mem.ctx, pa);
}

/* One 64-bit store that the compiler may neither split nor move before the
 * stores filling a table it links. */
static void store_entry(uint64_t *slot, uint64_t entry)
{
    __atomic_store_n(slot, entry, __ATOMIC_RELEASE);
}

static void announce(const PtTable *t, uint64_t pa)
{
    /* Optional: coherent walkers and tests without digests need nothing. */
    if (t->mem.written)
        t->mem.written(t->mem.ctx, pa);
}

/* Calls fn on the table at pa, whose entries are at `level`, and on every
 * table below it: parents first, or children first when fn frees pages. */
typedef void PageFn(const PtTable *t, uint64_t pa, void *ctx);

static void visit(const PtTable *t, uint64_t pa, unsigned level, bool children_first,
                  PageFn *fn, void *ctx)
{
    if (!children_first)
        fn(t, pa, ctx);
    if (level > 0) {
        const uint64_t *va = table_va(t, pa);
        for (unsigned i = 0; i < PT_ENTRIES; i++) {
            uint64_t next;
            unsigned perms;
            if (t->fmt->decode(va[i], level, &next, &perms) == PT_ENTRY_TABLE)
                visit(t, next, level - 1, children_first, fn, ctx);
        }
    }
    if (children_first)
        fn(t, pa, ctx);
}

static void count_page(const PtTable *t, uint64_t pa, void *ctx)
{
    (*(size_t *)ctx)++;
}

static void free_page(const PtTable *t, uint64_t pa, void *ctx)
{
    t->mem.free(t->mem.ctx, pa);
}

/* Room was made by reserve_deferred() before the change started. */
static void defer_page(const PtTable *t, uint64_t pa, void *ctx)
{
    PtTable *mt = ctx;
    assert(mt->ndeferred < mt->cap_deferred);
    mt->deferred[mt->ndeferred++] = pa;
}

static int reserve_deferred(PtTable *t, size_t more)
{
    if (more <= t->cap_deferred - t->ndeferred)
        return 0;
    if (more > SIZE_MAX / sizeof *t->deferred - t->ndeferred)
        return -ENOMEM;
    size_t cap = t->ndeferred + more;
    if (cap < 2 * t->cap_deferred && 2 * t->cap_deferred <= SIZE_MAX / sizeof *t->deferred)
        cap = 2 * t->cap_deferred;
    uint64_t *d = realloc(t->deferred, cap * sizeof *d);
    if (!d)
        return -ENOMEM;
    t->deferred = d;
    t->cap_deferred = cap;
    return 0;
}

/* Splitting a leaf replicates it one level down, and merging wants a full
 * table of leaves one level down: both need leaves allowed at every level
 * below a large one. Keep only the sizes below the first gap (a gap would
 * mean hardware with 1 GiB but not 2 MiB pages: only narrowing is safe). */
static unsigned leaf_levels_from_zero(unsigned mask)
{
    return mask ^ (mask & (mask + 1));
}

int pt_describe(PtTable *t, const PtFormat *fmt, unsigned levels, unsigned leaf_levels)
{
    if (!t)
        return -EINVAL;
    memset(t, 0, sizeof *t);
    if (!fmt || !fmt->table || !fmt->leaf || !fmt->decode || fmt->max_levels > PT_MAX_LEVELS ||
        levels == 0 || levels < fmt->min_levels || levels > fmt->max_levels)
        return -EINVAL;
    unsigned ll = fmt->leaf_levels & ((1u << levels) - 1);
    if (leaf_levels)
        ll &= leaf_levels;
    ll = leaf_levels_from_zero(ll);
    if (!(ll & 1u))
        return -EINVAL;
    t->fmt = fmt;
    t->levels = levels;
    t->leaf_levels = ll;
    return 0;
}

int pt_init(PtTable *t, const PtFormat *fmt, unsigned levels, unsigned leaf_levels, const PtMem *mem)
{
    int err = pt_describe(t, fmt, levels, leaf_levels);
    if (err < 0)
        return err;
    if (!mem || !mem->alloc || !mem->free || !mem->va) {
        memset(t, 0, sizeof *t);
        return -EINVAL;
    }
    uint64_t root;
    err = mem->alloc(mem->ctx, &root);
    if (err < 0) {
        memset(t, 0, sizeof *t);
        return err;
    }
    t->mem = *mem;
    t->root = root;
    return 0;
}

/* A table at `level` below an entry at level + 1 is needed only where a
 * change covers part of that entry's block, or all of it when no leaf can
 * stand there (not allowed at that level, or the translation's offset is
 * not aligned to the block). The walker allocates nowhere else, at most
 * once per position per call, and a page it frees by merging goes back at
 * pt_release() before the next change, so distinct positions bound what is
 * in use at any time. Changes sorted and disjoint can share a block only
 * with their neighbour, at their edges. */
size_t pt_cost(const PtTable *t, const PtChange *c, size_t n)
{
    if (!t || !t->fmt)
        return 0;
    size_t pages = t->root ? 0 : 1;
    for (unsigned level = 0; level + 1 < t->levels; level++) {
        const unsigned shift = PT_PAGE_SHIFT + PT_LEVEL_BITS * (level + 1);
        const uint64_t size = 1ull << shift, mask = size - 1;
        const bool leaf_above = t->leaf_levels & (1u << (level + 1));
        bool prev_counted = false; /* the previous change counted its final block */
        uint64_t prev_final = 0;
        for (size_t i = 0; i < n; i++) {
            if (c[i].len == 0)
                continue;
            const uint64_t end = c[i].iova + c[i].len; /* exclusive; a range never wraps */
            const uint64_t first = c[i].iova >> shift, final = (end - 1) >> shift;
            uint64_t count;
            bool first_counted, final_counted;
            if (c[i].unmap || (leaf_above && !((c[i].pa ^ c[i].iova) & mask))) {
                /* whole blocks take a leaf (or nothing): only blocks the change covers in part count */
                const bool part_first = (c[i].iova & mask) || (first == final && (end & mask));
                const bool part_final = (end & mask) || (first == final && (c[i].iova & mask));
                first_counted = part_first;
                final_counted = part_final;
                count = first == final ? part_first : (uint64_t)part_first + part_final;
            } else {
                first_counted = final_counted = true;
                count = final - first + 1;
            }
            if (first_counted && prev_counted && prev_final == first)
                count--; /* the previous change's last block: one position */
            pages += count;
            prev_counted = final_counted;
            prev_final = final;
        }
    }
    return pages;
}

void pt_fini(PtTable *t)
{
    if (!t || !t->fmt)
        return;
    pt_release(t);
    visit(t, t->root, t->levels - 1, true, free_page, NULL);
    free(t->deferred);
    memset(t, 0, sizeof *t);
}

uint64_t pt_iova_limit(const PtTable *t)
{
    return t && t->fmt ? PT_LEVEL_SIZE(t->levels) : 0;
}

void pt_inval_init(PtInval *inv)
{
    inv->start = inv->end = 0;
    inv->tables_changed = false;
    inv->replaced = false;
}

void pt_release(PtTable *t)
{
    if (!t || !t->fmt)
        return;
    for (size_t i = 0; i < t->ndeferred; i++)
        t->mem.free(t->mem.ctx, t->deferred[i]);
    t->ndeferred = 0;
}


typedef struct {
    uint64_t *list;
    size_t n;
} PageList;

static void list_page(const PtTable *t, uint64_t pa, void *ctx)
{
    PageList *l = ctx;
    l->list[l->n++] = pa;
}

size_t pt_pages(const PtTable *t, uint64_t **pages)
{
    size_t n = 0;

    *pages = NULL;
    if (!t || !t->fmt)
        return 0;
    visit(t, t->root, t->levels - 1, false, count_page, &n);
    /* 0 (the root is always there) says the list could not be allocated. */
    PageList l = { malloc(n * sizeof *l.list), 0 };
    if (!l.list)
        return 0;
    visit(t, t->root, t->levels - 1, false, list_page, &l);
    *pages = l.list;
    return l.n;
}

/* One map or unmap request and the state of its two passes. */
typedef struct {
    PtTable *t;
    bool dry, unmap;
    uint64_t iova, pa; /* the page at iova + x goes to pa + x */
    unsigned perms;
    PtInval *inv;
    size_t need;       /* dry run: table pages to create */
    size_t may_unlink; /* dry run: bound on the pages the change unlinks */
    uint64_t *pool;    /* second pass: the pages counted, allocated */
    size_t npool;
} Walk;

/* A table under the walk. The dry run does not build the tables it would
 * create: it describes them (empty, or holding a leaf split one level down). */
typedef struct {
    uint64_t *va; /* NULL: described only */
    bool split;
    uint64_t split_pa;
    unsigned split_perms;
} Tbl;

static uint64_t tbl_entry(const Walk *w, const Tbl *tb, unsigned level, unsigned i)
{
    if (tb->va)
        return tb->va[i];
    if (!tb->split)
        return 0; /* what the zeroed page from alloc holds */
    return w->t->fmt->leaf(tb->split_pa + i * PT_LEVEL_SIZE(level), tb->split_perms, level);
}

static void fill_split(const PtTable *t, uint64_t *va, unsigned level, uint64_t pa, unsigned perms)
{
    for (unsigned i = 0; i < PT_ENTRIES; i++)
        va[i] = t->fmt->leaf(pa + i * PT_LEVEL_SIZE(level), perms, level);
}

static bool leaf_fits(const PtTable *t, unsigned level, uint64_t pa)
{
    return (t->leaf_levels & (1u << level)) && !(pa & level_mask(level));
}

static void widen(PtInval *inv, uint64_t start, uint64_t end)
{
    if (inv->start == inv->end) {
        inv->start = start;
        inv->end = end;
        return;
    }
    if (start < inv->start)
        inv->start = start;
    if (end > inv->end)
        inv->end = end;
}

/* The table (entries at `level`) holds 512 leaves of the same permissions
 * mapping one contiguous range aligned for a leaf one level up: *leaf is
 * that leaf. */
static bool table_merges(const PtTable *t, const uint64_t *va, unsigned level, uint64_t *leaf)
{
    const PtFormat *f = t->fmt;
    uint64_t pa0, pa;
    unsigned perms0, perms;

    if (!(t->leaf_levels & (1u << (level + 1))))
        return false;
    if (f->decode(va[0], level, &pa0, &perms0) != PT_ENTRY_LEAF || (pa0 & level_mask(level + 1)))
        return false;
    if (f->linear) {
        /* same flags and contiguous addresses is one raw comparison each;
         * the first mismatch (usually early) ends it */
        for (unsigned i = 1; i < PT_ENTRIES; i++)
            if (va[i] != va[0] + i * PT_LEVEL_SIZE(level))
                return false;
        *leaf = f->leaf(pa0, perms0, level + 1);
        return true;
    }
    for (unsigned i = 1; i < PT_ENTRIES; i++)
        if (f->decode(va[i], level, &pa, &perms) != PT_ENTRY_LEAF || perms != perms0 ||
            pa != pa0 + i * PT_LEVEL_SIZE(level))
            return false;
    *leaf = f->leaf(pa0, perms0, level + 1);
    return true;
}

static bool table_empty(const PtTable *t, const uint64_t *va, unsigned level)
{
    uint64_t pa;
    unsigned perms;

    /* A zero entry is not present in every format (the walker writes zero
     * to clear one), so only non-zero entries need the format's decode:
     * after an unmap most of the table is zero, and an indirect call for
     * each of 512 entries per level cost a one-page unmap ~4 us. */
    for (unsigned i = 0; i < PT_ENTRIES; i++)
        if (va[i] && t->fmt->decode(va[i], level, &pa, &perms) != PT_ENTRY_NONE)
            return false;
    return true;
}

static uint64_t take_page(Walk *w)
{
    /* The dry run counted exactly what this pass takes. */
    assert(w->npool > 0);
    return w->pool[--w->npool];
}

static bool walk_table(Walk *w, Tbl *tb, unsigned level, uint64_t base, uint64_t s, uint64_t e);

/* Level 0 of a linear format: every entry is a 4 KiB leaf (or nothing), so
 * the run is one loop of stores, the cost a driver filling a table by hand
 * would pay. Unchanged entries are not rewritten. */
static bool fill_leaves(Walk *w, Tbl *tb, uint64_t base, uint64_t s, uint64_t e)
{
    const unsigned first = entry_index(s, 0), last = entry_index(e - 1, 0);
    const uint64_t entry0 = w->unmap ? 0 : w->t->fmt->leaf(w->pa + (s - w->iova), w->perms, 0);
    const uint64_t step = w->unmap ? 0 : PT_PAGE_SIZE;
    uint64_t *va = tb->va;
    unsigned lo = PT_ENTRIES, hi = 0;
    uint64_t old_bits = 0; /* OR of the entries replaced: no call in the loop */
    for (unsigned i = first; i <= last; i++) {
        const uint64_t entry = entry0 + (uint64_t)(i - first) * step;
        const uint64_t old = va[i];
        if (old == entry)
            continue;
        old_bits |= old;
        store_entry(&va[i], entry);
        if (lo == PT_ENTRIES)
            lo = i;
        hi = i;
    }
    if (lo == PT_ENTRIES)
        return false;
    if (old_bits)
        w->inv->replaced = true;
    widen(w->inv, base + (uint64_t)lo * PT_PAGE_SIZE, base + ((uint64_t)hi + 1) * PT_PAGE_SIZE);
    return true;
}

/* Applies the request to [s, e), the part of entry i (at `level`, mapping
 * from eb) it covers. Returns whether the entry changed. */
static bool walk_entry(Walk *w, Tbl *tb, unsigned level, unsigned i, uint64_t eb, uint64_t s, uint64_t e)
{
    PtTable *t = w->t;
    const PtFormat *f = t->fmt;
    const uint64_t size = PT_LEVEL_SIZE(level);
    const uint64_t old = tbl_entry(w, tb, level, i);
    const uint64_t pa = w->pa + (s - w->iova);
    uint64_t old_pa = 0, entry;
    unsigned old_perms = 0;
    const PtEntryKind kind = f->decode(old, level, &old_pa, &old_perms);

    /* Level 0 always takes this branch: its entries are whole pages and
     * always leaves, so the walk never goes below it. */
    if (s == eb && e - s == size && (w->unmap || leaf_fits(t, level, pa))) {
        entry = w->unmap ? 0 : f->leaf(pa, w->perms, level);
        if (entry == old)
            return false;
        if (kind == PT_ENTRY_TABLE) {
            if (w->dry) {
                size_t n = 0;
                visit(t, old_pa, level - 1, false, count_page, &n);
                w->may_unlink += n;
                return false;
            }
            visit(t, old_pa, level - 1, false, defer_page, t);
            w->inv->tables_changed = true;
        }
        if (w->dry)
            return false;
        store_entry(&tb->va[i], entry);
        widen(w->inv, s, e);
        if (old)
            w->inv->replaced = true;
        return true;
    }
    if (kind == PT_ENTRY_NONE && w->unmap)
        return false;
    if (kind == PT_ENTRY_LEAF && !w->unmap && old_perms == w->perms && old_pa + (s - eb) == pa)
        return false; /* the leaf already maps this part so */

    Tbl child = { 0 };
    uint64_t child_pa = old_pa;
    if (kind == PT_ENTRY_TABLE) {
        child.va = table_va(t, old_pa);
        if (w->dry)
            w->may_unlink++;
    } else if (w->dry) {
        w->need++;
        child.split = kind == PT_ENTRY_LEAF;
        child.split_pa = old_pa;
        child.split_perms = old_perms;
    } else {
        child_pa = take_page(w);
        child.va = table_va(t, child_pa);
        /* A split keeps translating the rest of the old leaf as before. */
        if (kind == PT_ENTRY_LEAF)
            fill_split(t, child.va, level - 1, old_pa, old_perms);
    }
    const bool child_changed = walk_table(w, &child, level - 1, eb, s, e);
    if (w->dry)
        return false;

    if (kind != PT_ENTRY_TABLE) {
        /* A new table is neither empty (it maps what was asked, or the part
         * of the split leaf outside an unmap) nor mergeable (a full, aligned
         * range at an allowed level took a leaf above; a split stays only if
         * the change differs from the leaf). Linking it complete, after
         * announcing it, is what makes the split hitless. */
        announce(t, child_pa);
        store_entry(&tb->va[i], f->table(child_pa));
        if (kind == PT_ENTRY_LEAF)
            w->inv->tables_changed = w->inv->replaced = true;
        return true;
    }
    if (!child_changed)
        return false;
    announce(t, child_pa);
    if (w->unmap) {
        if (!table_empty(t, child.va, level - 1))
            return false;
        entry = 0;
    } else if (!table_merges(t, child.va, level - 1, &entry)) {
        return false;
    }
    /* The hardware may still walk the table until invalidated. */
    store_entry(&tb->va[i], entry);
    defer_page(t, child_pa, t);
    w->inv->tables_changed = w->inv->replaced = true;
    return true;
}

/* Applies the request to [s, e) within the table tb, whose entries are at
 * `level` and whose first entry maps from base. Returns whether any of its
 * entries changed. */
static bool walk_table(Walk *w, Tbl *tb, unsigned level, uint64_t base, uint64_t s, uint64_t e)
{
    bool changed = false;

    /* Only entries above level 0 can need a table page. */
    if (w->dry && level == 0)
        return false;
    if (level == 0 && w->t->fmt->linear)
        return fill_leaves(w, tb, base, s, e);
    const uint64_t size = PT_LEVEL_SIZE(level);
    const unsigned last = entry_index(e - 1, level);
    for (unsigned i = entry_index(s, level); i <= last; i++) {
        const uint64_t eb = base + i * size;
        const uint64_t es = s > eb ? s : eb;
        const uint64_t ee = e - eb < size ? e : eb + size;
        if (walk_entry(w, tb, level, i, eb, es, ee))
            changed = true;
    }
    return changed;
}

static void give_back(Walk *w)
{
    while (w->npool > 0)
        w->t->mem.free(w->t->mem.ctx, w->pool[--w->npool]);
    free(w->pool);
    w->pool = NULL;
}

static int run(Walk *w, uint64_t len)
{
    PtTable *t = w->t;
    PtInval ignored;
    Tbl root = { .va = table_va(t, t->root) };
    const unsigned top = t->levels - 1;
    const uint64_t end = w->iova + len;
    int err;

    /* A table no hardware uses yet needs no invalidation. */
    if (!w->inv) {
        pt_inval_init(&ignored);
        w->inv = &ignored;
    }
    w->dry = true;
    walk_table(w, &root, top, 0, w->iova, end);
    err = reserve_deferred(t, w->may_unlink);
    if (err < 0)
        return err;
    if (w->need > 0) {
        w->pool = malloc(w->need * sizeof *w->pool);
        if (!w->pool)
            return -ENOMEM;
        while (w->npool < w->need) {
            err = t->mem.alloc(t->mem.ctx, &w->pool[w->npool]);
            if (err < 0) {
                give_back(w);
                return err;
            }
            w->npool++;
        }
    }
    w->dry = false;
    if (walk_table(w, &root, top, 0, w->iova, end))
        announce(t, t->root);
    give_back(w);
    return 0;
}

static bool range_ok(const PtTable *t, uint64_t iova, uint64_t len)
{
    const uint64_t limit = pt_iova_limit(t);
    return !(iova & PT_PAGE_MASK) && !(len & PT_PAGE_MASK) && len > 0 && len <= limit &&
           iova <= limit - len;
}

/* The format must encode the whole physical range: its address field would
 * otherwise silently drop high bits and map somewhere else. The field is
 * contiguous, so the last page decides. */
static bool pa_ok(const PtTable *t, uint64_t pa, uint64_t len)
{
    uint64_t last, got;
    unsigned perms;

    if ((pa & PT_PAGE_MASK) || pa > UINT64_MAX - len)
        return false;
    last = pa + len - PT_PAGE_SIZE;
    return t->fmt->decode(t->fmt->leaf(last, PT_READ, 0), 0, &got, &perms) == PT_ENTRY_LEAF &&
           got == last;
}

bool pt_range_ok(const PtTable *t, uint64_t iova, uint64_t pa, uint64_t len)
{
    return t && t->fmt && range_ok(t, iova, len) && pa_ok(t, pa, len);
}

int pt_map(PtTable *t, uint64_t iova, uint64_t pa, uint64_t len, unsigned perms, PtInval *inv)
{
    if (!t || !t->fmt || !range_ok(t, iova, len) || !pa_ok(t, pa, len) || !perms ||
        (perms & ~(PT_READ | PT_WRITE)))
        return -EINVAL;
    Walk w = { .t = t, .iova = iova, .pa = pa, .perms = perms, .inv = inv };
    return run(&w, len);
}

int pt_unmap(PtTable *t, uint64_t iova, uint64_t len, PtInval *inv)
{
    if (!t || !t->fmt || !range_ok(t, iova, len))
        return -EINVAL;
    Walk w = { .t = t, .unmap = true, .iova = iova, .pa = iova, .inv = inv };
    return run(&w, len);
}

int pt_lookup(const PtTable *t, uint64_t iova, uint64_t *pa, unsigned *perms, unsigned *level)
{
    if (!t || !t->fmt || iova >= pt_iova_limit(t))
        return -EINVAL;
    uint64_t table = t->root;
    for (unsigned l = t->levels; l-- > 0;) {
        uint64_t next;
        unsigned p;
        switch (t->fmt->decode(table_va(t, table)[entry_index(iova, l)], l, &next, &p)) {
        case PT_ENTRY_LEAF:
            if (pa)
                *pa = next + (iova & level_mask(l));
            if (perms)
                *perms = p;
            if (level)
                *level = l;
            return 0;
        case PT_ENTRY_TABLE:
            table = next;
            break;
        case PT_ENTRY_NONE:
            return -ENOENT;
        }
    }
    return -ENOENT; /* a format claiming a table at level 0: nothing mapped */
}
