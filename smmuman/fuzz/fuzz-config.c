/* libFuzzer target: the configuration grammar (docs/configuration.md).
 *
 * Each input is parsed twice over, host and guest: as an @file (written into
 * a private directory that also holds a few files to include), and, split at
 * newlines and NULs, as command-line words (which the parser splits again at
 * blanks). Whatever the input, a parse either yields a configuration that
 * keeps every promise the service relies on, or is refused with a one-line
 * message that names where, and leaves nothing behind. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "../service/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static char *workdir; /* the harness's own files; made once per process */

static void remove_workdir(void)
{
    static const char *const files[] = { "in.conf", "a.conf", "loop.conf", "sub/b.conf", "sub" };
    for (unsigned i = 0; i < G_N_ELEMENTS(files); i++) {
        char *p = g_build_filename(workdir, files[i], NULL);
        if (remove(p) != 0) { /* best effort */ }
        g_free(p);
    }
    rmdir(workdir);
}

static void make_workdir(void)
{
    workdir = g_dir_make_tmp("fuzz-config-XXXXXX", NULL);
    CHECK(workdir);
    static const struct { const char *name, *text; } files[] = {
        { "a.conf", "allow inc 1000,4k,s\nunit incu fed90000\nsmmu vtd\n" },
        { "loop.conf", "debug 1\n@loop.conf\n" },
        { "sub/b.conf", "@../a.conf\ndevice pci:1:0.0 inc use incu 7\nreserved 0,1\n" },
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(files); i++) {
        char *p = g_build_filename(workdir, files[i].name, NULL);
        char *dir = g_path_get_dirname(p);
        CHECK(g_mkdir_with_parents(dir, 0700) == 0);
        CHECK(g_file_set_contents(p, files[i].text, -1, NULL));
        g_free(dir);
        g_free(p);
    }
    atexit(remove_workdir);
}

static void check_where(const CfgWhere *w)
{
    CHECK(w->file && w->file[0]);
    CHECK(w->line >= 1 && w->col >= 1);
}

static void check_range(uint64_t start, uint64_t len, unsigned perms)
{
    CHECK(len > 0 && len <= UINT64_MAX - start);
    CHECK(perms != 0 && (perms & ~(unsigned)(SMF_READ | SMF_WRITE)) == 0);
}

static const CfgUnit *unit_named(const SmmuConfig *c, const char *name)
{
    for (guint i = 0; i < c->units->len; i++) {
        const CfgUnit *u = g_ptr_array_index(c->units, i);
        if (strcmp(u->name, name) == 0) return u;
    }
    return NULL;
}

static const CfgAllow *allow_named(const SmmuConfig *c, const char *name)
{
    for (guint i = 0; i < c->allows->len; i++) {
        const CfgAllow *a = g_ptr_array_index(c->allows, i);
        if (strcmp(a->name, name) == 0) return a;
    }
    return NULL;
}

/* "TYPE:ARGUMENT" (docs/configuration.md, platform): TYPE 1..32 of
 * a-z, 0-9 and '-', naming a module; any such TYPE parses (the loader finds
 * out which exist), so board: is not the only one. */
static bool platform_like(const char *s)
{
    size_t t = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-");
    return t >= 1 && t <= 32 && s[t] == ':' && s[t + 1] != '\0';
}

static void check_success(const SmmuConfig *c, bool guest)
{
    CHECK(c->units && c->allows && c->devices && c->notices);
    CHECK(c->attach_socket && c->attach_socket[0] && c->target_socket && c->target_socket[0]);
    CHECK(!c->status_file || c->status_file[0]);
    CHECK(!c->log_file || c->log_file[0]);
    CHECK(!c->platform || platform_like(c->platform));
    CHECK(c->safety == CFG_SAFETY_NONE || c->safety == CFG_SAFETY_WARN ||
          c->safety == CFG_SAFETY_REQUIRED);
    CHECK(c->safety_given || c->safety == CFG_SAFETY_NONE);
    CHECK(c->debug <= 2);
    CHECK(c->target_mode <= 0777);
    CHECK(c->fault_poll_ms >= 1 && c->fault_poll_ms <= 60000);
    CHECK(c->scrub_ms >= 10 && c->scrub_ms <= 3600000);
    if (c->smmu_type) {
        check_where(&c->smmu_where);
        if (strcmp(c->smmu_type, "vtd") == 0)
            CHECK(!c->smmu_param || strcmp(c->smmu_param, "require") == 0 ||
                  strcmp(c->smmu_param, "ignore") == 0);
        else
            CHECK(strcmp(c->smmu_type, "smmuv3") == 0 && !c->smmu_param);
    } else {
        CHECK(!c->smmu_param && !c->smmu_where.file);
    }
    if (guest) CHECK(!c->smmu_type && c->units->len == 0);
    else CHECK(c->notices->len == 0);
    for (guint i = 0; i < c->notices->len; i++) {
        const char *n = g_ptr_array_index(c->notices, i);
        CHECK(n[0] && !strchr(n, '\n') && strstr(n, "ignored in a guest"));
        CHECK(g_str_has_prefix(n, "command line:word ") || g_str_has_prefix(n, workdir));
    }

    for (guint i = 0; i < c->units->len; i++) {
        const CfgUnit *u = g_ptr_array_index(c->units, i);
        CHECK(u->name[0] && unit_named(c, u->name) == u); /* names are unique */
        CHECK(u->evtq_irq >= -1 && u->gerror_irq >= -1);
        CHECK(u->gerror_irq == -1 || u->evtq_irq != -1);
        check_where(&u->where);
    }
    for (guint i = 0; i < c->allows->len; i++) {
        const CfgAllow *a = g_ptr_array_index(c->allows, i);
        CHECK(a->name[0] && allow_named(c, a->name) == a);
        check_range(a->start, a->len, a->perms);
        check_where(&a->where);
    }
    for (guint i = 0; i < c->devices->len; i++) {
        const CfgDevice *d = g_ptr_array_index(c->devices, i);
        check_where(&d->where);
        if (d->id.type == SDT_PCI) {
            CHECK(d->id.pci.bus <= 255 && d->id.pci.dev <= 31 && d->id.pci.func <= 7);
        } else {
            CHECK(d->id.type == SDT_MMIO);
            CHECK(d->id.mmio.length == 0 || d->id.mmio.length <= UINT64_MAX - d->id.mmio.phys);
        }
        for (guint k = 0; k < i; k++) {
            const CfgDevice *e = g_ptr_array_index(c->devices, k);
            CHECK(e->id.type != d->id.type ||
                  (d->id.type == SDT_PCI ? memcmp(&e->id.pci, &d->id.pci, sizeof d->id.pci) != 0
                                         : e->id.mmio.phys != d->id.mmio.phys));
        }
        for (guint k = 0; k < d->allow->len; k++) {
            const char *name = g_ptr_array_index(d->allow, k);
            const CfgAllow *a = allow_named(c, name);
            CHECK(a);
            /* defined earlier: in one file, on an earlier line; on the
             * command line, in this word or an earlier one */
            if (strcmp(a->where.file, d->where.file) == 0) {
                if (strcmp(a->where.file, "command line") == 0)
                    CHECK(a->where.line <= d->where.line);
                else
                    CHECK(a->where.line < d->where.line);
            }
            for (guint m = 0; m < k; m++) CHECK(strcmp(g_ptr_array_index(d->allow, m), name) != 0);
        }
        if (d->use_unit) CHECK(!guest && unit_named(c, d->use_unit));
        else CHECK(!d->has_use_param);
        if (guest) CHECK(d->reserved->len == 0);
        for (guint k = 0; k < d->reserved->len; k++) {
            const CfgReserved *r = &g_array_index(d->reserved, CfgReserved, k);
            check_range(r->start, r->len, r->perms);
            check_where(&r->where);
        }
    }
}

static void check_failure(int rc, const GError *err, const SmmuConfig *c)
{
    SmmuConfig zero;
    memset(&zero, 0, sizeof zero);
    CHECK(memcmp(c, &zero, sizeof zero) == 0); /* nothing half-built survives */
    CHECK(rc == -EINVAL || rc == -ENOENT || rc == -ELOOP);
    CHECK(err && err->code == -rc);
    const char *m = err->message;
    CHECK(m && m[0]);
    for (const char *p = m; *p; p++) CHECK((unsigned char)*p >= 0x20 && *p != 0x7f); /* one line */
    /* it names a location: a command-line word or a file of ours, line, column */
    if (g_str_has_prefix(m, "command line:word ")) {
        CHECK(g_ascii_isdigit(m[strlen("command line:word ")]));
    } else {
        CHECK(g_str_has_prefix(m, workdir));
        const char *p = m + strlen(workdir);
        p = strchr(p, ':');
        CHECK(p && g_ascii_isdigit(p[1]));
        p = strchr(p + 1, ':');
        CHECK(p && g_ascii_isdigit(p[1]));
    }
}

static void run(int argc, char **argv, bool guest)
{
    SmmuConfig c;
    GError *err = NULL;
    int rc = smmu_config_parse(argc, argv, guest, &c, &err);
    if (rc == 0) {
        CHECK(!err);
        check_success(&c, guest);
        smmu_config_clear(&c);
    } else {
        check_failure(rc, err, &c);
        g_error_free(err);
        if (!guest) {
            /* the DSS door's reading of the same input: whatever it finds,
             * only what the door needs, each unit named */
            smmu_config_salvage(argc, argv, &c);
            CHECK(c.devices && c.devices->len == 0 && c.allows->len == 0);
            for (guint i = 0; i < c.units->len; i++)
                CHECK(((CfgUnit *)g_ptr_array_index(c.units, i))->name[0]);
            smmu_config_clear(&c);
        }
    }
}

/* The number rules on their own, against a plain reading where one applies. */
static void check_numbers(const uint8_t *data, size_t size)
{
    char *s = g_strndup((const char *)data, size > 40 ? 40 : size);
    uint64_t a = 0, l = 0;
    int ra = cfg_parse_address(s, &a), rl = cfg_parse_length(s, &l);
    CHECK(ra == 0 || ra == -EINVAL || ra == -ERANGE);
    CHECK(rl == 0 || rl == -EINVAL || rl == -ERANGE);
    size_t n = strlen(s);
    bool hex = n > 0 && n <= 16, dec = n > 0 && n <= 19;
    for (size_t i = 0; i < n; i++) {
        hex = hex && g_ascii_isxdigit(s[i]);
        dec = dec && g_ascii_isdigit(s[i]);
    }
    if (hex && !(n >= 2 && s[0] == '0' && (s[1] == 'd' || s[1] == 'D')))
        CHECK(ra == 0 && a == g_ascii_strtoull(s, NULL, 16));
    if (dec) CHECK(rl == 0 && l == g_ascii_strtoull(s, NULL, 10));
    if (dec && n == 1) CHECK(a == l); /* one digit reads the same in both bases */
    g_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!workdir) make_workdir();
    check_numbers(data, size);

    /* As a file. Includes must stay among our own files: no absolute paths,
     * no way up (a FIFO or /dev/stdin elsewhere would hang the run). */
    if (!memmem(data, size, "@/", 2) && !memmem(data, size, "..", 2)) {
        char *path = g_build_filename(workdir, "in.conf", NULL);
        CHECK(g_file_set_contents(path, (const char *)data, (gssize)size, NULL));
        char *word = g_strconcat("@", path, NULL);
        char *argv[] = { word };
        run(1, argv, false);
        run(1, argv, true);
        g_free(word);
        g_free(path);
    }

    /* As command-line words; '@' is left out here: the file case covers it,
     * and relative paths would reach into the fuzzer's working directory. */
    if (!memchr(data, '@', size)) {
        GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
        size_t start = 0;
        for (size_t i = 0; i <= size; i++) {
            if (i == size || data[i] == '\n' || data[i] == '\0') {
                g_ptr_array_add(argv, g_strndup((const char *)data + start, i - start));
                start = i + 1;
            }
        }
        run((int)argv->len, (char **)argv->pdata, false);
        run((int)argv->len, (char **)argv->pdata, true);
        g_ptr_array_unref(argv);
    }
    return 0;
}
