package transport

import (
	"io"
	"net"
	"testing"

	"github.com/volley-run/volley/comm/wire"
)

var benchSizes = []struct {
	name string
	n    int
}{
	{"1KiB", 1 << 10},
	{"64KiB", 64 << 10},
	{"1MiB", 1 << 20},
	{"16MiB", 16 << 20},
}

// benchTransports lists what the benchmarks compare: raw loopback TCP (the
// baseline, plain net.Conn writes and reads of the same bytes), the tcp
// transport, and the sctp transport when the kernel has SCTP.
func benchTransports(b *testing.B) []string {
	names := []string{"raw", "tcp"}
	if ok, _ := SCTPAvailable(); ok {
		names = append(names, "sctp")
	}
	return names
}

// rawPair returns two connected loopback TCP sockets with Go's defaults.
func rawPair(b *testing.B) (net.Conn, net.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	ch := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		ch <- c
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	s := <-ch
	if s == nil {
		b.Fatal("accept failed")
	}
	b.Cleanup(func() { a.Close(); s.Close() })
	return a, s
}

// BenchmarkBandwidth sends b.N messages of each size one way and reports
// MB/s. Transport messages larger than wire.MaxPayload go as Data chunks of
// wire.MaxPayload, read in place through the buf callback; raw sends the
// same bytes with one Write and reads them with io.ReadFull. Read the ratio
// tcp/raw at each size.
func BenchmarkBandwidth(b *testing.B) {
	for _, name := range benchTransports(b) {
		for _, sz := range benchSizes {
			b.Run(name+"/"+sz.name, func(b *testing.B) {
				msg := pattern(1, sz.n)
				dst := make([]byte, sz.n)
				b.SetBytes(int64(sz.n))
				if name == "raw" {
					w, r := rawPair(b)
					done := make(chan error, 1)
					b.ResetTimer()
					go func() {
						for range b.N {
							if _, err := io.ReadFull(r, dst); err != nil {
								done <- err
								return
							}
						}
						done <- nil
					}()
					for range b.N {
						if _, err := w.Write(msg); err != nil {
							b.Fatal(err)
						}
					}
					if err := <-done; err != nil {
						b.Fatal(err)
					}
					return
				}
				tr, err := New(name)
				if err != nil {
					b.Fatal(err)
				}
				w, r := pair(b, tr)
				chunk := min(sz.n, wire.MaxPayload)
				frames := (sz.n + chunk - 1) / chunk
				into := func(h wire.Header) []byte { return dst[h.Offset:] }
				done := make(chan error, 1)
				b.ResetTimer()
				go func() {
					for range b.N * frames {
						if _, _, _, err := r.ReadFrame(into); err != nil {
							done <- err
							return
						}
					}
					done <- nil
				}()
				for i := range b.N {
					for off := 0; off < sz.n; off += chunk {
						h := wire.Header{Kind: wire.KindData, MsgID: uint64(i), Offset: uint64(off), Size: uint64(sz.n)}
						if err := w.WriteFrame(0, h, msg[off:off+chunk]); err != nil {
							b.Fatal(err)
						}
					}
				}
				if err := <-done; err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}

// BenchmarkPingPong measures the round trip of a 64-byte message to an echo
// server and back (ns/op is one round trip).
func BenchmarkPingPong(b *testing.B) {
	const size = 64
	for _, name := range benchTransports(b) {
		b.Run(name, func(b *testing.B) {
			msg := pattern(2, size)
			if name == "raw" {
				c, s := rawPair(b)
				go func() {
					buf := make([]byte, size)
					for {
						if _, err := io.ReadFull(s, buf); err != nil {
							return
						}
						if _, err := s.Write(buf); err != nil {
							return
						}
					}
				}()
				buf := make([]byte, size)
				b.ResetTimer()
				for range b.N {
					if _, err := c.Write(msg); err != nil {
						b.Fatal(err)
					}
					if _, err := io.ReadFull(c, buf); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				c.Close()
				return
			}
			tr, err := New(name)
			if err != nil {
				b.Fatal(err)
			}
			c, s := pair(b, tr)
			go func() {
				buf := make([]byte, size)
				into := func(wire.Header) []byte { return buf }
				for {
					_, h, p, err := s.ReadFrame(into)
					if err != nil {
						return
					}
					h.Src, h.Dst = h.Dst, h.Src
					if err := s.WriteFrame(0, h, p); err != nil {
						return
					}
				}
			}()
			buf := make([]byte, size)
			into := func(wire.Header) []byte { return buf }
			h := eager(0, 1, 0, msg)
			b.ResetTimer()
			for range b.N {
				if err := c.WriteFrame(0, h, msg); err != nil {
					b.Fatal(err)
				}
				if _, _, _, err := c.ReadFrame(into); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			c.Close()
		})
	}
}
