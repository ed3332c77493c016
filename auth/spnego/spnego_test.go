package spnego

import (
	"bytes"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// h decodes hex with spaces.
func h(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// initToken frames a NegTokenInit SEQUENCE's contents (hex) as a full
// GSS-API SPNEGO token.
func initToken(tb testing.TB, seqHex string) []byte {
	tb.Helper()
	seq := appendTLV(nil, tagSequence, h(tb, seqHex))
	tok, err := wrapGSS(OIDSPNEGO, appendTLV(nil, tagContext0, seq))
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// respToken frames a NegTokenResp SEQUENCE's contents (hex).
func respToken(tb testing.TB, seqHex string) []byte {
	tb.Helper()
	return appendTLV(nil, tagContext0+1, appendTLV(nil, tagSequence, h(tb, seqHex)))
}

const ntlmMechs = "a00e 300c 060a2b06010401823702020a" // [0] MechTypeList{NTLM}

func TestClassify(t *testing.T) {
	krb := WrapGSS(OIDKerberos, TokIDAPReq, []byte{0x6e, 0x00})
	mskrb := WrapGSS(OIDMSKerberos, TokIDAPReq, []byte{0x6e, 0x00})
	other := WrapGSS(asn1.ObjectIdentifier{1, 2, 3}, TokIDAPReq, []byte{1})
	tests := []struct {
		name  string
		token []byte
		want  Kind
	}{
		{"empty", nil, KindUnknown},
		{"ntlm negotiate", []byte("NTLMSSP\x00\x01\x00\x00\x00\x07\x82\x08\xa2"), KindNTLM},
		{"ntlm signature only", []byte("NTLMSSP\x00"), KindNTLM},
		{"ntlm truncated signature", []byte("NTLMSSP"), KindUnknown},
		{"kerberos", krb, KindKerberos},
		{"ms kerberos", mskrb, KindKerberos},
		{"other mechanism", other, KindUnknown},
		{"spnego init", initToken(t, ntlmMechs), KindNegTokenInit},
		{"spnego resp", respToken(t, "a0030a0101"), KindNegTokenResp},
		{"resp with trailing byte", append(respToken(t, "a0030a0101"), 0), KindUnknown},
		{"resp empty", []byte{0xa1, 0x00}, KindUnknown},
		{"resp overrun", []byte{0xa1, 0x05, 0x30}, KindUnknown},
		{"gss overrun", []byte{0x60, 0x7f, 0x06}, KindUnknown},
		{"gss trailing", append(bytes.Clone(krb), 0), KindUnknown},
		{"gss no oid", []byte{0x60, 0x02, 0x04, 0x00}, KindUnknown},
		{"raw ap-req", []byte{0x6e, 0x03, 0x02, 0x01, 0x05}, KindUnknown},
		{"http text", []byte("Negotiate abc"), KindUnknown},
		{"too large", append([]byte("NTLMSSP\x00"), make([]byte, MaxTokenSize)...), KindUnknown},
	}
	for _, tc := range tests {
		if got := Classify(tc.token); got != tc.want {
			t.Errorf("%s: Classify = %v, want %v", tc.name, got, tc.want)
		}
	}
	for k, s := range map[Kind]string{KindUnknown: "unknown", KindNTLM: "NTLM", KindKerberos: "Kerberos", KindNegTokenInit: "NegTokenInit", KindNegTokenResp: "NegTokenResp", Kind(99): "unknown"} {
		if k.String() != s {
			t.Errorf("Kind(%d).String() = %q", int(k), k.String())
		}
	}
}

func TestParseInitErrors(t *testing.T) {
	var oids []byte
	for range MaxMechTypes + 1 {
		oids = append(oids, h(t, "060a2b06010401823702020a")...)
	}
	tooMany := initToken(t, hex.EncodeToString(appendTLV(nil, tagContext0, appendTLV(nil, tagSequence, oids))))
	var okOIDs []byte
	for range MaxMechTypes {
		okOIDs = append(okOIDs, h(t, "060a2b06010401823702020a")...)
	}
	maxOK := initToken(t, hex.EncodeToString(appendTLV(nil, tagContext0, appendTLV(nil, tagSequence, okOIDs))))
	if it, err := ParseInit(maxOK); err != nil || len(it.MechTypes) != MaxMechTypes {
		t.Fatalf("%d mechanisms refused: %v", MaxMechTypes, err)
	}
	spnegoOIDHex := "06062b0601050502"
	tests := []struct {
		name  string
		token []byte
		want  error
	}{
		{"empty", nil, ErrMalformed},
		{"too large", append([]byte{0x60, 0x84, 0, 1, 0, 0}, make([]byte, MaxTokenSize)...), ErrTooLarge},
		{"raw ntlm", []byte("NTLMSSP\x00\x01\x00\x00\x00"), ErrMalformed},
		{"resp token", respToken(t, "a0030a0101"), ErrMalformed},
		{"kerberos oid", WrapGSS(OIDKerberos, TokIDAPReq, []byte{0xa0, 0}), ErrMalformed},
		{"gss indefinite length", h(t, "6080"+spnegoOIDHex+"0000"), ErrMalformed},
		{"gss 5-octet length", h(t, "60850000000008"+spnegoOIDHex), ErrMalformed},
		{"gss truncated length", h(t, "6082"), ErrMalformed},
		{"gss overrun", h(t, "6020"+spnegoOIDHex), ErrMalformed},
		{"gss trailing byte", append(initToken(t, ntlmMechs), 0), ErrMalformed},
		{"gss one byte", []byte{0x60}, ErrMalformed},
		{"oid not oid", h(t, "600a 0406 2b0601050502 a000"), ErrMalformed},
		{"oid empty", h(t, "6004 0600 a000"), ErrMalformed},
		{"oid leading 0x80", h(t, "6009 0607 2b060180050502"), ErrMalformed},
		{"oid truncated arc", h(t, "6008 0606 2b06010505 82"), ErrMalformed},
		{"oid arc too large", h(t, "600b 0609 2b 8fffffffff7f 0502"), ErrMalformed},
		{"no inner token", h(t, "6008"+spnegoOIDHex), ErrMalformed},
		{"inner is resp", h(t, "600c"+spnegoOIDHex+"a1023000"), ErrMalformed},
		{"inner trailing", h(t, "600e"+spnegoOIDHex+"a00230000000"), ErrMalformed},
		{"inner not sequence", h(t, "600c"+spnegoOIDHex+"a0023100"), ErrMalformed},
		{"high tag number", h(t, "600c"+spnegoOIDHex+"bf023000"), ErrMalformed},
		{"no mechTypes", initToken(t, ""), ErrMalformed},
		{"empty mechTypes", initToken(t, "a0023000"), ErrMalformed},
		{"mechTypes not sequence", initToken(t, "a0023100"), ErrMalformed},
		{"mechTypes holds octets", initToken(t, "a0043002 0400"), ErrMalformed},
		{"mechTypes two elements", initToken(t, "a0043000 3000"), ErrMalformed},
		{"too many mechTypes", tooMany, ErrTooLarge},
		{"fields out of order", initToken(t, "a2020400"+ntlmMechs), ErrMalformed},
		{"field repeated", initToken(t, ntlmMechs+ntlmMechs), ErrMalformed},
		{"unknown field [5]", initToken(t, ntlmMechs+"a5020400"), ErrMalformed},
		{"universal element", initToken(t, ntlmMechs+"0400"), ErrMalformed},
		{"mechToken not octets", initToken(t, ntlmMechs+"a2030201 01"), ErrMalformed},
		{"mechToken trailing", initToken(t, ntlmMechs+"a20404000400"), ErrMalformed},
		{"mechToken overrun", initToken(t, ntlmMechs+"a2030405"), ErrMalformed},
		{"reqFlags not bit string", initToken(t, ntlmMechs+"a1030201 00"), ErrMalformed},
		{"reqFlags no padding octet", initToken(t, ntlmMechs+"a1020300"), ErrMalformed},
		{"reqFlags padding 8", initToken(t, ntlmMechs+"a104030208 00"), ErrMalformed},
		{"reqFlags padding without bits", initToken(t, ntlmMechs+"a103030101"), ErrMalformed},
		{"two MICs", initToken(t, ntlmMechs+"a3020400 a4020400"), ErrMalformed},
		{"hints not sequence", initToken(t, ntlmMechs+"a3020500"), ErrMalformed},
		{"hints empty field", initToken(t, ntlmMechs+"a300"), ErrMalformed},
		{"hintName wrong tag", initToken(t, ntlmMechs+"a306 3004 a2020400"), ErrMalformed},
		{"hintName not GeneralString", initToken(t, ntlmMechs+"a306 3004 a0020c00"), ErrMalformed},
		{"hintAddress not octets", initToken(t, ntlmMechs+"a306 3004 a1021b00"), ErrMalformed},
		{"MIC [4] not octets", initToken(t, ntlmMechs+"a4020500"), ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			it, err := ParseInit(tc.token)
			if !errors.Is(err, tc.want) {
				t.Fatalf("ParseInit = %+v, %v; want %v", it, err, tc.want)
			}
			if it != nil {
				t.Fatal("token returned with an error")
			}
		})
	}
}

func TestParseRespErrors(t *testing.T) {
	tests := []struct {
		name  string
		token []byte
		want  error
	}{
		{"empty", nil, ErrMalformed},
		{"too large", append([]byte{0xa1, 0x84, 0, 1, 0, 0}, make([]byte, MaxTokenSize)...), ErrTooLarge},
		{"init token", initToken(t, ntlmMechs), ErrMalformed},
		{"raw ntlm", []byte("NTLMSSP\x00\x02\x00\x00\x00"), ErrMalformed},
		{"trailing byte", append(respToken(t, "a0030a0100"), 0), ErrMalformed},
		{"not sequence", h(t, "a1023100"), ErrMalformed},
		{"sequence trailing", h(t, "a10430000000"), ErrMalformed},
		{"indefinite", h(t, "a1803000 0000"), ErrMalformed},
		{"negState 4", respToken(t, "a0030a0104"), ErrMalformed},
		{"negState 0xff", respToken(t, "a0030a01ff"), ErrMalformed},
		{"negState two octets", respToken(t, "a0040a020001"), ErrMalformed},
		{"negState empty", respToken(t, "a0020a00"), ErrMalformed},
		{"negState integer", respToken(t, "a003020100"), ErrMalformed},
		{"supportedMech not oid", respToken(t, "a1020400"), ErrMalformed},
		{"supportedMech trailing", respToken(t, "a10e060a2b06010401823702020a0000"), ErrMalformed},
		{"responseToken not octets", respToken(t, "a2023000"), ErrMalformed},
		{"mechListMIC not octets", respToken(t, "a3020500"), ErrMalformed},
		{"out of order", respToken(t, "a2020400a0030a0100"), ErrMalformed},
		{"repeated", respToken(t, "a0030a0100a0030a0100"), ErrMalformed},
		{"unknown field [4]", respToken(t, "a4020400"), ErrMalformed},
		{"field overrun", respToken(t, "a2050400"), ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseResp(tc.token)
			if !errors.Is(err, tc.want) {
				t.Fatalf("ParseResp = %+v, %v; want %v", r, err, tc.want)
			}
			if r != nil {
				t.Fatal("token returned with an error")
			}
		})
	}
}

func TestParseRespAbsentFields(t *testing.T) {
	r, err := ParseResp(respToken(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	if r.State != NoNegState || r.SupportedMech != nil || r.ResponseToken != nil || r.MechListMIC != nil {
		t.Errorf("empty NegTokenResp decoded as %+v", r)
	}
	b, err := r.Marshal()
	if err != nil || !bytes.Equal(b, h(t, "a1023000")) {
		t.Errorf("Marshal = %x, %v", b, err)
	}
	// Only a responseToken, as later legs may carry.
	r, err = ParseResp(respToken(t, "a2050403010203"))
	if err != nil || r.State != NoNegState || !bytes.Equal(r.ResponseToken, []byte{1, 2, 3}) {
		t.Errorf("ParseResp = %+v, %v", r, err)
	}
}

func TestMarshalErrors(t *testing.T) {
	inits := []struct {
		name string
		tok  NegTokenInit
		want error
	}{
		{"no mechanisms", NegTokenInit{}, ErrInvalid},
		{"too many mechanisms", NegTokenInit{MechTypes: make([]asn1.ObjectIdentifier, MaxMechTypes+1)}, ErrInvalid},
		{"one-arc oid", NegTokenInit{MechTypes: []asn1.ObjectIdentifier{{1}}}, ErrInvalid},
		{"first arc 3", NegTokenInit{MechTypes: []asn1.ObjectIdentifier{{3, 1}}}, ErrInvalid},
		{"second arc 40", NegTokenInit{MechTypes: []asn1.ObjectIdentifier{{1, 40}}}, ErrInvalid},
		{"negative arc", NegTokenInit{MechTypes: []asn1.ObjectIdentifier{{1, 2, -1}}}, ErrInvalid},
		{"bit length mismatch", NegTokenInit{MechTypes: []asn1.ObjectIdentifier{OIDNTLM}, ReqFlags: asn1.BitString{Bytes: []byte{1, 2}, BitLength: 7}}, ErrInvalid},
		{"too large", NegTokenInit{MechTypes: []asn1.ObjectIdentifier{OIDNTLM}, MechToken: make([]byte, MaxTokenSize)}, ErrTooLarge},
	}
	for _, tc := range inits {
		if b, err := tc.tok.Marshal(); !errors.Is(err, tc.want) || b != nil {
			t.Errorf("%s: Marshal = %x, %v; want %v", tc.name, b, err, tc.want)
		}
	}
	resps := []struct {
		name string
		tok  NegTokenResp
		want error
	}{
		{"negState 4", NegTokenResp{State: 4}, ErrInvalid},
		{"negState -2", NegTokenResp{State: -2}, ErrInvalid},
		{"bad oid", NegTokenResp{State: NoNegState, SupportedMech: asn1.ObjectIdentifier{7}}, ErrInvalid},
		{"too large", NegTokenResp{State: AcceptIncomplete, ResponseToken: make([]byte, MaxTokenSize)}, ErrTooLarge},
	}
	for _, tc := range resps {
		if b, err := tc.tok.Marshal(); !errors.Is(err, tc.want) || b != nil {
			t.Errorf("%s: Marshal = %x, %v; want %v", tc.name, b, err, tc.want)
		}
	}
}

func TestNegStateString(t *testing.T) {
	for s, want := range map[NegState]string{AcceptCompleted: "accept-completed", AcceptIncomplete: "accept-incomplete", Reject: "reject", RequestMIC: "request-mic", NoNegState: "absent", 7: "NegState(7)"} {
		if s.String() != want {
			t.Errorf("%d: %q, want %q", int(s), s.String(), want)
		}
	}
}

func TestReqFlagsUnusedBitsCleared(t *testing.T) {
	// Unused bits set by a sloppy encoder read as zero and are encoded
	// as zero.
	it, err := ParseInit(initToken(t, ntlmMechs+"a104 0302 01 77"))
	if err != nil {
		t.Fatal(err)
	}
	if it.ReqFlags.BitLength != 7 || it.ReqFlags.Bytes[0] != 0x76 {
		t.Fatalf("flags %+v", it.ReqFlags)
	}
	it.ReqFlags.Bytes[0] = 0xff
	b, err := it.Marshal()
	if err != nil || !bytes.Contains(b, h(t, "a104030201fe")) {
		t.Errorf("Marshal = %x, %v", b, err)
	}
}

func TestNonMinimalLengthsTolerated(t *testing.T) {
	// Long-form lengths where short ones would do (BER, not DER) decode;
	// RawMechTypes keeps the bytes as sent, for the mechListMIC.
	tok := h(t, "6081 19 06062b0601050502 a081 0e 3081 0b a081 08 3006 06042a030405")
	it, err := ParseInit(tok)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(it.RawMechTypes, h(t, "300606042a030405")) || !it.MechTypes[0].Equal(asn1.ObjectIdentifier{1, 2, 3, 4, 5}) {
		t.Errorf("decoded %+v", it)
	}
}

func TestOIDEncoding(t *testing.T) {
	oids := []asn1.ObjectIdentifier{
		OIDSPNEGO, OIDKerberos, OIDMSKerberos, OIDNTLM, OIDNegoEx,
		{0, 0}, {0, 39}, {1, 0}, {1, 39, 127, 128, 16383, 16384},
		{2, 0}, {2, 999, 3}, {2, maxOIDArc - 80}, {1, 2, maxOIDArc},
	}
	for _, oid := range oids {
		mine, err := marshalOID(oid)
		if err != nil {
			t.Fatalf("%v: %v", oid, err)
		}
		std, err := asn1.Marshal(oid)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(mine, std) {
			t.Errorf("%v: %x, encoding/asn1 gives %x", oid, mine, std)
		}
		back, err := parseOID(mine)
		if err != nil || !back.Equal(oid) {
			t.Errorf("%v: parsed back as %v, %v", oid, back, err)
		}
	}
	for _, bad := range []asn1.ObjectIdentifier{nil, {2}, {-1, 0}, {2, -1}, {2, maxOIDArc - 79}, {1, 2, maxOIDArc + 1}} {
		if _, err := marshalOID(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%v: %v", bad, err)
		}
	}
}

func TestGSSFraming(t *testing.T) {
	for _, n := range []int{0, 1, 100, 113, 114, 300, 70000} {
		body := bytes.Repeat([]byte{0xab}, n)
		tok := WrapGSS(OIDKerberos, TokIDAPRep, body)
		var want []byte
		inner := append(h(t, "06092a864886f712010202 0200"), body...)
		want = appendTLV(want, 0x60, inner)
		if !bytes.Equal(tok, want) {
			t.Fatalf("%d: WrapGSS framing %x...", n, tok[:8])
		}
		oid, in, err := UnwrapGSS(tok)
		if len(tok) > MaxTokenSize {
			if !errors.Is(err, ErrTooLarge) {
				t.Errorf("%d: UnwrapGSS of %d bytes: %v", n, len(tok), err)
			}
			continue
		}
		if err != nil || !oid.Equal(OIDKerberos) || !bytes.Equal(in, append([]byte{2, 0}, body...)) {
			t.Errorf("%d: UnwrapGSS = %v, %v", n, oid, err)
		}
		o2, id, b2, err := UnwrapKerberos(tok)
		if err != nil || !o2.Equal(OIDKerberos) || id != TokIDAPRep || !bytes.Equal(b2, body) {
			t.Errorf("%d: UnwrapKerberos = %v %x %v", n, o2, id, err)
		}
	}
	// DER length forms at the boundaries.
	if tok := WrapGSS(OIDKerberos, TokIDAPReq, make([]byte, 114)); !bytes.HasPrefix(tok, []byte{0x60, 0x7f}) {
		t.Errorf("127-byte body: %x", tok[:3])
	}
	if tok := WrapGSS(OIDKerberos, TokIDAPReq, make([]byte, 115)); !bytes.HasPrefix(tok, []byte{0x60, 0x81, 0x80}) {
		t.Errorf("128-byte body: %x", tok[:3])
	}
	// UnwrapKerberos refuses other mechanisms and a missing TOK_ID.
	if _, _, _, err := UnwrapKerberos(initToken(t, ntlmMechs)); !errors.Is(err, ErrMalformed) {
		t.Errorf("SPNEGO token: %v", err)
	}
	if _, _, _, err := UnwrapKerberos(h(t, "600c 06092a864886f712010202 01")); !errors.Is(err, ErrMalformed) {
		t.Errorf("no TOK_ID: %v", err)
	}
	if _, _, _, err := UnwrapKerberos(h(t, "6001")); !errors.Is(err, ErrMalformed) {
		t.Errorf("truncated: %v", err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("WrapGSS with an invalid OID did not panic")
			}
		}()
		WrapGSS(asn1.ObjectIdentifier{9}, TokIDAPReq, nil)
	}()
}

func TestErrorsCarryNoTokenBytes(t *testing.T) {
	secret := "NTLMSSP\x00\x03secretsecret"
	tok := initToken(t, ntlmMechs+"a2"+hex.EncodeToString(appendTLV(nil, 0x05, []byte(secret))))
	_, err := ParseInit(tok)
	if err == nil || strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), hex.EncodeToString([]byte("secret"))) {
		t.Errorf("error %v", err)
	}
}
