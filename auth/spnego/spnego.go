package spnego

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"fmt"
)

// Sentinel errors. Errors returned by this package wrap one of them; test
// with errors.Is. Error texts never contain token bytes.
var (
	// ErrMalformed means a token could not be decoded: bad ASN.1, an
	// unexpected tag or OID, missing required fields, trailing bytes.
	ErrMalformed = errors.New("spnego: malformed token")
	// ErrTooLarge means a token exceeds MaxTokenSize or a mechanism list
	// exceeds MaxMechTypes.
	ErrTooLarge = errors.New("spnego: token too large")
	// ErrInvalid means a token given to a Marshal method cannot be
	// encoded (for example an empty mechanism list, an invalid OID or an
	// unknown negState).
	ErrInvalid = errors.New("spnego: invalid token contents")
)

// Bounds on decoded and encoded tokens.
const (
	// MaxTokenSize bounds a token, as Windows' MaxTokenSize (65535) does.
	MaxTokenSize = 64 << 10
	// MaxMechTypes bounds the mechanism list of a NegTokenInit. Windows
	// offers five mechanisms; the bound leaves room but stops lists built
	// to cost time.
	MaxMechTypes = 16
)

// Mechanism OIDs.
var (
	// OIDSPNEGO is SPNEGO itself, 1.3.6.1.5.5.2 (RFC 4178 section 3).
	OIDSPNEGO = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 2}
	// OIDKerberos is Kerberos V5, 1.2.840.113554.1.2.2 (RFC 1964).
	OIDKerberos = asn1.ObjectIdentifier{1, 2, 840, 113554, 1, 2, 2}
	// OIDMSKerberos is the Kerberos OID with the truncation bug of early
	// Windows, 1.2.840.48018.1.2.2 (MS-SPNG 3.2.5.2), which Windows still
	// lists first and which means Kerberos V5.
	OIDMSKerberos = asn1.ObjectIdentifier{1, 2, 840, 48018, 1, 2, 2}
	// OIDNTLM is NTLMSSP, 1.3.6.1.4.1.311.2.2.10 (MS-NLMP 1.9).
	OIDNTLM = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 2, 10}
	// OIDNegoEx is NEGOEX, 1.3.6.1.4.1.311.2.2.30 (MS-NEGOEX), which
	// Windows offers first when it has certificate-based mechanisms. This
	// package only recognises it.
	OIDNegoEx = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 2, 30}
)

// Kerberos TOK_ID values of context tokens (RFC 4121 section 4.1), the two
// bytes after the OID in a GSS-framed Kerberos token.
var (
	// TokIDAPReq marks a KRB_AP_REQ.
	TokIDAPReq = [2]byte{0x01, 0x00}
	// TokIDAPRep marks a KRB_AP_REP.
	TokIDAPRep = [2]byte{0x02, 0x00}
	// TokIDKRBError marks a KRB_ERROR.
	TokIDKRBError = [2]byte{0x03, 0x00}
)

// ntlmSignature starts every NTLMSSP message (MS-NLMP 2.2.1).
var ntlmSignature = []byte("NTLMSSP\x00")

// Kind is what a Negotiate token is, as told by [Classify].
type Kind int

// The kinds of Negotiate tokens.
const (
	// KindUnknown is anything else, including truncated tokens.
	KindUnknown Kind = iota
	// KindNTLM is a raw NTLMSSP message.
	KindNTLM
	// KindKerberos is a GSS-framed Kerberos V5 token (either OID).
	KindKerberos
	// KindNegTokenInit is a GSS-framed SPNEGO token: NegTokenInit or
	// NegTokenInit2.
	KindNegTokenInit
	// KindNegTokenResp is an SPNEGO NegTokenResp.
	KindNegTokenResp
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case KindNTLM:
		return "NTLM"
	case KindKerberos:
		return "Kerberos"
	case KindNegTokenInit:
		return "NegTokenInit"
	case KindNegTokenResp:
		return "NegTokenResp"
	default:
		return "unknown"
	}
}

// Classify tells what a Negotiate token is by its outer structure: the
// NTLMSSP signature; the 0x60 GSS-API framing (spanning the whole token)
// with a Kerberos OID or the SPNEGO OID; or a [1]-tagged element spanning
// the whole token (NegTokenResp). It does not validate the contents;
// [ParseInit] and [ParseResp] do. Tokens above MaxTokenSize are
// KindUnknown.
func Classify(token []byte) Kind {
	if len(token) == 0 || len(token) > MaxTokenSize {
		return KindUnknown
	}
	if bytes.HasPrefix(token, ntlmSignature) {
		return KindNTLM
	}
	switch token[0] {
	case tagGSSFraming:
		oid, _, err := UnwrapGSS(token)
		switch {
		case err != nil:
			return KindUnknown
		case oid.Equal(OIDKerberos), oid.Equal(OIDMSKerberos):
			return KindKerberos
		case oid.Equal(OIDSPNEGO):
			return KindNegTokenInit
		}
	case tagContext0 + 1:
		if t, rest, err := readTLV(token); err == nil && len(rest) == 0 && len(t.content) > 0 {
			return KindNegTokenResp
		}
	}
	return KindUnknown
}

// WrapGSS builds an RFC 2743 section 3.1 InitialContextToken: the 0x60
// tag, the DER length, the mechanism OID, then tokID and body. This is
// the framing of Kerberos context tokens (RFC 4121 section 4.1), whose
// tokID is one of TokIDAPReq, TokIDAPRep or TokIDKRBError. WrapGSS
// panics if oid cannot be encoded (fewer than two arcs or an arc out of
// range), which only a programming error can cause; body larger than
// MaxTokenSize is the caller's to avoid.
func WrapGSS(oid asn1.ObjectIdentifier, tokID [2]byte, body []byte) []byte {
	o, err := marshalOID(oid)
	if err != nil {
		panic(err.Error())
	}
	return appendTLV(nil, tagGSSFraming, o, tokID[:], body)
}

// wrapGSS frames inner (a NegotiationToken) with oid and no TOK_ID, as
// SPNEGO's initial token is framed.
func wrapGSS(oid asn1.ObjectIdentifier, inner []byte) ([]byte, error) {
	o, err := marshalOID(oid)
	if err != nil {
		return nil, err
	}
	return appendTLV(nil, tagGSSFraming, o, inner), nil
}

// UnwrapGSS decodes an RFC 2743 section 3.1 InitialContextToken and
// returns its mechanism OID and inner token: everything after the OID,
// which for Kerberos starts with the two-byte TOK_ID (see
// [UnwrapKerberos]) and for SPNEGO is the NegotiationToken. The 0x60
// element must span the whole token.
func UnwrapGSS(token []byte) (oid asn1.ObjectIdentifier, inner []byte, err error) {
	if len(token) > MaxTokenSize {
		return nil, nil, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(token))
	}
	body, err := readOnly(token, tagGSSFraming, "GSS-API InitialContextToken")
	if err != nil {
		return nil, nil, err
	}
	t, rest, err := readTLV(body)
	if err != nil {
		return nil, nil, fmt.Errorf("GSS-API mechanism OID: %w", err)
	}
	if oid, err = parseOID(t.full); err != nil {
		return nil, nil, err
	}
	return oid, rest, nil
}

// UnwrapKerberos decodes a GSS-framed Kerberos V5 token (either Kerberos
// OID) and returns the OID, the TOK_ID and the Kerberos message after it.
func UnwrapKerberos(token []byte) (oid asn1.ObjectIdentifier, tokID [2]byte, body []byte, err error) {
	oid, inner, err := UnwrapGSS(token)
	if err != nil {
		return nil, tokID, nil, err
	}
	if !oid.Equal(OIDKerberos) && !oid.Equal(OIDMSKerberos) {
		return nil, tokID, nil, fmt.Errorf("%w: GSS-API token for mechanism %v, not Kerberos", ErrMalformed, oid)
	}
	if len(inner) < 2 {
		return nil, tokID, nil, fmt.Errorf("%w: Kerberos token without TOK_ID", ErrMalformed)
	}
	copy(tokID[:], inner)
	return oid, tokID, inner[2:], nil
}
