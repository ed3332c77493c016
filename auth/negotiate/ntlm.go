package negotiate

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/psremote/psremote/auth"
	"github.com/psremote/psremote/auth/ntlm"
)

// call carries, through the context given to ntlm.ServerContext.Step, what
// the account-source chain needs from the request and what it learns.
type call struct {
	gate func(ctx context.Context, account string) error
	// Set by the chain on success.
	source, account string
}

type callKey struct{}

// withCall returns ctx carrying a fresh call record for r.
func withCall(ctx context.Context, r auth.Request) (context.Context, *call) {
	c := &call{gate: r.Gate}
	return context.WithValue(ctx, callKey{}, c), c
}

// AccountName returns the account-store name for an NTLM user name: the
// part before an '@' (a user principal name arrives whole in the user
// field, with an empty domain). "DOMAIN\user" and ".\user" need nothing,
// since NTLM sends the domain in its own field.
func AccountName(user string) string {
	if i := strings.LastIndexByte(user, '\\'); i >= 0 {
		user = user[i+1:]
	}
	if name, _, ok := strings.Cut(user, "@"); ok && name != "" {
		return name
	}
	return user
}

// chain is the ntlm.Validator of the Negotiate mechanism: it calls the
// throttling gate with the claimed account, then asks each source in
// order.
type chain struct{ s *shared }

// Validate implements ntlm.Validator.
func (v chain) Validate(ctx context.Context, user, domain string, chal [8]byte, resp []byte) ([16]byte, string, error) {
	c, _ := ctx.Value(callKey{}).(*call)
	if c != nil && c.gate != nil {
		if err := c.gate(ctx, AccountName(user)); err != nil {
			return [16]byte{}, "", fmt.Errorf("%w: %w", ntlm.ErrBadCredentials, err)
		}
	}
	var sourceErr error
	for _, src := range v.s.sources {
		key, account, err := src.Validator.Validate(ctx, user, domain, chal, resp)
		if err == nil {
			if c != nil {
				c.source = src.Name
				if c.account == "" {
					c.account = account
				}
			}
			return key, account, nil
		}
		if c != nil {
			c.account = ""
		}
		if !errors.Is(err, ntlm.ErrBadCredentials) && sourceErr == nil {
			sourceErr = fmt.Errorf("negotiate: NTLM source %s: %w", src.Name, err)
		}
		if ctx.Err() != nil {
			return [16]byte{}, "", ctx.Err()
		}
	}
	if sourceErr != nil {
		return [16]byte{}, "", sourceErr
	}
	return [16]byte{}, "", fmt.Errorf("%w: user %q", ntlm.ErrBadCredentials, user)
}

// StoreLookup returns the NT hash of an account and its canonical name, or
// an error wrapping auth.ErrBadCredentials for an unknown account; the
// account store's NTHash method has this signature.
type StoreLookup func(ctx context.Context, name string) (hash [16]byte, account string, err error)

// StoreSource returns the NTLM source "store": NTLMv2 responses checked
// against the NT hashes of the psremote account store (see
// ntlm.HashValidator, which tries the domain as sent, upper-cased and
// empty). The user is looked up by [AccountName]; the account it
// authenticates as is the store's spelling of the name.
func StoreSource(lookup StoreLookup) NTLMSource {
	return NTLMSource{Name: "store", Validator: ntlm.HashValidator{
		Lookup: func(ctx context.Context, user string) ([16]byte, error) {
			h, account, err := lookup(ctx, AccountName(user))
			if err != nil {
				if errors.Is(err, auth.ErrBadCredentials) {
					return h, fmt.Errorf("%w: %w", ntlm.ErrBadCredentials, err)
				}
				return h, err
			}
			if c, _ := ctx.Value(callKey{}).(*call); c != nil {
				c.account = account
			}
			return h, nil
		},
	}}
}

// acceptRawNTLM handles an NTLMSSP message sent without SPNEGO.
func (m *Mechanism) acceptRawNTLM(ctx context.Context, r auth.Request, conn *auth.ConnState, token []byte) (auth.Step, error) {
	if !m.OffersNTLM() {
		return auth.Step{}, fmt.Errorf("%w: NTLM is not offered", auth.ErrNotPermitted)
	}
	switch ntlm.MessageType(token) {
	case ntlm.TypeNegotiate:
		// A NEGOTIATE starts over, whatever the connection had.
		conn.Establish(nil)
		h := &handshake{ntlm: m.s.ntlm.NewContext(m.binding(r))}
		out, _, err := h.ntlm.Step(ctx, token)
		if err != nil {
			return auth.Step{}, credentialError(err)
		}
		conn.SetValue(m.scheme, h)
		return auth.Step{Reply: m.reply(out)}, nil
	case ntlm.TypeAuthenticate:
		h := m.handshakeOf(conn)
		conn.SetValue(m.scheme, nil)
		if h == nil || h.spnego || h.kerberos || h.ntlm == nil {
			return auth.Step{}, fmt.Errorf("%w: NTLM AUTHENTICATE without a NEGOTIATE on this connection", auth.ErrMalformed)
		}
		sc, err := m.finishNTLM(ctx, r, h.ntlm, token)
		if err != nil {
			return auth.Step{}, err
		}
		conn.Establish(sc)
		return auth.Step{Done: true, Result: sc.Result}, nil
	}
	return auth.Step{}, fmt.Errorf("%w: NTLM message type %d", auth.ErrMalformed, ntlm.MessageType(token))
}

// binding returns the NTLM channel binding of the request's connection.
func (m *Mechanism) binding(r auth.Request) ntlm.ChannelBinding {
	return ntlm.ChannelBinding{Policy: m.s.cfg.CBT, Secure: r.Secure, AppData: r.ChannelBindings}
}

// finishNTLM verifies the AUTHENTICATE and builds the security context.
func (m *Mechanism) finishNTLM(ctx context.Context, r auth.Request, nc *ntlm.ServerContext, token []byte) (*auth.SecurityContext, error) {
	if ntlm.MessageType(token) != ntlm.TypeAuthenticate {
		return nil, fmt.Errorf("%w: expected an NTLM AUTHENTICATE", auth.ErrMalformed)
	}
	cctx, c := withCall(ctx, r)
	_, done, err := nc.Step(cctx, token)
	if err != nil {
		return nil, credentialError(err)
	}
	if !done || nc.Session() == nil {
		return nil, fmt.Errorf("%w: NTLM did not complete", auth.ErrMalformed)
	}
	account := c.account
	if account == "" {
		account = nc.User()
	}
	u, err := m.s.cfg.Resolve(account, c.source)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", auth.ErrBadCredentials, account, err)
	}
	sc := &auth.SecurityContext{Result: auth.Result{Principal: account, User: u, Mechanism: MechNTLM}}
	if s := nc.Session(); s.Sealing() {
		sc.Wrapper = s
		sc.Protocols = protocolsFor(m.scheme, false)
	}
	return sc, nil
}
