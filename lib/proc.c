/*
 * proc.c: starting programs without a shell, feeding them, collecting
 * their output, and stopping them (and everything they started) on a
 * timeout or a signal.  Every child that runs a user's command gets its
 * own process group so that one kill(-pgid) reaches the whole tree.
 *
 * It also holds the one stop flag of a program and the one place its
 * handlers are installed: a signal only sets wf_stop, and the long waits
 * (a child here, an HTTP transfer, a question at the terminal) watch it.
 *
 * Layer 0: base.
 * It calls only util.c.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wf_priv.h"

void (*wf_spawn_group_hook)(pid_t pgid);

volatile int wf_stop;

static void
on_stop_signal(int sig)
{
	wf_stop = sig;
}

void
wf_catch_signals(int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (flags & WF_CATCH_HUP)
		sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int
wf_spawn(char *const argv[], char *const envp[], const char *cwd, int flags,
	 const int (*fdmap)[2], struct wf_child *c)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 }, ex[2];
	int saved;
	pid_t pid, parent = getpid();

	c->pid = -1;
	c->in = c->out = c->err = -1;
	if (((flags & WF_SPAWN_IN) && pipe2(in, O_CLOEXEC) < 0) ||
	    ((flags & WF_SPAWN_OUT) && pipe2(out, O_CLOEXEC) < 0) ||
	    ((flags & WF_SPAWN_ERR) && pipe2(err, O_CLOEXEC) < 0) ||
	    pipe2(ex, O_CLOEXEC) < 0)
		goto fail;
	pid = vfork();
	if (pid < 0)
		goto fail;
	if (pid == 0) {
		/* The child: wire up descriptors, then exec; report errno on ex[1]. */
		int e, tmp[8];

		/* Die with the parent; if it is already gone, do not start at all. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		/* Lift the mapped descriptors out of the way of the pipes first. */
		for (int i = 0; fdmap && fdmap[i][0] >= 0 && i < 8; i++)
			tmp[i] = fcntl(fdmap[i][0], F_DUPFD_CLOEXEC, 64);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGXFSZ, SIG_DFL);
		if (flags & WF_SPAWN_PGRP)
			setpgid(0, 0);
		if (flags & WF_SPAWN_IN)
			dup2(in[0], 0);
		else if (flags & WF_SPAWN_NULL_IN) {
			int nfd = open("/dev/null", O_RDONLY);

			if (nfd >= 0 && nfd != 0) {
				dup2(nfd, 0);
				close(nfd);
			}
		}
		if (flags & WF_SPAWN_OUT)
			dup2(out[1], 1);
		if (flags & WF_SPAWN_ERR)
			dup2(err[1], 2);
		for (int i = 0; fdmap && fdmap[i][0] >= 0 && i < 8; i++)
			if (tmp[i] >= 0)
				dup2(tmp[i], fdmap[i][1]);
		if (cwd && chdir(cwd) < 0)
			goto child_fail;
		if (envp)
			execve(argv[0], argv, envp);
		else
			execvp(argv[0], argv);
child_fail:
		e = errno;
		(void)!write(ex[1], &e, sizeof e);
		_exit(127);
	}
	close(ex[1]);
	{
		int e;
		ssize_t r;

		do
			r = read(ex[0], &e, sizeof e);
		while (r < 0 && errno == EINTR);
		close(ex[0]);
		if (r == sizeof e) {
			waitpid(pid, NULL, 0);
			errno = e;
			goto fail_quiet;
		}
	}
	if (flags & WF_SPAWN_PGRP) {
		setpgid(pid, pid);	/* also here, so a kill right away reaches the group */
		if (wf_spawn_group_hook)
			wf_spawn_group_hook(pid);
	}
	c->pid = pid;
	if (flags & WF_SPAWN_IN) {
		close(in[0]);
		c->in = in[1];
	}
	if (flags & WF_SPAWN_OUT) {
		close(out[1]);
		c->out = out[0];
	}
	if (flags & WF_SPAWN_ERR) {
		close(err[1]);
		c->err = err[0];
	}
	return 0;
fail:
	saved = errno;
	close(ex[0]);
	close(ex[1]);
	errno = saved;
fail_quiet:
	saved = errno;
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0) close(in[i]);
		if (out[i] >= 0) close(out[i]);
		if (err[i] >= 0) close(err[i]);
	}
	errno = saved;
	return -1;
}

char *
wf_find_program(const char *prog, const char *path)
{
	char *dirs, *save = NULL, *found = NULL;

	if (strchr(prog, '/'))
		return access(prog, X_OK) == 0 ? wf_xstrdup(prog) : NULL;
	dirs = wf_xstrdup(path);
	for (char *d = strtok_r(dirs, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
		char *p = wf_xasprintf("%s/%s", d, prog);

		if (access(p, X_OK) == 0)
			found = p;
		else
			free(p);
	}
	free(dirs);
	return found;
}

int
wf_wait(pid_t pid, int *status)
{
	pid_t r;

	do
		r = waitpid(pid, status, 0);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -1 : 0;
}

int
wf_exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

/* Send SIG to C's process group when it has one, else to the process. */
static void
kill_child(struct wf_child *c, int pgrp, int sig)
{
	if (pgrp)
		kill(-c->pid, sig);
	else
		kill(c->pid, sig);
}

int
wf_communicate(struct wf_child *c, const char *input, size_t inlen,
	       const struct wf_io_opts *o, int *status)
{
	struct pollfd pf[3];
	size_t written = 0;
	double start = wf_now_ms(), deadline = o && o->timeout_s > 0 ? start + o->timeout_s * 1000 : 0;
	double kill_at = 0, exited_at = 0;
	int pgrp = o && o->pgrp, stage = 0, done = 0, rc = 0;
	char buf[65536];

	if (c->in >= 0)
		fcntl(c->in, F_SETFL, O_NONBLOCK);
	if (c->in >= 0 && inlen == 0) {
		close(c->in);
		c->in = -1;
	}
	while (!done) {
		int nf = 0, timeout = 200, ws;
		double now = wf_now_ms();

		if (o && o->stop && *o->stop && stage == 0) {
			kill_child(c, pgrp, SIGTERM);
			stage = 1;
			kill_at = now + (o->grace_s > 0 ? o->grace_s : 2) * 1000;
			rc = WF_COMM_STOPPED;
		}
		if (deadline && now >= deadline && stage == 0) {
			kill_child(c, pgrp, SIGTERM);
			stage = 1;
			kill_at = now + (o->grace_s > 0 ? o->grace_s : 2) * 1000;
			rc = WF_COMM_TIMEOUT;
		}
		if (stage == 1 && now >= kill_at) {
			kill_child(c, pgrp, SIGKILL);
			stage = 2;
		}
		if (c->in >= 0) {
			pf[nf].fd = c->in;
			pf[nf++].events = POLLOUT;
		}
		if (c->out >= 0) {
			pf[nf].fd = c->out;
			pf[nf++].events = POLLIN;
		}
		if (c->err >= 0) {
			pf[nf].fd = c->err;
			pf[nf++].events = POLLIN;
		}
		if (exited_at) {
			/* The child is gone; give stray holders of the pipes a moment, then stop. */
			if (nf == 0 || now - exited_at > 100)
				break;
			timeout = 20;
		} else if (waitpid(c->pid, &ws, WNOHANG) == c->pid) {
			*status = ws;
			exited_at = now;
			if (pgrp && stage == 1)
				kill_child(c, pgrp, SIGKILL);
			continue;
		}
		if (nf == 0) {
			if (wf_wait(c->pid, &ws) == 0)
				*status = ws;
			exited_at = wf_now_ms();
			break;
		}
		if (poll(pf, (nfds_t)nf, timeout) < 0) {
			if (errno == EINTR)
				continue;
			rc = -1;
			break;
		}
		for (int i = 0; i < nf; i++) {
			if (!pf[i].revents)
				continue;
			if (pf[i].fd == c->in) {
				ssize_t w = write(c->in, input + written, inlen - written);

				if (w > 0)
					written += (size_t)w;
				if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == inlen ||
				    (pf[i].revents & (POLLERR | POLLHUP))) {
					close(c->in);
					c->in = -1;
				}
				continue;
			}
			ssize_t r = read(pf[i].fd, buf, sizeof buf);
			if (r > 0) {
				if (o && o->sink)
					o->sink(o->ctx, pf[i].fd == c->out ? 1 : 2, buf, (size_t)r);
			} else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
				close(pf[i].fd);
				if (pf[i].fd == c->out)
					c->out = -1;
				else
					c->err = -1;
			}
		}
	}
	if (!exited_at) {
		int ws;

		if (wf_wait(c->pid, &ws) == 0)
			*status = ws;
	}
	if (c->in >= 0) close(c->in);
	if (c->out >= 0) close(c->out);
	if (c->err >= 0) close(c->err);
	c->in = c->out = c->err = -1;
	return rc;
}

void
wf_sink_to_buf(void *ctx, int stream, const char *buf, size_t n)
{
	if (stream == 1)
		wf_buf_add(ctx, buf, n);
	else
		(void)wf_write_all(2, buf, n);
}

/* ---- process groups that may outlive the step that started them ---- */

/*
 * The fields of /proc/PID/stat after the command name: STATE gets field
 * 3, *PGRP field 5, *START field 22.  0, or -1 when PID is gone.
 */
static int
proc_stat(pid_t pid, char *state, pid_t *pgrp, unsigned long long *start)
{
	char path[64], buf[1024], *p;
	int fd, field = 3;
	ssize_t n;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strrchr(buf, ')');	/* the name may hold spaces and parentheses */
	if (!p)
		return -1;
	for (char *tok = strtok(p + 1, " "); tok; tok = strtok(NULL, " "), field++) {
		if (field == 3)
			*state = tok[0];
		else if (field == 5)
			*pgrp = (pid_t)strtol(tok, NULL, 10);
		else if (field == 22) {
			*start = strtoull(tok, NULL, 10);
			return 0;
		}
	}
	return -1;
}

unsigned long long
wf_proc_start(pid_t pid)
{
	char state;
	pid_t pgrp;
	unsigned long long start = 0;

	return proc_stat(pid, &state, &pgrp, &start) == 0 ? start : 0;
}

const char *
wf_boot_id(void)
{
	static char id[64];
	static int done;

	if (!done) {
		int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, id, sizeof id - 1) : -1;

		if (fd >= 0)
			close(fd);
		id[n > 0 ? n : 0] = '\0';
		id[strcspn(id, "\n")] = '\0';
		done = 1;
	}
	return id;
}

int
wf_pgroup_alive(pid_t pgid, unsigned long long start, const char *boot)
{
	DIR *dir;
	struct dirent *e;
	char state;
	pid_t pgrp;
	unsigned long long t;
	int alive = 0;

	if (pgid <= 1)
		return 0;
	if (boot && *boot && *wf_boot_id() && strcmp(boot, wf_boot_id()))
		return 0;
	if (kill(-pgid, 0) < 0 && errno == ESRCH)
		return 0;
	/* While the group lives its number is not reused; a new leader by that number is another group. */
	if (start && proc_stat(pgid, &state, &pgrp, &t) == 0 && (t != start || pgrp != pgid))
		return 0;
	dir = opendir("/proc");
	if (!dir)
		return 1;
	while (!alive && (e = readdir(dir))) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		if (proc_stat((pid_t)strtol(e->d_name, NULL, 10), &state, &pgrp, &t) == 0 && pgrp == pgid &&
		    state != 'Z' && state != 'X')
			alive = 1;
	}
	closedir(dir);
	return alive;
}

/* Wait up to SECS for group PGID to have no live member; 0 when it has none. */
static int
pgroup_wait(pid_t pgid, double secs)
{
	double until = wf_now_ms() + secs * 1000;

	while (wf_pgroup_alive(pgid, 0, NULL)) {
		if (wf_now_ms() >= until)
			return -1;
		usleep(20000);
	}
	return 0;
}

int
wf_pgroup_stop(pid_t pgid, double grace_s)
{
	if (pgid <= 1)
		return 0;
	kill(-pgid, SIGTERM);
	kill(-pgid, SIGCONT);
	if (pgroup_wait(pgid, grace_s) == 0)
		return 0;
	kill(-pgid, SIGKILL);
	return pgroup_wait(pgid, 5);
}
