/*
 * migrate.h: Codi's pipelines (codi-models.yaml) as workflows, for
 * wf migrate (wf-create --migrate; migrate.c).  Layer 2: domain data.
 */
#ifndef WF_MIGRATE_H
#define WF_MIGRATE_H

#include "wf_priv.h"

/* A Codi model map, read. */
struct wf_codi {
	char *file;	/* where it was found */
	jv doc;		/* the document */
	jv pos;		/* its position map (wf_yaml_load) */
};

/*
 * Read the Codi file FROM, or else the first of ./codi-models.yaml, the
 * project's codi-models.yaml and ~/.codi/models.yaml that exists (a
 * project's with ~/.codi/models.yaml's models and model-roles under its
 * own, as Codi reads them), and
 * check the shape of its pipelines: 0 with *CODI filled, or 66 (none
 * found), 74 or 65 with every problem in DIAG as FILE:LINE:COL.  Free
 * *CODI with wf_codi_free either way.
 */
int wf_codi_open(const char *from, struct wf_codi *codi, struct wf_diag *diag);
void wf_codi_free(struct wf_codi *codi);

/* CODI's pipelines, [{name, steps, description}] in file order; the caller owns the array. */
jv wf_codi_pipelines(const struct wf_codi *codi);

/*
 * Pipeline NAME of CODI as the text of a workflow (wf-create(1),
 * "Migrate"), validated as if read from TARGET (custom actions are
 * looked up beside it), its roles resolved for PROVIDER (NULL: the
 * pipeline's).  Malloc'd; NULL with *CODE 66 (no such pipeline) or 65
 * and the problems in DIAG.
 */
char *wf_codi_convert(const struct wf_codi *codi, const char *name, const char *provider,
		      const char *target, struct wf_diag *diag, int *code);

#endif
