package records

import (
	"bytes"
	"hash/crc32"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"unsafe"
)

func TestBinaryLayout(t *testing.T) {
	b := make([]byte, 3*Size)
	Generate(b, 0x1234, 7, Binary)
	for i := range 3 {
		r := b[i*Size : (i+1)*Size]
		if r[10] != 0x00 || r[11] != 0x11 || !bytes.Equal(r[44:48], []byte{0x88, 0x99, 0xAA, 0xBB}) || !bytes.Equal(r[96:], []byte{0xCC, 0xDD, 0xEE, 0xFF}) {
			t.Fatalf("record %d: break bytes wrong: % x", i, r)
		}
		want := []byte("0000000000000000000000000000123" + string("456"[i]))
		if !bytes.Equal(r[12:44], want) {
			t.Errorf("record %d: number %q, want %q", i, r[12:44], want)
		}
		for p := 48; p < 96; p += 4 {
			if !bytes.Equal(r[p:p+4], bytes.Repeat(r[p:p+1], 4)) || !bytes.ContainsAny(r[p:p+1], hexDigits) {
				t.Errorf("record %d: filler at %d is %q", i, p, r[p:p+4])
			}
		}
	}
}

func TestASCIILayout(t *testing.T) {
	b := make([]byte, 1000*Size)
	Generate(b, 0, 3, ASCII)
	for i := range 1000 {
		r := b[i*Size : (i+1)*Size]
		for j, c := range r[:98] {
			if c < ' ' || c > '~' {
				t.Fatalf("record %d byte %d = %#x is not printable", i, j, c)
			}
		}
		if string(r[98:]) != "\r\n" || string(r[10:12]) != "  " || string(r[44:46]) != "  " {
			t.Fatalf("record %d: %q", i, r)
		}
		if bytes.IndexByte(r[:98], '\n') >= 0 {
			t.Fatalf("record %d has a newline before its end", i)
		}
	}
}

func TestGenerateDeterministic(t *testing.T) {
	for _, f := range []Form{Binary, ASCII} {
		whole := make([]byte, 100*Size)
		Generate(whole, 0, 9, f)
		// Any slice of the data set, made separately, is the same bytes.
		part := make([]byte, 30*Size)
		Generate(part, 40, 9, f)
		if !bytes.Equal(part, whole[40*Size:70*Size]) {
			t.Errorf("%v: records 40..69 differ when generated on their own", f)
		}
		other := make([]byte, 100*Size)
		Generate(other, 0, 10, f)
		if bytes.Equal(other[:KeySize], whole[:KeySize]) {
			t.Errorf("%v: seeds 9 and 10 give the same first key", f)
		}
		keys := map[string]bool{}
		for i := range 100 {
			keys[string(whole[i*Size:i*Size+KeySize])] = true
		}
		if len(keys) < 100 {
			t.Errorf("%v: only %d distinct keys in 100 records", f, len(keys))
		}
	}
}

func TestKey(t *testing.T) {
	a := []byte{0, 0, 0, 0, 0, 0, 0, 1, 0, 2}
	b := []byte{0, 0, 0, 0, 0, 0, 0, 1, 1, 0}
	ka, kb := KeyOf(a), KeyOf(b)
	if ka.Compare(kb) != -1 || kb.Compare(ka) != 1 || ka.Compare(ka) != 0 {
		t.Errorf("compare of %v and %v wrong", ka, kb)
	}
	if !bytes.Equal(ka.Bytes(), a) {
		t.Errorf("Bytes() = % x, want % x", ka.Bytes(), a)
	}
}

func TestCount(t *testing.T) {
	if n, err := Count(make([]byte, 300)); n != 3 || err != nil {
		t.Errorf("Count(300 bytes) = %d, %v", n, err)
	}
	if _, err := Count(make([]byte, 301)); err == nil {
		t.Error("Count(301 bytes) gave no error")
	}
}

// referenceSort sorts records with sort.SliceStable on their keys.
func referenceSort(b []byte) []byte {
	n := len(b) / Size
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool {
		return bytes.Compare(b[idx[i]*Size:idx[i]*Size+KeySize], b[idx[j]*Size:idx[j]*Size+KeySize]) < 0
	})
	out := make([]byte, 0, len(b))
	for _, i := range idx {
		out = append(out, b[i*Size:(i+1)*Size]...)
	}
	return out
}

// keyed makes n records whose keys come from key(i) and whose values
// carry i, so a wrong or unstable sort shows.
func keyed(n int, key func(i int, k []byte)) []byte {
	b := make([]byte, n*Size)
	Generate(b, 0, 1, Binary)
	for i := range n {
		key(i, b[i*Size:i*Size+KeySize])
	}
	return b
}

func TestSortMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := map[string][]byte{
		"empty":  nil,
		"one":    keyed(1, func(int, []byte) {}),
		"random": keyed(5000, func(_ int, k []byte) { fillRandom(rng, k) }),
		"generated": func() []byte {
			b := make([]byte, 5000*Size)
			Generate(b, 0, 5, ASCII)
			return b
		}(),
		"all equal":   keyed(3000, func(_ int, k []byte) { copy(k, "SAMEKEY!!!") }),
		"all zero":    keyed(3000, func(_ int, k []byte) { clear(k) }),
		"all 0xff":    keyed(3000, func(_ int, k []byte) { copy(k, bytes.Repeat([]byte{0xff}, KeySize)) }),
		"sorted":      keyed(3000, func(i int, k []byte) { clear(k); k[7], k[8], k[9] = byte(i>>16), byte(i>>8), byte(i) }),
		"reversed":    keyed(3000, func(i int, k []byte) { clear(k); k[0], k[9] = byte(255-i/256), byte(255-i%256) }),
		"last byte":   keyed(3000, func(_ int, k []byte) { copy(k, "prefix123"); k[9] = byte(rng.IntN(256)) }),
		"first byte":  keyed(3000, func(_ int, k []byte) { copy(k, "xprefix123"); k[0] = byte(rng.IntN(3)) }),
		"few keys":    keyed(3000, func(_ int, k []byte) { clear(k); k[rng.IntN(KeySize)] = byte(rng.IntN(2)) }),
		"byte 8 only": keyed(3000, func(_ int, k []byte) { clear(k); k[8] = byte(rng.IntN(256)) }),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			want := referenceSort(b)
			got := bytes.Clone(b)
			Sort(got)
			if !bytes.Equal(got, want) {
				t.Fatalf("radix sort of %d records differs from sort.SliceStable (stability or order)", len(b)/Size)
			}
			if ok, at := IsSorted(got); !ok {
				t.Fatalf("IsSorted says record %d is out of order", at)
			}
			if Sum(got) != Sum(b) {
				t.Fatal("sorting changed the checksum")
			}
		})
	}
}

func fillRandom(rng *rand.Rand, b []byte) {
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
}

func TestIsSorted(t *testing.T) {
	b := keyed(10, func(i int, k []byte) { clear(k); k[0] = byte(i) })
	if ok, _ := IsSorted(b); !ok {
		t.Fatal("sorted records reported unsorted")
	}
	b[7*Size] = 0 // record 7's key is now below record 6's
	if ok, at := IsSorted(b); ok || at != 7 {
		t.Fatalf("IsSorted = %v, %d; want false, 7", ok, at)
	}
}

func TestWriteOrdered(t *testing.T) {
	b := make([]byte, 25000*Size) // more than one write chunk
	Generate(b, 0, 11, Binary)
	var w bytes.Buffer
	if err := WriteOrdered(&w, b, SortIndex(b)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(w.Bytes(), referenceSort(b)) {
		t.Fatal("WriteOrdered output is not the sorted records")
	}
}

// TestSortIndexWithScratch checks that SortIndexWith gives SortIndex's
// order whether it sorts in the scratch (which the order then lives in)
// or has to allocate: scratch too small, or not aligned for entries.
func TestSortIndexWithScratch(t *testing.T) {
	b := make([]byte, 5000*Size)
	Generate(b, 0, 12, Binary)
	for i := 0; i < 100; i++ { // equal keys must keep their input order
		copy(b[(2*i+1)*Size:(2*i+1)*Size+KeySize], b[0:KeySize])
	}
	want := SortIndex(b)
	n := len(b) / Size
	big := make([]byte, ScratchBytes(n)+8)
	for _, c := range []struct {
		name    string
		scratch []byte
		inside  bool
	}{
		{"fits", big[:ScratchBytes(n)], true},
		{"too small", big[:ScratchBytes(n)-1], false},
		{"misaligned", big[1:], false},
		{"nil", nil, false},
	} {
		order := SortIndexWith(b, c.scratch)
		if !slices.Equal(order, want) {
			t.Fatalf("%s: order differs from SortIndex's", c.name)
		}
		p := uintptr(unsafe.Pointer(unsafe.SliceData(order)))
		lo := uintptr(unsafe.Pointer(unsafe.SliceData(big)))
		if got := p >= lo && p < lo+uintptr(len(big)); got != c.inside {
			t.Fatalf("%s: order inside the scratch = %v, want %v", c.name, got, c.inside)
		}
	}
	if got := SortIndexWith(nil, big); len(got) != 0 {
		t.Fatalf("no records: order %v", got)
	}
}

func TestChecksum(t *testing.T) {
	b := make([]byte, 1000*Size)
	Generate(b, 0, 4, Binary)
	var want uint64
	for i := range 1000 {
		want += uint64(crc32.ChecksumIEEE(b[i*Size : (i+1)*Size]))
	}
	got := Sum(b)
	if got.Hi != 0 || got.Lo != want {
		t.Fatalf("Sum = %v, want %x", got, want)
	}
	// A sum: parts add up, order does not matter.
	part := Sum(b[:400*Size])
	part.Merge(Sum(b[400*Size:]))
	if part != got {
		t.Errorf("merged parts %v != whole %v", part, got)
	}
	rev := referenceSort(b)
	if Sum(rev) != got {
		t.Error("checksum depends on record order")
	}
	// One changed byte changes it.
	b[555] ^= 1
	if Sum(b) == got {
		t.Error("flipping a bit did not change the checksum")
	}
}

func TestChecksumCarryAndText(t *testing.T) {
	c := Checksum{Lo: ^uint64(0) - 1}
	c.addUint(5)
	if c != (Checksum{Hi: 1, Lo: 3}) {
		t.Fatalf("carry: got %+v", c)
	}
	c.Merge(Checksum{Hi: 2, Lo: ^uint64(0)})
	if c != (Checksum{Hi: 4, Lo: 2}) {
		t.Fatalf("merge carry: got %+v", c)
	}
	for _, v := range []Checksum{{}, {Lo: 0x4c48a881c779d5}, {Hi: 4, Lo: 2}, {Hi: ^uint64(0), Lo: ^uint64(0)}} {
		s := v.String()
		back, err := ParseChecksum(s)
		if err != nil || back != v {
			t.Errorf("%+v -> %q -> %+v, %v", v, s, back, err)
		}
	}
	if (Checksum{Lo: 0x4c48a881c779d5}).String() != "4c48a881c779d5" || (Checksum{Hi: 4, Lo: 2}).String() != "40000000000000002" {
		t.Error("String does not print valsort's hex")
	}
	for _, bad := range []string{"", "xyz", "123456789012345678901234567890123"} {
		if _, err := ParseChecksum(bad); err == nil {
			t.Errorf("ParseChecksum(%q) accepted", bad)
		}
	}
}
