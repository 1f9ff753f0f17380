package gobridge

// submitPingTicket queues a Rust no-op on e and returns its C-ABI ticket (for WaitTicket).
func submitPingTicket(e *Executor) (uint64, error) {
	r := submitPing(e)
	return r.value, r.err
}
