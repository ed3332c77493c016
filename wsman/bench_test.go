package wsman

import (
	"bytes"
	"testing"
)

// typicalReceive is a Receive as pywinrm sends it: compact, with the
// KEEPALIVE option and a ShellId selector.
var typicalReceive = envelopeXML(headers(nil), receiveBody)

// BenchmarkParseReceive measures the request path of one Receive:
// DecodeBody, Parse, Validate and ParseReceive.
func BenchmarkParseReceive(b *testing.B) {
	for _, tc := range []struct {
		name string
		body []byte
		ct   string
	}{
		{"compact", typicalReceive, "application/soap+xml;charset=UTF-8"},
		{"spec-4.7.3", readMSWSMV(b, "4.7.3-receive-request.xml"), "application/soap+xml;charset=UTF-8"},
		{"utf16", func() []byte { out, _ := EncodeBody(typicalReceive, UTF16LE); return out }(), "application/soap+xml;charset=UTF-16"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.body)))
			b.ReportAllocs()
			for b.Loop() {
				utf, cs, err := DecodeBody(tc.body, tc.ct)
				if err != nil {
					b.Fatal(err)
				}
				env, err := Parse(utf, cs, ParseLimits{})
				if err != nil {
					b.Fatal(err)
				}
				if err := env.Validate(); err != nil {
					b.Fatal(err)
				}
				if _, err := ParseReceive(env.Body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWriteReceiveResponse measures encoding 370 KB of command
// output (about what fits a 512000-byte MaxEnvelopeSize after base64)
// into a complete ReceiveResponse envelope. SetBytes counts the raw
// output bytes.
func BenchmarkWriteReceiveResponse(b *testing.B) {
	const size = 370 << 10
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*7 + i>>8)
	}
	const id = "9731F5BD-1A2B-4C3D-8E9F-0A1B2C3D4E5F"
	for _, tc := range []struct {
		name    string
		streams []StreamData
	}{
		{"one-stream", []StreamData{{Name: "stdout", CommandID: id, Data: data}}},
		{"4KiB-chunks", func() []StreamData {
			var s []StreamData
			for off := 0; off < size; off += 4096 {
				s = append(s, StreamData{Name: "stdout", CommandID: id, Data: data[off:min(off+4096, size)]})
			}
			return s
		}()},
	} {
		b.Run(tc.name, func(b *testing.B) {
			state := &CommandState{CommandID: id, State: CommandStateDone, HasExitCode: true}
			var buf bytes.Buffer
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				buf.Reset()
				WriteEnvelope(&buf, ActionReceive+"Response", "uuid:D384DEF8-351E-41F0-B3DA-C91BE1A58A09", func(w *bytes.Buffer) {
					WriteReceiveResponse(w, tc.streams, state)
				})
			}
			b.ReportMetric(float64(buf.Len()), "envelope-bytes")
		})
	}
}
