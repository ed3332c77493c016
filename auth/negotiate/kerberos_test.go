package negotiate

import (
	"context"
	"encoding/asn1"
	"errors"
	"testing"

	"github.com/psremote/psremote/auth"
	"github.com/psremote/psremote/auth/cbt"
	"github.com/psremote/psremote/auth/encrypt"
	"github.com/psremote/psremote/auth/kerberos"
	"github.com/psremote/psremote/auth/ntlm"
	"github.com/psremote/psremote/auth/spnego"
	"github.com/psremote/psremote/internal/testkdc"
)

// newKerberos returns a Negotiate mechanism with NTLM and a Kerberos
// acceptor for the test KDC's keytab, and an initiator factory for user1.
func newKerberos(t *testing.T, policy cbt.Policy) (*Mechanism, func(cb []byte) *kerberos.Initiator) {
	t.Helper()
	kdc := testkdc.Start(t)
	acc, err := kerberos.NewAcceptor(kerberos.AcceptorConfig{KeytabPath: kdc.Keytab})
	if err != nil {
		t.Fatal(err)
	}
	ra := &resolveAll{}
	m, err := New(Config{
		NTLMSources:  []NTLMSource{StoreSource(storeLookup)},
		Kerberos:     acc,
		PrincipalMap: kerberos.NewPrincipalMap(testkdc.Realm, nil),
		CBT:          policy,
		Resolve:      ra.resolve,
	})
	if err != nil {
		t.Fatal(err)
	}
	initiator := func(cb []byte) *kerberos.Initiator {
		t.Helper()
		in, err := kerberos.NewInitiator(context.Background(), kerberos.InitiatorConfig{
			Krb5ConfPath: kdc.Krb5Conf, CCachePath: kdc.CCache, SPN: "HTTP/localhost", ChannelBindings: cb,
		})
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	return m, initiator
}

func TestKerberos(t *testing.T) {
	m, initiator := newKerberos(t, cbt.Relaxed)
	krbScheme := m.KerberosScheme()
	if krbScheme == nil || krbScheme.Scheme() != "Kerberos" || !m.OffersKerberos() || krbScheme.OffersNTLM() {
		t.Fatal("Kerberos scheme missing or offering NTLM")
	}
	tests := []struct {
		name      string
		mech      *Mechanism
		spnego    []asn1.ObjectIdentifier // nil: raw token
		protocols []string
	}{
		{"raw in Negotiate", m, nil, []string{encrypt.ProtocolSPNEGO, encrypt.ProtocolKerberos}},
		{"raw in Kerberos", krbScheme, nil, []string{encrypt.ProtocolKerberos, encrypt.ProtocolSPNEGO}},
		{"spnego krb5", m, []asn1.ObjectIdentifier{spnego.OIDKerberos, spnego.OIDNTLM}, []string{encrypt.ProtocolSPNEGO}},
		{"spnego ms-krb5 first", m, []asn1.ObjectIdentifier{spnego.OIDMSKerberos, spnego.OIDKerberos, spnego.OIDNTLM}, []string{encrypt.ProtocolSPNEGO}},
		{"spnego in Kerberos scheme", krbScheme, []asn1.ObjectIdentifier{spnego.OIDKerberos}, []string{encrypt.ProtocolKerberos}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := initiator(nil)
			tok, err := in.InitToken()
			if err != nil {
				t.Fatal(err)
			}
			if tt.spnego != nil {
				tok, err = (&spnego.NegTokenInit{MechTypes: tt.spnego, MechToken: tok}).Marshal()
				if err != nil {
					t.Fatal(err)
				}
			}
			conn := &auth.ConnState{}
			g := &gateLog{}
			st, err := leg(tt.mech, conn, tok, auth.Request{Gate: g.gate})
			if err != nil {
				t.Fatal(err)
			}
			if !st.Done || st.Result.Principal != testkdc.User || st.Result.Mechanism != MechKerberos || st.Result.User.Name != testkdc.User {
				t.Fatalf("step = %+v", st)
			}
			if len(g.names) != 0 {
				t.Errorf("Kerberos called the gate: %q", g.names)
			}
			rep := replyToken(t, tt.mech.Scheme(), st.Reply)
			if tt.spnego != nil {
				r, err := spnego.ParseResp(rep)
				if err != nil {
					t.Fatal(err)
				}
				if r.State != spnego.AcceptCompleted || !r.SupportedMech.Equal(tt.spnego[0]) || r.MechListMIC != nil {
					t.Fatalf("NegTokenResp = %+v", r)
				}
				rep = r.ResponseToken
			}
			kctx, err := in.Complete(rep) // mutual authentication
			if err != nil {
				t.Fatalf("initiator rejects the AP-REP: %v", err)
			}
			sc := conn.Context()
			for _, p := range tt.protocols {
				if !sc.AllowsProtocol(p) {
					t.Errorf("context refuses protocol %s", p)
				}
			}
			checkSealed(t, kctx, sc, 3)
		})
	}
}

// TestKerberosRefusals: a replayed AP-REQ, channel bindings under Strict,
// NTLM in the Kerberos scheme, a Kerberos mechListMIC.
func TestKerberosRefusals(t *testing.T) {
	m, initiator := newKerberos(t, cbt.Strict)
	tok, err := initiator(nil).InitToken()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leg(m, &auth.ConnState{}, tok, auth.Request{}); err != nil {
		t.Fatal(err)
	}
	if _, err := leg(m, &auth.ConnState{}, tok, auth.Request{}); !errors.Is(err, kerberos.ErrReplay) || !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("replayed AP-REQ: err = %v; want ErrReplay and ErrBadCredentials", err)
	}
	// The Kerberos scheme shares the replay cache.
	if _, err := leg(m.KerberosScheme(), &auth.ConnState{}, tok, auth.Request{}); !errors.Is(err, kerberos.ErrReplay) {
		t.Errorf("replay through the Kerberos scheme: err = %v", err)
	}

	ours := []byte("tls-server-end-point:ours")
	for name, cb := range map[string][]byte{"missing": nil, "mismatch": []byte("tls-server-end-point:other")} {
		tok, err := initiator(cb).InitToken()
		if err != nil {
			t.Fatal(err)
		}
		_, err = leg(m, &auth.ConnState{}, tok, auth.Request{Secure: true, ChannelBindings: ours})
		if !errors.Is(err, auth.ErrBadCredentials) || !(errors.Is(err, cbt.ErrMissing) || errors.Is(err, cbt.ErrMismatch)) {
			t.Errorf("Strict, bindings %s: err = %v", name, err)
		}
	}
	tok, _ = initiator(ours).InitToken()
	if _, err := leg(m, &auth.ConnState{}, tok, auth.Request{Secure: true, ChannelBindings: ours}); err != nil {
		t.Errorf("Strict, matching bindings: %v", err)
	}

	c, _ := ntlm.NewClient(ntlm.ClientConfig{User: "alice", Password: "Passw0rd!"})
	if _, err := leg(m.KerberosScheme(), &auth.ConnState{}, c.Negotiate(), auth.Request{}); !errors.Is(err, auth.ErrNotPermitted) {
		t.Errorf("NTLM in the Kerberos scheme: err = %v; want ErrNotPermitted", err)
	}
	tok, _ = initiator(nil).InitToken()
	withMIC, _ := (&spnego.NegTokenInit{MechTypes: []asn1.ObjectIdentifier{spnego.OIDKerberos}, MechToken: tok, MechListMIC: []byte{1}}).Marshal()
	if _, err := leg(m, &auth.ConnState{}, withMIC, auth.Request{}); !errors.Is(err, auth.ErrMalformed) {
		t.Errorf("Kerberos mechListMIC: err = %v; want ErrMalformed", err)
	}
}

// TestKerberosDeferredToken: SPNEGO offering Kerberos without an
// optimistic token gets accept-incomplete, then the AP-REQ in a
// NegTokenResp completes.
func TestKerberosDeferredToken(t *testing.T) {
	m, initiator := newKerberos(t, cbt.Relaxed)
	conn := &auth.ConnState{}
	init, _ := (&spnego.NegTokenInit{MechTypes: []asn1.ObjectIdentifier{spnego.OIDKerberos, spnego.OIDNTLM}}).Marshal()
	st, err := leg(m, conn, init, auth.Request{})
	if err != nil || st.Done {
		t.Fatalf("NegTokenInit without a token: %+v, %v", st, err)
	}
	r, _ := spnego.ParseResp(replyToken(t, SchemeNegotiate, st.Reply))
	if r.State != spnego.AcceptIncomplete || !r.SupportedMech.Equal(spnego.OIDKerberos) {
		t.Fatalf("reply = %+v", r)
	}
	in := initiator(nil)
	tok, _ := in.InitToken()
	b, _ := (&spnego.NegTokenResp{State: spnego.NoNegState, ResponseToken: tok}).Marshal()
	st, err = leg(m, conn, b, auth.Request{})
	if err != nil || !st.Done {
		t.Fatalf("AP-REQ leg: %+v, %v", st, err)
	}
	r, _ = spnego.ParseResp(replyToken(t, SchemeNegotiate, st.Reply))
	if r.State != spnego.AcceptCompleted || r.SupportedMech != nil {
		t.Fatalf("final reply = %+v", r)
	}
	if _, err := in.Complete(r.ResponseToken); err != nil {
		t.Fatal(err)
	}
	// NTLM is still offered alongside.
	if _, err := spnegoNTLM(t, m, &auth.ConnState{}, []asn1.ObjectIdentifier{spnego.OIDNTLM}, true); err != nil {
		t.Fatal(err)
	}
}
