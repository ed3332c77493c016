package ntlm

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/psremote/psremote/auth/cbt"
)

// fuzzServerChallenge is the fixed server challenge of the fuzz targets,
// the spec's, so that the spec's AUTHENTICATE verifies.
var fuzzServerChallenge = []byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}

// FuzzServerStep feeds a NEGOTIATE and then arbitrary AUTHENTICATE bytes
// to a server. It must not panic, and may only succeed for the user it
// knows with a session.
func FuzzServerStep(f *testing.F) {
	f.Add(specNegotiate(), unhex(f, specAuthenticateV2))
	f.Add(specNegotiate(), unhex(f, specAuthenticateV1))
	f.Add(specNegotiate(), unhex(f, specAuthenticateV1ESS))
	// A MIC-carrying AUTHENTICATE from our client for the same challenge.
	s := fuzzServer(f)
	c := newTestClient(f, ClientConfig{User: specUser, Password: specPassword, ChannelBindings: []byte("cb")})
	neg := c.Negotiate()
	ch, _, err := s.NewContext(ChannelBinding{}).Step(context.Background(), neg)
	if err != nil {
		f.Fatal(err)
	}
	auth, err := c.Authenticate(ch)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(neg, auth)
	f.Add(neg, auth[:100])
	f.Add([]byte("NTLMSSP\x00\x01\x00\x00\x00"), []byte("NTLMSSP\x00\x03\x00\x00\x00"))

	f.Fuzz(func(t *testing.T, negotiate, authenticate []byte) {
		ctx := context.Background()
		sc := fuzzServer(t).NewContext(ChannelBinding{Policy: cbt.Relaxed, Secure: true, AppData: []byte("cb")})
		ch, done, err := sc.Step(ctx, negotiate)
		if err != nil {
			if ch != nil || done {
				t.Fatal("failed NEGOTIATE returned output")
			}
			return
		}
		out, done, err := sc.Step(ctx, authenticate)
		if err != nil {
			if out != nil || done || sc.Session() != nil {
				t.Fatal("failed AUTHENTICATE returned a result")
			}
			return
		}
		if !done || out != nil || sc.Session() == nil || !bytes.EqualFold([]byte(sc.User()), []byte(specUser)) {
			t.Fatalf("accepted: done %v, user %q", done, sc.User())
		}
		if _, _, err := sc.Step(ctx, negotiate); !errors.Is(err, ErrOutOfOrder) {
			t.Fatalf("step after done: %v", err)
		}
	})
}

func fuzzServer(t testing.TB) *Server {
	return newTestServer(t, func(c *ServerConfig) {
		c.Validator = testValidator(map[string]string{specUser: specPassword})
		c.Rand = bytes.NewReader(fuzzServerChallenge)
	})
}

// FuzzParseChallenge feeds arbitrary CHALLENGE bytes to a client. It must
// not panic, and whatever AUTHENTICATE it produces must parse.
func FuzzParseChallenge(f *testing.F) {
	f.Add(unhex(f, specChallengeV2))
	s := newTestServer(f, nil)
	for _, flags := range []uint32{clientFlags, flagUnicode | flagOEM, flagOEM | flagSign | flagSeal | flag128 | flagKeyExch} {
		ch, _, err := s.NewContext(ChannelBinding{}).Step(context.Background(), marshalNegotiate(flags))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(ch)
	}
	f.Fuzz(func(t *testing.T, challenge []byte) {
		c := newTestClient(t, ClientConfig{ChannelBindings: []byte("cb"), TargetName: "HTTP/x"})
		c.Negotiate()
		auth, err := c.Authenticate(challenge)
		if err != nil {
			if auth != nil || c.Session() != nil {
				t.Fatal("failed Authenticate returned a result")
			}
			return
		}
		m, err := parseAuthenticate(auth)
		if err != nil {
			t.Fatalf("our AUTHENTICATE does not parse: %v", err)
		}
		if m.user != "alice" || len(m.ntResponse) < minNTLMv2Response || c.Session() == nil {
			t.Fatalf("AUTHENTICATE for %q with %d-byte response", m.user, len(m.ntResponse))
		}
	})
}

// FuzzUnwrap feeds arbitrary signatures and ciphertexts to a server
// session (with the spec's keys) and to Verify. They must not panic, and
// with extended session security only the spec's sealed message opens.
func FuzzUnwrap(f *testing.F) {
	f.Add(unhex(f, specSignature), unhex(f, specSealedPlaintext))
	f.Add(noSignSignature(), []byte{})
	f.Add([]byte{1, 0, 0, 0}, []byte("x"))
	f.Fuzz(func(t *testing.T, header, ciphertext []byte) {
		for _, flags := range []uint32{specChallengeFlags, specChallengeFlags &^ flagESS} {
			s := newSession(flags, unhex16(t, specRandomKey), false)
			pt, err := s.UnwrapWinRM(header, ciphertext)
			// Forging a message needs the keys; the CRC32 checksum
			// without extended session security is weaker, so only the
			// HMAC variant is held to that.
			if err == nil && flags == specChallengeFlags && !bytes.Equal(pt, specPlaintext) {
				t.Fatalf("flags %#x: unwrapped %x", flags, pt)
			}
			if err != nil && pt != nil {
				t.Fatal("failed UnwrapWinRM returned plaintext")
			}
			_ = newSession(flags, unhex16(t, specRandomKey), false).Verify(ciphertext, header)
		}
	})
}
