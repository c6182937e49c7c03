package collectives

import (
	"encoding/binary"
	"fmt"
)

// A bundle carries several pieces of different lengths in one message, for
// the v-variants, where the receiver of an aggregated message does not know
// the lengths in advance: k little-endian uint64 end offsets (piece i ends
// at byte end[i] of the data), then the pieces back to back. The number of
// pieces k is always known to the receiver. Offsets rather than lengths
// let a rank take one piece of a bundle of N without reading the rest of
// the table.

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
	data := b[lenSize*len(pieces):]
	end := 0
	for i, p := range pieces {
		end += copy(data[end:], p)
		binary.LittleEndian.PutUint64(b[i*lenSize:], uint64(end))
	}
	return b
}

// decodeBundle splits a bundle of k pieces; the pieces alias b.
func decodeBundle(b []byte, k int) ([][]byte, error) {
	return bundlePieces(b, k, 0, k)
}

// bundlePieces returns pieces [from, to) of a bundle of k pieces, aliasing
// b, reading only their part of the offset table (and the last offset,
// which must end the data). A rank that needs one piece of each of its g
// pack mates' bundles of N pieces reads g offsets, not g*N.
func bundlePieces(b []byte, k, from, to int) ([][]byte, error) {
	if len(b) < k*lenSize {
		return nil, fmt.Errorf("bundle of %d pieces: only %d bytes: %w", k, len(b), ErrMismatch)
	}
	data := uint64(len(b) - k*lenSize)
	end := func(i int) uint64 {
		if i < 0 {
			return 0
		}
		return binary.LittleEndian.Uint64(b[i*lenSize:])
	}
	if last := end(k - 1); last != data {
		return nil, fmt.Errorf("bundle of %d pieces: the pieces end at byte %d of %d: %w", k, last, data, ErrMismatch)
	}
	out := make([][]byte, 0, to-from)
	start := end(from - 1)
	for i := from; i < to; i++ {
		e := end(i)
		if e < start || e > data {
			return nil, fmt.Errorf("bundle of %d pieces: piece %d spans bytes %d to %d of %d: %w", k, i, start, e, data, ErrMismatch)
		}
		lo, hi := k*lenSize+int(start), k*lenSize+int(e)
		out = append(out, b[lo:hi:hi])
		start = e
	}
	return out, nil
}
