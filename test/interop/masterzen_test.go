package interop

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/masterzen/winrm"
	"github.com/masterzen/winrm/soap"
)

// mzClient returns a masterzen/winrm client using Basic over HTTP or
// HTTPS (verifying the test CA).
func mzClient(t *testing.T, s *server, https bool, params *winrm.Parameters) *winrm.Client {
	t.Helper()
	port := s.httpPort
	if https {
		port = s.httpsPort
	}
	ep := winrm.NewEndpoint("127.0.0.1", port, https, false, s.caPEM, nil, nil, 30*time.Second)
	if params == nil {
		params = winrm.DefaultParameters
	}
	c, err := winrm.NewClientWithParameters(ep, testUser, s.password, params)
	if err != nil {
		t.Fatalf("winrm.NewClientWithParameters: %v", err)
	}
	return c
}

// mzCase is one command run through masterzen's RunWithContextWithInput.
type mzCase struct {
	name     string
	command  string
	stdin    string
	wantOut  string
	wantErr  string
	wantCode int
}

var mzCases = []mzCase{
	{name: "echo", command: "echo hello", wantOut: "hello\n"},
	{name: "stderr", command: "echo oops >&2", wantErr: "oops\n"},
	{name: "exit3", command: "exit 3", wantCode: 3},
	{name: "mixed", command: "echo before; echo problem >&2; exit 3", wantOut: "before\n", wantErr: "problem\n", wantCode: 3},
	{name: "stdin", command: "wc -c", stdin: "abc\n", wantOut: "4\n"},
	{name: "binary", command: `printf '\000\001\377'`, wantOut: "\x00\x01\xff"},
	{name: "user", command: "id -un", wantOut: testUser + "\n"},
}

// runMZCases runs every case through c, one subtest each.
func runMZCases(t *testing.T, c *winrm.Client, cases []mzCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var stdin io.Reader
			if tc.stdin != "" {
				stdin = strings.NewReader(tc.stdin)
			}
			var stdout, stderr bytes.Buffer
			code, err := c.RunWithContextWithInput(ctx, tc.command, &stdout, &stderr, stdin)
			if err != nil {
				t.Fatalf("RunWithContextWithInput(%q): %v", tc.command, err)
			}
			if got := stdout.String(); got != tc.wantOut {
				t.Errorf("stdout = %q; want %q", got, tc.wantOut)
			}
			if got := stderr.String(); got != tc.wantErr {
				t.Errorf("stderr = %q; want %q", got, tc.wantErr)
			}
			if code != tc.wantCode {
				t.Errorf("exit code = %d; want %d", code, tc.wantCode)
			}
		})
	}
}

func TestMasterzenBasic(t *testing.T) {
	s := serverFor(t)
	for _, https := range []bool{false, true} {
		name := "HTTP"
		if https {
			name = "HTTPS"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			runMZCases(t, mzClient(t, s, https, nil), mzCases)
		})
	}
}

func TestMasterzenWrongPassword(t *testing.T) {
	s := serverFor(t)
	ep := winrm.NewEndpoint("127.0.0.1", s.httpPort, false, false, nil, nil, nil, 10*time.Second)
	c, err := winrm.NewClient(ep, testUser, s.password+"x")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateShell()
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("CreateShell with a wrong password: err = %v; want an HTTP 401 error", err)
	}
}

// TestMasterzenStdinStreaming feeds `cat` through Command.Stdin in several
// writes (one larger than an envelope, so masterzen splits it into several
// Send requests) while output is received concurrently.
func TestMasterzenStdinStreaming(t *testing.T) {
	s := serverFor(t)
	c := mzClient(t, s, false, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	chunks := [][]byte{
		[]byte("first line\n"),
		{0x00, 0xff, 0x80, 0x7f, '\r', '\n'},
		pattern(400 << 10), // about three envelopes' worth
		[]byte("last line without newline"),
	}
	want := bytes.Join(chunks, nil)

	shell, err := c.CreateShell()
	if err != nil {
		t.Fatalf("CreateShell: %v", err)
	}
	defer shell.Close()
	cmd, err := shell.ExecuteWithContext(ctx, "cat")
	if err != nil {
		t.Fatalf("Execute(cat): %v", err)
	}
	var stdout, stderr bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); io.Copy(&stdout, cmd.Stdout) }()
	go func() { defer wg.Done(); io.Copy(&stderr, cmd.Stderr) }()
	for i, chunk := range chunks {
		if n, err := cmd.Stdin.Write(chunk); err != nil || n != len(chunk) {
			t.Fatalf("Stdin.Write(chunk %d, %d bytes) = %d, %v", i, len(chunk), n, err)
		}
	}
	if err := cmd.Stdin.Close(); err != nil {
		t.Fatalf("Stdin.Close: %v", err)
	}
	cmd.Wait()
	wg.Wait()
	cmd.Close()

	if !bytes.Equal(stdout.Bytes(), want) {
		t.Errorf("stdout: got %d bytes (sha256 %s); want %d bytes (sha256 %s)%s",
			stdout.Len(), sha256Hex(stdout.Bytes()), len(want), sha256Hex(want), firstDiff(stdout.Bytes(), want))
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr = %q; want empty", stderr.Bytes())
	}
	if code := cmd.ExitCode(); code != 0 {
		t.Errorf("exit code = %d; want 0", code)
	}
}

// largeOutputSize is 50 MiB of `seq` output: deterministic, and every line
// differs, so loss, duplication or reordering changes the hash.
const largeOutputSize = 50 << 20

func TestMasterzenLargeOutput(t *testing.T) {
	s := serverFor(t)
	c := mzClient(t, s, false, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()

	want := sha256.New()
	want.Write(seqOutput(largeOutputSize))

	got := sha256.New()
	counter := &countWriter{w: got}
	var stderr bytes.Buffer
	start := time.Now()
	command := fmt.Sprintf("seq 1 10000000 | head -c %d", largeOutputSize)
	code, err := c.RunWithContext(ctx, command, counter, &stderr)
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("RunWithContext(%q) after %v: %v", command, elapsed, err)
	}
	t.Logf("received %d bytes in %v (%.1f MB/s)", counter.n, elapsed, float64(counter.n)/1e6/elapsed.Seconds())
	if counter.n != largeOutputSize {
		t.Errorf("stdout length = %d; want %d", counter.n, largeOutputSize)
	}
	if g, w := hex.EncodeToString(got.Sum(nil)), hex.EncodeToString(want.Sum(nil)); g != w {
		t.Errorf("stdout sha256 = %s; want %s", g, w)
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr = %q; want empty", stderr.Bytes())
	}
	if code != 0 {
		t.Errorf("exit code = %d; want 0", code)
	}
}

// signalCtrlC is the WS-Management shell signal code for Ctrl+C.
const signalCtrlC = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/ctrl_c"

// TestMasterzenCtrlC starts `sleep 597` and sends a ctrl_c Signal. masterzen
// has no helper for ctrl_c (its Command.Close sends terminate), so the
// test uses its lower-level API: its request builders and parsers, and its
// own transport (Transporter.Post) for a Signal message built with its
// soap package.
func TestMasterzenCtrlC(t *testing.T) {
	s := serverFor(t)
	const marker = "597"
	tr := winrm.NewClientWithDial(nil)
	params := *winrm.DefaultParameters
	params.TransportDecorator = func() winrm.Transporter { return tr }
	c := mzClient(t, s, false, &params)
	url := s.httpURL

	post := func(what string, msg *soap.SoapMessage) string {
		t.Helper()
		defer msg.Free()
		resp, err := tr.Post(c, msg)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return resp
	}

	shellID, err := winrm.ParseOpenShellResponse(post("Create shell", winrm.NewOpenShellRequest(url, &params)))
	if err != nil || shellID == "" {
		t.Fatalf("ParseOpenShellResponse: %q, %v", shellID, err)
	}
	defer func() {
		if _, err := tr.Post(c, winrm.NewDeleteShellRequest(url, shellID, &params)); err != nil {
			t.Errorf("Delete shell: %v", err)
		}
	}()
	commandID, err := winrm.ParseExecuteCommandResponse(post("Command", winrm.NewExecuteCommandRequest(url, shellID, "sleep "+marker, nil, &params)))
	if err != nil || commandID == "" {
		t.Fatalf("ParseExecuteCommandResponse: %q, %v", commandID, err)
	}
	if !waitFor(5*time.Second, func() bool { return len(s.sleepProcs(marker)) > 0 }) {
		t.Fatalf("no `sleep %s` process of %s appeared within 5s", marker, testUser)
	}

	signaled := time.Now()
	post("Signal ctrl_c", newSignalRequest(url, shellID, commandID, signalCtrlC, &params))

	// Receive until Done; each Receive may also end in an OperationTimeout
	// fault, which masterzen treats as "no output yet".
	params.Timeout = "PT5S"
	var stdout, stderr bytes.Buffer
	code := -1
	for done := false; !done; {
		if time.Since(signaled) > 15*time.Second {
			t.Fatalf("command not Done 15s after ctrl_c (stdout %q, stderr %q)", stdout.Bytes(), stderr.Bytes())
		}
		msg := winrm.NewGetOutputRequest(url, shellID, commandID, "stdout stderr", &params)
		resp, err := tr.Post(c, msg)
		msg.Free()
		if err != nil {
			if strings.Contains(err.Error(), "OperationTimeout") {
				continue
			}
			t.Fatalf("Receive after ctrl_c: %v", err)
		}
		done, code, err = winrm.ParseSlurpOutputErrResponse(resp, &stdout, &stderr)
		if err != nil {
			t.Fatalf("ParseSlurpOutputErrResponse: %v\n%s", err, resp)
		}
	}
	elapsed := time.Since(signaled)
	if elapsed > 5*time.Second {
		t.Errorf("command ended %v after ctrl_c; want well under 5s", elapsed)
	}
	if code != 130 {
		t.Errorf("exit code after ctrl_c = %d; want 130 (128+SIGINT)", code)
	}
	if stdout.Len() != 0 || stderr.Len() != 0 {
		t.Errorf("output after ctrl_c: stdout %q, stderr %q; want none", stdout.Bytes(), stderr.Bytes())
	}
	if !waitFor(2*time.Second, func() bool { return len(s.sleepProcs(marker)) == 0 }) {
		t.Errorf("`sleep %s` processes of %s still running after ctrl_c: %v", marker, testUser, s.sleepProcs(marker))
	}
}

// TestMasterzenCancel cancels the context of a running `sleep 598`:
// masterzen then sends a terminate Signal, and the process must go away.
func TestMasterzenCancel(t *testing.T) {
	s := serverFor(t)
	const marker = "598"
	// A short OperationTimeout makes masterzen notice the cancellation at
	// its next Receive.
	params := winrm.NewParameters("PT2S", "en-US", 153600)
	c := mzClient(t, s, false, params)
	shell, err := c.CreateShell()
	if err != nil {
		t.Fatalf("CreateShell: %v", err)
	}
	defer shell.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd, err := shell.ExecuteWithContext(ctx, "sleep "+marker)
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	go io.Copy(io.Discard, cmd.Stdout)
	go io.Copy(io.Discard, cmd.Stderr)
	if !waitFor(5*time.Second, func() bool { return len(s.sleepProcs(marker)) > 0 }) {
		t.Fatalf("no `sleep %s` process of %s appeared within 5s", marker, testUser)
	}
	cancel()
	waited := make(chan struct{})
	go func() { cmd.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(20 * time.Second):
		t.Fatal("command still not finished 20s after cancellation (masterzen retries Receive only on faults mentioning OperationTimeout)")
	}
	if !waitFor(3*time.Second, func() bool { return len(s.sleepProcs(marker)) == 0 }) {
		t.Errorf("`sleep %s` processes of %s still running 3s after cancellation: %v (masterzen sends its terminate Signal only once its pending Receive ends, normally with a fault whose text mentions OperationTimeout)", marker, testUser, s.sleepProcs(marker))
	}
}

// newSignalRequest builds a Signal request like masterzen's
// NewSignalRequest, with any signal code.
func newSignalRequest(url, shellID, commandID, code string, params *winrm.Parameters) *soap.SoapMessage {
	msg := soap.NewMessage()
	msg.Header().
		To(url).
		ReplyTo("http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous").
		MaxEnvelopeSize(params.EnvelopeSize).
		Id("uuid:" + uuid4()).
		Locale(params.Locale).
		Timeout(params.Timeout).
		Action("http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal").
		ResourceURI("http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd").
		ShellId(shellID).
		Build()
	signal := msg.CreateBodyElement("Signal", soap.DOM_NS_WIN_SHELL)
	signal.SetAttr("CommandId", commandID)
	msg.CreateElement(signal, "Code", soap.DOM_NS_WIN_SHELL).SetContent(code)
	return msg
}

// uuid4 returns a random RFC 4122 version 4 UUID.
func uuid4() string {
	b := []byte(randomHex(16))
	// hex digits 12 and 16 carry the version and variant.
	b[12] = '4'
	b[16] = "89ab"[b[16]%4]
	s := string(b)
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

// pattern returns n deterministic bytes covering every byte value.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// seqOutput returns the first n bytes of `seq 1 N` for a large N.
func seqOutput(n int) []byte {
	b := make([]byte, 0, n+16)
	for i := 1; len(b) < n; i++ {
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, '\n')
	}
	return b[:n]
}

type countWriter struct {
	w io.Writer
	n int
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += n
	return n, err
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// firstDiff describes where got first differs from want.
func firstDiff(got, want []byte) string {
	n := min(len(got), len(want))
	for i := 0; i < n; i++ {
		if got[i] != want[i] {
			return fmt.Sprintf("; first difference at byte %d: got %q, want %q", i, got[i:min(i+16, len(got))], want[i:min(i+16, len(want))])
		}
	}
	return fmt.Sprintf("; identical for the first %d bytes", n)
}
