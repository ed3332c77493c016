package cli

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/psremote/psremote/auth"
	"github.com/psremote/psremote/auth/cbt"
	"github.com/psremote/psremote/auth/kerberos"
	"github.com/psremote/psremote/auth/negotiate"
	"github.com/psremote/psremote/auth/ntlm"
	"github.com/psremote/psremote/client"
	"github.com/psremote/psremote/client/trust"
	"github.com/psremote/psremote/internal/identity"
	"github.com/psremote/psremote/internal/listener"
	"github.com/psremote/psremote/internal/proc"
	"github.com/psremote/psremote/internal/service"
	"github.com/psremote/psremote/internal/shell"
	"github.com/psremote/psremote/internal/testkdc"
)

// authIO is an IO with the given environment and a stdin that is not a
// terminal, so a password prompt is an error.
func authIO(env map[string]string) IO {
	return IO{In: strings.NewReader(""), Out: &fanBuffer{}, Err: &fanBuffer{}, Getenv: func(k string) string { return env[k] }}
}

func TestCredentialsChoice(t *testing.T) {
	dir := t.TempDir()
	ccache := filepath.Join(dir, "krb5cc")
	if err := os.WriteFile(ccache, []byte("not empty"), 0o600); err != nil {
		t.Fatal(err)
	}
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("from-file\nsecond line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	openFile := filepath.Join(dir, "pw-open")
	if err := os.WriteFile(openFile, []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	emptyFile := filepath.Join(dir, "pw-empty")
	if err := os.WriteFile(emptyFile, []byte("\nx\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := listener.SelfSigned(dir); err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "tls", "selfsigned.pem"), filepath.Join(dir, "tls", "selfsigned.key")
	noCache := filepath.Join(dir, "no-such-ccache")
	withPW := map[string]string{passwordEnv: "env-pw", "KRB5CCNAME": noCache}

	tests := []struct {
		name     string
		opts     connOptions
		env      map[string]string
		auth     string // Auth.String()
		password string
		krbPW    string
		errText  string // a usage error containing this
	}{
		{name: "auto with a password", opts: connOptions{user: "bob"}, env: withPW, auth: "Auto", password: "env-pw"},
		{name: "empty --auth is auto", opts: connOptions{authMethod: "", user: "bob"}, env: withPW, auth: "Auto", password: "env-pw"},
		{name: "auto with a ticket cache asks nothing", opts: connOptions{user: "bob"}, env: map[string]string{"KRB5CCNAME": "FILE:" + ccache}, auth: "Auto"},
		{name: "auto without anything must prompt", opts: connOptions{user: "bob"}, env: map[string]string{"KRB5CCNAME": noCache}, errText: "no password"},
		{name: "password file beats the cache", opts: connOptions{user: "bob", passwordFile: pwFile}, env: map[string]string{"KRB5CCNAME": ccache}, auth: "Auto", password: "from-file"},
		{name: "password file readable by others", opts: connOptions{user: "bob", passwordFile: openFile}, env: withPW, errText: "chmod 600"},
		{name: "password file empty first line", opts: connOptions{user: "bob", passwordFile: emptyFile}, env: withPW, errText: "empty"},
		{name: "negotiate", opts: connOptions{authMethod: "Negotiate", user: `LAB\bob`}, env: withPW, auth: "Negotiate", password: "env-pw"},
		{name: "negotiate with --principal logs it in", opts: connOptions{authMethod: "negotiate", user: "bob", principal: "bob@LAB.TEST"}, env: withPW, auth: "Negotiate", password: "env-pw", krbPW: "env-pw"},
		{name: "kerberos from the cache", opts: connOptions{authMethod: "kerberos", user: "bob"}, env: map[string]string{"KRB5CCNAME": noCache}, auth: "Kerberos"},
		{name: "kerberos password login", opts: connOptions{authMethod: "kerberos", user: "bob", principal: "bob@LAB.TEST"}, env: withPW, auth: "Kerberos", password: "env-pw", krbPW: "env-pw"},
		{name: "kerberos keytab reads no password", opts: connOptions{authMethod: "kerberos", principal: "bob@LAB.TEST", keytab: "/k"}, env: map[string]string{}, auth: "Kerberos"},
		{name: "ntlm", opts: connOptions{authMethod: "ntlm", user: "bob"}, env: withPW, auth: "NTLM", password: "env-pw"},
		{name: "ntlm needs a password", opts: connOptions{authMethod: "ntlm", user: "bob"}, env: map[string]string{"KRB5CCNAME": ccache}, errText: "no password"},
		{name: "basic", opts: connOptions{authMethod: "basic", user: "bob"}, env: withPW, auth: "Basic", password: "env-pw"},
		{name: "basic takes no Kerberos options", opts: connOptions{authMethod: "basic", spn: "HTTP/x"}, env: withPW, errText: "Kerberos options"},
		{name: "bad SPN", opts: connOptions{spn: "HTTP"}, env: withPW, errText: "service/host"},
		{name: "unknown method", opts: connOptions{authMethod: "digest"}, env: withPW, errText: "want auto"},
		{name: "certificate", opts: connOptions{authMethod: "certificate", certFile: certFile, keyFile: keyFile}, env: map[string]string{}, auth: "Certificate"},
		{name: "certificate needs --cert", opts: connOptions{authMethod: "certificate"}, env: map[string]string{}, errText: "--cert FILE"},
		{name: "--cert without certificate", opts: connOptions{authMethod: "ntlm", certFile: certFile}, env: withPW, errText: "--auth certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts
			if tt.name != "empty --auth is auto" && o.authMethod == "" {
				o.authMethod = authAuto
			}
			c, err := o.credentials(context.Background(), authIO(tt.env))
			if tt.errText != "" {
				var ue *usageError
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("err = %v, want a usage error with %q", err, tt.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.auth(c.user).String(); got != tt.auth {
				t.Errorf("auth %s, want %s", got, tt.auth)
			}
			if c.password != tt.password || c.krb.Password != tt.krbPW {
				t.Errorf("password %q, Kerberos password %q; want %q, %q", c.password, c.krb.Password, tt.password, tt.krbPW)
			}
			if again, _ := o.credentials(context.Background(), authIO(nil)); again != c {
				t.Error("credentials are read again for a second host")
			}
		})
	}
}

func TestSecurePolicy(t *testing.T) {
	dir := fanClientHome(t, "TrustedHosts: web1,*.lab\nAllowUnencrypted: false\n")
	cfgFile := filepath.Join(dir, "config.yaml")
	o := &connOptions{}
	sec, err := o.loadSecurity(authIO(nil))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		endpoint, method string
		ntlmNow          bool
		want             []string // nil: allowed
	}{
		{"http://web1:5985/wsman", authNTLM, false, nil},
		{"http://db.lab:5985/wsman", authNTLM, false, nil},
		{"http://web2:5985/wsman", authNTLM, false, []string{"NTLM", "web2", "TrustedHosts", cfgFile, `add "web2"`}},
		{"http://web2:5985/wsman", authNegotiate, true, []string{"NTLM", "web2", cfgFile}},
		{"http://web2:5985/wsman", authAuto, true, []string{"NTLM", "web2", cfgFile}},
		{"http://web2:5985/wsman", authAuto, false, nil}, // Kerberos may work; the library guards the fall-back
		{"http://web2:5985/wsman", authKerberos, false, nil},
		{"http://web1:5985/wsman", authBasic, false, []string{"AllowUnencrypted", cfgFile}},
		{"http://web1:5985/wsman", authCertificate, false, []string{"HTTPS"}},
		{"http://web2:5985/wsman", "", false, nil}, // anonymous Identify
	}
	for _, tt := range tests {
		cfg := client.Config{Endpoint: tt.endpoint}
		err := sec.secure(&cfg, tt.method, tt.ntlmNow)
		if tt.want == nil {
			if err != nil {
				t.Errorf("%s %s: %v", tt.method, tt.endpoint, err)
			}
			if cfg.TrustedHosts != "web1,*.lab" {
				t.Errorf("%s %s: TrustedHosts %q not passed to the library", tt.method, tt.endpoint, cfg.TrustedHosts)
			}
			continue
		}
		var ue *usageError
		if !errors.As(err, &ue) {
			t.Errorf("%s %s: err = %v, want a usage error", tt.method, tt.endpoint, err)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s %s: %q lacks %q", tt.method, tt.endpoint, err, w)
			}
		}
	}

	// The library's run-time refusal (Negotiate falling back to NTLM)
	// gets the same fix.
	ue := &client.UntrustedHostError{Host: "web2", Mechanism: "Negotiate"}
	if got := sec.describe(ue, "http://web2:5985/wsman"); !strings.Contains(got, `add "web2" to TrustedHosts in `+cfgFile) {
		t.Errorf("describe: %s", got)
	}
	if !errors.Is(ue, trust.ErrNotTrustedHost) {
		t.Error("UntrustedHostError does not wrap trust.ErrNotTrustedHost")
	}
}

// startNegotiateServer is `psremote serve` with the Negotiate scheme
// (NTLM for alice with alicePassword; Kerberos with the KDC's keytab),
// AllowUnencrypted false and CbtHardeningLevel Strict, on one HTTP and
// one HTTPS listener. It returns their host:port.
func startNegotiateServer(t *testing.T, kdc *testkdc.KDC) (httpHP, httpsHP string) {
	t.Helper()
	hps := startNegotiateListeners(t, kdc, 1)
	return hps[0], hps[1]
}

// startNegotiateListeners starts the server of [startNegotiateServer]
// with n HTTP listeners followed by one HTTPS listener.
func startNegotiateListeners(t *testing.T, kdc *testkdc.KDC, n int) []string {
	t.Helper()
	self, err := identity.Current()
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	host := proc.NewHost(self)
	eng := shell.New(shell.Config{AllowRemoteShellAccess: true, IdleTimeout: time.Hour, OutputBuffer: 1 << 20}, host)
	svc := service.New(service.Config{Machine: "m", MaxEnvelopeSize: 512000, MaxTimeout: time.Minute,
		ServerUser: self, ProductVendor: "psremote", ProductVersion: "OS: 1.0.0 SP: 0.0 Stack: 3.0", Logger: quiet}, eng)
	ncfg := negotiate.Config{
		NTLMSources: []negotiate.NTLMSource{negotiate.StoreSource(func(_ context.Context, name string) ([16]byte, string, error) {
			if name != "alice" {
				return [16]byte{}, "", auth.ErrBadCredentials
			}
			return ntlm.NTHash(alicePassword), "alice", nil
		})},
		CBT:     cbt.Strict,
		Resolve: func(string, string) (identity.User, error) { return self, nil },
	}
	if kdc != nil {
		acc, err := kerberos.NewAcceptor(kerberos.AcceptorConfig{KeytabPath: kdc.Keytab})
		if err != nil {
			t.Fatal(err)
		}
		ncfg.Kerberos, ncfg.PrincipalMap = acc, kerberos.NewPrincipalMap(testkdc.Realm, nil)
	}
	neg, err := negotiate.New(ncfg)
	if err != nil {
		t.Fatal(err)
	}
	cert, _, _ := fanCert(t)
	var eps []listener.Endpoint
	for range n {
		eps = append(eps, listener.Endpoint{Transport: "HTTP", Addr: "127.0.0.1:0", URLPrefix: "wsman"})
	}
	eps = append(eps, listener.Endpoint{Transport: "HTTPS", Addr: "127.0.0.1:0", URLPrefix: "wsman", Certificate: &cert})
	srv := listener.New(listener.Config{Endpoints: eps, Mechanisms: []auth.Mechanism{neg}, MaxEnvelopeSize: 512000, Service: svc, Logger: quiet})
	bound, err := srv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		eng.Close(ctx)
		host.Close(ctx)
	})
	var hps []string
	for _, b := range bound {
		pu, _ := url.Parse(b.URL)
		hps = append(hps, pu.Host)
	}
	return hps
}

// TestRunNTLMFanout runs on a hundred HTTP endpoints with NTLM, every
// message sealed: one handshake per connection keeps it close to Basic.
// PSREMOTE_TEST_FANOUT_N=1000 measures a larger run.
func TestRunNTLMFanout(t *testing.T) {
	n := 100
	if v, err := strconv.Atoi(os.Getenv("PSREMOTE_TEST_FANOUT_N")); err == nil && v > 0 {
		n = v
	}
	hps := startNegotiateListeners(t, nil, n)
	fanClientHome(t, "TrustedHosts: 127.0.0.1\n")
	var out, errOut fanBuffer
	env := map[string]string{passwordEnv: alicePassword}
	stdio := IO{In: strings.NewReader(""), Out: &out, Err: &errOut, Getenv: func(key string) string { return env[key] }}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	err := Run(ctx, stdio, []string{"run", "-H", strings.Join(hps[:n], ","), "--http", "-u", "alice", "--auth", "ntlm", "--json", "--", "echo ok"})
	took := time.Since(start)
	if err != nil || strings.Count(out.String(), `"exit_code":0`) != n {
		t.Fatalf("err %v\nstdout %s\nstderr %s", err, out.String(), errOut.String())
	}
	t.Logf("%d hosts with sealed NTLM in %v", n, took)
}

const alicePassword = "alice-Pa55"

// TestRunAuthEndToEnd runs `psremote run` with each method against the
// real server: NTLM and Kerberos, over HTTP (sealed; the server refuses
// plaintext) and HTTPS (channel bindings required).
func TestRunAuthEndToEnd(t *testing.T) {
	k := testkdc.Start(t)
	httpHP, httpsHP := startNegotiateServer(t, k)
	fanClientHome(t, "TrustedHosts: 127.0.0.1\n")
	port := func(hp string) string { return hp[strings.LastIndex(hp, ":")+1:] }
	withPW := map[string]string{passwordEnv: alicePassword, "KRB5CCNAME": "/nonexistent"}
	withTicket := map[string]string{"KRB5CCNAME": "FILE:" + k.CCache, "KRB5_CONFIG": k.Krb5Conf}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string // stderr text of a failure; "" for success
	}{
		{"ntlm over HTTP", withPW, []string{"-H", httpHP, "--http", "-u", `LAB\alice`, "--auth", "ntlm"}, ""},
		{"ntlm over HTTPS", withPW, []string{"-H", "localhost:" + port(httpsHP), "-u", "alice", "--auth", "ntlm"}, ""},
		{"auto picks NTLM with a password", withPW, []string{"-H", httpHP, "--http", "-u", "alice"}, ""},
		{"kerberos over HTTP from the ticket cache", withTicket, []string{"-H", "localhost:" + port(httpHP), "--http", "--auth", "kerberos"}, ""},
		{"kerberos over HTTPS, WSMAN SPN", withTicket, []string{"-H", "localhost:" + port(httpsHP), "--auth", "kerberos", "--spn", "WSMAN/localhost"}, ""},
		{"auto uses the ticket cache, asks nothing", withTicket, []string{"-H", "localhost:" + port(httpHP), "--http"}, ""},
		{"ntlm wrong password", map[string]string{passwordEnv: "wrong"}, []string{"-H", httpHP, "--http", "-u", "alice", "--auth", "ntlm"}, "authentication failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut fanBuffer
			stdio := IO{In: strings.NewReader(""), Out: &out, Err: &errOut, Getenv: func(key string) string { return tt.env[key] }}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			err := Run(ctx, stdio, append(append([]string{"run"}, tt.args...), "--", "echo hi; exit 4"))
			if tt.want != "" {
				if !strings.Contains(errOut.String(), tt.want) || strings.Contains(errOut.String(), "wrong") {
					t.Errorf("err %v, stderr %q: want %q and no password", err, errOut.String(), tt.want)
				}
				return
			}
			if fanStatus(err) != 4 || out.String() != "hi\n" {
				t.Errorf("err %v, stdout %q, stderr %q", err, out.String(), errOut.String())
			}
		})
	}
	t.Run("identify -a with Kerberos", func(t *testing.T) {
		var out, errOut fanBuffer
		stdio := IO{In: strings.NewReader(""), Out: &out, Err: &errOut, Getenv: func(key string) string { return withTicket[key] }}
		err := Run(context.Background(), stdio, []string{"identify", "-a", "--json", "--http", "--auth", "kerberos", "localhost:" + port(httpHP)})
		if err != nil || !strings.Contains(out.String(), `"ProductVendor":"psremote"`) {
			t.Errorf("err %v, stdout %q, stderr %q", err, out.String(), errOut.String())
		}
	})
}
