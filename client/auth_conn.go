package client

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/psremote/psremote/auth/cbt"
	"github.com/psremote/psremote/auth/encrypt"
)

// This file runs the connection-oriented mechanisms on the transport's
// connections: the handshake on a new connection, then the sealing of
// every request and the opening of every reply on plain HTTP
// (winrm-protocol.md 9.3, 9.5, 9.6).

// connSec is a connection's established security context.
type connSec struct {
	// wrap seals bodies on plain HTTP; nil on HTTPS, where TLS protects
	// the messages.
	wrap encrypt.Wrapper
}

// errContextLost means a server answered 401 on a connection it had
// authenticated: it dropped the security context (restart, idle
// reclaim). The request is retried once on a new connection.
var errContextLost = errors.New("client: the server dropped the connection's authentication")

// errSwitched means the mechanism changed (Auto chose Basic) and the
// request is to be sent again.
var errSwitched = errors.New("client: switching to Basic authentication")

// maxTokenB64 bounds the base64 text of a Negotiate token in a
// WWW-Authenticate header (a 64 KiB token, Windows' MaxTokenSize).
const maxTokenB64 = (64<<10 + 2) / 3 * 4

// send sends r on pc: after the handshake when pc is new to a
// connection-oriented mechanism, sealed when its context seals. It
// reports whether pc may be kept.
func (t *transport) send(ctx context.Context, pc *pconn, r *request) (*response, bool, error) {
	var connAuth bool
	var hdr string
	if t.mech != nil && !r.anonymous {
		hdr = t.mech.header()
		connAuth = hdr == ""
	}
	established := pc.sec != nil
	if connAuth && !established {
		resp, keep, err := t.handshake(ctx, pc, r)
		if err != nil || resp != nil {
			return resp, keep, err
		}
	}
	body, ctype := r.body, r.contentType
	var wrap encrypt.Wrapper
	if connAuth {
		wrap = pc.sec.wrap
	}
	if wrap != nil {
		var err error
		body, ctype, err = encrypt.Seal(wrap, encrypt.ProtocolSPNEGO, charsetOf(r.contentType), r.body)
		if err != nil {
			return nil, false, fmt.Errorf("client: sealing the request: %w", err)
		}
	}
	headers := make([]string, 0, len(r.headers)+2)
	if ctype != "" {
		headers = append(headers, "Content-Type: "+ctype)
	}
	headers = append(headers, r.headers...)
	if hdr != "" {
		headers = append(headers, hdr)
	}
	resp, keep, err := t.exchange(pc, body, headers, r.maxBody)
	if err != nil {
		return nil, false, err
	}
	if connAuth && resp.status == http.StatusUnauthorized {
		if established {
			return nil, false, errContextLost
		}
		return nil, false, fmt.Errorf("%w: the server refused the request right after authenticating the connection", ErrUnauthorized)
	}
	if wrap != nil {
		if err := openReply(wrap, resp, r.maxBody); err != nil {
			return nil, false, err
		}
	}
	return resp, keep, nil
}

// handshake authenticates a new connection. On HTTPS a mechanism may let
// the request ride the last leg; the reply to it is then returned.
// Otherwise every leg is an empty POST, as pywinrm's encryption set-up
// does, and the returned response is nil.
func (t *transport) handshake(ctx context.Context, pc *pconn, r *request) (*response, bool, error) {
	var bindings []byte
	if tc, ok := pc.c.(*tls.Conn); ok {
		if certs := tc.ConnectionState().PeerCertificates; len(certs) > 0 {
			bindings = cbt.TLSServerEndPoint(certs[0])
		}
	}
	hs, err := t.mech.begin(ctx, bindings)
	if err != nil {
		return nil, false, err
	}
	resp, keep, err := t.runHandshake(pc, hs, r)
	hs.done(err)
	return resp, keep, err
}

func (t *transport) runHandshake(pc *pconn, hs handshake, r *request) (*response, bool, error) {
	https := t.scheme == "https"
	var in []byte
	for leg := 1; leg <= maxLegs; leg++ {
		out, last, err := hs.step(in)
		if err != nil {
			return nil, false, err
		}
		carry := last && https && hs.bodyOnLast()
		headers := []string{"Authorization: Negotiate " + base64.StdEncoding.EncodeToString(out)}
		var body []byte
		if carry {
			body = r.body
			if r.contentType != "" {
				headers = append(headers, "Content-Type: "+r.contentType)
			}
			headers = append(headers, r.headers...)
		}
		resp, keep, err := t.exchange(pc, body, headers, r.maxBody)
		if err != nil {
			return nil, false, err
		}
		tok, err := negotiateToken(resp.authHeaders)
		if err != nil {
			return nil, false, err
		}
		if resp.status == http.StatusUnauthorized {
			if leg == 1 && tok == nil && offers(resp.authHeaders, "Basic") && !offers(resp.authHeaders, "Negotiate") {
				if sw, ok := t.mech.(interface{ switchToBasic() error }); ok {
					if err := sw.switchToBasic(); err != nil {
						return nil, false, fmt.Errorf("%w: the server offers only Basic, and %w", ErrUnauthorized, err)
					}
					return nil, keep, errSwitched
				}
			}
			if last || tok == nil {
				return nil, false, fmt.Errorf("%w: %s was refused%s", ErrUnauthorized, hs, offered(resp.authHeaders))
			}
			if !keep {
				return nil, false, fmt.Errorf("client: %s: the server closed the connection during the handshake", hs)
			}
			in = tok
			continue
		}
		if !last {
			return nil, false, fmt.Errorf("client: %s: the server answered HTTP %d before the handshake finished", hs, resp.status)
		}
		if tok == nil && (resp.status < 200 || resp.status > 299) && !carry {
			return nil, false, &HTTPError{Status: resp.status, Body: string(trimBody(resp.body))}
		}
		wrap, err := hs.finish(tok)
		if err != nil {
			return nil, false, err
		}
		if https {
			wrap = nil
		} else if wrap == nil {
			return nil, false, fmt.Errorf("client: %s: the server did not agree to message encryption, which plain HTTP requires", hs)
		}
		pc.sec = &connSec{wrap: wrap}
		if carry {
			return resp, keep, nil
		}
		if !keep {
			return nil, false, fmt.Errorf("client: %s: the server closed the connection it had just authenticated", hs)
		}
		return nil, true, nil
	}
	return nil, false, fmt.Errorf("client: %s: more than %d handshake legs", hs, maxLegs)
}

// negotiateToken returns the token of the first "Negotiate <base64>"
// challenge, nil when there is none.
func negotiateToken(challenges []string) ([]byte, error) {
	for _, c := range challenges {
		scheme, rest, _ := strings.Cut(strings.TrimSpace(c), " ")
		if !strings.EqualFold(scheme, "Negotiate") {
			continue
		}
		rest = strings.TrimSpace(rest)
		if rest == "" {
			continue
		}
		if len(rest) > maxTokenB64 {
			return nil, errors.New("client: Negotiate token in WWW-Authenticate is too large")
		}
		tok, err := base64.StdEncoding.DecodeString(rest)
		if err != nil || len(tok) == 0 {
			return nil, errors.New("client: malformed Negotiate token in WWW-Authenticate")
		}
		return tok, nil
	}
	return nil, nil
}

// offers reports whether a 401's challenges include scheme.
func offers(challenges []string, scheme string) bool {
	for _, c := range challenges {
		name, _, _ := strings.Cut(strings.TrimSpace(c), " ")
		if strings.EqualFold(name, scheme) {
			return true
		}
	}
	return false
}

// offered lists the schemes of a 401's challenges for an error message.
func offered(challenges []string) string {
	var names []string
	for _, c := range challenges {
		scheme, _, _ := strings.Cut(strings.TrimSpace(c), " ")
		if scheme != "" && len(names) < 8 {
			names = append(names, truncate(scheme, 32))
		}
	}
	if len(names) == 0 {
		return " (the server offers no authentication scheme)"
	}
	return " (the server offers " + strings.Join(names, ", ") + ")"
}

// openReply replaces the body of a reply to a sealed request by its
// plaintext. A success or SOAP-fault reply must be sealed: anyone on the
// path could have written a plaintext one.
func openReply(w encrypt.Wrapper, resp *response, maxBody int) error {
	if _, _, _, ok := encrypt.ParseContentType(resp.contentType); ok {
		plain, otype, err := encrypt.Open(w, resp.contentType, resp.body, maxBody)
		if err != nil {
			return fmt.Errorf("client: encrypted reply: %w", err)
		}
		resp.body, resp.contentType = plain, otype
		return nil
	}
	if resp.status/100 == 2 || resp.status == http.StatusInternalServerError {
		return fmt.Errorf("client: the server sent an unencrypted reply (HTTP %d) to an encrypted request", resp.status)
	}
	return nil
}

// charsetOf returns the charset parameter of a SOAP content type,
// "UTF-8" when absent.
func charsetOf(ct string) string {
	for _, p := range strings.Split(ct, ";") {
		if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(k, "charset") {
			return strings.Trim(v, `"`)
		}
	}
	return "UTF-8"
}

func trimBody(b []byte) []byte {
	return b[:min(len(b), 512)]
}
