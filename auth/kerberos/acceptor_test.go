package kerberos

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/psremote/psremote/auth/cbt"
)

func TestEstablishAndWrap(t *testing.T) {
	for _, o := range []ticketOpts{
		{},
		{etype: etypeID.AES128_CTS_HMAC_SHA1_96},
		{spn: "WSMAN/host.example.test"},
		{spn: "HTTP/sha2.example.test", etype: etypeID.AES256_CTS_HMAC_SHA384_192},
		{spn: "HTTP/sha2-128.example.test", etype: etypeID.AES128_CTS_HMAC_SHA256_128},
	} {
		t.Run(o.spn+"/"+etypeName(o.etype), func(t *testing.T) {
			ini, acc := establish(t, testInitiator(t, o, InitiatorConfig{}), testAcceptor(t, AcceptorConfig{}), ChannelBinding{})
			if got := acc.Principal(); got != "alice@EXAMPLE.TEST" {
				t.Errorf("Principal = %q", got)
			}
			if acc.ClientName() != "alice" || acc.Realm() != testRealm || !acc.MutualAuth() {
				t.Errorf("ClientName %q Realm %q MutualAuth %v", acc.ClientName(), acc.Realm(), acc.MutualAuth())
			}
			if acc.accSubkey == nil || ini.accSubkey == nil || !bytes.Equal(acc.accSubkey.KeyValue, ini.accSubkey.KeyValue) {
				t.Fatal("acceptor subkey not shared")
			}
			if acc.sendSeq != ini.recvSeq || acc.recvSeq != ini.sendSeq {
				t.Fatalf("sequence numbers: acceptor send %d recv %d, initiator send %d recv %d", acc.sendSeq, acc.recvSeq, ini.sendSeq, ini.recvSeq)
			}
			for n, msg := range []string{"", "x", strings.Repeat("0123456789abcdef", 40) + "tail"} {
				for _, dir := range []struct {
					name     string
					from, to *Context
				}{{"to acceptor", ini, acc}, {"to initiator", acc, ini}} {
					hdr, ct, err := dir.from.WrapWinRM([]byte(msg))
					if err != nil {
						t.Fatal(err)
					}
					if len(ct) != len(msg) {
						t.Errorf("%s %d: ciphertext %d bytes for %d", dir.name, n, len(ct), len(msg))
					}
					got, err := dir.to.UnwrapWinRM(hdr, ct)
					if err != nil || string(got) != msg {
						t.Fatalf("%s %d: UnwrapWinRM = %q, %v", dir.name, n, got, err)
					}
				}
			}
		})
	}
}

func etypeName(id int32) string {
	for n, v := range etypeID.ETypesByName {
		if v == id && strings.Contains(n, "-cts-") {
			return n
		}
	}
	return "default"
}

func TestHeaderLayout(t *testing.T) {
	ini, acc := establish(t, testInitiator(t, ticketOpts{}, InitiatorConfig{}), testAcceptor(t, AcceptorConfig{}), ChannelBinding{})
	seq := acc.sendSeq
	hdr, _, err := acc.WrapWinRM([]byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	// TOK_ID 05 04, flags SentByAcceptor|Sealed|AcceptorSubkey, filler,
	// EC 0, RRC 28, the sequence number; 60 bytes in all.
	want := []byte{0x05, 0x04, 0x07, 0xff, 0, 0, 0, 28, 0, 0, 0, 0, byte(seq >> 24), byte(seq >> 16), byte(seq >> 8), byte(seq)}
	if len(hdr) != 60 || !bytes.Equal(hdr[:16], want) {
		t.Errorf("acceptor header %d bytes % x, want 60 starting % x", len(hdr), hdr[:16], want)
	}
	hdr, _, err = ini.WrapWinRM([]byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if hdr[2] != 0x06 {
		t.Errorf("initiator flags %#x, want 0x06 (Sealed|AcceptorSubkey)", hdr[2])
	}
}

// TestAcceptErrors covers every way Accept fails.
func TestAcceptErrors(t *testing.T) {
	good := func(t *testing.T) []byte {
		tok, err := testInitiator(t, ticketOpts{}, InitiatorConfig{}).InitToken()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	withClock := func(d time.Duration) InitiatorConfig {
		return InitiatorConfig{Now: func() time.Time { return testNow.Add(d) }}
	}
	otherKeytab := func(t *testing.T) []byte {
		// Same SPN, a different service password: the keytab key is wrong.
		kt := testKeytab(t)
		for i := range kt.Entries {
			kt.Entries[i].Key.KeyValue = bytes.Repeat([]byte{0x42}, len(kt.Entries[i].Key.KeyValue))
		}
		tok, err := testInitiator(t, ticketOpts{keytab: kt}, InitiatorConfig{}).InitToken()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	initTok := func(o ticketOpts, cfg InitiatorConfig) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			tok, err := testInitiator(t, o, cfg).InitToken()
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
	}
	appData := []byte("tls-server-end-point:0123456789abcdef0123456789abcdef")
	for _, tc := range []struct {
		name    string
		token   func(t *testing.T) []byte
		cb      ChannelBinding
		acfg    AcceptorConfig
		want    []error
		msg     string // substring of the error text
		noError bool
	}{
		{name: "client ahead", token: initTok(ticketOpts{}, withClock(7*time.Minute+3*time.Second)),
			want: []error{ErrClockSkew}, msg: "the client's clock is 7m3s ahead of the server's (limit 5m0s)"},
		{name: "client behind", token: initTok(ticketOpts{}, withClock(-6*time.Minute)),
			want: []error{ErrClockSkew}, msg: "the client's clock is 6m0s behind the server's (limit 5m0s)"},
		{name: "skew within limit", token: initTok(ticketOpts{}, withClock(4*time.Minute)), noError: true},
		{name: "wrong key", token: otherKeytab, want: []error{ErrBadTicket, ErrIntegrity}, msg: "does not decrypt with the keytab key"},
		{name: "wrong kvno", token: initTok(ticketOpts{kvno: 4}, InitiatorConfig{}), want: []error{ErrNoKey},
			msg: "no key with kvno 4 for HTTP/host.example.test@EXAMPLE.TEST"},
		{name: "unknown SPN", token: initTok(ticketOpts{spn: "HTTP/other.example.test", keytab: otherHostKeytab(t)}, InitiatorConfig{}),
			want: []error{ErrNoKey}, msg: "no key for HTTP/other.example.test@EXAMPLE.TEST in the keytab"},
		{name: "no key of the etype", token: initTok(ticketOpts{spn: "WSMAN/host.example.test", etype: etypeID.AES128_CTS_HMAC_SHA1_96, keytab: aes128WSMANKeytab(t)}, InitiatorConfig{}),
			want: []error{ErrNoKey}, msg: "no key of encryption type 17 for WSMAN/host.example.test@EXAMPLE.TEST"},
		{name: "service not accepted", token: good, acfg: AcceptorConfig{Services: []string{"WSMAN"}},
			want: []error{ErrNoKey}, msg: "service HTTP/host.example.test@EXAMPLE.TEST is not one of the accepted services [WSMAN]"},
		{name: "service name case-insensitive", token: good, acfg: AcceptorConfig{Services: []string{"http"}}, noError: true},
		{name: "RC4 ticket", token: initTok(ticketOpts{spn: "HTTP/rc4.example.test", etype: etypeID.RC4_HMAC}, InitiatorConfig{}), noError: true},
		{name: "client name mismatch", token: func(t *testing.T) []byte {
			tkt, key := makeTicket(t, ticketOpts{})
			i, err := newInitiatorFromTicket(tkt, key, types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, "mallory"), testRealm,
				InitiatorConfig{Now: func() time.Time { return testNow }})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := i.InitToken()
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}, want: []error{ErrBadTicket}, msg: "authenticator client mallory@EXAMPLE.TEST is not the ticket's client alice@EXAMPLE.TEST"},
		{name: "expired ticket", token: initTok(ticketOpts{start: testNow.Add(-11 * time.Hour), end: testNow.Add(-time.Hour)}, InitiatorConfig{}),
			want: []error{ErrBadTicket}, msg: "ticket expired"},
		{name: "future ticket", token: initTok(ticketOpts{start: testNow.Add(time.Hour)}, InitiatorConfig{}),
			want: []error{ErrBadTicket}, msg: "ticket not valid until"},
		{name: "cbt strict missing", token: good, cb: ChannelBinding{Policy: cbt.Strict, Secure: true, AppData: appData}, want: []error{cbt.ErrMissing}},
		{name: "cbt relaxed missing", token: good, cb: ChannelBinding{Policy: cbt.Relaxed, Secure: true, AppData: appData}, noError: true},
		{name: "cbt mismatch", token: initTok(ticketOpts{}, InitiatorConfig{ChannelBindings: []byte("tls-server-end-point:other")}),
			cb: ChannelBinding{Policy: cbt.Relaxed, Secure: true, AppData: appData}, want: []error{cbt.ErrMismatch}},
		{name: "cbt match strict", token: initTok(ticketOpts{}, InitiatorConfig{ChannelBindings: appData}),
			cb: ChannelBinding{Policy: cbt.Strict, Secure: true, AppData: appData}, noError: true},
		{name: "cbt mismatch ignored on http", token: initTok(ticketOpts{}, InitiatorConfig{ChannelBindings: []byte("x")}),
			cb: ChannelBinding{Policy: cbt.Strict, Secure: false}, noError: true},
		{name: "cbt mismatch policy none", token: initTok(ticketOpts{}, InitiatorConfig{ChannelBindings: []byte("x")}),
			cb: ChannelBinding{Policy: cbt.None, Secure: true, AppData: appData}, noError: true},
		{name: "empty", token: func(*testing.T) []byte { return nil }, want: []error{ErrBadTicket, ErrMalformed}},
		{name: "truncated framing", token: func(t *testing.T) []byte { return good(t)[:30] }, want: []error{ErrBadTicket, ErrMalformed}, msg: "GSS-API token length"},
		{name: "truncated AP-REQ", token: func(t *testing.T) []byte {
			raw := good(t)[17:] // strip 0x60, 3 length bytes, OID, TOK_ID
			return raw[:len(raw)-40]
		}, want: []error{ErrBadTicket, ErrMalformed}},
		{name: "wrong TOK_ID", token: func(t *testing.T) []byte {
			b := good(t)
			b[15] = 0x02 // 02 00: an AP-REP token ID
			return b
		}, want: []error{ErrBadTicket, ErrMalformed}, msg: "TOK_ID 0200"},
		{name: "wrong OID", token: func(t *testing.T) []byte {
			b := good(t)
			b[8]++ // inside the OID
			return b
		}, want: []error{ErrBadTicket, ErrMalformed}, msg: "not for the Kerberos V5 mechanism"},
		{name: "bare AP-REQ", token: func(t *testing.T) []byte { return good(t)[17:] }, noError: true},
		{name: "oversized", token: func(*testing.T) []byte { return make([]byte, MaxTokenSize+1) }, want: []error{ErrMalformed}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := testAcceptor(t, tc.acfg)
			c, rep, err := a.Accept(t.Context(), tc.token(t), tc.cb)
			if tc.noError {
				if err != nil || c == nil || len(rep) == 0 {
					t.Fatalf("Accept = %v, %d-byte reply, %v; want success", c, len(rep), err)
				}
				return
			}
			if err == nil {
				t.Fatal("Accept succeeded")
			}
			for _, w := range tc.want {
				if !errors.Is(err, w) {
					t.Errorf("error %q does not wrap %q", err, w)
				}
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not contain %q", err, tc.msg)
			}
		})
	}
}

// otherHostKeytab has a key for HTTP/other.example.test, which the
// acceptor's keytab lacks.
func otherHostKeytab(t *testing.T) *keytab.Keytab {
	kt := testKeytab(t)
	kt.Entries = append(kt.Entries, kt.Entries[0])
	kt.Entries[len(kt.Entries)-1].Principal.Components = []string{"HTTP", "other.example.test"}
	return kt
}

// aes128WSMANKeytab has an AES-128 key for WSMAN/host.example.test, which
// the acceptor's keytab lacks.
func aes128WSMANKeytab(t *testing.T) *keytab.Keytab {
	kt := testKeytab(t)
	kt.Entries = append(kt.Entries, kt.Entries[1]) // HTTP's AES-128 key
	kt.Entries[len(kt.Entries)-1].Principal.Components = []string{"WSMAN", "host.example.test"}
	return kt
}

func TestReplay(t *testing.T) {
	a := testAcceptor(t, AcceptorConfig{})
	tok, err := testInitiator(t, ticketOpts{}, InitiatorConfig{}).InitToken()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Accept(t.Context(), tok, ChannelBinding{}); err != nil {
		t.Fatal(err)
	}
	_, _, err = a.Accept(t.Context(), tok, ChannelBinding{})
	if !errors.Is(err, ErrReplay) {
		t.Fatalf("second Accept: %v, want ErrReplay", err)
	}
	// Another acceptor has its own cache.
	if _, _, err := testAcceptor(t, AcceptorConfig{}).Accept(t.Context(), tok, ChannelBinding{}); err != nil {
		t.Errorf("fresh acceptor: %v", err)
	}
}

func TestReplayCacheBounds(t *testing.T) {
	now := testNow
	a := testAcceptor(t, AcceptorConfig{ReplayCacheSize: 2, Now: func() time.Time { return now }})
	ini := testInitiator(t, ticketOpts{}, InitiatorConfig{Now: func() time.Time { return now }})
	accept := func() error {
		tok, err := ini.InitToken()
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = a.Accept(t.Context(), tok, ChannelBinding{})
		return err
	}
	for range 2 {
		if err := accept(); err != nil {
			t.Fatal(err)
		}
	}
	if err := accept(); !errors.Is(err, ErrReplay) || !strings.Contains(err.Error(), "replay cache full") {
		t.Fatalf("third Accept: %v, want a full replay cache", err)
	}
	// Entries expire after 2*MaxSkew.
	now = now.Add(10*time.Minute + time.Second)
	if err := accept(); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if n := a.replay.len(); n != 1 {
		t.Errorf("replay cache holds %d entries, want 1", n)
	}
}

func TestAcceptCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := testAcceptor(t, AcceptorConfig{}).Accept(ctx, nil, ChannelBinding{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Accept on a canceled context: %v", err)
	}
}

func TestNewAcceptorErrors(t *testing.T) {
	if _, err := NewAcceptor(AcceptorConfig{}); err == nil {
		t.Error("NewAcceptor without a keytab succeeded")
	}
	if _, err := NewAcceptor(AcceptorConfig{Keytab: keytab.New()}); err == nil {
		t.Error("NewAcceptor with an empty keytab succeeded")
	}
	if _, err := NewAcceptor(AcceptorConfig{KeytabPath: t.TempDir() + "/missing"}); err == nil {
		t.Error("NewAcceptor with a missing keytab file succeeded")
	}
	path := t.TempDir() + "/kt"
	b, err := testKeytab(t).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	a := testAcceptor(t, AcceptorConfig{KeytabPath: "FILE:" + path})
	if _, acc := establish(t, testInitiator(t, ticketOpts{}, InitiatorConfig{}), a, ChannelBinding{}); acc.Principal() != "alice@EXAMPLE.TEST" {
		t.Error("keytab file acceptor")
	}
	if err := os.WriteFile(path, []byte{5, 2, 0, 0, 0, 40, 0}, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewAcceptor(AcceptorConfig{KeytabPath: path}); err == nil {
		t.Error("NewAcceptor with a corrupt keytab succeeded")
	}
}

// TestNoMutual: a client that did not ask for mutual authentication gets
// an AP-REP without a subkey, and both directions use its key and
// sequence number.
func TestNoMutual(t *testing.T) {
	i := testInitiator(t, ticketOpts{}, InitiatorConfig{})
	tok := initTokenWithFlags(t, i, flagInteg|flagConf)
	acc, rep, err := testAcceptor(t, AcceptorConfig{}).Accept(t.Context(), tok, ChannelBinding{})
	if err != nil {
		t.Fatal(err)
	}
	if acc.MutualAuth() || acc.accSubkey != nil || acc.sendSeq != acc.recvSeq {
		t.Fatalf("mutual %v subkey %v send %d recv %d", acc.MutualAuth(), acc.accSubkey != nil, acc.sendSeq, acc.recvSeq)
	}
	ini, err := i.Complete(rep)
	if err != nil {
		t.Fatal(err)
	}
	hdr, ct, err := acc.WrapWinRM([]byte("no mutual"))
	if err != nil {
		t.Fatal(err)
	}
	if hdr[2] != wrapSentByAcceptor|wrapSealed {
		t.Errorf("flags %#x, want SentByAcceptor|Sealed", hdr[2])
	}
	if got, err := ini.UnwrapWinRM(hdr, ct); err != nil || string(got) != "no mutual" {
		t.Errorf("UnwrapWinRM = %q, %v", got, err)
	}
}
