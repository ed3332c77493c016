package auth

import (
	"errors"
	"sync"
	"testing"
)

// fakeWrapper stands in for an NTLM or Kerberos context.
type fakeWrapper struct{}

func (fakeWrapper) WrapWinRM(p []byte) ([]byte, []byte, error) { return nil, p, nil }
func (fakeWrapper) UnwrapWinRM(h, c []byte) ([]byte, error) {
	if h != nil {
		return nil, errors.New("bad header")
	}
	return c, nil
}

func TestConnState(t *testing.T) {
	var c ConnState
	if c.Context() != nil || c.Value("Negotiate") != nil {
		t.Fatal("zero ConnState holds state")
	}
	c.SetValue("Negotiate", 1)
	c.SetValue("Kerberos", 2)
	c.SetValue("Kerberos", nil)
	if c.Value("Negotiate") != 1 || c.Value("Kerberos") != nil {
		t.Errorf("values: %v %v", c.Value("Negotiate"), c.Value("Kerberos"))
	}
	sc := &SecurityContext{Result: Result{Principal: "alice"}, Wrapper: fakeWrapper{},
		Protocols: []string{"application/HTTP-SPNEGO-session-encrypted"}}
	c.Establish(sc)
	if c.Context() != sc || c.Value("Negotiate") != 1 {
		t.Fatal("Establish lost the context or the handshake state")
	}
	c.Reset()
	if c.Context() != nil || c.Value("Negotiate") != nil {
		t.Error("Reset kept state")
	}
	c.Establish(sc)
	c.Establish(nil)
	if c.Context() != nil {
		t.Error("Establish(nil) kept the context")
	}

	// Concurrent use is safe (run under -race).
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			c.SetValue("Negotiate", i)
			c.Establish(sc)
			_ = c.Context()
			c.Reset()
		})
	}
	wg.Wait()
}

func TestAllowsProtocol(t *testing.T) {
	sc := &SecurityContext{Wrapper: fakeWrapper{}, Protocols: []string{"application/HTTP-Kerberos-session-encrypted", "application/HTTP-SPNEGO-session-encrypted"}}
	for p, want := range map[string]bool{
		"application/HTTP-SPNEGO-session-encrypted":   true,
		"application/http-kerberos-session-encrypted": true,
		"application/HTTP-CredSSP-session-encrypted":  false,
		"": false,
	} {
		if got := sc.AllowsProtocol(p); got != want {
			t.Errorf("AllowsProtocol(%q) = %v; want %v", p, got, want)
		}
	}
	var none *SecurityContext
	if none.AllowsProtocol("application/HTTP-SPNEGO-session-encrypted") {
		t.Error("nil context allows a protocol")
	}
	noWrap := &SecurityContext{Protocols: sc.Protocols}
	if noWrap.AllowsProtocol("application/HTTP-SPNEGO-session-encrypted") {
		t.Error("context without a Wrapper allows encryption")
	}
}
