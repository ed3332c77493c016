package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/psremote/psremote/wsman"
)

// Signal is a WinRS signal code.
type Signal string

// Signals a command can receive ([MS-WSMV] 2.2.4.38).
const (
	SignalCtrlC     Signal = wsman.SignalCtrlC
	SignalCtrlBreak Signal = wsman.SignalCtrlBreak
	SignalTerminate Signal = wsman.SignalTerminate
)

// stdinChunk is the most stdin sent in one Send.
const stdinChunk = 128 << 10

// cleanupTimeout bounds the terminate and delete requests sent after a
// command's context ended.
const cleanupTimeout = 5 * time.Second

// ExitError reports a command that finished with a non-zero exit code.
type ExitError struct {
	Code int
}

func (e *ExitError) Error() string { return fmt.Sprintf("remote command exited with code %d", e.Code) }

// ExitCode returns the remote exit code.
func (e *ExitError) ExitCode() int { return e.Code }

// Cmd is a remote command, shaped like os/exec.Cmd.
type Cmd struct {
	// Command and Args form the command line; the server runs
	// "Command Args..." through its shell unless SkipCmdShell is set.
	Command string
	Args    []string
	// SkipCmdShell asks the server to execute Command directly with Args
	// as its argument vector (WINRS_SKIP_CMD_SHELL).
	SkipCmdShell bool
	// Stdin is streamed to the command; nil means no input (the remote
	// stdin is closed at once).
	Stdin io.Reader
	// Stdout and Stderr receive the output; nil discards it.
	Stdout, Stderr io.Writer

	shell    *Shell
	id       string
	started  bool
	done     chan struct{} // closed when the receive loop and cleanup are over
	err      error         // valid after done
	exitCode int           // valid after done
	cancel   context.CancelFunc
	// stdinClosed records that the remote stdin of a command without
	// Stdin was closed; owned by the receive goroutine.
	stdinClosed bool
}

// Command returns a command to run in the shell.
func (s *Shell) Command(name string, args ...string) *Cmd {
	return &Cmd{Command: name, Args: args, shell: s}
}

// ID returns the CommandId once started.
func (c *Cmd) ID() string { return c.id }

// Start starts the command. ctx bounds the whole command: when it ends
// the command is terminated and Wait returns ctx's error.
func (c *Cmd) Start(ctx context.Context) error {
	if c.started {
		return errors.New("client: command already started")
	}
	c.started = true
	opts := []wsman.Option{{Name: "WINRS_CONSOLEMODE_STDIN", Value: "TRUE"}}
	if c.SkipCmdShell {
		opts = append(opts, wsman.Option{Name: "WINRS_SKIP_CMD_SHELL", Value: "TRUE"})
	}
	h := c.shell.header(wsman.ActionCommand)
	h.Options = opts
	r, err := c.shell.c.call(ctx, h, func(b *bytes.Buffer) {
		b.WriteString(`<rsp:CommandLine><rsp:Command>`)
		wsman.EscapeText(b, c.Command)
		b.WriteString(`</rsp:Command>`)
		for _, a := range c.Args {
			b.WriteString(`<rsp:Arguments>`)
			wsman.EscapeText(b, a)
			b.WriteString(`</rsp:Arguments>`)
		}
		b.WriteString(`</rsp:CommandLine>`)
	})
	if err != nil {
		return err
	}
	if c.id, err = wsman.CommandID(r); err != nil {
		return err
	}
	ctx, c.cancel = context.WithCancel(ctx)
	c.done = make(chan struct{})
	if c.Stdin != nil {
		go c.pumpStdin(ctx)
	}
	go c.receive(ctx)
	return nil
}

// quickPoll is the OperationTimeout of the first Receive of a command
// without Stdin. Most such commands finish within it, and then no
// request is needed to close their input; one still running gets its
// stdin closed after this poll.
const quickPoll = 100 * time.Millisecond

// pumpStdin streams Stdin with Send requests, as it arrives, and closes
// the remote stdin at EOF. Like os/exec with a Stdin that is not a file,
// Wait does not wait for it: a Read blocked on a terminal cannot be
// interrupted, and it ends at the next Read once the command is over.
func (c *Cmd) pumpStdin(ctx context.Context) {
	buf := make([]byte, stdinChunk)
	for {
		n, rerr := c.Stdin.Read(buf)
		if ctx.Err() != nil {
			return
		}
		end := rerr != nil
		if n == 0 && !end {
			continue
		}
		if err := c.send(ctx, buf[:n], end); err != nil || end {
			return
		}
	}
}

func (c *Cmd) send(ctx context.Context, data []byte, end bool) error {
	_, err := c.shell.c.call(ctx, c.shell.header(wsman.ActionSend), func(b *bytes.Buffer) {
		b.WriteString(`<rsp:Send><rsp:Stream Name="stdin" CommandId="`)
		wsman.EscapeAttr(b, c.id)
		b.WriteString(`"`)
		if end {
			b.WriteString(` End="true"`)
		}
		b.WriteString(`>`)
		b.WriteString(base64.StdEncoding.EncodeToString(data))
		b.WriteString(`</rsp:Stream></rsp:Send>`)
	})
	return err
}

// receive polls output until the command is Done; a TimedOut fault just
// polls again.
func (c *Cmd) receive(ctx context.Context) {
	defer close(c.done)
	c.err = c.receiveLoop(ctx)
	c.cancel() // stops the stdin pump
	// Release the command on the server whatever happened; Windows needs
	// terminate after Done (winrm-protocol.md 4.5). It is sent in the
	// background: the result is known already, and Shell.Close waits for it.
	c.shell.terminateAsync(context.WithoutCancel(ctx), c.id)
}

// receiveResult is the outcome of one Receive request.
type receiveResult struct {
	r   *wsman.Reply
	err error
}

// receiveLoop polls output until the command is Done. It pipelines: once
// a reply is parsed and the command is still running, the next Receive
// is sent before this reply's output is decoded and written, so the
// server produces the next reply while the client consumes this one.
// Only one Receive is ever in flight, and the server hands out output
// only once the previous reply was written, so nothing is lost or
// repeated.
func (c *Cmd) receiveLoop(ctx context.Context) error {
	pctx, pcancel := context.WithCancel(ctx)
	var pending chan receiveResult
	defer func() {
		pcancel()
		if pending != nil {
			<-pending
		}
	}()
	var buf []byte
	first := true
	for {
		var r *wsman.Reply
		var err error
		if pending != nil {
			res := <-pending
			pending = nil
			r, err = res.r, res.err
		} else {
			var h wsman.RequestHeader
			if h, err = c.receiveHeader(ctx, first); err != nil {
				return err
			}
			first = false
			r, err = c.receiveCall(ctx, h)
		}
		if f, ok := wsman.AsFault(err); ok && f.WSManCode == wsman.ErrCodeOperationTimedOut {
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		if !r.Body.Is(wsman.NsShell, "ReceiveResponse") {
			return fmt.Errorf("client: Receive: reply is not a ReceiveResponse")
		}
		state := wsman.ReceiveCommandState(r)
		done := state != nil && state.State == wsman.CommandStateDone
		if !done {
			h, err := c.receiveHeader(ctx, false)
			if err != nil {
				return err
			}
			ch := make(chan receiveResult, 1)
			pending = ch
			go func() {
				r, err := c.receiveCall(pctx, h)
				ch <- receiveResult{r, err}
			}()
		}
		var out *wsman.ReceiveOutput
		out, buf, err = wsman.ParseReceiveResponseBuf(r, buf[:0])
		if err != nil {
			return err
		}
		for _, s := range out.Streams {
			if len(s.Data) == 0 {
				continue
			}
			w := c.Stdout
			if s.Name == "stderr" {
				w = c.Stderr
			}
			if w == nil {
				continue
			}
			if _, err := w.Write(s.Data); err != nil {
				return fmt.Errorf("client: writing %s: %w", s.Name, err)
			}
		}
		if done {
			c.exitCode = state.ExitCode
			return nil
		}
	}
}

// receiveHeader returns the header of the next Receive. The first poll of
// a command without Stdin is short; if the command is still running
// after it, its stdin is closed (nil Stdin means no input, as with
// os/exec) before the next poll.
func (c *Cmd) receiveHeader(ctx context.Context, first bool) (wsman.RequestHeader, error) {
	h := c.shell.header(wsman.ActionReceive)
	if first && c.Stdin == nil {
		h.OperationTimeout = min(quickPoll, c.shell.c.cfg.OperationTimeout)
	} else if c.Stdin == nil && !c.stdinClosed {
		c.stdinClosed = true
		if err := c.send(ctx, nil, true); err != nil && ctx.Err() == nil {
			if f, ok := wsman.AsFault(err); !ok || f.WSManCode == wsman.ErrCodeUnexpectedSelectors {
				return h, err
			}
		}
	}
	return h, nil
}

// receiveCall sends one Receive for the command's stdout and stderr.
func (c *Cmd) receiveCall(ctx context.Context, h wsman.RequestHeader) (*wsman.Reply, error) {
	return c.shell.c.call(ctx, h, func(b *bytes.Buffer) {
		b.WriteString(`<rsp:Receive><rsp:DesiredStream CommandId="`)
		wsman.EscapeAttr(b, c.id)
		b.WriteString(`">stdout stderr</rsp:DesiredStream></rsp:Receive>`)
	})
}

// Wait waits for the command to finish and releases it on the server. It
// returns an *ExitError for a non-zero exit code.
func (c *Cmd) Wait() error {
	if !c.started || c.done == nil {
		return errors.New("client: command not started")
	}
	<-c.done
	if c.err != nil {
		return c.err
	}
	if c.exitCode != 0 {
		return &ExitError{Code: c.exitCode}
	}
	return nil
}

// ExitCode returns the exit code after Wait.
func (c *Cmd) ExitCode() int { return c.exitCode }

// Run starts the command and waits for it.
func (c *Cmd) Run(ctx context.Context) error {
	if err := c.Start(ctx); err != nil {
		return err
	}
	return c.Wait()
}

// Output runs the command and returns its standard output.
func (c *Cmd) Output(ctx context.Context) ([]byte, error) {
	var out bytes.Buffer
	c.Stdout = &out
	err := c.Run(ctx)
	return out.Bytes(), err
}

// CombinedOutput runs the command and returns stdout and stderr together,
// in the order the server delivered them.
func (c *Cmd) CombinedOutput(ctx context.Context) ([]byte, error) {
	var out syncBuffer
	c.Stdout, c.Stderr = &out, &out
	err := c.Run(ctx)
	return out.Bytes(), err
}

// Signal sends a signal to the running command.
func (c *Cmd) Signal(ctx context.Context, sig Signal) error {
	if c.id == "" {
		return errors.New("client: command not started")
	}
	return c.shell.signal(ctx, c.id, string(sig))
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Bytes()
}
