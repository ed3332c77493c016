package ntlm

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/psremote/psremote/auth/cbt"
)

// Values of MS-NLMP 4.2.1 (common values) and 4.2.4 (NTLMv2), and the
// messages of 4.2.2.3 (NTLMv1) and 4.2.3.3 (NTLMv1 with client challenge),
// transcribed from the spec's hex dumps.
const (
	specUser     = "User"
	specDomain   = "Domain"
	specPassword = "Password"

	specServerChallenge = "0123456789abcdef"
	specClientChallenge = "aaaaaaaaaaaaaaaa"
	specRandomKey       = "55555555555555555555555555555555"

	specNTOWFv2         = "0c868a403bfd7a93a3001ef22ef02e3f"
	specSessionBaseKey  = "8de40ccadbc14a82f15cb0ad0de95ca3"
	specLMv2Response    = "86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa"
	specNTProofStr      = "68cd0ab851e51c96aabc927bebef6a1c"
	specEncryptedKey    = "c5dad2544fc9799094ce1ce90bc9d03e"
	specClientSealKey   = "59f600973cc4960a25480a7c196e4c58"
	specClientSignKey   = "4788dc861b4782f35d43fd98fe1a2d39"
	specSealedPlaintext = "54e50165bf1936dc996020c1811b0f06fb5f"
	specRawChecksum     = "70352851f2564309"
	specSignature       = "010000007fb38ec5c55d497600000000"

	// temp of 4.2.4.1.3: the NTLMv2_CLIENT_CHALLENGE with time 0 and the
	// AV pairs MsvAvNbDomainName "Domain", MsvAvNbComputerName "Server".
	specTemp = "0101000000000000" + "0000000000000000" + "aaaaaaaaaaaaaaaa" + "00000000" +
		"02000c0044006f006d00610069006e00" + "01000c00530065007200760065007200" + "00000000" + "00000000"

	specChallengeFlags = 0xe28a8233

	specChallengeV2 = "4e544c4d53535000020000000c000c003800000033828ae20123456789abcdef00000000000000002400240044000000060070170000000f53006500720076006500720002000c0044006f006d00610069006e0001000c0053006500720076006500720000000000"

	specAuthenticateV2 = "4e544c4d5353500003000000180018006c00000054005400840000000c000c00" +
		"480000000800080054000000100010005c00000010001000d8000000358288e2" +
		"0501280a0000000f44006f006d00610069006e00550073006500720043004f00" +
		"4d005000550054004500520086c35097ac9cec102554764a57cccc19aaaaaaaa" +
		"aaaaaaaa68cd0ab851e51c96aabc927bebef6a1c010100000000000000000000" +
		"00000000aaaaaaaaaaaaaaaa0000000002000c0044006f006d00610069006e00" +
		"01000c005300650072007600650072000000000000000000c5dad2544fc97990" +
		"94ce1ce90bc9d03e"

	specAuthenticateV1 = "4e544c4d5353500003000000180018006c00000018001800840000000c000c00" +
		"480000000800080054000000100010005c000000100010009c000000358280e2" +
		"0501280a0000000f44006f006d00610069006e00550073006500720043004f00" +
		"4d005000550054004500520098def7b87f88aa5dafe2df779688a172def11c7d" +
		"5ccdef1367c43011f30298a2ad35ece64f16331c44bdbed927841f94518822b1" +
		"b3f350c8958682ecbb3e3cb7"

	specAuthenticateV1ESS = "4e544c4d5353500003000000180018006c00000018001800840000000c000c00" +
		"480000000800080054000000100010005c000000000000009c00000035820882" +
		"0501280a0000000f44006f006d00610069006e00550073006500720043004f00" +
		"4d0050005500540045005200aaaaaaaaaaaaaaaa000000000000000000000000" +
		"000000007537f803ae367128ca458204bde7caf81e97ed2683267232"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex in test: %v", err)
	}
	return b
}

func unhex8(t testing.TB, s string) [8]byte   { return [8]byte(unhex(t, s)) }
func unhex16(t testing.TB, s string) [16]byte { return [16]byte(unhex(t, s)) }

func checkHex(t *testing.T, name string, got []byte, want string) {
	t.Helper()
	if w := unhex(t, want); !bytes.Equal(got, w) {
		t.Errorf("%s =\n%x\nwant\n%x", name, got, w)
	}
}

// specPlaintext is "Plaintext" in UTF-16LE (4.2.4.4).
var specPlaintext = encodeUTF16("Plaintext")

// specAVPairs is the ServerName of 4.2.4: MsvAvNbDomainName "Domain" and
// MsvAvNbComputerName "Server".
var specAVPairs = avList{
	{id: avNbDomainName, val: encodeUTF16("Domain")},
	{id: avNbComputerName, val: encodeUTF16("Server")},
}

func TestSpecNTLMv2Computation(t *testing.T) {
	nt := NTHash(specPassword)
	key := ntowfv2(nt, specUser, specDomain)
	checkHex(t, "NTOWFv2", key[:], specNTOWFv2)

	ntResp, lmResp, sbk := computeResponse(key, unhex8(t, specServerChallenge), unhex8(t, specClientChallenge), 0, specAVPairs.marshal())
	checkHex(t, "LMv2 response", lmResp, specLMv2Response)
	checkHex(t, "NTProofStr", ntResp[:16], specNTProofStr)
	checkHex(t, "temp", ntResp[16:], specTemp)
	checkHex(t, "SessionBaseKey", sbk[:], specSessionBaseKey)
	// The NtChallengeResponse inside the spec's AUTHENTICATE_MESSAGE.
	checkHex(t, "NtChallengeResponse", ntResp, hex.EncodeToString(unhex(t, specAuthenticateV2)[0x84:0xd8]))

	esk := rc4k(sbk, unhex16(t, specRandomKey))
	checkHex(t, "EncryptedRandomSessionKey", esk[:], specEncryptedKey)
	back := rc4k(sbk, esk)
	checkHex(t, "decrypted session key", back[:], specRandomKey)
}

func TestSpecKeys(t *testing.T) {
	exported := unhex16(t, specRandomKey)
	flags := uint32(specChallengeFlags)
	checkHex(t, "client sealing key", sealKey(flags, exported, true), specClientSealKey)
	sk := signKey(flags, exported, true)
	checkHex(t, "client signing key", sk[:], specClientSignKey)
	// The raw checksum before RC4 (4.2.4.4).
	sum := hmacMD5(sk[:], []byte{0, 0, 0, 0}, specPlaintext)
	checkHex(t, "HMAC checksum", sum[:8], specRawChecksum)
}

// TestSpecSealClient seals the spec's plaintext as the client and gets the
// spec's sealed data and signature (4.2.4.4).
func TestSpecSealClient(t *testing.T) {
	s := newSession(specChallengeFlags, unhex16(t, specRandomKey), true)
	hdr, ct, err := s.WrapWinRM(specPlaintext)
	if err != nil {
		t.Fatal(err)
	}
	checkHex(t, "sealed data", ct, specSealedPlaintext)
	checkHex(t, "signature", hdr, specSignature)
}

// TestSpecUnsealServer opens the spec's sealed message as the server.
func TestSpecUnsealServer(t *testing.T) {
	s := newSession(specChallengeFlags, unhex16(t, specRandomKey), false)
	pt, err := s.UnwrapWinRM(unhex(t, specSignature), unhex(t, specSealedPlaintext))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pt, specPlaintext) {
		t.Fatalf("plaintext = %x, want %x", pt, specPlaintext)
	}
}

func TestSpecChallengeMessage(t *testing.T) {
	m := &challengeMsg{
		flags:           specChallengeFlags,
		serverChallenge: unhex8(t, specServerChallenge),
		targetName:      "Server",
		targetInfo:      specAVPairs,
		hasTargetInfo:   true,
		version:         [8]byte{0x06, 0x00, 0x70, 0x17, 0, 0, 0, 0x0f},
	}
	checkHex(t, "CHALLENGE_MESSAGE", m.marshal(), specChallengeV2)

	p, err := parseChallenge(unhex(t, specChallengeV2))
	if err != nil {
		t.Fatal(err)
	}
	if p.flags != specChallengeFlags || p.serverChallenge != m.serverChallenge || p.targetName != "Server" || !p.hasTargetInfo {
		t.Fatalf("parsed %+v", p)
	}
	if v, ok := p.targetInfo.get(avNbDomainName); !ok || !bytes.Equal(v, encodeUTF16("Domain")) {
		t.Errorf("MsvAvNbDomainName = %q, %v", v, ok)
	}
}

func TestSpecAuthenticateParse(t *testing.T) {
	msg := unhex(t, specAuthenticateV2)
	m, err := parseAuthenticate(msg)
	if err != nil {
		t.Fatal(err)
	}
	if m.user != specUser || m.domain != specDomain || m.workstation != "COMPUTER" || m.flags != 0xe2888235 {
		t.Errorf("parsed user %q domain %q workstation %q flags %#x", m.user, m.domain, m.workstation, m.flags)
	}
	checkHex(t, "LmChallengeResponse", m.lmResponse, specLMv2Response)
	checkHex(t, "EncryptedRandomSessionKey", m.encryptedRandomSessionKey, specEncryptedKey)
	if m.hasMICField() {
		t.Error("the spec's AUTHENTICATE has no MIC field (payload at 0x48)")
	}
}

// specServer returns a server whose next server challenge is the spec's.
func specServer(t *testing.T) *Server {
	t.Helper()
	s, err := NewServer(ServerConfig{
		Validator:       testValidator(map[string]string{specUser: specPassword}),
		NetBIOSDomain:   "Domain",
		NetBIOSComputer: "Server",
		Rand:            bytes.NewReader(unhex(t, specServerChallenge)),
		Now:             func() time.Time { return time.Unix(0, 0) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// specNegotiate asks for what the spec's CHALLENGE grants.
func specNegotiate() []byte {
	return marshalNegotiate(flagUnicode | flagOEM | flagRequestTarget | flagNTLM | flagAlwaysSign | flagESS |
		flagVersion | flagSign | flagSeal | flag128 | flag56 | flagKeyExch)
}

// TestSpecAuthenticateAccepted runs the spec's NTLMv2 AUTHENTICATE through
// the server (after a CHALLENGE with the spec's server challenge) and opens
// the spec's sealed message with the resulting session.
func TestSpecAuthenticateAccepted(t *testing.T) {
	ctx := context.Background()
	sc := specServer(t).NewContext(ChannelBinding{Policy: cbt.Relaxed, Secure: true, AppData: []byte("x")})
	ch, done, err := sc.Step(ctx, specNegotiate())
	if err != nil || done {
		t.Fatalf("NEGOTIATE: done %v, %v", done, err)
	}
	if p, err := parseChallenge(ch); err != nil || p.serverChallenge != unhex8(t, specServerChallenge) {
		t.Fatalf("CHALLENGE %x: %v", ch, err)
	}
	out, done, err := sc.Step(ctx, unhex(t, specAuthenticateV2))
	if err != nil || !done || out != nil {
		t.Fatalf("AUTHENTICATE: out %x, done %v, %v", out, done, err)
	}
	if sc.User() != specUser || sc.Domain() != specDomain {
		t.Errorf("User, Domain = %q, %q", sc.User(), sc.Domain())
	}
	pt, err := sc.Session().UnwrapWinRM(unhex(t, specSignature), unhex(t, specSealedPlaintext))
	if err != nil || !bytes.Equal(pt, specPlaintext) {
		t.Fatalf("UnwrapWinRM = %x, %v", pt, err)
	}
}

// TestSpecNTLMv1Refused feeds the NTLMv1 AUTHENTICATE messages of 4.2.2.3
// and 4.2.3.3 to the server.
func TestSpecNTLMv1Refused(t *testing.T) {
	for name, msg := range map[string]string{"NTLMv1": specAuthenticateV1, "NTLMv1 with client challenge": specAuthenticateV1ESS} {
		t.Run(name, func(t *testing.T) {
			sc := specServer(t).NewContext(ChannelBinding{})
			if _, _, err := sc.Step(context.Background(), specNegotiate()); err != nil {
				t.Fatal(err)
			}
			_, done, err := sc.Step(context.Background(), unhex(t, msg))
			if !errors.Is(err, ErrUnsupported) || done {
				t.Fatalf("done %v, err %v; want ErrUnsupported", done, err)
			}
			if !strings.Contains(err.Error(), "NTLMv1") {
				t.Errorf("error %q does not name NTLMv1", err)
			}
		})
	}
}

// TestSealVariantVectors checks both directions of sealing for key
// strengths and options the spec gives no example of. The expected bytes
// were computed with ntlm-auth 1.4.0 (the library pywinrm uses:
// SessionSecurity(flags, 0x55 * 16, source).wrap of "Plaintext" in
// UTF-16LE, twice), an implementation independent of this one. Its
// "noKX" client output equals the spec's sealed data and raw checksum.
func TestSealVariantVectors(t *testing.T) {
	base := flagSign | flagSeal | flagUnicode
	for _, tc := range []struct {
		name             string
		flags            uint32
		client           [2]string // sealed data, signature
		server           [2]string
		client2, server2 [2]string
	}{
		{"56-bit", base | flagESS | flag56 | flagKeyExch,
			[2]string{"3ed8592ded01e9633dbd84c159a15ba98ed3", "01000000233d79ae80a7160c00000000"},
			[2]string{"86d89e0bbb20188ecddb7a5ee07146b6c659", "010000007620a012bb14ce7100000000"},
			[2]string{"ebf3c6bd429539eceacb352ff5ede86f3078", "0100000046f84ba09ca8422101000000"},
			[2]string{"7946056a6b079d3853de707d0c134eb8a58a", "01000000f5b641f889daa2ce01000000"}},
		{"40-bit", base | flagESS | flagKeyExch,
			[2]string{"4cbc1cb161a9aaedb1c3a66e896c2302010e", "01000000f89c516851fbc5d400000000"},
			[2]string{"da967decee6b844c32c40353dab35e1b480d", "010000005f3e9be07780959f00000000"},
			[2]string{"b0b5d6d5490838b0a6248dbb3923c3f22e45", "010000001caa48aaca902ccc01000000"},
			[2]string{"5fbd0263b5b3fb576dbb059ec75082d66ef9", "01000000034485f742fdf70f01000000"}},
		{"128-bit without key exchange", base | flagESS | flag128,
			[2]string{specSealedPlaintext, "0100000070352851f256430900000000"},
			[2]string{"160871b730ba74e946c453d7465b54278dd0", "01000000a6139944aa644dd500000000"},
			[2]string{"5f86ca94560b637f5ac310e09aa227e7ee23", "01000000126c5d58da2144d601000000"},
			[2]string{"448b4d0305187cd203b8b6180c36cdeea1a7", "0100000054a1dfcffa59ae9401000000"}},
		{"without extended session security", base | flag128 | flagKeyExch,
			[2]string{"56fe04d861f9319af0d7238a2e3b4d457fb8", "010000000000000009dcd1df2e459d36"},
			[2]string{"56fe04d861f9319af0d7238a2e3b4d457fb8", "010000000000000009dcd1df2e459d36"},
			[2]string{"fde15ec2b412ed8bb43847b942bd93179f0a", "01000000000000007571e468f50db2e7"},
			[2]string{"fde15ec2b412ed8bb43847b942bd93179f0a", "01000000000000007571e468f50db2e7"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := unhex16(t, specRandomKey)
			for _, side := range []struct {
				client bool
				want   [2][2]string
			}{{true, [2][2]string{tc.client, tc.client2}}, {false, [2][2]string{tc.server, tc.server2}}} {
				s := newSession(tc.flags, key, side.client)
				peer := newSession(tc.flags, key, !side.client)
				for i, want := range side.want {
					hdr, ct, err := s.WrapWinRM(specPlaintext)
					if err != nil {
						t.Fatal(err)
					}
					checkHex(t, fmt.Sprintf("client=%v message %d sealed", side.client, i), ct, want[0])
					checkHex(t, fmt.Sprintf("client=%v message %d signature", side.client, i), hdr, want[1])
					if pt, err := peer.UnwrapWinRM(unhex(t, want[1]), unhex(t, want[0])); err != nil || !bytes.Equal(pt, specPlaintext) {
						t.Fatalf("peer UnwrapWinRM = %x, %v", pt, err)
					}
				}
			}
		})
	}
}
