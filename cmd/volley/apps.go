package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/volley-run/volley/group"
)

func newAppsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "apps",
		Short: "List the registered apps and their parameters",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			for _, app := range group.Apps() {
				fmt.Fprintf(tw, "%s\t%s\n", app.Name, app.Summary)
				for _, k := range group.Params(app.Params).Keys() {
					fmt.Fprintf(tw, "\t  -p %s=...\t%s\n", k, app.Params[k])
				}
			}
			return tw.Flush()
		},
	}
}
