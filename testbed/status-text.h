/* KEY=VALUE lines: the status files of the service, smmu-qvm and smmu-board
 * and the STATUS text of the wire protocol all say what they know this way
 * (docs/configuration.md, docs/vm-config.md, docs/protocol.md). */
#ifndef TB_STATUS_TEXT_H
#define TB_STATUS_TEXT_H

/* The value of the first line "key=VALUE" of text (caller frees), or NULL. */
char *status_text_value(const char *text, const char *key);
/* The same, of the file at path; NULL too when it cannot be read (not yet
 * written, or gone). */
char *status_file_value(const char *path, const char *key);

#endif
