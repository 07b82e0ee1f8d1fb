/* Reply lines from a child process driven over pipes (smmu-client and the
 * like): the test bed's tools and tests all wait for them the same way. */
#ifndef TB_LINE_READER_H
#define TB_LINE_READER_H

#include <glib.h>
#include <stdbool.h>

/* The next line from fd (without its newline; caller frees), reading into
 * buf as needed, within timeout_ms. NULL on timeout (*timed_out true, when
 * given) or end of file. Bytes after the line stay in buf. */
char *tb_read_line(int fd, GString *buf, int timeout_ms, bool *timed_out);

#endif
