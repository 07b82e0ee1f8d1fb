#include "regions.h"

#include <errno.h>
#include <string.h>

#define PAGE_MASK (REGION_PAGE_SIZE - 1)

static uint64_t page_down(uint64_t a) { return a & ~PAGE_MASK; }
/* End of the last page a region touches (exclusive); regions never reach
 * the top page of the address space (checked on add), so this cannot wrap. */
#ifdef SMMU_MUTATION_PAGE_ROUNDING
static uint64_t region_page_end(const Region *r) { return page_down(r->start + r->len); } /* end rounded down */
#else
static uint64_t region_page_end(const Region *r) { return page_down(r->start + r->len - 1) + REGION_PAGE_SIZE; }
#endif

void region_set_init(RegionSet *s) { s->regions = g_array_new(FALSE, FALSE, sizeof(Region)); }

void region_set_clear(RegionSet *s)
{
    if (s->regions) g_array_unref(s->regions);
    s->regions = NULL;
}

size_t region_set_count(const RegionSet *s) { return s->regions->len; }
const Region *region_set_at(const RegionSet *s, size_t i) { return &g_array_index(s->regions, Region, i); }

static gint by_start(gconstpointer a, gconstpointer b)
{
    const Region *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

typedef struct {
    uint64_t at;
    int delta;      /* +1: region starts touching pages here, -1: stops */
    unsigned perms;
    uint64_t shift; /* target - start: the region's translation */
} Edge;

static gint by_at(gconstpointer a, gconstpointer b)
{
    const Edge *x = a, *y = b;
    return x->at < y->at ? -1 : x->at > y->at;
}

typedef struct {
    uint64_t shift;
    unsigned count;
} Shift;

static void emit(GArray *segs, uint64_t from, uint64_t to, unsigned perms, uint64_t pa, bool holes)
{
    if (from >= to || (!perms && !holes)) return;
    if (segs->len) {
        RegionSeg *last = &g_array_index(segs, RegionSeg, segs->len - 1);
        if (last->iova + last->len == from && last->perms == perms &&
            (!perms || last->pa + last->len == pa)) {
            last->len += to - from;
            return;
        }
    }
    RegionSeg seg = { .iova = from, .len = to - from, .perms = perms, .pa = perms ? pa : 0 };
    g_array_append_val(segs, seg);
}

/* Counts one more or one fewer active region with this translation. */
static void track_shift(GArray *shifts, uint64_t shift, int delta)
{
    for (guint i = 0; i < shifts->len; i++) {
        Shift *sh = &g_array_index(shifts, Shift, i);
        if (sh->shift != shift) continue;
        sh->count += (unsigned)delta;
        if (sh->count == 0) g_array_remove_index_fast(shifts, i);
        return;
    }
    Shift sh = { shift, 1 };
    g_array_append_val(shifts, sh);
}

/* Sweeps the page boundaries of the regions touching [from, to): between two
 * edges the set of touching regions, hence perms and translation, is
 * constant. -EEXIST when active regions translate one page differently. */
static int sweep(const GArray *regions, uint64_t from, uint64_t to, GArray *segs, bool holes)
{
    g_autoptr(GArray) edges = g_array_new(FALSE, FALSE, sizeof(Edge));
    for (guint i = 0; i < regions->len; i++) {
        const Region *r = &g_array_index(regions, Region, i);
        uint64_t a = MAX(page_down(r->start), from), b = MIN(region_page_end(r), to);
        if (a >= b) continue;
        Edge in = { a, +1, r->perms, r->target - r->start }, out = { b, -1, r->perms, r->target - r->start };
        g_array_append_val(edges, in);
        g_array_append_val(edges, out);
    }
    g_array_sort(edges, by_at);
    g_autoptr(GArray) shifts = g_array_new(FALSE, FALSE, sizeof(Shift));
    unsigned readers = 0, writers = 0;
    uint64_t pos = from;
    for (guint i = 0; i <= edges->len; i++) {
        uint64_t at = i < edges->len ? g_array_index(edges, Edge, i).at : to;
        if (at > pos) {
            if (shifts->len > 1) return -EEXIST;
            unsigned perms = (readers ? 0x1u : 0) | (writers ? 0x2u : 0);
            uint64_t shift = shifts->len ? g_array_index(shifts, Shift, 0).shift : 0;
            emit(segs, pos, at, perms, pos + shift, holes);
            pos = at;
        }
        if (i == edges->len) break;
        const Edge *e = &g_array_index(edges, Edge, i);
        if (e->perms & 0x1u) readers += (unsigned)e->delta;
        if (e->perms & 0x2u) writers += (unsigned)e->delta;
        track_shift(shifts, e->shift, e->delta);
    }
    return 0;
}

static int check_region(const Region *r)
{
    if (r->len == 0 || r->start + r->len - 1 < r->start) return -EINVAL;
    /* the page the region ends in must not be the last one of the address
     * space, so that page ends stay representable */
    if (page_down(r->start + r->len - 1) == page_down(UINT64_MAX)) return -EINVAL;
    if (r->target + r->len - 1 < r->target) return -EINVAL;
    if ((r->start ^ r->target) & PAGE_MASK) return -EINVAL;
    if (!r->perms || r->perms & ~0x3u) return -EINVAL;
    return 0;
}

/* The page span a batch of ranges touches. */
static void span(const Region *rs, size_t n, uint64_t *from, uint64_t *to)
{
    *from = UINT64_MAX;
    *to = 0;
    for (size_t i = 0; i < n; i++) {
        *from = MIN(*from, page_down(rs[i].start));
        *to = MAX(*to, region_page_end(&rs[i]));
    }
}

int region_set_add(RegionSet *s, const Region *add, size_t n, GArray *segs)
{
    for (size_t i = 0; i < n; i++) {
        int rc = check_region(&add[i]);
        if (rc) return rc;
    }
    if (n == 0) return 0;
    guint old_len = s->regions->len;
    g_array_append_vals(s->regions, add, (guint)n);
    uint64_t from, to;
    span(add, n, &from, &to);
    guint seg_len = segs->len;
    int rc = sweep(s->regions, from, to, segs, true);
    if (rc) { /* all or none */
        g_array_set_size(s->regions, old_len);
        g_array_set_size(segs, seg_len);
        return rc;
    }
    g_array_sort(s->regions, by_start);
    return 0;
}

/* Cuts [a, b) out of every region (b > a, no wrap). */
static void cut(GArray *regions, uint64_t a, uint64_t b)
{
    for (guint i = 0; i < regions->len;) {
        Region *r = &g_array_index(regions, Region, i);
        uint64_t rs = r->start, re = r->start + r->len; /* re may be 0 only for the top byte: excluded by check_region */
        if (re <= a || rs >= b) {
            i++;
            continue;
        }
        Region keep = *r;
        g_array_remove_index(regions, i);
        if (rs < a) {
            Region left = keep;
            left.len = a - rs;
            g_array_insert_val(regions, i++, left);
        }
        if (re > b) {
            Region right = keep;
            right.start = b;
            right.len = re - b;
            right.target = keep.target + (b - rs);
            g_array_insert_val(regions, i++, right);
        }
    }
}

int region_set_remove(RegionSet *s, const Region *ranges, size_t n, GArray *segs)
{
    for (size_t i = 0; i < n; i++)
        if (ranges[i].len == 0 || ranges[i].start + ranges[i].len - 1 < ranges[i].start) return -EINVAL;
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++) {
        /* a range reaching the very top is cut up to the last representable byte */
        uint64_t end = ranges[i].start + ranges[i].len;
        cut(s->regions, ranges[i].start, end ? end : UINT64_MAX);
    }
    uint64_t from = UINT64_MAX, to = 0;
    for (size_t i = 0; i < n; i++) {
        from = MIN(from, page_down(ranges[i].start));
        uint64_t last = page_down(ranges[i].start + ranges[i].len - 1);
        to = MAX(to, last == page_down(UINT64_MAX) ? last : last + REGION_PAGE_SIZE);
    }
    /* Removal can only take translations away: no conflict can appear. */
    return sweep(s->regions, from, to, segs, true);
}

int region_set_remove_exact(RegionSet *s, const Region *r, GArray *segs)
{
    for (guint i = 0; i < s->regions->len; i++) {
        const Region *x = region_set_at(s, i);
        if (x->start != r->start || x->len != r->len || x->perms != r->perms || x->target != r->target) continue;
        Region gone = *x;
        g_array_remove_index(s->regions, i);
        return sweep(s->regions, page_down(gone.start), region_page_end(&gone), segs, true);
    }
    return -ENOENT;
}

void region_set_segments(const RegionSet *s, uint64_t from, uint64_t to, GArray *segs)
{
    sweep(s->regions, from, to, segs, true);
}

void region_set_mapped(const RegionSet *s, GArray *segs)
{
    if (s->regions->len == 0) return;
    uint64_t to = 0;
    for (guint i = 0; i < s->regions->len; i++) to = MAX(to, region_page_end(region_set_at(s, i)));
    sweep(s->regions, page_down(region_set_at(s, 0)->start), to, segs, false);
}
