package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/spf13/cobra"

	"github.com/volley-run/volley/apps/terasort"
	"github.com/volley-run/volley/apps/terasort/records"
)

func newTeragenCmd() *cobra.Command {
	var (
		n     int64
		out   string
		parts int
		seed  uint64
		ascii bool
	)
	cmd := &cobra.Command{
		Use:   "teragen --records R --out DIR [--parts P] [--seed S] [--ascii]",
		Short: "Generate R 100-byte TeraSort records (gensort layout) into a new directory",
		Long: `teragen writes R records of 100 bytes (a 10-byte key, a 90-byte value, laid
out as gensort lays them out) to DIR/part-00000 .. part-(P-1), then
DIR/_SUCCESS with the record count and the valsort checksum. The records
depend only on the seed: the same R and seed give the same records however
many parts. --ascii writes gensort -a's printable form, one record per
"\r\n"-terminated line, which sort(1) can sort too.`,
		Example: `  volley teragen --records 10000000 --out /tmp/in --parts 16
  volley teragen --records 1000000 --out /tmp/in-ascii --ascii`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("records") || out == "" {
				return usageErr(errors.New("teragen needs --records R and --out DIR"))
			}
			if n < 0 || parts < 1 {
				return usageErr(fmt.Errorf("--records must be >= 0 and --parts >= 1, got %d and %d", n, parts))
			}
			form := records.Binary
			if ascii {
				form = records.ASCII
			}
			m, err := terasort.Generate(out, n, parts, seed, form)
			if err != nil {
				return usageErr(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %d %s records (%s) in %d parts to %s, checksum %v\n",
				m.Records, m.Form, bytesHuman(m.Records*records.Size), m.Parts, out, m.Checksum)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.Int64Var(&n, "records", 0, "number of records R")
	fl.StringVar(&out, "out", "", "directory to create (must not exist)")
	fl.IntVar(&parts, "parts", 1, "number of part files P")
	fl.Uint64Var(&seed, "seed", 1, "generator seed")
	fl.BoolVar(&ascii, "ascii", false, "printable, newline-terminated records (gensort -a)")
	return cmd
}

func newTeravalidateCmd() *cobra.Command {
	var (
		input   string
		jsonOut bool
	)
	cmd := &cobra.Command{
		Use:   "teravalidate PATH [--input PATH]",
		Short: "Check that TeraSort output is sorted, complete, and has the input's checksum",
		Long: `teravalidate reads PATH, a record file or a directory of part files (read
in name order), and checks, as valsort does, that every record's key is >=
the previous one's across all parts, counts the records and sums their
checksum (the 128-bit sum of the records' CRC-32s). A directory must have
its _SUCCESS marker, and its count and checksum must match the marker's.
--input compares the count and checksum with those of the input records
(read in full). Every record out of order is counted; the first ones are
reported with their part and byte offset.

Exit status: 0 valid; 1 not sorted, incomplete, or a count or checksum that
differs; 2 bad usage or a PATH that does not exist.`,
		Example: `  volley teravalidate /tmp/out
  volley teravalidate /tmp/out --input /tmp/in`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErr(fmt.Errorf("teravalidate takes exactly one PATH, got %d arguments", len(args)))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			var expect []terasort.Expect
			if input != "" {
				n, sum, err := terasort.InputChecksum(input)
				if err != nil {
					return usageErr(fmt.Errorf("--input: %w", err))
				}
				expect = append(expect, terasort.Expect{Records: &n, Checksum: &sum, From: "input " + input})
			}
			rep, err := terasort.Validate(args[0], expect...)
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return usageErr(err)
				}
				return failedErr(err)
			}
			out := cmd.OutOrStdout()
			if jsonOut {
				if err := json.NewEncoder(out).Encode(rep); err != nil {
					return failedErr(err)
				}
			} else {
				printReport(out, rep)
			}
			if !rep.OK() {
				return failedErr(fmt.Errorf("%s is not valid TeraSort output: %s", args[0], reportProblem(rep)))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&input, "input", "", "input records to compare the count and checksum with")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the report as one JSON object")
	return cmd
}

func printReport(w io.Writer, r *terasort.Report) {
	fmt.Fprintf(w, "%s: %d records in %d parts, checksum %v, %d duplicate keys\n", r.Path, r.Records, len(r.Parts), r.Checksum, r.Duplicates)
	if r.Unordered == 0 {
		fmt.Fprintln(w, "order: ok")
	} else {
		fmt.Fprintf(w, "order: %d records out of order\n", r.Unordered)
		for _, v := range r.Violations {
			fmt.Fprintf(w, "  %v\n", v)
		}
	}
	for _, m := range r.Mismatches {
		fmt.Fprintf(w, "mismatch: %s\n", m)
	}
	if r.OK() {
		fmt.Fprintln(w, "SUCCESS - all records are in order")
	}
}

// reportProblem is the first thing wrong in r, for the error line.
func reportProblem(r *terasort.Report) string {
	if len(r.Violations) > 0 {
		return fmt.Sprintf("%d records out of order; first: %v", r.Unordered, r.Violations[0])
	}
	return r.Mismatches[0]
}
