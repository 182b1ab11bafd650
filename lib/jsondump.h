/*
 * jsondump.h: compact JSON text of a jv, byte for byte what jq's
 * jv_dump_string(v, 0) prints, without its per-character appends
 * (jsondump.c).  Layer 0: base.
 */
#ifndef WF_JSONDUMP_H
#define WF_JSONDUMP_H

#include <stddef.h>

#include <jv.h>

/*
 * The compact text of V (borrowed) as a malloc'd NUL-terminated string
 * the caller owns, its length in *LEN when LEN is not NULL.
 */
char *wf_json_dump_len(jv v, size_t *len);

#endif
