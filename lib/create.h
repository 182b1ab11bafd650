/*
 * create.h: wf create's workflows drafted by a model from a description
 * (create.c) and built in a dialog at a terminal (create_dialog.c), for
 * wf-create.  Layer 2: domain data.
 */
#ifndef WF_CREATE_H
#define WF_CREATE_H

#include "wf_priv.h"

#define WF_CREATE_ATTEMPTS 3		/* --attempts by default */
#define WF_CREATE_ATTEMPTS_MAX 20

struct wf_create_opts {
	const char *name;	/* the new workflow's name (wf_name_valid) */
	const char *target;	/* the file to write, "-" for standard output */
	const char *describe;	/* what the workflow should do, for the model */
	const char *model;	/* the model to ask; NULL: the configured default */
	int attempts;		/* drafts the model may write, 1..WF_CREATE_ATTEMPTS_MAX */
	int force;		/* overwrite an existing target */
};

/*
 * Have a model draft workflow o->name from o->describe, validate every
 * draft with the validator of wf validate and send each error back for a
 * corrected whole file, at most o->attempts drafts; print the use and
 * cost of the calls on stderr as a run's end line does.  A valid draft is
 * written to o->target (the --force rule holds): 0.  Otherwise nothing is
 * written to the target: 65 with the last draft kept beside the target as
 * NAME.draft.yaml and its errors printed; wf-model's exit status when a
 * call failed (69, 75, 78, 1, 130); 2 refusing to overwrite; 74 I/O; each
 * with a message in ERR (empty when the errors were printed already).
 */
int wf_create_describe(const struct wf_create_opts *o, char *err, size_t n);

/*
 * Ask, at the terminal (wf_tty_usable), how to build workflow o->name:
 * from a template, from a description (wf_create_describe, with the model
 * picked from the configured ones) or step by step, each step's fields
 * asked by its action; preview, validate and write it to o->target.
 * 0 when written; 1 when the person chose not to save; 2 at the end of
 * input and 130 at an interrupt (nothing written then); else as
 * wf_create_describe, message in ERR.
 */
int wf_create_dialog(const struct wf_create_opts *o, char *err, size_t n);

#endif
