package ntlm

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/psremote/psremote/auth/cbt"
)

// serverChallenge returns a CHALLENGE from our server for the client's
// NEGOTIATE, decoded, for tests to alter.
func serverChallenge(t *testing.T, c *ClientContext) *challengeMsg {
	t.Helper()
	ch, _, err := newTestServer(t, nil).NewContext(ChannelBinding{}).Step(context.Background(), c.Negotiate())
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseChallenge(ch)
	if err != nil {
		t.Fatal(err)
	}
	m.version = productVersion
	return m
}

func TestClientNegotiate(t *testing.T) {
	c := newTestClient(t, ClientConfig{})
	neg := c.Negotiate()
	m, err := parseNegotiate(neg)
	if err != nil || m.flags != clientFlags || len(neg) != 40 {
		t.Fatalf("NEGOTIATE %x: %v", neg, err)
	}
	if !bytes.Equal(c.Negotiate(), neg) {
		t.Error("a second Negotiate differs")
	}
}

func TestClientAuthenticateContents(t *testing.T) {
	appData := []byte("tls-server-end-point:0123")
	c := newTestClient(t, ClientConfig{User: `PSREMOTE\alice`, Password: testUsers["alice"], Workstation: "WS", ChannelBindings: appData, TargetName: "HTTP/linuxbox"})
	ch := serverChallenge(t, c)
	// A hostile server's pairs the client owns are replaced, not echoed.
	ch.targetInfo = append(ch.targetInfo, avPair{id: avChannelBindings, val: bytes.Repeat([]byte{9}, 16)}, avPair{id: avTargetName, val: encodeUTF16("evil")})
	auth, err := c.Authenticate(ch.marshal())
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseAuthenticate(auth)
	if err != nil {
		t.Fatal(err)
	}
	if m.user != "alice" || m.domain != "PSREMOTE" || m.workstation != "WS" || !m.hasMICField() {
		t.Errorf("user %q domain %q workstation %q MIC field %v", m.user, m.domain, m.workstation, m.hasMICField())
	}
	if !bytes.Equal(m.lmResponse, make([]byte, 24)) {
		t.Errorf("LmChallengeResponse = %x, want Z(24) when the server sent a timestamp", m.lmResponse)
	}
	if len(m.encryptedRandomSessionKey) != 16 || m.flags&(flagKeyExch|flagSeal|flagESS|flagUnicode) != flagKeyExch|flagSeal|flagESS|flagUnicode || m.flags&flagOEM != 0 {
		t.Errorf("flags %#x, key %x", m.flags, m.encryptedRandomSessionKey)
	}
	blob := m.ntResponse[16:]
	if ts, _ := ch.targetInfo.get(avTimestamp); !bytes.Equal(blob[8:16], ts) {
		t.Errorf("blob time %x, want the server's %x", blob[8:16], ts)
	}
	avs, err := parseAVPairs(blob[28:])
	if err != nil {
		t.Fatal(err)
	}
	count := map[uint16]int{}
	for _, p := range avs {
		count[p.id]++
	}
	if count[avChannelBindings] != 1 || count[avTargetName] != 1 || count[avFlags] != 1 {
		t.Errorf("AV pair counts %v", count)
	}
	want := cbt.Hash(appData)
	if v, _ := avs.get(avChannelBindings); !bytes.Equal(v, want[:]) {
		t.Errorf("MsvAvChannelBindings = %x, want %x", v, want)
	}
	if v, _ := avs.get(avTargetName); !bytes.Equal(v, encodeUTF16("HTTP/linuxbox")) {
		t.Errorf("MsvAvTargetName = %q", v)
	}
	if v, _ := avs.get(avFlags); le.Uint32(v) != avFlagMICPresent {
		t.Errorf("MsvAvFlags = %x", v)
	}
}

// Without MsvAvTimestamp the client uses its own clock, sends an LMv2
// response and no MIC.
func TestClientWithoutServerTimestamp(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	c := newTestClient(t, ClientConfig{Now: func() time.Time { return now }})
	ch := serverChallenge(t, c)
	var kept avList
	for _, p := range ch.targetInfo {
		if p.id != avTimestamp {
			kept = append(kept, p)
		}
	}
	ch.targetInfo = kept
	auth, err := c.Authenticate(ch.marshal())
	if err != nil {
		t.Fatal(err)
	}
	m, _ := parseAuthenticate(auth)
	if le.Uint64(m.ntResponse[16+8:]) != toFiletime(now) || len(m.lmResponse) != 24 || bytes.Equal(m.lmResponse, make([]byte, 24)) {
		t.Errorf("time %d, LM %x", le.Uint64(m.ntResponse[16+8:]), m.lmResponse)
	}
	if !bytes.Equal(auth[authenticateVersionEnd:authenticateMICEnd], make([]byte, 16)) {
		t.Error("MIC sent without a server timestamp")
	}
	avs, _ := parseAVPairs(m.ntResponse[16+28:])
	if _, ok := avs.get(avFlags); ok {
		t.Error("MsvAvFlags sent without a server timestamp")
	}
}

func TestClientErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		alter  func(m *challengeMsg)
		raw    func(b []byte) []byte
		config ClientConfig
		want   error
	}{
		{"OEM server", func(m *challengeMsg) { m.flags = m.flags&^flagUnicode | flagOEM }, nil, ClientConfig{}, ErrUnsupported},
		{"datagram", func(m *challengeMsg) { m.flags |= flagDatagram }, nil, ClientConfig{}, ErrUnsupported},
		{"LM_KEY", func(m *challengeMsg) { m.flags = m.flags&^flagESS | flagLMKey }, nil, ClientConfig{}, ErrUnsupported},
		{"56-bit sealing", func(m *challengeMsg) { m.flags &^= flag128 }, nil, ClientConfig{}, ErrUnsupported},
		{"no NetBIOS names", func(m *challengeMsg) { m.targetInfo = m.targetInfo[2:] }, nil, ClientConfig{}, ErrMalformed},
		{"no TargetInfo", func(m *challengeMsg) { m.hasTargetInfo = false }, nil, ClientConfig{}, ErrMalformed},
		{"timestamp of 4 bytes", func(m *challengeMsg) {
			m.targetInfo = append(m.targetInfo[:4], avPair{id: avTimestamp, val: []byte{1, 2, 3, 4}})
		}, nil, ClientConfig{}, ErrMalformed},
		{"huge TargetInfo", func(m *challengeMsg) {
			for range 40 {
				m.targetInfo = append(m.targetInfo, avPair{id: avDNSTreeName, val: make([]byte, 1000)})
			}
		}, nil, ClientConfig{}, ErrMalformed},
		{"truncated", nil, func(b []byte) []byte { return b[:40] }, ClientConfig{}, ErrMalformed},
		{"NEGOTIATE instead", nil, func([]byte) []byte { return defaultNegotiate() }, ClientConfig{}, ErrMalformed},
		{"TargetInfo outside", nil, func(b []byte) []byte { le.PutUint16(b[40:], 0xffff); return b }, ClientConfig{}, ErrMalformed},
		{"random source fails", nil, nil, ClientConfig{User: "a", Rand: strings.NewReader("short")}, errors.New("")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestClient(t, tc.config)
			ch := serverChallenge(t, c)
			if tc.alter != nil {
				tc.alter(ch)
			}
			msg := ch.marshal()
			if tc.raw != nil {
				msg = tc.raw(msg)
			}
			out, err := c.Authenticate(msg)
			if err == nil || out != nil || c.Session() != nil {
				t.Fatalf("out %x, err %v", out, err)
			}
			if tc.want.Error() != "" && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestClientOrder(t *testing.T) {
	c := newTestClient(t, ClientConfig{})
	if _, err := c.Authenticate(nil); !errors.Is(err, ErrOutOfOrder) {
		t.Errorf("Authenticate before Negotiate: %v", err)
	}
	ch := serverChallenge(t, c).marshal()
	if _, err := c.Authenticate(ch); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Authenticate(ch); !errors.Is(err, ErrOutOfOrder) {
		t.Errorf("second Authenticate: %v", err)
	}
}

func TestSessionMisc(t *testing.T) {
	key := [16]byte{1}
	t.Run("no integrity", func(t *testing.T) {
		c, s := newSession(flagAlwaysSign|flagESS, key, true), newSession(flagAlwaysSign|flagESS, key, false)
		sig := c.Sign([]byte("m"))
		if !bytes.Equal(sig, noSignSignature()) || c.Signing() || c.Sealing() {
			t.Fatalf("signature without SIGN = %x", sig)
		}
		if err := s.Verify([]byte("other"), sig); err != nil {
			t.Fatal(err)
		}
		if err := s.Verify(nil, append([]byte{1, 0, 0, 0, 1}, make([]byte, 11)...)); !errors.Is(err, ErrIntegrity) {
			t.Fatalf("non-constant signature: %v", err)
		}
		if _, err := s.UnwrapWinRM(sig, nil); !errors.Is(err, ErrUnsupported) {
			t.Fatalf("UnwrapWinRM without sealing: %v", err)
		}
	})
	t.Run("malformed signatures", func(t *testing.T) {
		s := newSession(clientFlags, key, false)
		for _, sig := range [][]byte{nil, make([]byte, 15), make([]byte, 17), make([]byte, 16)} {
			if _, err := s.UnwrapWinRM(sig, []byte("x")); !errors.Is(err, ErrMalformed) {
				t.Errorf("UnwrapWinRM(%x): %v", sig, err)
			}
			if err := s.Verify([]byte("x"), sig); !errors.Is(err, ErrMalformed) {
				t.Errorf("Verify(%x): %v", sig, err)
			}
		}
		// Malformed input does not consume state: a good message still
		// opens.
		c := newSession(clientFlags, key, true)
		hdr, ct, _ := c.WrapWinRM([]byte("ok"))
		if pt, err := s.UnwrapWinRM(hdr, ct); err != nil || string(pt) != "ok" {
			t.Fatalf("after malformed input: %q, %v", pt, err)
		}
	})
	t.Run("broken session", func(t *testing.T) {
		c, s := newSession(clientFlags, key, true), newSession(clientFlags, key, false)
		hdr, ct, _ := c.WrapWinRM([]byte("ok"))
		hdr[12] = 7
		if _, err := s.UnwrapWinRM(hdr, ct); !errors.Is(err, ErrSequence) {
			t.Fatal(err)
		}
		if _, _, err := s.WrapWinRM([]byte("x")); !errors.Is(err, ErrSessionBroken) {
			t.Errorf("WrapWinRM on a broken session: %v", err)
		}
		if s.Sign([]byte("x")) != nil {
			t.Error("Sign on a broken session returned a signature")
		}
		if err := s.Verify([]byte("x"), noSignSignature()); !errors.Is(err, ErrSessionBroken) {
			t.Errorf("Verify on a broken session: %v", err)
		}
	})
}
