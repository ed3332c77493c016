package ntlm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/psremote/psremote/auth/cbt"
)

// exchange seals n messages each way, interleaved and in bursts, and
// checks each arrives intact: the RC4 states and sequence numbers carry
// over from message to message in both directions.
func exchange(t *testing.T, client, server *Session, n int) {
	t.Helper()
	send := func(from, to *Session, msg []byte) {
		t.Helper()
		hdr, ct, err := from.WrapWinRM(msg)
		if err != nil {
			t.Fatal(err)
		}
		if len(hdr) != 16 || len(ct) != len(msg) || (len(msg) > 8 && bytes.Equal(ct, msg)) {
			t.Fatalf("WrapWinRM: header %d bytes, ciphertext %d bytes for %d", len(hdr), len(ct), len(msg))
		}
		got, err := to.UnwrapWinRM(hdr, ct)
		if err != nil {
			t.Fatalf("UnwrapWinRM: %v", err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("UnwrapWinRM = %q, want %q", got, msg)
		}
	}
	for i := range n {
		req := fmt.Appendf(nil, "<s:Envelope>request %d %s</s:Envelope>", i, bytes.Repeat([]byte("x"), i*7))
		send(client, server, req)
		if i%3 == 0 {
			send(client, server, req[:i%5]) // empty and short messages too
		}
		send(server, client, fmt.Appendf(nil, "response %d", i))
		if i%4 == 0 {
			for j := range 3 {
				send(server, client, fmt.Appendf(nil, "burst %d.%d", i, j))
			}
		}
		// A signature (SPNEGO mechListMIC) between sealed messages.
		if i%5 == 0 {
			if err := server.Verify(req, client.Sign(req)); err != nil {
				t.Fatalf("Verify client signature: %v", err)
			}
			if err := client.Verify(req, server.Sign(req)); err != nil {
				t.Fatalf("Verify server signature: %v", err)
			}
		}
	}
}

func TestRoundTrip(t *testing.T) {
	s := newTestServer(t, nil)
	c := newTestClient(t, ClientConfig{Domain: "PSREMOTE", Workstation: "WS1", TargetName: "HTTP/linuxbox"})
	sc, err := handshake(t, s, ChannelBinding{Policy: cbt.Relaxed}, c)
	if err != nil {
		t.Fatal(err)
	}
	if sc.User() != "alice" || sc.Domain() != "PSREMOTE" {
		t.Errorf("User, Domain = %q, %q", sc.User(), sc.Domain())
	}
	ss, cs := sc.Session(), c.Session()
	if ss == nil || cs == nil || !ss.Sealing() || !cs.Signing() {
		t.Fatalf("sessions %v %v", ss, cs)
	}
	exchange(t, cs, ss, 40)
}

// TestRoundTripVariants covers 56- and 40-bit sealing keys and the
// absence of key exchange or extended session security, which our client
// never asks for on its own.
func TestRoundTripVariants(t *testing.T) {
	for _, tc := range []struct {
		name   string
		remove uint32
		weak   bool
	}{
		{"no key exchange", flagKeyExch, false},
		{"56-bit", flag128, true},
		{"40-bit", flag128 | flag56, true},
		{"no extended session security", flagESS, false},
		{"no extended session security, no key exchange", flagESS | flagKeyExch, false},
		{"sign only", flagSeal, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t, func(c *ServerConfig) { c.AllowWeakKeys = tc.weak })
			var ss, cs *Session
			if tc.weak {
				// Our client refuses weak keys; craft its messages.
				ctx := context.Background()
				sc := s.NewContext(ChannelBinding{})
				neg := marshalNegotiate(clientFlags &^ tc.remove)
				ch, _, err := sc.Step(ctx, neg)
				if err != nil {
					t.Fatal(err)
				}
				auth, exported := craftAuthenticate(t, neg, ch, authOpts{user: "alice", password: testUsers["alice"]})
				if _, _, err := sc.Step(ctx, auth); err != nil {
					t.Fatal(err)
				}
				ss = sc.Session()
				cs = newSession(ss.flags, exported, true)
				if ss.flags&flag128 != 0 || ss.flags&flag56 != clientFlags&^tc.remove&flag56 {
					t.Fatalf("negotiated %#x", ss.flags)
				}
			} else {
				c := newTestClient(t, ClientConfig{})
				c.requested &^= tc.remove
				sc, err := handshake(t, s, ChannelBinding{}, c)
				if err != nil {
					t.Fatal(err)
				}
				ss, cs = sc.Session(), c.Session()
				if ss.flags&securityFlags != cs.flags&securityFlags || ss.flags&tc.remove != 0 {
					t.Fatalf("negotiated flags: server %#x, client %#x", ss.flags, cs.flags)
				}
			}
			if tc.remove&flagSeal != 0 {
				if _, _, err := cs.WrapWinRM([]byte("x")); !errors.Is(err, ErrUnsupported) {
					t.Fatalf("WrapWinRM without sealing: %v", err)
				}
				for i := range 5 {
					msg := fmt.Appendf(nil, "signed %d", i)
					if err := ss.Verify(msg, cs.Sign(msg)); err != nil {
						t.Fatal(err)
					}
					if err := cs.Verify(msg, ss.Sign(msg)); err != nil {
						t.Fatal(err)
					}
				}
				return
			}
			exchange(t, cs, ss, 12)
		})
	}
}

// The client refuses sealing weaker than 128 bits even when the server
// allows it; the server refuses it by default.
func TestWeakKeysRefused(t *testing.T) {
	c := newTestClient(t, ClientConfig{})
	c.requested &^= flag128
	if _, err := handshake(t, newTestServer(t, nil), ChannelBinding{}, c); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("server accepted 56-bit sealing by default: %v", err)
	}
}

func TestChannelBindings(t *testing.T) {
	good := []byte("tls-server-end-point:good-certificate-hash")
	bad := []byte("tls-server-end-point:other-certificate-hash")
	for _, tc := range []struct {
		policy cbt.Policy
		secure bool
		client []byte // nil: the client sends zeros (no bindings)
		want   error
	}{
		{cbt.Strict, true, good, nil},
		{cbt.Strict, true, bad, cbt.ErrMismatch},
		{cbt.Strict, true, nil, cbt.ErrMissing},
		{cbt.Strict, false, nil, nil}, // plain HTTP: ignored
		{cbt.Strict, false, bad, nil},
		{cbt.Relaxed, true, good, nil},
		{cbt.Relaxed, true, bad, cbt.ErrMismatch},
		{cbt.Relaxed, true, nil, nil},
		{cbt.None, true, bad, nil},
		{cbt.None, true, nil, nil},
	} {
		t.Run(fmt.Sprintf("%v/secure=%v/client=%q", tc.policy, tc.secure, tc.client), func(t *testing.T) {
			cb := ChannelBinding{Policy: tc.policy, Secure: tc.secure}
			if tc.secure {
				cb.AppData = good
			}
			c := newTestClient(t, ClientConfig{ChannelBindings: tc.client})
			sc, err := handshake(t, newTestServer(t, nil), cb, c)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if (err == nil) != (sc.Session() != nil) {
				t.Errorf("Session() = %v with err %v", sc.Session(), err)
			}
		})
	}
}

func TestWrongPasswordAndUnknownUser(t *testing.T) {
	for _, cfg := range []ClientConfig{
		{User: "alice", Password: "wrong"},
		{User: "mallory", Password: "S3cret!pass"},
		{User: "alice", NTHash: &[16]byte{1}},
	} {
		c := newTestClient(t, cfg)
		sc, err := handshake(t, newTestServer(t, nil), ChannelBinding{}, c)
		if !errors.Is(err, ErrBadCredentials) {
			t.Errorf("%s: err = %v, want ErrBadCredentials", cfg.User, err)
		}
		if sc.Session() != nil || sc.User() != "" {
			t.Errorf("%s: failed context has session %v, user %q", cfg.User, sc.Session(), sc.User())
		}
	}
}

func TestClientUserForms(t *testing.T) {
	hash := NTHash(testUsers["Bob"])
	for _, tc := range []struct {
		cfg                    ClientConfig
		wantUser, wantDomain   string
		wantAccount, wantError string
	}{
		{ClientConfig{User: `PSREMOTE\bob`, Password: "hunter2"}, "bob", "PSREMOTE", "bob", ""},
		{ClientConfig{User: `psremote\bob`, Domain: "PSREMOTE", NTHash: &hash}, "bob", "psremote", "bob", ""},
		{ClientConfig{User: "BOB", Domain: "", Password: "hunter2"}, "BOB", "", "BOB", ""},
		// A UPN goes as-is with an empty domain; the account store would
		// map it.
		{ClientConfig{User: "bob@example.test", Password: "hunter2"}, "bob@example.test", "", "", "bad credentials"},
	} {
		t.Run(tc.cfg.User, func(t *testing.T) {
			c := newTestClient(t, tc.cfg)
			if c.user != tc.wantUser || c.domain != tc.wantDomain {
				t.Fatalf("user, domain = %q, %q; want %q, %q", c.user, c.domain, tc.wantUser, tc.wantDomain)
			}
			sc, err := handshake(t, newTestServer(t, nil), ChannelBinding{}, c)
			if tc.wantError != "" {
				if err == nil || !errors.Is(err, ErrBadCredentials) {
					t.Fatalf("err = %v, want %s", err, tc.wantError)
				}
				return
			}
			if err != nil || sc.User() != tc.wantAccount {
				t.Fatalf("User() = %q, err %v", sc.User(), err)
			}
		})
	}
}

func TestNewClientErrors(t *testing.T) {
	long := string(bytes.Repeat([]byte("a"), maxNameBytes))
	for _, cfg := range []ClientConfig{
		{},
		{User: `DOM\`},
		{User: `A\bob`, Domain: "B"},
		{User: long},
		{User: "bob", Workstation: long},
	} {
		if _, err := NewClient(cfg); err == nil {
			t.Errorf("NewClient(%q, %q) succeeded", cfg.User, cfg.Domain)
		}
	}
}

// TestDomainVariants checks the server accepts a response computed with
// the domain upper-cased (winrm-client) or empty, and one computed with
// the server's TargetName as the domain (Azure/go-ntlmssp).
func TestDomainVariants(t *testing.T) {
	for _, tc := range []struct {
		sent, computed string
		ok             bool
	}{
		{"psremote", "psremote", true},
		{"psremote", "PSREMOTE", true},
		{"psremote", "", true},
		{"", "", true},
		{"PSREMOTE", "PSREMOTE", true},
		{"psremote", "PsRemote", false},
		{"psremote", "OTHER", false},
	} {
		t.Run(tc.sent+"/"+tc.computed, func(t *testing.T) {
			ctx := context.Background()
			sc := newTestServer(t, nil).NewContext(ChannelBinding{})
			neg := defaultNegotiate()
			ch, _, err := sc.Step(ctx, neg)
			if err != nil {
				t.Fatal(err)
			}
			auth, _ := craftAuthenticate(t, neg, ch, authOpts{user: "alice", domain: tc.sent, computeDomain: tc.computed, password: testUsers["alice"]})
			_, done, err := sc.Step(ctx, auth)
			if done != tc.ok || (err == nil) != tc.ok || (!tc.ok && !errors.Is(err, ErrBadCredentials)) {
				t.Fatalf("done %v, err %v; want ok=%v", done, err, tc.ok)
			}
			if tc.ok && sc.Domain() != tc.sent {
				t.Errorf("Domain() = %q, want %q", sc.Domain(), tc.sent)
			}
		})
	}
}

func TestMIC(t *testing.T) {
	ctx := context.Background()
	t.Run("tampered MIC", func(t *testing.T) {
		c := newTestClient(t, ClientConfig{})
		sc := newTestServer(t, nil).NewContext(ChannelBinding{})
		ch, _, _ := sc.Step(ctx, c.Negotiate())
		auth, err := c.Authenticate(ch)
		if err != nil {
			t.Fatal(err)
		}
		auth[authenticateVersionEnd+3] ^= 0x01
		if _, _, err := sc.Step(ctx, auth); !errors.Is(err, ErrMIC) {
			t.Fatalf("err = %v, want ErrMIC", err)
		}
	})
	t.Run("tampered NEGOTIATE", func(t *testing.T) {
		// A man in the middle drops the client's key exchange request;
		// the MIC covers the NEGOTIATE the client sent.
		c := newTestClient(t, ClientConfig{})
		sc := newTestServer(t, nil).NewContext(ChannelBinding{})
		neg := c.Negotiate()
		le.PutUint32(neg[12:], le.Uint32(neg[12:])&^flagVersion)
		ch, _, _ := sc.Step(ctx, neg)
		auth, err := c.Authenticate(ch)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := sc.Step(ctx, auth); !errors.Is(err, ErrMIC) {
			t.Fatalf("err = %v, want ErrMIC", err)
		}
	})
	t.Run("tampered AUTHENTICATE flags", func(t *testing.T) {
		c := newTestClient(t, ClientConfig{})
		sc := newTestServer(t, nil).NewContext(ChannelBinding{})
		ch, _, _ := sc.Step(ctx, c.Negotiate())
		auth, _ := c.Authenticate(ch)
		le.PutUint32(auth[60:], le.Uint32(auth[60:])&^flagSeal)
		if _, _, err := sc.Step(ctx, auth); !errors.Is(err, ErrMIC) {
			t.Fatalf("err = %v, want ErrMIC", err)
		}
	})
	t.Run("no MIC is accepted", func(t *testing.T) {
		sc := newTestServer(t, nil).NewContext(ChannelBinding{})
		neg := defaultNegotiate()
		ch, _, _ := sc.Step(ctx, neg)
		auth, exported := craftAuthenticate(t, neg, ch, authOpts{user: "alice", password: testUsers["alice"], noMIC: true})
		if _, done, err := sc.Step(ctx, auth); err != nil || !done {
			t.Fatalf("done %v, err %v", done, err)
		}
		cs := newSession(sc.Session().flags, exported, true)
		exchange(t, cs, sc.Session(), 3)
	})
}

func TestSealedTamperAndReplay(t *testing.T) {
	setup := func(t *testing.T) (cs, ss *Session) {
		c := newTestClient(t, ClientConfig{})
		sc, err := handshake(t, newTestServer(t, nil), ChannelBinding{}, c)
		if err != nil {
			t.Fatal(err)
		}
		return c.Session(), sc.Session()
	}
	t.Run("tampered ciphertext", func(t *testing.T) {
		cs, ss := setup(t)
		hdr, ct, _ := cs.WrapWinRM([]byte("<s:Envelope>run rm -rf</s:Envelope>"))
		ct[5] ^= 0x20
		if _, err := ss.UnwrapWinRM(hdr, ct); !errors.Is(err, ErrIntegrity) {
			t.Fatalf("err = %v, want ErrIntegrity", err)
		}
		hdr, ct, _ = cs.WrapWinRM([]byte("next"))
		if _, err := ss.UnwrapWinRM(hdr, ct); !errors.Is(err, ErrSessionBroken) {
			t.Fatalf("after a failure: %v, want ErrSessionBroken", err)
		}
	})
	t.Run("tampered checksum", func(t *testing.T) {
		cs, ss := setup(t)
		hdr, ct, _ := cs.WrapWinRM([]byte("hello"))
		hdr[6] ^= 1
		if _, err := ss.UnwrapWinRM(hdr, ct); !errors.Is(err, ErrIntegrity) {
			t.Fatalf("err = %v, want ErrIntegrity", err)
		}
	})
	t.Run("replayed message", func(t *testing.T) {
		cs, ss := setup(t)
		hdr, ct, _ := cs.WrapWinRM([]byte("first"))
		if _, err := ss.UnwrapWinRM(hdr, ct); err != nil {
			t.Fatal(err)
		}
		if _, err := ss.UnwrapWinRM(hdr, ct); !errors.Is(err, ErrSequence) {
			t.Fatalf("replay: err = %v, want ErrSequence", err)
		}
	})
	t.Run("skipped message", func(t *testing.T) {
		cs, ss := setup(t)
		cs.WrapWinRM([]byte("lost"))
		hdr, ct, _ := cs.WrapWinRM([]byte("second"))
		if _, err := ss.UnwrapWinRM(hdr, ct); !errors.Is(err, ErrSequence) {
			t.Fatalf("err = %v, want ErrSequence", err)
		}
	})
	t.Run("own message reflected", func(t *testing.T) {
		cs, _ := setup(t)
		hdr, ct, _ := cs.WrapWinRM([]byte("reflect me"))
		if _, err := cs.UnwrapWinRM(hdr, ct); err == nil {
			t.Fatal("a client accepted its own sealed message back")
		}
	})
	t.Run("tampered signature", func(t *testing.T) {
		cs, ss := setup(t)
		sig := cs.Sign([]byte("mechListMIC"))
		if err := ss.Verify([]byte("mechListMlC"), sig); !errors.Is(err, ErrIntegrity) {
			t.Fatalf("err = %v, want ErrIntegrity", err)
		}
		if err := ss.Verify([]byte("x"), sig); !errors.Is(err, ErrSessionBroken) {
			t.Fatalf("err = %v, want ErrSessionBroken", err)
		}
		if cs.Sign(nil) == nil {
			t.Fatal("the client's outgoing side broke too")
		}
	})
}

func TestHandshakeOrder(t *testing.T) {
	ctx := context.Background()
	c := newTestClient(t, ClientConfig{})
	s := newTestServer(t, nil)

	sc := s.NewContext(ChannelBinding{})
	ch, _, err := sc.Step(ctx, c.Negotiate())
	if err != nil {
		t.Fatal(err)
	}
	auth, _ := c.Authenticate(ch)
	if _, _, err := sc.Step(ctx, c.Negotiate()); !errors.Is(err, ErrOutOfOrder) {
		t.Errorf("second NEGOTIATE: %v", err)
	}
	if _, _, err := sc.Step(ctx, auth); !errors.Is(err, ErrOutOfOrder) {
		t.Errorf("AUTHENTICATE after a failure: %v", err)
	}

	sc = s.NewContext(ChannelBinding{})
	if _, _, err := sc.Step(ctx, auth); !errors.Is(err, ErrOutOfOrder) {
		t.Errorf("AUTHENTICATE first: %v", err)
	}

	c2 := newTestClient(t, ClientConfig{})
	sc, err = handshake(t, s, ChannelBinding{}, c2)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := sc.Step(ctx, c2.Negotiate()); !errors.Is(err, ErrOutOfOrder) {
		t.Errorf("NEGOTIATE after done: %v", err)
	}
	if sc.Session() != nil {
		t.Error("session survives a failed step")
	}
}

// TestResetRC4 follows SPNEGO: the client signs the mechListMIC, the
// server verifies it, both reset that direction's RC4 state, and the
// first sealed message is then sealed with the initial key stream but the
// next sequence number.
func TestResetRC4(t *testing.T) {
	for _, flags := range []uint32{clientFlags, clientFlags &^ flagESS} {
		key := [16]byte{3, 1, 4, 1, 5, 9, 2, 6}
		cs, ss := newSession(flags, key, true), newSession(flags, key, false)
		mechList := []byte("0\x0c\x06\x0a+\x06\x01\x04\x01\x827\x02\x02\x0a")
		if err := ss.Verify(mechList, cs.Sign(mechList)); err != nil {
			t.Fatal(err)
		}
		cs.ResetRC4(true)
		ss.ResetRC4(false)
		msg := []byte("<s:Envelope>first</s:Envelope>")
		hdr, ct, err := cs.WrapWinRM(msg)
		if err != nil {
			t.Fatal(err)
		}
		_, fresh, _ := newSession(flags, key, true).WrapWinRM(msg)
		if !bytes.Equal(ct, fresh) {
			t.Errorf("flags %#x: after ResetRC4 the message is not sealed with the initial key stream", flags)
		}
		if flags&flagESS != 0 && le.Uint32(hdr[12:]) != 1 {
			t.Errorf("sequence number %d after one signature, want 1", le.Uint32(hdr[12:]))
		}
		if pt, err := ss.UnwrapWinRM(hdr, ct); err != nil || !bytes.Equal(pt, msg) {
			t.Fatalf("flags %#x: UnwrapWinRM after reset = %q, %v", flags, pt, err)
		}
		exchange(t, cs, ss, 5)

		// Without the server's reset the states diverge.
		cs, ss = newSession(flags, key, true), newSession(flags, key, false)
		if err := ss.Verify(mechList, cs.Sign(mechList)); err != nil {
			t.Fatal(err)
		}
		cs.ResetRC4(true)
		hdr, ct, _ = cs.WrapWinRM(msg)
		if _, err := ss.UnwrapWinRM(hdr, ct); err == nil {
			t.Errorf("flags %#x: unwrapped without the matching reset", flags)
		}
	}
}
