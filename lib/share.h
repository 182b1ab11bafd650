/*
 * share.h: sharing workflows (wf export, wf import; wf-create(1) "Export
 * and import", wf-json(7) "Bundle"): a workflow with the sub-workflows it
 * calls and its custom action programs as one JSON bundle, and a bundle
 * or a git repository of workflows unpacked into ./workflows.  share.c
 * makes and writes bundles, share_import.c checks and unpacks them.
 * Layer 2: domain data.
 */
#ifndef WF_SHARE_H
#define WF_SHARE_H

#include "wf.h"

/* The format member of every bundle this version writes and reads. */
#define WF_BUNDLE_FORMAT "wf-bundle/1"

/* A bundle file is at most this big, holds at most this many files, each at most WF_BUNDLE_MAX_FILE bytes. */
#define WF_BUNDLE_MAX_BYTES (32 << 20)
#define WF_BUNDLE_MAX_FILES 256
#define WF_BUNDLE_MAX_FILE (8 << 20)

/* ---- share.c: making a bundle ---- */

/*
 * The bundle of the workflow ARG (a name along the search path or a
 * path, as wf run takes it): the workflow, every sub-workflow it calls
 * (action: workflow, recursively, each once), and the wf-action-NAME
 * programs found in actions/ beside any of them; a program found only
 * on PATH, or a sub-workflow chosen at run time, is listed in
 * "requires".  NAMES_DIR (may be NULL) is looked in before the search
 * path for a sub-workflow called by name.  Every workflow must
 * validate.  Returns 0 with *BUNDLE (the caller owns it), or an exit
 * code (65, 66, 74) with every problem in DIAG.
 */
int wf_share_export(const char *arg, const char *names_dir, jv *bundle, struct wf_diag *diag);

/*
 * The bundle of every workflow in directory DIR (NAME.yaml, NAME.yml)
 * and every program in DIR/actions/ (wf-action-NAME), plain files only
 * (a link is refused), as workflows/... ; "workflow" names the one
 * workflow when there is only one.  0 with *BUNDLE (the caller owns
 * it), or an exit code (65, 66, 74) with problems in DIAG.
 */
int wf_share_collect(const char *dir, jv *bundle, struct wf_diag *diag);

/*
 * Write BUNDLE (borrowed) as one line of JSON to PATH, or to stdout for
 * "-".  A file that exists is replaced only with FORCE; it is written
 * whole or not at all.  0, or 2 (exists) or 74 with ERR.
 */
int wf_share_write(jv bundle, const char *path, int force, char *err, size_t n);

/*
 * Say on stderr what BUNDLE (borrowed) written to FILE holds, and each
 * thing it needs that it does not hold (a program only on PATH, a
 * sub-workflow chosen at run time).
 */
void wf_share_report(jv bundle, const char *file);

/* The Base64 text (standard alphabet, padded) of P[0..N); malloc'd. */
char *wf_share_base64(const unsigned char *p, size_t n);

/* ---- share_import.c: unpacking one ---- */

struct wf_share_import_opts {
	const char *source;	/* a bundle FILE, "-" (stdin), or GIT-URL[#NAME] */
	const char *as;		/* the new name of the main workflow, or NULL */
	int force;		/* replace files that exist */
};

/*
 * Is SOURCE a git repository to clone rather than a bundle file: not a
 * regular file and "-", but a directory, a URL (SCHEME://), an scp-like
 * HOST:PATH, or a name ending in .git (a #NAME suffix aside)?
 */
int wf_share_is_git(const char *source);

/*
 * Unpack O->source into ./workflows (wf-create(1)): every path and hash
 * is checked, no file is replaced without O->force, and every workflow
 * validates, all before anything is written.  Nothing written carries
 * trust (only files under workflows/ are ever written).  Returns 0 with
 * *WRITTEN (the caller owns it) [{path, kind, replaced}], or an exit
 * code (2 exists, 65 bad bundle or workflow, 66 not found, 69 git
 * failed, 74, 77 a link on the way) with every problem in DIAG.
 */
int wf_share_import(const struct wf_share_import_opts *o, jv *written, struct wf_diag *diag);

#endif
