/* The HTML report's pass-through picture (report-abc.c), for the page
 * (report-files.c) and nothing else (not installed). */
#ifndef TB_REPORT_ABC_H
#define TB_REPORT_ABC_H

#include <glib.h>

#include "report.h"

/* For each engine passed through to a VM of s: a heading, its A, B and C
 * picture, the picture's key and notes. Nothing when s has none. */
void rp_abc_section(GString *o, const ReportScenario *s, guint id);

#endif
