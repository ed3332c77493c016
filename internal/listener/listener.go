package listener

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
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
	// AllowUnencrypted is Service AllowUnencrypted. When false, a request
	// on plain HTTP authenticated by its connection's security context
	// (Negotiate, Kerberos) must come encrypted with that context
	// (MS-WSMV 3.1.4.1.29.1), else it gets HTTP 500 unprocessed.
	// Per-request schemes decide for themselves (Basic refuses plain HTTP
	// unless its own AllowUnencrypted is set), anonymous Identify is
	// exempt, and HTTPS never needs encryption.
	AllowUnencrypted bool
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
