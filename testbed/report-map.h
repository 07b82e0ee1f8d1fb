/* The HTML report's memory map (report-map.c), for the page
 * (report-files.c) and nothing else (not installed). */
#ifndef TB_REPORT_MAP_H
#define TB_REPORT_MAP_H

#include <glib.h>

#include "report.h"

/* The map of s as an <svg>; notes gets <li> items for what it could not
 * show as it is. id keeps its pattern ids apart from the other maps'. */
void rp_svg_map(GString *o, const ReportScenario *s, unsigned id, GString *notes);
/* The map's key, under each map. */
void rp_legend(GString *o);

#endif
