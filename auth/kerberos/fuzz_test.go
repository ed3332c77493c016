package kerberos

import (
	"bytes"
	"testing"
	"time"
)

// FuzzAccept feeds arbitrary tokens to Accept: it must never panic, and
// anything it accepts must be a well-formed AP-REQ for the keytab. Seeds:
// a valid framed and bare AP-REQ, and truncations.
func FuzzAccept(f *testing.F) {
	a := testAcceptor(f, AcceptorConfig{Now: func() time.Time { return testNow }})
	tok, err := testInitiator(f, ticketOpts{}, InitiatorConfig{ChannelBindings: []byte("cb")}).InitToken()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok)
	f.Add(tok[17:])
	f.Add(tok[:len(tok)/2])
	f.Add(frameToken(oidKRB5, tokAPReq, []byte{tagAPReq, 0x80}))
	f.Add([]byte{0x60, 0x84, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, rep, err := a.Accept(t.Context(), b, ChannelBinding{})
		if err == nil && (c == nil || len(rep) == 0) {
			t.Fatal("Accept succeeded without a context and reply")
		}
	})
}

// FuzzUnwrap feeds arbitrary header and ciphertext pairs to UnwrapWinRM:
// it must never panic and must reject everything but genuine tokens.
// Seeds: genuine tokens from both layouts.
func FuzzUnwrap(f *testing.F) {
	ini, acc := wrapPair(f)
	for _, m := range []string{"", "x", "<s:Envelope>some message</s:Envelope>"} {
		h, d, err := ini.WrapWinRM([]byte(m))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(h, d)
	}
	f.Add([]byte{0x05, 0x04, 0x06, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0}, []byte{})
	f.Fuzz(func(t *testing.T, h, d []byte) {
		// A fresh receiver each time, expecting the tokens' first
		// sequence number, so that valid seeds do unwrap.
		r := &Context{session: acc.session, initSubkey: acc.initSubkey, accSubkey: acc.accSubkey, recvSeq: ini.sendSeq - 3}
		got, err := r.UnwrapWinRM(h, d)
		if err == nil && len(got) > len(h)+len(d) {
			t.Fatalf("unwrapped %d bytes from %d", len(got), len(h)+len(d))
		}
	})
}

// FuzzComplete feeds arbitrary replies to Complete.
func FuzzComplete(f *testing.F) {
	i := testInitiator(f, ticketOpts{}, InitiatorConfig{})
	tok, err := i.InitToken()
	if err != nil {
		f.Fatal(err)
	}
	_, rep, err := testAcceptor(f, AcceptorConfig{}).Accept(f.Context(), tok, ChannelBinding{})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(rep)
	f.Add(rep[17:])
	f.Add(frameToken(oidKRB5, tokKRBError, []byte{tagKRBError, 0x01, 0x00}))
	pending := *i.pending
	f.Fuzz(func(t *testing.T, b []byte) {
		p := pending
		i.mu.Lock()
		i.pending = &p
		i.mu.Unlock()
		_, _ = i.Complete(b)
	})
}

// FuzzGSSChecksum feeds arbitrary authenticator checksums to the parser.
func FuzzGSSChecksum(f *testing.F) {
	f.Add((gssChecksum{flags: flagMutual}).marshal())
	f.Add(mustHex(f, "10000000"+"00000000000000000000000000000000"+"33000000"+"0100"+"0300"+"aabbcc"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseGSSChecksum(b)
		if err == nil && !bytes.Equal(c.marshal()[:20], b[:20]) {
			t.Fatalf("Lgth/Bnd not preserved")
		}
	})
}

// FuzzPrincipalMap feeds arbitrary map files to the parser.
func FuzzPrincipalMap(f *testing.F) {
	f.Add([]byte("# comment\nalice@X.TEST alice\n\nsvc/h@X.TEST svc # c\n"))
	f.Add([]byte("a@b c d\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parsePrincipalMap(b)
		if err != nil {
			return
		}
		pm := NewPrincipalMap("X.TEST", m)
		for p, u := range m {
			if got, err := pm.Map(p); err != nil || got != u {
				t.Fatalf("Map(%q) = %q, %v; want %q", p, got, err, u)
			}
		}
	})
}
