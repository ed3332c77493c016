package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/psremote/psremote/wsman"
)

// Defaults for [Config].
const (
	DefaultConnectTimeout   = 10 * time.Second
	DefaultOperationTimeout = 20 * time.Second
	// DefaultNetworkDelay is added to the operation timeout to get the
	// HTTP read timeout, as WinRM's client NetworkDelayms (5000).
	DefaultNetworkDelay = 5 * time.Second
	// DefaultMaxEnvelopeSize is what Windows 8 and later clients ask for.
	DefaultMaxEnvelopeSize = 512000
	// maxReplyBytes bounds a reply body read from the server.
	maxReplyBytes = 64 << 20
	// soapContentType is the type of every request envelope.
	soapContentType = "application/soap+xml;charset=UTF-8"
)

// Errors returned by the client.
var (
	// ErrUnauthorized means the server refused the credentials (HTTP 401).
	ErrUnauthorized = errors.New("client: authentication failed (HTTP 401)")
)

// HTTPError is a non-SOAP HTTP failure.
type HTTPError struct {
	Status int
	Body   string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("client: HTTP %d: %s", e.Status, e.Body)
}

// Config describes one endpoint and how to reach it.
type Config struct {
	// Endpoint is the listener URL, e.g. https://host:5986/wsman.
	Endpoint string
	// Auth is the authentication method: [Basic], [NTLM], [Kerberos],
	// [Negotiate], [Certificate] or [Auto]. nil with a Username means
	// Basic with Username and Password; nil without one sends no
	// credentials.
	Auth Auth
	// Username and Password are the older way to ask for Basic
	// authentication, the same as Auth: Basic(Username, Password). Set
	// either Auth or Username, not both.
	Username, Password string
	// TrustedHosts lists, in WinRM's syntax (see
	// [trust.ParseTrustedHosts]: "*", "*.suffix", "prefix*", "<local>",
	// names and IPs, comma separated), the hosts NTLM credentials may go
	// to over plain HTTP, where NTLM cannot prove the server's identity
	// (WinRM's client TrustedHosts). It applies to [NTLM] and to
	// [Negotiate]'s fall-back to NTLM. Default empty: no host.
	TrustedHosts string
	// AllowUnencrypted lets [Auto] choose Basic over plain HTTP, to a
	// host that matches TrustedHosts, when the server offers nothing
	// else (WinRM's client AllowUnencrypted). An explicit [Basic] is sent
	// as configured; the psremote command applies the rule to it too.
	AllowUnencrypted bool
	// TLSConfig verifies the server on HTTPS; nil means system roots.
	// With [Certificate], the client certificate is added to a copy.
	TLSConfig *tls.Config
	// ConnectTimeout bounds TCP connect plus TLS handshake
	// (default DefaultConnectTimeout).
	ConnectTimeout time.Duration
	// OperationTimeout is sent as wsman:OperationTimeout: how long the
	// server may hold one Receive before answering TimedOut, which the
	// client simply polls again (default DefaultOperationTimeout). Each
	// HTTP exchange is bounded by OperationTimeout + NetworkDelay, so a
	// host that vanishes is reported instead of hanging.
	OperationTimeout time.Duration
	// NetworkDelay is added to OperationTimeout for the HTTP read deadline
	// (default DefaultNetworkDelay).
	NetworkDelay time.Duration
	// MaxEnvelopeSize is the largest reply the client accepts
	// (default DefaultMaxEnvelopeSize).
	MaxEnvelopeSize int
}

// Client talks to one WinRM endpoint. It is safe for concurrent use.
type Client struct {
	cfg Config
	tr  *transport
}

// New returns a client for cfg. It checks the authentication settings
// but does not connect; in particular NTLM over plain HTTP to a host that
// does not match TrustedHosts fails here with an [*UntrustedHostError].
func New(cfg Config) (*Client, error) {
	if cfg.Endpoint == "" {
		return nil, errors.New("client: no endpoint")
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.OperationTimeout <= 0 {
		cfg.OperationTimeout = DefaultOperationTimeout
	}
	if cfg.NetworkDelay <= 0 {
		cfg.NetworkDelay = DefaultNetworkDelay
	}
	if cfg.MaxEnvelopeSize <= 0 {
		cfg.MaxEnvelopeSize = DefaultMaxEnvelopeSize
	}
	a := cfg.Auth
	if cfg.Username != "" {
		if a != nil {
			return nil, errors.New("client: set Config.Auth or Config.Username, not both")
		}
		a = Basic(cfg.Username, cfg.Password)
	}
	tc := cfg.TLSConfig
	if ca, ok := a.(certAuth); ok {
		if tc == nil {
			tc = &tls.Config{MinVersion: tls.VersionTLS12}
		} else {
			tc = tc.Clone()
		}
		tc.Certificates = []tls.Certificate{ca.cert}
		tc.GetClientCertificate = nil
	}
	tr, err := newTransport(cfg.Endpoint, tc, cfg.ConnectTimeout)
	if err != nil {
		return nil, err
	}
	if a != nil {
		host := tr.host()
		if tr.mech, err = a.newMechanism(host, tr.scheme == "https", &cfg); err != nil {
			return nil, err
		}
	}
	return &Client{cfg: cfg, tr: tr}, nil
}

// Close releases idle connections.
func (c *Client) Close() { c.tr.closeIdle() }

// Endpoint returns the configured endpoint URL.
func (c *Client) Endpoint() string { return c.cfg.Endpoint }

// call sends one request and decodes the reply. A SOAP fault is returned
// as a *wsman.Fault error.
func (c *Client) call(ctx context.Context, h wsman.RequestHeader, body func(*bytes.Buffer)) (*wsman.Reply, error) {
	h.To = c.cfg.Endpoint
	if h.MaxEnvelopeSize == 0 {
		h.MaxEnvelopeSize = c.cfg.MaxEnvelopeSize
	}
	if h.OperationTimeout == 0 {
		h.OperationTimeout = c.cfg.OperationTimeout
	}
	var buf bytes.Buffer
	id := wsman.WriteRequest(&buf, h, body)
	r, err := c.exchange(ctx, buf.Bytes(), h.OperationTimeout, false)
	if err != nil {
		return nil, err
	}
	if r.RelatesTo != "" && r.RelatesTo != id {
		return nil, fmt.Errorf("client: reply RelatesTo %q does not match request %q", r.RelatesTo, id)
	}
	return r, nil
}

// exchange posts one envelope and decodes the reply, bounded by the
// operation timeout plus the network delay. A SOAP fault comes back as
// a *wsman.Fault error.
func (c *Client) exchange(ctx context.Context, body []byte, opTimeout time.Duration, anonymous bool) (*wsman.Reply, error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout+c.cfg.NetworkDelay)
	defer cancel()
	req := &request{body: body, contentType: soapContentType, anonymous: anonymous, maxBody: maxReplyBytes}
	if anonymous {
		req.headers = []string{"WSMANIDENTIFY: unauthenticated"}
	}
	resp, err := c.tr.do(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("client: %s: %w", c.cfg.Endpoint, err)
	}
	data := resp.body
	switch resp.status {
	case http.StatusOK, http.StatusInternalServerError:
	case http.StatusUnauthorized:
		return nil, ErrUnauthorized
	default:
		return nil, &HTTPError{Status: resp.status, Body: string(bytes.TrimSpace(trimBody(data)))}
	}
	r, err := wsman.ParseReply(data, resp.contentType)
	if err != nil {
		if resp.status != http.StatusOK {
			return nil, &HTTPError{Status: resp.status, Body: string(trimBody(data))}
		}
		return nil, fmt.Errorf("client: %w", err)
	}
	if r.Fault != nil {
		return nil, r.Fault
	}
	return r, nil
}

// IdentifyResult is what Identify reports.
type IdentifyResult struct {
	ProtocolVersion  string
	ProductVendor    string
	ProductVersion   string
	SecurityProfiles []string
}

// Identify asks the server who it is; anonymous sends no credentials and
// the WSMANIDENTIFY: unauthenticated header (Test-WSMan).
func (c *Client) Identify(ctx context.Context, anonymous bool) (*IdentifyResult, error) {
	body := `<s:Envelope xmlns:s="` + wsman.NsSOAP + `" xmlns:wsmid="` + wsman.NsIdentity + `"><s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>`
	r, err := c.exchange(ctx, []byte(body), c.cfg.OperationTimeout, anonymous)
	if err != nil {
		return nil, err
	}
	info, proto, err := wsman.ParseIdentifyResponse(r)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	return &IdentifyResult{ProtocolVersion: proto, ProductVendor: info.ProductVendor,
		ProductVersion: info.ProductVersion, SecurityProfiles: info.SecurityProfiles}, nil
}
