/* The reports' text (report-text.c), for the reports' files and nothing
 * else (not installed): escapes for XML and HTML, sizes and seconds as
 * people read them. It knows nothing of the records (report.h). */
#ifndef TB_REPORT_TEXT_H
#define TB_REPORT_TEXT_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Fixed-size char arrays in the records may be filled to the brim; "%.*s"
 * never reads past them. */
#define FX(a) (int)sizeof(a), (a)

const char *rp_str(const char *s); /* NULL as "" */
void rp_put_escn(GString *o, const char *s, gssize len, bool attr);
void rp_put_esc(GString *o, const char *s);
void rp_put_attr(GString *o, const char *s);
/* Seconds: a count that is not one (negative, NaN, absurd) is 0. */
double rp_clean_secs(double s);
void rp_put_secs(GString *o, double s, const char *fmt);
void rp_size_str(char *buf, size_t cap, uint64_t v, bool compact);

#endif
