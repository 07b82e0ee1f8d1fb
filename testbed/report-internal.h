/* The reports' own, shared by report.c (records, JSON lines, JUnit, the
 * HTML page), report-map.c (the memory map) and report-abc.c (the
 * pass-through picture) and by nothing else (not installed). report.h is
 * the reports' interface. */
#ifndef TB_REPORT_INTERNAL_H
#define TB_REPORT_INTERNAL_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report.h"

/* report.c: records */
guint len_of(const GArray *a);
bool unexpected(const ReportDma *d);
void dma_text(GString *t, const ReportDma *d);
void fault_text(GString *t, const ReportFault *f);

/* report-map.c: the memory map and its legend */
void svg_map(GString *o, const ReportScenario *s, unsigned id, GString *notes);
void legend(GString *o);

/* report-abc.c */
void abc_section(GString *o, const ReportScenario *s, guint id);

#endif
