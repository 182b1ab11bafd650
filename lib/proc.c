/*
 * proc.c: starting programs without a shell, feeding them, collecting
 * their output, and stopping them (and everything they started) on a
 * timeout or a signal.  Every child that runs a user's command gets its
 * own process group so that one kill(-pgid) reaches the whole tree.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wf.h"

int
wf_spawn(char *const argv[], char *const envp[], const char *cwd, int flags,
	 const int (*fdmap)[2], struct wf_child *c)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 }, ex[2];
	int saved;
	pid_t pid;

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

		/* Lift the mapped descriptors out of the way of the pipes first. */
		for (int i = 0; fdmap && fdmap[i][0] >= 0 && i < 8; i++)
			tmp[i] = fcntl(fdmap[i][0], F_DUPFD_CLOEXEC, 64);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
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
	if (flags & WF_SPAWN_PGRP)
		setpgid(pid, pid);	/* also here, so a kill right away reaches the group */
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
