// Package terasort is the TeraSort benchmark as a Volley job: teragen makes
// a data set of 100-byte records (package records), the terasort app sorts
// it with N workers, and teravalidate checks the result the way valsort
// does.
//
// The job, run by every rank:
//
//  1. sample: take evenly spaced keys of this rank's contiguous share of
//     the input records (or, without an input, of its share of a data set
//     of -p records=R, generated) and Gather them at rank 0, which picks
//     the N-1 splitters and broadcasts them;
//  2. in rounds, each on the next chunk of the share: read (or generate)
//     the chunk, partition it (a record goes to the rank whose key range
//     holds it; equal keys always go to the same rank), then shuffle it
//     (an AllToAll of the counts, then an AllToAllv of the records,
//     appended to what this rank sorts);
//  3. sort: an MSD radix sort on the key (records.SortIndexWith), in the
//     chunks' memory;
//  4. write: the sorted records to OUTPUT/.part-NNNNN.tmp, renamed to
//     OUTPUT/part-NNNNN when complete;
//  5. validate: re-read the part, check its order and checksum; the ranks
//     Gather their summaries at rank 0, which checks global order (each
//     part's first key >= the previous part's last), the record count and
//     that the output checksum equals the input checksum, and broadcasts
//     the verdict. Rank 0 then writes the completion marker
//     OUTPUT/_SUCCESS, last.
//
// A directory of part files is complete only when its _SUCCESS marker
// exists; a failed run leaves none. Every error a rank meets before the
// shuffle, while reading a chunk, or while writing and validating, is
// exchanged with the others,
// so every rank fails with the same message rather than waiting for a rank
// that has given up.
package terasort
