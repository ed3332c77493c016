package client_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/psremote/psremote/auth"
	"github.com/psremote/psremote/auth/cbt"
	"github.com/psremote/psremote/auth/kerberos"
	"github.com/psremote/psremote/auth/negotiate"
	"github.com/psremote/psremote/auth/ntlm"
	"github.com/psremote/psremote/client"
	"github.com/psremote/psremote/internal/identity"
	"github.com/psremote/psremote/internal/listener"
	"github.com/psremote/psremote/internal/proc"
	"github.com/psremote/psremote/internal/service"
	"github.com/psremote/psremote/internal/shell"
	"github.com/psremote/psremote/internal/testkdc"
)

// psremoteServer is the real server, assembled as `psremote serve` does
// it, with the Negotiate scheme (NTLM against one account, Kerberos
// against a loopback KDC when kdc is set), AllowUnencrypted false and
// CbtHardeningLevel Strict, on one HTTP and one HTTPS listener.
type psremoteServer struct {
	http, https string
	tls         *tls.Config
}

func startPsremote(t *testing.T, kdc *testkdc.KDC) *psremoteServer {
	t.Helper()
	self, err := identity.Current()
	if err != nil {
		t.Fatal(err)
	}
	host := proc.NewHost(self)
	eng := shell.New(shell.Config{AllowRemoteShellAccess: true, IdleTimeout: time.Hour, OutputBuffer: 1 << 20}, host)
	quiet := slog.New(slog.DiscardHandler)
	svc := service.New(service.Config{Machine: "m", MaxEnvelopeSize: 512000, MaxTimeout: time.Minute,
		ServerUser: self, ProductVendor: "psremote", ProductVersion: "OS: 1.0.0 SP: 0.0 Stack: 3.0", Logger: quiet}, eng)
	cfg := negotiate.Config{
		NTLMSources: []negotiate.NTLMSource{negotiate.StoreSource(func(_ context.Context, name string) ([16]byte, string, error) {
			if !strings.EqualFold(name, "alice") {
				return [16]byte{}, "", auth.ErrBadCredentials
			}
			return ntlm.NTHash(testPassword), "alice", nil
		})},
		NTLMServer: ntlm.ServerConfig{NetBIOSDomain: "LAB", NetBIOSComputer: "WEB1"},
		CBT:        cbt.Strict,
		Resolve:    func(string, string) (identity.User, error) { return self, nil },
	}
	if kdc != nil {
		acc, err := kerberos.NewAcceptor(kerberos.AcceptorConfig{KeytabPath: kdc.Keytab})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Kerberos, cfg.PrincipalMap = acc, kerberos.NewPrincipalMap(testkdc.Realm, nil)
	}
	neg, err := negotiate.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mechs := []auth.Mechanism{neg}
	if k := neg.KerberosScheme(); k != nil {
		mechs = append(mechs, k)
	}
	cert := selfSigned(t, "localhost")
	srv := listener.New(listener.Config{Endpoints: []listener.Endpoint{
		{Transport: "HTTP", Addr: "127.0.0.1:0", URLPrefix: "wsman"},
		{Transport: "HTTPS", Addr: "127.0.0.1:0", URLPrefix: "wsman", Certificate: &cert},
	}, Mechanisms: mechs, MaxEnvelopeSize: 512000, Service: svc, Logger: quiet})
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
	leaf, _ := x509.ParseCertificate(cert.Certificate[0])
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return &psremoteServer{http: bound[0].URL, https: bound[1].URL, tls: &tls.Config{RootCAs: pool, ServerName: "localhost"}}
}

// runOnServer creates a shell, streams stdin through a command and checks
// its output and exit code: several sealed Sends and Receives in both
// directions on the same connections.
func runOnServer(t *testing.T, cfg client.Config) {
	t.Helper()
	cfg.OperationTimeout = 5 * time.Second
	c := newClient(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sh, err := c.CreateShell(ctx, client.ShellOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close(ctx)
	input := bytes.Repeat([]byte("0123456789abcdef"), 40000) // 640 KB: several Sends
	cmd := sh.Command("wc -c; echo err >&2; exit 3")
	cmd.Stdin = bytes.NewReader(input)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run(ctx)
	var ee *client.ExitError
	if !errors.As(err, &ee) || ee.Code != 3 {
		t.Fatalf("exit: %v", err)
	}
	if strings.TrimSpace(out.String()) != "640000" || errOut.String() != "err\n" {
		t.Errorf("stdout %q stderr %q", out.String(), errOut.String())
	}
	big, err := sh.Command("head -c 3000000 /dev/zero | tr '\\0' x").Output(ctx)
	if err != nil || len(big) != 3000000 || bytes.Count(big, []byte("x")) != 3000000 {
		t.Errorf("3 MB of output: %d bytes, %v", len(big), err)
	}
}

func TestEndToEndNTLM(t *testing.T) {
	s := startPsremote(t, nil)
	t.Run("HTTP sealed", func(t *testing.T) {
		runOnServer(t, client.Config{Endpoint: s.http, Auth: client.NTLM(`LAB\alice`, testPassword), TrustedHosts: "127.0.0.1"})
	})
	t.Run("HTTPS channel binding", func(t *testing.T) {
		runOnServer(t, client.Config{Endpoint: strings.Replace(s.https, "127.0.0.1", "localhost", 1), TLSConfig: s.tls,
			Auth: client.NTLM("alice", testPassword)})
	})
	t.Run("Negotiate falls back to NTLM", func(t *testing.T) {
		dir := t.TempDir()
		runOnServer(t, client.Config{Endpoint: s.http, TrustedHosts: "*",
			Auth: client.Negotiate(`LAB\alice`, testPassword, client.KerberosOptions{CCache: dir + "/none", Krb5Conf: dir + "/none"})})
	})
	t.Run("wrong password", func(t *testing.T) {
		c := newClient(t, client.Config{Endpoint: s.http, Auth: client.NTLM("alice", "wrong"), TrustedHosts: "*"})
		if _, err := c.CreateShell(context.Background(), client.ShellOptions{}); !errors.Is(err, client.ErrUnauthorized) {
			t.Errorf("err = %v, want ErrUnauthorized", err)
		}
	})
}

func TestEndToEndKerberos(t *testing.T) {
	k := testkdc.Start(t)
	s := startPsremote(t, k)
	opts := client.KerberosOptions{CCache: k.CCache, Krb5Conf: k.Krb5Conf}
	t.Run("HTTP sealed", func(t *testing.T) {
		runOnServer(t, client.Config{Endpoint: strings.Replace(s.http, "127.0.0.1", "localhost", 1), Auth: client.Kerberos(opts)})
	})
	t.Run("HTTPS channel binding", func(t *testing.T) {
		runOnServer(t, client.Config{Endpoint: strings.Replace(s.https, "127.0.0.1", "localhost", 1), TLSConfig: s.tls, Auth: client.Kerberos(opts)})
	})
	t.Run("Negotiate picks Kerberos", func(t *testing.T) {
		runOnServer(t, client.Config{Endpoint: strings.Replace(s.http, "127.0.0.1", "localhost", 1), Auth: client.Negotiate("", "", opts)})
	})
}
