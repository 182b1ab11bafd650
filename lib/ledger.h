/*
 * ledger.h: the budget ledger that parallel branches share (ledger.c),
 * for the budget gate (gate.c).  Layer 4: driver.
 */
#ifndef WF_LEDGER_H
#define WF_LEDGER_H

struct driver;
struct wf_ledger;

/* Tokens and known dollars, and how many models of unknown price. */
struct wf_spend {
	double tokens, usd;
	int unknown;
};

/*
 * The ledger of the run D belongs to, opened and locked, when D runs in
 * a branch's process (a plain run has none: *OUT NULL, nothing opened).
 * 0, or -1 with ERR when it cannot be used (the call is then not made).
 */
int wf_ledger_open(struct driver *d, struct wf_ledger **out, char *err, size_t n);

/*
 * What the other branches of the same parallel step have spent and hold
 * reserved, from the open ledger L: a live branch's spending when it last
 * reserved plus that reservation; a dead branch's (ended, crashed, killed)
 * the larger of its journal's usage and that spending, its reservation
 * dropped.  Call it before wf_ledger_reserve, which keeps only the lines
 * that still count.
 */
void wf_ledger_others(struct wf_ledger *l, struct wf_spend *out);

/* Write this process's entry to the open ledger L: OWN spent so far, EST reserved for the call it is about to make.  0, or -1 with ERR. */
int wf_ledger_reserve(struct wf_ledger *l, const struct wf_spend *own, const struct wf_spend *est, char *err, size_t n);

/* Unlock and free L (NULL is fine). */
void wf_ledger_close(struct wf_ledger *l);

/* The driver of D's own process that began it: the branch's run (D itself for a plain run's top). */
struct driver *wf_ledger_process_root(struct driver *d);

#endif
