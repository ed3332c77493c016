package wsman

import (
	"encoding/base64"
	"strings"
	"testing"
)

func receiveReply(t *testing.T, streams ...string) *Reply {
	t.Helper()
	var b strings.Builder
	b.WriteString(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><s:Header/><s:Body><rsp:ReceiveResponse>`)
	for i := 0; i+1 < len(streams); i += 2 {
		b.WriteString(`<rsp:Stream Name="` + streams[i] + `" CommandId="C">` + streams[i+1] + `</rsp:Stream>`)
	}
	b.WriteString(`<rsp:CommandState CommandId="C" State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running"/></rsp:ReceiveResponse></s:Body></s:Envelope>`)
	r, err := ParseReply([]byte(b.String()), "application/soap+xml;charset=UTF-8")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func enc64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestParseReceiveResponseBuf: several streams decode into one reused
// buffer without overlapping, and whitespace-wrapped base64 (as some
// servers send it) still decodes.
func TestParseReceiveResponseBuf(t *testing.T) {
	wrapped := enc64("wrapped text that is long enough")
	wrapped = wrapped[:8] + "\r\n  \t" + wrapped[8:]
	r := receiveReply(t, "stdout", enc64("out-1"), "stderr", enc64("err-1"), "stdout", "", "stdout", wrapped)
	buf := make([]byte, 0, 4)
	out, buf, err := ParseReceiveResponseBuf(r, buf)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ name, data string }{{"stdout", "out-1"}, {"stderr", "err-1"}, {"stdout", ""}, {"stdout", "wrapped text that is long enough"}}
	if len(out.Streams) != len(want) {
		t.Fatalf("%d streams, want %d", len(out.Streams), len(want))
	}
	for i, w := range want {
		if s := out.Streams[i]; s.Name != w.name || string(s.Data) != w.data {
			t.Errorf("stream %d = %s %q, want %s %q", i, s.Name, s.Data, w.name, w.data)
		}
	}
	// Reuse: the second decode overwrites the first.
	r2 := receiveReply(t, "stdout", enc64("second"))
	out2, _, err := ParseReceiveResponseBuf(r2, buf[:0])
	if err != nil || string(out2.Streams[0].Data) != "second" {
		t.Fatalf("reuse: %v %q", err, out2.Streams[0].Data)
	}
	if _, _, err := ParseReceiveResponseBuf(receiveReply(t, "stdout", "!!notbase64"), nil); err == nil {
		t.Error("bad base64 accepted")
	}
}
