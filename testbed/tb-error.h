/* The test bed's GError domain: codes are errno values, so that a caller can
 * both print the message and act on the cause. */
#ifndef TB_ERROR_H
#define TB_ERROR_H

#include <glib.h>

#define TB_ERROR tb_error_quark()
GQuark tb_error_quark(void);

#endif
