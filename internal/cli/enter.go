package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/psremote/psremote/client"
)

const (
	// windowsVendor is the ProductVendor a Windows WinRM service reports
	// in its Identify reply.
	windowsVendor = "Microsoft Corporation"
	// windowsCommand is the interactive shell started on Windows hosts.
	windowsCommand = "cmd"
	// unixCommand starts the user's login shell, interactive. The server
	// runs it through sh -c, and exec spares a process.
	unixCommand = `exec "${SHELL:-/bin/sh}" -i`

	// doubleCtrlC is how soon a second Ctrl-C must follow the first to
	// end the session instead of being sent on.
	doubleCtrlC = time.Second
	// enterRequestTimeout bounds the Signal and Delete requests sent on
	// the user's behalf, whatever state the session is in.
	enterRequestTimeout = 5 * time.Second
)

type enterOptions struct {
	conn    connOptions
	command string
	pty     bool
	// signals, when set, replaces the process signals (SIGINT, SIGTERM,
	// SIGHUP) as the session's signal source; tests inject Ctrl-C here.
	signals <-chan os.Signal
}

func newEnterCmd(stdio IO) *cobra.Command {
	return newEnterCommand(stdio, &enterOptions{})
}

// newEnterCommand builds the enter verb around opts, so tests can set
// the fields that have no flag.
func newEnterCommand(stdio IO, opts *enterOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "enter HOST [flags]",
		Short: "Start an interactive session on a host (Enter-PSSession)",
		Long: `Start one long-lived command, by default an interactive shell, in a WinRS
shell on HOST and connect it to this terminal, like Enter-PSSession.

The command is --command, or else it is chosen from the host's Identify
reply: "cmd" when the ProductVendor is "Microsoft Corporation" (Windows),
otherwise exec "${SHELL:-/bin/sh}" -i (the user's login shell). A Linux
server runs the line through sh -c, so start a shell with exec (--command
'exec bash -i'): without it the wrapping sh also receives each Ctrl-C and
reports exit code 130 when the shell ends.

There is no remote terminal yet (--pty is reserved for it): the local
terminal stays in line mode, each line goes out when Enter is pressed, and
the remote shell has no tty, so an interactive sh prints its prompt on
stderr and full-screen programs do not work. Remote stdout and stderr are
copied as they arrive.

Ctrl-C is sent to the remote command as the ctrl_c signal; a second Ctrl-C
within a second ends the session. Ctrl-D (end of input) closes the remote
input, which ends a shell, as does typing "exit". psremote then exits with
the remote exit code, or 128+N when local signal N ended the session
(second Ctrl-C, SIGTERM, SIGHUP). The remote shell is deleted on every
path.`,
		Args:        cobra.MaximumNArgs(1),
		Annotations: map[string]string{annotSignals: "own"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.pty {
				return &usageError{errors.New("--pty is not supported yet: enter runs the remote command without a terminal (line mode); omit --pty")}
			}
			hosts := slices.Concat(opts.conn.hosts, args)
			if len(hosts) != 1 {
				return &usageError{errors.New("enter takes exactly one host")}
			}
			return enterRun(cmd.Context(), stdio, opts, hosts[0])
		},
	}
	opts.conn.register(cmd)
	f := cmd.Flags()
	f.StringVar(&opts.command, "command", "", `remote command line (default: "cmd" on Windows hosts, else exec "${SHELL:-/bin/sh}" -i)`)
	f.BoolVar(&opts.pty, "pty", false, "give the remote command a terminal (not supported yet)")
	return cmd
}

// defaultEnterCommand picks the interactive shell for a host from the
// ProductVendor of its Identify reply.
func defaultEnterCommand(vendor string) string {
	if vendor == windowsVendor {
		return windowsCommand
	}
	return unixCommand
}

func enterRun(ctx context.Context, stdio IO, opts *enterOptions, host string) error {
	// enter is marked annotSignals, so ctx is not cancelled by SIGINT or
	// SIGTERM: every signal comes through sigs, once.
	sigs := opts.signals
	if sigs == nil {
		ch := make(chan os.Signal, 4)
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
		defer signal.Stop(ch)
		sigs = ch
	}

	// Until the session starts, any signal abandons the set-up.
	setupCtx, abandon := context.WithCancelCause(ctx)
	defer abandon(nil)
	stopWatch, watchStopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watchStopped)
		select {
		case sig := <-sigs:
			abandon(signalExit(sig))
		case <-stopWatch:
		}
	}()
	c, sh, command, err := enterConnect(setupCtx, stdio, opts, host)
	close(stopWatch)
	<-watchStopped // from here on, signals wait in sigs for the session
	if c != nil {
		defer c.Close()
	}
	if sh != nil {
		defer func() {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), enterRequestTimeout)
			defer cancel()
			if err := sh.Close(dctx); err != nil {
				fmt.Fprintf(stdio.Err, "psremote: deleting shell %s: %v\n", sh.ID, err)
			}
		}()
	}
	if setupCtx.Err() != nil && ctx.Err() == nil {
		return context.Cause(setupCtx) // a signal: its exitStatus
	}
	if err != nil {
		return err
	}
	s := &session{in: stdio.In, stdout: stdio.Out, stderr: stdio.Err, notes: stdio.Err, signals: sigs}
	return s.run(ctx, sh, command)
}

// enterConnect prompts for the password, picks the command when
// --command is not set, and creates the shell. The client and shell it
// returns, even with an error, are the caller's to release.
func enterConnect(ctx context.Context, stdio IO, opts *enterOptions, host string) (*client.Client, *client.Shell, string, error) {
	ep, err := opts.conn.endpoint(host)
	if err != nil {
		return nil, nil, "", err
	}
	cfg, err := opts.conn.clientConfig(ctx, stdio, ep, true, "")
	if err != nil {
		return nil, nil, "", err
	}
	c, err := client.New(cfg)
	if err != nil {
		return nil, nil, "", opts.conn.explain(err, ep)
	}
	command := opts.command
	if command == "" {
		info, err := c.Identify(ctx, false)
		if err != nil {
			return c, nil, "", fmt.Errorf("identify %s to choose the remote shell (--command skips this): %w", host, opts.conn.explain(err, ep))
		}
		command = defaultEnterCommand(info.ProductVendor)
	}
	sh, err := c.CreateShell(ctx, client.ShellOptions{})
	if err != nil {
		return c, nil, "", opts.conn.explain(err, ep)
	}
	return c, sh, command, nil
}

// session is one interactive remote command wired to local I/O until it
// is done. Its fields are the pluggable ends. Line mode (today) fills
// them with the standard streams and the process signals. A PTY mode
// would read a raw-mode terminal (Ctrl-C then arrives as a keystroke,
// not as SIGINT), write one merged output as a terminal does, restore
// the terminal on exit, and add a window-size source to run's loop.
type session struct {
	in             io.Reader // streamed to the remote stdin; EOF closes it
	stdout, stderr io.Writer // remote output, written as it arrives
	notes          io.Writer // psremote's own messages
	// signals delivers os.Interrupt for Ctrl-C; any other signal ends
	// the session.
	signals <-chan os.Signal
}

// run starts command in sh and relays signals to it until it is done.
// It returns nil for exit code 0, an exitStatus for another exit code or
// for a session ended by a local signal, or the error that ended it.
func (s *session) run(ctx context.Context, sh *client.Shell, command string) error {
	// end stops the command early; its cause is what run returns.
	ctx, end := context.WithCancelCause(ctx)
	var signalling sync.WaitGroup
	defer signalling.Wait()
	defer end(nil)

	cmd := sh.Command(command)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s.in, s.stdout, s.stderr
	if err := cmd.Start(ctx); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	var lastCtrlC time.Time
	for {
		select {
		case err := <-done:
			var ee *client.ExitError
			switch {
			case err == nil:
				return nil
			case errors.As(err, &ee):
				return exitStatus(ee.Code)
			case ctx.Err() != nil:
				return context.Cause(ctx)
			}
			return err
		case sig := <-s.signals:
			if sig != os.Interrupt {
				fmt.Fprintf(s.notes, "psremote: %v: ending the session\n", sig)
				end(signalExit(sig))
				continue
			}
			now := time.Now()
			if now.Sub(lastCtrlC) < doubleCtrlC {
				fmt.Fprintln(s.notes, "psremote: second Ctrl-C: ending the session")
				end(signalExit(sig))
				continue
			}
			lastCtrlC = now
			signalling.Add(1)
			go func() {
				defer signalling.Done()
				sctx, cancel := context.WithTimeout(ctx, enterRequestTimeout)
				defer cancel()
				if err := cmd.Signal(sctx, client.SignalCtrlC); err != nil && ctx.Err() == nil {
					fmt.Fprintf(s.notes, "psremote: sending Ctrl-C: %v\n", err)
				}
			}()
		}
	}
}

// signalExit is the exit status of a session ended by sig: 128+N, as a
// shell reports a command killed by signal N.
func signalExit(sig os.Signal) exitStatus {
	if n, ok := sig.(syscall.Signal); ok {
		return exitStatus(128 + int(n))
	}
	return exitStatus(exitError)
}
