package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit statuses of the psremote command.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// IO holds the standard streams, so commands can be tested with buffers.
type IO struct {
	In       io.Reader
	Out, Err io.Writer
	// Getenv reads the environment; tests substitute a map.
	Getenv func(string) string
}

// usageError marks errors that should print usage and exit 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// annotSignals marks commands that handle SIGINT and SIGTERM themselves
// (serve drains, run and enter forward Ctrl-C to remote commands); every
// other command's context is cancelled by them.
const annotSignals = "psremote/signals"

// Main runs the command line and returns the process exit status.
func Main(args []string) int {
	stdio := IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, Getenv: os.Getenv}
	if path := os.Getenv("PSREMOTE_CPUPROFILE"); path != "" {
		// A development aid for the benchmarks in bench/: a CPU profile
		// of this process.
		f, err := os.Create(path)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			if f != nil {
				f.Close()
			}
			fmt.Fprintln(stdio.Err, "psremote: PSREMOTE_CPUPROFILE:", err)
		} else {
			defer func() {
				pprof.StopCPUProfile()
				f.Close()
			}()
		}
	}
	err := Run(context.Background(), stdio, args)
	if err == nil {
		return exitOK
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(stdio.Err, "psremote:", err)
		return exitUsage
	}
	var ec interface{ ExitCode() int }
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	fmt.Fprintln(stdio.Err, "psremote:", err)
	return exitError
}

// Run executes one command line; it is the testable entry point.
func Run(ctx context.Context, stdio IO, args []string) error {
	root := newRootCmd(stdio)
	root.SetArgs(args)
	root.SetIn(stdio.In)
	root.SetOut(stdio.Out)
	root.SetErr(stdio.Err)
	var stop context.CancelFunc
	root.PersistentPreRunE = func(c *cobra.Command, _ []string) error {
		if c.Annotations[annotSignals] == "" {
			var ctx context.Context
			ctx, stop = signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
			c.SetContext(ctx)
		}
		return nil
	}
	err := root.ExecuteContext(ctx)
	if stop != nil {
		stop()
	}
	return err
}

func newRootCmd(stdio IO) *cobra.Command {
	root := &cobra.Command{
		Use:           "psremote",
		Short:         "WinRM / WS-Management server for Linux and remote-command client",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &usageError{err}
	})
	root.AddCommand(newServeCmd(stdio), newUserCmd(stdio), newRunCmd(stdio), newIdentifyCmd(stdio), newEnterCmd(stdio))
	return root
}
