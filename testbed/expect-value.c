#include "expect-value.h"

#include <stdio.h>
#include <string.h>

#include "num.h"

static bool name_ok(const char *s, size_t n)
{
    if (n == 0) return false;
    for (size_t i = 0; i < n; i++)
        if (!g_ascii_isalnum(s[i]) && s[i] != '_' && s[i] != '-') return false;
    return true;
}

/* "N" or "LO..HI" */
static bool range_of(const char *alt, uint64_t *lo, uint64_t *hi)
{
    const char *dots = strstr(alt, "..");
    if (!dots) {
        if (tb_parse_u64(alt, lo)) return false;
        *hi = *lo;
        return true;
    }
    g_autofree char *a = g_strndup(alt, (gsize)(dots - alt));
    return !tb_parse_u64(a, lo) && !tb_parse_u64(dots + 2, hi) && *lo <= *hi;
}

bool ev_valid(const char *text, bool numeric, char *why, size_t cap)
{
    if (!text || !*text) {
        snprintf(why, cap, "an empty value");
        return false;
    }
    g_auto(GStrv) alts = g_strsplit(text, ",", -1);
    for (unsigned i = 0; alts[i]; i++) {
        const char *a = alts[i], *colon = strchr(a, ':');
        if (colon && !name_ok(a, (size_t)(colon - a))) {
            snprintf(why, cap, "'%s': a board or IOMMU kind before ':' (q35-vtd:, vtd:, ...)", a);
            return false;
        }
        const char *v = colon ? colon + 1 : a;
        uint64_t lo, hi;
        if (numeric ? !range_of(v, &lo, &hi) : !name_ok(v, strlen(v))) {
            snprintf(why, cap, "'%s': expected %s", a, numeric ? "N or LO..HI (LO <= HI), optionally BOARD:" : "a name, optionally BOARD:");
            return false;
        }
    }
    return true;
}

bool ev_for_board(const char *text, const char *board, const char *kind, char *buf, size_t cap)
{
    g_auto(GStrv) alts = g_strsplit(text, ",", -1);
    for (unsigned i = 0; alts[i]; i++) {
        const char *a = alts[i], *colon = strchr(a, ':');
        if (colon) {
            size_t n = (size_t)(colon - a);
            bool mine = (board && strlen(board) == n && strncmp(a, board, n) == 0) ||
                        (kind && strlen(kind) == n && strncmp(a, kind, n) == 0);
            if (!mine) continue;
        }
        g_strlcpy(buf, colon ? colon + 1 : a, cap);
        return true;
    }
    return false;
}

bool ev_num_matches(const char *alt, uint64_t x)
{
    uint64_t lo, hi;
    return range_of(alt, &lo, &hi) && lo <= x && x <= hi;
}

bool ev_name_matches(const char *alt, const char *name) { return name && strcmp(alt, name) == 0; }
