/* What report.c (the records) does for the reports' other files, and for
 * nothing else (not installed): a NULL array's length, the status word,
 * a record's words. report.h is the reports' interface. */
#ifndef TB_REPORT_INTERNAL_H
#define TB_REPORT_INTERNAL_H

#include <glib.h>
#include <stdbool.h>

#include "report.h"

guint rp_len_of(const GArray *a); /* NULL: 0 */
const char *rp_status_word(ReportStatus st);
ReportStatus rp_status_of(const ReportScenario *s); /* out of range: RS_FAIL */
bool rp_unexpected(const ReportDma *d);
void rp_dma_text(GString *t, const ReportDma *d);
void rp_fault_text(GString *t, const ReportFault *f);

#endif
