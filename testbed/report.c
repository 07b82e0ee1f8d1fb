/* Run reports: JUnit XML for CI, and one self-contained HTML page (inline
 * CSS and SVG, nothing fetched) whose centrepiece is a memory map per
 * scenario and board. Both are built in memory and written in one go, so a
 * half-written report never replaces a good one. */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report-internal.h"

/* ------------------------------------------------------------------------ */
/* Scenario records */

static void region_clear(gpointer p)
{
    ReportRegion *r = p;
    g_free(r->client);
    g_free(r->vm);
    g_free(r->devices);
}

ReportScenario *report_scenario_new(const char *name, const char *file, const char *board)
{
    ReportScenario *r = g_new0(ReportScenario, 1);
    r->name = g_strdup(name ? name : "");
    r->file = g_strdup(file ? file : "");
    r->board = g_strdup(board ? board : "");
    r->status = RS_PASS;
    r->regions = g_array_new(FALSE, TRUE, sizeof(ReportRegion));
    /* The record owns each region's client string, as it owns its own. */
    g_array_set_clear_func(r->regions, region_clear);
    r->dmas = g_array_new(FALSE, TRUE, sizeof(ReportDma));
    r->faults = g_array_new(FALSE, TRUE, sizeof(ReportFault));
    r->log = g_ptr_array_new_with_free_func(g_free);
    r->vm_ram = g_array_new(FALSE, TRUE, sizeof(ReportVmRam));
    r->passes = g_array_new(FALSE, TRUE, sizeof(ReportPass));
    return r;
}

void report_scenario_free(ReportScenario *r)
{
    if (!r) return;
    g_free(r->name);
    g_free(r->file);
    g_free(r->purpose);
    g_free(r->board);
    g_free(r->message);
    if (r->regions) g_array_unref(r->regions);
    if (r->dmas) g_array_unref(r->dmas);
    if (r->faults) g_array_unref(r->faults);
    if (r->log) g_ptr_array_unref(r->log);
    if (r->vm_ram) g_array_unref(r->vm_ram);
    if (r->passes) g_array_unref(r->passes);
    g_free(r);
}

/* ------------------------------------------------------------------------ */
/* Text */

static const char *str(const char *s) { return s ? s : ""; }

/* The runner may hand over NULL slots or arrays; a report must still come out. */
static const ReportScenario *nth(GPtrArray *a, guint i) { return g_ptr_array_index(a, i); }
static guint count_of(GPtrArray *a) { return a ? a->len : 0; }
guint len_of(const GArray *a) { return a ? a->len : 0; }
static guint log_len(const ReportScenario *s) { return s->log ? s->log->len : 0; }

/* Escapes for XML and for the HTML page alike (the page is kept well-formed
 * XML too, which is how the tests check its markup). Not
 * g_markup_escape_text(): it turns control characters into references such
 * as &#x1; that XML 1.0 forbids, and logs hold whatever a device printed.
 * Those, and invalid UTF-8, become U+FFFD. In attributes newlines and tabs
 * are references, or parsers would fold them into spaces. */
void put_escn(GString *o, const char *s, gssize len, bool attr)
{
    if (!s) return;
    if (len < 0) len = (gssize)strlen(s);
    g_autofree char *fixed = NULL;
    if (!g_utf8_validate(s, len, NULL)) {
        fixed = g_utf8_make_valid(s, len);
        s = fixed;
        len = (gssize)strlen(fixed);
    }
    const char *end = s + len, *run = s;
    for (const char *p = s; p < end; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        const char *rep = NULL;
        switch (c) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        case '\n': rep = attr ? "&#10;" : NULL; break;
        case '\t': rep = attr ? "&#9;" : NULL; break;
        case '\r': rep = ""; break; /* CRLF logs: the LF is enough */
        default:
            if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0xfffe || c == 0xffff) rep = "\xef\xbf\xbd";
        }
        if (!rep) continue;
        g_string_append_len(o, run, p - run);
        g_string_append(o, rep);
        run = g_utf8_next_char(p);
    }
    g_string_append_len(o, run, end - run);
}

void put_esc(GString *o, const char *s) { put_escn(o, s, -1, false); }
void put_attr(GString *o, const char *s) { put_escn(o, s, -1, true); }

static double clean_secs(double s) { return s >= 0 && s < 1e12 ? s : 0; /* also NaN */ }

/* Not printf("%f"): a locale with a decimal comma would break the XML. */
static void put_secs(GString *o, double s, const char *fmt)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_string_append(o, g_ascii_formatd(buf, sizeof buf, fmt, clean_secs(s)));
}

/* "4 KiB", "3824 B", "255.9 MiB"; compact: "4K", "1.7M", "464M" for tight
 * spots. Exact where it is cheap, rounded to a tenth otherwise. */
void size_str(char *buf, size_t cap, uint64_t v, bool compact)
{
    static const char units[] = "KMGTPE";
    unsigned u = 0; /* the largest unit v reaches */
    while (u < 6 && v >> (10 * (u + 1)) != 0) u++;
    if (u == 0 || (!compact && v < (UINT64_C(64) << 10) && (v & 1023))) {
        snprintf(buf, cap, "%" PRIu64 "%s", v, compact ? "B" : " B");
        return;
    }
    unsigned shift = 10 * u;
    uint64_t whole = v >> shift, rem = v & ((UINT64_C(1) << shift) - 1);
    unsigned tenth = (unsigned)((rem * 10 + (UINT64_C(1) << (shift - 1))) >> shift);
    if (tenth == 10) whole++, tenth = 0;
    if (compact && whole >= 100 && tenth) whole += tenth >= 5, tenth = 0;
    const char *sep = compact ? "" : " ", *suffix = compact ? "" : "iB";
    if (tenth) snprintf(buf, cap, "%" PRIu64 ".%c%s%c%s", whole, (char)('0' + tenth), sep, units[u - 1], suffix);
    else snprintf(buf, cap, "%" PRIu64 "%s%c%s", whole, sep, units[u - 1], suffix);
}

static const char *status_word(ReportStatus st)
{
    switch (st) {
    case RS_PASS: return "pass";
    case RS_FAIL: return "fail";
    case RS_SKIP: return "skip";
    }
    return "fail"; /* an out-of-range status must not look like a pass */
}

static ReportStatus status_of(const ReportScenario *s)
{
    return s->status == RS_PASS || s->status == RS_SKIP ? s->status : RS_FAIL;
}

/* ------------------------------------------------------------------------ */
/* Records: what smmu-client says about a fault, and the reason's words */

/* The value of " KEY=" in line, up to the next space (NULL if absent). The
 * leading space keeps "reason=" from matching inside "reason-name=". */
static char *field(const char *line, const char *key)
{
    g_autofree char *needle = g_strdup_printf(" %s=", key);
    const char *p = strstr(line, needle);
    if (!p) return NULL;
    p += strlen(needle);
    return g_strndup(p, strcspn(p, " \t\r\n"));
}

int report_fault_parse(const char *line, ReportFault *f)
{
    if (!line || !g_str_has_prefix(line, "fault ")) return -EINVAL;
    g_autofree char *dev = field(line, "device"), *addr = field(line, "address"), *acc = field(line, "access");
    g_autofree char *reason = field(line, "reason"), *name = field(line, "reason-name");
    if (!dev || !addr || !acc || !reason || (strcmp(acc, "read") && strcmp(acc, "write"))) return -EINVAL;
    char *end;
    errno = 0;
    unsigned long long a = g_ascii_strtoull(addr, &end, 0);
    if (errno || end == addr || *end) return -EINVAL;
    unsigned long long r = g_ascii_strtoull(reason, &end, 0); /* smmu-client prints decimal; 0x is taken too */
    if (errno || end == reason || *end) return -EINVAL;
    g_strlcpy(f->device, dev, sizeof f->device);
    f->addr = a;
    f->write = strcmp(acc, "write") == 0;
    f->reason = r;
    /* Absent (a client from before reason-name=): no name, never a guess. */
    g_strlcpy(f->reason_name, name ? name : "", sizeof f->reason_name);
    return 0;
}

char *report_reason_text(const ReportFault *f)
{
    size_t n = strnlen(f->reason_name, sizeof f->reason_name);
    if (!n) return g_strdup_printf("reason 0x%" PRIx64, f->reason);
    return g_strdup_printf("reason 0x%" PRIx64 " (%.*s)", f->reason, (int)n, f->reason_name);
}

/* ------------------------------------------------------------------------ */
/* JSON lines (the --events log) */

/* A JSON string: quotes, backslashes and control characters escaped,
 * invalid UTF-8 replaced (a record holds whatever a client printed). */
static void json_strn(GString *o, const char *s, gssize len)
{
    g_string_append_c(o, '"');
    if (s) {
        if (len < 0) len = (gssize)strlen(s);
        g_autofree char *valid = g_utf8_make_valid(s, len);
        for (const char *p = valid; *p; p++) {
            unsigned char c = (unsigned char)*p;
            if (c == '"' || c == '\\') g_string_append_printf(o, "\\%c", c);
            else if (c < 0x20 || c == 0x7f) g_string_append_printf(o, "\\u%04x", c);
            else g_string_append_c(o, (char)c);
        }
    }
    g_string_append_c(o, '"');
}

static void json_str(GString *o, const char *s) { json_strn(o, s, -1); }

#define JSON_MAX_RECORDS 256u /* a storm's thousands of records stay a readable line */

char *report_json_scenario(const ReportScenario *s)
{
    GString *o = g_string_new("{\"event\":\"scenario\",\"name\":");
    json_str(o, s->name);
    g_string_append(o, ",\"board\":");
    json_str(o, s->board);
    g_string_append(o, ",\"file\":");
    json_str(o, s->file);
    g_string_append_printf(o, ",\"status\":\"%s\",\"seconds\":", status_word(status_of(s)));
    put_secs(o, s->seconds, "%.3f");
    g_string_append_printf(o, ",\"dmas\":%u,\"faults\":%u,\"message\":", len_of(s->dmas), len_of(s->faults));
    if (s->message) json_str(o, s->message);
    else g_string_append(o, "null");
    g_string_append(o, ",\"fault_records\":[");
    guint n = MIN(len_of(s->faults), JSON_MAX_RECORDS);
    for (guint i = 0; i < n; i++) {
        const ReportFault *f = &g_array_index(s->faults, ReportFault, i);
        g_string_append(o, i ? ",{\"device\":" : "{\"device\":");
        json_strn(o, f->device, (gssize)strnlen(f->device, sizeof f->device));
        g_string_append_printf(o, ",\"address\":\"0x%" PRIx64 "\",\"access\":\"%s\",\"reason\":\"0x%" PRIx64 "\",\"reason_name\":",
                               f->addr, f->write ? "write" : "read", f->reason);
        size_t nl = strnlen(f->reason_name, sizeof f->reason_name);
        if (nl) json_strn(o, f->reason_name, (gssize)nl);
        else g_string_append(o, "null");
        g_string_append(o, ",\"owner\":");
        json_strn(o, f->owner, (gssize)strnlen(f->owner, sizeof f->owner));
        /* whose record: null the host service's, else the guest's (guest PCI address, guest-physical) */
        g_string_append(o, ",\"seen_by\":");
        if (f->seen_by[0]) json_strn(o, f->seen_by, (gssize)strnlen(f->seen_by, sizeof f->seen_by));
        else g_string_append(o, "null");
        g_string_append_c(o, '}');
    }
    g_string_append_printf(o, "],\"fault_records_omitted\":%u}\n", len_of(s->faults) - n);
    return g_string_free(o, FALSE);
}

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
    t->failures += status_of(s) == RS_FAIL;
    t->skipped += status_of(s) == RS_SKIP;
    t->secs += clean_secs(s->seconds);
}

static void put_tally(GString *o, const Tally *t)
{
    g_string_append_printf(o, " tests=\"%u\" failures=\"%u\" errors=\"0\" skipped=\"%u\" time=\"", t->tests,
                           t->failures, t->skipped);
    put_secs(o, t->secs, "%.3f");
    g_string_append_c(o, '"');
}

/* "./scenarios/dma/basic.scn" -> "scenarios.dma.basic": how JUnit viewers
 * group test cases into packages. */
static char *classname_of(const char *file)
{
    const char *f = str(file);
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
        put_esc(o, g_ptr_array_index(s->log, i));
        g_string_append_c(o, '\n');
    }
}

static void fault_text(GString *t, const ReportFault *f);

#define JUNIT_MAX_FAULTS 50u /* the first records explain a failure; a storm's thousands do not */

/* A failure's records, each with its reason's name: CI shows this text,
 * and "reason 0x6" alone does not say why. */
static void put_faults(GString *o, const ReportScenario *s)
{
    guint n = len_of(s->faults);
    if (!n) return;
    g_string_append(o, "\n\nfault records:");
    g_autoptr(GString) t = g_string_new(NULL);
    for (guint i = 0; i < n && i < JUNIT_MAX_FAULTS; i++) {
        g_string_truncate(t, 0);
        fault_text(t, &g_array_index(s->faults, ReportFault, i));
        g_string_append_c(o, '\n');
        put_esc(o, t->str);
    }
    if (n > JUNIT_MAX_FAULTS) g_string_append_printf(o, "\n... and %u more", n - JUNIT_MAX_FAULTS);
}

static void junit_case(GString *o, const ReportScenario *s)
{
    g_autofree char *cls = classname_of(s->file);
    g_string_append(o, "    <testcase classname=\"");
    put_attr(o, cls);
    g_string_append(o, "\" name=\"");
    put_attr(o, s->name);
    g_string_append(o, "\" time=\"");
    put_secs(o, s->seconds, "%.3f");
    g_string_append(o, "\">\n");
    const char *msg = s->message && *s->message ? s->message : NULL;
    if (status_of(s) == RS_FAIL) {
        g_string_append(o, "      <failure message=\"");
        put_attr(o, msg ? msg : "failed");
        g_string_append(o, "\" type=\"failure\">");
        put_esc(o, msg ? msg : "failed");
        put_faults(o, s);
        if (log_len(s)) {
            g_string_append(o, "\n\nsteps:\n");
            put_log(o, s);
        }
        g_string_append(o, "</failure>\n");
    } else {
        if (status_of(s) == RS_SKIP) {
            g_string_append(o, "      <skipped");
            if (msg) {
                g_string_append(o, " message=\"");
                put_attr(o, msg);
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
        while (j < b->len && strcmp(g_ptr_array_index(b, j), str(s->board)) != 0) j++;
        if (j == b->len) g_ptr_array_add(b, (gpointer)str(s->board));
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
            if (nth(scenarios, i) && strcmp(str(nth(scenarios, i)->board), board) == 0) tally(&t, nth(scenarios, i));
        g_string_append(o, "  <testsuite name=\"");
        put_attr(o, board);
        g_string_append_c(o, '"');
        put_tally(o, &t);
        g_string_append(o, ">\n");
        for (guint i = 0; i < count_of(scenarios); i++)
            if (nth(scenarios, i) && strcmp(str(nth(scenarios, i)->board), board) == 0) junit_case(o, nth(scenarios, i));
        g_string_append(o, "  </testsuite>\n");
    }
    g_string_append(o, "</testsuites>\n");
    return write_out(path, o, "JUnit report", err);
}

/* ------------------------------------------------------------------------ */
/* Memory map: the axis */

/* Pixel sizes, in the SVG's own units (the page scales the picture); those
 * the pass-through picture draws with too are in report-internal.h. */
#define GUTTER 100.0   /* row names on the left */
#define MARGIN_R 12.0
#define MIN_SPAN 16.0  /* the narrowest span: a 4 KiB page must show next to 512 MiB */
#define MIN_READ 12.0  /* below this, neighbouring markers run together */
#define LOG_STEP 6.0   /* extra width per doubling of a span's size */
#define GAP_W 46.0     /* a skipped stretch, whatever its size */
#define POOL_MIN 76.0  /* room for "table pool" */
#define MERGE_PX 9.0   /* markers closer than a glyph's width become one */

#define MAX_BP 72u     /* breakpoints on the axis: more spans than this are unreadable */
#define MAX_LANES 24u
#define MAX_ROWS 200u  /* table rows before "... and N more" */
#define MAX_GUIDES 150u
#define PAGE UINT64_C(4096)
#define GAP_MIN (UINT64_C(64) << 10) /* an empty stretch this big is drawn as a break */

typedef struct {
    uint64_t lo, hi;
} Iv;

/* floor(log2(v)) + 1; g_bit_storage() takes a long, 32 bits on some hosts. */
unsigned bits64(uint64_t v)
{
    unsigned n = 0;
    for (; v; v >>= 1) n++;
    return n;
}

int px(double v) { return (int)(v < 0 ? v - 0.5 : v + 0.5); }

uint64_t end_of(uint64_t a, uint64_t len) { return len > UINT64_MAX - a ? UINT64_MAX : a + len; }
uint64_t dma_end(const ReportDma *d) { return end_of(d->addr, d->len ? d->len : 1); }
/* The memory map is host-physical: a pass-through engine's DMA inside its
 * VM's guest RAM is drawn where the VM backs that address (where it landed,
 * or would have); its guest-physical view is the pass-through picture's. */
uint64_t dma_at(const ReportDma *d) { return d->translated ? d->hpa : d->addr; }
uint64_t dma_at_end(const ReportDma *d) { return end_of(dma_at(d), d->len ? d->len : 1); }
static uint64_t page_of(uint64_t a) { return a & ~(PAGE - 1); }

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

void take(Collect *c, uint64_t a, uint64_t e, bool marker)
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

static void take_fault(Collect *c, uint64_t a)
{
    if (a < c->lo || a >= c->hi) {
        outside(c, a);
    } else {
        /* The faulting page is shown, not just a point between two breaks. */
        take(c, page_of(a), end_of(page_of(a), PAGE), false);
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

/* A VM's guest RAM holds gpa (its A, guest-physical). */
static bool in_vm_ram(const ReportScenario *s, const char *vm, uint64_t gpa)
{
    for (guint i = 0; i < len_of(s->vm_ram); i++) {
        const ReportVmRam *a = &g_array_index(s->vm_ram, ReportVmRam, i);
        if (strncmp(a->vm, vm, sizeof a->vm) == 0 && gpa >= a->gpa && gpa - a->gpa < a->size) return true;
    }
    return false;
}

/* On the host-physical map: the host's records, except those of a
 * pass-through device at an address inside its VM's guest RAM (a
 * guest-physical address: the pass-through picture shows its DMA). */
static bool fault_on_map(const ReportScenario *s, const ReportFault *f)
{
    if (f->seen_by[0]) return false;
    for (guint i = 0; i < len_of(s->passes); i++) {
        const ReportPass *p = &g_array_index(s->passes, ReportPass, i);
        if (strncmp(p->host_dev, f->device, sizeof p->host_dev) == 0 && in_vm_ram(s, p->vm, f->addr)) return false;
    }
    return true;
}

static guint faults_on_map(const ReportScenario *s)
{
    guint n = 0;
    for (guint i = 0; i < len_of(s->faults); i++) n += fault_on_map(s, &g_array_index(s->faults, ReportFault, i));
    return n;
}

static bool recorded_extent(const ReportScenario *s, uint64_t *lo, uint64_t *hi)
{
    bool any = false;
    uint64_t l = UINT64_MAX, h = 0;
#define SEE(a, e) do { l = MIN(l, (a)); h = MAX(h, (e)); any = true; } while (0)
    if (s->pool_size) SEE(s->pool_base, end_of(s->pool_base, s->pool_size));
    for (guint i = 0; i < len_of(s->regions); i++) {
        const ReportRegion *r = &g_array_index(s->regions, ReportRegion, i);
        if (r->len && !r->vm) SEE(r->addr, end_of(r->addr, r->len));
    }
    for (guint i = 0; i < len_of(s->dmas); i++) {
        const ReportDma *d = &g_array_index(s->dmas, ReportDma, i);
        SEE(dma_at(d), dma_at_end(d));
    }
    for (guint i = 0; i < len_of(s->faults); i++) {
        if (!fault_on_map(s, &g_array_index(s->faults, ReportFault, i))) continue;
        uint64_t a = g_array_index(s->faults, ReportFault, i).addr;
        SEE(page_of(a), end_of(page_of(a), PAGE));
    }
#undef SEE
    *lo = l;
    *hi = h;
    return any && h > l;
}

void axis_free(Axis *ax)
{
    g_free(ax->bp);
    g_free(ax->x);
    g_free(ax->gap);
}

void collect_init(Collect *c, uint64_t lo, uint64_t hi)
{
    *c = (Collect){ .lo = lo, .hi = hi, .pts = g_array_new(FALSE, FALSE, sizeof(uint64_t)),
                    .cover = g_array_new(FALSE, FALSE, sizeof(Iv)) };
    g_array_append_val(c->pts, lo);
    g_array_append_val(c->pts, hi);
}

/* Lays the axis out across the picture, with boxes at the ends for what lies
 * outside RAM; false if there is nothing to draw. notes gets <li> items for
 * the reader. */
static bool axis_build(Axis *ax, const ReportScenario *s, GString *notes)
{
    memset(ax, 0, sizeof *ax);
    ax->below_x = ax->above_x = -1;
    if (s->ram_size && end_of(s->ram_base, s->ram_size) > s->ram_base) {
        ax->lo = s->ram_base;
        ax->hi = end_of(s->ram_base, s->ram_size);
    } else {
        if (!recorded_extent(s, &ax->lo, &ax->hi)) return false;
        g_string_append(notes, "<li>RAM size unknown: the axis spans the recorded addresses only.</li>\n");
    }

    Collect c;
    collect_init(&c, ax->lo, ax->hi);
    if (s->pool_size) take(&c, s->pool_base, end_of(s->pool_base, s->pool_size), false);
    for (guint i = 0; i < len_of(s->regions); i++) {
        const ReportRegion *r = &g_array_index(s->regions, ReportRegion, i);
        if (r->len && !r->vm) take(&c, r->addr, end_of(r->addr, r->len), false); /* a guest's: guest-physical */
    }
    for (guint i = 0; i < len_of(s->dmas); i++) {
        const ReportDma *d = &g_array_index(s->dmas, ReportDma, i);
        take(&c, dma_at(d), dma_at_end(d), true);
    }
    for (guint i = 0; i < len_of(s->faults); i++)
        if (fault_on_map(s, &g_array_index(s->faults, ReportFault, i))) take_fault(&c, g_array_index(s->faults, ReportFault, i).addr);
    return axis_layout(ax, &c, s->pool_base, s->pool_size, "RAM", notes);
}

/* The axis for what c collected (ax->lo, ax->hi set): breakpoints, widths,
 * the outside boxes. A pool, if any, gets room for its name. */
bool axis_layout(Axis *ax, Collect *c_, uint64_t pool_base, uint64_t pool_size, const char *space, GString *notes)
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
            lg[i] = size > PAGE ? bits64(size / PAGE) - 1 : 0;
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
    uint64_t pool_end = end_of(pool_base, pool_size);
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

static double x_of(const Axis *ax, uint64_t a)
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
void x_range(const Axis *ax, uint64_t a, uint64_t e, double *x0, double *x1)
{
    if (a >= ax->hi) {
        *x0 = *x1 = ax->above_x >= 0 ? ax->above_x : ax->x[ax->n - 1];
        return;
    }
    if (e <= ax->lo) {
        *x0 = *x1 = ax->below_x >= 0 ? ax->below_x : ax->x[0];
        return;
    }
    *x0 = x_of(ax, MAX(a, ax->lo));
    *x1 = x_of(ax, MIN(e, ax->hi));
}

/* ------------------------------------------------------------------------ */
/* Memory map: markers */

static int cmp_mark(const void *a, const void *b)
{
    const Mark *m = a, *k = b;
    if (m->x != k->x) return m->x < k->x ? -1 : 1;
    return m->i < k->i ? -1 : m->i > k->i;
}

/* Marks sorted by x, cut where the next is MERGE_PX or further from the
 * first of its group: one marker per group, so a storm of DMAs on one page
 * is one shape with a count, not thousands on top of each other. */
GArray *groups_of(GArray *marks)
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

static const char *const dma_row_name[4] = { "write allowed", "write blocked", "read allowed", "read blocked" };
static unsigned dma_row(const ReportDma *d) { return (d->write ? 0 : 2) + (d->went_through ? 0 : 1); }
bool unexpected(const ReportDma *d) { return d->expected_ok != d->went_through; }

void dma_text(GString *t, const ReportDma *d)
{
    char sz[32];
    size_str(sz, sizeof sz, d->len, false);
    g_string_append_printf(t, "line %u: %.*s %s 0x%" PRIx64 ", %s: %s", d->line, FX(d->device),
                           d->write ? "writes RAM" : "reads RAM", d->addr, sz, d->went_through ? "went through" : "blocked");
    if (d->vm[0] && d->translated) /* a pass-through engine inside its VM's guest RAM */
        g_string_append_printf(t, " (VM %.*s's guest-physical, backed at host 0x%" PRIx64 "; %s)", FX(d->vm), d->hpa,
                               d->went_through ? "landed there" : d->guest_side ? "the guest was told" : "the host's record only");
    else if (d->vm[0])
        g_string_append_printf(t, " (passed through to VM %.*s, outside its guest RAM: the host's address)", FX(d->vm));
    if (unexpected(d)) g_string_append_printf(t, " - UNEXPECTED, the scenario expected it %s", d->expected_ok ? "to go through" : "to be blocked");
    else g_string_append(t, " (as expected)");
}

static void fault_text(GString *t, const ReportFault *f)
{
    g_autofree char *why = report_reason_text(f);
    g_string_append_printf(t, "fault: %.*s %s 0x%" PRIx64 ", %s, owner %.*s", FX(f->device),
                           f->write ? "write" : "read", f->addr, why, FX(f->owner));
    if (f->seen_by[0]) g_string_append_printf(t, " (guest %.*s's record, guest-physical)", FX(f->seen_by));
}

void put_title(GString *o, const GString *t)
{
    g_string_append(o, "<title>");
    put_esc(o, t->str);
    g_string_append(o, "</title>");
}

/* A marker's tooltip: every DMA if few, else the range they cover, the
 * first one and the unexpected ones (what someone hovering looks for). */
static void dma_tip(GString *tip, const ReportScenario *s, GArray *marks, guint b, guint e, unsigned row, unsigned bad)
{
    guint n = e - b;
    g_string_truncate(tip, 0);
    if (n > 1) g_string_append_printf(tip, "%u DMAs here (%s), %u unexpected\n", n, dma_row_name[row], bad);
    if (n > MAX_TIP) {
        uint64_t lo = UINT64_MAX, hi = 0;
        unsigned l0 = UINT_MAX, l1 = 0;
        for (guint j = b; j < e; j++) {
            const ReportDma *d = &g_array_index(s->dmas, ReportDma, g_array_index(marks, Mark, j).i);
            lo = MIN(lo, d->addr), hi = MAX(hi, dma_end(d));
            l0 = MIN(l0, d->line), l1 = MAX(l1, d->line);
        }
        g_string_append_printf(tip, "0x%" PRIx64 " to 0x%" PRIx64 ", scenario lines %u to %u\nfirst: ", lo, hi, l0, l1);
    }
    unsigned listed = 0;
    for (guint j = b; j < e; j++) {
        const ReportDma *d = &g_array_index(s->dmas, ReportDma, g_array_index(marks, Mark, j).i);
        if (n > MAX_TIP && j > b && !unexpected(d)) continue;
        if (listed++ == MAX_TIP) {
            g_string_append(tip, "...\n");
            break;
        }
        dma_text(tip, d);
        g_string_append_c(tip, '\n');
    }
    g_string_truncate(tip, tip->len - 1);
}

#define C_FAULT "#8e0f16"

/* One row of DMA markers; returns how many markers it drew. */
static unsigned dma_row_draw(GString *o, const Axis *ax, const ReportScenario *s, unsigned row, double cy,
                             double guide_to, bool guides)
{
    g_autoptr(GArray) marks = g_array_new(FALSE, FALSE, sizeof(Mark));
    for (guint i = 0; i < s->dmas->len; i++) {
        const ReportDma *d = &g_array_index(s->dmas, ReportDma, i);
        if (dma_row(d) != row) continue;
        Mark m = { 0, 0, 0, i };
        x_range(ax, dma_at(d), dma_at_end(d), &m.x0, &m.x1);
        m.x = (m.x0 + m.x1) / 2;
        g_array_append_val(marks, m);
    }
    if (!marks->len) return 0;
    g_autoptr(GArray) starts = groups_of(marks);
    bool write = row < 2, through = !(row & 1);
    const char *fill = through ? C_OK : C_BAD;
    g_autoptr(GString) tip = g_string_new(NULL);
    unsigned drawn = 0;
    for (guint g = 0; g + 1 < starts->len; g++) {
        guint b = g_array_index(starts, guint, g), e = g_array_index(starts, guint, g + 1), n = e - b;
        double x0 = G_MAXDOUBLE, x1 = -G_MAXDOUBLE, x = 0;
        unsigned bad = 0;
        for (guint j = b; j < e; j++) {
            const Mark *m = &g_array_index(marks, Mark, j);
            x0 = MIN(x0, m->x0);
            x1 = MAX(x1, m->x1);
            x += m->x / n;
            bad += unexpected(&g_array_index(s->dmas, ReportDma, m->i));
        }
        dma_tip(tip, s, marks, b, e, row, bad);

        g_string_append_printf(o, "<g class=\"dma %s %s%s\" data-n=\"%u\">", write ? "write" : "read",
                               through ? "allowed" : "blocked", bad ? " unexpected" : "", n);
        put_title(o, tip);
        if (guides)
            g_string_append_printf(o, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#777\" stroke-opacity=\".45\" stroke-dasharray=\"1 3\"/>",
                                   px(x), px(cy + 8), px(x), px(guide_to));
        if (bad) g_string_append_printf(o, "<circle cx=\"%d\" cy=\"%d\" r=\"10\" fill=\"#ffd400\" stroke=\"#000\" stroke-width=\"1.5\"/>", px(x), px(cy));
        /* The DMA's extent under the glyph, inset so that neighbours stay apart. */
        if (x1 - x0 > 4) x0 += 1, x1 -= 1;
        g_string_append_printf(o, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"2\" fill=\"%s\"/>", px(x0),
                               px(cy + 7), MAX(1, px(x1) - px(x0)), fill);
        /* Writes point down into RAM, reads up out of it. */
        if (write) g_string_append_printf(o, "<path d=\"M%d %dh12l-6 10z\"", px(x) - 6, px(cy) - 5);
        else g_string_append_printf(o, "<path d=\"M%d %dh12l-6 -10z\"", px(x) - 6, px(cy) + 5);
        g_string_append_printf(o, " fill=\"%s\" stroke=\"%s\" stroke-width=\"%s\"/>", fill, bad ? "#000" : "#fff",
                               bad ? "2" : "0.8");
        if (n > 1) {
            /* The count only where it does not run into the next marker. */
            double next = g + 2 < starts->len ? g_array_index(marks, Mark, e).x : MAP_W;
            char cnt[16];
            int len = snprintf(cnt, sizeof cnt, "\xc3\x97%u", n);
            if (next - x >= 8 + (len - 1) * 6.0)
                g_string_append_printf(o, "<text x=\"%d\" y=\"%d\" font-size=\"10\" fill=\"#333\">%s</text>", px(x) + 8,
                                       px(cy) + 4, cnt);
        }
        g_string_append(o, "</g>\n");
        drawn++;
    }
    return drawn;
}

static unsigned fault_row_draw(GString *o, const Axis *ax, const ReportScenario *s, double cy)
{
    g_autoptr(GArray) marks = g_array_new(FALSE, FALSE, sizeof(Mark));
    for (guint i = 0; i < s->faults->len; i++) {
        const ReportFault *f = &g_array_index(s->faults, ReportFault, i);
        if (!fault_on_map(s, f)) continue;
        Mark m = { 0, 0, 0, i };
        if (f->addr < ax->lo || f->addr >= ax->hi) x_range(ax, f->addr, end_of(f->addr, 1), &m.x0, &m.x1);
        else m.x0 = m.x1 = x_of(ax, f->addr);
        m.x = m.x0;
        g_array_append_val(marks, m);
    }
    if (!marks->len) return 0;
    g_autoptr(GArray) starts = groups_of(marks);
    g_autoptr(GString) tip = g_string_new(NULL);
    unsigned drawn = 0;
    for (guint g = 0; g + 1 < starts->len; g++) {
        guint b = g_array_index(starts, guint, g), e = g_array_index(starts, guint, g + 1), n = e - b;
        double x = 0;
        for (guint j = b; j < e; j++) x += g_array_index(marks, Mark, j).x / n;
        g_string_truncate(tip, 0);
        if (n > 1) g_string_append_printf(tip, "%u faults here:\n", n);
        for (guint j = b; j < e && j - b < MAX_TIP; j++) {
            fault_text(tip, &g_array_index(s->faults, ReportFault, g_array_index(marks, Mark, j).i));
            g_string_append_c(tip, '\n');
        }
        if (n > MAX_TIP) {
            uint64_t lo = UINT64_MAX, hi = 0;
            for (guint j = b; j < e; j++) {
                uint64_t a = g_array_index(s->faults, ReportFault, g_array_index(marks, Mark, j).i).addr;
                lo = MIN(lo, a), hi = MAX(hi, a);
            }
            g_string_append_printf(tip, "... and %u more, in all from 0x%" PRIx64 " to 0x%" PRIx64 "\n", n - MAX_TIP, lo, hi);
        }
        g_string_truncate(tip, tip->len - 1);
        g_string_append_printf(o, "<g class=\"fault\" data-n=\"%u\">", n);
        put_title(o, tip);
        g_string_append_printf(o, "<path d=\"M%d %dl10 10M%d %dl-10 10\" stroke=\"" C_FAULT "\" stroke-width=\"2.6\" stroke-linecap=\"round\"/>",
                               px(x) - 5, px(cy) - 5, px(x) + 5, px(cy) - 5);
        if (n > 1) {
            double next = g + 2 < starts->len ? g_array_index(marks, Mark, e).x : MAP_W;
            if (next - x >= 40)
                g_string_append_printf(o, "<text x=\"%d\" y=\"%d\" font-size=\"10\" fill=\"#333\">\xc3\x97%u</text>", px(x) + 8,
                                       px(cy) + 4, n);
        }
        g_string_append(o, "</g>\n");
        drawn++;
    }
    return drawn;
}

/* ------------------------------------------------------------------------ */
/* Memory map: regions */

typedef struct {
    double x0, x1;  /* the bar */
    double tx;      /* label position */
    int anchor;     /* 0: inside from x0, 1: right of the bar, 2: left of it (text ends at tx) */
    int lane;       /* -1: not drawn */
    char *label;
} RegGeom;

const char *perm_class(const ReportRegion *r)
{
    if (r->removed) return "removed";
    if (strncmp(r->perms, "rw", sizeof r->perms) == 0) return "rw";
    if (strncmp(r->perms, "r", sizeof r->perms) == 0) return "r";
    if (strncmp(r->perms, "w", sizeof r->perms) == 0) return "w";
    return "none";
}

const char *perm_fill(const char *cls)
{
    if (!strcmp(cls, "r")) return "#3b78d8";
    if (!strcmp(cls, "w")) return "#e39a1c";
    if (!strcmp(cls, "rw")) return "#7b4fc9";
    if (!strcmp(cls, "removed")) return "#ffffff";
    return "#9a9a9a";
}

char *region_label(const ReportRegion *r, guint i)
{
    GString *t = g_string_new(NULL);
    g_string_append_printf(t, "#%u ", i + 1);
    if (r->removed) g_string_append(t, "unmap ");
    g_string_append_printf(t, "%s obj %u", str(r->client), r->object);
    if (!r->removed) g_string_append_printf(t, " %.*s", FX(r->perms));
    if (r->has_target) g_string_append_printf(t, " \xe2\x86\x92 target 0x%" PRIx64, r->target);
    return g_string_free(t, FALSE);
}

static RegGeom *regions_layout(const Axis *ax, const ReportScenario *s, unsigned *nlanes, GString *notes)
{
    guint n = len_of(s->regions);
    RegGeom *rg = g_new0(RegGeom, n ? n : 1);
    double lane_end[MAX_LANES] = { 0 };
    unsigned lanes = 0, undrawn = 0;
    g_autoptr(GString) clipped = g_string_new(NULL), outside = g_string_new(NULL);
    double right = MAP_W - 4;
    guint host_n = 0, k = 0; /* a guest's regions (B) are guest-physical: the pass-through picture's */
    for (guint i = 0; i < n; i++) host_n += !g_array_index(s->regions, ReportRegion, i).vm;
    for (guint i = 0; i < n; i++) {
        const ReportRegion *r = &g_array_index(s->regions, ReportRegion, i);
        RegGeom *g = &rg[i];
        g->lane = -1;
        g->label = region_label(r, i);
        if (r->vm) continue;
        guint hk = k++;
        uint64_t e = end_of(r->addr, r->len);
        if (!r->len || e <= ax->lo || r->addr >= ax->hi) {
            g_string_append_printf(outside, " #%u", i + 1);
            continue;
        }
        if (r->addr < ax->lo || e > ax->hi) g_string_append_printf(clipped, " #%u", i + 1);
        g->x0 = x_of(ax, MAX(r->addr, ax->lo));
        g->x1 = MAX(g->x0 + 3, x_of(ax, MIN(e, ax->hi)));
        double lw = g_utf8_strlen(g->label, -1) * CHAR_W;
        double lx0, lx1;
        if (!r->removed && g->x1 - g->x0 >= lw + 8) {
            g->anchor = 0;
            g->tx = g->x0 + 4;
            lx0 = g->x0, lx1 = g->x1;
        } else if (g->x1 + 4 + lw <= right || g->x0 - 4 - lw < GUTTER) {
            g->anchor = 1;
            g->tx = g->x1 + 4;
            lx0 = g->x0, lx1 = g->tx + lw;
        } else {
            g->anchor = 2;
            g->tx = g->x0 - 4;
            lx0 = g->tx - lw, lx1 = g->x1;
        }
        if (host_n <= ALL_LANES) {
            g->lane = (int)hk; /* read top to bottom, the lanes are the scenario's order */
            lanes = hk + 1;
            continue;
        }
        unsigned l = 0;
        while (l < lanes && lane_end[l] + 6 > lx0) l++;
        if (l == lanes && lanes < MAX_LANES) lanes++;
        if (l < lanes) {
            g->lane = (int)l;
            lane_end[l] = lx1;
        } else {
            undrawn++;
        }
    }
    if (host_n <= ALL_LANES) lanes = host_n; /* keep wholly-outside ones as empty lanes: the numbering stays */
    *nlanes = lanes;
    if (clipped->len)
        g_string_append_printf(notes, "<li>Region(s)%s reach outside RAM and are clipped at its edge.</li>\n", clipped->str);
    if (outside->len)
        g_string_append_printf(notes, "<li>Region(s)%s lie wholly outside RAM (or are empty) and are not drawn; see the table.</li>\n",
                               outside->str);
    if (undrawn)
        g_string_append_printf(notes, "<li>%u region(s) found no room in the picture; see the table.</li>\n", undrawn);
    return rg;
}

/* ------------------------------------------------------------------------ */
/* Memory map: the picture */

void put_hex_label(GString *o, double x, double y, uint64_t a)
{
    g_string_append_printf(o, "<text x=\"%d\" y=\"%d\" transform=\"rotate(-90 %d %d)\" text-anchor=\"end\" class=\"addr\">0x%" PRIx64 "</text>\n",
                           px(x) + 4, px(y), px(x) + 4, px(y), a);
}

static void svg_map(GString *o, const ReportScenario *s, unsigned id, GString *notes)
{
    Axis ax;
    const char *svg_open = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"mmap\" role=\"img\" font-family=\"system-ui,'DejaVu Sans',sans-serif\" font-size=\"11\"";
    if (!axis_build(&ax, s, notes)) {
        g_string_append_printf(o, "%s viewBox=\"0 0 %d 36\" width=\"%d\" height=\"36\" aria-label=\"memory map\">"
                                  "<text x=\"%d\" y=\"22\" fill=\"#777\">Nothing to draw: no RAM size and no addresses recorded.</text></svg>\n",
                               svg_open, px(MAP_W), px(MAP_W), px(GUTTER));
        return;
    }
    bool has_row[4] = { false, false, false, false };
    for (guint i = 0; i < len_of(s->dmas); i++) has_row[dma_row(&g_array_index(s->dmas, ReportDma, i))] = true;
    unsigned nlanes = 0;
    RegGeom *rg = regions_layout(&ax, s, &nlanes, notes);

    /* Vertical layout, top to bottom: DMA rows, faults, RAM, region lanes, axis. */
    double y = 8, row_y[4] = { 0, 0, 0, 0 }, fault_y = 0;
    for (unsigned r = 0; r < 4; r++)
        if (has_row[r]) {
            row_y[r] = y + ROW_H / 2;
            y += ROW_H;
        }
    guint map_faults = faults_on_map(s);
    if (map_faults) {
        fault_y = y + ROW_H / 2;
        y += ROW_H;
    }
    double ram_y = y + 4;
    double lane_y = ram_y + RAM_H + 6;
    double axis_y = lane_y + nlanes * LANE_H + 4;
    int digits = 1;
    for (unsigned i = 0; i < ax.n; i++) digits = MAX(digits, (int)(bits64(ax.bp[i]) + 3) / 4);
    double height = axis_y + 10 + (digits + 2) * 6.6 + 6;
    double xl = ax.x[0], xr = ax.x[ax.n - 1];

    g_string_append_printf(o, "%s viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" aria-label=\"memory map of ",
                           svg_open, px(MAP_W), px(height), px(MAP_W), px(height));
    put_attr(o, s->name);
    g_string_append(o, "\">\n");
    g_string_append_printf(o, "<defs><pattern id=\"hatch%u\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">"
                              "<rect width=\"6\" height=\"6\" fill=\"#dcdcdc\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#8c8c8c\" stroke-width=\"2.4\"/></pattern></defs>\n",
                           id);

    /* Background first: breaks and outside boxes run the full height. */
    for (unsigned i = 0; i + 1 < ax.n; i++) {
        if (!ax.gap[i]) continue;
        double a = ax.x[i], b = ax.x[i + 1];
        char sz[32], szc[32];
        size_str(sz, sizeof sz, ax.bp[i + 1] - ax.bp[i], false);
        size_str(szc, sizeof szc, ax.bp[i + 1] - ax.bp[i], true);
        g_string_append_printf(o, "<g class=\"break\"><title>not to scale: 0x%" PRIx64 " to 0x%" PRIx64 " (%s), nothing recorded there</title>",
                               ax.bp[i], ax.bp[i + 1], sz);
        g_string_append_printf(o, "<rect x=\"%d\" y=\"4\" width=\"%d\" height=\"%d\" fill=\"#f4f4f4\"/>", px(a), MAX(1, px(b) - px(a)), px(axis_y - 4));
        g_string_append_printf(o, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fff\"/>", px(a), px(ram_y) - 1,
                               MAX(1, px(b) - px(a)), px(RAM_H) + 2);
        for (int k = 0; k < 2; k++) {
            double bx = (k ? b : a) + (k ? -3 : 3);
            g_string_append_printf(o, "<path d=\"M%d %dl6 %d\" stroke=\"#555\" stroke-width=\"1.6\"/>", px(bx) - 3,
                                   px(ram_y + RAM_H) + 3, -(px(RAM_H) + 6));
        }
        if (b - a >= strlen(szc) * 5.4 + 8)
            g_string_append_printf(o, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"9\" fill=\"#666\">%s</text>",
                                   px((a + b) / 2), px(ram_y + RAM_H / 2) + 3, szc);
        g_string_append(o, "</g>\n");
    }
    for (int k = 0; k < 2; k++) {
        double zx = k ? ax.above_x : ax.below_x;
        if (zx < 0) continue;
        g_string_append_printf(o, "<g class=\"outside\"><title>%s RAM: not on the axis</title>"
                                  "<rect x=\"%d\" y=\"4\" width=\"%d\" height=\"%d\" fill=\"#fbf1f1\" stroke=\"#c99\" stroke-dasharray=\"4 3\"/>"
                                  "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"10\" fill=\"#955\">%s RAM</text></g>\n",
                               k ? "above" : "below", px(zx - ZONE_W / 2), px(ZONE_W), px(axis_y - 4), px(zx),
                               px(axis_y) + 14, k ? "above" : "below");
    }

    /* Row names. */
    for (unsigned r = 0; r < 4; r++)
        if (has_row[r])
            g_string_append_printf(o, "<text x=\"6\" y=\"%d\" fill=\"#444\">DMA %s</text>\n", px(row_y[r]) + 4, dma_row_name[r]);
    if (map_faults) g_string_append_printf(o, "<text x=\"6\" y=\"%d\" fill=\"#444\">faults</text>\n", px(fault_y) + 4);
    g_string_append_printf(o, "<text x=\"6\" y=\"%d\" fill=\"#444\" font-weight=\"bold\">RAM</text>\n", px(ram_y + RAM_H / 2) + 4);
    if (nlanes) g_string_append_printf(o, "<text x=\"6\" y=\"%d\" fill=\"#444\">grants</text>\n", px(lane_y + LANE_H / 2) + 4);

    /* RAM: the pieces between breaks. */
    for (unsigned i = 0; i + 1 < ax.n; i++) {
        if (ax.gap[i]) continue;
        unsigned j = i;
        while (j + 1 < ax.n && !ax.gap[j]) j++;
        g_string_append_printf(o, "<rect class=\"ram\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#f3eee2\" stroke=\"#9b917a\"/>\n",
                               px(ax.x[i]), px(ram_y), MAX(1, px(ax.x[j]) - px(ax.x[i])), px(RAM_H));
        i = j - 1;
    }
    if (s->pool_size) {
        uint64_t pe = end_of(s->pool_base, s->pool_size);
        char sz[32];
        size_str(sz, sizeof sz, s->pool_size, false);
        if (pe <= ax.lo || s->pool_base >= ax.hi) {
            g_string_append(notes, "<li>The table pool lies outside RAM and is not drawn.</li>\n");
        } else {
            if (s->pool_base < ax.lo || pe > ax.hi) g_string_append(notes, "<li>The table pool reaches outside RAM and is clipped.</li>\n");
            double a = x_of(&ax, MAX(s->pool_base, ax.lo)), b = MAX(a + 3, x_of(&ax, MIN(pe, ax.hi)));
            g_string_append_printf(o, "<g class=\"pool\"><title>table pool 0x%" PRIx64 " to 0x%" PRIx64 " (%s)</title>"
                                      "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"url(#hatch%u)\" stroke=\"#555\"/>"
                                      "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"10\" font-weight=\"bold\" fill=\"#222\" "
                                      "stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\">table pool</text></g>\n",
                                   s->pool_base, pe, sz, px(a), px(ram_y), MAX(1, px(b) - px(a)), px(RAM_H), id,
                                   px((a + b) / 2), px(ram_y + RAM_H / 2) + 4);
        }
    }

    /* Grants. */
    g_autoptr(GString) tip = g_string_new(NULL);
    for (guint i = 0; i < len_of(s->regions); i++) {
        const ReportRegion *r = &g_array_index(s->regions, ReportRegion, i);
        const RegGeom *g = &rg[i];
        if (g->lane < 0) continue;
        const char *cls = perm_class(r);
        double ly = lane_y + g->lane * LANE_H;
        char sz[32];
        size_str(sz, sizeof sz, r->len, false);
        g_string_truncate(tip, 0);
        g_string_append_printf(tip, "%s\n0x%" PRIx64 " to 0x%" PRIx64 " (%s)%s", g->label, r->addr, end_of(r->addr, r->len),
                               sz, r->removed ? "\nthe grant of this range ends here" : "");
        g_string_append_printf(o, "<g class=\"region %s\">", cls);
        put_title(o, tip);
        if (r->removed) {
            g_string_append_printf(o, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"14\" fill=\"#fff\" fill-opacity=\".7\" stroke=\"#444\" stroke-width=\"1.4\" stroke-dasharray=\"4 2\"/>"
                                      "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#444\" stroke-width=\"1.4\"/>",
                                   px(g->x0), px(ly) + 3, MAX(1, px(g->x1) - px(g->x0)), px(g->x0), px(ly) + 10, px(g->x1), px(ly) + 10);
        } else {
            g_string_append_printf(o, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"14\" rx=\"2\" fill=\"%s\" stroke=\"#000\" stroke-opacity=\".3\"/>",
                                   px(g->x0), px(ly) + 3, MAX(1, px(g->x1) - px(g->x0)), perm_fill(cls));
        }
        /* White on the dark fills, dark on amber, grey and white ground. */
        bool dark_text = g->anchor != 0 || r->removed || !strcmp(cls, "w") || !strcmp(cls, "none");
        g_string_append_printf(o, "<text x=\"%d\" y=\"%d\"%s fill=\"%s\"%s>", px(g->tx), px(ly) + 14,
                               g->anchor == 2 ? " text-anchor=\"end\"" : "", dark_text ? "#1d1d1f" : "#fff",
                               g->anchor != 0 ? " stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\"" : "");
        put_esc(o, g->label);
        g_string_append(o, "</text></g>\n");
    }

    /* Faults and DMAs over everything else. */
    if (map_faults) fault_row_draw(o, &ax, s, fault_y);
    unsigned markers = 0;
    bool guides = len_of(s->dmas) <= MAX_GUIDES;
    for (unsigned r = 0; r < 4; r++)
        if (has_row[r]) markers += dma_row_draw(o, &ax, s, r, row_y[r], axis_y, guides);
    if (markers && markers < len_of(s->dmas))
        g_string_append_printf(notes, "<li>%u DMAs are drawn as %u markers: those at the same or nearby addresses share one "
                                      "(\xc3\x97" "count; hover for the details, or see the table).</li>\n",
                               len_of(s->dmas), markers);

    /* The axis: a tick at every breakpoint, a label where there is room. */
    g_string_append_printf(o, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>\n", px(xl), px(axis_y), px(xr), px(axis_y));
    double last = -1e9;
    for (unsigned i = 0; i < ax.n; i++) {
        double x = ax.x[i];
        g_string_append_printf(o, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>", px(x), px(axis_y), px(x), px(axis_y) + 5);
        /* The last one always, it says where RAM ends: keep room for it. */
        if (i + 1 == ax.n || (x - last >= LABEL_STEP && xr - x >= LABEL_STEP)) {
            put_hex_label(o, x, axis_y + 8, ax.bp[i]);
            last = x;
        }
    }
    g_string_append(o, "</svg>\n");
    for (guint i = 0; i < len_of(s->regions); i++) g_free(rg[i].label);
    g_free(rg);
    axis_free(&ax);
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
    g_autofree char *raw = g_strdup_printf("%s-%s", str(s->name), str(s->board));
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

static void legend(GString *o)
{
    static const struct {
        const char *svg, *text;
    } items[] = {
        { "<path d=\"M3 2h12l-6 10z\" fill=\"" C_OK "\"/>", "device write, allowed" },
        { "<path d=\"M3 2h12l-6 10z\" fill=\"" C_BAD "\"/>", "device write, blocked" },
        { "<path d=\"M3 12h12l-6 -10z\" fill=\"" C_OK "\"/>", "device read, allowed" },
        { "<path d=\"M3 12h12l-6 -10z\" fill=\"" C_BAD "\"/>", "device read, blocked" },
        { "<circle cx=\"9\" cy=\"7\" r=\"6.5\" fill=\"#ffd400\" stroke=\"#000\"/><path d=\"M4 3h10l-5 8z\" fill=\"" C_BAD "\" stroke=\"#000\" stroke-width=\"1.5\"/>",
          "outcome not what the scenario expected" },
        { "<path d=\"M5 3l8 8M13 3l-8 8\" stroke=\"" C_FAULT "\" stroke-width=\"2.4\" stroke-linecap=\"round\"/>", "fault" },
        { "<g transform=\"rotate(45 9 7)\"><rect x=\"0\" y=\"-2\" width=\"18\" height=\"18\" fill=\"#dcdcdc\"/>"
          "<path d=\"M2 -2v18M8 -2v18M14 -2v18\" stroke=\"#8c8c8c\" stroke-width=\"2.4\"/></g>",
          "table pool" },
        { "<rect x=\"1\" y=\"2\" width=\"16\" height=\"10\" rx=\"2\" fill=\"#3b78d8\"/>", "granted r" },
        { "<rect x=\"1\" y=\"2\" width=\"16\" height=\"10\" rx=\"2\" fill=\"#e39a1c\"/>", "granted w" },
        { "<rect x=\"1\" y=\"2\" width=\"16\" height=\"10\" rx=\"2\" fill=\"#7b4fc9\"/>", "granted rw" },
        { "<rect x=\"1\" y=\"2\" width=\"16\" height=\"10\" fill=\"#fff\" stroke=\"#444\" stroke-dasharray=\"3 2\"/><path d=\"M1 9h16\" stroke=\"#444\"/>",
          "unmap: the grant ends" },
        { "<rect x=\"0\" y=\"0\" width=\"18\" height=\"14\" fill=\"#f4f4f4\"/><path d=\"M3 13l4 -12M11 13l4 -12\" stroke=\"#555\" stroke-width=\"1.6\"/>",
          "break: addresses skipped (size given)" },
    };
    g_string_append(o, "<figcaption class=\"legend\">");
    for (unsigned i = 0; i < G_N_ELEMENTS(items); i++)
        g_string_append_printf(o, "<span><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"18\" height=\"14\" viewBox=\"0 0 18 14\">%s</svg>%s</span>",
                               items[i].svg, items[i].text);
    g_string_append(o, "<span>\xc3\x97N: N events share a marker</span></figcaption>\n");
}

static void put_more(GString *o, guint total, const char *what)
{
    if (total > MAX_ROWS) g_string_append_printf(o, "<p class=\"more\">... and %u more %s (all in the JUnit report and the event log).</p>\n", total - MAX_ROWS, what);
}

static void regions_table(GString *o, const ReportScenario *s)
{
    guint n = len_of(s->regions);
    if (!n) return;
    g_string_append(o, "<h3>Regions</h3>\n<table class=\"regions\"><thead><tr><th class=\"num\">#</th><th>client</th><th class=\"num\">object</th>"
                       "<th>from</th><th>to</th><th class=\"num\">size</th><th>perms</th><th>target</th></tr></thead><tbody>\n");
    for (guint i = 0; i < n && i < MAX_ROWS; i++) {
        const ReportRegion *r = &g_array_index(s->regions, ReportRegion, i);
        char sz[32];
        size_str(sz, sizeof sz, r->len, false);
        g_string_append_printf(o, "<tr><td class=\"num\">%u</td><td>", i + 1);
        put_esc(o, r->client);
        if (r->vm) { /* B: a guest's, in its own addresses */
            g_string_append(o, " <small>(a guest of VM ");
            put_esc(o, r->vm);
            g_string_append(o, ", guest-physical");
            if (r->devices && *r->devices) {
                g_string_append(o, ", for ");
                put_esc(o, r->devices);
            }
            g_string_append(o, ")</small>");
        }
        g_string_append_printf(o, "</td><td class=\"num\">%u</td><td class=\"addr\">0x%" PRIx64 "</td><td class=\"addr\">0x%" PRIx64
                                  "</td><td class=\"num\">%s</td><td>",
                               r->object, r->addr, end_of(r->addr, r->len), sz);
        if (r->removed) g_string_append(o, "<i>unmap</i>");
        else put_escn(o, r->perms, (gssize)strnlen(r->perms, sizeof r->perms), false);
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
    g_string_append_printf(o, "<tr%s><td class=\"num\">%u</td><td>", unexpected(d) ? " class=\"bad\"" : "", d->line);
    put_escn(o, d->device, (gssize)strnlen(d->device, sizeof d->device), false);
    if (d->vm[0]) { /* a pass-through engine: its VM, and where its address is backed */
        g_string_append(o, " <small>(VM ");
        put_escn(o, d->vm, (gssize)strnlen(d->vm, sizeof d->vm), false);
        g_string_append(o, d->guest_side ? ", the guest told" : "");
        g_string_append(o, ")</small>");
    }
    g_string_append_printf(o, "</td><td>%s</td><td class=\"addr\">0x%" PRIx64, d->write ? "device writes RAM" : "device reads RAM",
                           d->addr);
    if (d->vm[0] && d->translated) g_string_append_printf(o, " <small>(host 0x%" PRIx64 ")</small>", d->hpa);
    g_string_append_printf(o, "</td><td class=\"num\">%" PRIu64 "</td><td>%s</td><td>%s%s</td><td class=\"num\">%u</td></tr>\n",
                           d->len,
                           d->expected_ok ? "allowed" : "blocked", d->went_through ? "went through" : "blocked",
                           unexpected(d) ? " \xe2\x9c\x97" : "", n);
}

static const char dma_head[] = "<tr><th class=\"num\">line</th><th>device</th><th>direction</th><th>address</th>"
                               "<th class=\"num\">length</th><th>expected</th><th>happened</th><th class=\"num\">count</th></tr>";

static void dmas_table(GString *o, const ReportScenario *s)
{
    if (!len_of(s->dmas)) return;
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
        k->hi = MAX(k->hi, dma_end(d));
        k->line_lo = MIN(k->line_lo, d->line);
        k->line_hi = MAX(k->line_hi, d->line);
        bad += unexpected(d);
    }
    g_string_append_printf(o, "<h3>DMAs</h3>\n<p class=\"more\">%u DMAs at %u places, by kind:</p>\n"
                              "<table class=\"dmas\"><thead><tr><th class=\"num\">lines</th><th>device</th><th>direction</th>"
                              "<th>addresses</th><th>expected</th><th>happened</th><th class=\"num\">count</th></tr></thead><tbody>\n",
                           s->dmas->len, g->len);
    for (guint i = 0; i < kinds->len && i < MAX_ROWS; i++) {
        const Kind *k = &g_array_index(kinds, Kind, i);
        const ReportDma *d = k->first;
        g_string_append_printf(o, "<tr%s><td class=\"num\">%u", unexpected(d) ? " class=\"bad\"" : "", k->line_lo);
        if (k->line_hi != k->line_lo) g_string_append_printf(o, "&#8211;%u", k->line_hi);
        g_string_append(o, "</td><td>");
        put_escn(o, d->device, (gssize)strnlen(d->device, sizeof d->device), false);
        g_string_append_printf(o, "</td><td>%s</td>", d->write ? "device writes RAM" : "device reads RAM");
        put_range(o, k);
        g_string_append_printf(o, "<td>%s</td><td>%s%s</td><td class=\"num\">%u</td></tr>\n", d->expected_ok ? "allowed" : "blocked",
                               d->went_through ? "went through" : "blocked", unexpected(d) ? " \xe2\x9c\x97" : "", k->n);
    }
    g_string_append(o, "</tbody></table>\n");
    put_more(o, kinds->len, "kinds of DMA");
    if (!bad) return;
    g_string_append_printf(o, "<h3>DMAs that did not do what the scenario expected</h3>\n<table class=\"dmas unexpected\"><thead>%s</thead><tbody>\n",
                           dma_head);
    guint rows = 0;
    for (guint i = 0; i < g->len; i++) {
        const Group *gr = &g_array_index(g, Group, i);
        if (!unexpected(gr->first)) continue;
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
        put_escn(o, f->reason_name, (gssize)nl, false);
        g_string_append(o, "</span>");
    }
    g_string_append(o, "</td><td>");
    put_escn(o, f->owner, (gssize)strnlen(f->owner, sizeof f->owner), false);
    g_string_append_printf(o, "</td><td class=\"num\">%u</td></tr>\n", n);
}

static void faults_table(GString *o, const ReportScenario *s)
{
    if (!len_of(s->faults)) return;
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
        put_escn(o, f->device, (gssize)strnlen(f->device, sizeof f->device), false);
        if (f->seen_by[0]) { /* a guest's record: its PCI address, guest-physical */
            g_string_append(o, " <small>(guest ");
            put_escn(o, f->seen_by, (gssize)strnlen(f->seen_by, sizeof f->seen_by), false);
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
        put_esc(o, g_ptr_array_index(s->log, i));
        if (i + 1 < n) g_string_append_c(o, '\n');
    }
    g_string_append(o, "</pre>\n");
}

static void section(GString *o, const ReportScenario *s, guint i, const char *anchor)
{
    const char *st = status_word(status_of(s));
    g_string_append_printf(o, "<section class=\"scenario %s\" id=\"%s\">\n<h2><span class=\"badge %s\">%s</span> ", st, anchor, st, st);
    put_esc(o, s->name);
    g_string_append(o, " <small>on ");
    put_esc(o, s->board);
    g_string_append(o, "</small></h2>\n<table class=\"facts\">\n<tr><th>board</th><td>");
    put_esc(o, s->board);
    g_string_append(o, "</td></tr>\n<tr><th>file</th><td class=\"mono\">");
    put_esc(o, s->file);
    g_string_append(o, "</td></tr>\n<tr><th>purpose</th><td>");
    put_esc(o, s->purpose);
    g_string_append_printf(o, "</td></tr>\n<tr><th>status</th><td class=\"%s\">%s</td></tr>\n<tr><th>duration</th><td>", st, st);
    put_secs(o, s->seconds, "%.2f");
    g_string_append(o, " s</td></tr>\n</table>\n");
    if (s->message && *s->message) {
        g_string_append_printf(o, "<pre class=\"message %s\">", st);
        put_esc(o, s->message);
        g_string_append(o, "</pre>\n");
    }

    g_string_append(o, "<h3>Memory map</h3>\n<figure class=\"map\">\n");
    g_autoptr(GString) notes = g_string_new(NULL);
    svg_map(o, s, i, notes);
    legend(o);
    g_string_append(o, "</figure>\n");
    if (notes->len) g_string_append_printf(o, "<ul class=\"notes\">\n%s</ul>\n", notes->str);
    abc_section(o, s, i);

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
        char *key = g_strdup_printf("%s\n%s", str(s->file), str(s->name));
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
        put_esc(o, g_ptr_array_index(boards, b));
        g_string_append(o, "</th>");
    }
    g_string_append(o, "</tr></thead><tbody>\n");
    for (guint r = 0; r < row_first->len; r++) {
        const ReportScenario *s0 = nth(sc, g_array_index(row_first, guint, r));
        g_string_append(o, "<tr><td>");
        put_esc(o, s0->name);
        g_string_append(o, "</td><td class=\"mono\">");
        put_esc(o, s0->file);
        g_string_append(o, "</td>");
        for (guint b = 0; b < nb; b++) {
            const char *board = g_ptr_array_index(boards, b);
            GString *cell = g_string_new(NULL);
            const char *cls = "none";
            for (guint i = g_array_index(row_first, guint, r); i < n; i++) {
                const ReportScenario *s = nth(sc, i);
                if (!s || row_of[i] != r || strcmp(str(s->board), board) != 0) continue;
                const char *st = status_word(status_of(s));
                /* A cell run twice shows both; its colour is the worse. */
                if (!strcmp(cls, "none") || !strcmp(st, "fail") || (!strcmp(cls, "skip") && !strcmp(st, "pass"))) cls = st;
                g_string_append_printf(cell, "%s<a href=\"#%s\">%s</a> <small>", cell->len ? "<br/>" : "", anchors[i], st);
                put_secs(cell, s->seconds, "%.2f");
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
        if (nth(sc, i)) g_hash_table_add(seen, g_strdup_printf("%s\n%s", str(nth(sc, i)->file), str(nth(sc, i)->name)));
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
    put_esc(o, title);
    g_string_append_printf(o, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<header id=\"top\">\n<h1>", css);
    put_esc(o, title);
    g_autoptr(GDateTime) now = g_date_time_new_now_local();
    g_autofree char *when = g_date_time_format(now, "%Y-%m-%d %H:%M:%S");
    g_string_append_printf(o, "</h1>\n<p class=\"totals\">%u run(s) of %u scenario(s) on %u board(s): "
                              "<b class=\"pass\">%u passed</b>, <b class=\"fail\">%u failed</b>, <b class=\"skip\">%u skipped</b>; ",
                           all.tests, distinct_scenarios(scenarios), boards->len, passed, all.failures, all.skipped);
    put_secs(o, all.secs, "%.1f");
    g_string_append_printf(o, " s in all. <small>Written %s.</small></p>\n", when ? when : "");

    if (all.tests) {
        /* The proportions at a glance. */
        double w = 600, x = 0;
        g_string_append_printf(o, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"12\" viewBox=\"0 0 %d 12\" role=\"img\" aria-label=\"pass, fail, skip proportions\">",
                               px(w), px(w));
        const struct { unsigned n; const char *c; } parts[] = { { passed, "#1e7b34" }, { all.failures, "#c62828" }, { all.skipped, "#9a9a9a" } };
        for (unsigned k = 0; k < 3; k++) {
            double pw = w * parts[k].n / all.tests;
            if (parts[k].n)
                g_string_append_printf(o, "<rect x=\"%d\" y=\"0\" width=\"%d\" height=\"12\" fill=\"%s\"/>", px(x), MAX(1, px(x + pw) - px(x)), parts[k].c);
            x += pw;
        }
        g_string_append(o, "</svg>\n");
        matrix(o, scenarios, boards, anchors);
        if (all.failures) {
            g_string_append(o, "<h2>Failures</h2>\n<ul class=\"failures\">\n");
            for (guint i = 0; i < n; i++) {
                const ReportScenario *s = nth(scenarios, i);
                if (!s || status_of(s) != RS_FAIL) continue;
                g_string_append_printf(o, "<li><a href=\"#%s\">", anchors[i]);
                put_esc(o, s->name);
                g_string_append(o, " on ");
                put_esc(o, s->board);
                g_string_append(o, "</a>: ");
                const char *msg = s->message ? s->message : "failed";
                const char *nl = strchr(msg, '\n');
                put_escn(o, msg, nl ? nl - msg : -1, false);
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
