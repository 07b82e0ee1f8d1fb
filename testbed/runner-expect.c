#include "runner-expect.h"

#include <string.h>

#include "expect-value.h"
#include "num.h"

/* The value of " KEY=" in a reply, up to the next space; NULL if absent. The
 * leading space keeps "reason=" from matching inside "reason-name=". */
static char *word_value(const char *line, const char *key)
{
    g_autofree char *needle = g_strdup_printf(" %s=", key);
    const char *p = strstr(line, needle);
    if (!p) return NULL;
    p += strlen(needle);
    return g_strndup(p, strcspn(p, " \t\r\n"));
}

const char *rn_fault_from(char **fields)
{
    for (unsigned i = 0; fields && fields[i]; i++)
        if (g_str_has_prefix(fields[i], "from=")) return fields[i] + 5;
    return NULL;
}

static const char *board_kind(Run *r) { return r->inv.n_units ? r->inv.units[0].kind : NULL; }

/* KEY=VALUE against what the reply says of KEY. what: "the record" or
 * "the counters", for the message. */
static bool check_one(Run *r, const char *reply, const char *field, const char *key, bool numeric, const char *what)
{
    const char *text = field + strlen(key) + 1;
    char alt[128];
    if (!ev_for_board(text, r->rep->board, board_kind(r), alt, sizeof alt))
        return rn_failf(r, "%s=%s says nothing for board %s (%s): add %s:VALUE or %s:VALUE", key, text, r->rep->board,
                        board_kind(r) ? board_kind(r) : "no IOMMU", r->rep->board, board_kind(r) ? board_kind(r) : "BOARD");
    g_autofree char *got = word_value(reply, key);
    uint64_t x = 0;
    bool ok = got && (numeric ? !tb_parse_u64(got, &x) && ev_num_matches(alt, x) : ev_name_matches(alt, got));
    if (!ok && got) return rn_failf(r, "expected %s=%s on %s, %s says %s=%s ('%s')", key, alt, r->rep->board, what, key, got, reply + 1);
    if (!ok) return rn_failf(r, "expected %s=%s on %s, %s gives no %s ('%s')", key, alt, r->rep->board, what, key, reply + 1);
    return true;
}

bool rn_check_fields(Run *r, const char *rec, char **fields)
{
    static const struct {
        const char *key;
        bool numeric;
    } keys[] = { { "repeat", true }, { "dropped", true }, { "reason", true }, { "reason-name", false } };
    g_autofree char *line = g_strconcat(" ", rec, NULL); /* " KEY=" matches the first word too */
    for (unsigned i = 0; fields && fields[i]; i++)
        for (unsigned k = 0; k < G_N_ELEMENTS(keys); k++) {
            size_t n = strlen(keys[k].key);
            if (strncmp(fields[i], keys[k].key, n) || fields[i][n] != '=') continue;
            if (!check_one(r, line, fields[i], keys[k].key, keys[k].numeric, "the record")) return false;
        }
    return true;
}

bool rn_step_counters(Run *r, char **w)
{
    bool named = !strchr(w[1], '=');
    Proc *p = named ? rn_client(r, w[1]) : r->monitor;
    if (!p) return rn_failf(r, named ? "expect-counters: no client '%s' was started" : "expect-counters: no monitor client%s",
                            named ? w[1] : " (the service started in DSS)");
    g_autofree char *reply = rn_ask(r, p, "counters");
    if (!reply) return rn_failf(r, "expect-counters: client %s is gone", p->name);
    if (!g_str_has_prefix(reply, "ok ")) return rn_failf(r, "expect-counters: client %s: '%s'", p->name, reply);
    g_autofree char *line = g_strdup(reply + 2); /* " seen=..." */
    rn_logf(r, "counters (client %s): %s", p->name, reply + 3);
    for (unsigned i = named ? 2 : 1; w[i]; i++) {
        g_autofree char *key = g_strndup(w[i], strcspn(w[i], "="));
        if (!check_one(r, line, w[i], key, true, "the counters")) return false;
    }
    return true;
}
