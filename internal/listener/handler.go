package listener

import (
	"context"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/psremote/psremote/auth"
	"github.com/psremote/psremote/auth/cbt"
	"github.com/psremote/psremote/auth/encrypt"
	"github.com/psremote/psremote/auth/kerberos"
	"github.com/psremote/psremote/auth/ntlm"
	"github.com/psremote/psremote/auth/throttle"
	"github.com/psremote/psremote/internal/service"
)

// encryptedOverhead bounds what message encryption adds to a request of
// at most max plaintext bytes: the MIME framing and security header of
// each part (one part for NTLM and Kerberos, one per 16 KiB for CredSSP,
// whose TLS records add their own bytes).
func encryptedOverhead(max int) int {
	return 4096 + (max/encrypt.CredSSPChunk+1)*512
}

// wwwAuthenticate is the header name as Windows (http.sys) spells it;
// net/http would canonicalise it to "Www-Authenticate". Header names are
// case-insensitive, but clients are not always written that way.
const wwwAuthenticate = "WWW-Authenticate"

type handler struct {
	srv    *Server
	ep     Endpoint
	secure bool
	scheme string
	cbt    []byte // tls-server-end-point channel bindings on HTTPS
}

// sealing is how a reply must be protected: with the connection's context
// and the protocol its request was encrypted with.
type sealing struct {
	wrapper  auth.Wrapper
	protocol string
}

// ServeHTTP runs one request through the rules of winrm-protocol.md 9 and
// test-peers.md: the size bound, anonymous Identify, authentication
// (per request, or by the connection's security context), the empty POST
// of encryption set-up and re-authentication, opening encrypted bodies and
// refusing plaintext where AllowUnencrypted forbids it, and sealing the
// reply of an encrypted request.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			// A bug, not bad input: log it loudly and answer 500.
			h.srv.logger.Error("panic serving request", "panic", v, "stack", string(debug.Stack()))
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusInternalServerError)
		}
	}()
	path := r.URL.Path
	anon := strings.EqualFold(path, anonIdentifyPath)
	if !anon && !strings.EqualFold(strings.Trim(path, "/"), h.ep.URLPrefix) {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	ct := r.Header.Get("Content-Type")
	protocol, _, _, encrypted := encrypt.ParseContentType(ct)
	max := h.srv.cfg.MaxEnvelopeSize
	limit := max
	if encrypted {
		limit += encryptedOverhead(max)
	}
	body, ok := h.readBody(w, r, limit)
	if !ok {
		return
	}

	conn, _ := r.Context().Value(connKey{}).(*auth.ConnState)
	if conn == nil {
		conn = &auth.ConnState{}
	}
	hdr := r.Header.Get("Authorization")
	clientIP := hostOnly(r.RemoteAddr)
	req := &service.Request{Body: body, ContentType: ct, Chunked: len(r.TransferEncoding) > 0,
		ClientIP: clientIP, Secure: h.secure, Endpoint: h.scheme + "://" + r.Host + "/" + h.ep.URLPrefix}

	if hdr == "" && len(body) == 0 {
		// An unauthenticated empty POST starts (re-)authentication:
		// pywinrm's and masterzen's encryption set-up send one, on an
		// authenticated connection too, and expect a 401 and a fresh
		// context.
		conn.Reset()
		h.challenge(w)
		return
	}
	anonIdentify := anon || strings.EqualFold(r.Header.Get("WSMANIDENTIFY"), "unauthenticated")
	if anonIdentify && hdr == "" && !encrypted {
		if !service.IsIdentify(body, ct) {
			h.challenge(w)
			return
		}
		h.write(w, r, h.srv.cfg.Service.Handle(r.Context(), req), nil)
		return
	}
	if anon && (encrypted || !service.IsIdentify(body, ct)) {
		// The anonymous path serves nothing but plaintext Identify.
		h.challenge(w)
		return
	}

	var res auth.Result
	if hdr == "" {
		// Authentication belongs to the connection (pywinrm sends
		// Authorization only on the handshake).
		sc := conn.Context()
		if sc == nil {
			h.challenge(w)
			return
		}
		res = sc.Result
	} else {
		var ok bool
		if res, ok = h.authenticate(w, r, conn); !ok {
			return
		}
		if len(body) == 0 {
			// An authenticated empty POST completes a connection-level
			// handshake (message encryption set-up); nothing to process.
			w.Header().Set("Content-Length", "0")
			w.WriteHeader(http.StatusOK)
			return
		}
	}

	var seal *sealing
	if encrypted {
		sc := conn.Context()
		if sc == nil || sc.Wrapper == nil {
			// Nothing to decrypt with (the context was lost, or the
			// scheme cannot encrypt): the client must authenticate.
			conn.Reset()
			h.challenge(w)
			return
		}
		if !sc.AllowsProtocol(protocol) {
			h.srv.logger.Info("encrypted request refused", "client", clientIP, "reason", "protocol-not-of-this-context", "protocol", protocol)
			w.Header().Set("Content-Length", "0")
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		plain, orig, err := encrypt.Open(sc.Wrapper, ct, body, max)
		if err != nil {
			h.refuseEncrypted(w, conn, clientIP, err)
			return
		}
		req.Body, req.ContentType = plain, orig
		seal = &sealing{wrapper: sc.Wrapper, protocol: protocol}
	} else if !h.secure && !h.srv.cfg.AllowUnencrypted && conn.Context() != nil {
		// MS-WSMV 3.1.4.1.29.1: with AllowUnencrypted false no SOAP
		// travels in clear text. Windows answers HTTP 500 without
		// processing the request (pywinrm issue 129, winrm4j issue 151,
		// Ansible issue 33385). Per-request schemes (Basic) refuse plain
		// HTTP themselves.
		h.srv.logger.Info("plaintext request refused", "client", clientIP, "reason", "AllowUnencrypted-false", "mechanism", res.Mechanism)
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	req.Auth = &res
	h.write(w, r, h.srv.cfg.Service.Handle(r.Context(), req), seal)
}

// readBody reads the request body, bounded by limit bytes and by
// MaxPacketRetrieval. On failure it has written the response.
func (h *handler) readBody(w http.ResponseWriter, r *http.Request, limit int) ([]byte, bool) {
	if r.ContentLength > int64(limit) {
		// [MS-WSMV] 3.1.4.1.20: refuse without processing.
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return nil, false
	}
	if d := h.srv.cfg.MaxPacketRetrieval; d > 0 {
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(d))
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(limit)))
	if err != nil {
		w.Header().Set("Connection", "close")
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			return nil, false
		}
		// Body not received in time (MaxPacketRetrievalTimeSeconds) or
		// the connection broke.
		w.WriteHeader(http.StatusInternalServerError)
		return nil, false
	}
	// Clear the body deadline so a long-poll reply is not cut short.
	_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
	return body, true
}

// refuseEncrypted answers an encrypted body that could not be opened:
// 413 when its plaintext is too large, else 400 (tampered, replayed or
// out-of-order, or malformed). The context's sequence state can no
// longer be trusted, so the connection's context is dropped and the
// connection closed; the client authenticates again.
func (h *handler) refuseEncrypted(w http.ResponseWriter, conn *auth.ConnState, clientIP string, err error) {
	conn.Reset()
	w.Header().Set("Connection", "close")
	w.Header().Set("Content-Length", "0")
	if errors.Is(err, encrypt.ErrTooLarge) {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	h.srv.logger.Info("encrypted request refused", "client", clientIP, "reason", encryptedReason(err))
	w.WriteHeader(http.StatusBadRequest)
}

// encryptedReason names the kind of failure to open an encrypted body,
// for logs.
func encryptedReason(err error) string {
	switch {
	case errors.Is(err, ntlm.ErrSequence), errors.Is(err, kerberos.ErrSequence):
		return "sequence-number (replayed or reordered)"
	case errors.Is(err, ntlm.ErrIntegrity), errors.Is(err, kerberos.ErrIntegrity), errors.Is(err, ntlm.ErrSessionBroken):
		return "integrity (tampered)"
	case errors.Is(err, encrypt.ErrLength):
		return "length-mismatch"
	case errors.Is(err, encrypt.ErrProtocol):
		return "unknown-protocol"
	}
	return "malformed"
}

// authenticate runs the Authorization header through its mechanism. On
// failure, or for an unfinished handshake, it has written the 401; on
// success it has set the final WWW-Authenticate token, if any.
func (h *handler) authenticate(w http.ResponseWriter, r *http.Request, conn *auth.ConnState) (auth.Result, bool) {
	hdr := r.Header.Get("Authorization")
	scheme, creds, _ := strings.Cut(hdr, " ")
	var mech auth.Mechanism
	for _, m := range h.srv.cfg.Mechanisms {
		if strings.EqualFold(m.Scheme(), scheme) {
			mech = m
			break
		}
	}
	if mech == nil {
		h.challenge(w)
		return auth.Result{}, false
	}
	addr := clientAddr(r.RemoteAddr)
	var account string
	gate := func(ctx context.Context, name string) error {
		account = name
		if h.srv.cfg.Limiter == nil || !addr.IsValid() {
			return nil
		}
		return h.srv.cfg.Limiter.Wait(ctx, addr, name)
	}
	step, err := mech.Accept(r.Context(), auth.Request{Credentials: creds, Secure: h.secure, TLS: r.TLS,
		RemoteAddr: r.RemoteAddr, Conn: conn, ChannelBindings: h.cbt, Gate: gate})
	if err != nil {
		if lim := h.srv.cfg.Limiter; lim != nil && addr.IsValid() && account != "" &&
			errors.Is(err, auth.ErrBadCredentials) && !errors.Is(err, throttle.ErrThrottled) {
			lim.Failure(addr, account)
		}
		args := []any{"scheme", mech.Scheme(), "client", hostOnly(r.RemoteAddr), "reason", reasonClass(err)}
		if explainable(err) {
			// These texts say what is wrong (clock skew, which key is
			// missing, which principal has no user) and carry no secret.
			args = append(args, "detail", err.Error())
		}
		h.srv.logger.Info("authentication failed", args...)
		h.challenge(w)
		return auth.Result{}, false
	}
	if step.Done && account != "" && h.srv.cfg.Limiter != nil && addr.IsValid() {
		h.srv.cfg.Limiter.Success(addr, account)
	}
	if !step.Done {
		// A continuation leg: only this scheme's token.
		w.Header()[wwwAuthenticate] = []string{step.Reply}
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusUnauthorized)
		return auth.Result{}, false
	}
	if step.Reply != "" {
		w.Header()[wwwAuthenticate] = []string{step.Reply}
	}
	return step.Result, true
}

// reasonClass names the kind of an authentication failure for logs,
// never its secret-bearing detail.
func reasonClass(err error) string {
	switch {
	case errors.Is(err, throttle.ErrThrottled):
		return "throttled"
	case errors.Is(err, cbt.ErrMissing), errors.Is(err, cbt.ErrMismatch):
		return "channel-binding"
	case errors.Is(err, kerberos.ErrClockSkew):
		return "clock-skew"
	case errors.Is(err, kerberos.ErrReplay):
		return "replay"
	case errors.Is(err, kerberos.ErrNoKey):
		return "no-keytab-key"
	case errors.Is(err, kerberos.ErrUnmapped):
		return "unmapped-principal"
	case errors.Is(err, ntlm.ErrMIC):
		return "ntlm-mic-mismatch"
	case errors.Is(err, auth.ErrBadCredentials):
		return "bad-credentials"
	case errors.Is(err, auth.ErrMalformed):
		return "malformed"
	case errors.Is(err, auth.ErrNotPermitted):
		return "not-permitted-on-transport"
	}
	return "source-failure"
}

// explainable reports whether an authentication error's text helps an
// administrator and is safe to log: Kerberos configuration and clock
// problems and channel-binding failures.
func explainable(err error) bool {
	return errors.Is(err, kerberos.ErrClockSkew) || errors.Is(err, kerberos.ErrNoKey) ||
		errors.Is(err, kerberos.ErrUnmapped) || errors.Is(err, cbt.ErrMissing) || errors.Is(err, cbt.ErrMismatch)
}

// challenge writes a 401 with one WWW-Authenticate per scheme offered on
// this transport, in the order of Config.Mechanisms (WinRM's: Negotiate,
// Kerberos, Basic).
func (h *handler) challenge(w http.ResponseWriter) {
	var challenges []string
	for _, m := range h.srv.cfg.Mechanisms {
		if v, ok := m.Challenge(h.secure); ok {
			challenges = append(challenges, v)
		}
	}
	if len(challenges) > 0 {
		w.Header()[wwwAuthenticate] = challenges
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusUnauthorized)
}

// write sends a service reply, sealed when seal is set, and tells the
// service whether it arrived.
func (h *handler) write(w http.ResponseWriter, r *http.Request, rep *service.Reply, seal *sealing) {
	defer rep.Done()
	if rep.Status == http.StatusUnauthorized {
		h.challenge(w)
		if rep.Commit != nil {
			rep.Commit(false)
		}
		return
	}
	body, ct := rep.Body, rep.ContentType
	if seal != nil && len(body) > 0 {
		var err error
		body, ct, err = encrypt.Seal(seal.wrapper, seal.protocol, charsetOf(ct), body)
		if err != nil {
			h.srv.logger.Error("sealing a reply failed", "err", err)
			w.Header().Set("Connection", "close")
			w.Header().Set("Content-Length", "0")
			w.WriteHeader(http.StatusInternalServerError)
			if rep.Commit != nil {
				rep.Commit(false)
			}
			return
		}
	}
	if ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(rep.Status)
	_, err := w.Write(body)
	if err == nil {
		err = http.NewResponseController(w).Flush()
	}
	if err == nil {
		err = r.Context().Err()
	}
	if rep.Commit != nil {
		rep.Commit(err == nil)
	}
}

// charsetOf returns the charset parameter of a media type, "UTF-8" when
// it has none.
func charsetOf(ct string) string {
	if _, params, err := mime.ParseMediaType(ct); err == nil && params["charset"] != "" {
		return params["charset"]
	}
	return "UTF-8"
}

// clientAddr parses the client's IP address; the zero Addr if it cannot.
func clientAddr(remote string) netip.Addr {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr()
}

func hostOnly(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}
