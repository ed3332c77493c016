package ntlm

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/psremote/psremote/auth/cbt"
)

func TestChallengeContents(t *testing.T) {
	s := newTestServer(t, func(c *ServerConfig) {
		c.Rand = bytes.NewReader([]byte{9, 8, 7, 6, 5, 4, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1})
	})
	// ntlm-auth's NEGOTIATE: OEM only, no NTLM flag. The answer is in
	// Unicode only (winrm-client's ntlm-client would use ASCII if OEM
	// were set too).
	oemOnly := flagOEM | flagSign | flagSeal | flagAlwaysSign | flagTargetInfo | flag128 | flag56 | flagKeyExch | flagVersion | flagESS
	ch, _, err := s.NewContext(ChannelBinding{}).Step(context.Background(), marshalNegotiate(oemOnly))
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseChallenge(ch)
	if err != nil {
		t.Fatal(err)
	}
	wantFlags := flagUnicode | flagRequestTarget | flagNTLM | flagAlwaysSign | flagTargetInfo | flagTargetTypeDomain |
		flagSign | flagSeal | flag128 | flag56 | flagKeyExch | flagVersion | flagESS
	if m.flags != wantFlags {
		t.Errorf("flags = %#x, want %#x", m.flags, wantFlags)
	}
	if m.serverChallenge != [8]byte{9, 8, 7, 6, 5, 4, 3, 2} || m.targetName != "PSREMOTE" {
		t.Errorf("challenge %x, target %q", m.serverChallenge, m.targetName)
	}
	var ids []uint16
	for _, p := range m.targetInfo {
		ids = append(ids, p.id)
	}
	if want := []uint16{avNbDomainName, avNbComputerName, avDNSDomainName, avDNSComputerName, avTimestamp}; !equalIDs(ids, want) {
		t.Errorf("AV pairs %v, want %v", ids, want)
	}
	if v, _ := m.targetInfo.get(avDNSComputerName); !bytes.Equal(v, encodeUTF16("linuxbox.example.test")) {
		t.Errorf("MsvAvDnsComputerName = %q", v)
	}
	if v, _ := m.targetInfo.get(avTimestamp); le.Uint64(v) != toFiletime(testNow) {
		t.Errorf("MsvAvTimestamp = %d, want %d", le.Uint64(v), toFiletime(testNow))
	}
	if !bytes.Equal(ch[48:56], productVersion[:]) {
		t.Errorf("Version = %x", ch[48:56])
	}

	// Azure/go-ntlmssp: Unicode, 128/56 without signing or sealing: no
	// key strength, no key exchange, no Version.
	ch, _, err = s.NewContext(ChannelBinding{}).Step(context.Background(),
		marshalNegotiate(flagUnicode|flagTargetInfo|flag128|flag56|flagESS))
	if err != nil {
		t.Fatal(err)
	}
	m, _ = parseChallenge(ch)
	if m.flags&(flag128|flag56|flagKeyExch|flagSign|flagSeal|flagVersion|flagOEM) != 0 || m.flags&flagESS == 0 {
		t.Errorf("flags = %#x", m.flags)
	}
	if !bytes.Equal(ch[48:56], make([]byte, 8)) {
		t.Errorf("Version without NTLMSSP_NEGOTIATE_VERSION = %x", ch[48:56])
	}
}

func equalIDs(a, b []uint16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestServerDefaults(t *testing.T) {
	s, err := NewServer(ServerConfig{Validator: testValidator(nil)})
	if err != nil {
		t.Fatal(err)
	}
	nbDomain, _ := s.names.get(avNbDomainName)
	nbComputer, _ := s.names.get(avNbComputerName)
	if !bytes.Equal(nbDomain, nbComputer) || len(nbComputer) == 0 || len(nbComputer) > 30 || s.targetType != flagTargetTypeServer {
		t.Errorf("default names %q %q type %#x", nbDomain, nbComputer, s.targetType)
	}
	if _, err := NewServer(ServerConfig{}); err == nil {
		t.Error("NewServer without a Validator succeeded")
	}
	if _, err := NewServer(ServerConfig{Validator: testValidator(nil), DNSComputer: strings.Repeat("x", 600)}); err == nil {
		t.Error("NewServer with a 600-character name succeeded")
	}
}

func TestNegotiateErrors(t *testing.T) {
	good := defaultNegotiate()
	for _, tc := range []struct {
		name string
		msg  []byte
		mod  func(*ServerConfig)
		want error
	}{
		{"empty", nil, nil, ErrMalformed},
		{"short", good[:15], nil, ErrMalformed},
		{"bad signature", append([]byte("NTLMSSX\x00"), good[8:]...), nil, ErrMalformed},
		{"CHALLENGE type", append(append([]byte(nil), good[:8]...), append([]byte{2, 0, 0, 0}, good[12:]...)...), nil, ErrMalformed},
		{"too large", append(bytes.Clone(good), make([]byte, MaxMessageSize)...), nil, ErrMalformed},
		{"sealing without 128-bit", marshalNegotiate(clientFlags &^ flag128), nil, ErrUnsupported},
		{"signing with 40-bit", marshalNegotiate(flagUnicode | flagSign | flagESS), nil, ErrUnsupported},
		{"random source fails", good, func(c *ServerConfig) { c.Rand = strings.NewReader("") }, io.EOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := newTestServer(t, tc.mod).NewContext(ChannelBinding{})
			out, done, err := sc.Step(context.Background(), tc.msg)
			if !errors.Is(err, tc.want) || out != nil || done {
				t.Fatalf("out %x, done %v, err %v; want %v", out, done, err, tc.want)
			}
		})
	}
}

// failingValidator fails as an unreachable account source would.
type failingValidator struct{}

var errSourceDown = errors.New("account source down")

func (failingValidator) Validate(context.Context, string, string, [8]byte, []byte) ([16]byte, string, error) {
	return [16]byte{}, "", errSourceDown
}

func TestAuthenticateErrors(t *testing.T) {
	pw := testUsers["alice"]
	// ntWith builds an NTLMv2-shaped NtChallengeResponse whose blob has
	// the given AV pair bytes (the proof does not verify).
	ntWith := func(avs []byte) []byte {
		b := append(make([]byte, 16), 1, 1, 0, 0, 0, 0, 0, 0)
		b = append(b, make([]byte, 20)...)
		return append(b, avs...)
	}
	avBytes := func(l avList) []byte { return l.marshal() }
	manyPairs := make(avList, maxAVPairs+1)
	for i := range manyPairs {
		manyPairs[i] = avPair{id: avSingleHost}
	}
	for _, tc := range []struct {
		name string
		opts authOpts
		mod  func(*ServerConfig)
		cb   ChannelBinding
		want error
	}{
		{"wrong password", authOpts{user: "alice", password: "nope"}, nil, ChannelBinding{}, ErrBadCredentials},
		{"unknown user", authOpts{user: "eve", password: pw}, nil, ChannelBinding{}, ErrBadCredentials},
		{"empty user", authOpts{user: "", password: pw}, nil, ChannelBinding{}, ErrBadCredentials},
		{"anonymous", authOpts{ntResponse: []byte{}, lmResponse: []byte{0}, noMIC: true}, nil, ChannelBinding{}, ErrUnsupported},
		{"anonymous without LM", authOpts{ntResponse: []byte{}, lmResponse: []byte{}, noMIC: true}, nil, ChannelBinding{}, ErrUnsupported},
		{"LM only", authOpts{user: "alice", ntResponse: []byte{}, noMIC: true}, nil, ChannelBinding{}, ErrUnsupported},
		{"NTLMv1 response", authOpts{user: "alice", ntResponse: make([]byte, 24), noMIC: true}, nil, ChannelBinding{}, ErrUnsupported},
		{"short NT response", authOpts{user: "alice", ntResponse: make([]byte, 40), noMIC: true}, nil, ChannelBinding{}, ErrMalformed},
		{"response type 2", authOpts{user: "alice", ntResponse: append(append(make([]byte, 16), 2, 1), make([]byte, 40)...), noMIC: true}, nil, ChannelBinding{}, ErrMalformed},
		{"AV pairs without EOL", authOpts{user: "alice", ntResponse: ntWith([]byte{1, 0, 2, 0, 'a', 0}), noMIC: true}, nil, ChannelBinding{}, ErrMalformed},
		{"AV pair overrun", authOpts{user: "alice", ntResponse: ntWith([]byte{1, 0, 200, 0, 'a', 0, 0, 0, 0, 0}), noMIC: true}, nil, ChannelBinding{}, ErrMalformed},
		{"too many AV pairs", authOpts{user: "alice", ntResponse: ntWith(avBytes(manyPairs)), noMIC: true}, nil, ChannelBinding{}, ErrMalformed},
		{"MsvAvFlags of 2 bytes", authOpts{user: "alice", ntResponse: ntWith(avBytes(avList{{id: avFlags, val: []byte{2, 0}}})), noMIC: true}, nil, ChannelBinding{}, ErrMalformed},
		{"bindings of 8 bytes", authOpts{user: "alice", ntResponse: ntWith(avBytes(avList{{id: avChannelBindings, val: make([]byte, 8)}})), noMIC: true}, nil, ChannelBinding{}, ErrMalformed},
		{"key exchange without key", authOpts{user: "alice", password: pw, esk: []byte{}, noMIC: true}, nil, ChannelBinding{}, ErrMalformed},
		{"key exchange with short key", authOpts{user: "alice", password: pw, esk: make([]byte, 8), noMIC: true}, nil, ChannelBinding{}, ErrMalformed},
		{"wrong session key", authOpts{user: "alice", password: pw, esk: make([]byte, 16)}, nil, ChannelBinding{}, ErrMIC},
		{"MIC announced without MIC field", authOpts{user: "alice", password: pw, mutate: dropMICField}, nil, ChannelBinding{}, ErrMalformed},
		{"MIC flipped", authOpts{user: "alice", password: pw, mutate: func(b []byte) { b[80] ^= 0x80 }}, nil, ChannelBinding{}, ErrMIC},
		{"bindings mismatch", authOpts{user: "alice", password: pw, bindings: make([]byte, 16)}, nil,
			ChannelBinding{Policy: cbt.Strict, Secure: true, AppData: []byte("tls-server-end-point:abc")}, cbt.ErrMissing},
		{"bindings on a server without AppData", authOpts{user: "alice", password: pw, bindings: bytes.Repeat([]byte{7}, 16)}, nil,
			ChannelBinding{Policy: cbt.Relaxed, Secure: true}, cbt.ErrMismatch},
		{"timestamp too old", authOpts{user: "alice", password: pw}, func(c *ServerConfig) {
			calls := 0
			c.MaxClockSkew = time.Hour
			c.Now = func() time.Time { calls++; return testNow.Add(time.Duration(calls-1) * 2 * time.Hour) }
		}, ChannelBinding{}, ErrBadCredentials},
		{"validator failure", authOpts{user: "alice", password: pw}, func(c *ServerConfig) { c.Validator = failingValidator{} }, ChannelBinding{}, errSourceDown},
		{"odd-length user name", authOpts{user: "alice", password: pw, mutate: func(b []byte) { b[36]-- }}, nil, ChannelBinding{}, ErrMalformed},
		{"user field outside the message", authOpts{user: "alice", password: pw, mutate: func(b []byte) { le.PutUint32(b[40:], 1<<31) }}, nil, ChannelBinding{}, ErrMalformed},
		{"user field over the header", authOpts{user: "alice", password: pw, mutate: func(b []byte) { le.PutUint32(b[40:], 8) }}, nil, ChannelBinding{}, ErrMalformed},
		{"control: the crafted message verifies", authOpts{user: "alice", password: pw}, nil, ChannelBinding{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			sc := newTestServer(t, tc.mod).NewContext(tc.cb)
			neg := defaultNegotiate()
			ch, _, err := sc.Step(ctx, neg)
			if err != nil {
				t.Fatal(err)
			}
			auth, _ := craftAuthenticate(t, neg, ch, tc.opts)
			if tc.want == nil { // the control case: the crafted message verifies
				if _, done, err := sc.Step(ctx, auth); err != nil || !done {
					t.Fatalf("control: done %v, %v", done, err)
				}
				return
			}
			out, done, err := sc.Step(ctx, auth)
			if !errors.Is(err, tc.want) || done || out != nil {
				t.Fatalf("out %x, done %v, err %v; want %v", out, done, err, tc.want)
			}
			if sc.Session() != nil || sc.User() != "" {
				t.Error("failed context exposes a session or user")
			}
			if strings.Contains(err.Error(), pw) || strings.Contains(strings.ToLower(err.Error()), "42424242") {
				t.Errorf("error text leaks a secret: %v", err)
			}
		})
	}
}

// dropMICField rewrites an AUTHENTICATE so its payload starts at 72: the
// message then has no room for the MIC its MsvAvFlags announces.
func dropMICField(b []byte) {
	for i := range 6 {
		at := 12 + 8*i
		if le.Uint16(b[at:]) != 0 {
			le.PutUint32(b[at+4:], le.Uint32(b[at+4:])-16)
		}
	}
	copy(b[authenticateVersionEnd:], b[authenticateMICEnd:])
}

// TestAuthenticateTruncated cuts a valid AUTHENTICATE at every length.
func TestAuthenticateTruncated(t *testing.T) {
	ctx := context.Background()
	s := newTestServer(t, nil)
	neg := defaultNegotiate()
	sc := s.NewContext(ChannelBinding{})
	ch, _, _ := sc.Step(ctx, neg)
	auth, _ := craftAuthenticate(t, neg, ch, authOpts{user: "alice", password: testUsers["alice"]})
	for n := range len(auth) {
		sc := s.NewContext(ChannelBinding{})
		if _, _, err := sc.Step(ctx, neg); err != nil {
			t.Fatal(err)
		}
		if _, done, err := sc.Step(ctx, auth[:n]); err == nil || done {
			t.Fatalf("truncated to %d bytes: accepted", n)
		}
	}
}

func TestClockSkewAccepted(t *testing.T) {
	s := newTestServer(t, func(c *ServerConfig) { c.MaxClockSkew = 36 * time.Hour })
	if _, err := handshake(t, s, ChannelBinding{}, newTestClient(t, ClientConfig{})); err != nil {
		t.Fatal(err)
	}
}

func TestHashValidator(t *testing.T) {
	ctx := context.Background()
	sc := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	avs := avList{{id: avNbDomainName, val: encodeUTF16("D")}}.marshal()
	resp := func(user, pw, domain string) []byte {
		nt, _, _ := computeResponse(ntowfv2(NTHash(pw), user, domain), sc, [8]byte{9}, 5, avs)
		return nt
	}
	v := testValidator(testUsers)
	for _, tc := range []struct {
		name, user, domain string
		nt                 []byte
		want               error
	}{
		{"as sent", "alice", "corp", resp("alice", "S3cret!pass", "corp"), nil},
		{"upper-cased", "alice", "corp", resp("alice", "S3cret!pass", "CORP"), nil},
		{"empty", "alice", "corp", resp("alice", "S3cret!pass", ""), nil},
		{"user case", "ALICE", "", resp("alice", "S3cret!pass", ""), nil},
		{"mixed case domain", "alice", "corp", resp("alice", "S3cret!pass", "Corp"), ErrBadCredentials},
		{"wrong password", "alice", "", resp("alice", "x", ""), ErrBadCredentials},
		{"unknown user", "zed", "", resp("zed", "x", ""), ErrBadCredentials},
		{"other challenge", "alice", "", append(resp("alice", "S3cret!pass", "")[:60:60], 0), ErrBadCredentials},
		{"short", "alice", "", make([]byte, 47), ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key, account, err := v.Validate(ctx, tc.user, tc.domain, sc, tc.nt)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if err != nil {
				return
			}
			if account != tc.user || key == ([16]byte{}) {
				t.Errorf("account %q, key %x", account, key)
			}
		})
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := v.Validate(canceled, "alice", "", sc, resp("alice", "S3cret!pass", "")); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled context: %v", err)
	}
	if _, _, err := (HashValidator{}).Validate(ctx, "alice", "", sc, resp("alice", "S3cret!pass", "")); err == nil {
		t.Error("HashValidator without Lookup succeeded")
	}
	failing := HashValidator{Lookup: func(context.Context, string) ([16]byte, error) { return [16]byte{}, errSourceDown }}
	if _, _, err := failing.Validate(ctx, "alice", "", sc, resp("alice", "S3cret!pass", "")); !errors.Is(err, errSourceDown) || errors.Is(err, ErrBadCredentials) {
		t.Errorf("failing Lookup: %v", err)
	}
}

func TestNTHash(t *testing.T) {
	// MD4 of UTF-16LE "Password" (MS-NLMP 4.2.2.1.2, NTOWFv1).
	h := NTHash("Password")
	checkHex(t, "NTHash", h[:], "a4f49c406510bdcab6824ee7c30fd852")
	h = NTHash("")
	checkHex(t, "NTHash of empty", h[:], "31d6cfe0d16ae931b73c59d7e0c089c0")
}
