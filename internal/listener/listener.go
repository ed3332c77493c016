package listener

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/psremote/psremote/auth"
	"github.com/psremote/psremote/auth/cbt"
	"github.com/psremote/psremote/auth/throttle"
	"github.com/psremote/psremote/internal/service"
)

// HTTP-level limits.
const (
	// maxHeaderBytes bounds request headers (Negotiate tokens need a few KB).
	maxHeaderBytes = 64 << 10
	// readHeaderTimeout bounds how long a client may take to send headers.
	readHeaderTimeout = 30 * time.Second
	// idleTimeout closes keep-alive connections nobody uses.
	idleTimeout = 5 * time.Minute
	// anonIdentifyPath is the DSP0226 anonymous Identify path.
	anonIdentifyPath = "/wsman-anon/identify"
)

// Endpoint is one listener to open.
type Endpoint struct {
	// Transport is "HTTP" or "HTTPS".
	Transport string
	// Addr is host:port to bind ("" host for all addresses).
	Addr string
	// URLPrefix is the path without slashes, e.g. "wsman".
	URLPrefix string
	// Certificate is required for HTTPS.
	Certificate *tls.Certificate
}

// Config configures a [Server].
type Config struct {
	Endpoints []Endpoint
	// Mechanisms are the enabled authentication schemes, in the order
	// their challenges are advertised.
	Mechanisms []auth.Mechanism
	// MaxEnvelopeSize bounds request bodies in bytes (HTTP 413 above).
	MaxEnvelopeSize int
	// MaxPacketRetrieval bounds how long a request body may take.
	MaxPacketRetrieval time.Duration
	// Service handles SOAP requests.
	Service *service.Service
	// ClientCAs, when set, makes HTTPS listeners ask for a client
	// certificate (certificate authentication) and verify it against
	// these roots; a client may still connect without one.
	ClientCAs *x509.CertPool
	// Limiter, when set, slows down failed logins per client address and
	// account.
	Limiter *throttle.Limiter
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

// Bound describes an open listener.
type Bound struct {
	Transport string
	URL       string
	// Thumbprint and Fingerprint256 describe the HTTPS certificate.
	Thumbprint, Fingerprint256 string
}

// Server serves WS-Management over HTTP and HTTPS listeners.
type Server struct {
	cfg    Config
	logger *slog.Logger

	mu      sync.Mutex
	servers []*http.Server // guarded by mu
	bound   []Bound        // guarded by mu
	wg      sync.WaitGroup // one per Serve goroutine
	errc    chan error
}

// connKey carries the per-connection security state in request contexts.
type connKey struct{}

// New returns a server; call Start to open its listeners.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Server{cfg: cfg, logger: cfg.Logger, errc: make(chan error, len(cfg.Endpoints))}
}

// Start binds every endpoint and starts serving. On error nothing stays
// open.
func (s *Server) Start() ([]Bound, error) {
	var lns []net.Listener
	fail := func(err error) ([]Bound, error) {
		for _, l := range lns {
			l.Close()
		}
		return nil, err
	}
	for _, ep := range s.cfg.Endpoints {
		l, err := net.Listen("tcp", ep.Addr)
		if err != nil {
			return fail(fmt.Errorf("listener: %s %s: %w", ep.Transport, ep.Addr, err))
		}
		lns = append(lns, l)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, ep := range s.cfg.Endpoints {
		l := lns[i]
		secure := ep.Transport == "HTTPS"
		b := Bound{Transport: ep.Transport}
		scheme := "http"
		var cbtData []byte
		if secure {
			if ep.Certificate == nil {
				return fail(fmt.Errorf("listener: HTTPS %s has no certificate", ep.Addr))
			}
			scheme = "https"
			b.Thumbprint = Thumbprint(ep.Certificate.Certificate[0])
			b.Fingerprint256 = Fingerprint256(ep.Certificate.Certificate[0])
			tc := &tls.Config{
				Certificates: []tls.Certificate{*ep.Certificate},
				MinVersion:   tls.VersionTLS12,
				NextProtos:   []string{"http/1.1"},
			}
			if s.cfg.ClientCAs != nil {
				tc.ClientAuth = tls.VerifyClientCertIfGiven
				tc.ClientCAs = s.cfg.ClientCAs
			}
			l = tls.NewListener(l, tc)
			leaf, err := x509.ParseCertificate(ep.Certificate.Certificate[0])
			if err != nil {
				return fail(fmt.Errorf("listener: HTTPS %s: certificate: %w", ep.Addr, err))
			}
			cbtData = cbt.TLSServerEndPoint(leaf)
		}
		b.URL = fmt.Sprintf("%s://%s/%s", scheme, l.Addr().String(), ep.URLPrefix)
		h := &handler{srv: s, ep: ep, secure: secure, scheme: scheme, cbt: cbtData}
		hs := &http.Server{
			Handler:           h,
			ReadHeaderTimeout: readHeaderTimeout,
			IdleTimeout:       idleTimeout,
			MaxHeaderBytes:    maxHeaderBytes,
			ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelDebug),
			ConnContext: func(ctx context.Context, c net.Conn) context.Context {
				return context.WithValue(ctx, connKey{}, &auth.ConnState{})
			},
			// HTTP/2 is not part of WS-Management; keep HTTP/1.1 only.
			TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		}
		s.servers = append(s.servers, hs)
		s.bound = append(s.bound, b)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := hs.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.errc <- fmt.Errorf("listener: %s: %w", b.URL, err)
			}
		}()
	}
	return append([]Bound(nil), s.bound...), nil
}

// Err delivers the first fatal serving error.
func (s *Server) Err() <-chan error { return s.errc }

// Shutdown stops accepting connections and waits for in-flight requests
// to finish or ctx to end, then closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	servers := append([]*http.Server(nil), s.servers...)
	s.mu.Unlock()
	var (
		errMu sync.Mutex
		errs  []error
		wg    sync.WaitGroup
	)
	for _, hs := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := hs.Shutdown(ctx); err != nil {
				hs.Close()
				errMu.Lock()
				errs = append(errs, err)
				errMu.Unlock()
			}
		}()
	}
	wg.Wait()
	s.wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("listener: shutdown: %w", errors.Join(errs...))
	}
	return nil
}

type handler struct {
	srv    *Server
	ep     Endpoint
	secure bool
	scheme string
	cbt    []byte // tls-server-end-point channel bindings on HTTPS
}

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
	max := h.srv.cfg.MaxEnvelopeSize
	if r.ContentLength > int64(max) {
		// [MS-WSMV] 3.1.4.1.20: refuse without processing.
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	if d := h.srv.cfg.MaxPacketRetrieval; d > 0 {
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(d))
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(max)))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			return
		}
		// Body not received in time (MaxPacketRetrievalTimeSeconds) or
		// the connection broke.
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	// Clear the body deadline so a long-poll reply is not cut short.
	_ = http.NewResponseController(w).SetReadDeadline(time.Time{})

	ct := r.Header.Get("Content-Type")
	clientIP := hostOnly(r.RemoteAddr)
	req := &service.Request{Body: body, ContentType: ct, Chunked: len(r.TransferEncoding) > 0,
		ClientIP: clientIP, Secure: h.secure, Endpoint: h.scheme + "://" + r.Host + "/" + h.ep.URLPrefix}

	anonIdentify := anon || strings.EqualFold(r.Header.Get("WSMANIDENTIFY"), "unauthenticated")
	if anonIdentify && r.Header.Get("Authorization") == "" {
		if !service.IsIdentify(body, ct) {
			h.challenge(w, nil)
			return
		}
		h.write(w, r, h.srv.cfg.Service.Handle(r.Context(), req))
		return
	}
	if anon {
		// The anonymous path serves nothing but Identify.
		if !service.IsIdentify(body, ct) {
			h.challenge(w, nil)
			return
		}
	}

	res, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	if len(body) == 0 {
		// An authenticated empty POST sets up a connection-level context
		// (message encryption handshakes); there is nothing to process.
		w.WriteHeader(http.StatusOK)
		return
	}
	req.Auth = &res
	h.write(w, r, h.srv.cfg.Service.Handle(r.Context(), req))
}

// authenticate runs the Authorization header through its mechanism. On
// failure it has written the 401.
func (h *handler) authenticate(w http.ResponseWriter, r *http.Request) (auth.Result, bool) {
	conn, _ := r.Context().Value(connKey{}).(*auth.ConnState)
	if conn == nil {
		conn = &auth.ConnState{}
	}
	hdr := r.Header.Get("Authorization")
	if hdr == "" {
		h.challenge(w, nil)
		return auth.Result{}, false
	}
	scheme, creds, _ := strings.Cut(hdr, " ")
	var mech auth.Mechanism
	for _, m := range h.srv.cfg.Mechanisms {
		if strings.EqualFold(m.Scheme(), scheme) {
			mech = m
			break
		}
	}
	if mech == nil {
		h.challenge(w, nil)
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
		h.srv.logger.Info("authentication failed", "scheme", mech.Scheme(), "client", hostOnly(r.RemoteAddr), "reason", reasonClass(err))
		h.challenge(w, nil)
		return auth.Result{}, false
	}
	if step.Done && account != "" && h.srv.cfg.Limiter != nil && addr.IsValid() {
		h.srv.cfg.Limiter.Success(addr, account)
	}
	if !step.Done {
		w.Header().Set("WWW-Authenticate", step.Reply)
		w.WriteHeader(http.StatusUnauthorized)
		return auth.Result{}, false
	}
	if step.Reply != "" {
		w.Header().Set("WWW-Authenticate", step.Reply)
	}
	return step.Result, true
}

// reasonClass names the kind of an authentication failure for logs,
// never its secret-bearing detail.
func reasonClass(err error) string {
	switch {
	case errors.Is(err, throttle.ErrThrottled):
		return "throttled"
	case errors.Is(err, auth.ErrBadCredentials):
		return "bad-credentials"
	case errors.Is(err, auth.ErrMalformed):
		return "malformed"
	case errors.Is(err, auth.ErrNotPermitted):
		return "not-permitted-on-transport"
	}
	return "source-failure"
}

// challenge writes a 401 with one WWW-Authenticate per scheme offered on
// this transport, in WinRM's order.
func (h *handler) challenge(w http.ResponseWriter, _ error) {
	for _, m := range h.srv.cfg.Mechanisms {
		if v, ok := m.Challenge(h.secure); ok {
			w.Header().Add("WWW-Authenticate", v)
		}
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusUnauthorized)
}

// write sends a service reply and tells the service whether it arrived.
func (h *handler) write(w http.ResponseWriter, r *http.Request, rep *service.Reply) {
	defer rep.Done()
	if rep.Status == http.StatusUnauthorized {
		h.challenge(w, nil)
		if rep.Commit != nil {
			rep.Commit(false)
		}
		return
	}
	if rep.ContentType != "" {
		w.Header().Set("Content-Type", rep.ContentType)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(rep.Body)))
	w.WriteHeader(rep.Status)
	_, err := w.Write(rep.Body)
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
