/* Strict number parsing shared by the board definitions, the agent protocol
 * and the tools. Every function rejects empty input, trailing garbage, signs
 * and overflow, and returns 0 or a negative errno (-EINVAL, -ERANGE). */
#ifndef TB_NUM_H
#define TB_NUM_H

#include <stddef.h>
#include <stdint.h>

/* "0x..." hexadecimal or plain decimal. */
int tb_parse_u64(const char *s, uint64_t *out);
/* Like tb_parse_u64, with an optional K/M/G suffix (any case, powers of 1024). */
int tb_parse_size(const char *s, uint64_t *out);
/* Hex bytes without prefix ("a5", "deadbeef"); even length, at most cap bytes. */
int tb_parse_hexbytes(const char *s, uint8_t *out, size_t cap, size_t *len);
/* PCI address "BB:DD.F" in hexadecimal, as lspci prints it: bus<<8 | dev<<3 | fn. */
int tb_parse_bdf(const char *s, unsigned *bdf);

#endif
