package spnego

import (
	"encoding/asn1"
	"fmt"
)

// ASN.1 identifier octets used by the SPNEGO and GSS-API encodings.
const (
	tagOctetString   = 0x04
	tagBitString     = 0x03
	tagOID           = 0x06
	tagEnumerated    = 0x0a
	tagGeneralString = 0x1b
	tagSequence      = 0x30
	tagGSSFraming    = 0x60 // [APPLICATION 0] constructed (RFC 2743 3.1)
	tagContext0      = 0xa0 // [0] constructed, i.e. context tag n is 0xa0+n
)

// maxLengthOctets bounds the long form of a DER length: four octets cover
// every length below 4 GiB, far above MaxTokenSize.
const maxLengthOctets = 4

// tlv is one decoded tag-length-value: the identifier octet, the contents
// and the complete encoding (identifier, length and contents).
type tlv struct {
	tag     byte
	content []byte
	full    []byte
}

// readTLV decodes the TLV at the start of b and returns it with the bytes
// that follow. Only low-tag-number identifiers and definite lengths are
// accepted; non-minimal long-form lengths are tolerated.
func readTLV(b []byte) (tlv, []byte, error) {
	if len(b) < 2 {
		return tlv{}, nil, fmt.Errorf("%w: truncated ASN.1 element", ErrMalformed)
	}
	tag := b[0]
	if tag&0x1f == 0x1f {
		return tlv{}, nil, fmt.Errorf("%w: high-tag-number form 0x%02x", ErrMalformed, tag)
	}
	hdr := 2
	n := uint64(b[1])
	if n&0x80 != 0 {
		k := int(n & 0x7f)
		if k == 0 {
			return tlv{}, nil, fmt.Errorf("%w: indefinite length", ErrMalformed)
		}
		if k > maxLengthOctets {
			return tlv{}, nil, fmt.Errorf("%w: %d-octet length", ErrMalformed, k)
		}
		if len(b) < 2+k {
			return tlv{}, nil, fmt.Errorf("%w: truncated length", ErrMalformed)
		}
		n = 0
		for _, c := range b[2 : 2+k] {
			n = n<<8 | uint64(c)
		}
		hdr += k
	}
	if n > uint64(len(b)-hdr) {
		return tlv{}, nil, fmt.Errorf("%w: element of %d bytes overruns its %d-byte parent", ErrMalformed, n, len(b)-hdr)
	}
	end := hdr + int(n)
	return tlv{tag: tag, content: b[hdr:end], full: b[:end]}, b[end:], nil
}

// readOnly decodes b as exactly one TLV with identifier tag.
func readOnly(b []byte, tag byte, what string) ([]byte, error) {
	t, rest, err := readTLV(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if t.tag != tag {
		return nil, fmt.Errorf("%w: %s has tag 0x%02x, want 0x%02x", ErrMalformed, what, t.tag, tag)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after %s", ErrMalformed, len(rest), what)
	}
	return t.content, nil
}

// maxOIDArc bounds one arc of an object identifier so that it fits an
// int on every platform.
const maxOIDArc = 1<<31 - 1

// parseOID decodes the complete OBJECT IDENTIFIER encoding full
// (X.690 8.19): base-128 arcs without leading 0x80 octets, the first
// octet group holding the first two arcs.
func parseOID(full []byte) (asn1.ObjectIdentifier, error) {
	c, err := readOnly(full, tagOID, "object identifier")
	if err != nil {
		return nil, err
	}
	if len(c) == 0 {
		return nil, fmt.Errorf("%w: empty object identifier", ErrMalformed)
	}
	var oid asn1.ObjectIdentifier
	v, start := 0, true
	for i, o := range c {
		if start && o == 0x80 {
			return nil, fmt.Errorf("%w: object identifier arc with a leading 0x80 octet", ErrMalformed)
		}
		if v > maxOIDArc>>7 {
			return nil, fmt.Errorf("%w: object identifier arc too large", ErrMalformed)
		}
		v = v<<7 | int(o&0x7f)
		start = o&0x80 == 0
		if !start {
			if i == len(c)-1 {
				return nil, fmt.Errorf("%w: truncated object identifier arc", ErrMalformed)
			}
			continue
		}
		if len(oid) == 0 {
			switch {
			case v < 40:
				oid = append(oid, 0, v)
			case v < 80:
				oid = append(oid, 1, v-40)
			default:
				oid = append(oid, 2, v-80)
			}
		} else {
			oid = append(oid, v)
		}
		v = 0
	}
	return oid, nil
}

// appendLength appends the DER encoding of the length n.
func appendLength(b []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(b, byte(n))
	case n <= 0xff:
		return append(b, 0x81, byte(n))
	case n <= 0xffff:
		return append(b, 0x82, byte(n>>8), byte(n))
	case n <= 0xffffff:
		return append(b, 0x83, byte(n>>16), byte(n>>8), byte(n))
	default:
		return append(b, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// appendTLV appends a TLV with identifier tag whose contents are the
// concatenation of parts.
func appendTLV(b []byte, tag byte, parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	b = append(b, tag)
	b = appendLength(b, n)
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// marshalOID returns the DER encoding of oid, or an error wrapping
// ErrInvalid when oid cannot be encoded (fewer than two arcs, a negative
// arc, an arc above maxOIDArc, a first arc above 2, or a second arc of
// 40 or more under a first arc of 0 or 1).
func marshalOID(oid asn1.ObjectIdentifier) ([]byte, error) {
	if len(oid) < 2 || oid[0] < 0 || oid[0] > 2 || oid[1] < 0 || oid[1] > maxOIDArc-80 || (oid[0] < 2 && oid[1] >= 40) {
		return nil, fmt.Errorf("%w: object identifier %v", ErrInvalid, oid)
	}
	arcs := append([]int{oid[0]*40 + oid[1]}, oid[2:]...)
	var c []byte
	for _, a := range arcs {
		if a < 0 || a > maxOIDArc {
			return nil, fmt.Errorf("%w: object identifier %v", ErrInvalid, oid)
		}
		n := 1
		for x := a >> 7; x > 0; x >>= 7 {
			n++
		}
		for i := n - 1; i >= 0; i-- {
			o := byte(a>>(7*i)) & 0x7f
			if i > 0 {
				o |= 0x80
			}
			c = append(c, o)
		}
	}
	return appendTLV(nil, tagOID, c), nil
}
