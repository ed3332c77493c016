package client

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// fakeServer answers each request on a connection with the next canned
// reply; replies may close the connection.
func fakeServer(t *testing.T, replies []string) (string, chan string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	reqs := make(chan string, 100)
	go func() {
		i := 0
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			br := bufio.NewReader(c)
			for i < len(replies) {
				var head strings.Builder
				n := 0
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						c.Close()
						goto next
					}
					head.WriteString(line)
					if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
						n = atoi(strings.TrimSpace(v))
					}
					if line == "\r\n" {
						break
					}
				}
				io.CopyN(io.Discard, br, int64(n))
				reqs <- head.String()
				r := replies[i]
				i++
				if r == "CLOSE" {
					c.Close()
					goto next
				}
				io.WriteString(c, r)
				if strings.Contains(r, "Connection: close") {
					c.Close()
					goto next
				}
			}
			c.Close()
		next:
		}
	}()
	return "http://" + l.Addr().String() + "/wsman", reqs
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestTransportFraming(t *testing.T) {
	url, reqs := fakeServer(t, []string{
		"HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml;charset=UTF-8\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 500 \r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
		"HTTP/1.1 401 \r\nWWW-Authenticate: Negotiate\r\nWWW-Authenticate: Basic realm=\"WSMAN\"\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nuntil close",
	})
	tr, err := newTransport(url, nil, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.closeIdle()
	ctx := context.Background()
	r, err := tr.roundTrip(ctx, []byte("body"), []string{"X-Test: 1"}, 1<<20)
	if err != nil || r.status != 200 || string(r.body) != "hello" || r.contentType != "application/soap+xml;charset=UTF-8" {
		t.Fatalf("reply 1: %+v %v", r, err)
	}
	if h := <-reqs; !strings.HasPrefix(h, "POST /wsman HTTP/1.1\r\n") || !strings.Contains(h, "X-Test: 1\r\n") || !strings.Contains(h, "Content-Length: 4\r\n") {
		t.Errorf("request head %q", h)
	}
	r, err = tr.roundTrip(ctx, nil, nil, 1<<20)
	if err != nil || r.status != 500 || string(r.body) != "abcde" {
		t.Fatalf("chunked: %+v %v", r, err)
	}
	r, err = tr.roundTrip(ctx, nil, nil, 1<<20)
	if err != nil || r.status != 401 || len(r.authHeaders) != 2 || r.authHeaders[1] != `Basic realm="WSMAN"` {
		t.Fatalf("401: %+v %v", r, err)
	}
	r, err = tr.roundTrip(ctx, nil, nil, 1<<20)
	if err != nil || string(r.body) != "until close" {
		t.Fatalf("read to close: %+v %v", r, err)
	}
}

func TestTransportRetriesStaleConnection(t *testing.T) {
	// The server answers once, then closes the idle connection without a
	// reply; the next request must be retried on a new connection.
	url, _ := fakeServer(t, []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na",
		"CLOSE",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb",
	})
	tr, _ := newTransport(url, nil, time.Second)
	defer tr.closeIdle()
	if r, err := tr.roundTrip(context.Background(), nil, nil, 100); err != nil || string(r.body) != "a" {
		t.Fatalf("first: %v", err)
	}
	if r, err := tr.roundTrip(context.Background(), nil, nil, 100); err != nil || string(r.body) != "b" {
		t.Fatalf("second (after a stale close): %+v %v", r, err)
	}
}

func TestTransportLimitsAndDeadlines(t *testing.T) {
	url, _ := fakeServer(t, []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + strings.Repeat("x", 1000),
		"garbage\r\n\r\n",
	})
	tr, _ := newTransport(url, nil, time.Second)
	defer tr.closeIdle()
	if _, err := tr.roundTrip(context.Background(), nil, nil, 100); err == nil {
		t.Error("oversized reply accepted")
	}
	if _, err := tr.roundTrip(context.Background(), nil, nil, 100); err == nil {
		t.Error("garbage status line accepted")
	}
	// A server that never answers: the context deadline ends the wait.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err == nil {
			defer c.Close()
			time.Sleep(3 * time.Second)
		}
	}()
	tr2, _ := newTransport("http://"+l.Addr().String()+"/wsman", nil, time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := tr2.roundTrip(ctx, nil, nil, 100); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hanging server: %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Error("deadline not honoured")
	}
}

// roundTrip posts body with extra header lines and no credentials, and
// reads the reply.
func (t *transport) roundTrip(ctx context.Context, body []byte, headers []string, maxBody int) (*response, error) {
	return t.do(ctx, &request{body: body, headers: headers, anonymous: true, maxBody: maxBody})
}
