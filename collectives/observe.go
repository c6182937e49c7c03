package collectives

import (
	"context"
	"time"
)

// Observer hears about every collective call made with a context that
// carries it (see WithObserver): which operation, when it started, how long
// it took, and its error. Calls rejected before they start (an unusable
// handle) are not reported. ObserveCollective runs on the calling
// goroutine, after the call's work, so it should be quick.
type Observer interface {
	ObserveCollective(op string, start time.Time, elapsed time.Duration, err error)
}

type observerKey struct{}

// WithObserver returns a context that carries o: every collective call
// made with it, or with a context derived from it, is reported to o. The
// group package uses it to time each rank's collectives without the app's
// help.
func WithObserver(ctx context.Context, o Observer) context.Context {
	return context.WithValue(ctx, observerKey{}, o)
}

func observerFrom(ctx context.Context) Observer {
	o, _ := ctx.Value(observerKey{}).(Observer)
	return o
}
