/* Run reports: JUnit XML for CI, and one self-contained HTML page (inline
 * CSS and SVG, nothing fetched) whose centrepiece is a memory map per
 * scenario and board. Both are built in memory and written in one go, so a
 * half-written report never replaces a good one. The top of the reports'
 * files: the records and their words are report.c's, the pictures
 * report-map.c's (the memory map) and report-abc.c's (the pass-through
 * picture); this file has JUnit and the page around the pictures. */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "report-abc.h"
#include "report-internal.h"
#include "report-map.h"
#include "report-svg.h"
#include "report-text.h"

/* The runner may hand over NULL slots or arrays; a report must still come out. */

static const ReportScenario *nth(GPtrArray *a, guint i) { return g_ptr_array_index(a, i); }
static guint count_of(GPtrArray *a) { return a ? a->len : 0; }
static guint log_len(const ReportScenario *s) { return s->log ? s->log->len : 0; }

/* ------------------------------------------------------------------------ */
/* Files */

/* GLib reports file errors as GFileError; callers want the errno back. */
static int errno_of(const GError *e)
{
    if (!e || e->domain != G_FILE_ERROR) return EIO;
    switch ((GFileError)e->code) {
    case G_FILE_ERROR_EXIST: return EEXIST;
    case G_FILE_ERROR_ISDIR: return EISDIR;
    case G_FILE_ERROR_ACCES: return EACCES;
    case G_FILE_ERROR_NAMETOOLONG: return ENAMETOOLONG;
    case G_FILE_ERROR_NOENT: return ENOENT;
    case G_FILE_ERROR_NOTDIR: return ENOTDIR;
    case G_FILE_ERROR_NXIO: return ENXIO;
    case G_FILE_ERROR_NODEV: return ENODEV;
    case G_FILE_ERROR_ROFS: return EROFS;
    case G_FILE_ERROR_TXTBSY: return ETXTBSY;
    case G_FILE_ERROR_FAULT: return EFAULT;
    case G_FILE_ERROR_LOOP: return ELOOP;
    case G_FILE_ERROR_NOSPC: return ENOSPC;
    case G_FILE_ERROR_NOMEM: return ENOMEM;
    case G_FILE_ERROR_MFILE: return EMFILE;
    case G_FILE_ERROR_NFILE: return ENFILE;
    case G_FILE_ERROR_BADF: return EBADF;
    case G_FILE_ERROR_INVAL: return EINVAL;
    case G_FILE_ERROR_PIPE: return EPIPE;
    case G_FILE_ERROR_AGAIN: return EAGAIN;
    case G_FILE_ERROR_INTR: return EINTR;
    case G_FILE_ERROR_IO: return EIO;
    case G_FILE_ERROR_PERM: return EPERM;
    case G_FILE_ERROR_NOSYS: return ENOSYS;
    case G_FILE_ERROR_FAILED: return EIO;
    }
    return EIO;
}

static int check_path(const char *path, const char *what, GError **err)
{
    if (path && *path) return 0;
    g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: no file name given", what);
    return -EINVAL;
}

/* Atomic (temporary file and rename): a reader never sees half a report. */
static int write_out(const char *path, GString *o, const char *what, GError **err)
{
    GError *e = NULL;
    if (g_file_set_contents(path, o->str, (gssize)o->len, &e)) return 0;
    int code = errno_of(e);
    g_propagate_prefixed_error(err, e, "%s %s: ", what, path);
    return -code;
}

/* ------------------------------------------------------------------------ */
/* JUnit XML */

typedef struct {
    unsigned tests, failures, skipped;
    double secs;
} Tally;

static void tally(Tally *t, const ReportScenario *s)
{
    t->tests++;
    t->failures += rp_status_of(s) == RS_FAIL;
    t->skipped += rp_status_of(s) == RS_SKIP;
    t->secs += rp_clean_secs(s->seconds);
}

static void put_tally(GString *o, const Tally *t)
{
    g_string_append_printf(o, " tests=\"%u\" failures=\"%u\" errors=\"0\" skipped=\"%u\" time=\"", t->tests,
                           t->failures, t->skipped);
    rp_put_secs(o, t->secs, "%.3f");
    g_string_append_c(o, '"');
}

/* "./scenarios/dma/basic.scn" -> "scenarios.dma.basic": how JUnit viewers
 * group test cases into packages. */
static char *classname_of(const char *file)
{
    const char *f = rp_str(file);
    for (;;) {
        if (f[0] == '.' && f[1] == '/') f += 2;
        else if (f[0] == '/') f++;
        else break;
    }
    char *c = g_strdup(f);
    char *base = strrchr(c, '/');
    base = base ? base + 1 : c;
    char *dot = strrchr(base, '.');
    if (dot && dot != base) *dot = '\0'; /* ".hidden" keeps its name */
    for (char *p = c; *p; p++)
        if (*p == '/') *p = '.';
    if (!*c) {
        g_free(c);
        return g_strdup("scenario");
    }
    return c;
}

static void put_log(GString *o, const ReportScenario *s)
{
    for (guint i = 0; i < log_len(s); i++) {
        rp_put_esc(o, g_ptr_array_index(s->log, i));
        g_string_append_c(o, '\n');
    }
}

#define JUNIT_MAX_FAULTS 50u /* the first records explain a failure; a storm's thousands do not */

/* A failure's records, each with its reason's name: CI shows this text,
 * and "reason 0x6" alone does not say why. */
static void put_faults(GString *o, const ReportScenario *s)
{
    guint n = rp_len_of(s->faults);
    if (!n) return;
    g_string_append(o, "\n\nfault records:");
    g_autoptr(GString) t = g_string_new(NULL);
    for (guint i = 0; i < n && i < JUNIT_MAX_FAULTS; i++) {
        g_string_truncate(t, 0);
        rp_fault_text(t, &g_array_index(s->faults, ReportFault, i));
        g_string_append_c(o, '\n');
        rp_put_esc(o, t->str);
    }
    if (n > JUNIT_MAX_FAULTS) g_string_append_printf(o, "\n... and %u more", n - JUNIT_MAX_FAULTS);
}

static void junit_case(GString *o, const ReportScenario *s)
{
    g_autofree char *cls = classname_of(s->file);
    g_string_append(o, "    <testcase classname=\"");
    rp_put_attr(o, cls);
    g_string_append(o, "\" name=\"");
    rp_put_attr(o, s->name);
    g_string_append(o, "\" time=\"");
    rp_put_secs(o, s->seconds, "%.3f");
    g_string_append(o, "\">\n");
    const char *msg = s->message && *s->message ? s->message : NULL;
    if (rp_status_of(s) == RS_FAIL) {
        g_string_append(o, "      <failure message=\"");
        rp_put_attr(o, msg ? msg : "failed");
        g_string_append(o, "\" type=\"failure\">");
        rp_put_esc(o, msg ? msg : "failed");
        put_faults(o, s);
        if (log_len(s)) {
            g_string_append(o, "\n\nsteps:\n");
            put_log(o, s);
        }
        g_string_append(o, "</failure>\n");
    } else {
        if (rp_status_of(s) == RS_SKIP) {
            g_string_append(o, "      <skipped");
            if (msg) {
                g_string_append(o, " message=\"");
                rp_put_attr(o, msg);
                g_string_append_c(o, '"');
            }
            g_string_append(o, "/>\n");
        }
        if (log_len(s)) {
            g_string_append(o, "      <system-out>");
            put_log(o, s);
            g_string_append(o, "</system-out>\n");
        }
    }
    g_string_append(o, "    </testcase>\n");
}

/* Boards in the order they first appear. */
static GPtrArray *boards_of(GPtrArray *scenarios)
{
    GPtrArray *b = g_ptr_array_new();
    for (guint i = 0; i < count_of(scenarios); i++) {
        const ReportScenario *s = nth(scenarios, i);
        if (!s) continue;
        guint j = 0;
        while (j < b->len && strcmp(g_ptr_array_index(b, j), rp_str(s->board)) != 0) j++;
        if (j == b->len) g_ptr_array_add(b, (gpointer)rp_str(s->board));
    }
    return b;
}

int report_write_junit(const char *path, GPtrArray *scenarios, GError **err)
{
    int rc = check_path(path, "JUnit report", err);
    if (rc) return rc;
    g_autoptr(GPtrArray) boards = boards_of(scenarios);
    Tally all = { 0 };
    for (guint i = 0; i < count_of(scenarios); i++)
        if (nth(scenarios, i)) tally(&all, nth(scenarios, i));

    g_autoptr(GString) o = g_string_sized_new(4096);
    g_string_append(o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"smmuman test bed\"");
    put_tally(o, &all);
    g_string_append(o, ">\n");
    for (guint b = 0; b < boards->len; b++) {
        const char *board = g_ptr_array_index(boards, b);
        Tally t = { 0 };
        for (guint i = 0; i < count_of(scenarios); i++)
            if (nth(scenarios, i) && strcmp(rp_str(nth(scenarios, i)->board), board) == 0) tally(&t, nth(scenarios, i));
        g_string_append(o, "  <testsuite name=\"");
        rp_put_attr(o, board);
        g_string_append_c(o, '"');
        put_tally(o, &t);
        g_string_append(o, ">\n");
        for (guint i = 0; i < count_of(scenarios); i++)
            if (nth(scenarios, i) && strcmp(rp_str(nth(scenarios, i)->board), board) == 0) junit_case(o, nth(scenarios, i));
        g_string_append(o, "  </testsuite>\n");
    }
    g_string_append(o, "</testsuites>\n");
    return write_out(path, o, "JUnit report", err);
}

/* ------------------------------------------------------------------------ */
/* HTML */

static const char css[] =
    ":root{--pass:#1e7b34;--fail:#c62828;--skip:#6b6b6b}\n"
    "*{box-sizing:border-box;-webkit-print-color-adjust:exact;print-color-adjust:exact}\n"
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;color:#1d1d1f;"
    "margin:0 auto;max-width:1240px;padding:16px 24px}\n"
    "h1{font-size:24px;margin:4px 0 6px}h2{font-size:19px;margin:0 0 8px}h3{font-size:15px;margin:18px 0 6px;color:#333}\n"
    "pre,code,.mono,td.addr,td.reason .addr{font-family:ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:12.5px}\n"
    "pre{white-space:pre-wrap;overflow-wrap:anywhere;margin:4px 0}\n"
    "table{border-collapse:collapse;margin:4px 0}\n"
    "th,td{border:1px solid #d5d5d5;padding:3px 8px;text-align:left;vertical-align:top}\n"
    "th{background:#f2f2f2;font-weight:600}\n"
    "td.pass{background:#dcf2e1}td.fail{background:#fbdada}td.skip{background:#ebebeb}td.none{color:#aaa}\n"
    "td.num,th.num{text-align:right}\n"
    "a{color:#1a56b0}\n"
    ".badge{display:inline-block;padding:1px 9px;border-radius:10px;color:#fff;font-size:12px;font-weight:700;"
    "vertical-align:2px;text-transform:uppercase}\n"
    ".badge.pass{background:var(--pass)}.badge.fail{background:var(--fail)}.badge.skip{background:var(--skip)}\n"
    ".totals{font-size:15px}.totals b.pass{color:var(--pass)}.totals b.fail{color:var(--fail)}.totals b.skip{color:var(--skip)}\n"
    "section.scenario{border:1px solid #ddd;border-left:6px solid var(--pass);border-radius:6px;padding:12px 16px;margin:22px 0}\n"
    "section.fail{border-left-color:var(--fail)}section.skip{border-left-color:var(--skip)}\n"
    "h2 small{font-weight:400;color:#555}\n"
    "table.facts th{width:7em}\n"
    "pre.message{background:#fdecec;border:1px solid #efb3b3;padding:8px;color:#7a1010}\n"
    "pre.message.skip,pre.message.pass{background:#f2f2f2;border-color:#d5d5d5;color:#333}\n"
    "pre.log{background:#f7f7f7;border:1px solid #e2e2e2;padding:8px;max-height:420px;overflow:auto}\n"
    "figure.map{margin:6px 0}figure.map svg{display:block;max-width:100%;height:auto}\n"
    ".legend{display:flex;flex-wrap:wrap;gap:4px 18px;font-size:12px;color:#333;margin-top:6px}\n"
    ".legend span{display:inline-flex;align-items:center;gap:5px}\n"
    "ul.notes{font-size:12.5px;color:#5c4300;background:#fff8e1;border:1px solid #f0dca0;padding:4px 8px 4px 26px}\n"
    "tr.bad td{background:#fff1b8}\n"
    "td.reason .reason-name{font-weight:600}\n"
    "p.more{font-size:12.5px;color:#555}\n"
    "header h2{margin-top:18px}\n"
    /* The maps are wide. */
    "@page{size:A4 landscape;margin:12mm}\n"
    "@media print{body{max-width:none;padding:0}section.scenario{break-before:page}"
    "pre.log{max-height:none;overflow:visible}figure.map{break-inside:avoid}a{color:inherit;text-decoration:none}"
    ".noprint{display:none}}\n";

/* Ids made of the scenario's name and board, numbered so they stay unique. */
static char *anchor_of(const ReportScenario *s, guint i)
{
    GString *a = g_string_new(NULL);
    g_string_append_printf(a, "r%u-", i);
    g_autofree char *raw = g_strdup_printf("%s-%s", rp_str(s->name), rp_str(s->board));
    bool dash = true;
    for (const char *p = raw; *p && a->len < 60; p++) {
        if (g_ascii_isalnum(*p)) {
            g_string_append_c(a, g_ascii_tolower(*p));
            dash = false;
        } else if (!dash) {
            g_string_append_c(a, '-');
            dash = true;
        }
    }
    while (a->str[a->len - 1] == '-') g_string_truncate(a, a->len - 1);
    return g_string_free(a, FALSE);
}

#define MAX_ROWS 200u  /* table rows before "... and N more" */

static void put_more(GString *o, guint total, const char *what)
{
    if (total > MAX_ROWS) g_string_append_printf(o, "<p class=\"more\">... and %u more %s (all in the JUnit report and the event log).</p>\n", total - MAX_ROWS, what);
}

static void regions_table(GString *o, const ReportScenario *s)
{
    guint n = rp_len_of(s->regions);
    if (!n) return;
    g_string_append(o, "<h3>Regions</h3>\n<table class=\"regions\"><thead><tr><th class=\"num\">#</th><th>client</th><th class=\"num\">object</th>"
                       "<th>from</th><th>to</th><th class=\"num\">size</th><th>perms</th><th>target</th></tr></thead><tbody>\n");
    for (guint i = 0; i < n && i < MAX_ROWS; i++) {
        const ReportRegion *r = &g_array_index(s->regions, ReportRegion, i);
        char sz[32];
        rp_size_str(sz, sizeof sz, r->len, false);
        g_string_append_printf(o, "<tr><td class=\"num\">%u</td><td>", i + 1);
        rp_put_esc(o, r->client);
        if (r->vm) { /* B: a guest's, in its own addresses */
            g_string_append(o, " <small>(a guest of VM ");
            rp_put_esc(o, r->vm);
            g_string_append(o, ", guest-physical");
            if (r->devices && *r->devices) {
                g_string_append(o, ", for ");
                rp_put_esc(o, r->devices);
            }
            g_string_append(o, ")</small>");
        }
        g_string_append_printf(o, "</td><td class=\"num\">%u</td><td class=\"addr\">0x%" PRIx64 "</td><td class=\"addr\">0x%" PRIx64
                                  "</td><td class=\"num\">%s</td><td>",
                               r->object, r->addr, rp_end_of(r->addr, r->len), sz);
        if (r->removed) g_string_append(o, "<i>unmap</i>");
        else rp_put_escn(o, r->perms, (gssize)strnlen(r->perms, sizeof r->perms), false);
        g_string_append(o, "</td><td class=\"addr\">");
        if (r->has_target) g_string_append_printf(o, "0x%" PRIx64, r->target);
        g_string_append(o, "</td></tr>\n");
    }
    g_string_append(o, "</tbody></table>\n");
    put_more(o, n, "regions");
}

/* Identical DMAs (a storm) are one row with a count; rows in play order. */
typedef struct {
    const void *first;
    guint n;
} Group;

static int cmp_dma_key(const ReportDma *x, const ReportDma *y)
{
    if (x->addr != y->addr) return x->addr < y->addr ? -1 : 1;
    if (x->len != y->len) return x->len < y->len ? -1 : 1;
    if (x->write != y->write) return x->write ? 1 : -1;
    if (x->went_through != y->went_through) return x->went_through ? 1 : -1;
    if (x->expected_ok != y->expected_ok) return x->expected_ok ? 1 : -1;
    return strncmp(x->device, y->device, sizeof x->device);
}

static int cmp_dma_ptr(const void *a, const void *b)
{
    const ReportDma *x = *(const ReportDma *const *)a, *y = *(const ReportDma *const *)b;
    int c = cmp_dma_key(x, y);
    return c ? c : (x < y ? -1 : x > y); /* same array: address order is play order */
}

static int cmp_fault_key(const ReportFault *x, const ReportFault *y)
{
    if (x->addr != y->addr) return x->addr < y->addr ? -1 : 1;
    if (x->write != y->write) return x->write ? 1 : -1;
    if (x->reason != y->reason) return x->reason < y->reason ? -1 : 1;
    int c = strncmp(x->device, y->device, sizeof x->device);
    if (!c) c = strncmp(x->seen_by, y->seen_by, sizeof x->seen_by);
    return c ? c : strncmp(x->owner, y->owner, sizeof x->owner);
}

static int cmp_fault_ptr(const void *a, const void *b)
{
    const ReportFault *x = *(const ReportFault *const *)a, *y = *(const ReportFault *const *)b;
    int c = cmp_fault_key(x, y);
    return c ? c : (x < y ? -1 : x > y);
}

static int cmp_group(const void *a, const void *b)
{
    const Group *x = a, *y = b;
    return (const char *)x->first < (const char *)y->first ? -1 : (const char *)x->first > (const char *)y->first;
}

/* Groups of equal elements of arr (by cmp_ptr with its key in cmp_key). */
static GArray *group(GArray *arr, int (*cmp_ptr)(const void *, const void *), int (*same)(const void *, const void *))
{
    guint n = arr->len;
    gsize esz = g_array_get_element_size(arr);
    const void **p = g_new(const void *, n ? n : 1);
    for (guint i = 0; i < n; i++) p[i] = arr->data + i * esz;
    qsort(p, n, sizeof *p, cmp_ptr);
    GArray *g = g_array_new(FALSE, TRUE, sizeof(Group));
    for (guint i = 0; i < n; i++) {
        if (i == 0 || !same(p[i - 1], p[i])) {
            Group ng = { p[i], 0 };
            g_array_append_val(g, ng);
        }
        g_array_index(g, Group, g->len - 1).n++;
    }
    qsort(g->data, g->len, sizeof(Group), cmp_group);
    g_free(p);
    return g;
}

static int same_dma(const void *a, const void *b) { return cmp_dma_key(a, b) == 0; }
static int same_fault(const void *a, const void *b) { return cmp_fault_key(a, b) == 0; }

/* A storm makes hundreds of distinct rows that say one thing; past this many
 * the tables summarise by kind (and list what went wrong in detail). */
#define DETAIL_MAX 40u

/* By kind: the same device, access and outcome, whatever the address. */
typedef struct {
    const void *first;
    guint n;
    uint64_t lo, hi;
    unsigned line_lo, line_hi;
} Kind;

static Kind *kind_of(GArray *kinds, const void *e, bool (*same)(const void *, const void *))
{
    for (guint k = 0; k < kinds->len; k++)
        if (same(g_array_index(kinds, Kind, k).first, e)) return &g_array_index(kinds, Kind, k);
    Kind nk = { e, 0, UINT64_MAX, 0, UINT_MAX, 0 };
    g_array_append_val(kinds, nk);
    return &g_array_index(kinds, Kind, kinds->len - 1);
}

static bool same_dma_kind(const void *a, const void *b)
{
    const ReportDma *x = a, *y = b;
    return x->write == y->write && x->expected_ok == y->expected_ok && x->went_through == y->went_through &&
           strncmp(x->device, y->device, sizeof x->device) == 0;
}

static bool same_fault_kind(const void *a, const void *b)
{
    const ReportFault *x = a, *y = b;
    return x->write == y->write && x->reason == y->reason && strncmp(x->device, y->device, sizeof x->device) == 0 &&
           strncmp(x->owner, y->owner, sizeof x->owner) == 0 && strncmp(x->seen_by, y->seen_by, sizeof x->seen_by) == 0;
}

static void put_range(GString *o, const Kind *k)
{
    g_string_append_printf(o, "<td class=\"addr\">0x%" PRIx64 " to 0x%" PRIx64 "</td>", k->lo, k->hi);
}

static void dma_row_html(GString *o, const ReportDma *d, guint n)
{
    g_string_append_printf(o, "<tr%s><td class=\"num\">%u</td><td>", rp_unexpected(d) ? " class=\"bad\"" : "", d->line);
    rp_put_escn(o, d->device, (gssize)strnlen(d->device, sizeof d->device), false);
    if (d->vm[0]) { /* a pass-through engine: its VM, and where its address is backed */
        g_string_append(o, " <small>(VM ");
        rp_put_escn(o, d->vm, (gssize)strnlen(d->vm, sizeof d->vm), false);
        g_string_append(o, d->guest_side ? ", the guest told" : "");
        g_string_append(o, ")</small>");
    }
    g_string_append_printf(o, "</td><td>%s</td><td class=\"addr\">0x%" PRIx64, d->write ? "device writes RAM" : "device reads RAM",
                           d->addr);
    if (d->vm[0] && d->translated) g_string_append_printf(o, " <small>(host 0x%" PRIx64 ")</small>", d->hpa);
    g_string_append_printf(o, "</td><td class=\"num\">%" PRIu64 "</td><td>%s</td><td>%s%s</td><td class=\"num\">%u</td></tr>\n",
                           d->len,
                           d->expected_ok ? "allowed" : "blocked", d->went_through ? "went through" : "blocked",
                           rp_unexpected(d) ? " \xe2\x9c\x97" : "", n);
}

static const char dma_head[] = "<tr><th class=\"num\">line</th><th>device</th><th>direction</th><th>address</th>"
                               "<th class=\"num\">length</th><th>expected</th><th>happened</th><th class=\"num\">count</th></tr>";

static void dmas_table(GString *o, const ReportScenario *s)
{
    if (!rp_len_of(s->dmas)) return;
    g_autoptr(GArray) g = group(s->dmas, cmp_dma_ptr, same_dma);
    if (g->len <= DETAIL_MAX) {
        g_string_append_printf(o, "<h3>DMAs</h3>\n<table class=\"dmas\"><thead>%s</thead><tbody>\n", dma_head);
        for (guint i = 0; i < g->len; i++) dma_row_html(o, g_array_index(g, Group, i).first, g_array_index(g, Group, i).n);
        g_string_append(o, "</tbody></table>\n");
        return;
    }
    g_autoptr(GArray) kinds = g_array_new(FALSE, FALSE, sizeof(Kind));
    guint bad = 0;
    for (guint i = 0; i < s->dmas->len; i++) {
        const ReportDma *d = &g_array_index(s->dmas, ReportDma, i);
        Kind *k = kind_of(kinds, d, same_dma_kind);
        k->n++;
        k->lo = MIN(k->lo, d->addr);
        k->hi = MAX(k->hi, rp_dma_end(d));
        k->line_lo = MIN(k->line_lo, d->line);
        k->line_hi = MAX(k->line_hi, d->line);
        bad += rp_unexpected(d);
    }
    g_string_append_printf(o, "<h3>DMAs</h3>\n<p class=\"more\">%u DMAs at %u places, by kind:</p>\n"
                              "<table class=\"dmas\"><thead><tr><th class=\"num\">lines</th><th>device</th><th>direction</th>"
                              "<th>addresses</th><th>expected</th><th>happened</th><th class=\"num\">count</th></tr></thead><tbody>\n",
                           s->dmas->len, g->len);
    for (guint i = 0; i < kinds->len && i < MAX_ROWS; i++) {
        const Kind *k = &g_array_index(kinds, Kind, i);
        const ReportDma *d = k->first;
        g_string_append_printf(o, "<tr%s><td class=\"num\">%u", rp_unexpected(d) ? " class=\"bad\"" : "", k->line_lo);
        if (k->line_hi != k->line_lo) g_string_append_printf(o, "&#8211;%u", k->line_hi);
        g_string_append(o, "</td><td>");
        rp_put_escn(o, d->device, (gssize)strnlen(d->device, sizeof d->device), false);
        g_string_append_printf(o, "</td><td>%s</td>", d->write ? "device writes RAM" : "device reads RAM");
        put_range(o, k);
        g_string_append_printf(o, "<td>%s</td><td>%s%s</td><td class=\"num\">%u</td></tr>\n", d->expected_ok ? "allowed" : "blocked",
                               d->went_through ? "went through" : "blocked", rp_unexpected(d) ? " \xe2\x9c\x97" : "", k->n);
    }
    g_string_append(o, "</tbody></table>\n");
    put_more(o, kinds->len, "kinds of DMA");
    if (!bad) return;
    g_string_append_printf(o, "<h3>DMAs that did not do what the scenario expected</h3>\n<table class=\"dmas unexpected\"><thead>%s</thead><tbody>\n",
                           dma_head);
    guint rows = 0;
    for (guint i = 0; i < g->len; i++) {
        const Group *gr = &g_array_index(g, Group, i);
        if (!rp_unexpected(gr->first)) continue;
        if (rows++ < MAX_ROWS) dma_row_html(o, gr->first, gr->n);
    }
    g_string_append(o, "</tbody></table>\n");
    put_more(o, rows, "of them");
}


static void fault_cells(GString *o, const ReportFault *f, guint n)
{
    /* the code as the hardware wrote it, and its name: why, not just a number */
    g_string_append_printf(o, "<td>%s</td><td class=\"reason\"><span class=\"addr\">0x%" PRIx64 "</span>",
                           f->write ? "write" : "read", f->reason);
    size_t nl = strnlen(f->reason_name, sizeof f->reason_name);
    if (nl) {
        g_string_append(o, " <span class=\"reason-name\">");
        rp_put_escn(o, f->reason_name, (gssize)nl, false);
        g_string_append(o, "</span>");
    }
    g_string_append(o, "</td><td>");
    rp_put_escn(o, f->owner, (gssize)strnlen(f->owner, sizeof f->owner), false);
    g_string_append_printf(o, "</td><td class=\"num\">%u</td></tr>\n", n);
}

static void faults_table(GString *o, const ReportScenario *s)
{
    if (!rp_len_of(s->faults)) return;
    g_autoptr(GArray) g = group(s->faults, cmp_fault_ptr, same_fault);
    bool detail = g->len <= DETAIL_MAX;
    g_autoptr(GArray) kinds = g_array_new(FALSE, FALSE, sizeof(Kind));
    if (!detail)
        for (guint i = 0; i < s->faults->len; i++) {
            const ReportFault *f = &g_array_index(s->faults, ReportFault, i);
            Kind *k = kind_of(kinds, f, same_fault_kind);
            k->n++;
            k->lo = MIN(k->lo, f->addr);
            k->hi = MAX(k->hi, f->addr);
        }
    g_string_append(o, "<h3>Faults</h3>\n");
    if (!detail) g_string_append_printf(o, "<p class=\"more\">%u faults at %u places, by kind:</p>\n", s->faults->len, g->len);
    g_string_append_printf(o, "<table class=\"faults\"><thead><tr><th>device</th><th>%s</th><th>access</th><th>reason</th>"
                              "<th>owner</th><th class=\"num\">count</th></tr></thead><tbody>\n",
                           detail ? "address" : "addresses");
    guint rows = detail ? g->len : kinds->len;
    for (guint i = 0; i < rows && i < MAX_ROWS; i++) {
        const ReportFault *f = detail ? g_array_index(g, Group, i).first : g_array_index(kinds, Kind, i).first;
        g_string_append(o, "<tr><td>");
        rp_put_escn(o, f->device, (gssize)strnlen(f->device, sizeof f->device), false);
        if (f->seen_by[0]) { /* a guest's record: its PCI address, guest-physical */
            g_string_append(o, " <small>(guest ");
            rp_put_escn(o, f->seen_by, (gssize)strnlen(f->seen_by, sizeof f->seen_by), false);
            g_string_append(o, "'s record)</small>");
        }
        g_string_append(o, "</td>");
        if (detail) g_string_append_printf(o, "<td class=\"addr\">0x%" PRIx64 "</td>", f->addr);
        else put_range(o, &g_array_index(kinds, Kind, i));
        fault_cells(o, f, detail ? g_array_index(g, Group, i).n : g_array_index(kinds, Kind, i).n);
    }
    g_string_append(o, "</tbody></table>\n");
    put_more(o, rows, detail ? "faults" : "kinds of fault");
}

#define LOG_KEEP 2000u /* lines at each end of a very long log */

static void log_block(GString *o, const ReportScenario *s)
{
    guint n = log_len(s);
    g_string_append(o, "<h3>Step log</h3>\n<pre class=\"log\">");
    if (!n) g_string_append(o, "(no steps recorded)");
    for (guint i = 0; i < n; i++) {
        if (n > 2 * LOG_KEEP && i == LOG_KEEP) {
            g_string_append_printf(o, "\n... %u lines left out here (the JUnit report has them all) ...\n\n", n - 2 * LOG_KEEP);
            i = n - LOG_KEEP;
        }
        rp_put_esc(o, g_ptr_array_index(s->log, i));
        if (i + 1 < n) g_string_append_c(o, '\n');
    }
    g_string_append(o, "</pre>\n");
}

static void section(GString *o, const ReportScenario *s, guint i, const char *anchor)
{
    const char *st = rp_status_word(rp_status_of(s));
    g_string_append_printf(o, "<section class=\"scenario %s\" id=\"%s\">\n<h2><span class=\"badge %s\">%s</span> ", st, anchor, st, st);
    rp_put_esc(o, s->name);
    g_string_append(o, " <small>on ");
    rp_put_esc(o, s->board);
    g_string_append(o, "</small></h2>\n<table class=\"facts\">\n<tr><th>board</th><td>");
    rp_put_esc(o, s->board);
    g_string_append(o, "</td></tr>\n<tr><th>file</th><td class=\"mono\">");
    rp_put_esc(o, s->file);
    g_string_append(o, "</td></tr>\n<tr><th>purpose</th><td>");
    rp_put_esc(o, s->purpose);
    g_string_append_printf(o, "</td></tr>\n<tr><th>status</th><td class=\"%s\">%s</td></tr>\n<tr><th>duration</th><td>", st, st);
    rp_put_secs(o, s->seconds, "%.2f");
    g_string_append(o, " s</td></tr>\n</table>\n");
    if (s->message && *s->message) {
        g_string_append_printf(o, "<pre class=\"message %s\">", st);
        rp_put_esc(o, s->message);
        g_string_append(o, "</pre>\n");
    }

    g_string_append(o, "<h3>Memory map</h3>\n<figure class=\"map\">\n");
    g_autoptr(GString) notes = g_string_new(NULL);
    rp_svg_map(o, s, i, notes);
    rp_legend(o);
    g_string_append(o, "</figure>\n");
    if (notes->len) g_string_append_printf(o, "<ul class=\"notes\">\n%s</ul>\n", notes->str);
    rp_abc_section(o, s, i);

    regions_table(o, s);
    dmas_table(o, s);
    faults_table(o, s);
    log_block(o, s);
    g_string_append(o, "<p class=\"noprint\"><a href=\"#top\">\xe2\x86\x91 summary</a></p>\n</section>\n");
}

/* Rows: scenarios (file and name); columns: boards. */
static void matrix(GString *o, GPtrArray *sc, GPtrArray *boards, char **anchors)
{
    guint n = count_of(sc), nb = boards->len;
    g_autoptr(GHashTable) rows = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GArray) row_first = g_array_new(FALSE, FALSE, sizeof(guint));
    guint *row_of = g_new0(guint, n ? n : 1);
    for (guint i = 0; i < n; i++) {
        const ReportScenario *s = nth(sc, i);
        if (!s) continue;
        char *key = g_strdup_printf("%s\n%s", rp_str(s->file), rp_str(s->name));
        gpointer v;
        if (g_hash_table_lookup_extended(rows, key, NULL, &v)) {
            row_of[i] = GPOINTER_TO_UINT(v);
            g_free(key);
        } else {
            row_of[i] = row_first->len;
            g_hash_table_insert(rows, key, GUINT_TO_POINTER(row_first->len));
            g_array_append_val(row_first, i);
        }
    }
    g_string_append(o, "<table class=\"matrix\"><thead><tr><th>scenario</th><th>file</th>");
    for (guint b = 0; b < nb; b++) {
        g_string_append(o, "<th>");
        rp_put_esc(o, g_ptr_array_index(boards, b));
        g_string_append(o, "</th>");
    }
    g_string_append(o, "</tr></thead><tbody>\n");
    for (guint r = 0; r < row_first->len; r++) {
        const ReportScenario *s0 = nth(sc, g_array_index(row_first, guint, r));
        g_string_append(o, "<tr><td>");
        rp_put_esc(o, s0->name);
        g_string_append(o, "</td><td class=\"mono\">");
        rp_put_esc(o, s0->file);
        g_string_append(o, "</td>");
        for (guint b = 0; b < nb; b++) {
            const char *board = g_ptr_array_index(boards, b);
            GString *cell = g_string_new(NULL);
            const char *cls = "none";
            for (guint i = g_array_index(row_first, guint, r); i < n; i++) {
                const ReportScenario *s = nth(sc, i);
                if (!s || row_of[i] != r || strcmp(rp_str(s->board), board) != 0) continue;
                const char *st = rp_status_word(rp_status_of(s));
                /* A cell run twice shows both; its colour is the worse. */
                if (!strcmp(cls, "none") || !strcmp(st, "fail") || (!strcmp(cls, "skip") && !strcmp(st, "pass"))) cls = st;
                g_string_append_printf(cell, "%s<a href=\"#%s\">%s</a> <small>", cell->len ? "<br/>" : "", anchors[i], st);
                rp_put_secs(cell, s->seconds, "%.2f");
                g_string_append(cell, " s</small>");
            }
            g_string_append_printf(o, "<td class=\"%s\">%s</td>", cls, cell->len ? cell->str : "\xe2\x80\x94");
            g_string_free(cell, TRUE);
        }
        g_string_append(o, "</tr>\n");
    }
    g_string_append(o, "</tbody></table>\n");
    g_free(row_of);
}

static guint distinct_scenarios(GPtrArray *sc)
{
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; i < count_of(sc); i++)
        if (nth(sc, i)) g_hash_table_add(seen, g_strdup_printf("%s\n%s", rp_str(nth(sc, i)->file), rp_str(nth(sc, i)->name)));
    return g_hash_table_size(seen);
}

int report_write_html(const char *path, GPtrArray *scenarios, const char *title, GError **err)
{
    int rc = check_path(path, "HTML report", err);
    if (rc) return rc;
    if (!title || !*title) title = "smmuman test bed report";
    guint n = count_of(scenarios);
    g_autoptr(GPtrArray) boards = boards_of(scenarios);
    Tally all = { 0 };
    char **anchors = g_new0(char *, n + 1);
    for (guint i = 0; i < n; i++)
        if (nth(scenarios, i)) {
            tally(&all, nth(scenarios, i));
            anchors[i] = anchor_of(nth(scenarios, i), i);
        }
    unsigned passed = all.tests - all.failures - all.skipped;

    g_autoptr(GString) o = g_string_sized_new(16384);
    g_string_append(o, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
                       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n<title>");
    rp_put_esc(o, title);
    g_string_append_printf(o, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<header id=\"top\">\n<h1>", css);
    rp_put_esc(o, title);
    g_autoptr(GDateTime) now = g_date_time_new_now_local();
    g_autofree char *when = g_date_time_format(now, "%Y-%m-%d %H:%M:%S");
    g_string_append_printf(o, "</h1>\n<p class=\"totals\">%u run(s) of %u scenario(s) on %u board(s): "
                              "<b class=\"pass\">%u passed</b>, <b class=\"fail\">%u failed</b>, <b class=\"skip\">%u skipped</b>; ",
                           all.tests, distinct_scenarios(scenarios), boards->len, passed, all.failures, all.skipped);
    rp_put_secs(o, all.secs, "%.1f");
    g_string_append_printf(o, " s in all. <small>Written %s.</small></p>\n", when ? when : "");

    if (all.tests) {
        /* The proportions at a glance. */
        double w = 600, x = 0;
        g_string_append_printf(o, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"12\" viewBox=\"0 0 %d 12\" role=\"img\" aria-label=\"pass, fail, skip proportions\">",
                               rp_px(w), rp_px(w));
        const struct { unsigned n; const char *c; } parts[] = { { passed, "#1e7b34" }, { all.failures, "#c62828" }, { all.skipped, "#9a9a9a" } };
        for (unsigned k = 0; k < 3; k++) {
            double pw = w * parts[k].n / all.tests;
            if (parts[k].n)
                g_string_append_printf(o, "<rect x=\"%d\" y=\"0\" width=\"%d\" height=\"12\" fill=\"%s\"/>", rp_px(x), MAX(1, rp_px(x + pw) - rp_px(x)), parts[k].c);
            x += pw;
        }
        g_string_append(o, "</svg>\n");
        matrix(o, scenarios, boards, anchors);
        if (all.failures) {
            g_string_append(o, "<h2>Failures</h2>\n<ul class=\"failures\">\n");
            for (guint i = 0; i < n; i++) {
                const ReportScenario *s = nth(scenarios, i);
                if (!s || rp_status_of(s) != RS_FAIL) continue;
                g_string_append_printf(o, "<li><a href=\"#%s\">", anchors[i]);
                rp_put_esc(o, s->name);
                g_string_append(o, " on ");
                rp_put_esc(o, s->board);
                g_string_append(o, "</a>: ");
                const char *msg = s->message ? s->message : "failed";
                const char *nl = strchr(msg, '\n');
                rp_put_escn(o, msg, nl ? nl - msg : -1, false);
                g_string_append(o, "</li>\n");
            }
            g_string_append(o, "</ul>\n");
        }
    } else {
        g_string_append(o, "<p>No scenarios were run.</p>\n");
    }
    g_string_append(o, "</header>\n<main>\n");
    for (guint i = 0; i < n; i++)
        if (nth(scenarios, i)) section(o, nth(scenarios, i), i, anchors[i]);
    g_string_append(o, "</main>\n</body>\n</html>\n");
    for (guint i = 0; i < n; i++) g_free(anchors[i]); /* NULL slots: not g_strfreev() */
    g_free(anchors);
    return write_out(path, o, "HTML report", err);
}
