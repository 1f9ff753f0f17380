package probe

/*
int probe_floor_start(void);
void probe_floor_call(void);
void probe_floor_stop(void);
*/
import "C"

import "errors"

//export probeGoNoop
func probeGoNoop() {}

// FloorStart starts the floor's C thread (see floor.c): one at a time per process.
func FloorStart() error {
	if C.probe_floor_start() != 0 {
		return errors.New("probe: pthread_create failed")
	}
	return nil
}

// FloorCall is one round trip: a cgo call that hands a request to the C thread, which calls a
// Go no-op as a cgo callback, and spins until it has returned. The baseline of Executor.Do.
func FloorCall() { C.probe_floor_call() }

// FloorStop stops and joins the floor's C thread.
func FloorStop() { C.probe_floor_stop() }
