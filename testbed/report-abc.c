/* The HTML report's pass-through picture (docs/scenarios.md, "VMs and
 * guests"): for each engine a VM holds, its A, B and C, guest-physical
 * above and host-physical below, with every DMA in both. It draws with
 * report-svg.c's axis and markers, as the memory map does. */
#include "report-abc.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "report-internal.h"
#include "report-svg.h"
#include "report-text.h"

/* ------------------------------------------------------------------------ */
/* Pass-through: A, B and C (seed 002) */

/* For each engine passed through to a VM, one picture of the guest's side
 * and the host's: the device's own addresses (guest-physical) with the
 * VM's guest RAM (A) and what the guest's drivers mapped for it (B), and
 * below, host-physical, where the VM backs A, what B translates to (C:
 * all the device can reach once the guest's service runs), the other VMs'
 * RAM and the table pool. Each DMA stands in both: where the device aimed
 * it, and where its bytes landed or were kept from. */

#define C_A "#d7ecd9"
#define C_A_LINE "#4f8f5c"
#define C_OTHER "#e2e2e2"
#define BAND_H 40.0

typedef struct {
    uint64_t gpa, len, hpa;
} Piece;

/* [gpa, gpa + len) of a VM's guest RAM as host-physical pieces; what lies
 * outside its RAM has no backing and is dropped. */
static GArray *to_host(const ReportScenario *s, const char *vm, uint64_t gpa, uint64_t len)
{
    GArray *out = g_array_new(FALSE, FALSE, sizeof(Piece));
    uint64_t e = rp_end_of(gpa, len);
    for (guint i = 0; i < rp_len_of(s->vm_ram); i++) {
        const ReportVmRam *a = &g_array_index(s->vm_ram, ReportVmRam, i);
        if (strncmp(a->vm, vm, sizeof a->vm)) continue;
        uint64_t lo = MAX(gpa, a->gpa), hi = MIN(e, rp_end_of(a->gpa, a->size));
        if (lo >= hi) continue;
        Piece pc = { lo, hi - lo, a->hpa + (lo - a->gpa) };
        g_array_append_val(out, pc);
    }
    return out;
}

/* B of this device: a guest's region for an object that held it. */
static bool region_of_pass(const ReportRegion *r, const ReportPass *p)
{
    if (!r->vm || strncmp(r->vm, p->vm, sizeof p->vm) || !r->devices || !r->len) return false;
    g_auto(GStrv) d = g_strsplit(r->devices, " ", -1);
    return g_strv_contains((const char *const *)d, p->guest_dev);
}

static bool dma_of_pass(const ReportDma *d, const ReportPass *p)
{
    return strncmp(d->vm, p->vm, sizeof d->vm) == 0 && strncmp(d->device, p->engine, sizeof d->device) == 0;
}

/* Marker rows: the guest's view (where the device aimed) and the host's
 * (where the bytes went). */
static const char *const abc_row_name[2][3] = { { "DMA landed", "blocked: guest told", "blocked: host only" },
                                                { "landed here", "kept from here", NULL } };
static const char *const abc_row_class[2][3] = { { "landed", "blocked guest-side", "blocked host-side" },
                                                 { "landed", "blocked", NULL } };

static unsigned abc_row(const ReportDma *d, bool host)
{
    if (d->went_through) return 0;
    return host || d->guest_side ? 1 : 2;
}

static void glyph(GString *o, double x, double cy, bool write, const char *fill, bool bad)
{
    if (bad) g_string_append_printf(o, "<circle cx=\"%d\" cy=\"%d\" r=\"10\" fill=\"#ffd400\" stroke=\"#000\" stroke-width=\"1.5\"/>", rp_px(x), rp_px(cy));
    if (write) g_string_append_printf(o, "<path d=\"M%d %dh12l-6 10z\"", rp_px(x) - 6, rp_px(cy) - 5);
    else g_string_append_printf(o, "<path d=\"M%d %dh12l-6 -10z\"", rp_px(x) - 6, rp_px(cy) + 5);
    g_string_append_printf(o, " fill=\"%s\" stroke=\"%s\" stroke-width=\"%s\"/>", fill, bad ? "#000" : "#fff", bad ? "2" : "0.8");
}

static void abc_marks(GString *o, const Axis *ax, const ReportScenario *s, const ReportPass *p, bool host, unsigned row,
                      double cy)
{
    g_autoptr(GArray) marks = g_array_new(FALSE, FALSE, sizeof(Mark));
    for (guint i = 0; i < rp_len_of(s->dmas); i++) {
        const ReportDma *d = &g_array_index(s->dmas, ReportDma, i);
        if (!dma_of_pass(d, p) || abc_row(d, host) != row) continue;
        Mark m = { 0, 0, 0, i };
        if (host) rp_x_range(ax, rp_dma_at(d), rp_dma_at_end(d), &m.x0, &m.x1);
        else rp_x_range(ax, d->addr, rp_dma_end(d), &m.x0, &m.x1);
        m.x = (m.x0 + m.x1) / 2;
        g_array_append_val(marks, m);
    }
    if (!marks->len) return;
    g_autoptr(GArray) starts = rp_groups_of(marks);
    g_autoptr(GString) tip = g_string_new(NULL);
    const char *fill = row == 0 ? C_OK : C_BAD;
    for (guint g = 0; g + 1 < starts->len; g++) {
        guint b = g_array_index(starts, guint, g), e = g_array_index(starts, guint, g + 1), n = e - b;
        double x = 0;
        unsigned bad = 0, writes = 0;
        g_string_truncate(tip, 0);
        if (n > 1) g_string_append_printf(tip, "%u DMAs here (%s)\n", n, abc_row_name[host][row]);
        for (guint j = b; j < e; j++) {
            const Mark *m = &g_array_index(marks, Mark, j);
            const ReportDma *d = &g_array_index(s->dmas, ReportDma, m->i);
            x += m->x / n;
            bad += rp_unexpected(d);
            writes += d->write;
            if (j - b < MAX_TIP) {
                rp_dma_text(tip, d);
                g_string_append_c(tip, '\n');
            }
        }
        if (n > MAX_TIP) g_string_append_printf(tip, "... and %u more\n", n - MAX_TIP);
        g_string_truncate(tip, tip->len - 1);
        bool write = writes * 2 >= n;
        g_string_append_printf(o, "<g class=\"abc-dma %s %s %s%s\" data-n=\"%u\">", write ? "write" : "read",
                               abc_row_class[host][row], host ? "host-view" : "guest-view", bad ? " unexpected" : "", n);
        rp_put_title(o, tip);
        glyph(o, x, cy, write, fill, bad);
        g_string_append(o, "</g>\n");
    }
}

/* A bar on a track: class, its extent, fill, label if it fits, a tooltip. */
static void abc_bar(GString *o, const Axis *ax, const char *cls, uint64_t a, uint64_t e, double y, double h, const char *fill,
                    const char *stroke, const char *label, const char *tip, bool dashed)
{
    double x0, x1;
    rp_x_range(ax, a, e, &x0, &x1);
    if (x1 - x0 < 3) x1 = x0 + 3;
    g_string_append_printf(o, "<g class=\"%s\"><title>", cls);
    rp_put_esc(o, tip);
    g_string_append_printf(o, "</title><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"2\" fill=\"%s\" stroke=\"%s\"%s/>",
                           rp_px(x0), rp_px(y), MAX(1, rp_px(x1) - rp_px(x0)), rp_px(h), fill, stroke,
                           dashed ? " stroke-dasharray=\"4 2\" fill-opacity=\".7\"" : "");
    if (label && (x1 - x0) >= g_utf8_strlen(label, -1) * CHAR_W + 8) {
        g_string_append_printf(o, "<text x=\"%d\" y=\"%d\" fill=\"#1d1d1f\" font-size=\"10.5\">", rp_px(x0) + 4, rp_px(y + h / 2) + 4);
        rp_put_esc(o, label);
        g_string_append(o, "</text>");
    }
    g_string_append(o, "</g>\n");
}

static void abc_row_label(GString *o, double y, const char *text)
{
    g_string_append_printf(o, "<text x=\"6\" y=\"%d\" fill=\"#444\">", rp_px(y) + 4);
    rp_put_esc(o, text);
    g_string_append(o, "</text>\n");
}

static void svg_abc(GString *o, const ReportScenario *s, const ReportPass *p, unsigned id, GString *notes)
{
    /* the guest's axis: its VM's guest RAM, and the device's DMAs beside it */
    uint64_t glo = UINT64_MAX, ghi = 0;
    for (guint i = 0; i < rp_len_of(s->vm_ram); i++) {
        const ReportVmRam *a = &g_array_index(s->vm_ram, ReportVmRam, i);
        if (strncmp(a->vm, p->vm, sizeof a->vm)) continue;
        glo = MIN(glo, a->gpa);
        ghi = MAX(ghi, rp_end_of(a->gpa, a->size));
    }
    uint64_t hlo = s->ram_base, hhi = rp_end_of(s->ram_base, s->ram_size);
    if (glo >= ghi || !s->ram_size || hhi <= hlo) {
        g_string_append(notes, "<li>No guest RAM or no host RAM size known: nothing to draw.</li>\n");
        return;
    }
    Axis gx, hx;
    memset(&gx, 0, sizeof gx);
    memset(&hx, 0, sizeof hx);
    gx.lo = glo, gx.hi = ghi, gx.below_x = gx.above_x = -1;
    hx.lo = hlo, hx.hi = hhi, hx.below_x = hx.above_x = -1;
    Collect cg, ch;
    rp_collect_init(&cg, glo, ghi);
    rp_collect_init(&ch, hlo, hhi);
    if (s->pool_size) rp_take(&ch, s->pool_base, rp_end_of(s->pool_base, s->pool_size), false);
    for (guint i = 0; i < rp_len_of(s->vm_ram); i++) {
        const ReportVmRam *a = &g_array_index(s->vm_ram, ReportVmRam, i);
        if (strncmp(a->vm, p->vm, sizeof a->vm) == 0) rp_take(&cg, a->gpa, rp_end_of(a->gpa, a->size), false);
        rp_take(&ch, a->hpa, rp_end_of(a->hpa, a->size), false);
    }
    g_autoptr(GArray) b_idx = g_array_new(FALSE, FALSE, sizeof(guint));
    for (guint i = 0; i < rp_len_of(s->regions); i++) {
        const ReportRegion *r = &g_array_index(s->regions, ReportRegion, i);
        if (!region_of_pass(r, p)) continue;
        g_array_append_val(b_idx, i);
        rp_take(&cg, r->addr, rp_end_of(r->addr, r->len), false);
        g_autoptr(GArray) pcs = to_host(s, p->vm, r->addr, r->len);
        for (guint k = 0; k < pcs->len; k++) {
            const Piece *pc = &g_array_index(pcs, Piece, k);
            rp_take(&ch, pc->hpa, rp_end_of(pc->hpa, pc->len), false);
        }
    }
    bool rows[2][3] = { { false } };
    for (guint i = 0; i < rp_len_of(s->dmas); i++) {
        const ReportDma *d = &g_array_index(s->dmas, ReportDma, i);
        if (!dma_of_pass(d, p)) continue;
        rp_take(&cg, d->addr, rp_dma_end(d), true);
        rp_take(&ch, rp_dma_at(d), rp_dma_at_end(d), true);
        rows[0][abc_row(d, false)] = rows[1][abc_row(d, true)] = true;
    }
    g_autofree char *gspace = g_strdup_printf("VM %.*s's guest RAM (guest-physical)", FX(p->vm));
    rp_axis_layout(&gx, &cg, 0, 0, gspace, notes);
    rp_axis_layout(&hx, &ch, s->pool_base, s->pool_size, "host RAM", notes);
    guint nb = MIN(b_idx->len, ALL_LANES);
    if (b_idx->len > nb)
        g_string_append_printf(notes, "<li>%u of the guest's regions for this device are drawn; all are in the table.</li>\n", nb);

    /* top to bottom: guest DMA rows, A, B lanes, the guest axis, the
     * translation, host RAM with A's backing, C lanes, host DMA rows, the
     * host axis */
    double y = 8, grow[3] = { 0 }, hrow[2] = { 0 };
    for (unsigned r = 0; r < 3; r++)
        if (rows[0][r]) grow[r] = y + ROW_H / 2, y += ROW_H;
    double ga_y = y + 4, gl_y = ga_y + RAM_H + 4, gaxis = gl_y + nb * LANE_H + 2;
    double band_y = gaxis + 18; /* under the guest axis's labels */
    double hy = band_y + BAND_H, hl_y = hy + RAM_H + 4;
    y = hl_y + nb * LANE_H + 4;
    for (unsigned r = 0; r < 2; r++)
        if (rows[1][r]) hrow[r] = y + ROW_H / 2, y += ROW_H;
    double haxis = y + 2;
    int digits = 1;
    for (unsigned i = 0; i < hx.n; i++) digits = MAX(digits, (int)(rp_bits64(hx.bp[i]) + 3) / 4);
    double height = haxis + 10 + (digits + 2) * 6.6 + 6;

    g_string_append_printf(o, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"abc\" role=\"img\" "
                              "font-family=\"system-ui,'DejaVu Sans',sans-serif\" font-size=\"11\" viewBox=\"0 0 %d %d\" "
                              "width=\"%d\" height=\"%d\" aria-label=\"A, B and C of ",
                           rp_px(MAP_W), rp_px(height), rp_px(MAP_W), rp_px(height));
    rp_put_attr(o, p->engine);
    g_string_append(o, "\">\n");
    g_string_append_printf(o, "<defs><pattern id=\"abchatch%u\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">"
                              "<rect width=\"6\" height=\"6\" fill=\"#dcdcdc\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#8c8c8c\" stroke-width=\"2.4\"/></pattern></defs>\n",
                           id);
    /* outside boxes of either axis */
    const Axis *axes[2] = { &gx, &hx };
    const double tops[2] = { 4, hy - 4 }, bottoms[2] = { gaxis + 4, haxis };
    for (int a = 0; a < 2; a++)
        for (int k = 0; k < 2; k++) {
            double zx = k ? axes[a]->above_x : axes[a]->below_x;
            if (zx < 0) continue;
            g_string_append_printf(o, "<g class=\"outside\"><title>%s %s: not on the axis</title>"
                                      "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fbf1f1\" stroke=\"#c99\" stroke-dasharray=\"4 3\"/></g>\n",
                                   k ? "above" : "below", a ? "host RAM" : "guest RAM", rp_px(zx - ZONE_W / 2), rp_px(tops[a]), rp_px(ZONE_W),
                                   rp_px(bottoms[a] - tops[a]));
        }

    /* row names */
    for (unsigned r = 0; r < 3; r++)
        if (rows[0][r]) abc_row_label(o, grow[r], abc_row_name[0][r]);
    abc_row_label(o, ga_y + RAM_H / 2, "A (guest)");
    if (nb) abc_row_label(o, gl_y + LANE_H / 2, "B");
    abc_row_label(o, hy + RAM_H / 2, "host RAM");
    if (nb) abc_row_label(o, hl_y + LANE_H / 2, "C");
    for (unsigned r = 0; r < 2; r++)
        if (rows[1][r]) abc_row_label(o, hrow[r], abc_row_name[1][r]);

    /* the translation: each range of A, guest-physical down to its backing */
    g_autoptr(GString) tip = g_string_new(NULL);
    for (guint i = 0; i < rp_len_of(s->vm_ram); i++) {
        const ReportVmRam *a = &g_array_index(s->vm_ram, ReportVmRam, i);
        if (strncmp(a->vm, p->vm, sizeof a->vm)) continue;
        double g0, g1, h0, h1;
        rp_x_range(&gx, a->gpa, rp_end_of(a->gpa, a->size), &g0, &g1);
        rp_x_range(&hx, a->hpa, rp_end_of(a->hpa, a->size), &h0, &h1);
        g_string_append_printf(o, "<path class=\"abc-band\" d=\"M%d %dL%d %dL%d %dL%d %dz\" fill=\"" C_A_LINE "\" fill-opacity=\".13\" "
                                  "stroke=\"" C_A_LINE "\" stroke-opacity=\".4\"/>\n",
                               rp_px(g0), rp_px(band_y), rp_px(g1), rp_px(band_y), rp_px(h1), rp_px(hy), rp_px(h0), rp_px(hy));
    }

    /* the guest's side: A, then B */
    for (guint i = 0; i < rp_len_of(s->vm_ram); i++) {
        const ReportVmRam *a = &g_array_index(s->vm_ram, ReportVmRam, i);
        if (strncmp(a->vm, p->vm, sizeof a->vm)) continue;
        char sz[32];
        rp_size_str(sz, sizeof sz, a->size, false);
        g_string_truncate(tip, 0);
        g_string_append_printf(tip, "A: VM %.*s's guest RAM 0x%" PRIx64 " to 0x%" PRIx64 " (%s), backed at host 0x%" PRIx64
                                    "; all of it the device's until the guest's service starts",
                               FX(a->vm), a->gpa, rp_end_of(a->gpa, a->size), sz, a->hpa);
        abc_bar(o, &gx, "abc-a", a->gpa, rp_end_of(a->gpa, a->size), ga_y, RAM_H, C_A, C_A_LINE, "A", tip->str, false);
    }
    for (guint k = 0; k < nb; k++) {
        guint i = g_array_index(b_idx, guint, k);
        const ReportRegion *r = &g_array_index(s->regions, ReportRegion, i);
        const char *cls = rp_perm_class(r);
        g_autofree char *label = rp_region_label(r, i);
        g_autofree char *bcls = g_strdup_printf("abc-b %s", cls);
        g_string_truncate(tip, 0);
        g_string_append_printf(tip, "B %s: guest-physical 0x%" PRIx64 " to 0x%" PRIx64 "%s", label, r->addr,
                               rp_end_of(r->addr, r->len), r->removed ? " (unmapped here)" : "");
        abc_bar(o, &gx, bcls, r->addr, rp_end_of(r->addr, r->len), gl_y + k * LANE_H + 3, 14, rp_perm_fill(cls), "#555", label,
                tip->str, r->removed);
    }
    /* the guest axis: a tick at every breakpoint; labels where the ranges of
     * A begin and end, where they fit (the rest: tooltips and tables) */
    g_string_append_printf(o, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>\n", rp_px(gx.x[0]), rp_px(gaxis),
                           rp_px(gx.x[gx.n - 1]), rp_px(gaxis));
    double gl_last = -1e9;
    for (unsigned i = 0; i < gx.n; i++) {
        g_string_append_printf(o, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"><title>guest-physical 0x%" PRIx64 "</title></line>",
                               rp_px(gx.x[i]), rp_px(gaxis), rp_px(gx.x[i]), rp_px(gaxis) + 4, gx.bp[i]);
        bool edge = false;
        for (guint k = 0; k < rp_len_of(s->vm_ram) && !edge; k++) {
            const ReportVmRam *a = &g_array_index(s->vm_ram, ReportVmRam, k);
            edge = strncmp(a->vm, p->vm, sizeof a->vm) == 0 && (gx.bp[i] == a->gpa || gx.bp[i] == rp_end_of(a->gpa, a->size));
        }
        char lab[24];
        int w = snprintf(lab, sizeof lab, "0x%" PRIx64, gx.bp[i]);
        double half = w * 5.6 / 2, x = MIN(MAX(gx.x[i], gx.x[0] + half), gx.x[gx.n - 1] - half);
        if (!edge || x - half < gl_last + 6) continue;
        g_string_append_printf(o, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"10\" class=\"addr\">%s</text>",
                               rp_px(x), rp_px(gaxis) + 14, lab);
        gl_last = x + half;
    }
    g_string_append_c(o, '\n');

    /* the host's side: RAM, the pool, every VM's backing, then C */
    for (unsigned i = 0; i + 1 < hx.n; i++) {
        if (hx.gap[i]) continue;
        unsigned j = i;
        while (j + 1 < hx.n && !hx.gap[j]) j++;
        g_string_append_printf(o, "<rect class=\"ram\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#f3eee2\" stroke=\"#9b917a\"/>\n",
                               rp_px(hx.x[i]), rp_px(hy), MAX(1, rp_px(hx.x[j]) - rp_px(hx.x[i])), rp_px(RAM_H));
        i = j - 1;
    }
    for (unsigned i = 0; i + 1 < hx.n; i++)
        if (hx.gap[i]) {
            char sz[32];
            rp_size_str(sz, sizeof sz, hx.bp[i + 1] - hx.bp[i], false);
            g_string_append_printf(o, "<g class=\"break\"><title>not to scale: 0x%" PRIx64 " to 0x%" PRIx64 " (%s)</title>"
                                      "<path d=\"M%d %dl6 %d\" stroke=\"#555\" stroke-width=\"1.6\"/></g>\n",
                                   hx.bp[i], hx.bp[i + 1], sz, rp_px((hx.x[i] + hx.x[i + 1]) / 2) - 3, rp_px(hy + RAM_H) + 3, -(rp_px(RAM_H) + 6));
        }
    if (s->pool_size) {
        char sz[32];
        rp_size_str(sz, sizeof sz, s->pool_size, false);
        g_string_truncate(tip, 0);
        g_string_append_printf(tip, "table pool 0x%" PRIx64 " to 0x%" PRIx64 " (%s)", s->pool_base,
                               rp_end_of(s->pool_base, s->pool_size), sz);
        g_autofree char *fill = g_strdup_printf("url(#abchatch%u)", id);
        abc_bar(o, &hx, "pool", s->pool_base, rp_end_of(s->pool_base, s->pool_size), hy, RAM_H, fill, "#555", NULL, tip->str, false);
    }
    for (guint i = 0; i < rp_len_of(s->vm_ram); i++) {
        const ReportVmRam *a = &g_array_index(s->vm_ram, ReportVmRam, i);
        bool mine = strncmp(a->vm, p->vm, sizeof a->vm) == 0;
        char sz[32];
        rp_size_str(sz, sizeof sz, a->size, false);
        g_string_truncate(tip, 0);
        g_string_append_printf(tip, "%s VM %.*s's guest RAM 0x%" PRIx64 " to 0x%" PRIx64 " (%s) is backed here: 0x%" PRIx64 " to 0x%" PRIx64,
                               mine ? "A:" : "another VM:", FX(a->vm), a->gpa, rp_end_of(a->gpa, a->size), sz, a->hpa,
                               rp_end_of(a->hpa, a->size));
        g_autofree char *label = mine ? g_strdup("A") : g_strndup(a->vm, sizeof a->vm);
        abc_bar(o, &hx, mine ? "abc-a" : "abc-other", a->hpa, rp_end_of(a->hpa, a->size), hy, RAM_H, mine ? C_A : C_OTHER,
                mine ? C_A_LINE : "#9a9a9a", label, tip->str, false);
    }
    for (guint k = 0; k < nb; k++) {
        guint i = g_array_index(b_idx, guint, k);
        const ReportRegion *r = &g_array_index(s->regions, ReportRegion, i);
        const char *cls = rp_perm_class(r);
        g_autofree char *label = rp_region_label(r, i);
        g_autofree char *ccls = g_strdup_printf("abc-c %s", cls);
        g_autoptr(GArray) pcs = to_host(s, p->vm, r->addr, r->len);
        for (guint j = 0; j < pcs->len; j++) {
            const Piece *pc = &g_array_index(pcs, Piece, j);
            g_string_truncate(tip, 0);
            g_string_append_printf(tip, "C %s: host-physical 0x%" PRIx64 " to 0x%" PRIx64 ", from guest-physical 0x%" PRIx64 "%s",
                                   label, pc->hpa, rp_end_of(pc->hpa, pc->len), pc->gpa, r->removed ? " (unmapped here)" : "");
            abc_bar(o, &hx, ccls, pc->hpa, rp_end_of(pc->hpa, pc->len), hl_y + k * LANE_H + 3, 14, rp_perm_fill(cls), "#555",
                    j == 0 ? label : NULL, tip->str, r->removed);
        }
    }

    /* the DMAs, on both sides */
    for (unsigned r = 0; r < 3; r++)
        if (rows[0][r]) abc_marks(o, &gx, s, p, false, r, grow[r]);
    for (unsigned r = 0; r < 2; r++)
        if (rows[1][r]) abc_marks(o, &hx, s, p, true, r, hrow[r]);

    /* the host axis, labelled as the memory map's */
    g_string_append_printf(o, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>\n", rp_px(hx.x[0]), rp_px(haxis),
                           rp_px(hx.x[hx.n - 1]), rp_px(haxis));
    double last = -1e9, xr = hx.x[hx.n - 1];
    for (unsigned i = 0; i < hx.n; i++) {
        double x = hx.x[i];
        g_string_append_printf(o, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>", rp_px(x), rp_px(haxis), rp_px(x), rp_px(haxis) + 5);
        if (i + 1 == hx.n || (x - last >= LABEL_STEP && xr - x >= LABEL_STEP)) {
            rp_put_hex_label(o, x, haxis + 8, hx.bp[i]);
            last = x;
        }
    }
    g_string_append(o, "</svg>\n");
    rp_axis_free(&gx);
    rp_axis_free(&hx);
}

static void abc_legend(GString *o)
{
    static const struct {
        const char *svg, *text;
    } items[] = {
        { "<rect x=\"1\" y=\"2\" width=\"16\" height=\"10\" rx=\"2\" fill=\"" C_A "\" stroke=\"" C_A_LINE "\"/>",
          "A: the VM's guest RAM (guest-physical above, its backing below)" },
        { "<rect x=\"1\" y=\"2\" width=\"16\" height=\"10\" rx=\"2\" fill=\"#7b4fc9\"/>", "B: mapped by the guest's driver (colour: r, w, rw)" },
        { "<rect x=\"1\" y=\"2\" width=\"16\" height=\"10\" rx=\"2\" fill=\"#7b4fc9\" stroke=\"#000\"/>",
          "C: B where the VM backs it, what the device reaches" },
        { "<rect x=\"1\" y=\"2\" width=\"16\" height=\"10\" rx=\"2\" fill=\"" C_OTHER "\" stroke=\"#9a9a9a\"/>", "another VM's RAM" },
        { "<path d=\"M3 2h12l-6 10z\" fill=\"" C_OK "\"/>", "DMA landed" },
        { "<path d=\"M3 2h12l-6 10z\" fill=\"" C_BAD "\"/>", "DMA blocked (its row says whose record)" },
    };
    g_string_append(o, "<figcaption class=\"legend\">");
    for (unsigned i = 0; i < G_N_ELEMENTS(items); i++)
        g_string_append_printf(o, "<span><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"18\" height=\"14\" viewBox=\"0 0 18 14\">%s</svg>%s</span>",
                               items[i].svg, items[i].text);
    g_string_append(o, "</figcaption>\n");
}

void rp_abc_section(GString *o, const ReportScenario *s, guint id)
{
    for (guint i = 0; i < rp_len_of(s->passes); i++) {
        const ReportPass *p = &g_array_index(s->passes, ReportPass, i);
        g_string_append(o, "<h3>Pass-through: ");
        rp_put_escn(o, p->engine[0] ? p->engine : "?", (gssize)strnlen(p->engine, sizeof p->engine), false);
        g_string_append(o, " as VM ");
        rp_put_escn(o, p->vm, (gssize)strnlen(p->vm, sizeof p->vm), false);
        g_string_append_printf(o, "'s %.*s (host %.*s): A, B and C</h3>\n<figure class=\"map abc\">\n", FX(p->guest_dev),
                               FX(p->host_dev));
        g_autoptr(GString) notes = g_string_new(NULL);
        svg_abc(o, s, p, id * 64 + i, notes);
        abc_legend(o);
        g_string_append(o, "</figure>\n");
        if (notes->len) g_string_append_printf(o, "<ul class=\"notes\">\n%s</ul>\n", notes->str);
    }
}
