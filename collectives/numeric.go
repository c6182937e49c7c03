package collectives

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"unsafe"
)

// Number is the element type of the typed helpers. On the wire every
// element is little-endian; int and uint take 8 bytes, whatever the
// platform.
type Number interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 |
		~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 |
		~float32 | ~float64
}

// Op is an element-wise reduction on numeric slices: on return dst[i]
// holds dst[i] ∘ src[i]. dst stands for lower ranks than src, so a
// non-commutative op sees its operands in rank order. Sum, Prod, Min and
// Max are ready-made; ElementWise lifts a scalar function.
type Op[T Number] func(dst, src []T)

// Sum adds src into dst.
func Sum[T Number](dst, src []T) {
	for i := range dst {
		dst[i] += src[i]
	}
}

// Prod multiplies dst by src.
func Prod[T Number](dst, src []T) {
	for i := range dst {
		dst[i] *= src[i]
	}
}

// Min keeps the smaller of each pair (NaN wins, as with the min builtin).
func Min[T Number](dst, src []T) {
	for i := range dst {
		dst[i] = min(dst[i], src[i])
	}
}

// Max keeps the larger of each pair (NaN wins, as with the max builtin).
func Max[T Number](dst, src []T) {
	for i := range dst {
		dst[i] = max(dst[i], src[i])
	}
}

// ElementWise makes an Op from a scalar function f(a, b), where a comes
// from lower ranks than b.
func ElementWise[T Number](f func(a, b T) T) Op[T] {
	return func(dst, src []T) {
		for i := range dst {
			dst[i] = f(dst[i], src[i])
		}
	}
}

// AllReduceT combines data element-wise across all ranks with op and
// leaves the result in data on every rank; every rank passes the same
// length. The order of combination is fixed and respects rank order, so
// floating-point results are bit-identical on every rank and from run to
// run for the same inputs and packing. Large reductions over many packs
// use Rabenseifner's algorithm (see Thresholds.AllReduce).
func AllReduceT[T Number](ctx context.Context, c *Collectives, data []T, op Op[T]) (err error) {
	x, err := c.begin(ctx, opAllReduce)
	if err != nil {
		return err
	}
	defer x.end(&err)
	if op == nil {
		return x.invalid("nil op")
	}
	res, err := x.allReduce(ctx, Encode(data), SizeOf[T](), bytesOp(op))
	if err != nil {
		return err
	}
	return DecodeTo(data, res)
}

// ReduceT combines data element-wise across all ranks with op and leaves
// the result in root's data; the other ranks' data are only read. The
// order of combination is fixed, as for AllReduceT.
func ReduceT[T Number](ctx context.Context, c *Collectives, root int, data []T, op Op[T]) (err error) {
	x, err := c.begin(ctx, opReduce)
	if err != nil {
		return err
	}
	defer x.end(&err)
	if err := x.checkRoot(root); err != nil {
		return err
	}
	if op == nil {
		return x.invalid("nil op")
	}
	res, err := x.reduce(ctx, root, Encode(data), bytesOp(op))
	if err != nil || x.me != root {
		return err
	}
	return DecodeTo(data, res)
}

// bytesOp turns a typed op into a byte-level one. When the host is
// little-endian and the buffers are aligned it works on the bytes in
// place; otherwise it decodes, applies and encodes.
func bytesOp[T Number](op Op[T]) ReduceFunc {
	return func(dst, src []byte) error {
		if len(dst) != len(src) {
			return fmt.Errorf("operands of %d and %d bytes: %w", len(dst), len(src), ErrMismatch)
		}
		if a, ok := view[T](dst); ok {
			if b, ok := view[T](src); ok {
				op(a, b)
				return nil
			}
		}
		a, err := Decode[T](dst)
		if err != nil {
			return err
		}
		b, err := Decode[T](src)
		if err != nil {
			return err
		}
		op(a, b)
		return EncodeTo(dst, a)
	}
}

// kind is the wire format of T.
func kind[T Number]() reflect.Kind { return reflect.TypeFor[T]().Kind() }

// SizeOf is the number of bytes one element of T takes on the wire.
func SizeOf[T Number]() int {
	switch kind[T]() {
	case reflect.Int8, reflect.Uint8:
		return 1
	case reflect.Int16, reflect.Uint16:
		return 2
	case reflect.Int32, reflect.Uint32, reflect.Float32:
		return 4
	default:
		return 8
	}
}

// nativeLE tells whether the host is little-endian; fastPath lets the
// helpers reinterpret memory instead of converting element by element
// (tests turn it off to check the portable path).
var (
	nativeLE = binary.NativeEndian.Uint16([]byte{1, 0}) == 1
	fastPath = nativeLE
)

// sameLayout tells whether T's memory layout is its wire format.
func sameLayout[T Number]() bool {
	var zero T
	return fastPath && int(unsafe.Sizeof(zero)) == SizeOf[T]()
}

// view reinterprets b as a []T without copying, when that is safe: a
// little-endian host, T's size equal to its wire size, b a whole number of
// elements and aligned for T.
func view[T Number](b []byte) ([]T, bool) {
	var zero T
	size := SizeOf[T]()
	if !sameLayout[T]() || len(b)%size != 0 {
		return nil, false
	}
	if len(b) == 0 {
		return []T{}, true
	}
	p := unsafe.Pointer(unsafe.SliceData(b))
	if uintptr(p)%unsafe.Alignof(zero) != 0 {
		return nil, false
	}
	return unsafe.Slice((*T)(p), len(b)/size), true
}

// asBytes reinterprets s as bytes (always aligned).
func asBytes[T Number](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	var zero T
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*int(unsafe.Sizeof(zero)))
}

// Encode returns s in wire format: SizeOf[T]() little-endian bytes per
// element.
func Encode[T Number](s []T) []byte {
	b := make([]byte, len(s)*SizeOf[T]())
	_ = EncodeTo(b, s)
	return b
}

// EncodeTo writes s in wire format into dst, which must have exactly
// len(s)*SizeOf[T]() bytes.
func EncodeTo[T Number](dst []byte, s []T) error {
	size := SizeOf[T]()
	if len(dst) != len(s)*size {
		return fmt.Errorf("encode %d elements of %d bytes into %d bytes: %w", len(s), size, len(dst), ErrInvalid)
	}
	if sameLayout[T]() {
		copy(dst, asBytes(s))
		return nil
	}
	le := binary.LittleEndian
	switch kind[T]() {
	case reflect.Int8:
		for i, v := range s {
			dst[i] = byte(int8(v))
		}
	case reflect.Uint8:
		for i, v := range s {
			dst[i] = byte(v)
		}
	case reflect.Int16:
		for i, v := range s {
			le.PutUint16(dst[2*i:], uint16(int16(v)))
		}
	case reflect.Uint16:
		for i, v := range s {
			le.PutUint16(dst[2*i:], uint16(v))
		}
	case reflect.Int32:
		for i, v := range s {
			le.PutUint32(dst[4*i:], uint32(int32(v)))
		}
	case reflect.Uint32:
		for i, v := range s {
			le.PutUint32(dst[4*i:], uint32(v))
		}
	case reflect.Float32:
		for i, v := range s {
			le.PutUint32(dst[4*i:], math.Float32bits(float32(v)))
		}
	case reflect.Int, reflect.Int64:
		for i, v := range s {
			le.PutUint64(dst[8*i:], uint64(int64(v)))
		}
	case reflect.Uint, reflect.Uint64:
		for i, v := range s {
			le.PutUint64(dst[8*i:], uint64(v))
		}
	case reflect.Float64:
		for i, v := range s {
			le.PutUint64(dst[8*i:], math.Float64bits(float64(v)))
		}
	}
	return nil
}

// Decode returns the elements of b, which must hold a whole number of
// elements in wire format.
func Decode[T Number](b []byte) ([]T, error) {
	size := SizeOf[T]()
	if len(b)%size != 0 {
		return nil, fmt.Errorf("decode %d bytes into %d-byte elements: %w", len(b), size, ErrInvalid)
	}
	s := make([]T, len(b)/size)
	return s, DecodeTo(s, b)
}

// DecodeTo fills dst from b, which must hold exactly len(dst) elements in
// wire format.
func DecodeTo[T Number](dst []T, b []byte) error {
	size := SizeOf[T]()
	if len(b) != len(dst)*size {
		return fmt.Errorf("decode %d bytes into %d elements of %d bytes: %w", len(b), len(dst), size, ErrInvalid)
	}
	if sameLayout[T]() {
		copy(asBytes(dst), b)
		return nil
	}
	le := binary.LittleEndian
	switch kind[T]() {
	case reflect.Int8:
		for i := range dst {
			dst[i] = T(int8(b[i]))
		}
	case reflect.Uint8:
		for i := range dst {
			dst[i] = T(b[i])
		}
	case reflect.Int16:
		for i := range dst {
			dst[i] = T(int16(le.Uint16(b[2*i:])))
		}
	case reflect.Uint16:
		for i := range dst {
			dst[i] = T(le.Uint16(b[2*i:]))
		}
	case reflect.Int32:
		for i := range dst {
			dst[i] = T(int32(le.Uint32(b[4*i:])))
		}
	case reflect.Uint32:
		for i := range dst {
			dst[i] = T(le.Uint32(b[4*i:]))
		}
	case reflect.Float32:
		for i := range dst {
			dst[i] = T(math.Float32frombits(le.Uint32(b[4*i:])))
		}
	case reflect.Int, reflect.Int64:
		for i := range dst {
			dst[i] = T(int64(le.Uint64(b[8*i:])))
		}
	case reflect.Uint, reflect.Uint64:
		for i := range dst {
			dst[i] = T(le.Uint64(b[8*i:]))
		}
	case reflect.Float64:
		for i := range dst {
			dst[i] = T(math.Float64frombits(le.Uint64(b[8*i:])))
		}
	}
	return nil
}
