package client

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"io"
	"testing"
)

// FuzzNegotiateToken feeds WWW-Authenticate values (untrusted server
// input) to the token extraction and the SPNEGO unwrapping.
func FuzzNegotiateToken(f *testing.F) {
	// A raw NTLM CHALLENGE prefix, a Kerberos AP-REP frame, an SPNEGO
	// accept-completed and a reject, and malformed values.
	for _, tok := range [][]byte{
		[]byte("NTLMSSP\x00\x02\x00\x00\x00"),
		{0x60, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x02, 0x00},
		{0xa1, 0x07, 0x30, 0x05, 0xa0, 0x03, 0x0a, 0x01, 0x00},
		{0xa1, 0x07, 0x30, 0x05, 0xa0, 0x03, 0x0a, 0x01, 0x02},
	} {
		f.Add("Negotiate " + base64.StdEncoding.EncodeToString(tok))
	}
	f.Add("Negotiate")
	f.Add(`Basic realm="WSMAN"`)
	f.Add("negotiate !!!")
	f.Fuzz(func(t *testing.T, header string) {
		tok, err := negotiateToken([]string{header, "Kerberos"})
		if err != nil || tok == nil {
			return
		}
		inner, err := serverToken(tok)
		if err == nil && len(inner) > len(tok) {
			t.Fatalf("inner token longer than its frame")
		}
		_ = offers([]string{header}, "Negotiate")
		_ = offered([]string{header})
	})
}

// FuzzReply feeds arbitrary bytes to the HTTP reply reader as a server's
// answer.
func FuzzReply(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml;charset=UTF-8\r\nContent-Length: 5\r\n\r\nhello"))
	f.Add([]byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 500 \r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 401 \r\nWWW-Authenticate: Negotiate TlRMTVNTUAACAAAA\r\nContent-Length: 0\r\n\r\n"))
	f.Add([]byte("HTTP/1.0 200 OK\r\n\r\nuntil close"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tr := &transport{path: "/wsman", hostport: "h:1"}
		pc := &pconn{br: bufio.NewReader(bytes.NewReader(data)), bw: bufio.NewWriter(io.Discard)}
		resp, _, err := tr.exchange(pc, []byte("x"), nil, 1<<16)
		if err == nil && len(resp.body) > 1<<16 {
			t.Fatalf("reply of %d bytes beyond the bound", len(resp.body))
		}
	})
}
