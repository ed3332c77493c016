package negotiate

import (
	"encoding/asn1"
	"errors"
	"testing"

	"github.com/psremote/psremote/auth"
	"github.com/psremote/psremote/auth/cbt"
	"github.com/psremote/psremote/auth/spnego"
)

// spnegoNTLM runs NTLM inside SPNEGO as an initiator offering mechs
// (NTLM among them). It sends the optimistic NEGOTIATE when NTLM is first,
// a mechListMIC with the AUTHENTICATE when withMIC, and checks the
// acceptor's replies as an RFC 4178 initiator would. It returns the final
// step and the client's NTLM context.
func spnegoNTLM(t *testing.T, m *Mechanism, conn *auth.ConnState, mechs []asn1.ObjectIdentifier, withMIC bool) (auth.Step, error) {
	t.Helper()
	c := ntlmClient(t, "alice", "WORKGROUP", "Passw0rd!", nil)
	init := &spnego.NegTokenInit{MechTypes: mechs}
	ntlmFirst := mechs[0].Equal(spnego.OIDNTLM)
	if ntlmFirst {
		init.MechToken = c.Negotiate()
	} else {
		init.MechToken = []byte{0x60, 0x00} // some other mechanism's optimistic token
	}
	tok, err := init.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	st, err := leg(m, conn, tok, auth.Request{})
	if err != nil {
		t.Fatalf("NegTokenInit leg: %v", err)
	}
	r1, err := spnego.ParseResp(replyToken(t, SchemeNegotiate, st.Reply))
	if err != nil {
		t.Fatal(err)
	}
	if !r1.SupportedMech.Equal(spnego.OIDNTLM) {
		t.Fatalf("supportedMech = %v; want NTLM", r1.SupportedMech)
	}
	challenge := r1.ResponseToken
	if ntlmFirst {
		if r1.State != spnego.AcceptIncomplete || len(challenge) == 0 {
			t.Fatalf("first reply = %+v; want accept-incomplete with the CHALLENGE", r1)
		}
	} else {
		// NTLM was not the initiator's choice: the acceptor asks for a
		// mechListMIC and waits for the NEGOTIATE.
		if r1.State != spnego.RequestMIC || len(challenge) != 0 {
			t.Fatalf("first reply = %+v; want request-mic without a token", r1)
		}
		b, _ := (&spnego.NegTokenResp{State: spnego.NoNegState, ResponseToken: c.Negotiate()}).Marshal()
		st, err := leg(m, conn, b, auth.Request{})
		if err != nil {
			t.Fatalf("NEGOTIATE leg: %v", err)
		}
		r2, err := spnego.ParseResp(replyToken(t, SchemeNegotiate, st.Reply))
		if err != nil {
			t.Fatal(err)
		}
		if r2.State != spnego.AcceptIncomplete || r2.SupportedMech != nil || len(r2.ResponseToken) == 0 {
			t.Fatalf("second reply = %+v", r2)
		}
		challenge = r2.ResponseToken
	}
	am, err := c.Authenticate(challenge)
	if err != nil {
		t.Fatal(err)
	}
	final := &spnego.NegTokenResp{State: spnego.NoNegState, ResponseToken: am}
	cs := c.Session()
	if withMIC {
		final.MechListMIC = cs.Sign(init.RawMechTypes)
		cs.ResetRC4(true)
	}
	b, _ := final.Marshal()
	st, err = leg(m, conn, b, auth.Request{})
	if err != nil {
		return st, err
	}
	r3, err := spnego.ParseResp(replyToken(t, SchemeNegotiate, st.Reply))
	if err != nil {
		t.Fatal(err)
	}
	if r3.State != spnego.AcceptCompleted || r3.SupportedMech != nil || r3.ResponseToken != nil {
		t.Fatalf("final reply = %+v", r3)
	}
	if withMIC {
		if err := cs.Verify(init.RawMechTypes, r3.MechListMIC); err != nil {
			t.Fatalf("acceptor's mechListMIC: %v", err)
		}
		cs.ResetRC4(false)
	} else if r3.MechListMIC != nil {
		t.Fatal("acceptor sent a mechListMIC the initiator did not")
	}
	checkSealed(t, cs, conn.Context(), 4)
	return st, nil
}

func TestSPNEGONTLM(t *testing.T) {
	krb, ntlmOID := spnego.OIDKerberos, spnego.OIDNTLM
	tests := []struct {
		name    string
		mechs   []asn1.ObjectIdentifier
		withMIC bool
	}{
		{"ntlm only, mic", []asn1.ObjectIdentifier{ntlmOID}, true},
		{"ntlm only, no mic", []asn1.ObjectIdentifier{ntlmOID}, false},
		{"ntlm after kerberos", []asn1.ObjectIdentifier{spnego.OIDMSKerberos, krb, ntlmOID}, true},
		{"ntlm after negoex", []asn1.ObjectIdentifier{spnego.OIDNegoEx, ntlmOID}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := newNTLM(t, cbt.Relaxed)
			conn := &auth.ConnState{}
			st, err := spnegoNTLM(t, m, conn, tt.mechs, tt.withMIC)
			if err != nil {
				t.Fatal(err)
			}
			if !st.Done || st.Result.Principal != "alice" || st.Result.Mechanism != MechNTLM {
				t.Errorf("step = %+v", st)
			}
		})
	}
}

// TestSPNEGOBadMIC refuses an AUTHENTICATE whose mechListMIC does not
// cover the mechanism list the acceptor saw (a downgrade).
func TestSPNEGOBadMIC(t *testing.T) {
	m, _ := newNTLM(t, cbt.Relaxed)
	conn := &auth.ConnState{}
	c := ntlmClient(t, "alice", "", "Passw0rd!", nil)
	init := &spnego.NegTokenInit{MechTypes: []asn1.ObjectIdentifier{spnego.OIDNTLM}, MechToken: c.Negotiate()}
	tok, _ := init.Marshal()
	st, err := leg(m, conn, tok, auth.Request{})
	if err != nil {
		t.Fatal(err)
	}
	r1, _ := spnego.ParseResp(replyToken(t, SchemeNegotiate, st.Reply))
	am, err := c.Authenticate(r1.ResponseToken)
	if err != nil {
		t.Fatal(err)
	}
	other := &spnego.NegTokenInit{MechTypes: []asn1.ObjectIdentifier{spnego.OIDNTLM, spnego.OIDKerberos}}
	if _, err := other.Marshal(); err != nil {
		t.Fatal(err)
	}
	b, _ := (&spnego.NegTokenResp{State: spnego.NoNegState, ResponseToken: am, MechListMIC: c.Session().Sign(other.RawMechTypes)}).Marshal()
	if _, err := leg(m, conn, b, auth.Request{}); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("mechListMIC over another list: err = %v; want ErrBadCredentials", err)
	}
	if conn.Context() != nil {
		t.Error("refused handshake established a context")
	}
}

// TestSPNEGOErrors covers refusals of SPNEGO tokens.
func TestSPNEGOErrors(t *testing.T) {
	m, _ := newNTLM(t, cbt.Relaxed)
	marshalInit := func(init *spnego.NegTokenInit) []byte {
		b, err := init.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	kerberosOnly := marshalInit(&spnego.NegTokenInit{MechTypes: []asn1.ObjectIdentifier{spnego.OIDKerberos}, MechToken: []byte{1}})
	if _, err := leg(m, &auth.ConnState{}, kerberosOnly, auth.Request{}); !errors.Is(err, auth.ErrNotPermitted) {
		t.Errorf("Kerberos-only SPNEGO without a keytab: err = %v; want ErrNotPermitted", err)
	}
	notNegotiate := marshalInit(&spnego.NegTokenInit{MechTypes: []asn1.ObjectIdentifier{spnego.OIDNTLM}, MechToken: []byte("NTLMSSP\x00\x03\x00\x00\x00")})
	if _, err := leg(m, &auth.ConnState{}, notNegotiate, auth.Request{}); !errors.Is(err, auth.ErrMalformed) {
		t.Errorf("optimistic AUTHENTICATE: err = %v; want ErrMalformed", err)
	}
	// A NegTokenResp of each bad kind after a good NegTokenInit.
	c := ntlmClient(t, "alice", "", "Passw0rd!", nil)
	start := marshalInit(&spnego.NegTokenInit{MechTypes: []asn1.ObjectIdentifier{spnego.OIDNTLM}, MechToken: c.Negotiate()})
	for name, resp := range map[string]*spnego.NegTokenResp{
		"reject":         {State: spnego.Reject},
		"no token":       {State: spnego.AcceptIncomplete},
		"kerberos token": {State: spnego.NoNegState, ResponseToken: []byte{0x60, 1, 2}},
		"renegotiate":    {State: spnego.NoNegState, ResponseToken: c.Negotiate()},
	} {
		conn := &auth.ConnState{}
		if _, err := leg(m, conn, start, auth.Request{}); err != nil {
			t.Fatal(err)
		}
		b, _ := resp.Marshal()
		if _, err := leg(m, conn, b, auth.Request{}); !errors.Is(err, auth.ErrMalformed) {
			t.Errorf("%s: err = %v; want ErrMalformed", name, err)
		}
		if conn.Value(SchemeNegotiate) != nil {
			t.Errorf("%s: handshake state left behind", name)
		}
	}
	// Raw NTLM AUTHENTICATE after an SPNEGO start is out of order.
	conn := &auth.ConnState{}
	if _, err := leg(m, conn, start, auth.Request{}); err != nil {
		t.Fatal(err)
	}
	if _, err := leg(m, conn, []byte("NTLMSSP\x00\x03\x00\x00\x00"), auth.Request{}); !errors.Is(err, auth.ErrMalformed) {
		t.Errorf("raw AUTHENTICATE in an SPNEGO handshake: err = %v", err)
	}
}
