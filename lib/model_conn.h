/*
 * model_conn.h: warm model connections (model_conn.c): one `wf-model
 * --serve` per process that makes model calls (wf-step, for a whole run),
 * the lines it reads and writes, and a provider's own CA file.
 * Layer 2: domain data.
 */
#ifndef WF_MODEL_CONN_H
#define WF_MODEL_CONN_H

#include "wf_priv.h"

/*
 * A provider's "ca_file: PATH" (V borrowed, a string) from models.yaml
 * file CFGFILE: a relative PATH is taken from that file's directory.  Sets
 * "ca_file" in *OUT (the caller's provider entry) to the path; -1 with ERR
 * filled when it cannot be read.
 */
int wf_model_ca_file(const char *cfgfile, jv v, jv *out, char *err, size_t errlen);

/*
 * Where one --serve request REQ (borrowed) wants its reply streamed:
 * its "stream_fd" member, none for "quiet": true, else $WF_STREAM_FD,
 * else standard error when it is a terminal; -1 for nowhere.  -2 with ERR
 * filled for a member that is not one, a descriptor that is not open, or
 * 0 or 1 (the request and result channel).
 */
int wf_model_serve_fd(jv req, char *err, size_t errlen);

/*
 * Make one chat call through this process's `wf-model --serve` child,
 * starting it on the first call (and again when the last one has died
 * between calls; a call it never got is sent to the new one).  CREQ
 * (consumed) is the chat request of wf-model(1) with the --serve members
 * "stream_fd" or "quiet".  SEQ is the run's execution number: the first
 * call of each new execution tells wf_spawn_group_hook of the server's
 * process group again, so that every step using it journals it.
 * Returns the result (the caller owns it), or an invalid jv with *CODE
 * and ERR: the provider's error, or, when the server died with the call
 * (which may have reached the provider), "wf-model exited with status N"
 * and N, never a second try.
 */
jv wf_model_warm_chat(jv creq, long seq, int *code, char *err, size_t errlen);

/*
 * wf-model --serve: read chat requests from stdin, one per line, and
 * print each result on a line of stdout (its exit_code in it when it
 * failed), until end of input or a signal; dies with its parent.  0.
 */
int wf_model_serve(void);

#endif
