/*
 * outlog.h: the run's output log, steps/output.log (outlog.c), where
 * every step's standard output and error go as they are written, and
 * the one way to read a step execution's output back, from the log or
 * from the per-step files older runs have (steps/SEQ-ID.out, .err).
 * Layer 2: domain data.
 *
 * The log is a sequence of frames, each a header line "SEQ STREAM LEN"
 * (decimal; SEQ the execution's step-start event, STREAM "out" or "err")
 * and LEN bytes of output, masked.  Executions write one after another,
 * so a step's frames follow the point where its step-start says the log
 * stood ("log_at"); a frame cut short by a crash or a full disk ends
 * what is read.  See wf-json(7), "Files".
 */
#ifndef WF_OUTLOG_H
#define WF_OUTLOG_H

#include <sys/types.h>

struct wf_buf;

#define WF_OUTLOG_NAME "output.log"

/* Append one frame of execution SEQ's STREAM ("out", "err") to the log open on FD (O_APPEND): 0, or -1 with errno. */
int wf_outlog_append(int fd, long seq, const char *stream, const char *p, size_t n);

/* The size of the run's log (DIRFD the run directory), 0 when there is none. */
off_t wf_outlog_size(int dirfd);

/*
 * Execution SEQ's (of step ID) stream EXT ("out" or "err") from STEPSFD
 * (the run's steps/): its bytes from AT on, at most MAX of them, added to
 * OUT; the log is searched from LOG_AT (0 when unknown).  Returns the
 * stream's size so far, or -1 when the execution has no such output.
 */
off_t wf_step_output(int stepsfd, long seq, const char *id, const char *ext, off_t log_at, off_t at, size_t max,
		     struct wf_buf *out);

/* Which streams execution SEQ wrote to the log so far, from LOG_AT: 1 stdout, 2 stderr, 3 both. */
int wf_outlog_streams(int stepsfd, long seq, off_t log_at);

#endif
