/*
 * consent.c: what may run without asking.  The user's and the project's
 * configuration list auto-approve patterns; `wf trust` pins a workflow
 * file's content hash as approved.  The driver asks for everything else
 * that runs a command or changes something outside the run.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wf.h"

int
wf_action_sensitive(const char *action)
{
	static const char *const safe[] = { "ai-prompt", "switch-model", "load-variable", "set-variable",
					    "interactive", "loop", "conditional", NULL };

	for (int i = 0; safe[i]; i++)
		if (!strcmp(safe[i], action))
			return 0;
	return 1;
}

static char *
config_dir(void)
{
	const char *x = getenv("XDG_CONFIG_HOME"), *h = getenv("HOME");

	if (x && *x)
		return wf_xasprintf("%s/wf", x);
	return wf_xasprintf("%s/.config/wf", h && *h ? h : ".");
}

/* Append the auto-approve patterns of config FILE to *PATTERNS; -1 after a message in DIAG. */
static int
load_patterns(const char *file, jv *patterns, struct wf_diag *diag)
{
	struct wf_buf b = {0};
	jv doc, pos;
	int rc = 0;

	if (wf_read_file(file, WF_YAML_MAX_BYTES, &b) < 0) {
		wf_buf_free(&b);
		if (errno == ENOENT)
			return 0;
		wf_diag_add(diag, file, 0, 0, "cannot read: %s", strerror(errno));
		return -1;
	}
	if (wf_yaml_load(b.s, b.len, file, &doc, &pos, diag) < 0) {
		wf_buf_free(&b);
		jv_free(pos);
		return -1;
	}
	if (jv_get_kind(doc) == JV_KIND_OBJECT) {
		jv_object_foreach(doc, k, v) {
			if (!strcmp(jv_string_value(k), "auto-approve") && jv_get_kind(v) == JV_KIND_ARRAY) {
				jv_array_foreach(v, i, p) {
					(void)i;
					if (jv_get_kind(p) == JV_KIND_STRING)
						*patterns = jv_array_append(*patterns, p);
					else
						jv_free(p);
				}
			} else if (strcmp(jv_string_value(k), "auto-approve")) {
				wf_diag_add(diag, file, 1, 1, "unknown key '%s' (known: auto-approve)", jv_string_value(k));
				rc = -1;
			} else {
				wf_diag_add(diag, file, 1, 1, "'auto-approve' must be a list of patterns");
				rc = -1;
			}
			jv_free(k);
			jv_free(v);
		}
	} else if (jv_get_kind(doc) != JV_KIND_NULL) {
		wf_diag_add(diag, file, 1, 1, "expected a mapping with 'auto-approve'");
		rc = -1;
	}
	jv_free(doc);
	jv_free(pos);
	wf_buf_free(&b);
	return rc;
}

jv
wf_auto_approve_patterns(struct wf_diag *diag)
{
	char *dir = config_dir();
	char *user = wf_xasprintf("%s/config.yaml", dir);
	jv pats = jv_array();
	int bad = 0;

	bad |= load_patterns(user, &pats, diag) < 0;
	bad |= load_patterns(".wf/config.yaml", &pats, diag) < 0;
	free(user);
	free(dir);
	if (bad) {
		jv_free(pats);
		return jv_invalid();
	}
	return pats;
}

const char *
wf_auto_approved(jv patterns, const char *action, const char *command)
{
	char label[160];

	snprintf(label, sizeof label, "action:%s", action);
	jv_array_foreach(patterns, i, p) {
		const char *pat = jv_string_value(p);
		int hit = fnmatch(pat, label, 0) == 0 || (command && fnmatch(pat, command, 0) == 0);

		(void)i;
		if (hit) {
			/* The pattern string lives on in PATTERNS. */
			jv_free(p);
			jv kept = jv_array_get(jv_copy(patterns), i);
			const char *s = jv_string_value(kept);
			jv_free(kept);
			return s;
		}
		jv_free(p);
	}
	return NULL;
}

static char *
trust_file(void)
{
	char *dir = config_dir(), *p = wf_xasprintf("%s/trusted", dir);

	free(dir);
	return p;
}

int
wf_trusted(const char *hash)
{
	char *f = trust_file();
	struct wf_buf b = {0};
	int yes = 0;

	if (wf_read_file(f, (size_t)4 << 20, &b) == 0 && b.s) {
		size_t n = strlen(hash);

		for (char *l = b.s; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
			if (!strncmp(l, hash, n) && (l[n] == ' ' || l[n] == '\n' || !l[n]))
				yes = 1;
	}
	wf_buf_free(&b);
	free(f);
	return yes;
}

int
wf_trust_add(const char *hash, const char *path, char *err, size_t n)
{
	char *dir = config_dir(), *f = trust_file();
	struct wf_buf b = {0};
	int dfd, rc = 0;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		char *parent = wf_xstrdup(dir), *slash = strrchr(parent, '/');

		if (slash) {
			*slash = '\0';
			mkdir(parent, 0700);
		}
		free(parent);
		if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
			snprintf(err, n, "cannot create '%s': %s", dir, strerror(errno));
			free(dir);
			free(f);
			return WF_EXIT_IO;
		}
	}
	if (wf_read_file(f, (size_t)4 << 20, &b) < 0 && errno != ENOENT) {
		snprintf(err, n, "cannot read '%s': %s", f, strerror(errno));
		rc = WF_EXIT_IO;
	} else if (!wf_trusted(hash)) {
		wf_buf_printf(&b, "%s %s\n", hash, path);
		dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0 || wf_atomic_write(dfd, "trusted", b.s, b.len) < 0) {
			snprintf(err, n, "cannot write '%s': %s", f, strerror(errno));
			rc = WF_EXIT_IO;
		}
		if (dfd >= 0)
			close(dfd);
	}
	wf_buf_free(&b);
	free(dir);
	free(f);
	return rc;
}
