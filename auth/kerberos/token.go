package kerberos

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// MaxTokenSize bounds a context token. Windows' MaxTokenSize is at most
// 65535 bytes; tickets with large PACs stay well below it.
const MaxTokenSize = 64 << 10

// Kerberos ASN.1 APPLICATION tags (RFC 4120 section 5.10) as the first
// byte of a DER encoding.
const (
	tagAPReq    = 0x6e // [APPLICATION 14]
	tagAPRep    = 0x6f // [APPLICATION 15]
	tagKRBError = 0x7e // [APPLICATION 30]
)

// RFC 4121 section 4.1 TOK_ID values of context tokens.
const (
	tokAPReq    = 0x0100
	tokAPRep    = 0x0200
	tokKRBError = 0x0300
)

// DER encodings (tag, length, value) of the Kerberos V5 mechanism OID
// 1.2.840.113554.1.2.2 and of the one Windows also announces,
// 1.2.840.48018.1.2.2.
var (
	oidKRB5   = []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02}
	oidMSKRB5 = []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02}
)

// frameToken builds an RFC 2743 section 3.1 InitialContextToken: 0x60,
// DER length, the mechanism OID, the two-byte TOK_ID and the inner token.
func frameToken(oid []byte, tokID uint16, inner []byte) []byte {
	n := len(oid) + 2 + len(inner)
	out := make([]byte, 0, 1+5+n)
	out = append(out, 0x60)
	out = appendDERLength(out, n)
	out = append(out, oid...)
	out = binary.BigEndian.AppendUint16(out, tokID)
	return append(out, inner...)
}

// unframeToken parses a framed token and returns its OID encoding (one of
// the two Kerberos OIDs), TOK_ID and inner token.
func unframeToken(b []byte) (oid []byte, tokID uint16, inner []byte, err error) {
	if len(b) < 2 || b[0] != 0x60 {
		return nil, 0, nil, fmt.Errorf("%w: not a GSS-API token", ErrMalformed)
	}
	n, hl, err := parseDERLength(b[1:])
	if err != nil {
		return nil, 0, nil, err
	}
	body := b[1+hl:]
	if n != len(body) {
		return nil, 0, nil, fmt.Errorf("%w: GSS-API token length %d, have %d bytes", ErrMalformed, n, len(body))
	}
	switch {
	case bytes.HasPrefix(body, oidKRB5):
		oid = oidKRB5
	case bytes.HasPrefix(body, oidMSKRB5):
		oid = oidMSKRB5
	default:
		return nil, 0, nil, fmt.Errorf("%w: GSS-API token is not for the Kerberos V5 mechanism", ErrMalformed)
	}
	body = body[len(oid):]
	if len(body) < 2 {
		return nil, 0, nil, fmt.Errorf("%w: GSS-API token has no TOK_ID", ErrMalformed)
	}
	return oid, binary.BigEndian.Uint16(body), body[2:], nil
}

func appendDERLength(b []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(b, byte(n))
	case n <= 0xff:
		return append(b, 0x81, byte(n))
	case n <= 0xffff:
		return append(b, 0x82, byte(n>>8), byte(n))
	case n <= 0xffffff:
		return append(b, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// parseDERLength decodes a definite DER length of at most four bytes and
// returns it with the size of its encoding.
func parseDERLength(b []byte) (n, size int, err error) {
	if len(b) == 0 {
		return 0, 0, fmt.Errorf("%w: truncated length", ErrMalformed)
	}
	if b[0] < 0x80 {
		return int(b[0]), 1, nil
	}
	k := int(b[0] & 0x7f)
	if k == 0 || k > 4 || len(b) < 1+k {
		return 0, 0, fmt.Errorf("%w: bad length encoding", ErrMalformed)
	}
	for _, c := range b[1 : 1+k] {
		n = n<<8 | int(c)
	}
	if n > MaxTokenSize {
		return 0, 0, fmt.Errorf("%w: length %d too large", ErrMalformed, n)
	}
	return n, 1 + k, nil
}
