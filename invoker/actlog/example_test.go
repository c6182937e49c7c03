package actlog_test

import (
	"context"
	"fmt"
	"time"

	"github.com/volley-run/volley/invoker/actlog"
)

func ExampleCollector() {
	c := actlog.New(actlog.Config{Limit: 10 << 20})
	t := time.Date(2024, 5, 1, 12, 0, 0, 5e8, time.UTC)
	// What a container prints: a line on each stream, then the sentinels
	// its runtime writes when the activation ends, then a line of the
	// next activation.
	c.Line(actlog.Stdout, t, "hello")
	c.Line(actlog.Stderr, t.Add(time.Millisecond), "level=WARN msg=\"activation failed\"")
	c.Line(actlog.Stdout, t.Add(2*time.Millisecond), actlog.Sentinel)
	c.Line(actlog.Stderr, t.Add(2*time.Millisecond), actlog.Sentinel)
	c.Line(actlog.Stdout, t.Add(time.Second), "next activation")

	lines, err := c.Collect(context.Background(), true)
	for _, l := range lines {
		fmt.Println(l)
	}
	fmt.Println(err)
	// Output:
	// 2024-05-01T12:00:00.5Z         stdout: hello
	// 2024-05-01T12:00:00.501Z       stderr: level=WARN msg="activation failed"
	// <nil>
}
