/*
 * tty.c: questions to the person at the terminal.  Questions go to and
 * answers come from /dev/tty, never stdin or stdout, so they work with
 * both piped; a question gives up on end of input, a stop signal
 * (wf_stop) or its timeout, and never guesses an answer.  Checking an
 * answer against a pending question (one typed here or one given later
 * with --answer) lives here too, so both take the same words.
 *
 * Layer 1: formats and channels.
 * It calls only layer 0 (util.c, json.c, proc.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "wf_priv.h"

int
wf_tty_usable(void)
{
	int fd;

	if (!isatty(0))
		return 0;
	fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

char *
wf_tty_ask(const char *prompt, double timeout, int *timed_out)
{
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	struct wf_buf line = {0};
	double deadline = timeout > 0 ? wf_now_ms() + timeout * 1000 : 0;

	*timed_out = 0;
	if (fd < 0)
		return NULL;
	wf_write_all(fd, prompt, strlen(prompt));
	for (;;) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		int wait = -1, r;
		char c;

		if (deadline) {
			double left = deadline - wf_now_ms();

			if (left <= 0) {
				*timed_out = 1;
				wf_write_all(fd, "\n", 1);
				break;
			}
			wait = (int)left;
		}
		if (wf_stop)
			break;
		r = poll(&pf, 1, wait < 0 || wait > 200 ? 200 : wait);
		if (r < 0 && errno != EINTR)
			break;
		if (r <= 0)
			continue;
		ssize_t n = read(fd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (c == '\n' || c == '\r') {
			close(fd);
			return wf_buf_detach(&line);
		}
		wf_buf_addch(&line, c);
	}
	close(fd);
	wf_buf_free(&line);
	return NULL;
}

void
wf_tty_say(const char *line)
{
	int fd = open("/dev/tty", O_WRONLY | O_CLOEXEC | O_NOCTTY);

	if (fd >= 0) {
		char *msg = wf_xasprintf("%s\n", line);

		wf_write_all(fd, msg, strlen(msg));
		free(msg);
		close(fd);
	}
}

/* PENDING is borrowed; *VALUE is owned by the caller. */
int
wf_answer_check(jv pending, const char *answer, jv *value, char *err, size_t n)
{
	const char *kind = wf_jv_str(pending, "type");
	const char *what = wf_jv_str(pending, "kind");

	if (what && !strcmp(what, "consent")) {
		if (!strcasecmp(answer, "y") || !strcasecmp(answer, "yes"))
			*value = jv_string("yes");
		else if (!strcasecmp(answer, "n") || !strcasecmp(answer, "no"))
			*value = jv_string("no");
		else if (!strcasecmp(answer, "a") || !strcasecmp(answer, "always"))
			*value = jv_string("always");
		else {
			snprintf(err, n, "'%s' is not an answer to a consent question: use yes, no or always", answer);
			return -1;
		}
		return 0;
	}
	if (!kind || !strcmp(kind, "confirm")) {
		if (!strcasecmp(answer, "y") || !strcasecmp(answer, "yes") || !strcasecmp(answer, "true"))
			*value = jv_true();
		else if (!strcasecmp(answer, "n") || !strcasecmp(answer, "no") || !strcasecmp(answer, "false"))
			*value = jv_false();
		else {
			snprintf(err, n, "'%s' is not an answer to a yes/no question: use yes or no", answer);
			return -1;
		}
		return 0;
	}
	if (!strcmp(kind, "choice")) {
		jv opts = wf_jv_get(pending, "options");
		int found = 0, count = jv_get_kind(opts) == JV_KIND_ARRAY ? jv_array_length(jv_copy(opts)) : 0;
		long idx;
		struct wf_buf list = {0};

		for (int i = 0; i < count && !found; i++) {
			jv o = jv_array_get(jv_copy(opts), i);

			if (!strcmp(jv_string_value(o), answer)) {
				*value = jv_copy(o);
				found = 1;
			}
			wf_buf_printf(&list, "%s'%s'", i ? ", " : "", jv_string_value(o));
			jv_free(o);
		}
		if (!found && wf_parse_long(answer, 1, count, &idx) == 0) {
			*value = jv_array_get(jv_copy(opts), (int)idx - 1);
			found = 1;
		}
		if (!found)
			snprintf(err, n, "'%s' is not one of the options: %s", answer, list.s ? list.s : "");
		wf_buf_free(&list);
		jv_free(opts);
		return found ? 0 : -1;
	}
	*value = jv_string(answer);
	return 0;
}

int
wf_tty_columns(int fd)
{
	const char *env = getenv("COLUMNS");
	struct winsize ws;
	long n;

	if (env && wf_parse_long(env, 20, 10000, &n) == 0)
		return (int)n;
	if (isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
		return ws.ws_col;
	return 80;
}
