package negotiate

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/psremote/psremote/auth"
	"github.com/psremote/psremote/auth/cbt"
	"github.com/psremote/psremote/auth/ntlm"
	"github.com/psremote/psremote/internal/identity"
)

// testAccounts is the fake account store: name -> password.
var testAccounts = map[string]string{"alice": "Passw0rd!", "Bob": "bob-secret"}

// storeLookup looks names up in testAccounts like accounts.Store.NTHash:
// exactly, else case-insensitively.
func storeLookup(ctx context.Context, name string) ([16]byte, string, error) {
	for n, pw := range testAccounts {
		if n == name || strings.EqualFold(n, name) {
			return ntlm.NTHash(pw), n, nil
		}
	}
	return [16]byte{}, "", fmt.Errorf("%w: user %q", auth.ErrBadCredentials, name)
}

// resolveAll maps every account to a valid identity named after it and
// records which source verified it.
type resolveAll struct {
	mu      sync.Mutex
	sources []string
}

func (r *resolveAll) resolve(principal, source string) (identity.User, error) {
	r.mu.Lock()
	r.sources = append(r.sources, source)
	r.mu.Unlock()
	if principal == "nobody-here" {
		return identity.User{}, identity.ErrUnknownUser
	}
	return identity.New(principal, 1000, 1000, nil, nil, "/home/"+principal, "/bin/sh"), nil
}

// newNTLM returns a Negotiate mechanism with the store source only.
func newNTLM(t testing.TB, policy cbt.Policy) (*Mechanism, *resolveAll) {
	t.Helper()
	ra := &resolveAll{}
	m, err := New(Config{
		NTLMSources: []NTLMSource{StoreSource(storeLookup)},
		NTLMServer:  ntlm.ServerConfig{NetBIOSComputer: "LINUXBOX", DNSComputer: "linuxbox.example.test"},
		CBT:         policy,
		Resolve:     ra.resolve,
	})
	if err != nil {
		t.Fatal(err)
	}
	return m, ra
}

// gateLog records the accounts a request's Gate was called with.
type gateLog struct {
	mu    sync.Mutex
	names []string
	err   error
}

func (g *gateLog) gate(ctx context.Context, account string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.names = append(g.names, account)
	return g.err
}

// leg sends one token through m on conn and returns the step.
func leg(m *Mechanism, conn *auth.ConnState, token []byte, req auth.Request) (auth.Step, error) {
	req.Conn = conn
	req.Credentials = base64.StdEncoding.EncodeToString(token)
	return m.Accept(context.Background(), req)
}

// replyToken decodes a WWW-Authenticate value of the scheme.
func replyToken(t testing.TB, scheme, reply string) []byte {
	t.Helper()
	rest, ok := strings.CutPrefix(reply, scheme+" ")
	if !ok {
		t.Fatalf("reply %q is not %q with a token", reply, scheme)
	}
	b, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ntlmClient returns an NTLM initiator for user/password.
func ntlmClient(t testing.TB, user, domain, password string, cb []byte) *ntlm.ClientContext {
	t.Helper()
	c, err := ntlm.NewClient(ntlm.ClientConfig{User: user, Domain: domain, Password: password, ChannelBindings: cb})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// rawNTLM runs a raw NTLM handshake and returns the final step.
func rawNTLM(t testing.TB, m *Mechanism, conn *auth.ConnState, c *ntlm.ClientContext, req auth.Request) (auth.Step, error) {
	t.Helper()
	st, err := leg(m, conn, c.Negotiate(), req)
	if err != nil {
		t.Fatalf("NEGOTIATE leg: %v", err)
	}
	if st.Done {
		t.Fatal("NEGOTIATE leg finished the handshake")
	}
	challenge := replyToken(t, SchemeNegotiate, st.Reply)
	am, err := c.Authenticate(challenge)
	if err != nil {
		t.Fatalf("client Authenticate: %v", err)
	}
	return leg(m, conn, am, req)
}

// checkSealed exchanges sealed messages both ways between a client-side
// wrapper and the connection's context.
func checkSealed(t testing.TB, client auth.Wrapper, sc *auth.SecurityContext, n int) {
	t.Helper()
	if sc == nil || sc.Wrapper == nil {
		t.Fatal("no wrapper on the connection")
	}
	for i := range n {
		msg := fmt.Appendf(nil, "<s:Envelope>message %d</s:Envelope>", i)
		h, c, err := client.WrapWinRM(msg)
		if err != nil {
			t.Fatal(err)
		}
		got, err := sc.Wrapper.UnwrapWinRM(h, c)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("server unwrap %d: %q, %v", i, got, err)
		}
		h, c, err = sc.Wrapper.WrapWinRM(msg)
		if err != nil {
			t.Fatal(err)
		}
		got, err = client.UnwrapWinRM(h, c)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("client unwrap %d: %q, %v", i, got, err)
		}
	}
}

// isAuthErr reports whether err wraps target; a nil target means success.
func isAuthErr(err, target error) bool {
	if target == nil {
		return err == nil
	}
	return errors.Is(err, target)
}
