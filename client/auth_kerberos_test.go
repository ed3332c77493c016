package client_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/psremote/psremote/auth/kerberos"
	"github.com/psremote/psremote/client"
	"github.com/psremote/psremote/internal/testkdc"
)

// kdcServer starts a loopback MIT KDC and the test endpoint with a
// Kerberos acceptor for its HTTP/localhost and WSMAN/localhost keys.
func kdcServer(t *testing.T, https bool, opts ...func(*negServer)) (*testkdc.KDC, *negServer) {
	t.Helper()
	k := testkdc.Start(t)
	acc, err := kerberos.NewAcceptor(kerberos.AcceptorConfig{KeytabPath: k.Keytab})
	if err != nil {
		t.Fatal(err)
	}
	s := newNegServer(t, https, append([]func(*negServer){func(s *negServer) { s.krb = acc }}, opts...)...)
	return k, s
}

func TestKerberos(t *testing.T) {
	k, s := kdcServer(t, false)
	fromCache := client.KerberosOptions{CCache: k.CCache, Krb5Conf: k.Krb5Conf}

	t.Run("sealed HTTP from the credential cache", func(t *testing.T) {
		// No TrustedHosts: Kerberos proves the server, so HTTP is fine.
		c := newClient(t, client.Config{Endpoint: s.url("localhost"), Auth: client.Kerberos(fromCache)})
		before := len(s.log())
		got := identify(t, c, 20)
		ev := s.log()[before:]
		if len(ev) != 21 {
			t.Fatalf("%d requests, want 21: %+v", len(ev), ev)
		}
		if e := ev[0]; e.authz != "Negotiate Kerberos" || e.bodyLen != 0 || e.status != 200 {
			t.Errorf("handshake %+v: want one empty POST with the AP-REQ, answered 200", e)
		}
		conn := ev[0].conn
		for i, e := range ev[1:] {
			if e.authz != "" || !e.sealed || e.conn != conn {
				t.Errorf("request %d %+v: want sealed, no Authorization, same connection", i+1, e)
			}
			if !strings.HasSuffix(got[i], "user-"+k.Principal()) {
				t.Errorf("reply %d %q", i+1, got[i])
			}
		}
	})

	t.Run("password and WSMAN SPN", func(t *testing.T) {
		c := newClient(t, client.Config{Endpoint: s.url("localhost"), Auth: client.Kerberos(client.KerberosOptions{
			Principal: testkdc.User, Password: k.Password, Krb5Conf: k.Krb5Conf, SPN: "WSMAN/localhost"})})
		identify(t, c, 2)
	})

	t.Run("tampered AP-REP", func(t *testing.T) {
		s.tamperAPRep.Store(true)
		defer s.tamperAPRep.Store(false)
		c := newClient(t, client.Config{Endpoint: s.url("localhost"), Auth: client.Kerberos(fromCache)})
		if _, err := c.Identify(context.Background(), false); !errors.Is(err, kerberos.ErrMutualAuth) {
			t.Fatalf("err = %v, want kerberos.ErrMutualAuth", err)
		}
	})

	t.Run("no AP-REP", func(t *testing.T) {
		s.noAPRep.Store(true)
		defer s.noAPRep.Store(false)
		c := newClient(t, client.Config{Endpoint: s.url("localhost"), Auth: client.Kerberos(fromCache)})
		_, err := c.Identify(context.Background(), false)
		if !errors.Is(err, kerberos.ErrMutualAuth) || !strings.Contains(err.Error(), "mutual") {
			t.Fatalf("err = %v, want kerberos.ErrMutualAuth", err)
		}
	})

	t.Run("unknown SPN", func(t *testing.T) {
		c := newClient(t, client.Config{Endpoint: s.url("127.0.0.1"), Auth: client.Kerberos(fromCache)})
		_, err := c.Identify(context.Background(), false)
		if err == nil || !strings.Contains(err.Error(), "HTTP/127.0.0.1") {
			t.Fatalf("err = %v, want the missing service ticket for HTTP/127.0.0.1", err)
		}
	})

	t.Run("Negotiate prefers Kerberos", func(t *testing.T) {
		before := len(s.log())
		c := newClient(t, client.Config{Endpoint: s.url("localhost"), Auth: client.Negotiate("", "", fromCache)})
		identify(t, c, 2)
		if e := s.log()[before]; e.authz != "Negotiate Kerberos" {
			t.Errorf("first leg %+v, want Kerberos", e)
		}
		// With a realm-qualified user and password, Kerberos logs in.
		before = len(s.log())
		c2 := newClient(t, client.Config{Endpoint: s.url("localhost"), Auth: client.Negotiate(k.Principal(), k.Password,
			client.KerberosOptions{Krb5Conf: k.Krb5Conf})})
		identify(t, c2, 1)
		if e := s.log()[before]; e.authz != "Negotiate Kerberos" {
			t.Errorf("password login: first leg %+v, want Kerberos", e)
		}
	})
}

func TestKerberosHTTPSChannelBindings(t *testing.T) {
	k, s := kdcServer(t, true) // CbtHardeningLevel Strict
	c := newClient(t, client.Config{Endpoint: s.url("localhost"), TLSConfig: s.tlsConfig(),
		Auth: client.Kerberos(client.KerberosOptions{CCache: k.CCache, Krb5Conf: k.Krb5Conf})})
	got := identify(t, c, 3)
	if got[2] != fmt.Sprintf("req-3 conn-1 user-%s", k.Principal()) {
		t.Errorf("replies %q", got)
	}
	for _, e := range s.log()[1:] {
		if e.sealed || e.authz != "" {
			t.Errorf("request %+v: HTTPS requests are neither sealed nor re-authenticated", e)
		}
	}

	// Bindings of another certificate: refused, and the client says who
	// it was.
	ap := []byte("tls-server-end-point:0123456789abcdef0123456789abcdef")
	acc, err := kerberos.NewAcceptor(kerberos.AcceptorConfig{KeytabPath: k.Keytab})
	if err != nil {
		t.Fatal(err)
	}
	s2 := newNegServer(t, true, func(s *negServer) { s.krb, s.appData = acc, ap })
	c2 := newClient(t, client.Config{Endpoint: s2.url("localhost"), TLSConfig: s2.tlsConfig(),
		Auth: client.Kerberos(client.KerberosOptions{CCache: k.CCache, Krb5Conf: k.Krb5Conf})})
	_, err = c2.Identify(context.Background(), false)
	if !errors.Is(err, client.ErrUnauthorized) || !strings.Contains(err.Error(), k.Principal()) {
		t.Fatalf("mismatched bindings: err = %v", err)
	}
}
