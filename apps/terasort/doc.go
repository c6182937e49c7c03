// Package terasort is the TeraSort benchmark as a Volley job: teragen makes
// a data set of 100-byte records (package records), the terasort app sorts
// it with N workers, and teravalidate checks the result the way valsort
// does.
//
// The job, run by every rank:
//
//  1. load: read this rank's contiguous share of the input records (or,
//     without an input, generate its share of a data set of -p records=R);
//  2. sample: take evenly spaced keys of the share and AllGather them; every
//     rank sorts all the samples and picks the same N-1 splitters;
//  3. partition: send the record to the rank whose key range holds it
//     (equal keys always go to the same rank);
//  4. shuffle: an AllToAll of the counts, then an AllToAllv of the records;
//  5. sort: an LSD radix sort on the key (records.SortIndex);
//  6. write: the sorted records to OUTPUT/.part-NNNNN.tmp, renamed to
//     OUTPUT/part-NNNNN when complete;
//  7. validate: re-read the part, check its order and checksum; the ranks
//     AllGather their summaries and all check global order (each part's
//     first key >= the previous part's last), the record count and that the
//     output checksum equals the input checksum. Rank 0 then writes the
//     completion marker OUTPUT/_SUCCESS, last.
//
// A directory of part files is complete only when its _SUCCESS marker
// exists; a failed run leaves none. Every error a rank meets before the
// shuffle, or while writing and validating, is exchanged with the others,
// so every rank fails with the same message rather than waiting for a rank
// that has given up.
package terasort
