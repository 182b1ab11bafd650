/*
 * outlog.c: the run's output log, steps/output.log (outlog.h): one file
 * for every step's output, so that a step creates no file of its own and
 * the journal's fdatasync after it commits no new directory entry, and
 * reading a step execution's output back from it, or from the per-step
 * files of runs made before it.
 *
 * Layer 2: domain data.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "wf_priv.h"
#include "outlog.h"

/* The longest header a reader accepts: two numbers and a stream name. */
#define HEADER_MAX 48

int
wf_outlog_append(int fd, long seq, const char *stream, const char *p, size_t n)
{
	char head[HEADER_MAX];
	int hl = snprintf(head, sizeof head, "%ld %s %zu\n", seq, stream, n);
	struct iovec iov[2] = { { head, (size_t)hl }, { (void *)p, n } };
	size_t want = (size_t)hl + n, done = 0;

	/* One write for the whole frame; a short one (a full disk) is finished or fails. */
	while (done < want) {
		ssize_t w;

		if (done >= (size_t)hl) {
			w = write(fd, p + (done - (size_t)hl), want - done);
		} else {
			iov[0].iov_base = head + done;
			iov[0].iov_len = (size_t)hl - done;
			w = writev(fd, iov, 2);
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = ENOSPC;
			return -1;
		}
		done += (size_t)w;
	}
	return 0;
}

off_t
wf_outlog_size(int dirfd)
{
	struct stat st;
	char path[64];

	snprintf(path, sizeof path, "steps/%s", WF_OUTLOG_NAME);
	return fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) ? st.st_size : 0;
}

/* The frame header at POS of FD: 1 with *SEQ, STREAM and *LEN and *DATA (where its bytes start), 0 at the end or a torn or bad header. */
static int
frame_at(int fd, off_t pos, long *seq, char stream[4], off_t *len, off_t *data)
{
	char h[HEADER_MAX + 1], *nl;
	ssize_t k = pread(fd, h, HEADER_MAX, pos);
	long long n;
	int used = 0;

	if (k <= 0)
		return 0;
	h[k] = '\0';
	if (!(nl = memchr(h, '\n', (size_t)k)))
		return 0;
	*nl = '\0';
	if (sscanf(h, "%ld %3[a-z] %lld%n", seq, stream, &n, &used) != 3 || used != nl - h || n < 0)
		return 0;
	*len = (off_t)n;
	*data = pos + (nl - h) + 1;
	return 1;
}

/* Add bytes [FROM, FROM+N) of FD to OUT: the count added. */
static size_t
copy_range(int fd, off_t from, size_t n, struct wf_buf *out)
{
	char buf[65536];
	size_t got = 0;

	while (got < n) {
		size_t want = n - got < sizeof buf ? n - got : sizeof buf;
		ssize_t k = pread(fd, buf, want, from + (off_t)got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		wf_buf_add(out, buf, (size_t)k);
		got += (size_t)k;
	}
	return got;
}

/* The old layout: the file steps/SEQ-ID.EXT, from AT on (at most MAX) into OUT: its size, or -1 when there is none. */
static off_t
from_file(int stepsfd, long seq, const char *id, const char *ext, off_t at, size_t max, struct wf_buf *out)
{
	char name[320];
	struct stat st;
	int fd;

	if (strchr(id, '/') || wf_step_file(name, sizeof name, seq, id, ext) < 0 ||
	    (fd = openat(stepsfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	if (st.st_size > at)
		(void)copy_range(fd, at, (size_t)(st.st_size - at) < max ? (size_t)(st.st_size - at) : max, out);
	close(fd);
	return st.st_size;
}

/*
 * Walk execution SEQ's frames in the log from LOG_AT: the size of stream
 * EXT (bytes from AT on, at most MAX, into OUT when OUT), and in *SEEN the
 * streams met (1 out, 2 err).  -1 when the log is not there.
 */
static off_t
from_log(int stepsfd, long seq, const char *ext, off_t log_at, off_t at, size_t max, struct wf_buf *out, int *seen)
{
	int fd = openat(stepsfd, WF_OUTLOG_NAME, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	off_t pos = log_at, size = 0, len, data;
	struct stat st;
	long fseq;
	char stream[4];

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	while (frame_at(fd, pos, &fseq, stream, &len, &data) && fseq <= seq) {
		if (data + len > st.st_size && fstat(fd, &st) == 0 && data + len > st.st_size)
			break;	/* cut short: what follows it is not a frame */
		if (fseq == seq) {
			*seen |= !strcmp(stream, "out") ? 1 : !strcmp(stream, "err") ? 2 : 0;
			if (!strcmp(stream, ext)) {
				/* The part of [size, size+len) at or after AT, within MAX. */
				if (out && size + len > at && max > 0) {
					off_t skip = at > size ? at - size : 0;
					size_t n = (size_t)(len - skip) < max ? (size_t)(len - skip) : max;

					max -= copy_range(fd, data + skip, n, out);
				}
				size += len;
			}
		}
		pos = data + len;
	}
	close(fd);
	return size;
}

off_t
wf_step_output(int stepsfd, long seq, const char *id, const char *ext, off_t log_at, off_t at, size_t max,
	       struct wf_buf *out)
{
	off_t size;
	int seen = 0;

	if (stepsfd < 0 || seq <= 0 || !id)
		return -1;
	if ((size = from_file(stepsfd, seq, id, ext, at, max, out)) >= 0)
		return size;
	if (strcmp(ext, "out") && strcmp(ext, "err"))
		return -1;	/* an answer is a file of its own (ai.c, ask.c) */
	size = from_log(stepsfd, seq, ext, log_at, at, max, out, &seen);
	return size >= 0 && (seen & (!strcmp(ext, "out") ? 1 : 2)) ? size : -1;
}

int
wf_outlog_streams(int stepsfd, long seq, off_t log_at)
{
	int seen = 0;

	if (stepsfd >= 0)
		(void)from_log(stepsfd, seq, "out", log_at, 0, 0, NULL, &seen);
	return seen;
}
