package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/volley-run/volley/invoker/action"
)

func newWorkerCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "worker",
		Short: "Serve the OpenWhisk action protocol (the container entrypoint)",
		Long: `worker is what runs inside a container: it serves POST /init and POST /run
on :8080 (or $VOLLEY_LISTEN) and runs one pack of a group per /run.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if lvl := os.Getenv("VOLLEY_LOG_LEVEL"); lvl != "" && !cmd.Flags().Changed("log-level") {
				g.logLevel = lvl
			}
			if f := os.Getenv("VOLLEY_LOG_FORMAT"); f != "" && !cmd.Flags().Changed("log-format") {
				g.logFormat = f
			}
			log, err := g.stderrLogger()
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			srv := action.NewServer(action.PackRunner(log), log, os.Stdout, os.Stderr)
			if err := action.Serve(ctx, srv, log); err != nil {
				return failedErr(err)
			}
			return nil
		},
	}
}
