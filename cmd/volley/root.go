package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// globalFlags are shared by every subcommand.
type globalFlags struct {
	logLevel  string
	logFormat string
}

func newRootCmd() *cobra.Command {
	var g globalFlags
	root := &cobra.Command{
		Use:   "volley",
		Short: "Run burst-parallel jobs on serverless containers",
		Long: `Volley starts a group of N workers at once, packed g per container, lets
them talk by message passing, and returns every rank's result.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "warn", "log level: debug, info, warn, error")
	root.PersistentFlags().StringVar(&g.logFormat, "log-format", "text", "log format: text or json")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErr(err) })
	root.AddCommand(newRunCmd(&g), newAppsCmd(), newWorkerCmd(&g), newBenchCmd(), newServeCmd(&g))
	root.AddCommand(newTeragenCmd(), newTeravalidateCmd())
	root.AddCommand(newGraphgenCmd())
	return root
}

// logger builds the slog logger the flags ask for, writing to w.
func (g *globalFlags) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
		return nil, usageErr(fmt.Errorf("--log-level %q: want debug, info, warn or error", g.logLevel))
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(g.logFormat) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, usageErr(fmt.Errorf("--log-format %q: want text or json", g.logFormat))
	}
}

// stderrLogger is logger(os.Stderr).
func (g *globalFlags) stderrLogger() (*slog.Logger, error) { return g.logger(os.Stderr) }
