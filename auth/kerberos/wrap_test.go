package kerberos

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/crypto/common"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/types"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMITGolden rebuilds every wrap token MIT krb5 1.20 produced with
// gss_wrap_iov(HEADER, DATA, PADDING) (testdata/mit_wrap_*.json, recorded
// by `go test -run TestMIT -args -record-mit`) from the same key,
// sequence number and confounder, and requires identical bytes; then
// unwraps each recorded token.
func TestMITGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/mit_wrap_*.json")
	if err != nil || len(files) < 4 {
		t.Fatalf("golden files: %v, %v", files, err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var rec wrapRecord
			if err := json.Unmarshal(b, &rec); err != nil {
				t.Fatal(err)
			}
			key := types.EncryptionKey{KeyType: rec.Enctype, KeyValue: mustHex(t, rec.Key)}
			et, err := crypto.GetEtype(key.KeyType)
			if err != nil {
				t.Fatal(err)
			}
			h := et.GetHMACBitLength() / 8
			// MIT's context used an acceptor subkey (the recorded key) in
			// both directions.
			newCtx := func(initiator bool) *Context {
				return &Context{initiator: initiator, session: key, accSubkey: &key}
			}
			receivers := map[string]*Context{"initiator": newCtx(false), "acceptor": newCtx(true)}
			for n, tok := range rec.Tokens {
				hdr, data, plain := mustHex(t, tok.Header), mustHex(t, tok.Data), mustHex(t, tok.Plain)
				if len(hdr) != 16+16+h+16 || len(data) != len(plain) {
					t.Fatalf("token %d: MIT header %d bytes, data %d for %d", n, len(hdr), len(data), len(plain))
				}
				if ec, rrc := binary.BigEndian.Uint16(hdr[4:]), binary.BigEndian.Uint16(hdr[6:]); ec != 0 || int(rrc) != 16+h {
					t.Fatalf("token %d: MIT EC %d RRC %d", n, ec, rrc)
				}
				seq := binary.BigEndian.Uint64(hdr[8:])
				conf := mitConfounder(t, key, tok.Sender, hdr, data, h)

				sender := newCtx(tok.Sender == "initiator")
				gotHdr, gotData, err := sender.wrapWithConfounder(seq, conf, plain)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(gotHdr, hdr) || !bytes.Equal(gotData, data) {
					t.Errorf("token %d (%s): built\n header %x\n data   %x\nMIT\n header %x\n data   %x", n, tok.Sender, gotHdr, gotData, hdr, data)
				}

				r := receivers[tok.Sender]
				r.recvSeq = seq
				got, err := r.UnwrapWinRM(hdr, data)
				if err != nil || !bytes.Equal(got, plain) {
					t.Errorf("token %d: UnwrapWinRM = %x, %v; want %x", n, got, err, plain)
				}
			}
		})
	}
}

// mitConfounder recovers the confounder of a recorded token by undoing
// the rotation and decrypting the first block with Ke, independently of
// UnwrapWinRM.
func mitConfounder(t *testing.T, key types.EncryptionKey, sender string, hdr, data []byte, h int) []byte {
	t.Helper()
	et, _ := crypto.GetEtype(key.KeyType)
	usage := uint32(keyusage.GSSAPI_INITIATOR_SEAL)
	if sender == "acceptor" {
		usage = keyusage.GSSAPI_ACCEPTOR_SEAL
	}
	body := append(append([]byte{}, hdr[16:]...), data...)
	rrc := 16 + h
	ct := append(append([]byte{}, body[rrc:]...), body[:rrc]...)
	ke, err := et.DeriveKey(key.KeyValue, common.GetUsageKe(usage))
	if err != nil {
		t.Fatal(err)
	}
	pt, err := et.DecryptData(ke, ct[:len(ct)-h])
	if err != nil {
		t.Fatal(err)
	}
	return pt[:16]
}

// wrapPair returns an established initiator and acceptor context.
func wrapPair(t testing.TB) (ini, acc *Context) {
	return establish(t, testInitiator(t, ticketOpts{}, InitiatorConfig{}), testAcceptor(t, AcceptorConfig{}), ChannelBinding{})
}

// windowsWrap builds a token the way MS-KILE 3.4.5.4.1 says Windows
// does: EC = 16 filler bytes and the data rotated by 28 + EC = 44, so the
// header part is 76 bytes. rrcField is the RRC written in the header: 28
// as MS-KILE describes it, or 44 as RFC 4121 (and MIT krb5, which rejects
// the former outside DCE style) would have it.
func windowsWrap(t *testing.T, c *Context, plain []byte, rrcField uint16) (hdr, data []byte) {
	t.Helper()
	key, _ := c.keyForSending()
	et, _ := checkKey(key)
	const ec = 16
	h := make([]byte, 16)
	binary.BigEndian.PutUint16(h, tokWrap)
	h[2], h[3] = wrapSealed|wrapAcceptorSubkey, 0xff
	binary.BigEndian.PutUint16(h[4:], ec)
	binary.BigEndian.PutUint64(h[8:], c.sendSeq)
	c.sendSeq++
	pt := append(append(append([]byte{}, plain...), make([]byte, ec)...), h...)
	ct, err := sealCFX(et, key.KeyValue, keyusage.GSSAPI_INITIATOR_SEAL, bytes.Repeat([]byte{7}, 16), pt)
	if err != nil {
		t.Fatal(err)
	}
	binary.BigEndian.PutUint16(h[6:], rrcField)
	rot := 28 + ec
	body := append(append([]byte{}, ct[len(ct)-rot:]...), ct[:len(ct)-rot]...)
	split := rot + 16
	return append(h, body[:split]...), body[split:]
}

func TestUnwrapWindowsLayout(t *testing.T) {
	ini, acc := wrapPair(t)
	for _, tc := range []struct {
		m   string
		rrc uint16
	}{{"<s:Envelope/>", 28}, {"", 28}, {"<s:Envelope/>", 44}, {"", 44}} {
		m := tc.m
		hdr, data := windowsWrap(t, ini, []byte(m), tc.rrc)
		if len(hdr) != 76 || len(data) != len(m) {
			t.Fatalf("Windows layout: header %d, data %d", len(hdr), len(data))
		}
		got, err := acc.UnwrapWinRM(hdr, data)
		if err != nil || string(got) != m {
			t.Fatalf("UnwrapWinRM(Windows layout) = %q, %v", got, err)
		}
	}
}

// TestUnwrapErrors covers every way UnwrapWinRM fails; none of them may
// advance the expected sequence number.
func TestUnwrapErrors(t *testing.T) {
	ini, acc := wrapPair(t)
	fresh := func() ([]byte, []byte) {
		seq := ini.sendSeq
		h, d, err := ini.WrapWinRM([]byte("payload bytes"))
		if err != nil {
			t.Fatal(err)
		}
		ini.sendSeq = seq // the token stays the next one expected
		return h, d
	}
	for _, tc := range []struct {
		name   string
		mutate func(h, d []byte) ([]byte, []byte)
		want   error
	}{
		{"short header", func(h, d []byte) ([]byte, []byte) { return h[:15], d }, ErrMalformed},
		{"wrong TOK_ID", func(h, d []byte) ([]byte, []byte) { h[1] = 0x05; return h, d }, ErrMalformed},
		{"wrong filler", func(h, d []byte) ([]byte, []byte) { h[3] = 0; return h, d }, ErrMalformed},
		{"reflected (SentByAcceptor)", func(h, d []byte) ([]byte, []byte) { h[2] |= wrapSentByAcceptor; return h, d }, ErrIntegrity},
		{"not sealed", func(h, d []byte) ([]byte, []byte) { h[2] &^= wrapSealed; return h, d }, ErrIntegrity},
		{"no acceptor subkey flag", func(h, d []byte) ([]byte, []byte) { h[2] &^= wrapAcceptorSubkey; return h, d }, ErrIntegrity},
		{"flipped ciphertext bit", func(h, d []byte) ([]byte, []byte) { d[3] ^= 1; return h, d }, ErrIntegrity},
		{"flipped checksum bit", func(h, d []byte) ([]byte, []byte) { h[40] ^= 1; return h, d }, ErrIntegrity},
		{"changed sequence number", func(h, d []byte) ([]byte, []byte) { h[15] ^= 1; return h, d }, ErrIntegrity},
		{"truncated ciphertext", func(h, d []byte) ([]byte, []byte) { return h, d[:5] }, ErrIntegrity},
		{"truncated token", func(h, d []byte) ([]byte, []byte) { return h[:20], nil }, ErrMalformed},
		{"huge EC", func(h, d []byte) ([]byte, []byte) { h[4], h[5] = 0xff, 0xff; return h, d }, ErrMalformed},
		{"oversized", func(h, d []byte) ([]byte, []byte) { return h, make([]byte, MaxMessageSize+1) }, ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := acc.recvSeq
			h, d := fresh()
			_, err := acc.UnwrapWinRM(tc.mutate(h, d))
			if !errors.Is(err, tc.want) {
				t.Fatalf("UnwrapWinRM = %v, want %v", err, tc.want)
			}
			if acc.recvSeq != want {
				t.Fatalf("failed unwrap moved the sequence number from %d to %d", want, acc.recvSeq)
			}
		})
	}
	// The untouched token still unwraps.
	h, d := fresh()
	if _, err := acc.UnwrapWinRM(h, d); err != nil {
		t.Fatal(err)
	}
}

func TestUnwrapSequence(t *testing.T) {
	ini, acc := wrapPair(t)
	var toks [3][2][]byte
	for i := range toks {
		h, d, err := ini.WrapWinRM([]byte{byte(i)})
		if err != nil {
			t.Fatal(err)
		}
		toks[i] = [2][]byte{h, d}
	}
	if _, err := acc.UnwrapWinRM(toks[1][0], toks[1][1]); !errors.Is(err, ErrSequence) {
		t.Fatalf("skipping a message: %v, want ErrSequence", err)
	}
	for i := range 2 {
		if _, err := acc.UnwrapWinRM(toks[i][0], toks[i][1]); err != nil {
			t.Fatal(err)
		}
	}
	_, err := acc.UnwrapWinRM(toks[0][0], toks[0][1])
	if !errors.Is(err, ErrSequence) || !bytes.Contains([]byte(err.Error()), []byte("replayed")) {
		t.Fatalf("replay: %v, want a replayed ErrSequence", err)
	}
	if _, err := acc.UnwrapWinRM(toks[2][0], toks[2][1]); err != nil {
		t.Fatal(err)
	}
}

// TestRC4Session: an RC4 session key authenticates; our initiator's
// AES-256 subkey makes the acceptor answer with an AES-256 acceptor
// subkey, so messages are protected with AES; a context whose only key
// is RC4 cannot wrap.
func TestRC4Session(t *testing.T) {
	ini, acc := establish(t, testInitiator(t, ticketOpts{spn: "HTTP/rc4.example.test", etype: 23}, InitiatorConfig{}),
		testAcceptor(t, AcceptorConfig{}), ChannelBinding{})
	if acc.session.KeyType != 23 || acc.accSubkey == nil || acc.accSubkey.KeyType != 18 {
		t.Fatalf("session type %d, acceptor subkey %v", acc.session.KeyType, acc.accSubkey)
	}
	h, d, err := ini.WrapWinRM([]byte("over rc4"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := acc.UnwrapWinRM(h, d); err != nil || string(got) != "over rc4" {
		t.Fatalf("UnwrapWinRM = %q, %v", got, err)
	}

	rc4 := &Context{session: acc.session}
	if _, _, err := rc4.WrapWinRM([]byte("x")); !errors.Is(err, ErrUnsupported) {
		t.Errorf("WrapWinRM with only an RC4 key: %v", err)
	}
	if _, err := rc4.UnwrapWinRM(append([]byte{5, 4, 2, 0xff}, make([]byte, 40)...), nil); !errors.Is(err, ErrUnsupported) {
		t.Errorf("UnwrapWinRM with only an RC4 key: %v", err)
	}
}
