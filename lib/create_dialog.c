/*
 * create_dialog.c: wf create NAME at a terminal.
 *
 * Layer 2: domain data.
 */
#include "create.h"

int
wf_create_dialog(const struct wf_create_opts *o, char *err, size_t n)
{
	snprintf(err, n, "no dialog yet for '%s'", o->name);
	return WF_EXIT_USAGE;
}
