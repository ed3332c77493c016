package wsman

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseReply covers the client side: whatever a server sends, decoding
// it as a reply, a fault, a Create, Command, Receive or Identify response
// must not panic.
func FuzzParseReply(f *testing.F) {
	files, _ := filepath.Glob("testdata/mswsmv/*-response.xml")
	for _, fn := range files {
		if data, err := os.ReadFile(fn); err == nil {
			f.Add(data)
		}
	}
	var b bytes.Buffer
	WriteEnvelope(&b, ActionReceive+"Response", "uuid:1", func(bb *bytes.Buffer) {
		WriteReceiveResponse(bb, []StreamData{{Name: "stdout", CommandID: "C", Data: []byte("hi")}, {Name: "stdout", CommandID: "C", End: true}},
			&CommandState{CommandID: "C", State: CommandStateDone, ExitCode: -1, HasExitCode: true})
	})
	f.Add(b.Bytes())
	f.Add(EncodeFault(FaultShellNotFound("X"), "uuid:1", "m"))
	f.Add(EncodeIdentify(IdentifyInfo{ProductVendor: "v", ProductVersion: "p", SecurityProfiles: []string{"a"}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseReply(data, "")
		if err != nil {
			return
		}
		CreatedShellID(r)
		if r.Body != nil {
			CommandID(r)
			ParseReceiveResponse(r)
			ParseIdentifyResponse(r)
		}
	})
}
