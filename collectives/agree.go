package collectives

import (
	"bytes"
	"context"
	"fmt"
)

// MaxAgreedErrorText bounds the error text AgreeError carries to the other
// ranks; a longer text is cut.
const MaxAgreedErrorText = 1024

// AgreeError gives every rank the same outcome of a step each rank did on
// its own (reading its input, say): nil when no rank's err is non-nil,
// else the error of the lowest failing rank, which gets its own err back
// while every other rank gets an error carrying its text ("rank 3: ...").
// So a job stops on every rank at once, each naming the cause, instead of
// the healthy ranks waiting for the one that gave up. Every rank must
// call it at the same point. It costs an AllReduce of one number, plus,
// on failure, a Bcast of the text.
func (c *Collectives) AgreeError(ctx context.Context, err error) error {
	n := c.Size()
	first := []int64{int64(n)} // the lowest failing rank, or n
	if err != nil {
		first[0] = int64(c.Rank())
	}
	if e := AllReduceT(ctx, c, first, Min[int64]); e != nil {
		if err != nil {
			return err
		}
		return fmt.Errorf("agree on errors: %w", e)
	}
	root := int(first[0])
	if root == n {
		return nil
	}
	text := make([]byte, MaxAgreedErrorText)
	if c.Rank() == root {
		copy(text, err.Error())
	}
	if e := c.Bcast(ctx, root, text); e != nil && c.Rank() != root {
		return fmt.Errorf("rank %d failed, and its error did not arrive: %w", root, e)
	}
	if c.Rank() == root {
		return err
	}
	return fmt.Errorf("rank %d: %s", root, bytes.TrimRight(text, "\x00"))
}
