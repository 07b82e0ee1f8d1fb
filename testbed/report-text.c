/* The reports' text: escapes for XML and for the HTML page (its pictures
 * too), sizes and seconds as people read them. The ground floor of the
 * reports' files: it knows nothing of their records. */
#include "report-text.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

const char *rp_str(const char *s) { return s ? s : ""; }

/* Escapes for XML and for the HTML page alike (the page is kept well-formed
 * XML too, which is how the tests check its markup). Not
 * g_markup_escape_text(): it turns control characters into references such
 * as &#x1; that XML 1.0 forbids, and logs hold whatever a device printed.
 * Those, and invalid UTF-8, become U+FFFD. In attributes newlines and tabs
 * are references, or parsers would fold them into spaces. */
void rp_put_escn(GString *o, const char *s, gssize len, bool attr)
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

void rp_put_esc(GString *o, const char *s) { rp_put_escn(o, s, -1, false); }
void rp_put_attr(GString *o, const char *s) { rp_put_escn(o, s, -1, true); }

double rp_clean_secs(double s) { return s >= 0 && s < 1e12 ? s : 0; /* also NaN */ }

/* Not printf("%f"): a locale with a decimal comma would break the XML. */
void rp_put_secs(GString *o, double s, const char *fmt)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_string_append(o, g_ascii_formatd(buf, sizeof buf, fmt, rp_clean_secs(s)));
}

/* "4 KiB", "3824 B", "255.9 MiB"; compact: "4K", "1.7M", "464M" for tight
 * spots. Exact where it is cheap, rounded to a tenth otherwise. */
void rp_size_str(char *buf, size_t cap, uint64_t v, bool compact)
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
