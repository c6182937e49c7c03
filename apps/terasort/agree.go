package terasort

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/volley-run/volley/apps/terasort/records"
	"github.com/volley-run/volley/collectives"
)

// The ranks agree twice, on the splitters and on the verdict. Each time
// rank 0 gathers what every rank has, decides alone and broadcasts the
// outcome. Deciding everywhere (an all-gather, then every rank sorting
// every sample) costs O(N^2) work and memory over the group: with 1000
// ranks every rank sorted a million keys and the containers starved.

// maxErrText bounds an error text that rank 0 broadcasts.
const maxErrText = 1024

// gatherAtRoot brings every rank's data, of any length, to rank 0: the
// lengths first, then the data. It returns the pieces in rank order at
// rank 0 and nil elsewhere.
func gatherAtRoot(ctx context.Context, col *collectives.Collectives, data []byte) ([][]byte, error) {
	n, root := col.Size(), 0
	l := make([]byte, 8)
	binary.LittleEndian.PutUint64(l, uint64(len(data)))
	var lens []byte
	if col.Rank() == root {
		lens = make([]byte, 8*n)
	}
	if err := col.Gather(ctx, root, l, lens); err != nil {
		return nil, err
	}
	var recv [][]byte
	if col.Rank() == root {
		recv = make([][]byte, n)
		for i := range recv {
			recv[i] = make([]byte, binary.LittleEndian.Uint64(lens[8*i:]))
		}
	}
	if err := col.Gatherv(ctx, root, data, recv); err != nil {
		return nil, err
	}
	return recv, nil
}

// bcastOutcome gives every rank rank 0's outcome: payload (size bytes,
// which every rank passes) when decided is nil, else decided's text. Rank
// 0 gets decided itself back; the others an error with its text.
func bcastOutcome(ctx context.Context, col *collectives.Collectives, payload []byte, size int, decided error) ([]byte, error) {
	buf := make([]byte, 1+max(size, maxErrText))
	if col.Rank() == 0 {
		if decided != nil {
			buf[0] = 1
			copy(buf[1:], decided.Error())
		} else {
			copy(buf[1:], payload)
		}
	}
	if err := col.Bcast(ctx, 0, buf); err != nil {
		return nil, err
	}
	if buf[0] == 0 {
		return buf[1 : 1+size], nil
	}
	if col.Rank() == 0 {
		return nil, decided
	}
	return nil, errors.New(string(bytes.TrimRight(buf[1:], "\x00")))
}

// sampleMessage is what a rank sends rank 0 to pick the splitters: a 0
// and its sample keys, or a 1 and why it could not read its share.
func sampleMessage(keys []records.Key, loadErr error) []byte {
	if loadErr != nil {
		return append([]byte{1}, loadErr.Error()...)
	}
	msg := []byte{0}
	for _, k := range keys {
		msg = append(msg, k.Bytes()...)
	}
	return msg
}

// pickSplitters is rank 0's decision on the sample messages of all n
// ranks: the n-1 splitters, encoded, or the first rank's failure.
func pickSplitters(msgs [][]byte, n int) ([]byte, error) {
	var samples []records.Key
	for r, m := range msgs {
		if len(m) == 0 {
			return nil, fmt.Errorf("rank %d sent an empty sample message", r)
		}
		if m[0] != 0 {
			return nil, fmt.Errorf("rank %d failed: %s", r, m[1:])
		}
		for b := m[1:]; len(b) >= records.KeySize; b = b[records.KeySize:] {
			samples = append(samples, records.KeyOf(b))
		}
	}
	out := make([]byte, 0, (n-1)*records.KeySize)
	for _, k := range Splitters(samples, n) {
		out = append(out, k.Bytes()...)
	}
	return out, nil
}

// decodeKeys splits b into keys.
func decodeKeys(b []byte) []records.Key {
	keys := make([]records.Key, 0, len(b)/records.KeySize)
	for ; len(b) >= records.KeySize; b = b[records.KeySize:] {
		keys = append(keys, records.KeyOf(b))
	}
	return keys
}
