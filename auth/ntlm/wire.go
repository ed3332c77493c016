package ntlm

import (
	"encoding/binary"
	"fmt"
	"unicode/utf16"
)

// This file encodes and decodes the three handshake messages (MS-NLMP
// 2.2.1) and AV_PAIR lists (2.2.2.1). Decoders bound every offset and
// length by the message and never panic.

var le = binary.LittleEndian

// checkHeader checks the signature and message type of msg.
func checkHeader(msg []byte, typ uint32, minLen int) error {
	if len(msg) > MaxMessageSize {
		return fmt.Errorf("%w: message of %d bytes exceeds %d", ErrMalformed, len(msg), MaxMessageSize)
	}
	if len(msg) < minLen {
		return fmt.Errorf("%w: message of %d bytes is shorter than its fixed header", ErrMalformed, len(msg))
	}
	if [8]byte(msg[:8]) != signature {
		return fmt.Errorf("%w: no NTLMSSP signature", ErrMalformed)
	}
	if got := le.Uint32(msg[8:12]); got != typ {
		return fmt.Errorf("%w: message type %d, want %d", ErrMalformed, got, typ)
	}
	return nil
}

// field decodes the Len/MaxLen/Offset descriptor at msg[at:at+8] and
// returns the bytes it names, with their offset. An empty field is nil
// whatever its offset says. minOffset is the end of the fixed header:
// payload may not overlap it.
func field(msg []byte, at, minOffset int, name string) ([]byte, int, error) {
	n := int(le.Uint16(msg[at:]))
	off := int(le.Uint32(msg[at+4:]))
	if n == 0 {
		return nil, 0, nil
	}
	if off < minOffset || off > len(msg) || n > len(msg)-off {
		return nil, 0, fmt.Errorf("%w: %s field (offset %d, length %d) outside the payload of a %d-byte message",
			ErrMalformed, name, off, n, len(msg))
	}
	return msg[off : off+n : off+n], off, nil
}

// putField writes a descriptor for n bytes at offset off.
func putField(b []byte, at, n, off int) {
	le.PutUint16(b[at:], uint16(n))
	le.PutUint16(b[at+2:], uint16(n))
	le.PutUint32(b[at+4:], uint32(off))
}

// encodeUTF16 returns s as UTF-16LE without a terminator or BOM.
func encodeUTF16(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		le.PutUint16(b[2*i:], c)
	}
	return b
}

// decodeUTF16 decodes UTF-16LE. Unpaired surrogates become U+FFFD.
func decodeUTF16(b []byte) (string, error) {
	if len(b)%2 != 0 {
		return "", fmt.Errorf("%w: odd-length UTF-16 string", ErrMalformed)
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = le.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u)), nil
}

// decodeString decodes a string field in the character set flags select.
// OEM strings are read as ISO 8859-1: the OEM code page is agreed out of
// band (MS-NLMP 2.2), and clients that use OEM send ASCII names.
func decodeString(b []byte, flags uint32) (string, error) {
	if len(b) > maxNameBytes {
		return "", fmt.Errorf("%w: name of %d bytes exceeds %d", ErrMalformed, len(b), maxNameBytes)
	}
	if flags&flagUnicode != 0 {
		return decodeUTF16(b)
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r), nil
}

// avPair is one AV_PAIR. Values alias the message they were parsed from.
type avPair struct {
	id  uint16
	val []byte
}

// avList is an AV_PAIR sequence without its MsvAvEOL terminator.
type avList []avPair

// parseAVPairs decodes an AV_PAIR list up to its MsvAvEOL. Bytes after the
// terminator (NTLMv2_CLIENT_CHALLENGE ends with Z(4)) are ignored. A list
// without a terminator, with a truncated pair, or with more than
// maxAVPairs pairs is malformed.
func parseAVPairs(b []byte) (avList, error) {
	var l avList
	for len(l) <= maxAVPairs {
		if len(b) < 4 {
			return nil, fmt.Errorf("%w: AV_PAIR list without MsvAvEOL", ErrMalformed)
		}
		id, n := le.Uint16(b), int(le.Uint16(b[2:]))
		if id == avEOL {
			return l, nil
		}
		if n > len(b)-4 {
			return nil, fmt.Errorf("%w: AV_PAIR %d of %d bytes overruns its list", ErrMalformed, id, n)
		}
		l = append(l, avPair{id: id, val: b[4 : 4+n : 4+n]})
		b = b[4+n:]
	}
	return nil, fmt.Errorf("%w: more than %d AV_PAIRs", ErrMalformed, maxAVPairs)
}

// get returns the value of the first pair with id.
func (l avList) get(id uint16) ([]byte, bool) {
	for _, p := range l {
		if p.id == id {
			return p.val, true
		}
	}
	return nil, false
}

// fixed returns the value of the first pair with id, which must be n bytes
// long when present.
func (l avList) fixed(id uint16, n int) ([]byte, bool, error) {
	v, ok := l.get(id)
	if ok && len(v) != n {
		return nil, false, fmt.Errorf("%w: AV_PAIR %d has %d bytes, want %d", ErrMalformed, id, len(v), n)
	}
	return v, ok, nil
}

// marshal encodes l followed by MsvAvEOL.
func (l avList) marshal() []byte {
	n := 4
	for _, p := range l {
		n += 4 + len(p.val)
	}
	b := make([]byte, 0, n)
	for _, p := range l {
		b = le.AppendUint16(b, p.id)
		b = le.AppendUint16(b, uint16(len(p.val)))
		b = append(b, p.val...)
	}
	return append(b, 0, 0, 0, 0)
}

// negotiateMsg is the part of a NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1) that
// the server uses. The OEM domain and workstation are informational and
// ignored.
type negotiateMsg struct {
	flags uint32
}

// parseNegotiate decodes a NEGOTIATE_MESSAGE. Only the signature, type and
// flags are required (16 bytes), as very old clients sent no more.
func parseNegotiate(msg []byte) (negotiateMsg, error) {
	if err := checkHeader(msg, typeNegotiate, 16); err != nil {
		return negotiateMsg{}, err
	}
	return negotiateMsg{flags: le.Uint32(msg[12:16])}, nil
}

// marshalNegotiate encodes a NEGOTIATE_MESSAGE with empty domain and
// workstation (MS-NLMP 3.1.5.1.1 requires them empty when VERSION is set).
func marshalNegotiate(flags uint32) []byte {
	const n = negotiateHeaderLen + 8
	b := make([]byte, n)
	copy(b, signature[:])
	le.PutUint32(b[8:], typeNegotiate)
	le.PutUint32(b[12:], flags)
	putField(b, 16, 0, n)
	putField(b, 24, 0, n)
	if flags&flagVersion != 0 {
		copy(b[32:], productVersion[:])
	}
	return b
}

// challengeMsg is a CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2).
type challengeMsg struct {
	flags           uint32
	serverChallenge [8]byte
	targetName      string
	targetInfo      avList
	hasTargetInfo   bool
	version         [8]byte // sent when flags has NTLMSSP_NEGOTIATE_VERSION
}

// marshal encodes m in Unicode with a Version field (m.version when
// NTLMSSP_NEGOTIATE_VERSION is set, else zero).
func (m *challengeMsg) marshal() []byte {
	name := encodeUTF16(m.targetName)
	var info []byte
	if m.hasTargetInfo {
		info = m.targetInfo.marshal()
	}
	const hdr = challengeHeaderLen + 8
	b := make([]byte, hdr, hdr+len(name)+len(info))
	copy(b, signature[:])
	le.PutUint32(b[8:], typeChallenge)
	putField(b, 12, len(name), hdr)
	le.PutUint32(b[20:], m.flags)
	copy(b[24:32], m.serverChallenge[:])
	putField(b, 40, len(info), hdr+len(name))
	if m.flags&flagVersion != 0 {
		copy(b[48:], m.version[:])
	}
	b = append(b, name...)
	return append(b, info...)
}

// parseChallenge decodes a CHALLENGE_MESSAGE.
func parseChallenge(msg []byte) (*challengeMsg, error) {
	if err := checkHeader(msg, typeChallenge, challengeHeaderLen); err != nil {
		return nil, err
	}
	m := &challengeMsg{flags: le.Uint32(msg[20:24])}
	copy(m.serverChallenge[:], msg[24:32])
	name, _, err := field(msg, 12, challengeHeaderLen, "TargetName")
	if err != nil {
		return nil, err
	}
	if m.targetName, err = decodeString(name, m.flags); err != nil {
		return nil, err
	}
	info, _, err := field(msg, 40, challengeHeaderLen, "TargetInfo")
	if err != nil {
		return nil, err
	}
	if len(info) > 0 {
		if m.targetInfo, err = parseAVPairs(info); err != nil {
			return nil, err
		}
		m.hasTargetInfo = true
	}
	return m, nil
}

// authenticateMsg is an AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3).
type authenticateMsg struct {
	lmResponse, ntResponse    []byte
	domain, user, workstation string
	encryptedRandomSessionKey []byte
	flags                     uint32
	// payloadStart is the smallest offset of a non-empty field: the
	// header ends there, so the MIC field exists iff it is at least 88.
	payloadStart int
}

// parseAuthenticate decodes an AUTHENTICATE_MESSAGE. The Version and MIC
// fields are optional (Windows XP and Azure/go-ntlmssp omit them); their
// presence shows in payloadStart.
func parseAuthenticate(msg []byte) (*authenticateMsg, error) {
	if err := checkHeader(msg, typeAuthenticate, authenticateHeaderLen); err != nil {
		return nil, err
	}
	m := &authenticateMsg{flags: le.Uint32(msg[60:64]), payloadStart: len(msg)}
	var raw [6][]byte
	for i, name := range [6]string{"LmChallengeResponse", "NtChallengeResponse", "DomainName", "UserName", "Workstation", "EncryptedRandomSessionKey"} {
		b, off, err := field(msg, 12+8*i, authenticateHeaderLen, name)
		if err != nil {
			return nil, err
		}
		if b != nil && off < m.payloadStart {
			m.payloadStart = off
		}
		raw[i] = b
	}
	m.lmResponse, m.ntResponse, m.encryptedRandomSessionKey = raw[0], raw[1], raw[5]
	var err error
	if m.domain, err = decodeString(raw[2], m.flags); err != nil {
		return nil, err
	}
	if m.user, err = decodeString(raw[3], m.flags); err != nil {
		return nil, err
	}
	if m.workstation, err = decodeString(raw[4], m.flags); err != nil {
		return nil, err
	}
	return m, nil
}

// hasMICField reports whether the message has room for a MIC field.
func (m *authenticateMsg) hasMICField() bool { return m.payloadStart >= authenticateMICEnd }

// marshal encodes m in Unicode with Version and a zero MIC field; the
// caller fills the MIC in at [authenticateVersionEnd:authenticateMICEnd].
func (m *authenticateMsg) marshal() []byte {
	parts := [6][]byte{
		m.lmResponse, m.ntResponse,
		encodeUTF16(m.domain), encodeUTF16(m.user), encodeUTF16(m.workstation),
		m.encryptedRandomSessionKey,
	}
	n := authenticateMICEnd
	for _, p := range parts {
		n += len(p)
	}
	b := make([]byte, authenticateMICEnd, n)
	copy(b, signature[:])
	le.PutUint32(b[8:], typeAuthenticate)
	// Payload order as Windows writes it: names first, then responses.
	off := authenticateMICEnd
	for _, i := range [6]int{2, 3, 4, 0, 1, 5} {
		putField(b, 12+8*i, len(parts[i]), off)
		off += len(parts[i])
	}
	le.PutUint32(b[60:], m.flags)
	if m.flags&flagVersion != 0 {
		copy(b[64:], productVersion[:])
	}
	for _, i := range [6]int{2, 3, 4, 0, 1, 5} {
		b = append(b, parts[i]...)
	}
	return b
}
