package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/volley-run/volley/group"
)

// printResult writes the human summary and the per-rank table.
func printResult(w io.Writer, res *group.Result) error {
	ready := "-"
	if res.Ready > 0 {
		ready = fmt.Sprintf("%.1f ms", res.ReadyMs)
	}
	fmt.Fprintf(w, "group %s: app %s, %d workers, %d per container\n", res.Group, res.App, res.Workers, res.Granularity)
	fmt.Fprintf(w, "containers %d (cold %d, warm %d), all ready after %s, total %.1f ms, %d failed\n",
		res.Containers, res.Cold, res.Warm, ready, res.TotalMs, len(res.Failed()))
	c := res.Comm
	fmt.Fprintf(w, "messages: %d local (%s), %d remote (%s, %s on the wire, %s)\n\n",
		c.SentLocalMsgs, bytesHuman(c.SentLocalBytes), c.SentRemoteMsgs, bytesHuman(c.SentRemoteBytes), bytesHuman(c.SentWireBytes), orDash(res.Transport))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RANK\tPACK\tRESULT")
	for _, rr := range res.Ranks {
		if rr.Error != "" {
			fmt.Fprintf(tw, "%d\t%d\tERROR: %s\n", rr.Rank, rr.Pack, rr.Error)
			continue
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\n", rr.Rank, rr.Pack, rr.Result)
	}
	if err := tw.Flush(); err != nil || len(res.Replicas) == 0 {
		return err
	}
	fmt.Fprintf(w, "\nspeculative replicas: %d\n", len(res.Replicas))
	fmt.Fprintln(tw, "PACK\tREPLICA\tCONTAINER\tOUTCOME\tLAUNCHED MS\tREGISTERED MS\tENDED MS\tERROR")
	for _, r := range res.Replicas {
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%.1f\t%.1f\t%.1f\t%s\n", r.Pack, r.Replica, orDash(r.Container.ID), r.Outcome,
			r.LaunchedMs, r.RegisteredMs, r.EndedMs, r.Error)
	}
	return tw.Flush()
}

// bytesHuman formats a byte count with a binary unit.
func bytesHuman(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
