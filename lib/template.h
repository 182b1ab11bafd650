/*
 * template.h: the templates wf create starts from, and the one writer of
 * new workflow files (template.c), for wf-create; with workflow.c's
 * lookups over a given list of directories, which template.c shares.
 * Layer 2: domain data.
 */
#ifndef WF_TEMPLATE_H
#define WF_TEMPLATE_H

#include "wf.h"

/* ---- workflow.c: finding and listing workflows in given directories ---- */

/* wf_workflow_find over DIRS (NULL-terminated, borrowed) instead of the search path. */
char *wf_workflow_find_in(const char *arg, char **dirs, int *code, char *err, size_t errlen);

/* wf_workflow_list over DIRS (NULL-terminated, borrowed); the caller owns the array. */
jv wf_workflow_list_in(char **dirs);

/* ---- template.c: templates ---- */

/*
 * Where templates are found: for each directory D of the workflow search
 * path, D itself when it is named templates (the shipped one), else
 * D/templates (./workflows/templates, ~/.config/wf/workflows/templates,
 * ...).  In order, NULL-terminated; free with wf_strv_free.
 */
char **wf_template_dirs(void);

/*
 * Every template, the first of each name in search order:
 * [{name, description, path, inputs: {NAME: {description, default?}},
 * error}] (a broken one has its first problem in error, inputs {}).
 * The caller owns the array.
 */
jv wf_template_list(void);

/* LIST (borrowed, as wf_template_list returns it) as a table for people on FP. */
void wf_template_print(FILE *fp, jv list);

/*
 * The path of template ARG (a path to a file, or a name looked up in
 * wf_template_dirs), malloc'd; or NULL with *CODE (66: none such, the
 * message names the templates there are) and a message in ERR.
 */
char *wf_template_find(const char *arg, int *code, char *err, size_t n);

/*
 * Template TEMPLATE (a name or a file) as the text of a new workflow:
 * its YAML edited in place, comments and layout kept, with name: set to
 * NEW_NAME and, for each member K of VARS (an object of texts, borrowed),
 * input K's default: set to its value, written as a double-quoted YAML
 * scalar.  The result is checked by wf_workflow_parse.  Returns 0 with
 * *TEXT (malloc'd, NUL-terminated) and *LEN; or an exit status with every
 * problem in DIAG: 66 no such template, 2 a member of VARS that names no
 * input (the message lists the inputs), 65 an invalid template or result,
 * 74 the template cannot be read.
 */
int wf_template_render(const char *template, const char *new_name, jv vars,
		       char **text, size_t *len, struct wf_diag *diag);

/*
 * Where wf create writes workflow NAME: "workflows/NAME.yaml" (malloc'd),
 * or NULL with a message in ERR when NAME is not a valid workflow name
 * (wf_name_valid: so it never leaves ./workflows).
 */
char *wf_create_target(const char *name, char *err, size_t n);

/*
 * Write a new workflow: TEXT (LEN bytes) is validated with
 * wf_workflow_parse as TARGET, then written to TARGET ("-": standard
 * output) atomically: a temporary file in TARGET's directory (made if
 * missing, with those above it), fsync, then a link that fails when TARGET exists,
 * or with FORCE a rename over it.  Returns 0; WF_EXIT_USAGE when TARGET
 * exists and FORCE is 0 (the message names it and --force);
 * WF_EXIT_DATA when TEXT does not validate (the first problem and how
 * many more); WF_EXIT_IO when it cannot be written.  The message is in
 * ERR.  Shared by every way wf create makes a workflow.
 */
int wf_create_save(const char *target, const char *text, size_t len, int force, char *err, size_t n);

/* As wf_create_save, without the validation: for a draft kept because it does not validate. */
int wf_create_write(const char *target, const char *text, size_t len, int force, char *err, size_t n);

/*
 * S as a double-quoted YAML scalar that reads back exactly: every
 * character that is not plain printable text escaped; malloc'd.  The one
 * quoter of every workflow file wf writes (wf create, the dialog, wf
 * migrate).
 */
char *wf_yaml_quoted(const char *s);

#endif
