/*
 * yaml_load.h: the workflow parser's fast path (yaml.c, workflow_check.c).
 * A workflow that is valid needs no positions, for positions only place
 * messages: wf_workflow_parse reads it without them first, and reads it
 * again with them only when there is something to report.
 * Layer 1: formats and channels.
 */
#ifndef WF_YAML_LOAD_H
#define WF_YAML_LOAD_H

#include "wf_priv.h"

/*
 * As wf_yaml_load, without recording a position for any node (so its
 * messages may lack a line or a "first at"): the same *OUT, the same
 * return and the same problems otherwise.  *OUT: the caller owns it.
 */
int wf_yaml_load_bare(const char *buf, size_t len, const char *file, jv *out, struct wf_diag *diag);

/*
 * As wf_workflow_parse, the same checks and messages, without the
 * "hash" member (the file's sha256), which only the canonical output
 * needs: for wf_workflow_validate.  The caller owns the result.
 */
jv wf_workflow_parse_unhashed(const char *buf, size_t len, const char *file, struct wf_diag *diag);

#endif
