package negotiate

import (
	"bytes"
	"context"
	"encoding/asn1"
	"encoding/base64"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/psremote/psremote/auth"
	"github.com/psremote/psremote/auth/cbt"
	"github.com/psremote/psremote/auth/kerberos"
	"github.com/psremote/psremote/auth/ntlm"
	"github.com/psremote/psremote/auth/spnego"
)

// fuzzSep separates the tokens of one fuzz input.
var fuzzSep = []byte("\x00--next--\x00")

// FuzzNegotiate feeds arbitrary token sequences, one connection per input,
// through the Negotiate and Kerberos schemes: nothing may panic, and a
// connection is authenticated only by a completed step.
func FuzzNegotiate(f *testing.F) {
	c, err := ntlm.NewClient(ntlm.ClientConfig{User: "alice", Password: "Passw0rd!"})
	if err != nil {
		f.Fatal(err)
	}
	neg := c.Negotiate()
	init, _ := (&spnego.NegTokenInit{MechTypes: []asn1.ObjectIdentifier{spnego.OIDNTLM}, MechToken: neg}).Marshal()
	initKrb, _ := (&spnego.NegTokenInit{MechTypes: []asn1.ObjectIdentifier{spnego.OIDMSKerberos, spnego.OIDNTLM}}).Marshal()
	resp, _ := (&spnego.NegTokenResp{State: spnego.NoNegState, ResponseToken: []byte("NTLMSSP\x00\x03\x00\x00\x00"), MechListMIC: make([]byte, 16)}).Marshal()
	respNeg, _ := (&spnego.NegTokenResp{State: spnego.NoNegState, ResponseToken: neg}).Marshal()
	krb := spnego.WrapGSS(spnego.OIDKerberos, spnego.TokIDAPReq, []byte{0x6e, 0x03, 0x30, 0x01, 0x00})
	for _, seq := range [][][]byte{
		{neg, []byte("NTLMSSP\x00\x03\x00\x00\x00")},
		{init, resp},
		{initKrb, respNeg, resp},
		{initKrb, krb},
		{krb},
		{neg, neg, init},
	} {
		f.Add(bytes.Join(seq, fuzzSep))
	}

	ra := &resolveAll{}
	acc, err := kerberos.NewAcceptor(kerberos.AcceptorConfig{Keytab: fuzzKeytab(f)})
	if err != nil {
		f.Fatal(err)
	}
	m, err := New(Config{
		NTLMSources:  []NTLMSource{StoreSource(storeLookup)},
		Kerberos:     acc,
		PrincipalMap: kerberos.NewPrincipalMap("EXAMPLE.TEST", nil),
		CBT:          cbt.Strict,
		Resolve:      ra.resolve,
	})
	if err != nil {
		f.Fatal(err)
	}
	schemes := []*Mechanism{m, m.KerberosScheme()}
	f.Fuzz(func(t *testing.T, data []byte) {
		conn := &auth.ConnState{}
		for i, tok := range bytes.Split(data, fuzzSep) {
			if i >= 8 {
				break
			}
			mech := schemes[i%2*int(len(tok)%3/2)]
			st, err := mech.Accept(context.Background(), auth.Request{
				Credentials: base64.StdEncoding.EncodeToString(tok), Conn: conn,
				Secure: len(tok)%2 == 0, ChannelBindings: []byte("tls-server-end-point:x"),
			})
			if err != nil && (st.Done || st.Reply != "") {
				t.Fatalf("failed step %+v carries a result", st)
			}
			if st.Done && conn.Context() == nil {
				t.Fatal("completed step without a connection context")
			}
		}
	})
}

// fuzzKeytab is a keytab with an HTTP/ key, so that tickets reach the
// decryption step.
func fuzzKeytab(f *testing.F) *keytab.Keytab {
	kt := keytab.New()
	if err := kt.AddEntry("HTTP/host.example.test", "EXAMPLE.TEST", "fuzz-password", time.Unix(0, 0), 1, etypeID.AES256_CTS_HMAC_SHA1_96); err != nil {
		f.Fatal(err)
	}
	return kt
}
