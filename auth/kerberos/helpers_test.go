package kerberos

import (
	"crypto/rand"
	"sync"
	"testing"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/asn1tools"
	"github.com/jcmturner/gokrb5/v8/iana/asnAppTag"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// testNow is the fixed clock of the offline tests.
var testNow = time.Date(2026, 1, 2, 3, 4, 5, 678000000, time.UTC)

const testRealm = "EXAMPLE.TEST"

// testKeytab returns a copy of a keytab with HTTP/ and WSMAN/
// host.example.test keys (kvno 3, AES-256, HTTP also AES-128), AES-SHA2
// keys for HTTP/sha2.example.test and HTTP/sha2-128.example.test and an
// RC4 key for HTTP/rc4.example.test. String-to-key is slow, so the keys
// are derived once.
func testKeytab(t testing.TB) *keytab.Keytab {
	t.Helper()
	baseKeytabOnce.Do(func() { baseKeytab, baseKeytabErr = buildTestKeytab() })
	if baseKeytabErr != nil {
		t.Fatal(baseKeytabErr)
	}
	b, err := baseKeytab.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	kt := keytab.New()
	if err := kt.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	return kt
}

var (
	baseKeytabOnce sync.Once
	baseKeytab     *keytab.Keytab
	baseKeytabErr  error
)

func buildTestKeytab() (*keytab.Keytab, error) {
	kt := keytab.New()
	ts := testNow.Add(-time.Hour)
	for _, e := range []struct {
		spn   string
		etype int32
	}{
		{"HTTP/host.example.test", etypeID.AES256_CTS_HMAC_SHA1_96},
		{"HTTP/host.example.test", etypeID.AES128_CTS_HMAC_SHA1_96},
		{"WSMAN/host.example.test", etypeID.AES256_CTS_HMAC_SHA1_96},
		{"HTTP/sha2.example.test", etypeID.AES256_CTS_HMAC_SHA384_192},
		{"HTTP/sha2-128.example.test", etypeID.AES128_CTS_HMAC_SHA256_128},
		{"HTTP/rc4.example.test", etypeID.RC4_HMAC},
	} {
		if err := kt.AddEntry(e.spn, testRealm, "service-password-"+e.spn, ts, 3, e.etype); err != nil {
			return nil, err
		}
	}
	return kt, nil
}

// ticketOpts describes a service ticket made with the keytab's key.
type ticketOpts struct {
	spn        string // default HTTP/host.example.test
	etype      int32  // default AES-256
	kvno       int    // key version written in the ticket; default 3
	cname      string // default alice
	start, end time.Time
	keytab     *keytab.Keytab // key source; default testKeytab
}

// makeTicket builds a service ticket as a KDC would.
func makeTicket(t testing.TB, o ticketOpts) (messages.Ticket, types.EncryptionKey) {
	t.Helper()
	if o.spn == "" {
		o.spn = "HTTP/host.example.test"
	}
	if o.etype == 0 {
		o.etype = etypeID.AES256_CTS_HMAC_SHA1_96
	}
	if o.kvno == 0 {
		o.kvno = 3
	}
	if o.cname == "" {
		o.cname = "alice"
	}
	if o.start.IsZero() {
		o.start = testNow.Add(-time.Minute)
	}
	if o.end.IsZero() {
		o.end = testNow.Add(10 * time.Hour)
	}
	kt := o.keytab
	if kt == nil {
		kt = testKeytab(t)
	}
	// Built by hand rather than with messages.NewTicket, whose session
	// keys for aes256-cts-hmac-sha384-192 are 24 bytes instead of 32.
	sname := types.NewPrincipalName(nametype.KRB_NT_SRV_INST, o.spn)
	skey, _, err := kt.GetEncryptionKey(sname, testRealm, 3, o.etype)
	if err != nil {
		t.Fatal(err)
	}
	key, err := randomKey(o.etype, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	etp := messages.EncTicketPart{
		Flags:     types.NewKrbFlags(),
		Key:       key,
		CRealm:    testRealm,
		CName:     types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, o.cname),
		AuthTime:  o.start,
		StartTime: o.start,
		EndTime:   o.end,
	}
	b, err := asn1.Marshal(etp)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := encrypt(skey, keyusage.KDC_REP_TICKET, asn1tools.AddASNAppTag(b, asnAppTag.EncTicketPart))
	if err != nil {
		t.Fatal(err)
	}
	tkt := messages.Ticket{TktVNO: 5, Realm: testRealm, SName: sname,
		EncPart: types.EncryptedData{EType: o.etype, KVNO: o.kvno, Cipher: ct}}
	return tkt, key
}

// testInitiator returns an Initiator for a ticket made with o.
func testInitiator(t testing.TB, o ticketOpts, cfg InitiatorConfig) *Initiator {
	t.Helper()
	tkt, key := makeTicket(t, o)
	cname := o.cname
	if cname == "" {
		cname = "alice"
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return testNow }
	}
	i, err := newInitiatorFromTicket(tkt, key, types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, cname), testRealm, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

// testAcceptor returns an Acceptor over testKeytab with the fixed clock.
func testAcceptor(t testing.TB, cfg AcceptorConfig) *Acceptor {
	t.Helper()
	if cfg.Keytab == nil && cfg.KeytabPath == "" {
		cfg.Keytab = testKeytab(t)
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return testNow }
	}
	a, err := NewAcceptor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// establish runs InitToken, Accept and Complete and returns both
// contexts.
func establish(t testing.TB, i *Initiator, a *Acceptor, cb ChannelBinding) (ini, acc *Context) {
	t.Helper()
	tok, err := i.InitToken()
	if err != nil {
		t.Fatal(err)
	}
	acc, rep, err := a.Accept(t.Context(), tok, cb)
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	ini, err = i.Complete(rep)
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	return ini, acc
}

// initTokenWithFlags is InitToken with other GSS flags and without the
// mutual-required AP option.
func initTokenWithFlags(t testing.TB, i *Initiator, flags uint32) []byte {
	t.Helper()
	tok, err := i.initToken(flags, false)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
