package negotiate

import (
	"context"
	"crypto/x509"
	"errors"
	"slices"
	"testing"

	"github.com/psremote/psremote/auth"
	"github.com/psremote/psremote/auth/cbt"
	"github.com/psremote/psremote/auth/encrypt"
	"github.com/psremote/psremote/auth/ntlm"
	"github.com/psremote/psremote/auth/throttle"
)

func TestRawNTLM(t *testing.T) {
	tests := []struct {
		name, user, domain, password string
		account                      string // want Result.Principal; "" = failure
		gated                        string
		wantErr                      error
	}{
		{name: "plain", user: "alice", password: "Passw0rd!", account: "alice", gated: "alice"},
		{name: "domain", user: "alice", domain: "WORKGROUP", password: "Passw0rd!", account: "alice", gated: "alice"},
		{name: "dot", user: "alice", domain: ".", password: "Passw0rd!", account: "alice", gated: "alice"},
		{name: "upn", user: "alice@example.test", password: "Passw0rd!", account: "alice", gated: "alice"},
		{name: "case folded", user: "BOB", domain: "linuxbox", password: "bob-secret", account: "Bob", gated: "BOB"},
		{name: "wrong password", user: "alice", password: "passw0rd!", gated: "alice", wantErr: auth.ErrBadCredentials},
		{name: "unknown user", user: "mallory", password: "x", gated: "mallory", wantErr: auth.ErrBadCredentials},
		{name: "unresolvable", user: "nobody-here", password: "x", gated: "nobody-here", wantErr: auth.ErrBadCredentials},
	}
	testAccounts["nobody-here"] = "x"
	t.Cleanup(func() { delete(testAccounts, "nobody-here") })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ra := newNTLM(t, cbt.Relaxed)
			conn := &auth.ConnState{}
			g := &gateLog{}
			c := ntlmClient(t, tt.user, tt.domain, tt.password, nil)
			st, err := rawNTLM(t, m, conn, c, auth.Request{Gate: g.gate})
			if !isAuthErr(err, tt.wantErr) {
				t.Fatalf("AUTHENTICATE: err = %v; want %v", err, tt.wantErr)
			}
			if !slices.Equal(g.names, []string{tt.gated}) {
				t.Errorf("gate calls = %q; want [%q]", g.names, tt.gated)
			}
			if tt.wantErr != nil {
				if conn.Context() != nil || conn.Value(SchemeNegotiate) != nil {
					t.Error("a failed handshake left state on the connection")
				}
				return
			}
			if !st.Done || st.Reply != "" || st.Result.Principal != tt.account || st.Result.Mechanism != MechNTLM ||
				st.Result.User.Name != tt.account || !st.Result.User.Valid() {
				t.Fatalf("step = %+v", st)
			}
			if !slices.Equal(ra.sources, []string{"store"}) {
				t.Errorf("resolver sources = %q; want [store]", ra.sources)
			}
			sc := conn.Context()
			if sc == nil || sc.Result.Principal != tt.account || !sc.AllowsProtocol(encrypt.ProtocolSPNEGO) ||
				sc.AllowsProtocol(encrypt.ProtocolKerberos) {
				t.Fatalf("security context = %+v", sc)
			}
			checkSealed(t, c.Session(), sc, 5)
		})
	}
}

// TestNTLMRestart covers the connection rules: a NEGOTIATE on an
// authenticated connection drops its context, an AUTHENTICATE needs a
// NEGOTIATE first, and a failure leaves nothing behind.
func TestNTLMRestart(t *testing.T) {
	m, _ := newNTLM(t, cbt.Relaxed)
	conn := &auth.ConnState{}
	c := ntlmClient(t, "alice", "", "Passw0rd!", nil)
	if _, err := rawNTLM(t, m, conn, c, auth.Request{}); err != nil {
		t.Fatal(err)
	}
	if conn.Context() == nil {
		t.Fatal("no context after the handshake")
	}
	c2 := ntlmClient(t, "alice", "", "Passw0rd!", nil)
	if _, err := leg(m, conn, c2.Negotiate(), auth.Request{}); err != nil {
		t.Fatal(err)
	}
	if conn.Context() != nil {
		t.Error("NEGOTIATE on an authenticated connection kept its context")
	}
	// The same AUTHENTICATE twice: the second finds no NEGOTIATE.
	conn = &auth.ConnState{}
	st, err := leg(m, conn, c2.Negotiate(), auth.Request{})
	if err != nil {
		t.Fatal(err)
	}
	am, err := c2.Authenticate(replyToken(t, SchemeNegotiate, st.Reply))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leg(m, conn, am, auth.Request{}); err != nil {
		t.Fatal(err)
	}
	if _, err := leg(m, conn, am, auth.Request{}); !errors.Is(err, auth.ErrMalformed) {
		t.Errorf("replayed AUTHENTICATE: err = %v; want ErrMalformed", err)
	}
	if _, err := leg(m, &auth.ConnState{}, am, auth.Request{}); !errors.Is(err, auth.ErrMalformed) {
		t.Errorf("AUTHENTICATE on a fresh connection: err = %v; want ErrMalformed", err)
	}
}

func TestNTLMGateRefuses(t *testing.T) {
	m, _ := newNTLM(t, cbt.Relaxed)
	g := &gateLog{err: throttle.ErrThrottled}
	c := ntlmClient(t, "alice", "", "Passw0rd!", nil)
	_, err := rawNTLM(t, m, &auth.ConnState{}, c, auth.Request{Gate: g.gate})
	if !errors.Is(err, auth.ErrBadCredentials) || !errors.Is(err, throttle.ErrThrottled) {
		t.Errorf("gated attempt: err = %v; want ErrBadCredentials wrapping ErrThrottled", err)
	}
}

// TestNTLMChannelBinding applies CbtHardeningLevel to NTLM on HTTPS.
func TestNTLMChannelBinding(t *testing.T) {
	ours := cbt.TLSServerEndPoint(&x509.Certificate{Raw: []byte("listener certificate"), SignatureAlgorithm: x509.ECDSAWithSHA256})
	other := cbt.TLSServerEndPoint(&x509.Certificate{Raw: []byte("relaying proxy certificate"), SignatureAlgorithm: x509.ECDSAWithSHA256})
	tests := []struct {
		name   string
		policy cbt.Policy
		secure bool
		client []byte
		want   error
	}{
		{"strict match", cbt.Strict, true, ours, nil},
		{"strict missing", cbt.Strict, true, nil, cbt.ErrMissing},
		{"strict mismatch", cbt.Strict, true, other, cbt.ErrMismatch},
		{"relaxed missing", cbt.Relaxed, true, nil, nil},
		{"relaxed mismatch", cbt.Relaxed, true, other, cbt.ErrMismatch},
		{"none mismatch", cbt.None, true, other, nil},
		{"strict on http", cbt.Strict, false, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := newNTLM(t, tt.policy)
			req := auth.Request{Secure: tt.secure}
			if tt.secure {
				req.ChannelBindings = ours
			}
			c := ntlmClient(t, "alice", "", "Passw0rd!", tt.client)
			_, err := rawNTLM(t, m, &auth.ConnState{}, c, req)
			if !isAuthErr(err, tt.want) {
				t.Fatalf("err = %v; want %v", err, tt.want)
			}
			if tt.want != nil && !errors.Is(err, auth.ErrBadCredentials) {
				t.Errorf("err = %v; want it to wrap ErrBadCredentials too", err)
			}
		})
	}
}

// failingSource is an NTLM source whose backend is down.
type failingSource struct{}

func (failingSource) Validate(context.Context, string, string, [8]byte, []byte) ([16]byte, string, error) {
	return [16]byte{}, "", errors.New("helper crashed")
}

// TestNTLMSourceChain tries sources in order: a mismatch moves on, a
// broken source is reported only if no later one accepts.
func TestNTLMSourceChain(t *testing.T) {
	ra := &resolveAll{}
	m, err := New(Config{
		NTLMSources: []NTLMSource{{Name: "broken", Validator: failingSource{}}, StoreSource(storeLookup)},
		Resolve:     ra.resolve,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rawNTLM(t, m, &auth.ConnState{}, ntlmClient(t, "alice", "", "Passw0rd!", nil), auth.Request{}); err != nil {
		t.Fatalf("later source accepts: %v", err)
	}
	if !slices.Equal(ra.sources, []string{"store"}) {
		t.Errorf("resolver sources = %q", ra.sources)
	}
	_, err = rawNTLM(t, m, &auth.ConnState{}, ntlmClient(t, "alice", "", "wrong", nil), auth.Request{})
	if err == nil || errors.Is(err, auth.ErrBadCredentials) || errors.Is(err, auth.ErrMalformed) {
		t.Errorf("no source accepts, one failed: err = %v; want a source failure", err)
	}
}

func TestNewErrors(t *testing.T) {
	ra := &resolveAll{}
	for name, cfg := range map[string]Config{
		"nothing offered": {Resolve: ra.resolve},
		"no resolver":     {NTLMSources: []NTLMSource{StoreSource(storeLookup)}},
		"unnamed source":  {NTLMSources: []NTLMSource{{Validator: failingSource{}}}, Resolve: ra.resolve},
		"nil validator":   {NTLMSources: []NTLMSource{{Name: "x"}}, Resolve: ra.resolve},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	m, _ := newNTLM(t, cbt.Relaxed)
	if m.KerberosScheme() != nil || m.OffersKerberos() || !m.OffersNTLM() {
		t.Error("NTLM-only mechanism offers Kerberos")
	}
	if v, ok := m.Challenge(false); !ok || v != "Negotiate" {
		t.Errorf("Challenge = %q, %v", v, ok)
	}
}

func TestMalformedTokens(t *testing.T) {
	m, _ := newNTLM(t, cbt.Relaxed)
	long := make([]byte, maxCredentials+1)
	for i := range long {
		long[i] = 'A'
	}
	for name, creds := range map[string]string{
		"empty":        "",
		"not base64":   "!!!",
		"too long":     string(long),
		"unknown kind": "AAAA",
		"ntlm type 2":  "TlRMTVNTUAACAAAA",
		"ntlm type 9":  "TlRMTVNTUAAJAAAA",
		"resp first":   "oQcwBaADCgEA",
	} {
		_, err := m.Accept(context.Background(), auth.Request{Credentials: creds, Conn: &auth.ConnState{}})
		if !errors.Is(err, auth.ErrMalformed) {
			t.Errorf("%s: err = %v; want ErrMalformed", name, err)
		}
	}
	// Raw Kerberos when no keytab is configured.
	krb := []byte{0x60, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x01, 0x00}
	if _, err := leg(m, &auth.ConnState{}, krb, auth.Request{}); !errors.Is(err, auth.ErrNotPermitted) {
		t.Errorf("Kerberos without keytab: err = %v; want ErrNotPermitted", err)
	}
}

// TestAccountName covers the user name forms clients send.
func TestAccountName(t *testing.T) {
	for in, want := range map[string]string{
		"alice": "alice", `DOM\alice`: "alice", `.\alice`: "alice", "alice@example.test": "alice",
		"@odd": "@odd", "": "", `a\b@c`: "b",
	} {
		if got := AccountName(in); got != want {
			t.Errorf("AccountName(%q) = %q; want %q", in, got, want)
		}
	}
}

var _ ntlm.Validator = chain{}
