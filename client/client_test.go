package client_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/psremote/psremote/client"
	"github.com/psremote/psremote/internal/listener"
	"github.com/psremote/psremote/internal/testserver"
	"github.com/psremote/psremote/wsman"
)

// server starts an in-process psremote server on loopback HTTPS and
// returns a client config for it.
func server(t *testing.T) client.Config {
	t.Helper()
	cert, err := listener.SelfSigned(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv := testserver.Start(t, testserver.Options{User: "u", Password: "p",
		Endpoints: []listener.Endpoint{{Transport: "HTTPS", Addr: "127.0.0.1:0", URLPrefix: "wsman", Certificate: &cert}}})
	leaf, _ := x509.ParseCertificate(cert.Certificate[0])
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return client.Config{Endpoint: srv.URL(), Username: "u", Password: "p",
		TLSConfig: &tls.Config{RootCAs: pool}, OperationTimeout: 2 * time.Second}
}

func TestRunOutputStdinExit(t *testing.T) {
	c, err := client.New(server(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	sh, err := c.CreateShell(ctx, client.ShellOptions{Environment: map[string]string{"GREETING": "hi there"}})
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close(ctx)

	out, err := sh.Command(`echo "$GREETING"`).Output(ctx)
	if err != nil || string(out) != "hi there\n" {
		t.Errorf("Output: %q %v", out, err)
	}
	out, err = sh.Command("echo out; echo err >&2; exit 3").CombinedOutput(ctx)
	var ee *client.ExitError
	if !errors.As(err, &ee) || ee.Code != 3 || !strings.Contains(string(out), "out\n") || !strings.Contains(string(out), "err\n") {
		t.Errorf("CombinedOutput: %q %v", out, err)
	}
	cmd := sh.Command("wc", "-c")
	cmd.Stdin = strings.NewReader(strings.Repeat("x", 300000))
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if err := cmd.Run(ctx); err != nil || strings.TrimSpace(stdout.String()) != "300000" {
		t.Errorf("stdin: %q %v", stdout.String(), err)
	}
	// nil Stdin: the remote stdin is closed, so cat ends.
	out, err = sh.Command("cat").Output(ctx)
	if err != nil || len(out) != 0 {
		t.Errorf("cat with no stdin: %q %v", out, err)
	}
}

func TestSignalAndTimeouts(t *testing.T) {
	cfg := server(t)
	c, _ := client.New(cfg)
	defer c.Close()
	ctx := context.Background()
	sh, err := c.CreateShell(ctx, client.ShellOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close(ctx)

	// A command longer than OperationTimeout: TimedOut faults are polled through.
	out, err := sh.Command("sleep 3; echo late").Output(ctx)
	if err != nil || string(out) != "late\n" {
		t.Errorf("long command: %q %v", out, err)
	}
	cmd := sh.Command("sleep 100")
	if err := cmd.Start(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if err := cmd.Signal(ctx, client.SignalCtrlC); err != nil {
		t.Fatal(err)
	}
	var ee *client.ExitError
	if err := cmd.Wait(); !errors.As(err, &ee) || ee.Code != 130 {
		t.Errorf("ctrl_c: %v", err)
	}
	// The overall deadline ends the command.
	dctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if err := sh.Command("sleep 100").Run(dctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("deadline: %v", err)
	}
}

func TestIdentifyAndErrors(t *testing.T) {
	cfg := server(t)
	c, _ := client.New(cfg)
	ctx := context.Background()
	info, err := c.Identify(ctx, true)
	if err != nil || info.ProductVersion != "OS: 0.0.0 SP: 0.0 Stack: 3.0" || info.ProtocolVersion != wsman.NsWSMan {
		t.Errorf("anonymous identify: %+v %v", info, err)
	}
	info, err = c.Identify(ctx, false)
	if err != nil || info.ProductVersion != "OS: 1.0.0 SP: 0.0 Stack: 3.0" || info.ProductVendor != "psremote" {
		t.Errorf("identify: %+v %v", info, err)
	}
	bad := cfg
	bad.Password = "wrong"
	bc, _ := client.New(bad)
	if _, err := bc.CreateShell(ctx, client.ShellOptions{}); !errors.Is(err, client.ErrUnauthorized) {
		t.Errorf("wrong password: %v", err)
	}
	s2, _ := c.CreateShell(ctx, client.ShellOptions{})
	s2.Close(ctx)
	_, err = s2.Command("true").Output(ctx)
	f, ok := wsman.AsFault(err)
	if !ok || f.WSManCode != wsman.ErrCodeUnexpectedSelectors || !strings.Contains(f.Message, "shell was not found") {
		t.Errorf("command on deleted shell: %v", err)
	}
}

func ExampleShell_Command() {
	c, err := client.New(client.Config{Endpoint: "https://server.example:5986/wsman", Username: "me", Password: "secret"})
	if err != nil {
		return
	}
	ctx := context.Background()
	sh, err := c.CreateShell(ctx, client.ShellOptions{})
	if err != nil {
		return
	}
	defer sh.Close(ctx)
	out, err := sh.Command("uname", "-a").Output(ctx)
	_, _ = out, err
}
