package client

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// This file is a minimal HTTP/1.1 client for WinRM's single exchange
// shape: POST one envelope, read one reply, keep the connection. net/http
// costs about 40 µs of CPU per request in goroutine hand-offs (a read
// and a write loop per connection) and header maps; on a WinRM command
// (three requests) that was a third of the client's latency, and at
// 1,000 hosts two goroutines per connection. Here a request runs on the
// caller's goroutine from write to read.

// Transport limits.
const (
	maxHeaderBytes   = 64 << 10
	maxIdlePerClient = 8
	// staleAfter is how long a connection may sit idle before it is
	// checked for a close by the server before reuse.
	staleAfter = time.Second
)

// response is one HTTP reply.
type response struct {
	status      int
	contentType string
	authHeaders []string // WWW-Authenticate values
	body        []byte
}

type transport struct {
	scheme   string // "http" or "https"
	hostport string // for dialling and the Host header
	path     string // request target
	tls      *tls.Config
	dial     func(ctx context.Context, network, addr string) (net.Conn, error)
	connectT time.Duration
	// mech authenticates requests that are not anonymous; nil sends no
	// credentials. Set before first use.
	mech mechanism

	mu   sync.Mutex
	idle []*pconn // guarded by mu; most recently used last
}

type pconn struct {
	c        net.Conn
	br       *bufio.Reader
	bw       *bufio.Writer
	lastUsed time.Time
	// sec is the security context a connection-oriented mechanism
	// established on this connection; nil before (and for header
	// mechanisms, whose connections carry no state).
	sec *connSec
}

// request is one SOAP exchange to send.
type request struct {
	body        []byte
	contentType string   // of body, "" for none
	headers     []string // extra header lines ("Name: value")
	// anonymous sends no credentials, on a connection no mechanism
	// authenticated.
	anonymous bool
	maxBody   int
}

func newTransport(endpoint string, tc *tls.Config, connectTimeout time.Duration) (*transport, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("client: endpoint %q: %w", endpoint, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("client: endpoint %q: scheme must be http or https", endpoint)
	}
	hp := u.Host
	if u.Port() == "" {
		if u.Scheme == "https" {
			hp = net.JoinHostPort(u.Hostname(), "443")
		} else {
			hp = net.JoinHostPort(u.Hostname(), "80")
		}
	}
	path := u.RequestURI()
	if tc == nil {
		tc = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	tc = tc.Clone()
	if tc.ServerName == "" {
		tc.ServerName = u.Hostname()
	}
	tc.NextProtos = []string{"http/1.1"}
	d := &net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}
	return &transport{scheme: u.Scheme, hostport: hp, path: path, tls: tc, dial: d.DialContext, connectT: connectTimeout}, nil
}

// host returns the endpoint's host name (no port, no brackets).
func (t *transport) host() string {
	h, _, err := net.SplitHostPort(t.hostport)
	if err != nil {
		return t.hostport
	}
	return h
}

// closeIdle closes every idle connection.
func (t *transport) closeIdle() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.mu.Unlock()
	for _, pc := range idle {
		pc.c.Close()
	}
}

// getConn returns an idle connection, most recently used first, or dials
// a new one (always when fresh). An anonymous request takes only a
// connection no mechanism authenticated: on an authenticated one the
// server expects the security context's messages. Other requests prefer
// an authenticated connection, which spares a handshake.
func (t *transport) getConn(ctx context.Context, anonymous, fresh bool) (*pconn, bool, error) {
	for !fresh {
		t.mu.Lock()
		i := len(t.idle) - 1
		for i >= 0 && (t.idle[i].sec != nil) == anonymous {
			i--
		}
		if i < 0 && !anonymous {
			i = len(t.idle) - 1
		}
		if i < 0 {
			t.mu.Unlock()
			break
		}
		pc := t.idle[i]
		t.idle = append(t.idle[:i], t.idle[i+1:]...)
		t.mu.Unlock()
		if time.Since(pc.lastUsed) < staleAfter || alive(pc) {
			return pc, true, nil
		}
		pc.c.Close()
	}
	c, err := t.dial(ctx, "tcp", t.hostport)
	if err != nil {
		return nil, false, err
	}
	if t.scheme == "https" {
		tc := tls.Client(c, t.tls)
		hctx, cancel := context.WithTimeout(ctx, t.connectT)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			c.Close()
			return nil, false, err
		}
		c = tc
	}
	return &pconn{c: c, br: bufio.NewReaderSize(c, 32<<10), bw: bufio.NewWriterSize(c, 8<<10)}, false, nil
}

// alive reports whether an idle connection was not closed by the server.
func alive(pc *pconn) bool {
	pc.c.SetReadDeadline(time.Now().Add(time.Millisecond))
	_, err := pc.br.Peek(1)
	pc.c.SetReadDeadline(time.Time{})
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (t *transport) putConn(pc *pconn) {
	pc.lastUsed = time.Now()
	t.mu.Lock()
	if len(t.idle) < maxIdlePerClient {
		t.idle = append(t.idle, pc)
		pc = nil
	}
	t.mu.Unlock()
	if pc != nil {
		pc.c.Close()
	}
}

// errRetry marks a failure on a reused connection before any reply byte
// arrived: the server closed it while idle.
var errRetry = errors.New("client: reused connection closed")

// do sends one request and reads its reply, authenticating (and on plain
// HTTP sealing) it as the transport's mechanism requires. A request that
// failed on a reused connection before any reply byte is retried once on
// a new one: the server never saw it (an idle connection it had closed).
// So is one refused with 401 on a connection authenticated earlier (the
// server lost the connection's security context), and one whose
// mechanism just changed (Auto chose Basic).
func (t *transport) do(ctx context.Context, r *request) (*response, error) {
	resp, err := t.try(ctx, r, false)
	if ctx.Err() != nil {
		return resp, err
	}
	switch {
	case errors.Is(err, errRetry), errors.Is(err, errContextLost):
		resp, err = t.try(ctx, r, true)
	case errors.Is(err, errSwitched):
		resp, err = t.try(ctx, r, false) // the same connection, if it was kept
	}
	return resp, err
}

func (t *transport) try(ctx context.Context, r *request, fresh bool) (*response, error) {
	pc, reused, err := t.getConn(ctx, r.anonymous, fresh)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		// The context's end is enforced by the AfterFunc below, so the
		// error names it; the connection deadline is only a backstop.
		pc.c.SetDeadline(dl.Add(time.Second))
	} else {
		pc.c.SetDeadline(time.Time{})
	}
	stop := context.AfterFunc(ctx, func() { pc.c.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	resp, keep, err := t.send(ctx, pc, r)
	if errors.Is(err, errSwitched) && keep && stop() {
		// The refusal was read whole: the connection serves the retry.
		pc.c.SetDeadline(time.Time{})
		t.putConn(pc)
		return nil, err
	}
	if err != nil {
		pc.c.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if reused && errors.Is(err, errNoReply) {
			return nil, fmt.Errorf("%w: %v", errRetry, err)
		}
		return nil, err
	}
	if keep && stop() {
		pc.c.SetDeadline(time.Time{})
		t.putConn(pc)
	} else {
		pc.c.Close()
	}
	return resp, nil
}

// errNoReply means the connection ended before a status line arrived.
var errNoReply = errors.New("connection closed before the reply")

func (t *transport) exchange(pc *pconn, body []byte, headers []string, maxBody int) (*response, bool, error) {
	w := pc.bw
	w.WriteString("POST ")
	w.WriteString(t.path)
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(t.hostport)
	w.WriteString("\r\nUser-Agent: psremote\r\nContent-Length: ")
	w.WriteString(strconv.Itoa(len(body)))
	w.WriteString("\r\n")
	for _, h := range headers {
		w.WriteString(h)
		w.WriteString("\r\n")
	}
	w.WriteString("\r\n")
	w.Write(body)
	if err := w.Flush(); err != nil {
		return nil, false, fmt.Errorf("%w: %v", errNoReply, err)
	}

	resp := &response{}
	var keep, chunked bool
	length := -1
	for {
		line, err := readLine(pc.br, maxHeaderBytes)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isReset(err) {
				return nil, false, fmt.Errorf("%w: %v", errNoReply, err)
			}
			return nil, false, err
		}
		proto, rest, _ := strings.Cut(line, " ")
		code, _, _ := strings.Cut(rest, " ")
		resp.status, err = strconv.Atoi(code)
		if err != nil || !strings.HasPrefix(proto, "HTTP/1.") || resp.status < 100 || resp.status > 999 {
			return nil, false, fmt.Errorf("client: malformed status line %q", truncate(line, 80))
		}
		keep = proto == "HTTP/1.1"
		total := 0
		for {
			h, err := readLine(pc.br, maxHeaderBytes)
			if err != nil {
				return nil, false, fmt.Errorf("client: reading reply headers: %w", err)
			}
			if total += len(h); total > maxHeaderBytes {
				return nil, false, errors.New("client: reply headers too large")
			}
			if h == "" {
				break
			}
			name, value, ok := strings.Cut(h, ":")
			if !ok {
				return nil, false, fmt.Errorf("client: malformed header line %q", truncate(h, 80))
			}
			value = strings.TrimSpace(value)
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "content-length":
				n, err := strconv.Atoi(value)
				if err != nil || n < 0 {
					return nil, false, fmt.Errorf("client: bad Content-Length %q", value)
				}
				length = n
			case "transfer-encoding":
				chunked = strings.EqualFold(value, "chunked")
			case "connection":
				if strings.EqualFold(value, "close") {
					keep = false
				} else if strings.EqualFold(value, "keep-alive") {
					keep = true
				}
			case "content-type":
				resp.contentType = value
			case "www-authenticate":
				resp.authHeaders = append(resp.authHeaders, value)
			}
		}
		if resp.status >= 200 || resp.status == 101 {
			break
		}
		// 1xx interim reply: read the next one.
		length, chunked = -1, false
	}

	var r io.Reader = pc.br
	switch {
	case chunked:
		r = httputil.NewChunkedReader(pc.br)
	case length >= 0:
		if length > maxBody {
			return nil, false, fmt.Errorf("client: reply of %d bytes exceeds %d", length, maxBody)
		}
		r = io.LimitReader(pc.br, int64(length))
	default:
		keep = false // body ends when the connection does
	}
	var data []byte
	var err error
	if length >= 0 && !chunked {
		data = make([]byte, length)
		_, err = io.ReadFull(r, data)
	} else {
		data, err = io.ReadAll(io.LimitReader(r, int64(maxBody)+1))
	}
	if err != nil {
		return nil, false, fmt.Errorf("client: reading reply: %w", err)
	}
	if len(data) > maxBody {
		return nil, false, fmt.Errorf("client: reply exceeds %d bytes", maxBody)
	}
	if length >= 0 && len(data) != length {
		return nil, false, fmt.Errorf("client: reply truncated: %d of %d bytes", len(data), length)
	}
	if chunked {
		// Skip the trailer section up to its empty line.
		for total := 0; ; {
			h, err := readLine(pc.br, maxHeaderBytes)
			if err != nil {
				return nil, false, fmt.Errorf("client: reading reply trailer: %w", err)
			}
			if total += len(h); total > maxHeaderBytes {
				return nil, false, errors.New("client: reply trailer too large")
			}
			if h == "" {
				break
			}
		}
	}
	resp.body = data
	return resp, keep, nil
}

// readLine reads one CRLF- or LF-terminated line of at most max bytes.
func readLine(br *bufio.Reader, max int) (string, error) {
	var buf []byte
	for {
		part, err := br.ReadSlice('\n')
		buf = append(buf, part...)
		if len(buf) > max {
			return "", errors.New("client: reply header line too long")
		}
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return "", err
		}
	}
	return string(bytes.TrimRight(buf, "\r\n")), nil
}

func isReset(err error) bool {
	return strings.Contains(err.Error(), "connection reset")
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
