/* What the reports' pictures draw with, the memory map (report-map.c) and
 * the A, B and C picture (report-abc.c): a broken address axis laid out
 * for what it must show, markers grouped where they crowd, tooltips and
 * address labels, the regions' colours and labels. It knows the records
 * (report.h) but none of the pictures. */
#include "report-svg.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report-text.h"

/* ------------------------------------------------------------------------ */
/* The axis */

/* Pixel sizes, in the SVG's own units (the page scales the picture); the
 * pictures' own are in report-svg.h and in report-map.c. */
#define MARGIN_R 12.0
#define MIN_SPAN 16.0  /* the narrowest span: a 4 KiB page must show next to 512 MiB */
#define MIN_READ 12.0  /* below this, neighbouring markers run together */
#define LOG_STEP 6.0   /* extra width per doubling of a span's size */
#define GAP_W 46.0     /* a skipped stretch, whatever its size */
#define POOL_MIN 76.0  /* room for "table pool" */
#define MERGE_PX 9.0   /* markers closer than a glyph's width become one */

#define MAX_BP 72u     /* breakpoints on the axis: more spans than this are unreadable */
#define GAP_MIN (UINT64_C(64) << 10) /* an empty stretch this big is drawn as a break */

typedef struct {
    uint64_t lo, hi;
} Iv;

/* floor(log2(v)) + 1; g_bit_storage() takes a long, 32 bits on some hosts. */
unsigned rp_bits64(uint64_t v)
{
    unsigned n = 0;
    for (; v; v >>= 1) n++;
    return n;
}

int rp_px(double v) { return (int)(v < 0 ? v - 0.5 : v + 0.5); }

uint64_t rp_end_of(uint64_t a, uint64_t len) { return len > UINT64_MAX - a ? UINT64_MAX : a + len; }
uint64_t rp_dma_end(const ReportDma *d) { return rp_end_of(d->addr, d->len ? d->len : 1); }
/* The memory map is host-physical: a pass-through engine's DMA inside its
 * VM's guest RAM is drawn where the VM backs that address (where it landed,
 * or would have); its guest-physical view is the pass-through picture's. */
uint64_t rp_dma_at(const ReportDma *d) { return d->translated ? d->hpa : d->addr; }
uint64_t rp_dma_at_end(const ReportDma *d) { return rp_end_of(rp_dma_at(d), d->len ? d->len : 1); }
uint64_t rp_page_of(uint64_t a) { return a & ~(PAGE - 1); }

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void outside(Collect *c, uint64_t a)
{
    unsigned side = a >= c->hi;
    if (side) c->above++;
    else c->below++;
    for (unsigned i = 0; i < c->nseen[side]; i++)
        if (c->seen[side][i] == a) return;
    if (c->nseen[side] < G_N_ELEMENTS(c->seen[side])) c->seen[side][c->nseen[side]++] = a;
    else c->more[side] = true;
}

static void put_seen(GString *notes, const Collect *c, unsigned side)
{
    unsigned n = side ? c->above : c->below;
    if (!n) return;
    g_string_append_printf(notes, "%s %u %s (", side && c->below ? "," : "", n, side ? "above" : "below");
    for (unsigned i = 0; i < c->nseen[side]; i++) g_string_append_printf(notes, "%s0x%" PRIx64, i ? ", " : "", c->seen[side][i]);
    g_string_append(notes, c->more[side] ? ", ...)" : ")");
}

void rp_take(Collect *c, uint64_t a, uint64_t e, bool marker)
{
    if (e <= c->lo || a >= c->hi) {
        if (marker) outside(c, a);
        return;
    }
    Iv iv = { MAX(a, c->lo), MIN(e, c->hi) };
    g_array_append_val(c->pts, iv.lo);
    g_array_append_val(c->pts, iv.hi);
    g_array_append_val(c->cover, iv);
}

void rp_take_fault(Collect *c, uint64_t a)
{
    if (a < c->lo || a >= c->hi) {
        outside(c, a);
    } else {
        /* The faulting page is shown, not just a point between two breaks. */
        rp_take(c, rp_page_of(a), rp_end_of(rp_page_of(a), PAGE), false);
        g_array_append_val(c->pts, a);
    }
}

/* Keep breakpoints at least t apart, but keep the last one of every cluster
 * too: otherwise a cluster of DMAs swallows the empty stretch after it, which
 * then is no longer drawn as a break. */
static unsigned thin(const uint64_t *p, unsigned n, uint64_t t, uint64_t *out)
{
    unsigned k = 0;
    for (unsigned i = 0; i < n; i++) {
        bool edge = i == 0 || i + 1 == n || p[i + 1] - p[i] >= t;
        if (edge || p[i] - out[k - 1] >= t) out[k++] = p[i];
    }
    return k;
}


void rp_axis_free(Axis *ax)
{
    g_free(ax->bp);
    g_free(ax->x);
    g_free(ax->gap);
}

void rp_collect_init(Collect *c, uint64_t lo, uint64_t hi)
{
    *c = (Collect){ .lo = lo, .hi = hi, .pts = g_array_new(FALSE, FALSE, sizeof(uint64_t)),
                    .cover = g_array_new(FALSE, FALSE, sizeof(Iv)) };
    g_array_append_val(c->pts, lo);
    g_array_append_val(c->pts, hi);
}

/* The axis for what c collected (ax->lo, ax->hi set): breakpoints, widths,
 * the outside boxes. A pool, if any, gets room for its name. */
bool rp_axis_layout(Axis *ax, Collect *c_, uint64_t pool_base, uint64_t pool_size, const char *space, GString *notes)
{
    Collect c = *c_;
    uint64_t *p = (uint64_t *)(void *)c.pts->data;
    unsigned n = c.pts->len;
    qsort(p, n, sizeof *p, cmp_u64);
    unsigned u = 0;
    for (unsigned i = 0; i < n; i++)
        if (u == 0 || p[i] != p[u - 1]) p[u++] = p[i];
    ax->bp = g_new(uint64_t, u);
    uint64_t t = 0;
    while ((ax->n = thin(p, u, t, ax->bp)) > MAX_BP && t < (UINT64_C(1) << 62)) t = t ? t * 2 : PAGE;

    /* Widths: empty stretches of GAP_MIN or more are breaks, the rest grows
     * with log2 of its size in pages. */
    unsigned spans = ax->n - 1, content = 0, gaps = 0;
    double logsum = 0;
    ax->gap = g_new0(bool, spans);
    double *lg = g_new0(double, spans);
    bool any_cover = c.cover->len > 0;
    for (unsigned i = 0; i < spans; i++) {
        uint64_t a = ax->bp[i], e = ax->bp[i + 1], size = e - a;
        bool covered = false;
        for (guint k = 0; k < c.cover->len && !covered; k++) {
            const Iv *iv = &g_array_index(c.cover, Iv, k);
            covered = iv->lo < e && iv->hi > a;
        }
        /* With nothing recorded in RAM, the plain axis is the picture. */
        ax->gap[i] = any_cover && !covered && size >= GAP_MIN;
        if (ax->gap[i]) {
            gaps++;
        } else {
            content++;
            lg[i] = size > PAGE ? rp_bits64(size / PAGE) - 1 : 0;
            logsum += lg[i];
        }
    }

    double left = GUTTER, right = MAP_W - MARGIN_R;
    if (c.below) {
        ax->below_x = left + ZONE_W / 2;
        left += ZONE_W + 14;
    }
    if (c.above) {
        ax->above_x = right - ZONE_W / 2;
        right -= ZONE_W + 14;
    }
    double avail = right - left, gap_w = GAP_W;
    if (gaps * gap_w > avail * 0.4) gap_w = avail * 0.4 / gaps;
    double avail_c = avail - gaps * gap_w, base = MIN_SPAN, step = LOG_STEP;
    if (content * base + step * logsum > avail_c) {
        /* Too many spans: give up growth before giving up legibility. */
        base = MIN_READ;
        if (content * base >= avail_c) {
            base = content ? avail_c / content : 0;
            step = 0;
        } else {
            step = MIN(LOG_STEP, logsum > 0 ? (avail_c - content * base) / logsum : 0);
        }
    }
    double total = content * base + step * logsum;
    double scale = total > 0 ? avail_c / total : 1;
    double *w = g_new(double, spans ? spans : 1);
    double in_pool = 0;
    uint64_t pool_end = rp_end_of(pool_base, pool_size);
    for (unsigned i = 0; i < spans; i++) {
        w[i] = ax->gap[i] ? gap_w : (base + step * lg[i]) * scale;
        if (!ax->gap[i] && pool_size && ax->bp[i] >= pool_base && ax->bp[i + 1] <= pool_end) in_pool += w[i];
    }
    /* The pool is one big span next to many small ones when DMAs crowd the
     * axis; it must still have room for its name. */
    if (in_pool > 0 && in_pool < POOL_MIN && avail_c - in_pool > 2 * POOL_MIN) {
        double fp = POOL_MIN / in_pool, fo = (avail_c - POOL_MIN) / (avail_c - in_pool);
        for (unsigned i = 0; i < spans; i++)
            if (!ax->gap[i]) w[i] *= ax->bp[i] >= pool_base && ax->bp[i + 1] <= pool_end ? fp : fo;
    }
    ax->x = g_new(double, ax->n);
    ax->x[0] = left;
    for (unsigned i = 0; i < spans; i++) ax->x[i + 1] = ax->x[i] + w[i];
    ax->x[spans] = right; /* no rounding drift at the end */
    g_free(w);

    if (c.below || c.above) {
        g_string_append_printf(notes, "<li>Outside %s [0x%" PRIx64 ", 0x%" PRIx64 "), DMAs and faults:", space, ax->lo, ax->hi);
        put_seen(notes, &c, 0);
        put_seen(notes, &c, 1);
        g_string_append_printf(notes, "; they are drawn in the box%s at the %s.</li>\n", c.below && c.above ? "es" : "",
                               c.below && c.above ? "two ends" : c.below ? "left end" : "right end");
    }
    g_free(lg);
    g_array_unref(c.pts);
    g_array_unref(c.cover);
    return true;
}

double rp_x_of(const Axis *ax, uint64_t a)
{
    if (a <= ax->lo) return ax->x[0];
    if (a >= ax->hi) return ax->x[ax->n - 1];
    unsigned l = 0, r = ax->n - 1; /* bp[l] <= a < bp[r] */
    while (r - l > 1) {
        unsigned m = l + (r - l) / 2;
        if (ax->bp[m] <= a) l = m;
        else r = m;
    }
    double f = (double)(a - ax->bp[l]) / (double)(ax->bp[l + 1] - ax->bp[l]);
    return ax->x[l] + f * (ax->x[l + 1] - ax->x[l]);
}

/* x extent of [a, e); an extent wholly outside the axis collapses into its
 * outside box. */
void rp_x_range(const Axis *ax, uint64_t a, uint64_t e, double *x0, double *x1)
{
    if (a >= ax->hi) {
        *x0 = *x1 = ax->above_x >= 0 ? ax->above_x : ax->x[ax->n - 1];
        return;
    }
    if (e <= ax->lo) {
        *x0 = *x1 = ax->below_x >= 0 ? ax->below_x : ax->x[0];
        return;
    }
    *x0 = rp_x_of(ax, MAX(a, ax->lo));
    *x1 = rp_x_of(ax, MIN(e, ax->hi));
}

/* ------------------------------------------------------------------------ */
/* Markers */

static int cmp_mark(const void *a, const void *b)
{
    const Mark *m = a, *k = b;
    if (m->x != k->x) return m->x < k->x ? -1 : 1;
    return m->i < k->i ? -1 : m->i > k->i;
}

/* Marks sorted by x, cut where the next is MERGE_PX or further from the
 * first of its group: one marker per group, so a storm of DMAs on one page
 * is one shape with a count, not thousands on top of each other. */
GArray *rp_groups_of(GArray *marks)
{
    qsort(marks->data, marks->len, sizeof(Mark), cmp_mark);
    GArray *starts = g_array_new(FALSE, FALSE, sizeof(guint));
    for (guint j = 0; j < marks->len; j++)
        if (j == 0 || g_array_index(marks, Mark, j).x - g_array_index(marks, Mark, g_array_index(starts, guint, starts->len - 1)).x >= MERGE_PX)
            g_array_append_val(starts, j);
    guint end = marks->len;
    g_array_append_val(starts, end);
    return starts;
}

void rp_put_title(GString *o, const GString *t)
{
    g_string_append(o, "<title>");
    rp_put_esc(o, t->str);
    g_string_append(o, "</title>");
}

/* ------------------------------------------------------------------------ */
/* Regions */

const char *rp_perm_class(const ReportRegion *r)
{
    if (r->removed) return "removed";
    if (strncmp(r->perms, "rw", sizeof r->perms) == 0) return "rw";
    if (strncmp(r->perms, "r", sizeof r->perms) == 0) return "r";
    if (strncmp(r->perms, "w", sizeof r->perms) == 0) return "w";
    return "none";
}

const char *rp_perm_fill(const char *cls)
{
    if (!strcmp(cls, "r")) return "#3b78d8";
    if (!strcmp(cls, "w")) return "#e39a1c";
    if (!strcmp(cls, "rw")) return "#7b4fc9";
    if (!strcmp(cls, "removed")) return "#ffffff";
    return "#9a9a9a";
}

char *rp_region_label(const ReportRegion *r, guint i)
{
    GString *t = g_string_new(NULL);
    g_string_append_printf(t, "#%u ", i + 1);
    if (r->removed) g_string_append(t, "unmap ");
    g_string_append_printf(t, "%s obj %u", rp_str(r->client), r->object);
    if (!r->removed) g_string_append_printf(t, " %.*s", FX(r->perms));
    if (r->has_target) g_string_append_printf(t, " \xe2\x86\x92 target 0x%" PRIx64, r->target);
    return g_string_free(t, FALSE);
}

/* ------------------------------------------------------------------------ */
/* Address labels */

void rp_put_hex_label(GString *o, double x, double y, uint64_t a)
{
    g_string_append_printf(o, "<text x=\"%d\" y=\"%d\" transform=\"rotate(-90 %d %d)\" text-anchor=\"end\" class=\"addr\">0x%" PRIx64 "</text>\n",
                           rp_px(x) + 4, rp_px(y), rp_px(x) + 4, rp_px(y), a);
}
