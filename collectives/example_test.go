package collectives_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/volley-run/volley/collectives"
)

// localComm is a tiny in-memory communicator for the example: n ranks, g
// per pack, one buffered channel per (src, dst, tag). In Volley the
// communicator comes from package comm.
type localComm struct {
	rank, n, g int
	mu         *sync.Mutex
	boxes      map[[3]int]chan []byte
}

func (c localComm) Rank() int         { return c.rank }
func (c localComm) Size() int         { return c.n }
func (c localComm) Pack(rank int) int { return rank / c.g }

func (c localComm) box(src, dst, tag int) chan []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := [3]int{src, dst, tag}
	if c.boxes[k] == nil {
		c.boxes[k] = make(chan []byte, 64)
	}
	return c.boxes[k]
}

func (c localComm) Send(ctx context.Context, dst, tag int, data []byte) error {
	select {
	case c.box(c.rank, dst, tag) <- data:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c localComm) Recv(ctx context.Context, src, tag int) ([]byte, error) {
	select {
	case b := <-c.box(src, c.rank, tag):
		return b, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Eight workers, four per container, sum a vector: every rank ends with
// the same result.
func ExampleAllReduceT() {
	const n, g = 8, 4
	mu, boxes := &sync.Mutex{}, map[[3]int]chan []byte{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	results := make([][]float64, n)
	var wg sync.WaitGroup
	for r := 0; r < n; r++ {
		wg.Add(1)
		go func() { // one goroutine per worker
			defer wg.Done()
			c := collectives.New(localComm{rank: r, n: n, g: g, mu: mu, boxes: boxes})
			v := []float64{float64(r), 1}
			if err := collectives.AllReduceT(ctx, c, v, collectives.Sum); err != nil {
				fmt.Println(err)
				return
			}
			results[r] = v
		}()
	}
	wg.Wait()
	fmt.Println(results[0], results[7])
	// Output: [28 8] [28 8]
}

// A byte-level reduction with a custom op, the byte-wise maximum.
func ExampleCollectives_AllReduce() {
	const n, g = 5, 2
	mu, boxes := &sync.Mutex{}, map[[3]int]chan []byte{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// keepMax keeps, byte by byte, the larger value; the op must leave its
	// result in dst, the lower ranks' operand.
	keepMax := func(dst, src []byte) error {
		for i := range dst {
			dst[i] = max(dst[i], src[i])
		}
		return nil
	}
	out := make([]string, n)
	var wg sync.WaitGroup
	for r := 0; r < n; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := collectives.New(localComm{rank: r, n: n, g: g, mu: mu, boxes: boxes})
			buf := []byte{'a' + byte(r), 'z' - byte(r)}
			if err := c.AllReduce(ctx, buf, keepMax); err != nil {
				fmt.Println(err)
				return
			}
			out[r] = string(buf)
		}()
	}
	wg.Wait()
	fmt.Println(out)
	// Output: [ez ez ez ez ez]
}
