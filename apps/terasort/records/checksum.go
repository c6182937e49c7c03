package records

import (
	"fmt"
	"hash/crc32"
	"math/bits"
	"strconv"
)

// Checksum is valsort's checksum of a set of records: the sum, modulo
// 2^128, of the CRC-32 (IEEE, as zlib's crc32) of every 100-byte record.
// Being a sum, it does not depend on the order of the records, so an
// input and its sorted output have the same checksum, and checksums of
// parts add up to the checksum of the whole.
type Checksum struct {
	Hi, Lo uint64
}

// Add adds one record's CRC to c.
func (c *Checksum) Add(rec []byte) {
	c.addUint(uint64(crc32.ChecksumIEEE(rec[:Size])))
}

func (c *Checksum) addUint(v uint64) {
	var carry uint64
	c.Lo, carry = bits.Add64(c.Lo, v, 0)
	c.Hi += carry
}

// Merge adds the checksum of another set of records to c.
func (c *Checksum) Merge(o Checksum) {
	var carry uint64
	c.Lo, carry = bits.Add64(c.Lo, o.Lo, 0)
	c.Hi += o.Hi + carry
}

// String is the sum in lower-case hex without leading zeros, as valsort
// prints it.
func (c Checksum) String() string {
	if c.Hi == 0 {
		return strconv.FormatUint(c.Lo, 16)
	}
	return fmt.Sprintf("%x%016x", c.Hi, c.Lo)
}

// ParseChecksum reads a checksum written by String.
func ParseChecksum(s string) (Checksum, error) {
	if s == "" || len(s) > 32 {
		return Checksum{}, fmt.Errorf("checksum %q: want 1 to 32 hex digits", s)
	}
	var c Checksum
	split := max(len(s)-16, 0)
	lo, err := strconv.ParseUint(s[split:], 16, 64)
	if err != nil {
		return Checksum{}, fmt.Errorf("checksum %q: not hex", s)
	}
	c.Lo = lo
	if split > 0 {
		if c.Hi, err = strconv.ParseUint(s[:split], 16, 64); err != nil {
			return Checksum{}, fmt.Errorf("checksum %q: not hex", s)
		}
	}
	return c, nil
}

// MarshalText encodes c as String does, so checksums travel in JSON as
// strings.
func (c Checksum) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText decodes what MarshalText wrote.
func (c *Checksum) UnmarshalText(b []byte) error {
	v, err := ParseChecksum(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// Sum returns the checksum of the records in b (len(b) a multiple of Size).
func Sum(b []byte) Checksum {
	var c Checksum
	for i := 0; i+Size <= len(b); i += Size {
		c.Add(b[i : i+Size])
	}
	return c
}
