package ntlm

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// testValidator accepts the users and passwords of users (names compared
// case-insensitively, as the account store does).
func testValidator(users map[string]string) HashValidator {
	return HashValidator{Lookup: func(ctx context.Context, user string) ([16]byte, error) {
		for u, p := range users {
			if strings.EqualFold(u, user) {
				return NTHash(p), nil
			}
		}
		return [16]byte{}, fmt.Errorf("%w: unknown user", ErrBadCredentials)
	}}
}

var testUsers = map[string]string{"alice": "S3cret!pass", "Bob": "hunter2"}

// testNow is the fixed clock of the tests.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newTestServer(t testing.TB, mod func(*ServerConfig)) *Server {
	t.Helper()
	cfg := ServerConfig{
		Validator:       testValidator(testUsers),
		NetBIOSDomain:   "PSREMOTE",
		NetBIOSComputer: "LINUXBOX",
		DNSDomain:       "example.test",
		DNSComputer:     "linuxbox.example.test",
		Now:             func() time.Time { return testNow },
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newTestClient(t testing.TB, cfg ClientConfig) *ClientContext {
	t.Helper()
	if cfg.User == "" {
		cfg.User, cfg.Password = "alice", testUsers["alice"]
	}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// handshake runs a full authentication of c against s. It returns the
// server context and the first error.
func handshake(t testing.TB, s *Server, cb ChannelBinding, c *ClientContext) (*ServerContext, error) {
	t.Helper()
	ctx := context.Background()
	sc := s.NewContext(cb)
	ch, done, err := sc.Step(ctx, c.Negotiate())
	if err != nil {
		return sc, err
	}
	if done || ch == nil {
		t.Fatalf("NEGOTIATE step: done %v, challenge %x", done, ch)
	}
	auth, err := c.Authenticate(ch)
	if err != nil {
		return sc, err
	}
	out, done, err := sc.Step(ctx, auth)
	if err != nil {
		return sc, err
	}
	if !done || out != nil {
		t.Fatalf("AUTHENTICATE step: done %v, out %x", done, out)
	}
	return sc, nil
}

// authOpts describes an AUTHENTICATE message crafted by the tests, to
// reach server paths our client never takes.
type authOpts struct {
	user, domain  string // as sent
	computeDomain string // domain NTOWFv2 is computed with
	password      string
	flags         uint32 // 0: the CHALLENGE flags without OEM
	noMIC         bool   // omit MsvAvFlags and the MIC
	bindings      []byte // MsvAvChannelBindings value; nil: no pair
	avs           []byte // the blob's AV pairs, encoded; nil: built
	ntResponse    []byte // overrides the computed response
	lmResponse    []byte // overrides the computed response
	esk           []byte // overrides EncryptedRandomSessionKey
	mutate        func(msg []byte)
}

// craftAuthenticate builds an AUTHENTICATE for the given NEGOTIATE and
// CHALLENGE, and returns it with its exported session key.
func craftAuthenticate(t testing.TB, negotiate, challenge []byte, o authOpts) ([]byte, [16]byte) {
	t.Helper()
	ch, err := parseChallenge(challenge)
	if err != nil {
		t.Fatal(err)
	}
	flags := o.flags
	if flags == 0 {
		flags = ch.flags &^ flagOEM
	}
	ts, _ := ch.targetInfo.get(avTimestamp)
	avs := o.avs
	if avs == nil {
		l := append(avList(nil), ch.targetInfo...)
		if !o.noMIC {
			l = append(l, avPair{id: avFlags, val: le.AppendUint32(nil, avFlagMICPresent)})
		}
		if o.bindings != nil {
			l = append(l, avPair{id: avChannelBindings, val: o.bindings})
		}
		avs = l.marshal()
	}
	key := ntowfv2(NTHash(o.password), o.user, o.computeDomain)
	nt, lm, sbk := computeResponse(key, ch.serverChallenge, [8]byte{1, 2, 3, 4, 5, 6, 7, 8}, le.Uint64(ts), avs)
	if o.ntResponse != nil {
		nt = o.ntResponse
	}
	if o.lmResponse != nil {
		lm = o.lmResponse
	}
	m := &authenticateMsg{lmResponse: lm, ntResponse: nt, user: o.user, domain: o.domain, flags: flags}
	exported := sbk
	if flags&flagKeyExch != 0 && flags&(flagSign|flagSeal) != 0 {
		exported = [16]byte(bytes.Repeat([]byte{0x42}, 16))
		esk := rc4k(sbk, exported)
		m.encryptedRandomSessionKey = esk[:]
	}
	if o.esk != nil {
		m.encryptedRandomSessionKey = o.esk
	}
	out := m.marshal()
	if !o.noMIC {
		mic := hmacMD5(exported[:], negotiate, challenge, out)
		copy(out[authenticateVersionEnd:authenticateMICEnd], mic[:])
	}
	if o.mutate != nil {
		o.mutate(out)
	}
	return out, exported
}

// defaultNegotiate is what our client sends.
func defaultNegotiate() []byte { return marshalNegotiate(clientFlags) }
