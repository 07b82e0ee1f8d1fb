/* The VM configuration parser (docs/vm-config.md says it word for word).
 *
 * Shape: the text is first cut into words that remember where they stand
 * (as for qvm, line breaks carry no meaning: an option is its keyword and a
 * fixed number of following words), then each option is applied in input
 * order. The first error stops everything and leaves the caller an empty
 * VmConfig, so that a half-read VM can never start. */
#include "vm-config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "num.h"
#include "tb-error.h"

#define MAX_SHOWN 64 /* bytes of a word quoted back in a message */

typedef struct {
    char *text;
    unsigned line, col;
} Word;

typedef struct {
    const char *file;
    GArray *words; /* Word */
    unsigned end_line, end_col; /* just after the last word: where a missing thing is reported */
    VmConfig *cfg;
    GError **err;
    int ctx;       /* the vdev whose context is open, or -1 */
    char *cert_where[VM_CERT_N];
    char *vdev_cert_where[VM_MAX_VDEV];
    char *system_where;
} Parser;

static const char *const cert_keywords[VM_CERT_N] = { "host-kernel", "host-procnto", "libsmmu", "qvm" };

const char *vm_cert_keyword(VmCert c) { return c < VM_CERT_N ? cert_keywords[c] : "?"; }

/* ---- messages ---------------------------------------------------------- */

/* Quotes user text so that a message stays one short printable line. */
static void append_shown(GString *s, const char *text)
{
    size_t n = strlen(text);
    bool cut = n > MAX_SHOWN;
    if (cut) {
        n = MAX_SHOWN;
        while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80) n--; /* do not split a UTF-8 sequence */
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c < 0x20 || c == 0x7f || c == '\\') g_string_append_printf(s, "\\x%02x", c);
        else g_string_append_c(s, (char)c);
    }
    if (cut) g_string_append(s, "...");
}

static char *where_of(const Parser *p, unsigned line, unsigned col)
{
    return g_strdup_printf("%s:%u:%u", p->file, line, col);
}

/* "FILE:LINE:COL: [KW: ]MESSAGE[ (got 'GOT')]"; returns rc. */
static int fail_at(Parser *p, int rc, unsigned line, unsigned col, const char *kw, const char *got, const char *fmt,
                   ...) G_GNUC_PRINTF(7, 8);
static int fail_at(Parser *p, int rc, unsigned line, unsigned col, const char *kw, const char *got, const char *fmt,
                   ...)
{
    if (p->err && *p->err) return rc; /* the first error is the one reported */
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "%s:%u:%u: ", p->file, line, col);
    if (kw) {
        append_shown(s, kw);
        g_string_append(s, ": ");
    }
    va_list ap;
    va_start(ap, fmt);
    g_string_append_vprintf(s, fmt, ap);
    va_end(ap);
    if (got) {
        g_string_append(s, " (got '");
        append_shown(s, got);
        g_string_append(s, "')");
    }
    g_set_error_literal(p->err, TB_ERROR, -rc, s->str);
    g_string_free(s, TRUE);
    return rc;
}

static const Word *word(const Parser *p, unsigned i) { return &g_array_index(p->words, Word, i); }

/* "KW: expected WHAT (got 'word i')", at word i. */
#define EXPECTED(p, kwi, i, ...)                                                                                    \
    fail_at((p), -EINVAL, word((p), (i))->line, word((p), (i))->col, word((p), (kwi))->text, word((p), (i))->text, \
            "expected " __VA_ARGS__)
/* "KW: MESSAGE", at word i, for what is not about a word's form. */
#define COMPLAIN(p, kwi, i, ...)                                                                                 \
    fail_at((p), -EINVAL, word((p), (i))->line, word((p), (i))->col, word((p), (kwi))->text, NULL, __VA_ARGS__)

/* ---- words ------------------------------------------------------------- */

static bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Cuts text into words. White space separates them; '#' at the start of a
 * word begins a comment that runs to the end of the line. Control bytes
 * (other than the white space), invalid UTF-8 and lines over VM_MAX_LINE
 * bytes are refused where they stand. */
static int cut_words(Parser *p, const char *text, size_t len)
{
    unsigned line = 1, col = 1;
    size_t line_start = 0;
    size_t i = 0;
    while (i < len) {
        char c = text[i];
        unsigned char u = (unsigned char)c;
        if (c == '\n') {
            line++;
            col = 1;
            line_start = ++i;
            continue;
        }
        if (i - line_start >= VM_MAX_LINE)
            return fail_at(p, -EINVAL, line, col, NULL, NULL, "line longer than %d bytes", VM_MAX_LINE);
        if ((u < 0x20 && !space(c)) || u == 0x7f)
            return fail_at(p, -EINVAL, line, col, NULL, NULL,
                           "control character 0x%02x (only spaces, tabs and line breaks separate words)", u);
        if (space(c)) {
            i++;
            col++;
            continue;
        }
        if (c == '#') { /* a comment: to the end of the line */
            while (i < len && text[i] != '\n') {
                if (i - line_start >= VM_MAX_LINE)
                    return fail_at(p, -EINVAL, line, col, NULL, NULL, "line longer than %d bytes", VM_MAX_LINE);
                i++;
                col++;
            }
            continue;
        }
        size_t start = i;
        unsigned wcol = col;
        while (i < len && !space(text[i])) {
            u = (unsigned char)text[i];
            if (u < 0x20 || u == 0x7f)
                return fail_at(p, -EINVAL, line, col, NULL, NULL,
                               "control character 0x%02x (only spaces, tabs and line breaks separate words)", u);
            if (i - line_start >= VM_MAX_LINE)
                return fail_at(p, -EINVAL, line, col, NULL, NULL, "line longer than %d bytes", VM_MAX_LINE);
            i++;
            col++;
        }
        if (!g_utf8_validate(text + start, (gssize)(i - start), NULL))
            return fail_at(p, -EINVAL, line, wcol, NULL, NULL, "not valid UTF-8");
        Word w = { g_strndup(text + start, i - start), line, wcol };
        g_array_append_val(p->words, w);
        p->end_line = line;
        p->end_col = col;
    }
    if (!p->words->len) {
        p->end_line = line;
        p->end_col = col;
    }
    return 0;
}

/* ---- values ------------------------------------------------------------ */

#define NUMBER_FORM "0x hexadecimal or decimal, optional K/M/G suffix"

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > VM_MAX_NAME || s[0] == '-' || s[0] == '.') return false;
    for (size_t i = 0; i < n; i++)
        if (!g_ascii_isalnum(s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.') return false;
    return true;
}

#define NAME_FORM "a NAME of letters, digits, '_', '-' and '.' (not first), at most 64"

static int parse_dec(const char *s, size_t n, unsigned max, unsigned *out)
{
    if (n == 0 || n > 5) return -EINVAL;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -EINVAL;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > max) return -ERANGE;
    *out = v;
    return 0;
}

/* "pci:BUS:DEV.FUNC", decimal, as smmuman's own configuration writes it.
 * Returns NULL or what is wrong. */
static const char *parse_bdf(const char *s, size_t n, VmBdf *out)
{
    if (n < 4 || strncmp(s, "pci:", 4) != 0) return "pci:BUS:DEV.FUNC";
    s += 4;
    n -= 4;
    const char *colon = memchr(s, ':', n), *dot = colon ? memchr(colon, '.', n - (size_t)(colon - s)) : NULL;
    if (!colon || !dot) return "pci:BUS:DEV.FUNC";
    if (parse_dec(s, (size_t)(colon - s), 255, &out->bus)) return "BUS as a decimal number 0..255";
    if (parse_dec(colon + 1, (size_t)(dot - colon - 1), 31, &out->dev)) return "DEV as a decimal number 0..31";
    if (parse_dec(dot + 1, n - (size_t)(dot + 1 - s), 7, &out->func)) return "FUNC as a decimal number 0..7";
    return NULL;
}

static bool bdf_eq(const VmBdf *a, const VmBdf *b) { return a->bus == b->bus && a->dev == b->dev && a->func == b->func; }

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen) { return a < b + blen && b < a + alen; }

/* ---- options ----------------------------------------------------------- */

/* Every option: its keyword, its arguments' count and usage. */
typedef struct {
    const char *kw;
    unsigned nargs;
    const char *usage;
    bool in_context; /* a vdev context's option */
} OptDef;

static const OptDef opts[] = {
    { "system", 1, "system NAME", false },
    { "ram", 1, "ram GPA,SIZE=HPA", false },
    { "pass", 2, "pass loc pci:GUEST_BUS:DEV.FUNC=pci:HOST_BUS:DEV.FUNC", false },
    { "vdev", 1, "vdev TYPE", false },
    { "cert", 2, "cert COMPONENT yes|no", false },
    { "loc", 1, "loc PATH (in a vdev context)", true },
    { "name", 1, "name NAME (in a vdev context)", true },
};

static int opt_system(Parser *p, unsigned i)
{
    VmConfig *c = p->cfg;
    const Word *v = word(p, i + 1);
    if (p->system_where) return COMPLAIN(p, i, i, "the VM is already named at %s", p->system_where);
    if (i != 0) return COMPLAIN(p, i, i, "must come first (it names the VM before anything else, as for qvm)");
    if (!name_ok(v->text)) return EXPECTED(p, i, i + 1, NAME_FORM);
    g_free(c->name);
    c->name = g_strdup(v->text);
    p->system_where = where_of(p, word(p, i)->line, word(p, i)->col);
    return 0;
}

static int opt_ram(Parser *p, unsigned i)
{
    VmConfig *c = p->cfg;
    const char *s = word(p, i + 1)->text;
    const char *comma = strchr(s, ','), *eq = strchr(s, '=');
    if (!comma || !eq || eq < comma)
        return EXPECTED(p, i, i + 1,
                        "GPA,SIZE=HPA: the guest-physical start, the size and the host-physical backing "
                        "(qvm's ram [GPA,]SIZE picks the backing itself; this model is told it)");
    g_autofree char *gpa_s = g_strndup(s, (size_t)(comma - s));
    g_autofree char *size_s = g_strndup(comma + 1, (size_t)(eq - comma - 1));
    uint64_t gpa, size, hpa;
    if (tb_parse_size(gpa_s, &gpa)) return EXPECTED(p, i, i + 1, "GPA as a number (" NUMBER_FORM ")");
    if (tb_parse_size(size_s, &size)) return EXPECTED(p, i, i + 1, "SIZE as a number (" NUMBER_FORM ")");
    if (tb_parse_size(eq + 1, &hpa)) return EXPECTED(p, i, i + 1, "HPA as a number (" NUMBER_FORM ")");
    if (size == 0) return EXPECTED(p, i, i + 1, "SIZE greater than 0");
    if ((gpa | size | hpa) % VM_PAGE)
        return EXPECTED(p, i, i + 1, "GPA, SIZE and HPA that are multiples of 4 KiB (the IOMMU's page)");
    if (gpa > UINT64_MAX - size) return EXPECTED(p, i, i + 1, "GPA+SIZE that fits in 64 bits");
    if (hpa > UINT64_MAX - size) return EXPECTED(p, i, i + 1, "HPA+SIZE that fits in 64 bits");
    if (c->n_ram == VM_MAX_RAM) return COMPLAIN(p, i, i, "more than %d ram ranges", VM_MAX_RAM);
    for (unsigned k = 0; k < c->n_ram; k++) {
        const VmRam *r = &c->ram[k];
        if (overlaps(gpa, size, r->gpa, r->size))
            return COMPLAIN(p, i, i + 1, "guest-physical 0x%llx-0x%llx overlaps the ram at %s", (unsigned long long)gpa,
                            (unsigned long long)(gpa + size - 1), r->where);
        /* two guest pages backed by one host page would let a device
         * reach one through the other */
        if (overlaps(hpa, size, r->hpa, r->size))
            return COMPLAIN(p, i, i + 1, "host-physical 0x%llx-0x%llx overlaps the backing of the ram at %s",
                            (unsigned long long)hpa, (unsigned long long)(hpa + size - 1), r->where);
    }
    c->ram[c->n_ram++] = (VmRam){ gpa, size, hpa, where_of(p, word(p, i + 1)->line, word(p, i + 1)->col) };
    return 0;
}

static int opt_pass(Parser *p, unsigned i)
{
    VmConfig *c = p->cfg;
    if (strcmp(word(p, i + 1)->text, "loc") != 0) return EXPECTED(p, i, i + 1, "'loc' (pass loc SPEC, as for qvm)");
    const char *s = word(p, i + 2)->text;
    if (g_str_has_prefix(s, "mem:"))
        return EXPECTED(p, i, i + 2, "pci:GUEST_BDF=pci:HOST_BDF (memory pass-through, mem:, is not part of this model)");
    const char *eq = strchr(s, '=');
    if (!eq) return EXPECTED(p, i, i + 2, "pci:GUEST_BUS:DEV.FUNC=pci:HOST_BUS:DEV.FUNC (guest = host, decimal)");
    VmPass ps;
    const char *bad = parse_bdf(s, (size_t)(eq - s), &ps.guest);
    if (bad) return EXPECTED(p, i, i + 2, "the guest address as %s (guest=host)", bad);
    if ((bad = parse_bdf(eq + 1, strlen(eq + 1), &ps.host)))
        return EXPECTED(p, i, i + 2, "the host address as %s (guest=host)", bad);
    if (c->n_ram == 0)
        return COMPLAIN(p, i, i, "no ram before it (memory must be allocated before anything that refers to it)");
    if (c->n_pass == VM_MAX_PASS) return COMPLAIN(p, i, i, "more than %d pass-through devices", VM_MAX_PASS);
    for (unsigned k = 0; k < c->n_pass; k++) {
        if (bdf_eq(&c->pass[k].guest, &ps.guest))
            return COMPLAIN(p, i, i + 2, "guest pci:%u:%u.%u is already taken at %s", ps.guest.bus, ps.guest.dev,
                            ps.guest.func, c->pass[k].where);
        if (bdf_eq(&c->pass[k].host, &ps.host))
            return COMPLAIN(p, i, i + 2, "host pci:%u:%u.%u is already passed through at %s", ps.host.bus, ps.host.dev,
                            ps.host.func, c->pass[k].where);
    }
    ps.where = where_of(p, word(p, i + 2)->line, word(p, i + 2)->col);
    c->pass[c->n_pass++] = ps;
    return 0;
}

static int opt_vdev(Parser *p, unsigned i)
{
    VmConfig *c = p->cfg;
    const char *type = word(p, i + 1)->text;
    if (!name_ok(type)) return EXPECTED(p, i, i + 1, "TYPE as " NAME_FORM);
    if (c->n_vdev == VM_MAX_VDEV) return COMPLAIN(p, i, i, "more than %d vdevs", VM_MAX_VDEV);
    if (strcmp(type, "smmu") == 0 && c->smmu >= 0)
        return COMPLAIN(p, i, i + 1, "a VM has one vdev smmu; one is already defined at %s", c->vdev[c->smmu].where);
    VmVdev *v = &c->vdev[c->n_vdev];
    v->type = g_strdup(type);
    v->name = g_strdup(type);
    v->loc = NULL;
    v->cert = false;
    v->where = where_of(p, word(p, i)->line, word(p, i)->col);
    v->line = word(p, i)->line;
    v->col = word(p, i)->col;
    if (strcmp(type, "smmu") == 0) c->smmu = (int)c->n_vdev;
    p->ctx = (int)c->n_vdev++;
    return 0;
}

/* The vdev context ends: what it must have, it has. */
static int close_context(Parser *p)
{
    if (p->ctx < 0) return 0;
    VmConfig *c = p->cfg;
    const VmVdev *v = &c->vdev[p->ctx];
    p->ctx = -1;
    for (const VmVdev *o = c->vdev; o < v; o++)
        if (strcmp(o->name, v->name) == 0)
            return fail_at(p, -EINVAL, v->line, v->col, "vdev", NULL,
                           "name '%s' is already used by the vdev at %s (give one a 'name NAME')", v->name, o->where);
    if (strcmp(v->type, "smmu") == 0 && !v->loc)
        return fail_at(p, -EINVAL, v->line, v->col, "vdev", NULL,
                       "smmu has no 'loc PATH' in its context (the socket its guest's smmuman connects to)");
    return 0;
}

static int opt_loc(Parser *p, unsigned i)
{
    VmVdev *v = &p->cfg->vdev[p->ctx];
    g_free(v->loc); /* in a context, the last instance of an option wins (qvm) */
    v->loc = g_strdup(word(p, i + 1)->text);
    return 0;
}

static int opt_name(Parser *p, unsigned i)
{
    if (!name_ok(word(p, i + 1)->text)) return EXPECTED(p, i, i + 1, NAME_FORM);
    VmVdev *v = &p->cfg->vdev[p->ctx];
    g_free(v->name);
    v->name = g_strdup(word(p, i + 1)->text);
    return 0;
}

static int opt_cert(Parser *p, unsigned i)
{
    VmConfig *c = p->cfg;
    const char *what = word(p, i + 1)->text, *val = word(p, i + 2)->text;
    bool *slot = NULL;
    char **where = NULL;
    for (unsigned k = 0; k < VM_CERT_N; k++)
        if (strcmp(what, cert_keywords[k]) == 0) {
            slot = &c->cert[k];
            where = &p->cert_where[k];
        }
    if (!slot && g_str_has_prefix(what, "vdev:"))
        for (unsigned k = 0; k < c->n_vdev; k++)
            if (strcmp(what + 5, c->vdev[k].name) == 0) {
                slot = &c->vdev[k].cert;
                where = &p->vdev_cert_where[k];
            }
    if (!slot && (strcmp(what, "smmuman") == 0 || strcmp(what, "support-library") == 0 ||
                  strcmp(what, "host-smmuman") == 0))
        return COMPLAIN(p, i, i + 1,
                        "'%s': the host service reports its own certification (its variant and support library); "
                        "a VM's configuration cannot state it",
                        what);
    if (!slot)
        return EXPECTED(p, i, i + 1,
                        "COMPONENT: host-kernel, host-procnto, libsmmu, qvm, or vdev:NAME of a vdev defined before");
    if (*where) return COMPLAIN(p, i, i + 1, "'%s' is already stated at %s", what, *where);
    if (strcmp(val, "yes") == 0) *slot = true;
    else if (strcmp(val, "no") == 0) *slot = false;
    else return EXPECTED(p, i, i + 2, "yes or no");
    *where = where_of(p, word(p, i)->line, word(p, i)->col);
    return 0;
}

static int apply(Parser *p, unsigned i, const OptDef *d)
{
    if (strcmp(d->kw, "system") == 0) return opt_system(p, i);
    if (strcmp(d->kw, "ram") == 0) return opt_ram(p, i);
    if (strcmp(d->kw, "pass") == 0) return opt_pass(p, i);
    if (strcmp(d->kw, "vdev") == 0) return opt_vdev(p, i);
    if (strcmp(d->kw, "cert") == 0) return opt_cert(p, i);
    if (strcmp(d->kw, "loc") == 0) return opt_loc(p, i);
    return opt_name(p, i);
}

static int parse_words(Parser *p)
{
    const unsigned n = p->words->len;
    unsigned i = 0;
    while (i < n) {
        const Word *w = word(p, i);
        const OptDef *d = NULL;
        for (unsigned k = 0; k < G_N_ELEMENTS(opts); k++)
            if (strcmp(w->text, opts[k].kw) == 0) d = &opts[k];
        if (!d) {
            GString *known = g_string_new(NULL);
            for (unsigned k = 0; k < G_N_ELEMENTS(opts); k++)
                if (p->ctx >= 0 || !opts[k].in_context) g_string_append_printf(known, " %s", opts[k].kw);
            fail_at(p, -EINVAL, w->line, w->col, NULL, NULL, "unknown keyword '%s' (expected one of:%s)",
                    w->text, known->str);
            g_string_free(known, TRUE);
            return -EINVAL;
        }
        if (d->in_context && p->ctx < 0)
            return COMPLAIN(p, i, i, "only in a vdev context (after 'vdev TYPE', before the next option that is not "
                                     "the vdev's); usage: %s", d->usage);
        if (i + d->nargs >= n)
            return COMPLAIN(p, i, i, "missing argument%s; usage: %s", d->nargs > 1 ? "s" : "", d->usage);
        int rc = d->in_context ? 0 : close_context(p);
        if (!rc) rc = apply(p, i, d);
        if (rc) return rc;
        i += 1 + d->nargs;
    }
    int rc = close_context(p);
    if (rc) return rc;
    if (p->cfg->n_ram == 0)
        return fail_at(p, -EINVAL, p->end_line, p->end_col, NULL, NULL,
                       "expected at least one 'ram GPA,SIZE=HPA' (a VM has guest RAM)");
    return 0;
}

/* The default name: the file's base name without its extension, made a NAME. */
static char *default_name(const char *file)
{
    g_autofree char *base = g_path_get_basename(file);
    char *dot = strrchr(base, '.');
    if (dot && dot != base) *dot = '\0';
    GString *s = g_string_new(NULL);
    for (const char *q = base; *q && s->len < VM_MAX_NAME; q++)
        g_string_append_c(s, g_ascii_isalnum(*q) || *q == '_' || ((*q == '-' || *q == '.') && s->len) ? *q : '_');
    if (!s->len) g_string_append(s, "vm");
    return g_string_free(s, FALSE);
}

void vm_config_clear(VmConfig *c)
{
    g_free(c->file);
    g_free(c->name);
    for (unsigned k = 0; k < c->n_ram; k++) g_free(c->ram[k].where);
    for (unsigned k = 0; k < c->n_pass; k++) g_free(c->pass[k].where);
    for (unsigned k = 0; k < c->n_vdev; k++) {
        g_free(c->vdev[k].type);
        g_free(c->vdev[k].name);
        g_free(c->vdev[k].loc);
        g_free(c->vdev[k].where);
    }
    memset(c, 0, sizeof *c);
    c->smmu = -1;
}

int vm_config_parse(const char *file, const char *text, size_t len, VmConfig *out, GError **err)
{
    memset(out, 0, sizeof *out);
    out->smmu = -1;
    out->file = g_strdup(file);
    Parser p = { .file = file, .words = g_array_new(FALSE, FALSE, sizeof(Word)), .cfg = out, .err = err, .ctx = -1 };
    int rc = len > VM_MAX_FILE ? fail_at(&p, -EFBIG, 1, 1, NULL, NULL, "larger than %d bytes", VM_MAX_FILE)
                               : cut_words(&p, text, len);
    if (!rc) rc = parse_words(&p);
    for (unsigned k = 0; k < p.words->len; k++) g_free(g_array_index(p.words, Word, k).text);
    g_array_free(p.words, TRUE);
    for (unsigned k = 0; k < VM_CERT_N; k++) g_free(p.cert_where[k]);
    for (unsigned k = 0; k < VM_MAX_VDEV; k++) g_free(p.vdev_cert_where[k]);
    g_free(p.system_where);
    if (rc) {
        vm_config_clear(out);
        return rc;
    }
    if (!out->name) out->name = default_name(file);
    return 0;
}

int vm_config_load(const char *path, VmConfig *out, GError **err)
{
    memset(out, 0, sizeof *out);
    out->smmu = -1;
    /* a FIFO or a device would block or never end: only a regular file */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        g_set_error(err, TB_ERROR, e, "%s: %s", path, g_strerror(e));
        return -e;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        g_set_error(err, TB_ERROR, EINVAL, "%s: not a regular file", path);
        return -EINVAL;
    }
    if (st.st_size > VM_MAX_FILE) {
        close(fd);
        g_set_error(err, TB_ERROR, EFBIG, "%s: larger than %d bytes", path, VM_MAX_FILE);
        return -EFBIG;
    }
    char *buf = g_malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fd);
    int rc = vm_config_parse(path, buf, got, out, err);
    g_free(buf);
    return rc;
}

/* ---- questions --------------------------------------------------------- */

static const VmRam *ram_at(const VmConfig *c, uint64_t gpa)
{
    for (unsigned k = 0; k < c->n_ram; k++)
        if (gpa >= c->ram[k].gpa && gpa - c->ram[k].gpa < c->ram[k].size) return &c->ram[k];
    return NULL;
}

bool vm_gpa_is_ram(const VmConfig *c, uint64_t gpa) { return ram_at(c, gpa) != NULL; }

int vm_translate(const VmConfig *c, uint64_t gpa, uint64_t len, VmPiece *out, unsigned max, unsigned *n)
{
    *n = 0;
    if (len == 0 || gpa > UINT64_MAX - len) return -EINVAL;
    uint64_t at = gpa, left = len;
    while (left) {
        const VmRam *r = ram_at(c, at);
        if (!r) return -ERANGE; /* a hole, or past the end of guest RAM */
        uint64_t off = at - r->gpa, take = r->size - off < left ? r->size - off : left;
        if (*n && out[*n - 1].hpa + out[*n - 1].len == r->hpa + off) {
            out[*n - 1].len += take; /* back to back in host memory too: one piece */
        } else {
            if (*n == max) return -E2BIG;
            out[(*n)++] = (VmPiece){ at, take, r->hpa + off };
        }
        at += take;
        left -= take;
    }
    return 0;
}

static const VmPass *pass_by(const VmConfig *c, bool guest, unsigned bus, unsigned dev, unsigned func)
{
    VmBdf b = { bus, dev, func };
    for (unsigned k = 0; k < c->n_pass; k++)
        if (bdf_eq(guest ? &c->pass[k].guest : &c->pass[k].host, &b)) return &c->pass[k];
    return NULL;
}

const VmPass *vm_pass_by_guest(const VmConfig *c, unsigned bus, unsigned dev, unsigned func)
{
    return pass_by(c, true, bus, dev, func);
}

const VmPass *vm_pass_by_host(const VmConfig *c, unsigned bus, unsigned dev, unsigned func)
{
    return pass_by(c, false, bus, dev, func);
}

static gint by_gpa(gconstpointer a, gconstpointer b)
{
    const VmRam *x = *(const VmRam *const *)a, *y = *(const VmRam *const *)b;
    return x->gpa < y->gpa ? -1 : x->gpa > y->gpa;
}

char *vm_ram_text(const VmConfig *c)
{
    g_autoptr(GPtrArray) sorted = g_ptr_array_new();
    for (unsigned k = 0; k < c->n_ram; k++) g_ptr_array_add(sorted, (gpointer)&c->ram[k]);
    g_ptr_array_sort(sorted, by_gpa);
    GString *s = g_string_new(NULL);
    for (guint k = 0; k < sorted->len; k++) {
        const VmRam *r = g_ptr_array_index(sorted, k);
        g_string_append_printf(s, "%s0x%llx-0x%llx", k ? ", " : "", (unsigned long long)r->gpa,
                               (unsigned long long)(r->gpa + r->size - 1));
    }
    return g_string_free(s, FALSE);
}

char *vm_pass_text(const VmConfig *c)
{
    if (!c->n_pass) return g_strdup("none");
    GString *s = g_string_new(NULL);
    for (unsigned k = 0; k < c->n_pass; k++)
        g_string_append_printf(s, "%spci:%u:%u.%u", k ? ", " : "", c->pass[k].guest.bus, c->pass[k].guest.dev,
                               c->pass[k].guest.func);
    return g_string_free(s, FALSE);
}
