package cli

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/psremote/psremote/auth/certmap"
	"github.com/psremote/psremote/internal/config"
	"github.com/psremote/psremote/internal/identity"
	"github.com/psremote/psremote/internal/proc"
)

// buildBinary compiles psremote once per test binary run.
func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "psremote")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/psremote/psremote/cmd/psremote").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type rawClient struct {
	t         *testing.T
	url, auth string
}

func (c *rawClient) call(action, selectors, body string) string {
	c.t.Helper()
	env := `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><s:Header>` +
		`<a:To>` + c.url + `</a:To><a:ReplyTo><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo>` +
		`<a:MessageID>uuid:` + strconv.FormatInt(time.Now().UnixNano(), 10) + `</a:MessageID><a:Action>` + action + `</a:Action>` +
		`<w:ResourceURI>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd</w:ResourceURI><w:OperationTimeout>PT5S</w:OperationTimeout>` +
		selectors + `</s:Header><s:Body>` + body + `</s:Body></s:Envelope>`
	req, _ := http.NewRequest(http.MethodPost, c.url, strings.NewReader(env))
	req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
	req.Header.Set("Authorization", c.auth)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s: %v", action, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		c.t.Fatalf("%s: HTTP %d\n%s", action, resp.StatusCode, b)
	}
	return string(b)
}

func between(s, open, close string) string {
	_, after, _ := strings.Cut(s, open)
	v, _, _ := strings.Cut(after, close)
	return v
}

// TestServeSIGTERMEndsChildren starts the real binary, runs a long
// command through it, sends SIGTERM and checks that the server exits 0
// and the command's process is gone.
func TestServeSIGTERMEndsChildren(t *testing.T) {
	bin := buildBinary(t)
	self, err := identity.Current()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "psremote.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`StateDir: %s
Service:
  AllowUnencrypted: true
  Auth: {Basic: true, BasicSources: [store]}
Listeners:
  - {Transport: HTTP, Port: 0}
`, filepath.Join(dir, "state"))), 0o600)
	add := exec.Command(bin, "user", "add", self.Name, "--state-dir", filepath.Join(dir, "state"))
	add.Env = append(os.Environ(), "PSREMOTE_PASSWORD=pw-for-test")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}

	srv := exec.Command(bin, "serve", "--config", cfg)
	stderr, _ := srv.StderrPipe()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Process.Kill()
	sc := bufio.NewScanner(stderr)
	url := ""
	for sc.Scan() {
		if m := regexp.MustCompile(`listening HTTP (\S+)`).FindStringSubmatch(sc.Text()); m != nil {
			url = m[1]
			break
		}
	}
	if url == "" {
		t.Fatal("server printed no listening line")
	}
	go io.Copy(io.Discard, stderr)

	req, _ := http.NewRequest("GET", "http://x", nil)
	req.SetBasicAuth(self.Name, "pw-for-test")
	c := &rawClient{t: t, url: url, auth: req.Header.Get("Authorization")}
	created := c.call("http://schemas.xmlsoap.org/ws/2004/09/transfer/Create", "", `<rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>`)
	sid := between(created, "<rsp:ShellId>", "</rsp:ShellId>")
	sel := `<w:SelectorSet><w:Selector Name="ShellId">` + sid + `</w:Selector></w:SelectorSet>`
	cmd := c.call("http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command", sel,
		`<rsp:CommandLine><rsp:Command>echo $$; exec sleep 300</rsp:Command></rsp:CommandLine>`)
	cid := between(cmd, "<rsp:CommandId>", "</rsp:CommandId>")
	recv := c.call("http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive", sel,
		`<rsp:Receive><rsp:DesiredStream CommandId="`+cid+`">stdout stderr</rsp:DesiredStream></rsp:Receive>`)
	raw, _ := base64.StdEncoding.DecodeString(between(recv, `Name="stdout" CommandId="`+cid+`">`, "</rsp:Stream>"))
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatalf("no pid in %q (%s)", raw, recv)
	}
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("command process %d not running: %v", pid, err)
	}

	// psremote run and identify against the same server. Basic over HTTP
	// needs the host in the client's TrustedHosts and AllowUnencrypted.
	cdir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cdir)
	os.MkdirAll(filepath.Join(cdir, "psremote"), 0o700)
	os.WriteFile(filepath.Join(cdir, "psremote", "config.yaml"), []byte("TrustedHosts: 127.0.0.1,localhost\nAllowUnencrypted: true\n"), 0o600)
	var out, errOut strings.Builder
	env := map[string]string{"PSREMOTE_PASSWORD": "pw-for-test"}
	stdio := IO{In: strings.NewReader(""), Out: &out, Err: &errOut, Getenv: func(k string) string { return env[k] }}
	err = Run(context.Background(), stdio, []string{"run", "-H", url, "-u", self.Name, "--", "echo hi; echo oops >&2; exit 5"})
	if code, ok := err.(exitStatus); !ok || int(code) != 5 || out.String() != "hi\n" || errOut.String() != "oops\n" {
		t.Errorf("run: err %v stdout %q stderr %q", err, out.String(), errOut.String())
	}
	out.Reset()
	if err := Run(context.Background(), stdio, []string{"identify", url, "--json"}); err != nil || !strings.Contains(out.String(), `"ProductVendor":"psremote"`) {
		t.Errorf("identify: %v %s", err, out.String())
	}
	out.Reset()
	errOut.Reset()
	err = Run(context.Background(), stdio, []string{"run", "-H", url + "," + strings.Replace(url, "127.0.0.1", "localhost", 1), "-u", self.Name, "--", "printf 'a\\nb'"})
	url2 := strings.Replace(url, "127.0.0.1", "localhost", 1)
	if err != nil || strings.Count(out.String(), url+": a\n") != 1 || strings.Count(out.String(), url2+": b\n") != 1 ||
		!strings.Contains(errOut.String(), "2 succeeded, 0 failed, 0 unreachable") {
		t.Errorf("run on two hosts: %v %q %q", err, out.String(), errOut.String())
	}
	// Basic over HTTP is refused for hosts outside TrustedHosts.
	os.WriteFile(filepath.Join(cdir, "psremote", "config.yaml"), []byte("TrustedHosts: other.example\nAllowUnencrypted: true\n"), 0o600)
	errOut.Reset()
	if err := Run(context.Background(), stdio, []string{"run", "-H", url, "--", "true"}); err == nil || !strings.Contains(err.Error(), "TrustedHosts") {
		t.Errorf("run over HTTP to an untrusted host: %v", err)
	}

	srv.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- srv.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("server exit: %v; want status 0", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("server did not exit after SIGTERM")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for syscall.Kill(pid, 0) == nil {
		if ctx.Err() != nil {
			t.Fatalf("command process %d survived the server", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSecurityProfiles lists the profiles of authenticated Identify in
// Windows' order, per transport (MS-WSMV 3.1.4.1.29.2).
func TestSecurityProfiles(t *testing.T) {
	cfg, err := config.Parse([]byte("Service: {Auth: {Basic: true, Keytab: " + writeKeytab(t, "HTTP/localhost") + "}}\nStateDir: " + t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	self, err := identity.Current()
	if err != nil {
		t.Fatal(err)
	}
	mechs, closeMechs, err := buildMechanisms(cfg, self, proc.NewHost(self), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer closeMechs()
	var schemes []string
	for _, m := range mechs {
		schemes = append(schemes, m.Scheme())
	}
	if want := []string{"Negotiate", "Kerberos", "Basic"}; !slices.Equal(schemes, want) {
		t.Errorf("schemes %q; want %q", schemes, want)
	}
	p := securityProfiles(append(mechs, certmap.NewMechanism(nil, nil)))
	const pre = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/"
	if got, want := p(false), []string{pre + "http/basic", pre + "http/spnego-kerberos"}; !slices.Equal(got, want) {
		t.Errorf("HTTP profiles %q; want %q", got, want)
	}
	if got, want := p(true), []string{pre + "https/basic", pre + "https/spnego-kerberos", pre + "https/mutual"}; !slices.Equal(got, want) {
		t.Errorf("HTTPS profiles %q; want %q", got, want)
	}
	if got := securityProfiles(mechs[2:])(false); !slices.Equal(got, []string{pre + "http/basic"}) {
		t.Errorf("Basic only: %q", got)
	}
}

// TestKerberosAcceptorConfig covers where the keytab comes from and what
// makes Kerberos unavailable or the configuration wrong.
func TestKerberosAcceptorConfig(t *testing.T) {
	var logs strings.Builder
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	good := writeKeytab(t, "HTTP/localhost")
	hostOnly := writeKeytab(t, "host/localhost")
	mapFile := filepath.Join(t.TempDir(), "principals")
	os.WriteFile(mapFile, []byte("admin@OTHER.TEST alice\n"), 0o600)
	tests := []struct {
		name, yaml string
		offered    bool
		wantErr    bool
	}{
		{"keytab", "Keytab: " + good, true, false},
		{"keytab and map", "{Keytab: " + good + ", PrincipalMapFile: " + mapFile + "}", true, false},
		{"missing explicit keytab", "Keytab: /nonexistent/krb5.keytab", false, true},
		{"no HTTP key", "Keytab: " + hostOnly, false, true},
		{"missing map", "{Keytab: " + good + ", PrincipalMapFile: /nonexistent}", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte("Service: {Auth: " + braces(tt.yaml) + "}"))
			if err != nil {
				t.Fatal(err)
			}
			acc, pmap, err := kerberosAcceptor(cfg, logger)
			if (err != nil) != tt.wantErr || (acc != nil) != tt.offered {
				t.Fatalf("acceptor %v, err %v", acc != nil, err)
			}
			if tt.offered {
				if u, err := pmap.Map("user1@EXAMPLE.TEST"); err != nil || u != "user1" {
					t.Errorf("default realm mapping: %q, %v", u, err)
				}
			}
		})
	}
	if !strings.Contains(logs.String(), "Kerberos is offered") || strings.Contains(logs.String(), "pw-") {
		t.Errorf("logs: %s", logs.String())
	}
}

func braces(s string) string {
	if strings.HasPrefix(s, "{") {
		return s
	}
	return "{" + s + "}"
}

// writeKeytab writes a keytab with one AES key for spn in EXAMPLE.TEST.
func writeKeytab(t *testing.T, spn string) string {
	t.Helper()
	kt := keytab.New()
	if err := kt.AddEntry(spn, "EXAMPLE.TEST", "pw-"+spn, time.Unix(0, 0), 1, etypeID.AES128_CTS_HMAC_SHA1_96); err != nil {
		t.Fatal(err)
	}
	b, err := kt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "krb5.keytab")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
