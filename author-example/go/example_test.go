//go:build gobridge_external

package tally_test

import (
	"context"
	"errors"
	"fmt"

	"example.com/tally"
	"github.com/gobridge-rs/gobridge/go-harness/gobridge"
)

// Words go to the tally's own thread; errors are gobridge's.
func Example() {
	t, err := tally.New()
	if err != nil {
		panic(err)
	}
	defer t.Close()
	n, _ := t.Add([]byte("to be or not to be"))
	be, _ := t.Count("be")
	_, err = t.Add([]byte{0xff})
	fmt.Println(n, be, errors.Is(err, gobridge.ErrInvalidArgument))
	// Output: 6 2 true
}

// A Rust function running on an executor Go created, and a long job cancelled by ctx.
func ExampleCrunch() {
	e, err := gobridge.NewExecutor("example")
	if err != nil {
		panic(err)
	}
	defer e.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	fmt.Println(tally.Crunch(context.Background(), e, 2), tally.Crunch(ctx, e, 1_000_000))
	// Output: <nil> context canceled
}
