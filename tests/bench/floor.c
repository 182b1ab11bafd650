/*
 * floor: the least a runner can do and still be durable after every
 * step, the baseline of tests/bench/30-run.sh.  For each line of
 * COMMANDS it runs the line as wf-step runs a shell step's command
 * (directly when it is an absolute program with plain words, else
 * /bin/sh -c LINE; in a process group of its own, stdin from /dev/null,
 * stdout and stderr captured through pipes), waits for it, then appends
 * one journal-sized line to JOURNAL and fdatasyncs it.
 *
 * usage: floor COMMANDS JOURNAL
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Read both pipes until both are closed; returns the bytes of stdout kept in OUT (at most OUTMAX). */
static size_t
drain(int out, int err, char *keep, size_t keepmax)
{
	struct pollfd pf[2] = { { out, POLLIN, 0 }, { err, POLLIN, 0 } };
	size_t kept = 0;
	int open = 2;

	while (open > 0) {
		char buf[65536];

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++) {
			ssize_t r;

			if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP)))
				continue;
			r = read(pf[i].fd, buf, sizeof buf);
			if (r <= 0) {
				close(pf[i].fd);
				pf[i].fd = -1;
				open--;
			} else if (i == 0 && kept < keepmax) {
				size_t n = (size_t)r < keepmax - kept ? (size_t)r : keepmax - kept;

				memcpy(keep + kept, buf, n);
				kept += n;
			}
		}
	}
	return kept;
}

/* Is CMD an absolute program with plain words, which wf-step runs without a shell? */
static int
plain(const char *cmd)
{
	if (cmd[0] != '/')
		return 0;
	for (const char *p = cmd; *p; p++)
		if (!(isalnum((unsigned char)*p) || strchr(" _./:,+@%-", *p)))
			return 0;
	{
		char prog[4096];
		size_t n = strcspn(cmd, " ");

		if (n >= sizeof prog)
			return 0;
		memcpy(prog, cmd, n);
		prog[n] = '\0';
		return access(prog, X_OK) == 0;
	}
}

/* Run CMD as a shell step; its exit status, or -1. */
static int
run(const char *cmd, char *keep, size_t keepmax, size_t *kept)
{
	int po[2], pe[2], st;
	pid_t pid;

	if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);

		setpgid(0, 0);
		dup2(nul, 0);
		dup2(po[1], 1);
		dup2(pe[1], 2);
		/* As wf-step: a plain absolute command runs directly, anything else through /bin/sh -c. */
		if (plain(cmd)) {
			char *copy = strdup(cmd), *argv[64], *save = NULL;
			int n = 0;

			for (char *w = strtok_r(copy, " ", &save); w && n < 63; w = strtok_r(NULL, " ", &save))
				argv[n++] = w;
			argv[n] = NULL;
			execv(argv[0], argv);
		}
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	close(po[1]);
	close(pe[1]);
	*kept = drain(po[0], pe[0], keep, keepmax);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int
main(int argc, char **argv)
{
	FILE *cmds;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long seq = 0;
	int j;

	if (argc != 3) {
		fprintf(stderr, "usage: floor COMMANDS JOURNAL\n");
		return 2;
	}
	cmds = fopen(argv[1], "r");
	j = open(argv[2], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (!cmds || j < 0) {
		perror("floor");
		return 74;
	}
	while ((len = getline(&line, &cap, cmds)) > 0) {
		char out[256], rec[1024];
		size_t kept = 0;
		int code, n;

		if (line[len - 1] == '\n')
			line[--len] = '\0';
		seq++;
		code = run(line, out, sizeof out - 1, &kept);
		while (kept && (out[kept - 1] == '\n'))
			kept--;
		out[kept] = '\0';
		/* About the size of wf's step-end event: the step, its status, its output. */
		n = snprintf(rec, sizeof rec,
			     "{\"seq\":%ld,\"time\":\"2026-01-01T00:00:00.000Z\",\"event\":\"step-end\",\"step\":\"s%ld\","
			     "\"action\":\"shell\",\"status\":\"%s\",\"exit_code\":%d,\"vars\":{},\"duration_ms\":1,"
			     "\"output\":\"%.100s\",\"stderr\":\"\",\"crc\":\"00000000\"}\n",
			     seq, seq, code == 0 ? "ok" : "failed", code, out);
		if (write(j, rec, (size_t)n) != n || fdatasync(j) < 0) {
			perror("floor: journal");
			return 74;
		}
	}
	free(line);
	return close(j) < 0 ? 74 : 0;
}
