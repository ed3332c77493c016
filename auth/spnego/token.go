package spnego

import (
	"encoding/asn1"
	"fmt"
)

// NegTokenInit is the initiator's first SPNEGO token (RFC 4178 section
// 4.2.1), or the NegTokenInit2 of MS-SPNG 2.2.1 when Hints is set.
//
//	NegTokenInit ::= SEQUENCE {
//	    mechTypes     [0] MechTypeList,
//	    reqFlags      [1] ContextFlags  OPTIONAL,
//	    mechToken     [2] OCTET STRING  OPTIONAL,
//	    mechListMIC   [3] OCTET STRING  OPTIONAL }
//	NegTokenInit2 ::= SEQUENCE {
//	    mechTypes     [0] MechTypeList  OPTIONAL,
//	    reqFlags      [1] ContextFlags  OPTIONAL,
//	    mechToken     [2] OCTET STRING  OPTIONAL,
//	    negHints      [3] NegHints      OPTIONAL,
//	    mechListMIC   [4] OCTET STRING  OPTIONAL }
type NegTokenInit struct {
	// MechTypes lists the initiator's mechanisms, most preferred first;
	// 1 to MaxMechTypes entries.
	MechTypes []asn1.ObjectIdentifier
	// ReqFlags are the deprecated context flags; empty (BitLength 0)
	// when absent, and then not encoded.
	ReqFlags asn1.BitString
	// MechToken is the optimistic token of the first mechanism; nil when
	// absent (an empty token is not encoded).
	MechToken []byte
	// MechListMIC is the initiator's MIC over RawMechTypes; nil when
	// absent.
	MechListMIC []byte
	// RawMechTypes is the DER encoding of the MechTypeList (the SEQUENCE,
	// tag and length included) as received by ParseInit or produced by
	// Marshal: the bytes a mechListMIC is computed over (RFC 4178
	// section 5). Marshal ignores its previous contents.
	RawMechTypes []byte
	// Hints are the MS-SPNG negHints. When non-nil the token is a
	// NegTokenInit2 and the mechListMIC travels in field [4].
	Hints *NegHints
}

// NegHints are the hints of a NegTokenInit2 (MS-SPNG 2.2.1). Windows
// sends HintName "not_defined_in_RFC4178@please_ignore".
//
//	NegHints ::= SEQUENCE {
//	    hintName      [0] GeneralString OPTIONAL,
//	    hintAddress   [1] OCTET STRING  OPTIONAL }
type NegHints struct {
	// Name is hintName; empty when absent.
	Name string
	// Address is hintAddress; nil when absent.
	Address []byte
}

// HintNameIgnore is the hintName Windows puts in every NegTokenInit2.
const HintNameIgnore = "not_defined_in_RFC4178@please_ignore"

// NegState is the negState of a NegTokenResp (RFC 4178 section 4.2.2).
type NegState int

// negState values, and NoNegState for an absent field.
const (
	// AcceptCompleted: the context is established.
	AcceptCompleted NegState = 0
	// AcceptIncomplete: more tokens follow.
	AcceptIncomplete NegState = 1
	// Reject: negotiation failed.
	Reject NegState = 2
	// RequestMIC: the acceptor asks the initiator for a mechListMIC.
	RequestMIC NegState = 3
	// NoNegState means the field is absent (allowed after the first
	// reply); Marshal then omits it.
	NoNegState NegState = -1
)

// String returns the RFC 4178 name of the state.
func (s NegState) String() string {
	switch s {
	case AcceptCompleted:
		return "accept-completed"
	case AcceptIncomplete:
		return "accept-incomplete"
	case Reject:
		return "reject"
	case RequestMIC:
		return "request-mic"
	case NoNegState:
		return "absent"
	default:
		return fmt.Sprintf("NegState(%d)", int(s))
	}
}

// NegTokenResp is every SPNEGO token after the first (RFC 4178 section
// 4.2.2), sent without GSS-API framing under context tag [1].
//
//	NegTokenResp ::= SEQUENCE {
//	    negState       [0] ENUMERATED    OPTIONAL,
//	    supportedMech  [1] MechType      OPTIONAL,
//	    responseToken  [2] OCTET STRING  OPTIONAL,
//	    mechListMIC    [3] OCTET STRING  OPTIONAL }
type NegTokenResp struct {
	// State is negState, NoNegState when absent.
	State NegState
	// SupportedMech is the mechanism the acceptor chose (first reply
	// only); nil when absent.
	SupportedMech asn1.ObjectIdentifier
	// ResponseToken is the mechanism token; nil when absent.
	ResponseToken []byte
	// MechListMIC is the MIC over the initiator's MechTypeList; nil when
	// absent.
	MechListMIC []byte
}

// checkSize rejects tokens outside (0, MaxTokenSize].
func checkSize(token []byte) error {
	if len(token) > MaxTokenSize {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(token), MaxTokenSize)
	}
	if len(token) == 0 {
		return fmt.Errorf("%w: empty token", ErrMalformed)
	}
	return nil
}

// fields walks the context-tagged fields of a SEQUENCE's contents and
// calls f for each with its tag number and contents. Tag numbers must be
// strictly increasing and at most maxTag.
func fields(seq []byte, maxTag int, what string, f func(n int, content []byte) error) error {
	last := -1
	for len(seq) > 0 {
		t, rest, err := readTLV(seq)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		n := int(t.tag) - tagContext0
		if n < 0 || n > maxTag {
			return fmt.Errorf("%w: %s has unexpected element with tag 0x%02x", ErrMalformed, what, t.tag)
		}
		if n <= last {
			return fmt.Errorf("%w: %s field [%d] out of order or repeated", ErrMalformed, what, n)
		}
		last = n
		if err := f(n, t.content); err != nil {
			return err
		}
		seq = rest
	}
	return nil
}

// octets decodes the explicitly tagged OCTET STRING in content.
func octets(content []byte, what string) ([]byte, error) {
	b, err := readOnly(content, tagOctetString, what)
	if err != nil {
		return nil, err
	}
	return append([]byte{}, b...), nil
}

// ParseInit decodes a GSS-framed SPNEGO NegTokenInit or NegTokenInit2.
// In field [3], an OCTET STRING is the RFC 4178 mechListMIC and a
// SEQUENCE is MS-SPNG negHints. The mechanism list must hold 1 to
// MaxMechTypes OIDs.
func ParseInit(token []byte) (*NegTokenInit, error) {
	if err := checkSize(token); err != nil {
		return nil, err
	}
	oid, inner, err := UnwrapGSS(token)
	if err != nil {
		return nil, err
	}
	if !oid.Equal(OIDSPNEGO) {
		return nil, fmt.Errorf("%w: GSS-API token for mechanism %v, not SPNEGO", ErrMalformed, oid)
	}
	nt, err := readOnly(inner, tagContext0, "NegotiationToken")
	if err != nil {
		return nil, err
	}
	seq, err := readOnly(nt, tagSequence, "NegTokenInit")
	if err != nil {
		return nil, err
	}
	t := &NegTokenInit{}
	micInThree := false
	err = fields(seq, 4, "NegTokenInit", func(n int, c []byte) error {
		var err error
		switch n {
		case 0:
			t.MechTypes, t.RawMechTypes, err = parseMechTypes(c)
		case 1:
			t.ReqFlags, err = parseFlags(c)
		case 2:
			t.MechToken, err = octets(c, "mechToken")
		case 3:
			if len(c) > 0 && c[0] == tagOctetString {
				t.MechListMIC, err = octets(c, "mechListMIC")
				micInThree = true
			} else {
				t.Hints, err = parseHints(c)
			}
		case 4:
			if micInThree {
				return fmt.Errorf("%w: NegTokenInit has two mechListMICs", ErrMalformed)
			}
			t.MechListMIC, err = octets(c, "mechListMIC")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(t.MechTypes) == 0 {
		return nil, fmt.Errorf("%w: NegTokenInit without mechTypes", ErrMalformed)
	}
	return t, nil
}

// parseMechTypes decodes the [0] field of a NegTokenInit and returns the
// OIDs and the MechTypeList encoding.
func parseMechTypes(c []byte) ([]asn1.ObjectIdentifier, []byte, error) {
	list, err := readOnly(c, tagSequence, "MechTypeList")
	if err != nil {
		return nil, nil, err
	}
	var oids []asn1.ObjectIdentifier
	for rest := list; len(rest) > 0; {
		var t tlv
		if t, rest, err = readTLV(rest); err != nil {
			return nil, nil, fmt.Errorf("MechTypeList: %w", err)
		}
		if len(oids) == MaxMechTypes {
			return nil, nil, fmt.Errorf("%w: more than %d mechanism types", ErrTooLarge, MaxMechTypes)
		}
		oid, err := parseOID(t.full)
		if err != nil {
			return nil, nil, fmt.Errorf("MechTypeList: %w", err)
		}
		oids = append(oids, oid)
	}
	return oids, append([]byte{}, c...), nil
}

// parseFlags decodes the [1] ContextFlags BIT STRING.
func parseFlags(c []byte) (asn1.BitString, error) {
	t, rest, err := readTLV(c)
	if err != nil {
		return asn1.BitString{}, fmt.Errorf("reqFlags: %w", err)
	}
	if t.tag != tagBitString || len(rest) != 0 {
		return asn1.BitString{}, fmt.Errorf("%w: reqFlags is not one BIT STRING", ErrMalformed)
	}
	b := t.content
	if len(b) == 0 || b[0] > 7 || (len(b) == 1 && b[0] != 0) {
		return asn1.BitString{}, fmt.Errorf("%w: reqFlags BIT STRING padding", ErrMalformed)
	}
	bits := append([]byte{}, b[1:]...)
	if len(bits) > 0 {
		bits[len(bits)-1] &^= 1<<b[0] - 1 // unused bits read as zero
	}
	return asn1.BitString{Bytes: bits, BitLength: len(bits)*8 - int(b[0])}, nil
}

// appendFlags appends the BIT STRING encoding of f, unused bits cleared.
func appendFlags(b []byte, f asn1.BitString) ([]byte, error) {
	if f.BitLength < 0 || len(f.Bytes) != (f.BitLength+7)/8 {
		return nil, fmt.Errorf("%w: reqFlags BitLength %d does not match %d bytes", ErrInvalid, f.BitLength, len(f.Bytes))
	}
	pad := byte((8 - f.BitLength%8) % 8)
	c := append([]byte{pad}, f.Bytes...)
	if len(c) > 1 {
		c[len(c)-1] &^= 1<<pad - 1
	}
	return appendTLV(b, tagBitString, c), nil
}

// parseHints decodes the [3] negHints of a NegTokenInit2.
func parseHints(c []byte) (*NegHints, error) {
	seq, err := readOnly(c, tagSequence, "negHints")
	if err != nil {
		return nil, err
	}
	h := &NegHints{}
	err = fields(seq, 1, "negHints", func(n int, c []byte) error {
		if n == 0 {
			s, err := readOnly(c, tagGeneralString, "hintName")
			h.Name = string(s)
			return err
		}
		var err error
		h.Address, err = octets(c, "hintAddress")
		return err
	})
	if err != nil {
		return nil, err
	}
	return h, nil
}

// Marshal encodes the token with its GSS-API framing (the SPNEGO OID
// followed by the [0]-tagged NegTokenInit, or NegTokenInit2 when Hints is
// set) and sets RawMechTypes to the MechTypeList encoding. Empty fields
// are omitted.
func (t *NegTokenInit) Marshal() ([]byte, error) {
	if len(t.MechTypes) == 0 {
		return nil, fmt.Errorf("%w: NegTokenInit needs at least one mechanism", ErrInvalid)
	}
	if len(t.MechTypes) > MaxMechTypes {
		return nil, fmt.Errorf("%w: %d mechanism types, at most %d", ErrInvalid, len(t.MechTypes), MaxMechTypes)
	}
	var list []byte
	for _, m := range t.MechTypes {
		o, err := marshalOID(m)
		if err != nil {
			return nil, err
		}
		list = append(list, o...)
	}
	raw := appendTLV(nil, tagSequence, list)
	seq := appendTLV(nil, tagContext0, raw)
	if t.ReqFlags.BitLength > 0 {
		f, err := appendFlags(nil, t.ReqFlags)
		if err != nil {
			return nil, err
		}
		seq = appendTLV(seq, tagContext0+1, f)
	}
	if len(t.MechToken) > 0 {
		seq = appendTLV(seq, tagContext0+2, appendTLV(nil, tagOctetString, t.MechToken))
	}
	micTag := byte(tagContext0 + 3)
	if t.Hints != nil {
		var h []byte
		if t.Hints.Name != "" {
			h = appendTLV(h, tagContext0, appendTLV(nil, tagGeneralString, []byte(t.Hints.Name)))
		}
		if len(t.Hints.Address) > 0 {
			h = appendTLV(h, tagContext0+1, appendTLV(nil, tagOctetString, t.Hints.Address))
		}
		seq = appendTLV(seq, tagContext0+3, appendTLV(nil, tagSequence, h))
		micTag = tagContext0 + 4
	}
	if len(t.MechListMIC) > 0 {
		seq = appendTLV(seq, micTag, appendTLV(nil, tagOctetString, t.MechListMIC))
	}
	out, err := wrapGSS(OIDSPNEGO, appendTLV(nil, tagContext0, appendTLV(nil, tagSequence, seq)))
	if err != nil {
		return nil, err
	}
	if len(out) > MaxTokenSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(out))
	}
	t.RawMechTypes = raw
	return out, nil
}

// ParseResp decodes a NegTokenResp: a [1]-tagged SEQUENCE spanning the
// whole token. negState, when present, must be one of the four RFC 4178
// values.
func ParseResp(token []byte) (*NegTokenResp, error) {
	if err := checkSize(token); err != nil {
		return nil, err
	}
	nt, err := readOnly(token, tagContext0+1, "NegotiationToken")
	if err != nil {
		return nil, err
	}
	seq, err := readOnly(nt, tagSequence, "NegTokenResp")
	if err != nil {
		return nil, err
	}
	r := &NegTokenResp{State: NoNegState}
	err = fields(seq, 3, "NegTokenResp", func(n int, c []byte) error {
		var err error
		switch n {
		case 0:
			r.State, err = parseNegState(c)
		case 1:
			r.SupportedMech, err = parseOID(c)
		case 2:
			r.ResponseToken, err = octets(c, "responseToken")
		case 3:
			r.MechListMIC, err = octets(c, "mechListMIC")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// parseNegState decodes the [0] negState ENUMERATED.
func parseNegState(c []byte) (NegState, error) {
	v, err := readOnly(c, tagEnumerated, "negState")
	if err != nil {
		return 0, err
	}
	// The four values fit one octet; DER allows no other encoding of them.
	if len(v) != 1 || v[0] > byte(RequestMIC) {
		return 0, fmt.Errorf("%w: negState is not one of the RFC 4178 values", ErrMalformed)
	}
	return NegState(v[0]), nil
}

// Marshal encodes the token: the [1]-tagged NegTokenResp, without GSS-API
// framing. Absent fields (NoNegState, nil SupportedMech, empty tokens) are
// omitted.
func (r *NegTokenResp) Marshal() ([]byte, error) {
	var seq []byte
	switch {
	case r.State == NoNegState:
	case r.State >= AcceptCompleted && r.State <= RequestMIC:
		seq = appendTLV(seq, tagContext0, []byte{tagEnumerated, 1, byte(r.State)})
	default:
		return nil, fmt.Errorf("%w: %v", ErrInvalid, r.State)
	}
	if r.SupportedMech != nil {
		o, err := marshalOID(r.SupportedMech)
		if err != nil {
			return nil, err
		}
		seq = appendTLV(seq, tagContext0+1, o)
	}
	if len(r.ResponseToken) > 0 {
		seq = appendTLV(seq, tagContext0+2, appendTLV(nil, tagOctetString, r.ResponseToken))
	}
	if len(r.MechListMIC) > 0 {
		seq = appendTLV(seq, tagContext0+3, appendTLV(nil, tagOctetString, r.MechListMIC))
	}
	out := appendTLV(nil, tagContext0+1, appendTLV(nil, tagSequence, seq))
	if len(out) > MaxTokenSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(out))
	}
	return out, nil
}
