// The C side of the Go-created executor thread prototype (gothread.c, gothread.go).
#ifndef PROBE_GOTHREAD_H
#define PROBE_GOTHREAD_H

// Request kinds, and what probe_gt_serve returns to its Go caller.
enum { GT_NATIVE = 1, GT_GO = 2, GT_STOP = 3 };

// The server: serves native jobs inside the call and returns the kind of the first request it
// cannot (GT_GO, or GT_STOP once the stop is acknowledged). go_job_finished reports that the
// GT_GO job it returned last time has finished.
int probe_gt_serve(int go_job_finished);

// Clears the mailbox; only while no server runs.
void probe_gt_reset(void);

// One request of this kind from the calling thread, spinning until it is done.
void probe_gt_call(int kind);

// A C thread that makes n requests of this kind one after another; returns once it has
// joined (0, or pthread_create's error).
int probe_gt_native_submitter(int n, int kind);

#endif
