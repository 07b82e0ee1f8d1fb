/* Part 1 of smmu-soak (docs/reliability.md): the bad-configuration corpus
 * of fixtures/soak and mutants of a good configuration.
 *
 * Each case starts from a board whose IOMMU passes DMA (its reset state,
 * proven by a DMA write that lands), runs smmuman with it, and expects:
 * exit status 3 within a bound, a DSS reason whose "bad configuration:"
 * names FILE:LINE (or command line:word N) as the case says, the status
 * file and log saying the same where the case gives them, and a DMA write
 * that no longer reaches RAM. A mutant may also start: it is then stopped
 * with SIGTERM, which is a DSS, and checked the same way.
 *
 * A case is a .smmu file (inc-*.smmu are only included by others). Its
 * comments say what is wrong with it, and lines "# soak-KEY: VALUE" how to
 * run it:
 *   soak-expect: FILE:LINE | word N   where the message must point
 *   soak-reason: TEXT                 how the reason begins (default "bad configuration: ")
 *   soak-env: platform status         set $SMMU_PLATFORM / $SMMU_STATUS_FILE
 *   soak-args: WORDS                  the command line after "foreground" (default: ${CASE})
 *   soak-kind: vtd | smmuv3           only on boards with that IOMMU
 * ${NAME}s in a case (and its includes) are replaced before it runs:
 * PLATFORM, KIND, OTHERKIND, UNIT, UNITNAME, UNITADDR, RAM, POOL, POOLEND,
 * BELOWPOOL, STATUS, LOG, DIR, CASE (@ and the case's path).
 * fifo.smmu (a FIFO), dir.smmu (a directory) and big.smmu (over 1 MiB)
 * are made at run time next to the cases. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "soak.h"

#define CASE_TIMEOUT_MS 10000 /* a failed start-up ends well within this */
#define BAD_CONFIG "bad configuration: "

typedef struct {
    char *name;    /* file name */
    char *path;    /* the substituted copy that runs */
    char *text;    /* its content */
    char *expect;  /* "FILE:LINE", "word N" or NULL */
    char *reason;  /* how the reason must begin; NULL: any (mutants) */
    char *args;    /* words after "foreground" */
    char *kind;    /* only this IOMMU kind, or NULL */
    bool env_platform, env_status;
    bool mutant, may_start, must_start;
} Case;

typedef struct {
    const char *name;
    char *value;
} Var;

typedef struct {
    Var vars[16];
    unsigned n;
    char *dir, *status, *log;
} Corpus;

static void var(Corpus *c, const char *name, char *value)
{
    c->vars[c->n].name = name;
    c->vars[c->n++].value = value;
}

static char *hex(uint64_t v) { return g_strdup_printf("%llx", (unsigned long long)v); }

/* ${NAME} replaced in bytes that may hold anything, NUL included. */
static GByteArray *substitute(const Corpus *c, const uint8_t *in, size_t n, const char *case_path)
{
    GByteArray *out = g_byte_array_sized_new((guint)n + 256);
    for (size_t i = 0; i < n;) {
        if (in[i] == '$' && i + 1 < n && in[i + 1] == '{') {
            const uint8_t *end = memchr(in + i, '}', n - i);
            if (end) {
                g_autofree char *name = g_strndup((const char *)in + i + 2, (gsize)(end - in - i - 2));
                const char *value = NULL;
                g_autofree char *at = NULL;
                if (strcmp(name, "CASE") == 0 && case_path) value = at = g_strconcat("@", case_path, NULL);
                for (unsigned k = 0; k < c->n && !value; k++)
                    if (strcmp(name, c->vars[k].name) == 0) value = c->vars[k].value;
                if (value) {
                    g_byte_array_append(out, (const guint8 *)value, (guint)strlen(value));
                    i = (size_t)(end - in) + 1;
                    continue;
                }
            }
        }
        g_byte_array_append(out, in + i, 1);
        i++;
    }
    return out;
}

static char *directive(const char *text, const char *key)
{
    g_autofree char *needle = g_strdup_printf("# soak-%s:", key);
    const char *p = strstr(text, needle);
    if (!p) return NULL;
    p += strlen(needle);
    const char *nl = strchr(p, '\n');
    g_autofree char *v = g_strndup(p, nl ? (gsize)(nl - p) : strlen(p));
    return g_strdup(g_strstrip(v));
}

static void case_free(Case *c)
{
    g_free(c->name);
    g_free(c->path);
    g_free(c->text);
    g_free(c->expect);
    g_free(c->reason);
    g_free(c->args);
    g_free(c->kind);
}

/* g_ptr_array_sort() hands the comparator pointers to the elements. */
static gint by_name(gconstpointer a, gconstpointer b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Copies fixtures/soak with its ${NAME}s replaced, and makes what git
 * cannot hold: a FIFO, a directory, a file over the 1 MiB limit. */
static bool corpus_prepare(Soak *S, Corpus *c, GPtrArray *names)
{
    c->dir = g_build_filename(S->scratch, "corpus", NULL);
    c->status = g_build_filename(S->scratch, "case.status", NULL);
    c->log = g_build_filename(S->scratch, "case.log", NULL);
    if (g_mkdir_with_parents(c->dir, 0700) != 0) return false;
    const TbInvUnit *u = &S->inv.units[0];
    bool vtd = strcmp(S->kind, "vtd") == 0;
    int evtq = -1, gerror = -1;
    for (unsigned i = 0; i < u->n_irqs; i++) {
        if (strcmp(u->irq_names[i], "evtq") == 0) evtq = (int)u->irqs[i];
        if (strcmp(u->irq_names[i], "gerror") == 0) gerror = (int)u->irqs[i];
    }
    var(c, "PLATFORM", g_strdup(S->platform));
    var(c, "KIND", g_strdup(S->kind));
    var(c, "OTHERKIND", g_strdup(vtd ? "smmuv3" : "vtd"));
    var(c, "UNIT", evtq >= 0 && gerror >= 0
                       ? g_strdup_printf("%s %llx,%d,%d", u->name, (unsigned long long)u->base, evtq, gerror)
                       : g_strdup_printf("%s %llx", u->name, (unsigned long long)u->base));
    var(c, "UNITNAME", g_strdup(u->name));
    var(c, "UNITADDR", hex(u->base));
    var(c, "RAM", hex(S->inv.ram_base + 0x400000));
    var(c, "POOL", hex(S->inv.pool_base));
    var(c, "POOLEND", hex(S->inv.pool_base + S->inv.pool_size - 0x1000));
    var(c, "BELOWPOOL", hex(S->inv.pool_base - 0x1000));
    var(c, "STATUS", g_strdup(c->status));
    var(c, "LOG", g_strdup(c->log));
    var(c, "DIR", g_strdup(c->dir));
    GDir *d = g_dir_open(S->corpus_dir, 0, NULL);
    if (!d) return false;
    for (const char *n; (n = g_dir_read_name(d));) {
        g_autofree char *from = g_build_filename(S->corpus_dir, n, NULL);
        g_autofree char *to = g_build_filename(c->dir, n, NULL);
        g_autofree char *bytes = NULL;
        gsize len;
        if (!g_file_test(from, G_FILE_TEST_IS_REGULAR) || !g_file_get_contents(from, &bytes, &len, NULL)) continue;
        GByteArray *b = substitute(c, (const uint8_t *)bytes, len, to);
        bool ok = g_file_set_contents(to, (const char *)b->data, b->len, NULL);
        g_byte_array_unref(b);
        if (!ok) {
            g_dir_close(d);
            return false;
        }
        if (g_str_has_suffix(n, ".smmu") && !g_str_has_prefix(n, "inc-")) g_ptr_array_add(names, g_strdup(n));
    }
    g_dir_close(d);
    g_autofree char *fifo = g_build_filename(c->dir, "fifo.smmu", NULL);
    g_autofree char *dir = g_build_filename(c->dir, "dir.smmu", NULL);
    g_autofree char *big = g_build_filename(c->dir, "big.smmu", NULL);
    GString *b = g_string_new(NULL);
    while (b->len <= 1024 * 1024) g_string_append(b, "# a file over the 1 MiB limit, made of comments\n");
    bool ok = mkfifo(fifo, 0600) == 0 && g_mkdir_with_parents(dir, 0700) == 0 &&
              g_file_set_contents(big, b->str, (gssize)b->len, NULL);
    g_string_free(b, TRUE);
    g_ptr_array_sort(names, by_name);
    return ok;
}

/* "FILE:LINE[:COL]: ..." or "command line:word N: ..." after "bad configuration: " */
static bool parse_location(const char *loc, char **file, unsigned *line, unsigned *word)
{
    *file = NULL;
    *line = *word = 0;
    if (g_str_has_prefix(loc, "command line:word ")) {
        char *end;
        *word = (unsigned)strtoul(loc + strlen("command line:word "), &end, 10);
        return *word > 0 && *end == ':';
    }
    const char *colon = strchr(loc, ':');
    if (!colon || colon == loc) return false;
    char *end;
    *line = (unsigned)strtoul(colon + 1, &end, 10);
    if (end == colon + 1 || *end != ':' || *line == 0) return false;
    *file = g_strndup(loc, (gsize)(colon - loc));
    return true;
}

static unsigned count_lines(const char *path)
{
    g_autofree char *text = NULL;
    gsize n;
    if (!g_file_get_contents(path, &text, &n, NULL)) return 0;
    unsigned lines = 0;
    for (gsize i = 0; i < n; i++) lines += text[i] == '\n';
    return lines + 1;
}

static void repro_case(Soak *S, const Case *c, char **argv, char **env)
{
    if (!S->repro) return;
    g_autofree char *cmd = g_strjoinv(" ", argv);
    fprintf(S->repro, "-- case %s\ncommand: %s%s%s%s%s\n", c->name, c->env_platform ? "SMMU_PLATFORM=... " : "",
            c->env_status ? "SMMU_STATUS_FILE=... " : "", cmd, c->mutant ? "" : "\nfile: fixtures/soak/", c->mutant ? "" : c->name);
    g_autofree char *esc = g_strescape(c->text, NULL);
    fprintf(S->repro, "content (as run, C-escaped): \"%s\"\n", esc);
    (void)env;
    fflush(S->repro);
}

/* A failure of case c, described the first time it is seen: every time
 * for a corpus case, once per kind for mutants (one defect tends to fail
 * many of them), and once for the log file, whichever case it is. */
static void case_fail(Soak *S, const Case *c, const char *what, bool *described, const char *fmt, ...)
    G_GNUC_PRINTF(5, 6);
static void case_fail(Soak *S, const Case *c, const char *what, bool *described, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_autofree char *key = strcmp(what, "log") == 0 ? g_strdup("the log file did not record a DSS")
                           : c->mutant ? g_strdup_printf("mutants: %s", what)
                                       : g_strdup_printf("%s: %s", c->name, what);
    *described |= soak_finding_key(S, key, "%s", text);
}

static void run_case(Soak *S, Corpus *cp, const Case *c)
{
    const uint64_t dst = S->inv.ram_base + 0x100000;
    if (!soak_reopen_dma(S, dst)) return;
    unlink(cp->status);
    unlink(cp->log);
    g_autofree char *tmp = g_strconcat(cp->status, ".tmp", NULL);
    unlink(tmp);
    g_autofree char *exe = g_build_filename(S->build_dir, "smmuman", NULL);
    GPtrArray *av = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(av, g_strdup(exe));
    g_ptr_array_add(av, g_strdup("foreground"));
    g_auto(GStrv) words = g_strsplit_set(c->args, " \t", -1);
    for (unsigned i = 0; words[i]; i++)
        if (*words[i]) g_ptr_array_add(av, g_strdup(words[i]));
    /* at the end, where no case's error stands: a case that starts after
     * all listens in our directory, not in /run */
    g_ptr_array_add(av, g_strdup("attach-socket"));
    g_ptr_array_add(av, g_strdup(S->sock));
    g_ptr_array_add(av, g_strdup("target-socket"));
    g_ptr_array_add(av, g_strdup(S->tsock));
    g_ptr_array_add(av, NULL);
    char **argv = (char **)av->pdata;
    char **env = soak_clean_env(S);
    if (c->env_platform) env = g_environ_setenv(env, "SMMU_PLATFORM", S->platform, TRUE);
    if (c->env_status) env = g_environ_setenv(env, "SMMU_STATUS_FILE", cp->status, TRUE);
    bool uses_status = c->env_status || strstr(c->text, cp->status) || strstr(c->args, cp->status);
    bool uses_log = strstr(c->text, cp->log) || strstr(c->args, cp->log);
    if (c->mutant) S->st.mutants++;
    else S->st.corpus_cases++;
    if (S->verbose) soak_note(S, "case %s", c->name);

    SoakProc p;
    char *reason = NULL;
    if (!soak_proc_spawn(S, &p, argv, env)) goto out;
    int w = soak_proc_wait(&p, cp->status, CASE_TIMEOUT_MS);
    bool started = w != 1;
    bool described = false;
    if (c->must_start && w != 0) {
        soak_proc_kill(&p);
        g_autofree char *why = soak_dss_reason(p.err->str);
        harness_error_text(S, g_strdup_printf("the unmutated base configuration did not start: %s",
                                              why ? why : p.err->str));
        goto done;
    }
    if (started) {
        if (!c->may_start) {
            S->st.other_failures++;
                        case_fail(S, c, "started", &described, "corpus %s: the service %s instead of refusing its configuration", c->name,
                         w == 0 ? "started" : "neither started nor exited within 10 s");
        }
        kill(p.pid, SIGTERM);
        if (soak_proc_wait(&p, NULL, CASE_TIMEOUT_MS) != 1) {
            soak_proc_kill(&p);
            S->st.other_failures++;
                        case_fail(S, c, "no stop", &described, "corpus %s: the service did not stop within 10 s of SIGTERM", c->name);
        }
    }
    reason = soak_dss_reason(p.err->str);
    if (p.signalled) {
        S->st.crashes++;
                case_fail(S, c, "crash", &described, "corpus %s: the service crashed (signal %d); stderr: %s", c->name, p.status - 128, p.err->str);
    } else if (p.status != 3) {
        S->st.other_failures++;
                case_fail(S, c, "exit status", &described, "corpus %s: exit status %d, want 3; stderr: %s", c->name, p.status, p.err->str);
    } else if (!reason) {
        S->st.other_failures++;
                case_fail(S, c, "no reason", &described, "corpus %s: exit 3 without a DSS reason on stderr: %s", c->name, p.err->str);
    } else if (started && !g_str_has_prefix(reason, "stopped by a signal")) {
        S->st.other_failures++;
                case_fail(S, c, "stop reason", &described, "corpus %s: stopped by SIGTERM, but the reason is '%s'", c->name, reason);
    } else if (!started) {
        if (c->reason && !g_str_has_prefix(reason, c->reason)) {
            S->st.other_failures++;
                        case_fail(S, c, "reason", &described, "corpus %s: reason '%s', want it to begin '%s'", c->name, reason, c->reason);
        } else if (g_str_has_prefix(reason, BAD_CONFIG)) {
            g_autofree char *file = NULL;
            unsigned line, word;
            bool ok = parse_location(reason + strlen(BAD_CONFIG), &file, &line, &word);
            if (ok && c->expect) {
                g_autofree char *base = file ? g_path_get_basename(file) : NULL;
                g_autofree char *got = file ? g_strdup_printf("%s:%u", base, line) : g_strdup_printf("word %u", word);
                ok = strcmp(got, c->expect) == 0;
            } else if (ok && file) { /* a mutant: a line of a file that is there */
                ok = line <= count_lines(file) || !g_file_test(file, G_FILE_TEST_EXISTS);
                ok = ok && (g_path_is_absolute(file) || strcmp(file, "command line") == 0);
            }
            if (!ok) {
                S->st.other_failures++;
                                case_fail(S, c, "location", &described, "corpus %s: the reason does not point at %s: '%s'", c->name,
                             c->expect ? c->expect : "a FILE:LINE of the input", reason);
            }
        } else if (c->expect) {
            S->st.other_failures++;
                        case_fail(S, c, "not bad configuration", &described, "corpus %s: want a bad configuration at %s, got '%s'", c->name, c->expect, reason);
        }
    }
    if (reason && uses_status && !started) {
        g_autofree char *state = soak_file_field(cp->status, "state");
        g_autofree char *sreason = soak_file_field(cp->status, "reason");
        if (!state || strcmp(state, "dss") != 0 || !sreason || strcmp(sreason, reason) != 0) {
            S->st.other_failures++;
                        case_fail(S, c, "status file", &described, "corpus %s: the status file says state=%s reason=%s", c->name, state ? state : "(none)",
                         sreason ? sreason : "(none)");
        }
    }
    if (reason && uses_log) {
        g_autofree char *log = NULL;
        if (!g_file_get_contents(cp->log, &log, NULL, NULL) || !strstr(log, "entering Design Safe State")) {
            S->st.other_failures++;
                        case_fail(S, c, "log", &described, "corpus %s: the log file does not record the DSS", c->name);
        }
    }
    /* what matters most: the door closed, whatever the rest said */
    DmaOutcome o = soak_dma_write(S, "edu0", dst, 256, -1, NULL);
    if (o != DMA_BLOCKED && o != DMA_ERROR) {
        S->st.dma_open++;
                case_fail(S, c, "DMA left open", &described, "DMA left open after corpus %s (%s): edu0's write reached RAM; the reason was '%s'", c->name,
                     started ? "started, then stopped with SIGTERM" : "refused", reason ? reason : "(none)");
    }
    if (described) repro_case(S, c, argv, env);
done:
    soak_proc_free(&p);
out:
    g_free(reason);
    g_strfreev(env);
    g_ptr_array_free(av, TRUE);
}

/* ---- mutants -------------------------------------------------------------------------------------- */

static const char *const boundary_words[] = { "0", "0x", "0d", "K", "ffffffffffffffff", "10000000000000000", "-1",
                                              "4096G", "0x0", "18446744073709551615", "use", "smmu", "device",
                                              "@", "pci:0:4.0", "mem:0", "x", "0,0", "1,18446744073709551615" };

/* 1 to 3 mutations of the base, on bytes (a control byte now and then)
 * and on lines (deleted, duplicated, swapped, cut, a word replaced by a
 * boundary value or a keyword, an include of something unreadable). */
static GByteArray *mutate(SoakRng *r, const char *base, const char *self)
{
    GByteArray *b = g_byte_array_new();
    g_byte_array_append(b, (const guint8 *)base, (guint)strlen(base));
    for (unsigned k = 1 + (unsigned)rng_below(r, 3); k; k--) {
        g_autofree char *text = g_strndup((const char *)b->data, b->len);
        g_auto(GStrv) ln = g_strsplit(text, "\n", -1);
        unsigned n = g_strv_length(ln);
        unsigned at = n ? (unsigned)rng_below(r, n) : 0;
        GString *out = g_string_new(NULL);
        unsigned how = (unsigned)rng_below(r, 10);
        if (how <= 2 && b->len) { /* bytes: replaced, deleted, inserted */
            size_t pos = rng_below(r, b->len);
            uint8_t byte = rng_pct(r, 25) ? (uint8_t)rng_below(r, 0x20) : (uint8_t)(0x21 + rng_below(r, 0x5e));
            if (how == 0) b->data[pos] = byte;
            else if (how == 1) g_byte_array_remove_index(b, (guint)pos);
            else {
                g_byte_array_set_size(b, b->len + 1);
                memmove(b->data + pos + 1, b->data + pos, b->len - 1 - pos);
                b->data[pos] = byte;
            }
            g_string_free(out, TRUE);
            continue;
        }
        for (unsigned i = 0; i < n; i++) {
            const char *l = ln[i];
            if (i == at) {
                switch (how) {
                case 3: continue; /* a line deleted */
                case 4: g_string_append_printf(out, "%s\n", l); break; /* duplicated */
                case 5: { /* a word replaced by a boundary value or a keyword */
                    g_auto(GStrv) w = g_strsplit(l, " ", -1);
                    unsigned nw = g_strv_length(w);
                    if (nw) {
                        unsigned wi = (unsigned)rng_below(r, nw);
                        g_free(w[wi]);
                        w[wi] = g_strdup(boundary_words[rng_below(r, G_N_ELEMENTS(boundary_words))]);
                    }
                    g_autofree char *j = g_strjoinv(" ", w);
                    g_string_append_printf(out, "%s%s", j, i + 1 < n ? "\n" : "");
                    continue;
                }
                case 6: { /* swapped with the next line: references only look backwards */
                    if (i + 1 < n) {
                        g_string_append_printf(out, "%s\n%s%s", ln[i + 1], l, i + 2 < n ? "\n" : "");
                        i++;
                        continue;
                    }
                    break;
                }
                case 7: { /* an include: itself (a loop), a FIFO, a directory, a good file */
                    static const char *const inc[] = { NULL, "@fifo.smmu", "@dir.smmu", "@inc-good.smmu", "@big.smmu",
                                                       "@missing.smmu" };
                    unsigned k2 = (unsigned)rng_below(r, G_N_ELEMENTS(inc));
                    if (k2 == 0) g_string_append_printf(out, "@%s\n", self);
                    else g_string_append_printf(out, "%s\n", inc[k2]);
                    break;
                }
                case 8: /* cut off here */
                    g_string_append_len(out, l, (gssize)rng_below(r, strlen(l) + 1));
                    i = n;
                    continue;
                default: { /* a line too long */
                    GString *x = g_string_new("# ");
                    while (x->len < 4097) g_string_append_c(x, 'x');
                    g_string_append_printf(out, "%s\n", x->str);
                    g_string_free(x, TRUE);
                    break;
                }
                }
            }
            g_string_append(out, l);
            if (i + 1 < n) g_string_append_c(out, '\n');
        }
        g_byte_array_set_size(b, 0);
        g_byte_array_append(b, (const guint8 *)out->str, (guint)out->len);
        g_string_free(out, TRUE);
    }
    return b;
}

void soak_part_corpus(Soak *S)
{
    Corpus cp = { 0 };
    char *base_path = NULL, *base = NULL;
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    if (!corpus_prepare(S, &cp, names) || names->len == 0) {
        harness_error_text(S, g_strdup_printf("the corpus %s could not be prepared", S->corpus_dir));
        goto out;
    }
    const unsigned before = S->st.dma_open;
    soak_note(S, "part 1: %u corpus files, then mutants of mutant-base.in", names->len);
    for (guint i = 0; i < names->len && !S->st.harness_error; i++) {
        Case c = { 0 };
        c.name = g_strdup(g_ptr_array_index(names, i));
        c.path = g_build_filename(cp.dir, c.name, NULL);
        if (!g_file_get_contents(c.path, &c.text, NULL, NULL)) {
            case_free(&c);
            continue;
        }
        /* comments may hold any byte: directives are read from the text as a C string */
        c.kind = directive(c.text, "kind");
        if (c.kind && strcmp(c.kind, S->kind) != 0) {
            case_free(&c);
            continue;
        }
        c.expect = directive(c.text, "expect");
        c.reason = directive(c.text, "reason");
        if (!c.reason) c.reason = g_strdup(BAD_CONFIG);
        c.args = directive(c.text, "args");
        if (!c.args) c.args = g_strconcat("@", c.path, NULL);
        g_autofree char *env = directive(c.text, "env");
        c.env_platform = env && strstr(env, "platform");
        c.env_status = env && strstr(env, "status");
        run_case(S, &cp, &c);
        case_free(&c);
    }
    /* mutants: the base must start (else every mutant only tests line 1) */
    base_path = g_build_filename(cp.dir, "mutant-base.in", NULL);
    if (!g_file_get_contents(base_path, &base, NULL, NULL)) {
        soak_note(S, "part 1: no mutant-base.in: no mutants");
        goto out;
    }
    const unsigned n_mutants = (unsigned)(S->seconds * 4); /* a mutant costs ~20 ms; more is cheap */
    for (unsigned i = 0; i <= n_mutants && !S->st.harness_error; i++) {
        SoakRng r = rng_for(S->seed, S->board_name, 1000000 + i);
        Case c = { 0 };
        c.name = g_strdup_printf("mutant-%03u.smmu", i);
        c.path = g_build_filename(cp.dir, c.name, NULL);
        GByteArray *b = i == 0 ? NULL : mutate(&r, base, c.name);
        c.text = b ? g_strndup((const char *)b->data, b->len) : g_strdup(base);
        bool ok = g_file_set_contents(c.path, b ? (const char *)b->data : base, b ? (gssize)b->len : -1, NULL);
        if (b) g_byte_array_unref(b);
        if (!ok) {
            case_free(&c);
            break;
        }
        c.mutant = true;
        c.may_start = true;
        c.env_platform = true; /* the door always has the board, whatever the mutant did to its platform line */
        c.args = g_strdup_printf("@%s status-file %s log-file %s", c.path, cp.status, cp.log);
        c.must_start = i == 0; /* the unmutated base */
        run_case(S, &cp, &c);
        unlink(c.path);
        case_free(&c);
    }
    soak_note(S, "part 1: %llu corpus cases and %llu mutants run, DMA left open after %u",
              (unsigned long long)S->st.corpus_cases, (unsigned long long)S->st.mutants, S->st.dma_open - before);
out:
    g_free(base_path);
    g_free(base);
    for (unsigned i = 0; i < cp.n; i++) g_free(cp.vars[i].value);
    g_free(cp.dir);
    g_free(cp.status);
    g_free(cp.log);
}
