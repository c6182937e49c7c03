package collectives

import (
	"encoding/binary"
	"fmt"
)

// A bundle carries several pieces of different lengths in one message, for
// the v-variants, where the receiver of an aggregated message does not know
// the lengths in advance: k little-endian uint64 lengths, then the pieces
// back to back. The number of pieces k is always known to the receiver.

const lenSize = 8

// bundleSize is the encoded size of pieces.
func bundleSize(pieces [][]byte) int {
	n := lenSize * len(pieces)
	for _, p := range pieces {
		n += len(p)
	}
	return n
}

// encodeBundle copies pieces into a new bundle.
func encodeBundle(pieces [][]byte) []byte {
	b := make([]byte, bundleSize(pieces))
	off := lenSize * len(pieces)
	for i, p := range pieces {
		binary.LittleEndian.PutUint64(b[i*lenSize:], uint64(len(p)))
		off += copy(b[off:], p)
	}
	return b
}

// decodeBundle splits a bundle of k pieces; the pieces alias b.
func decodeBundle(b []byte, k int) ([][]byte, error) {
	return bundlePieces(b, k, 0, k)
}

// bundlePieces returns pieces [from, to) of a bundle of k pieces, aliasing
// b, once the length table has been checked against all of b. A rank that
// needs a few pieces of a large bundle takes them without slicing out the
// others: with N ranks, decoding every piece of every bundle a rank sees
// is O(g*N) slices per rank.
func bundlePieces(b []byte, k, from, to int) ([][]byte, error) {
	if len(b) < k*lenSize {
		return nil, fmt.Errorf("bundle of %d pieces: only %d bytes: %w", k, len(b), ErrMismatch)
	}
	out := make([][]byte, 0, to-from)
	off := k * lenSize
	for i := range k {
		n := binary.LittleEndian.Uint64(b[i*lenSize:])
		if n > uint64(len(b)-off) {
			return nil, fmt.Errorf("bundle of %d pieces: piece %d overruns the %d bytes: %w", k, i, len(b), ErrMismatch)
		}
		if i >= from && i < to {
			out = append(out, b[off:off+int(n):off+int(n)])
		}
		off += int(n)
	}
	if off != len(b) {
		return nil, fmt.Errorf("bundle of %d pieces: %d bytes left over: %w", k, len(b)-off, ErrMismatch)
	}
	return out, nil
}
