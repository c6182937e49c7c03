package collectives

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"testing"
)

type celsius float64 // a named type: ~float64

func roundTrip[T Number](t *testing.T, name string, vals []T, wire func(T) []byte) {
	t.Helper()
	for _, fast := range []bool{nativeLE, false} {
		fastPath = fast
		b := Encode(vals)
		if len(b) != len(vals)*SizeOf[T]() {
			t.Fatalf("%s fast=%v: %d bytes", name, fast, len(b))
		}
		for i, v := range vals {
			w := wire(v)
			if got := b[i*len(w) : (i+1)*len(w)]; !slices.Equal(got, w) {
				t.Fatalf("%s fast=%v: element %d encoded %x, want %x", name, fast, i, got, w)
			}
		}
		back, err := Decode[T](b)
		if err != nil {
			t.Fatal(err)
		}
		for i := range vals {
			if back[i] != vals[i] && !(vals[i] != vals[i]) { // NaN != NaN
				t.Fatalf("%s fast=%v: element %d: %v, want %v", name, fast, i, back[i], vals[i])
			}
		}
	}
	fastPath = nativeLE
}

func TestEncodeDecode(t *testing.T) {
	le := binary.LittleEndian
	u16 := func(v uint16) []byte { return le.AppendUint16(nil, v) }
	u32 := func(v uint32) []byte { return le.AppendUint32(nil, v) }
	u64 := func(v uint64) []byte { return le.AppendUint64(nil, v) }
	roundTrip(t, "int8", []int8{0, -1, 127, -128}, func(v int8) []byte { return []byte{byte(v)} })
	roundTrip(t, "uint8", []uint8{0, 1, 255}, func(v uint8) []byte { return []byte{v} })
	roundTrip(t, "int16", []int16{0, -2, math.MaxInt16}, func(v int16) []byte { return u16(uint16(v)) })
	roundTrip(t, "uint16", []uint16{7, math.MaxUint16}, func(v uint16) []byte { return u16(v) })
	roundTrip(t, "int32", []int32{-5, math.MinInt32}, func(v int32) []byte { return u32(uint32(v)) })
	roundTrip(t, "uint32", []uint32{5, math.MaxUint32}, func(v uint32) []byte { return u32(v) })
	roundTrip(t, "int64", []int64{-9, math.MinInt64, math.MaxInt64}, func(v int64) []byte { return u64(uint64(v)) })
	roundTrip(t, "uint64", []uint64{9, math.MaxUint64}, func(v uint64) []byte { return u64(v) })
	roundTrip(t, "int", []int{-3, 1 << 40}, func(v int) []byte { return u64(uint64(v)) })
	roundTrip(t, "uint", []uint{3, 1 << 40}, func(v uint) []byte { return u64(uint64(v)) })
	roundTrip(t, "float32", []float32{1.5, -0, float32(math.Inf(-1)), float32(math.NaN())}, func(v float32) []byte { return u32(math.Float32bits(v)) })
	roundTrip(t, "float64", []float64{math.Pi, math.SmallestNonzeroFloat64, math.NaN()}, func(v float64) []byte { return u64(math.Float64bits(v)) })
	roundTrip(t, "celsius", []celsius{-40, 100}, func(v celsius) []byte { return u64(math.Float64bits(float64(v))) })
	roundTrip(t, "empty", []float64{}, func(v float64) []byte { return nil })

	if _, err := Decode[int32]([]byte{1, 2, 3}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Decode of 3 bytes as int32: %v", err)
	}
	if err := DecodeTo(make([]int16, 2), []byte{1, 2}); !errors.Is(err, ErrInvalid) {
		t.Errorf("DecodeTo with a short buffer: %v", err)
	}
	if err := EncodeTo(make([]byte, 3), []int16{1, 2}); !errors.Is(err, ErrInvalid) {
		t.Errorf("EncodeTo into a short buffer: %v", err)
	}
}

func TestOps(t *testing.T) {
	a, b := []int{1, 5, -3}, []int{4, 2, -3}
	for _, tc := range []struct {
		op   Op[int]
		want []int
	}{
		{Sum[int], []int{5, 7, -6}},
		{Prod[int], []int{4, 10, 9}},
		{Min[int], []int{1, 2, -3}},
		{Max[int], []int{4, 5, -3}},
		{ElementWise(func(x, y int) int { return 10*x + y }), []int{14, 52, -33}},
	} {
		d := slices.Clone(a)
		tc.op(d, b)
		if !slices.Equal(d, tc.want) {
			t.Errorf("got %v, want %v", d, tc.want)
		}
	}
}

// TestBytesOpPaths checks that the in-place path, the misaligned
// fallback and the portable path agree.
func TestBytesOpPaths(t *testing.T) {
	x := []float64{1.25, -2, 3e10}
	y := []float64{0.5, 4, -1e-3}
	want := slices.Clone(x)
	Sum(want, y)
	op := bytesOp(Op[float64](Sum[float64]))
	for _, tc := range []struct {
		name   string
		fast   bool
		offset int
	}{{"view", nativeLE, 0}, {"misaligned", nativeLE, 1}, {"portable", false, 0}} {
		fastPath = tc.fast
		bx := append(make([]byte, tc.offset), Encode(x)...)[tc.offset:]
		by := append(make([]byte, tc.offset), Encode(y)...)[tc.offset:]
		if err := op(bx, by); err != nil {
			t.Fatal(err)
		}
		got, _ := Decode[float64](bx)
		if !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", tc.name, got, want)
		}
	}
	fastPath = nativeLE
	if err := op(make([]byte, 8), make([]byte, 16)); !errors.Is(err, ErrMismatch) {
		t.Errorf("operands of different lengths: %v", err)
	}
}

// TestAllReduceTTypes runs the typed helpers over several element types,
// with the portable encoding too.
func TestAllReduceTTypes(t *testing.T) {
	for _, fast := range []bool{true, false} {
		fastPath = fast && nativeLE
		net := newMemNet(7, 3)
		mustGroup(t, net, nil, func(ctx context.Context, c *Collectives) error {
			r := c.Rank()
			i8 := []int8{int8(r), -1}
			if err := AllReduceT(ctx, c, i8, Sum); err != nil || !slices.Equal(i8, []int8{21, -7}) {
				return errors.Join(err, errors.New("int8 sum"))
			}
			u16 := []uint16{uint16(r + 1)}
			if err := AllReduceT(ctx, c, u16, Prod); err != nil || u16[0] != 5040 {
				return errors.Join(err, errors.New("uint16 prod"))
			}
			f32 := []float32{float32(r), -float32(r)}
			if err := AllReduceT(ctx, c, f32, Max); err != nil || !slices.Equal(f32, []float32{6, 0}) {
				return errors.Join(err, errors.New("float32 max"))
			}
			cs := []celsius{celsius(r)}
			if err := ReduceT(ctx, c, 4, cs, Min); err != nil || r == 4 && cs[0] != 0 {
				return errors.Join(err, errors.New("celsius min"))
			}
			return nil
		})
	}
	fastPath = nativeLE
}
