package negotiate

import (
	"context"
	"encoding/asn1"
	"fmt"

	"github.com/psremote/psremote/auth"
	"github.com/psremote/psremote/auth/kerberos"
	"github.com/psremote/psremote/auth/ntlm"
	"github.com/psremote/psremote/auth/spnego"
)

// acceptKerberos verifies a Kerberos AP-REQ token and establishes the
// context. With resp nil the AP-REP goes back raw (raw Kerberos token in);
// otherwise it is put into resp, which is marshalled as the reply.
func (m *Mechanism) acceptKerberos(ctx context.Context, r auth.Request, conn *auth.ConnState, token []byte, resp *spnego.NegTokenResp) (auth.Step, error) {
	acc := m.s.cfg.Kerberos
	if acc == nil {
		return auth.Step{}, fmt.Errorf("%w: Kerberos is not configured (no keytab)", auth.ErrNotPermitted)
	}
	kctx, aprep, err := acc.Accept(ctx, token, kerberos.ChannelBinding{Policy: m.s.cfg.CBT, Secure: r.Secure, AppData: r.ChannelBindings})
	if err != nil {
		return auth.Step{}, credentialError(err)
	}
	local, err := m.s.cfg.PrincipalMap.Map(kctx.Principal())
	if err != nil {
		return auth.Step{}, credentialError(err)
	}
	u, err := m.s.cfg.Resolve(local, SourceKerberos)
	if err != nil {
		return auth.Step{}, fmt.Errorf("%w: %s (%s): %v", auth.ErrBadCredentials, kctx.Principal(), local, err)
	}
	sc := &auth.SecurityContext{
		Result:    auth.Result{Principal: local, User: u, Mechanism: MechKerberos},
		Wrapper:   kctx,
		Protocols: protocolsFor(m.scheme, true),
	}
	reply := m.reply(aprep)
	if resp != nil {
		resp.State = spnego.AcceptCompleted
		resp.ResponseToken = aprep
		if reply, err = m.respReply(resp); err != nil {
			return auth.Step{}, err
		}
	}
	conn.SetValue(m.scheme, nil)
	conn.Establish(sc)
	return auth.Step{Done: true, Result: sc.Result, Reply: reply}, nil
}

// choose picks the mechanism for a NegTokenInit: the first of the
// initiator's list this scheme offers. It returns the index in the list
// and whether it is Kerberos, or -1.
func (m *Mechanism) choose(mechs []asn1.ObjectIdentifier) (int, bool) {
	for i, oid := range mechs {
		switch {
		case isKerberosOID(oid) && m.OffersKerberos():
			return i, true
		case oid.Equal(spnego.OIDNTLM) && m.OffersNTLM():
			return i, false
		}
	}
	return -1, false
}

// acceptInit handles the initiator's first SPNEGO token.
func (m *Mechanism) acceptInit(ctx context.Context, r auth.Request, conn *auth.ConnState, token []byte) (auth.Step, error) {
	conn.SetValue(m.scheme, nil)
	conn.Establish(nil)
	init, err := spnego.ParseInit(token)
	if err != nil {
		return auth.Step{}, fmt.Errorf("%w: %w", auth.ErrMalformed, err)
	}
	i, isKrb := m.choose(init.MechTypes)
	if i < 0 {
		return auth.Step{}, fmt.Errorf("%w: SPNEGO offers no mechanism this server accepts", auth.ErrNotPermitted)
	}
	h := &handshake{spnego: true, kerberos: isKrb, mechTypes: init.RawMechTypes}
	resp := &spnego.NegTokenResp{State: spnego.AcceptIncomplete, SupportedMech: init.MechTypes[i]}
	// The optimistic token belongs to the initiator's first mechanism.
	optimistic := init.MechToken
	if i != 0 {
		optimistic = nil
	}
	if isKrb {
		if init.MechListMIC != nil {
			return auth.Step{}, fmt.Errorf("%w: a Kerberos mechListMIC is not supported", auth.ErrMalformed)
		}
		if optimistic != nil {
			return m.acceptKerberos(ctx, r, conn, optimistic, resp)
		}
		conn.SetValue(m.scheme, h)
		reply, err := m.respReply(resp)
		return auth.Step{Reply: reply}, err
	}

	h.ntlm = m.s.ntlm.NewContext(m.binding(r))
	if optimistic == nil {
		// NTLM was not the initiator's first choice: its mechListMIC
		// must confirm the list (RFC 4178 section 5). The NEGOTIATE
		// comes in the next token.
		resp.State = spnego.RequestMIC
		conn.SetValue(m.scheme, h)
		reply, err := m.respReply(resp)
		return auth.Step{Reply: reply}, err
	}
	if ntlm.MessageType(optimistic) != ntlm.TypeNegotiate {
		return auth.Step{}, fmt.Errorf("%w: SPNEGO's NTLM token is not a NEGOTIATE", auth.ErrMalformed)
	}
	out, _, err := h.ntlm.Step(ctx, optimistic)
	if err != nil {
		return auth.Step{}, credentialError(err)
	}
	resp.ResponseToken = out
	conn.SetValue(m.scheme, h)
	reply, err := m.respReply(resp)
	return auth.Step{Reply: reply}, err
}

// acceptResp handles an initiator's NegTokenResp: the continuation of the
// connection's SPNEGO handshake.
func (m *Mechanism) acceptResp(ctx context.Context, r auth.Request, conn *auth.ConnState, token []byte) (auth.Step, error) {
	h := m.handshakeOf(conn)
	if h == nil || !h.spnego {
		return auth.Step{}, fmt.Errorf("%w: SPNEGO NegTokenResp without a NegTokenInit on this connection", auth.ErrMalformed)
	}
	resp, err := spnego.ParseResp(token)
	if err != nil {
		return auth.Step{}, fmt.Errorf("%w: %w", auth.ErrMalformed, err)
	}
	if resp.State == spnego.Reject {
		return auth.Step{}, fmt.Errorf("%w: the initiator rejected the negotiation", auth.ErrMalformed)
	}
	in := resp.ResponseToken
	if len(in) == 0 {
		return auth.Step{}, fmt.Errorf("%w: NegTokenResp without a responseToken", auth.ErrMalformed)
	}
	if h.kerberos {
		if resp.MechListMIC != nil {
			return auth.Step{}, fmt.Errorf("%w: a Kerberos mechListMIC is not supported", auth.ErrMalformed)
		}
		return m.acceptKerberos(ctx, r, conn, in, &spnego.NegTokenResp{})
	}

	switch ntlm.MessageType(in) {
	case ntlm.TypeNegotiate:
		out, _, err := h.ntlm.Step(ctx, in)
		if err != nil {
			return auth.Step{}, credentialError(err)
		}
		reply, err := m.respReply(&spnego.NegTokenResp{State: spnego.AcceptIncomplete, ResponseToken: out})
		return auth.Step{Reply: reply}, err
	case ntlm.TypeAuthenticate:
	default:
		return auth.Step{}, fmt.Errorf("%w: SPNEGO's NTLM token has message type %d", auth.ErrMalformed, ntlm.MessageType(in))
	}
	conn.SetValue(m.scheme, nil)
	sc, err := m.finishNTLM(ctx, r, h.ntlm, in)
	if err != nil {
		return auth.Step{}, err
	}
	out := &spnego.NegTokenResp{State: spnego.AcceptCompleted}
	// Some old initiators repeat the responseToken as the mechListMIC;
	// that is no MIC.
	if mic := resp.MechListMIC; len(mic) > 0 && string(mic) != string(in) {
		s := h.ntlm.Session()
		if err := s.Verify(h.mechTypes, mic); err != nil {
			return auth.Step{}, fmt.Errorf("%w: SPNEGO mechListMIC: %w", auth.ErrBadCredentials, err)
		}
		s.ResetRC4(false)
		// The initiator sent one, so it expects ours (MS-SPNG 3.3.5.1).
		out.MechListMIC = s.Sign(h.mechTypes)
		s.ResetRC4(true)
	}
	reply, err := m.respReply(out)
	if err != nil {
		return auth.Step{}, err
	}
	conn.Establish(sc)
	return auth.Step{Done: true, Result: sc.Result, Reply: reply}, nil
}
