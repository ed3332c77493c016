package client

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/psremote/psremote/wsman"
)

// ShellOptions are the settings of a new shell.
type ShellOptions struct {
	// Environment variables set for every command of the shell.
	Environment map[string]string
	// WorkingDirectory for commands; empty means the user's home.
	WorkingDirectory string
	// IdleTimeout asks the server to drop the shell after this long
	// without requests; zero uses the server's IdleTimeout.
	IdleTimeout time.Duration
	// CodePage is sent as WINRS_CODEPAGE (default 65001, UTF-8).
	CodePage string
	// NoProfile is sent as WINRS_NOPROFILE.
	NoProfile bool
}

// Shell is a remote WinRS command shell. Close deletes it. A Shell is
// safe for concurrent use by several commands.
type Shell struct {
	c  *Client
	ID string

	cleanup sync.WaitGroup // terminate signals still in flight
}

// terminateAsync releases a finished command on the server without
// making the caller wait; Close waits for it.
func (s *Shell) terminateAsync(ctx context.Context, cid string) {
	s.cleanup.Add(1)
	go func() {
		defer s.cleanup.Done()
		tctx, cancel := context.WithTimeout(ctx, cleanupTimeout)
		defer cancel()
		_ = s.signal(tctx, cid, wsman.SignalTerminate)
	}()
}

// CreateShell opens a command shell.
func (c *Client) CreateShell(ctx context.Context, opts ShellOptions) (*Shell, error) {
	cp := opts.CodePage
	if cp == "" {
		cp = "65001"
	}
	np := "FALSE"
	if opts.NoProfile {
		np = "TRUE"
	}
	r, err := c.call(ctx, wsman.RequestHeader{Action: wsman.ActionCreate, ResourceURI: wsman.ResourceCmdShell,
		Options: []wsman.Option{{Name: "WINRS_NOPROFILE", Value: np}, {Name: "WINRS_CODEPAGE", Value: cp}}},
		func(b *bytes.Buffer) {
			b.WriteString(`<rsp:Shell>`)
			if len(opts.Environment) > 0 {
				b.WriteString(`<rsp:Environment>`)
				for k, v := range opts.Environment {
					b.WriteString(`<rsp:Variable Name="`)
					wsman.EscapeAttr(b, k)
					b.WriteString(`">`)
					wsman.EscapeText(b, v)
					b.WriteString(`</rsp:Variable>`)
				}
				b.WriteString(`</rsp:Environment>`)
			}
			if opts.WorkingDirectory != "" {
				b.WriteString(`<rsp:WorkingDirectory>`)
				wsman.EscapeText(b, opts.WorkingDirectory)
				b.WriteString(`</rsp:WorkingDirectory>`)
			}
			if opts.IdleTimeout > 0 {
				b.WriteString(`<rsp:IdleTimeOut>` + wsman.FormatDuration(opts.IdleTimeout) + `</rsp:IdleTimeOut>`)
			}
			b.WriteString(`<rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>`)
		})
	if err != nil {
		return nil, err
	}
	id, err := wsman.CreatedShellID(r)
	if err != nil {
		return nil, err
	}
	return &Shell{c: c, ID: id}, nil
}

func (s *Shell) header(action string) wsman.RequestHeader {
	return wsman.RequestHeader{Action: action, ResourceURI: wsman.ResourceCmdShell,
		Selectors: [][2]string{{"ShellId", s.ID}}}
}

// Close deletes the shell and every process in it. A shell the server
// no longer knows counts as closed.
func (s *Shell) Close(ctx context.Context) error {
	done := make(chan struct{})
	go func() { s.cleanup.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	_, err := s.c.call(ctx, s.header(wsman.ActionDelete), nil)
	var f *wsman.Fault
	if errors.As(err, &f) && f.WSManCode == wsman.ErrCodeUnexpectedSelectors {
		return nil
	}
	return err
}

// signal sends a signal code to a command (or the shell when cid is "").
func (s *Shell) signal(ctx context.Context, cid, code string) error {
	_, err := s.c.call(ctx, s.header(wsman.ActionSignal), func(b *bytes.Buffer) {
		b.WriteString(`<rsp:Signal`)
		if cid != "" {
			b.WriteString(` CommandId="`)
			wsman.EscapeAttr(b, cid)
			b.WriteString(`"`)
		}
		b.WriteString(`><rsp:Code>` + code + `</rsp:Code></rsp:Signal>`)
	})
	return err
}
