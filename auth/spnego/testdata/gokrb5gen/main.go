// Command gokrb5gen prints SPNEGO tokens marshalled by gokrb5 v8 around
// fixed inner tokens, as "name hex" lines (../gokrb5.txt adds the kind).
// Run it from this directory with GOFLAGS=-mod=mod GOSUMDB=off go run .
// (GOPROXY=off works when the module cache already holds gokrb5 v8.4.4
// and the versions go.mod names, as it does on the project machines).
package main

import (
	"encoding/hex"
	"fmt"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/spnego"
)

var (
	krb5   = asn1.ObjectIdentifier{1, 2, 840, 113554, 1, 2, 2}
	mskrb5 = asn1.ObjectIdentifier{1, 2, 840, 48018, 1, 2, 2}
	ntlm   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 2, 10}
)

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func seq(n int, start byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

func main() {
	// NTLM NEGOTIATE as the optimistic token (MS-NLMP 4.2.4.1.1-like bytes).
	ntlmNeg := append([]byte("NTLMSSP\x00\x01\x00\x00\x00"), 0x97, 0x82, 0x08, 0xe2)
	ntlmNeg = append(ntlmNeg, make([]byte, 16)...)
	ntlmNeg = append(ntlmNeg, 0x0a, 0x00, 0x61, 0x4a, 0x00, 0x00, 0x00, 0x0f)
	// A fake GSS-framed Kerberos AP-REQ of 300 bytes (long-form lengths).
	apreqBody := append([]byte{0x6e, 0x82, 0x01, 0x1f}, seq(0x11f, 0x10)...)
	krbTok := append([]byte{0x60, 0x82, 0x01, 0x30, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x01, 0x00}, apreqBody...)
	if len(krbTok) != 4+0x130 {
		panic(len(krbTok))
	}
	out := map[string][]byte{}
	t := spnego.SPNEGOToken{Init: true, NegTokenInit: spnego.NegTokenInit{
		MechTypes: []asn1.ObjectIdentifier{ntlm}, MechTokenBytes: ntlmNeg}}
	out["gokrb5_init_ntlm"] = must(t.Marshal())
	t = spnego.SPNEGOToken{Init: true, NegTokenInit: spnego.NegTokenInit{
		MechTypes: []asn1.ObjectIdentifier{mskrb5, krb5, ntlm}, MechTokenBytes: krbTok}}
	out["gokrb5_init_krb5"] = must(t.Marshal())
	t = spnego.SPNEGOToken{Init: true, NegTokenInit: spnego.NegTokenInit{
		MechTypes:      []asn1.ObjectIdentifier{krb5, ntlm},
		ReqFlags:       asn1.BitString{Bytes: []byte{0x76}, BitLength: 7},
		MechTokenBytes: krbTok, MechListMIC: seq(16, 0xc0)}}
	out["gokrb5_init_flags_mic"] = must(t.Marshal())

	challenge := append([]byte("NTLMSSP\x00\x02\x00\x00\x00"), seq(100, 0x20)...)
	r := spnego.SPNEGOToken{Resp: true, NegTokenResp: spnego.NegTokenResp{
		NegState: 1, SupportedMech: ntlm, ResponseToken: challenge}}
	out["gokrb5_resp_ntlm_challenge"] = must(r.Marshal())
	aprep := append([]byte{0x60, 0x81, 0x86, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x02, 0x00}, append([]byte{0x6f, 0x77}, seq(0x77, 0x40)...)...)
	r = spnego.SPNEGOToken{Resp: true, NegTokenResp: spnego.NegTokenResp{
		NegState: 0, SupportedMech: krb5, ResponseToken: aprep}}
	out["gokrb5_resp_krb5_aprep"] = must(r.Marshal())
	r = spnego.SPNEGOToken{Resp: true, NegTokenResp: spnego.NegTokenResp{
		NegState: 0, MechListMIC: seq(16, 0xe0)}}
	out["gokrb5_resp_complete_mic"] = must(r.Marshal())
	r = spnego.SPNEGOToken{Resp: true, NegTokenResp: spnego.NegTokenResp{NegState: 2}}
	out["gokrb5_resp_reject"] = must(r.Marshal())
	for _, k := range []string{"gokrb5_init_ntlm", "gokrb5_init_krb5", "gokrb5_init_flags_mic", "gokrb5_resp_ntlm_challenge", "gokrb5_resp_krb5_aprep", "gokrb5_resp_complete_mic", "gokrb5_resp_reject"} {
		fmt.Println(k, hex.EncodeToString(out[k]))
	}
}
