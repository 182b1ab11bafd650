/*
 * util.c: the small things every command needs: messages and exits,
 * checked allocation, byte buffers, whole-file reads and atomic file
 * replacement, clocks, SHA-256, UTF-8 checks, name rules and collected
 * diagnostics.
 * Layer 0: base.
 * It calls nothing else in lib/ and knows nothing of workflows, runs or
 * JSON; it reports errors by return value and errno, never by exiting,
 * except wf_die (for mains) and the x-allocators (out of memory).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wf_priv.h"

const char *wf_progname = "wf";

void
wf_set_progname(const char *argv0)
{
	const char *s;

	if (!argv0 || !*argv0)
		return;
	s = strrchr(argv0, '/');
	wf_progname = s ? s + 1 : argv0;
}

void
wf_vwarn(const char *fmt, va_list ap)
{
	int saved = errno, len;
	size_t n = strlen(fmt);
	va_list aq;
	char *msg;

	/* One write for the whole line, so that processes sharing stderr (parallel branches) never mix lines. */
	va_copy(aq, ap);
	len = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	msg = malloc(len > 0 ? (size_t)len + 1 : 1);
	if (msg && len >= 0)
		vsnprintf(msg, (size_t)len + 1, fmt, ap);
	if (n > 0 && fmt[n - 1] == ':')
		fprintf(stderr, "%s: %s %s\n", wf_progname, msg ? msg : fmt, strerror(saved));
	else
		fprintf(stderr, "%s: %s\n", wf_progname, msg ? msg : fmt);
	free(msg);
	errno = saved;
}

void
wf_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	wf_vwarn(fmt, ap);
	va_end(ap);
}

void
wf_die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	wf_vwarn(fmt, ap);
	va_end(ap);
	exit(code);
}

static void
oom(void)
{
	static const char msg[] = "wf: out of memory\n";

	(void)!write(2, msg, sizeof msg - 1);
	_exit(WF_EXIT_SOFTWARE);
}

void *
wf_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom();
	return p;
}

void *
wf_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		oom();
	return p;
}

void *
wf_xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *
wf_xstrdup(const char *s)
{
	return wf_xstrndup(s, strlen(s));
}

char *
wf_xstrndup(const char *s, size_t n)
{
	char *p = wf_xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
wf_xasprintf(const char *fmt, ...)
{
	struct wf_buf b = {0};
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom();
	b.s = wf_xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(b.s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return b.s;
}

static void
buf_grow(struct wf_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;

	if (need < b->len)
		oom();
	if (need <= b->cap)
		return;
	if (b->cap < 64)
		b->cap = 64;
	while (b->cap < need)
		b->cap *= 2;
	b->s = wf_xrealloc(b->s, b->cap);
}

void
wf_buf_add(struct wf_buf *b, const void *p, size_t n)
{
	buf_grow(b, n);
	if (n)
		memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void
wf_buf_addstr(struct wf_buf *b, const char *s)
{
	wf_buf_add(b, s, strlen(s));
}

void
wf_buf_addch(struct wf_buf *b, char c)
{
	wf_buf_add(b, &c, 1);
}

void
wf_buf_printf(struct wf_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	buf_grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
wf_buf_reset(struct wf_buf *b)
{
	b->len = 0;
	if (b->s)
		b->s[0] = '\0';
}

void
wf_buf_free(struct wf_buf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

char *
wf_buf_detach(struct wf_buf *b)
{
	char *s = b->s ? b->s : wf_xstrdup("");

	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}

int
wf_read_fd(int fd, size_t max, struct wf_buf *out)
{
	char tmp[65536];
	ssize_t r;

	for (;;) {
		r = read(fd, tmp, sizeof tmp);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		if (out->len + (size_t)r > max) {
			errno = EFBIG;
			return -1;
		}
		wf_buf_add(out, tmp, (size_t)r);
	}
	if (!out->s)
		wf_buf_add(out, "", 0);
	return 0;
}

int
wf_read_file(const char *path, size_t max, struct wf_buf *out)
{
	int fd, rc, saved;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = wf_read_fd(fd, max, out);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

int
wf_write_all(int fd, const void *p, size_t n)
{
	const char *s = p;
	ssize_t w;

	while (n > 0) {
		w = write(fd, s, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * The temporary file is ".NAME.tmp.PID", so that a reader holding the
 * lock can tell one left by a writer that died (state.c removes those).
 */
int
wf_atomic_write(int dirfd, const char *name, const char *data, size_t len)
{
	char tmp[PATH_MAX];
	int fd, saved;

	snprintf(tmp, sizeof tmp, ".%s.tmp.%ld", name, (long)getpid());
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1;
	if (wf_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		saved = errno;
		close(fd);
		unlinkat(dirfd, tmp, 0);
		errno = saved;
		return -1;
	}
	if (close(fd) < 0 || renameat(dirfd, tmp, dirfd, name) < 0) {
		saved = errno;
		unlinkat(dirfd, tmp, 0);
		errno = saved;
		return -1;
	}
	return fsync(dirfd);
}

int
wf_fshut(FILE *fp, const char *name)
{
	int bad = fflush(fp) != 0 || ferror(fp);

	if (bad) {
		wf_warn("cannot write %s:", name);
		return -1;
	}
	return 0;
}

int
wf_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

void
wf_now_iso(char out[32])
{
	struct timespec ts;
	struct tm tm;

	char base[24];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, 32, "%.19s.%03dZ", base, (int)(ts.tv_nsec / 1000000) % 1000);
}

double
wf_iso_ms(const char *iso)
{
	struct tm tm;
	const char *rest;
	double ms = 0;

	memset(&tm, 0, sizeof tm);
	if (!iso || !(rest = strptime(iso, "%Y-%m-%dT%H:%M:%S", &tm)))
		return -1;
	if (*rest == '.') {
		double scale = 100;

		for (rest++; *rest >= '0' && *rest <= '9'; rest++, scale /= 10)
			ms += (*rest - '0') * scale;
	}
	if (*rest != 'Z' || rest[1])
		return -1;
	return (double)timegm(&tm) * 1000.0 + ms;
}

void
wf_local_time(const char *iso, char out[32])
{
	double ms = wf_iso_ms(iso);
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms < 0 || !localtime_r(&t, &tm) || !strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(out, 32, "-");
}

void
wf_human_ms(double ms, char out[24])
{
	long s = (long)(ms / 1000);

	if (ms < 0)
		snprintf(out, 24, "-");
	else if (s < 1)
		snprintf(out, 24, "<1s");
	else if (s < 60)
		snprintf(out, 24, "%lds", s);
	else if (s < 3600)
		snprintf(out, 24, "%ldm%02lds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(out, 24, "%ldh%02ldm", s / 3600, s % 3600 / 60);
	else
		snprintf(out, 24, "%ldd%02ldh", s / 86400, s % 86400 / 3600);
}

int
wf_parse_duration(const char *s, double *ms)
{
	static const struct { char unit; double ms; } units[] = {
		{ 's', 1e3 }, { 'm', 60e3 }, { 'h', 3600e3 }, { 'd', 86400e3 }, { 'w', 604800e3 }
	};
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0 || !*end || end[1] || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	for (size_t i = 0; i < sizeof units / sizeof *units; i++)
		if (*end == units[i].unit) {
			*ms = v * units[i].ms;
			return 0;
		}
	return -1;
}

double
wf_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* SHA-256 as specified in FIPS 180-4. */
static const uint32_t sha_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void
sha_block(uint32_t h[8], const unsigned char *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, hh, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (i = 16; i < 64; i++) {
		uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = h[0]; b = h[1]; c = h[2]; d = h[3];
	e = h[4]; f = h[5]; g = h[6]; hh = h[7];
	for (i = 0; i < 64; i++) {
		t1 = hh + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) +
		     sha_k[i] + w[i];
		t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		hh = g; g = f; f = e; e = d + t1;
		d = c; c = b; b = a; a = t1 + t2;
	}
	h[0] += a; h[1] += b; h[2] += c; h[3] += d;
	h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

void
wf_sha256_hex(const void *data, size_t n, char out[65])
{
	uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
			  0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	const unsigned char *p = data;
	unsigned char tail[128];
	size_t rest = n % 64, full = n - rest, tl;
	uint64_t bits = (uint64_t)n * 8;
	int i;

	for (size_t off = 0; off < full; off += 64)
		sha_block(h, p + off);
	memset(tail, 0, sizeof tail);
	if (rest)
		memcpy(tail, p + full, rest);
	tail[rest] = 0x80;
	tl = rest < 56 ? 64 : 128;
	for (i = 0; i < 8; i++)
		tail[tl - 1 - i] = (unsigned char)(bits >> (8 * i));
	sha_block(h, tail);
	if (tl == 128)
		sha_block(h, tail + 64);
	for (i = 0; i < 8; i++)
		snprintf(out + 8 * i, 9, "%08x", h[i]);
}

int
wf_utf8_valid(const char *str, size_t n, size_t *bad)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i];
		size_t len;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			len = 2; cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3; cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4; cp = c & 0x07;
		} else {
			goto fail;
		}
		if (i + len > n)
			goto fail;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				goto fail;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			goto fail;
		i += len;
	}
	return 1;
fail:
	if (bad)
		*bad = i;
	return 0;
}

int
wf_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	int *prev, *cur, *t, d;

	if (la > 64 || lb > 64)
		return 99;
	prev = wf_xcalloc(lb + 1, sizeof *prev);
	cur = wf_xcalloc(lb + 1, sizeof *cur);
	for (j = 0; j <= lb; j++)
		prev[j] = (int)j;
	for (i = 1; i <= la; i++) {
		cur[0] = (int)i;
		for (j = 1; j <= lb; j++) {
			int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			int del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		t = prev; prev = cur; cur = t;
	}
	d = prev[lb];
	free(prev);
	free(cur);
	return d;
}

int
wf_name_valid(const char *name)
{
	size_t n = 0;

	if (!name || !*name || name[0] == '.' || name[0] == '-')
		return 0;
	for (const char *p = name; *p; p++, n++) {
		char c = *p;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
		if (c == '.' && p[1] == '.')
			return 0;
	}
	return n <= 128;
}

void
wf_diag_add(struct wf_diag *d, const char *file, int line, int col,
	    const char *fmt, ...)
{
	struct wf_buf b = {0};
	va_list ap;
	int n;

	if (file && line > 0)
		wf_buf_printf(&b, "%s:%d:%d: ", file, line, col);
	else if (file)
		wf_buf_printf(&b, "%s: ", file);
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n > 0) {
		char *m = wf_xmalloc((size_t)n + 1);

		va_start(ap, fmt);
		vsnprintf(m, (size_t)n + 1, fmt, ap);
		va_end(ap);
		wf_buf_addstr(&b, m);
		free(m);
	}
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 8;
		d->msgs = wf_xrealloc(d->msgs, d->cap * sizeof *d->msgs);
	}
	d->msgs[d->n] = wf_buf_detach(&b);
	/* One printable line, whatever text from a file the message quotes. */
	for (unsigned char *p = (unsigned char *)d->msgs[d->n]; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = *p == '\n' || *p == '\t' || *p == '\r' ? ' ' : '?';
	d->n++;
}

void
wf_diag_print(const struct wf_diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		fprintf(stderr, "%s: %s\n", wf_progname, d->msgs[i]);
}

void
wf_diag_free(struct wf_diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->msgs[i]);
	free(d->msgs);
	d->msgs = NULL;
	d->n = d->cap = 0;
}

void
wf_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

/* Append S to B with every control character escaped (\n, \t, \e, \xNN, \u0080...): one printable line. */
void
wf_buf_add_visible(struct wf_buf *b, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
		if (*p == '\n')
			wf_buf_addstr(b, "\\n");
		else if (*p == '\t')
			wf_buf_addstr(b, "\\t");
		else if (*p == 0x1b)
			wf_buf_addstr(b, "\\e");
		else if (*p < 0x20 || *p == 0x7f)
			wf_buf_printf(b, "\\x%02x", *p);
		else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			wf_buf_printf(b, "\\u%04x", *++p);	/* a C1 control, as UTF-8 */
		else
			wf_buf_addch(b, (char)*p);
	}
}
