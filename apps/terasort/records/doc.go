// Package records is the TeraSort record format: 100-byte records, a 10-byte
// key followed by a 90-byte value, laid out as gensort lays them out, in
// gensort's binary form or its printable, newline-terminated form (gensort
// -a). It also holds the two algorithms every TeraSort stage needs on such
// records: an LSD radix sort on the key, and valsort's checksum (the
// 128-bit sum of every record's CRC-32).
//
// Generation is a pure function of (seed, record number), so any worker can
// make any slice of a data set without talking to the others:
//
//	buf := make([]byte, 1000*records.Size)
//	records.Generate(buf, 0, 42, records.Binary) // records 0..999 of seed 42
//	records.Sort(buf)
//	sum := records.Sum(buf)
package records
