/* smmuman's configuration parser. The grammar and its error format are
 * documented in docs/configuration.md; this file follows it word for word.
 *
 * Shape: the command line and every @file are first cut into Words that
 * remember where they stand, then grouped into options (a keyword and its
 * arguments) and each option is applied to the SmmuConfig in input order. The
 * first error stops everything and the caller gets an empty SmmuConfig, so a
 * half-applied configuration can never reach the service. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CMDLINE "command line"
#define MAX_DEPTH 8            /* nested @files; deeper is taken for a loop */
#define MAX_LINE 4096          /* bytes per line, without its newline */
#define MAX_FILE (1024 * 1024) /* bounds reading /dev/zero or a runaway pipe */
#define MAX_SHOWN 64           /* bytes of a word quoted back in a message */
#define ENOTREG (-1)           /* read_all(): not a regular file (never a real errno) */

static GQuark cfg_error_quark(void)
{
    return g_quark_from_static_string("smmu-config-error");
}

typedef struct {
    const char *text;
    unsigned line; /* file line, or the command-line word number */
    unsigned col;  /* 1-based column in a file; 0 on the command line */
} Word;

typedef struct {
    const char *src; /* path of the file, or CMDLINE */
    const Word *w;   /* w[0]: the keyword (or the @FILE word) */
    unsigned n;
} Opt;

typedef struct {
    SmmuConfig *cfg;
    bool guest;
    GError **err;
    CfgDevice *cur; /* the last device line: where "reserved" lines go */
    bool salvage;   /* smmu_config_salvage(): go on past errors, keep what the door needs */
} Parser;

/* ---- messages ---------------------------------------------------------- */

/* Quotes user text so that a message stays one printable line whatever the
 * input held (the command line may carry control bytes; files cannot). */
static void append_shown(GString *s, const char *text, size_t limit)
{
    size_t n = strlen(text);
    bool cut = n > limit;
    if (cut) {
        n = limit;
        /* do not split a UTF-8 sequence */
        while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80) n--;
    }
    bool utf8 = g_utf8_validate(text, (gssize)n, NULL);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c < 0x20 || c == 0x7f || c == '\\' || (c >= 0x80 && !utf8))
            g_string_append_printf(s, "\\x%02x", c);
        else
            g_string_append_c(s, (char)c);
    }
    if (cut) g_string_append(s, "...");
}

static void append_where(GString *s, const char *src, unsigned line, unsigned col)
{
    if (strcmp(src, CMDLINE) == 0) {
        g_string_append_printf(s, CMDLINE ":word %u", line);
    } else {
        append_shown(s, src, SIZE_MAX);
        g_string_append_printf(s, ":%u:%u", line, col);
    }
}

static void append_loc(GString *s, const char *src, const Word *w)
{
    append_where(s, src, w->line, w->col);
}

/* "LOC: [KW: ]MESSAGE[ (got 'GOT')]" as the error; returns rc. */
static int fail_v(Parser *p, int rc, const char *src, const Word *at, const char *kw,
                  const char *got, const char *fmt, va_list ap)
{
    GString *s = g_string_new(NULL);
    append_loc(s, src, at);
    g_string_append(s, ": ");
    if (kw) {
        append_shown(s, kw, MAX_SHOWN);
        g_string_append(s, ": ");
    }
    g_string_append_vprintf(s, fmt, ap);
    if (got) {
        g_string_append(s, " (got '");
        append_shown(s, got, MAX_SHOWN);
        g_string_append(s, "')");
    }
    g_set_error_literal(p->err, cfg_error_quark(), -rc, s->str);
    g_string_free(s, TRUE);
    return rc;
}

static int fail(Parser *p, int rc, const char *src, const Word *at, const char *kw,
                const char *got, const char *fmt, ...) G_GNUC_PRINTF(7, 8);
static int fail(Parser *p, int rc, const char *src, const Word *at, const char *kw,
                const char *got, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_v(p, rc, src, at, kw, got, fmt, ap);
    va_end(ap);
    return rc;
}

/* "LOC(word i): KEYWORD: expected WHAT (got 'word i')" */
static int expected(Parser *p, const Opt *o, unsigned i, const char *fmt, ...) G_GNUC_PRINTF(4, 5);
static int expected(Parser *p, const Opt *o, unsigned i, const char *fmt, ...)
{
    char *what;
    va_list ap;
    va_start(ap, fmt);
    what = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fail(p, -EINVAL, o->src, &o->w[i], o->w[0].text, o->w[i].text, "expected %s", what);
    g_free(what);
    return -EINVAL;
}

/* "LOC(word i): KEYWORD: MESSAGE", for errors that are not about a word's form. */
static int complain(Parser *p, const Opt *o, unsigned i, const char *fmt, ...) G_GNUC_PRINTF(4, 5);
static int complain(Parser *p, const Opt *o, unsigned i, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_v(p, -EINVAL, o->src, &o->w[i], o->w[0].text, NULL, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static char *where_text(const CfgWhere *w)
{
    GString *s = g_string_new(NULL);
    append_where(s, w->file, w->line, w->col);
    return g_string_free(s, FALSE);
}

static void notice(Parser *p, const Opt *o, unsigned i)
{
    GString *s = g_string_new(NULL);
    append_loc(s, o->src, &o->w[i]);
    g_string_append(s, ": '");
    append_shown(s, o->w[i].text, MAX_SHOWN);
    g_string_append(s, "' ignored in a guest: it only means something to the host service");
    g_ptr_array_add(p->cfg->notices, g_string_free(s, FALSE));
}

static void where_set(CfgWhere *w, const Opt *o, unsigned i)
{
    g_free(w->file);
    w->file = g_strdup(o->src);
    w->line = o->w[i].line;
    w->col = o->w[i].col ? o->w[i].col : 1;
}

/* ---- numbers ----------------------------------------------------------- */

static int digit(char c, unsigned base)
{
    int d = -1;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    return d >= 0 && (unsigned)d < base ? d : -1;
}

/* Digits of one base over s[0..n), nothing else. Every character is checked
 * before the value is, so garbage is -EINVAL even when it is also long. */
static int parse_digits(const char *s, size_t n, unsigned base, uint64_t *out)
{
    if (n == 0) return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (digit(s[i], base) < 0) return -EINVAL;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t d = (uint64_t)digit(s[i], base);
        if (v > (UINT64_MAX - d) / base) return -ERANGE;
        v = v * base + d;
    }
    *out = v;
    return 0;
}

/* The suffix is looked at first: K, M and G are not hex digits, so they can
 * never be mistaken for part of a hex address. The prefix "0d" is only a
 * prefix, so "fed" is hex 0xfed and "0d10" is ten. */
static int parse_number(const char *s, unsigned default_base, uint64_t *out)
{
    if (!s || !out) return -EINVAL;
    size_t n = strlen(s);
    if (n == 0) return -EINVAL;
    unsigned shift = 0;
    switch (s[n - 1]) {
    case 'k': case 'K': shift = 10; break;
    case 'm': case 'M': shift = 20; break;
    case 'g': case 'G': shift = 30; break;
    default: break;
    }
    if (shift) n--;
    unsigned base = default_base;
    if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
        n -= 2;
    } else if (n >= 2 && s[0] == '0' && (s[1] == 'd' || s[1] == 'D')) {
        base = 10;
        s += 2;
        n -= 2;
    }
    uint64_t v;
    int rc = parse_digits(s, n, base, &v);
    if (rc) return rc;
    if (v > (UINT64_MAX >> shift)) return -ERANGE;
    *out = v << shift;
    return 0;
}

int cfg_parse_address(const char *s, uint64_t *out)
{
    return parse_number(s, 16, out);
}

int cfg_parse_length(const char *s, uint64_t *out)
{
    return parse_number(s, 10, out);
}

/* Plain decimal (bus, IRQ, StreamID, levels, milliseconds): digits only. */
static int parse_dec(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v;
    int rc = parse_digits(s, strlen(s), 10, &v);
    if (rc) return rc;
    if (v > max) return -ERANGE;
    *out = v;
    return 0;
}

#define ADDRESS_RULES "hexadecimal unless prefixed 0d, optional K/M/G suffix"
#define LENGTH_RULES "decimal unless prefixed 0x, optional K/M/G suffix"

/* Reports a bad address or length field (what: "PADDR", "START", "LEN") of word i. */
static int bad_number(Parser *p, const Opt *o, unsigned i, const char *what, bool address, int rc)
{
    if (rc == -ERANGE)
        return expected(p, o, i, "%s that fits in 64 bits", what);
    return expected(p, o, i, "%s as %s (%s)", what, address ? "an address" : "a length",
                    address ? ADDRESS_RULES : LENGTH_RULES);
}

/* ---- keywords, names ---------------------------------------------------- */

typedef int (*Handler)(Parser *p, const Opt *o);

typedef struct {
    const char *kw;
    unsigned min, max;  /* number of arguments */
    bool host_only;     /* ignored, with a notice, in a guest */
    Handler fn;
    const char *usage;
} OptionDef;

static const OptionDef *find_option(const char *kw);

/* Names share the word stream with keywords, so a name that is a keyword (or
 * "use") would be read as one; a small charset keeps messages, status files
 * and logs unambiguous. */
static int check_name(Parser *p, const Opt *o, unsigned i)
{
    const char *s = o->w[i].text;
    if (find_option(s) || strcmp(s, "use") == 0)
        return expected(p, o, i, "a NAME that is not a keyword");
    bool ok = g_ascii_isalnum(s[0]) || s[0] == '_';
    for (const char *c = s; ok && *c; c++)
        ok = g_ascii_isalnum(*c) || *c == '_' || *c == '-' || *c == '.';
    if (!ok)
        return expected(p, o, i, "a NAME of letters, digits, '_', '-' and '.' (not first)");
    return 0;
}

static CfgUnit *find_unit(const SmmuConfig *cfg, const char *name)
{
    for (guint i = 0; i < cfg->units->len; i++) {
        CfgUnit *u = g_ptr_array_index(cfg->units, i);
        if (strcmp(u->name, name) == 0) return u;
    }
    return NULL;
}

static CfgAllow *find_allow(const SmmuConfig *cfg, const char *name)
{
    for (guint i = 0; i < cfg->allows->len; i++) {
        CfgAllow *a = g_ptr_array_index(cfg->allows, i);
        if (strcmp(a->name, name) == 0) return a;
    }
    return NULL;
}

static int already_defined(Parser *p, const Opt *o, unsigned i, const char *what, const CfgWhere *first)
{
    char *at = where_text(first);
    complain(p, o, i, "%s '%s' already defined at %s", what, o->w[i].text, at);
    g_free(at);
    return -EINVAL;
}

static void replace_str(char **slot, const char *value)
{
    g_free(*slot);
    *slot = g_strdup(value);
}

/* START,LEN[,PERMS] of allow and reserved. */
static int parse_range(Parser *p, const Opt *o, unsigned i, uint64_t *start, uint64_t *len,
                       unsigned *perms)
{
    char **part = g_strsplit(o->w[i].text, ",", 0);
    guint n = g_strv_length(part);
    int rc = 0, nrc;
    if (n < 2 || n > 3) {
        rc = expected(p, o, i, "START,LEN[,PERMS]");
    } else if ((nrc = cfg_parse_address(part[0], start))) {
        rc = bad_number(p, o, i, "START", true, nrc);
    } else if ((nrc = cfg_parse_length(part[1], len))) {
        rc = bad_number(p, o, i, "LEN", false, nrc);
    } else if (*len == 0) {
        rc = expected(p, o, i, "LEN greater than 0");
    } else if (*len > UINT64_MAX - *start) {
        rc = expected(p, o, i, "START+LEN that fits in 64 bits");
    } else if (n == 2) {
        *perms = SMF_READ | SMF_WRITE;
    } else {
        unsigned got = 0;
        const char *c = part[2];
        for (; *c; c++) {
            unsigned bit = *c == 's' ? SMF_READ : *c == 't' ? SMF_WRITE : 0;
            if (!bit || (got & bit)) break;
            got |= bit;
        }
        if (*c || !got)
            rc = expected(p, o, i, "PERMS made of 's' (device reads) and 't' (device writes), "
                                   "each at most once");
        *perms = got;
    }
    g_strfreev(part);
    return rc;
}

/* ---- the options --------------------------------------------------------- */

static int opt_smmu(Parser *p, const Opt *o)
{
    SmmuConfig *cfg = p->cfg;
    const char *type = o->w[1].text, *param = o->n > 2 ? o->w[2].text : NULL;
    if (strcmp(type, "vtd") == 0) {
        if (param && strcmp(param, "require") != 0 && strcmp(param, "ignore") != 0)
            return expected(p, o, 2, "require or ignore after 'vtd'");
    } else if (strcmp(type, "smmuv3") == 0) {
        if (param) return expected(p, o, 2, "nothing after 'smmuv3'");
    } else {
        return expected(p, o, 1, "vtd or smmuv3");
    }
    replace_str(&cfg->smmu_type, type);
    replace_str(&cfg->smmu_param, param);
    where_set(&cfg->smmu_where, o, 0);
    return 0;
}

static void unit_free(gpointer data)
{
    CfgUnit *u = data;
    g_free(u->name);
    g_free(u->where.file);
    g_free(u);
}

static int opt_unit(Parser *p, const Opt *o)
{
    SmmuConfig *cfg = p->cfg;
    int rc = check_name(p, o, 1);
    if (rc) return rc;
    const CfgUnit *first = find_unit(cfg, o->w[1].text);
    if (first) return already_defined(p, o, 1, "unit", &first->where);

    char **part = g_strsplit(o->w[2].text, ",", 0);
    guint n = g_strv_length(part);
    uint64_t paddr = 0, irq[2] = { 0, 0 };
    if (n < 1 || n > 3) {
        rc = expected(p, o, 2, "PADDR[,EVTQ_IRQ[,GERROR_IRQ]]");
    } else if ((rc = cfg_parse_address(part[0], &paddr))) {
        rc = bad_number(p, o, 2, "PADDR", true, rc);
    } else {
        for (guint k = 1; k < n && !rc; k++)
            if (parse_dec(part[k], INT_MAX, &irq[k - 1]))
                rc = expected(p, o, 2, "%s as a decimal IRQ number (0..%d)",
                              k == 1 ? "EVTQ_IRQ" : "GERROR_IRQ", INT_MAX);
    }
    if (rc == 0) {
        CfgUnit *u = g_new0(CfgUnit, 1);
        u->name = g_strdup(o->w[1].text);
        u->paddr = paddr;
        u->evtq_irq = n > 1 ? (int)irq[0] : -1;
        u->gerror_irq = n > 2 ? (int)irq[1] : -1;
        where_set(&u->where, o, 0);
        g_ptr_array_add(cfg->units, u);
    }
    g_strfreev(part);
    return rc;
}

static void allow_free(gpointer data)
{
    CfgAllow *a = data;
    g_free(a->name);
    g_free(a->where.file);
    g_free(a);
}

static int opt_allow(Parser *p, const Opt *o)
{
    SmmuConfig *cfg = p->cfg;
    int rc = check_name(p, o, 1);
    if (rc) return rc;
    const CfgAllow *first = find_allow(cfg, o->w[1].text);
    if (first) return already_defined(p, o, 1, "allow range", &first->where);
    uint64_t start = 0, len = 0;
    unsigned perms = 0;
    rc = parse_range(p, o, 2, &start, &len, &perms);
    if (rc) return rc;
    CfgAllow *a = g_new0(CfgAllow, 1);
    a->name = g_strdup(o->w[1].text);
    a->start = start;
    a->len = len;
    a->perms = perms;
    where_set(&a->where, o, 0);
    g_ptr_array_add(cfg->allows, a);
    return 0;
}

static void reserved_clear(gpointer data)
{
    CfgReserved *r = data;
    g_free(r->where.file);
}

static void device_free(gpointer data)
{
    CfgDevice *d = data;
    if (!d) return;
    if (d->allow) g_ptr_array_unref(d->allow);
    if (d->reserved) g_array_unref(d->reserved);
    g_free(d->use_unit);
    g_free(d->where.file);
    g_free(d);
}

#define SPEC_FORMS "pci:BUS:DEV.FUNC (decimal) or mem:PADDR[,LEN]"

static int parse_pci(Parser *p, const Opt *o, const char *s, union smmu_devid *id)
{
    const char *colon = strchr(s, ':'), *dot = colon ? strchr(colon + 1, '.') : NULL;
    if (!dot) return expected(p, o, 1, SPEC_FORMS);
    char *bus_s = g_strndup(s, (gsize)(colon - s));
    char *dev_s = g_strndup(colon + 1, (gsize)(dot - colon - 1));
    uint64_t bus = 0, dev = 0, fn = 0;
    int rc = 0;
    if (parse_dec(bus_s, 255, &bus)) rc = expected(p, o, 1, "BUS as a decimal number 0..255");
    else if (parse_dec(dev_s, 31, &dev)) rc = expected(p, o, 1, "DEV as a decimal number 0..31");
    else if (parse_dec(dot + 1, 7, &fn)) rc = expected(p, o, 1, "FUNC as a decimal number 0..7");
    g_free(bus_s);
    g_free(dev_s);
    if (rc) return rc;
    id->pci.type = SDT_PCI;
    id->pci.bus = (unsigned)bus;
    id->pci.dev = (unsigned)dev;
    id->pci.func = (unsigned)fn;
    return 0;
}

static int parse_mem(Parser *p, const Opt *o, const char *s, union smmu_devid *id)
{
    char **part = g_strsplit(s, ",", 0);
    guint n = g_strv_length(part);
    uint64_t phys = 0, len = 0;
    int rc = 0, nrc;
    if (n > 2) {
        rc = expected(p, o, 1, SPEC_FORMS);
    } else if ((nrc = cfg_parse_address(n ? part[0] : "", &phys))) {
        rc = bad_number(p, o, 1, "PADDR", true, nrc);
    } else if (n == 2) {
        if ((nrc = cfg_parse_length(part[1], &len)))
            rc = bad_number(p, o, 1, "LEN", false, nrc);
        else if (len == 0 || len > UINT_MAX)
            rc = expected(p, o, 1, "LEN between 1 and %u", UINT_MAX);
        else if (len > UINT64_MAX - phys)
            rc = expected(p, o, 1, "PADDR+LEN that fits in 64 bits");
    }
    g_strfreev(part);
    if (rc) return rc;
    id->mmio.type = SDT_MMIO;
    id->mmio.phys = phys;
    id->mmio.length = (unsigned)len;
    return 0;
}

/* One device is one bus address; its length is descriptive, so "mem:X" and
 * "mem:X,LEN" are the same device. */
static bool same_device(const union smmu_devid *a, const union smmu_devid *b)
{
    if (a->type != b->type) return false;
    if (a->type == SDT_PCI)
        return a->pci.bus == b->pci.bus && a->pci.dev == b->pci.dev && a->pci.func == b->pci.func;
    return a->mmio.phys == b->mmio.phys;
}

static int opt_device(Parser *p, const Opt *o)
{
    SmmuConfig *cfg = p->cfg;
    const char *spec = o->w[1].text;
    union smmu_devid id;
    memset(&id, 0, sizeof id);
    int rc;
    if (g_str_has_prefix(spec, "pci:")) rc = parse_pci(p, o, spec + 4, &id);
    else if (g_str_has_prefix(spec, "mem:")) rc = parse_mem(p, o, spec + 4, &id);
    else rc = expected(p, o, 1, SPEC_FORMS);
    if (rc) return rc;
    for (guint k = 0; k < cfg->devices->len; k++) {
        const CfgDevice *other = g_ptr_array_index(cfg->devices, k);
        if (same_device(&other->id, &id))
            return already_defined(p, o, 1, "device", &other->where);
    }

    CfgDevice *d = g_new0(CfgDevice, 1);
    d->id = id;
    d->allow = g_ptr_array_new_with_free_func(g_free);
    d->reserved = g_array_new(FALSE, TRUE, sizeof(CfgReserved));
    g_array_set_clear_func(d->reserved, reserved_clear);
    where_set(&d->where, o, 0);

    unsigned i = 2;
    for (; i < o->n && strcmp(o->w[i].text, "use") != 0; i++) {
        const char *name = o->w[i].text;
        if (!find_allow(cfg, name)) {
            rc = expected(p, o, i, "the NAME of an allow range defined earlier, or 'use'");
            goto out;
        }
        for (guint k = 0; k < d->allow->len; k++)
            if (strcmp(g_ptr_array_index(d->allow, k), name) == 0) {
                rc = complain(p, o, i, "allow range '%s' named twice", name);
                goto out;
            }
        g_ptr_array_add(d->allow, g_strdup(name));
    }
    if (i < o->n) {
        /* "use UNIT [PARAM]" */
        if (p->guest) {
            notice(p, o, i);
        } else if (i + 1 >= o->n) {
            rc = complain(p, o, i, "'use' needs a UNIT; usage: device SPEC [ALLOW_NAME ...] "
                                   "[use UNIT [PARAM]]");
        } else if (!find_unit(cfg, o->w[i + 1].text)) {
            rc = expected(p, o, i + 1, "the NAME of a unit defined earlier");
        } else {
            d->use_unit = g_strdup(o->w[i + 1].text);
            if (i + 2 < o->n) {
                uint64_t v;
                if (parse_dec(o->w[i + 2].text, UINT32_MAX, &v)) {
                    rc = expected(p, o, i + 2, "PARAM as a decimal number 0..%u", UINT32_MAX);
                } else {
                    d->has_use_param = true;
                    d->use_param = (uint32_t)v;
                }
            }
            if (rc == 0 && i + 3 < o->n)
                rc = expected(p, o, i + 3, "nothing after 'use UNIT [PARAM]'");
        }
    }
out:
    if (rc) {
        device_free(d);
        return rc;
    }
    g_ptr_array_add(cfg->devices, d);
    p->cur = d;
    return 0;
}

static int opt_reserved(Parser *p, const Opt *o)
{
    if (!p->cur)
        return complain(p, o, 0, "no device line before it (a reserved region belongs to the "
                                 "device line above it)");
    CfgReserved r = { 0 };
    int rc = parse_range(p, o, 1, &r.start, &r.len, &r.perms);
    if (rc) return rc;
    where_set(&r.where, o, 0);
    g_array_append_val(p->cur->reserved, r);
    return 0;
}

static int opt_safety(Parser *p, const Opt *o)
{
    static const char *const names[] = { "none", "warn", "required" };
    static const CfgSafety values[] = { CFG_SAFETY_NONE, CFG_SAFETY_WARN, CFG_SAFETY_REQUIRED };
    for (unsigned k = 0; k < G_N_ELEMENTS(names); k++)
        if (strcmp(o->w[1].text, names[k]) == 0) {
            p->cfg->safety = values[k];
            p->cfg->safety_given = true;
            return 0;
        }
    return expected(p, o, 1, "none, warn or required");
}

static int opt_debug(Parser *p, const Opt *o)
{
    uint64_t v;
    if (parse_dec(o->w[1].text, 2, &v) || v < 1) return expected(p, o, 1, "1 or 2");
    p->cfg->debug = (unsigned)v;
    return 0;
}

static int opt_foreground(Parser *p, const Opt *o)
{
    p->cfg->foreground = true;
    return 0;
}

/* TYPE:ARGUMENT. TYPE names a platform module (smmu-platform-TYPE.so), so
 * it is letters, digits and '-' only; which types exist is for the loader
 * to find out (platform.c), which says what it tried. */
static bool platform_spec_ok(const char *s)
{
    const char *colon = strchr(s, ':');
    if (!colon || colon == s || colon - s > 32 || colon[1] == '\0') return false;
    for (const char *c = s; c < colon; c++)
        if (!g_ascii_islower(*c) && !g_ascii_isdigit(*c) && *c != '-') return false;
    return true;
}

static int opt_platform(Parser *p, const Opt *o)
{
    const char *s = o->w[1].text;
    if (!platform_spec_ok(s)) return expected(p, o, 1, "TYPE:ARGUMENT, e.g. board:RUNDIR");
    replace_str(&p->cfg->platform, s);
    return 0;
}

/* The slot a PATH keyword writes, found by name so that one handler serves all. */
static char **path_slot(SmmuConfig *cfg, const char *kw)
{
    if (strcmp(kw, "attach-socket") == 0) return &cfg->attach_socket;
    if (strcmp(kw, "target-socket") == 0) return &cfg->target_socket;
    if (strcmp(kw, "status-file") == 0) return &cfg->status_file;
    if (strcmp(kw, "vdev-smmu") == 0) return &cfg->vdev_smmu;
    return &cfg->log_file;
}

static int opt_path(Parser *p, const Opt *o)
{
    replace_str(path_slot(p->cfg, o->w[0].text), o->w[1].text);
    return 0;
}

static int opt_target_mode(Parser *p, const Opt *o)
{
    uint64_t v;
    const char *s = o->w[1].text;
    if (parse_digits(s, strlen(s), 8, &v) || v > 0777)
        return expected(p, o, 1, "OCTAL as an octal file mode 0..0777 (e.g. 0660)");
    p->cfg->target_mode = (unsigned)v;
    return 0;
}

static int opt_ms(Parser *p, const Opt *o)
{
    bool poll = strcmp(o->w[0].text, "fault-poll-ms") == 0;
    unsigned lo = poll ? 1 : 10, hi = poll ? 60000 : 3600000;
    uint64_t v;
    if (parse_dec(o->w[1].text, hi, &v) || v < lo)
        return expected(p, o, 1, "N as decimal milliseconds %u..%u", lo, hi);
    if (poll) p->cfg->fault_poll_ms = (unsigned)v;
    else p->cfg->scrub_ms = (unsigned)v;
    return 0;
}

/* The slot a client-share keyword writes, and its largest value. */
static uint64_t *limit_slot(SmmuConfig *cfg, const char *kw, uint64_t *max)
{
    *max = UINT32_MAX;
    if (strcmp(kw, "client-pages") == 0) return &cfg->client_pages;
    if (strcmp(kw, "client-objects") == 0) return &cfg->client_objects;
    if (strcmp(kw, "client-devices") == 0) return &cfg->client_devices;
    if (strcmp(kw, "client-regions") == 0) return &cfg->client_regions;
    *max = 65536;
    return &cfg->max_clients;
}

static int opt_limit(Parser *p, const Opt *o)
{
    uint64_t v, max;
    uint64_t *slot = limit_slot(p->cfg, o->w[0].text, &max);
    if (parse_dec(o->w[1].text, max, &v) || v < 1) return expected(p, o, 1, "N as a decimal number 1..%llu",
                                                                    (unsigned long long)max);
    *slot = v;
    return 0;
}

static const OptionDef option_defs[] = {
    { "smmu", 1, 2, true, opt_smmu, "smmu vtd [require|ignore] | smmu smmuv3" },
    { "unit", 2, 2, true, opt_unit, "unit NAME PADDR[,EVTQ_IRQ[,GERROR_IRQ]]" },
    { "allow", 2, 2, false, opt_allow, "allow NAME START,LEN[,PERMS]" },
    { "device", 1, UINT_MAX, false, opt_device, "device SPEC [ALLOW_NAME ...] [use UNIT [PARAM]]" },
    { "reserved", 1, 1, true, opt_reserved, "reserved START,LEN[,PERMS]" },
    { "safety", 1, 1, false, opt_safety, "safety none|warn|required" },
    { "debug", 1, 1, false, opt_debug, "debug 1|2" },
    { "foreground", 0, 0, false, opt_foreground, "foreground" },
    { "platform", 1, 1, false, opt_platform, "platform TYPE:ARGUMENT" },
    { "attach-socket", 1, 1, false, opt_path, "attach-socket PATH" },
    { "target-socket", 1, 1, false, opt_path, "target-socket PATH" },
    { "target-mode", 1, 1, false, opt_target_mode, "target-mode OCTAL" },
    { "status-file", 1, 1, false, opt_path, "status-file PATH" },
    { "log-file", 1, 1, false, opt_path, "log-file PATH" },
    { "vdev-smmu", 1, 1, false, opt_path, "vdev-smmu PATH" },
    { "fault-poll-ms", 1, 1, false, opt_ms, "fault-poll-ms N" },
    { "scrub-ms", 1, 1, false, opt_ms, "scrub-ms N" },
    { "client-pages", 1, 1, false, opt_limit, "client-pages N" },
    { "client-objects", 1, 1, false, opt_limit, "client-objects N" },
    { "client-devices", 1, 1, false, opt_limit, "client-devices N" },
    { "client-regions", 1, 1, false, opt_limit, "client-regions N" },
    { "max-clients", 1, 1, false, opt_limit, "max-clients N" },
};

static const OptionDef *find_option(const char *kw)
{
    for (unsigned k = 0; k < G_N_ELEMENTS(option_defs); k++)
        if (strcmp(kw, option_defs[k].kw) == 0) return &option_defs[k];
    return NULL;
}

/* A command-line word that begins a new option. */
static bool starts_option(const char *w)
{
    return w[0] == '@' || find_option(w);
}

/* ---- input --------------------------------------------------------------- */

static int parse_file(Parser *p, const char *path, unsigned depth, const char *from_src,
                      const Word *from);

/* An "@FILE" option: relative paths are taken from the including file's
 * directory (dir), or from the working directory on the command line. */
static int run_include(Parser *p, const Opt *o, unsigned depth, const char *dir)
{
    if (o->n > 1)
        return fail(p, -EINVAL, o->src, &o->w[1], "@", o->w[1].text,
                    "too many arguments; usage: @FILE");
    const char *rel = o->w[0].text + 1;
    if (*rel == '\0') return fail(p, -EINVAL, o->src, &o->w[0], "@", o->w[0].text, "expected @FILE");
    if (depth + 1 > MAX_DEPTH)
        return fail(p, -ELOOP, o->src, &o->w[0], "@", o->w[0].text,
                    "files nested more than %d deep (an include loop?)", MAX_DEPTH);
    char *path = !dir || g_path_is_absolute(rel) || strcmp(dir, ".") == 0
                     ? g_strdup(rel)
                     : g_build_filename(dir, rel, NULL);
    int rc = parse_file(p, path, depth + 1, o->src, &o->w[0]);
    g_free(path);
    return rc;
}

/* What the Design Safe State's door needs from a configuration that did
 * not parse: where the hardware is and where to say what happened. */
static bool door_option(const char *kw)
{
    static const char *const kws[] = { "platform", "smmu", "unit", "status-file", "log-file", "vdev-smmu" };
    for (unsigned k = 0; k < G_N_ELEMENTS(kws); k++)
        if (strcmp(kw, kws[k]) == 0) return true;
    return false;
}

static int run_option_checked(Parser *p, const Opt *o, unsigned depth, const char *dir);

static int run_option(Parser *p, const Opt *o, unsigned depth, const char *dir)
{
    if (!p->salvage) return run_option_checked(p, o, depth, dir);
    if (o->w[0].text[0] == '@' || door_option(o->w[0].text)) run_option_checked(p, o, depth, dir);
    return 0; /* salvaging: every error is skipped */
}

static int run_option_checked(Parser *p, const Opt *o, unsigned depth, const char *dir)
{
    const char *kw = o->w[0].text;
    if (kw[0] == '@') return run_include(p, o, depth, dir);
    const OptionDef *def = find_option(kw);
    if (!def) {
        GString *s = g_string_new("unknown keyword '");
        append_shown(s, kw, MAX_SHOWN);
        g_string_append(s, "' (expected one of:");
        for (unsigned k = 0; k < G_N_ELEMENTS(option_defs); k++)
            g_string_append_printf(s, " %s", option_defs[k].kw);
        g_string_append(s, " or @FILE)");
        fail(p, -EINVAL, o->src, &o->w[0], NULL, NULL, "%s", s->str);
        g_string_free(s, TRUE);
        return -EINVAL;
    }
    if (def->host_only && p->guest) {
        notice(p, o, 0);
        return 0;
    }
    unsigned nargs = o->n - 1;
    if (nargs < def->min)
        return complain(p, o, 0, "missing arguments; usage: %s", def->usage);
    if (nargs > def->max)
        return fail(p, -EINVAL, o->src, &o->w[def->max + 1], kw, o->w[def->max + 1].text,
                    "too many arguments; usage: %s", def->usage);
    return def->fn(p, o);
}

/* Reads all of path; 0 or a positive errno (EFBIG: over MAX_FILE). */
static int read_all(const char *path, char **out, size_t *out_len)
{
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; only regular
     * files are read, so nothing here can wait at all */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return errno;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return e;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return ENOTREG;
    }
    GByteArray *b = g_byte_array_new();
    int e = 0;
    for (;;) {
        guint8 chunk[8192];
        ssize_t r = read(fd, chunk, sizeof chunk);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            e = errno;
            break;
        }
        if (r == 0) break;
        if (b->len + (size_t)r > MAX_FILE) {
            e = EFBIG;
            break;
        }
        g_byte_array_append(b, chunk, (guint)r);
    }
    close(fd);
    if (e) {
        g_byte_array_unref(b);
        return e;
    }
    *out_len = b->len;
    g_byte_array_append(b, (const guint8 *)"", 1);
    *out = (char *)g_byte_array_free(b, FALSE);
    return 0;
}

static int parse_file(Parser *p, const char *path, unsigned depth, const char *from_src,
                      const Word *from)
{
    char *buf = NULL;
    size_t len = 0;
    int e = read_all(path, &buf, &len);
    if (e) {
        /* too big is a fault of the content, not of access */
        int rc = e == EFBIG || e == ENOTREG ? -EINVAL : -ENOENT;
        GString *shown = g_string_new(NULL);
        append_shown(shown, path, SIZE_MAX);
        if (e == EFBIG)
            fail(p, rc, from_src, from, NULL, NULL, "%s: cannot read: larger than %d bytes",
                 shown->str, MAX_FILE);
        else if (e == ENOTREG)
            fail(p, -EINVAL, from_src, from, NULL, NULL,
                 "%s: not a regular file (a FIFO, device or directory is never read: it could wait forever)",
                 shown->str);
        else
            fail(p, rc, from_src, from, NULL, NULL, "%s: cannot read: %s", shown->str, g_strerror(e));
        g_string_free(shown, TRUE);
        return rc;
    }

    char *dir = g_path_get_dirname(path);
    GArray *words = g_array_new(FALSE, FALSE, sizeof(Word));
    int rc = 0;
    unsigned lineno = 0;
    for (size_t pos = 0; pos < len && rc == 0;) {
        lineno++;
        size_t end = pos;
        while (end < len && buf[end] != '\n') end++;
        size_t next = end < len ? end + 1 : end;
        if (end > pos && buf[end - 1] == '\r' && end < len) end--; /* CRLF */
        Word at = { NULL, lineno, 0 };
        for (size_t k = pos; k < end; k++) {
            unsigned char c = (unsigned char)buf[k];
            if (k - pos >= MAX_LINE) {
                at.col = MAX_LINE + 1;
                rc = fail(p, -EINVAL, path, &at, NULL, NULL, "line longer than %d bytes", MAX_LINE);
                break;
            }
            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                at.col = (unsigned)(k - pos + 1);
                rc = fail(p, -EINVAL, path, &at, NULL, NULL,
                          "control character 0x%02x (not allowed in a configuration file)", c);
                break;
            }
        }
        if (rc && p->salvage) { /* the door reads on: skip the line */
            rc = 0;
            pos = next;
            continue;
        }
        if (rc) break;

        g_array_set_size(words, 0);
        for (size_t k = pos; k < end;) {
            if (buf[k] == '#') break;
            if (buf[k] == ' ' || buf[k] == '\t') {
                k++;
                continue;
            }
            Word w = { buf + k, lineno, (unsigned)(k - pos + 1) };
            while (k < end && buf[k] != ' ' && buf[k] != '\t' && buf[k] != '#') k++;
            g_array_append_val(words, w);
            if (k < end && buf[k] == '#') {
                buf[k] = '\0';
                break;
            }
            if (k < end) buf[k++] = '\0';
        }
        buf[end] = '\0'; /* the last word of the line ends here */
        if (words->len) {
            Opt o = { path, (const Word *)words->data, words->len };
            rc = run_option(p, &o, depth, dir);
        }
        pos = next;
    }
    g_array_unref(words);
    g_free(dir);
    g_free(buf);
    return rc;
}

static void config_init(SmmuConfig *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->units = g_ptr_array_new_with_free_func(unit_free);
    cfg->allows = g_ptr_array_new_with_free_func(allow_free);
    cfg->devices = g_ptr_array_new_with_free_func(device_free);
    cfg->notices = g_ptr_array_new_with_free_func(g_free);
    cfg->safety = CFG_SAFETY_NONE;
    cfg->attach_socket = g_strdup(SMMU_DEFAULT_SOCKET);
    cfg->target_socket = g_strdup(SMMU_DEFAULT_TARGET_SOCKET);
    cfg->target_mode = 0600;
    cfg->fault_poll_ms = 10;
    cfg->scrub_ms = 1000;
}

void smmu_config_clear(SmmuConfig *cfg)
{
    if (!cfg) return;
    g_free(cfg->smmu_type);
    g_free(cfg->smmu_param);
    g_free(cfg->smmu_where.file);
    if (cfg->units) g_ptr_array_unref(cfg->units);
    if (cfg->allows) g_ptr_array_unref(cfg->allows);
    if (cfg->devices) g_ptr_array_unref(cfg->devices);
    if (cfg->notices) g_ptr_array_unref(cfg->notices);
    g_free(cfg->platform);
    g_free(cfg->attach_socket);
    g_free(cfg->target_socket);
    g_free(cfg->status_file);
    g_free(cfg->log_file);
    g_free(cfg->vdev_smmu);
    memset(cfg, 0, sizeof *cfg);
}

/* Rules that need the whole input: the `smmu` option may come after the
 * devices it gives meaning to. */
static int check_whole(Parser *p)
{
    SmmuConfig *cfg = p->cfg;
    if (g_strcmp0(cfg->smmu_type, "vtd") != 0) return 0;
    for (guint i = 0; i < cfg->devices->len; i++) {
        const CfgDevice *d = g_ptr_array_index(cfg->devices, i);
        if (!d->has_use_param) continue;
        /* QNX gives VT-d no PARAM: a PCI device's requester ID is its
         * address, and taking a number here would hand one device's
         * mappings to another */
        Word at = { "device", d->where.line, strcmp(d->where.file, CMDLINE) == 0 ? 0 : d->where.col };
        return fail(p, -EINVAL, d->where.file, &at, "device", NULL,
                    "'use UNIT PARAM': VT-d takes no PARAM (a PCI device's requester ID is its bus:dev.func; "
                    "PARAM is an SMMUv3 StreamID); write 'use UNIT'");
    }
    return 0;
}

static int parse(int argc, char *const argv[], bool guest, bool salvage, SmmuConfig *cfg, GError **err)
{
    g_return_val_if_fail(cfg != NULL, -EINVAL);
    memset(cfg, 0, sizeof *cfg); /* clearable even if refused below */
    g_return_val_if_fail(err == NULL || *err == NULL, -EINVAL);
    config_init(cfg);
    Parser p = { cfg, guest, err, NULL, salvage };

    /* A word may carry several ("unit dmar0 fed90000" as one argument):
     * split them, each remembering the argument it came from. */
    GPtrArray *copies = g_ptr_array_new_with_free_func(g_free);
    GArray *words = g_array_new(FALSE, FALSE, sizeof(Word));
    for (int i = 0; argv && i < argc; i++) {
        if (!argv[i]) continue;
        char *copy = g_strdup(argv[i]);
        g_ptr_array_add(copies, copy);
        for (char *c = copy; *c;) {
            if (g_ascii_isspace(*c)) {
                *c++ = '\0';
                continue;
            }
            Word w = { c, (unsigned)i + 1, 0 };
            g_array_append_val(words, w);
            while (*c && !g_ascii_isspace(*c)) c++;
        }
    }

    const Word *w = (const Word *)words->data;
    int rc = 0;
    for (unsigned i = 0, j; i < words->len && rc == 0; i = j) {
        for (j = i + 1; j < words->len && !starts_option(w[j].text); j++) {}
        Opt o = { CMDLINE, &w[i], j - i };
        rc = run_option(&p, &o, 0, NULL);
    }
    g_array_unref(words);
    g_ptr_array_unref(copies);
    if (!rc && !salvage) rc = check_whole(&p);
    if (rc) smmu_config_clear(cfg);
    return rc;
}

int smmu_config_parse(int argc, char *const argv[], bool guest, SmmuConfig *cfg, GError **err)
{
    return parse(argc, argv, guest, false, cfg, err);
}

void smmu_config_salvage(int argc, char *const argv[], SmmuConfig *cfg)
{
    smmu_config_clear(cfg);
    parse(argc, argv, false, true, cfg, NULL);
}
