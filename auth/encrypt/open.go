package encrypt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Bounds on the MIME headers of one part.
const (
	maxHeaderLine  = 1024
	maxPartHeaders = 16
	maxLengthDigit = 10
)

// Open parses an encrypted body (given its Content-Type), unwraps every
// part in order with w, checks each decrypted length against Length=, and
// returns the plaintext and the OriginalContent type of the first part
// without its Length parameter (e.g. "application/soap+xml;charset=UTF-8").
// maxPlain bounds the total plaintext (the caller passes MaxEnvelopeSize;
// maxPlain <= 0 means DefaultMaxPlain); exceeding it is ErrTooLarge,
// detected from Length= before anything is decrypted.
//
// The protocol must be one of the Protocol constants (else ErrProtocol)
// and every metadata part's Content-Type, when present, must name it. The
// caller checks that the protocol suits its security context (pywinrm's
// Kerberos transport sends ProtocolSPNEGO). After an error the context
// may have unwrapped some parts (its sequence state advanced); callers
// discard it, as WinRM clients re-authenticate.
func Open(w Wrapper, contentType string, body []byte, maxPlain int) (plaintext []byte, originalType string, err error) {
	protocol, boundary, _, ok := ParseContentType(contentType)
	if !ok {
		return nil, "", ErrNotEncrypted
	}
	if _, known := canonicalProtocol(protocol); !known {
		return nil, "", fmt.Errorf("%w: %q", ErrProtocol, protocol)
	}
	if w == nil {
		return nil, "", errors.New("encrypt: nil Wrapper")
	}
	if maxPlain <= 0 {
		maxPlain = DefaultMaxPlain
	}
	p := &bodyParser{b: body, boundary: []byte(boundary)}
	for p.pos < len(body) && isSpace(body[p.pos]) {
		p.pos++ // tolerate a preamble of blank lines
	}
	final, err := p.readDelimiter()
	if err != nil {
		return nil, "", err
	}
	for part := 1; !final; part++ {
		if part > MaxParts {
			return nil, "", fmt.Errorf("%w: more than %d parts", ErrMalformed, MaxParts)
		}
		length, otype, err := p.readMetadata(protocol)
		if err != nil {
			return nil, "", fmt.Errorf("part %d: %w", part, err)
		}
		if length > maxPlain-len(plaintext) {
			return nil, "", fmt.Errorf("%w: more than %d bytes", ErrTooLarge, maxPlain)
		}
		if part == 1 {
			originalType = otype
		}
		if _, err := p.readDelimiter(); err != nil {
			return nil, "", fmt.Errorf("part %d: %w", part, err)
		}
		hdr, ct, err := p.readData(length)
		if err != nil {
			return nil, "", fmt.Errorf("part %d: %w", part, err)
		}
		plain, err := w.UnwrapWinRM(hdr, ct)
		if err != nil {
			return nil, "", fmt.Errorf("encrypt: unwrapping part %d: %w", part, err)
		}
		if len(plain) != length {
			return nil, "", fmt.Errorf("%w: part %d decrypted to %d bytes, Length=%d", ErrLength, part, len(plain), length)
		}
		plaintext = append(plaintext, plain...)
		if p.pos == len(body) {
			break // no closing delimiter at all
		}
		if final, err = p.readDelimiter(); err != nil {
			return nil, "", fmt.Errorf("after part %d: %w", part, err)
		}
	}
	if originalType == "" {
		return nil, "", fmt.Errorf("%w: no encrypted parts", ErrMalformed)
	}
	if plaintext == nil {
		plaintext = []byte{}
	}
	return plaintext, originalType, nil
}

// bodyParser walks an encrypted body.
type bodyParser struct {
	b        []byte
	pos      int
	boundary []byte
}

// delimiterAt reports whether a delimiter ("--", optional spaces or tabs,
// the boundary) starts at i, and returns the index after the boundary.
func (p *bodyParser) delimiterAt(i int) (int, bool) {
	b := p.b
	if i < 0 || i+2 > len(b) || b[i] != '-' || b[i+1] != '-' {
		return 0, false
	}
	i += 2
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	if !bytes.HasPrefix(b[i:], p.boundary) {
		return 0, false
	}
	return i + len(p.boundary), true
}

// readDelimiter consumes the delimiter line at pos. final is true for a
// close delimiter ("--" after the boundary; what follows is epilogue) or
// a delimiter at the very end of the body.
func (p *bodyParser) readDelimiter() (final bool, err error) {
	end, ok := p.delimiterAt(p.pos)
	if !ok {
		return false, fmt.Errorf("%w: boundary delimiter expected at offset %d", ErrMalformed, p.pos)
	}
	b := p.b
	if bytes.HasPrefix(b[end:], []byte("--")) {
		p.pos = len(b)
		return true, nil
	}
	for end < len(b) && (b[end] == ' ' || b[end] == '\t') {
		end++
	}
	switch {
	case end == len(b):
		p.pos = end
		return true, nil
	case b[end] == '\n':
		p.pos = end + 1
	case b[end] == '\r' && end+1 < len(b) && b[end+1] == '\n':
		p.pos = end + 2
	default:
		return false, fmt.Errorf("%w: junk after boundary delimiter at offset %d", ErrMalformed, end)
	}
	if len(bytes.Trim(b[p.pos:], " \t\r\n")) == 0 {
		p.pos = len(b) // a last delimiter without the closing "--"
		return true, nil
	}
	return false, nil
}

// isTokenChar reports an RFC 9110 token character.
func isTokenChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// headerLine decodes the MIME header line at the start of b: optional
// spaces or tabs, a token, ":", a value of printable characters or tabs,
// and LF or CRLF within maxHeaderLine bytes. n is the line's length; ok is
// false for anything else (such as the binary data after a data part's
// header, whose 4-byte length has a zero octet before any line end).
func headerLine(b []byte) (name, value string, n int, ok bool) {
	b = b[:min(len(b), maxHeaderLine)]
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	start := i
	for i < len(b) && isTokenChar(b[i]) {
		i++
	}
	if i == start || i >= len(b) || b[i] != ':' {
		return "", "", 0, false
	}
	name = string(b[start:i])
	i++
	j := bytes.IndexByte(b[i:], '\n')
	if j < 0 {
		return "", "", 0, false
	}
	v := b[i : i+j]
	v = bytes.TrimSuffix(v, []byte("\r"))
	for _, c := range v {
		if c < 0x20 && c != '\t' || c == 0x7f {
			return "", "", 0, false
		}
	}
	return name, strings.Trim(string(v), " \t"), i + j + 1, true
}

// readHeaders reads the header lines at pos into a map keyed by the
// lower-cased name. Blank lines are skipped when skipBlank is set (in a
// metadata part, before the next delimiter).
func (p *bodyParser) readHeaders(skipBlank bool) (map[string]string, error) {
	h := map[string]string{}
	for {
		if skipBlank {
			for p.pos < len(p.b) && isSpace(p.b[p.pos]) {
				p.pos++
			}
		}
		name, value, n, ok := headerLine(p.b[p.pos:])
		if !ok {
			return h, nil
		}
		key := strings.ToLower(name)
		if _, dup := h[key]; dup {
			return nil, fmt.Errorf("%w: repeated %s header", ErrMalformed, name)
		}
		if len(h) == maxPartHeaders {
			return nil, fmt.Errorf("%w: more than %d headers in a part", ErrMalformed, maxPartHeaders)
		}
		h[key] = value
		p.pos += n
	}
}

// readMetadata reads a metadata part's headers and returns its Length
// and original content type.
func (p *bodyParser) readMetadata(protocol string) (length int, otype string, err error) {
	h, err := p.readHeaders(true)
	if err != nil {
		return 0, "", err
	}
	if ct, ok := h["content-type"]; ok && !strings.EqualFold(ct, protocol) {
		return 0, "", fmt.Errorf("%w: metadata part Content-Type %q, protocol %q", ErrMalformed, ct, protocol)
	}
	oc, ok := h["originalcontent"]
	if !ok {
		return 0, "", fmt.Errorf("%w: metadata part without OriginalContent", ErrMalformed)
	}
	return parseOriginalContent(oc)
}

// parseOriginalContent splits "type=T;charset=C;Length=N" (parameters in
// any order, names in any case) into N and "T;charset=C".
func parseOriginalContent(oc string) (length int, otype string, err error) {
	length = -1
	var kept []string
	for i, param := range strings.Split(oc, ";") {
		param = strings.Trim(param, " \t")
		name, value, hasValue := strings.Cut(param, "=")
		name = strings.Trim(name, " \t")
		value = strings.Trim(value, " \t\"")
		switch {
		case hasValue && strings.EqualFold(name, "length"):
			if length >= 0 {
				return 0, "", fmt.Errorf("%w: repeated Length in OriginalContent", ErrMalformed)
			}
			if length, err = parseLength(value); err != nil {
				return 0, "", err
			}
		case i == 0 && hasValue && strings.EqualFold(name, "type"):
			kept = append(kept, value)
		case param != "":
			kept = append(kept, param)
		}
	}
	if length < 0 {
		return 0, "", fmt.Errorf("%w: OriginalContent without Length", ErrMalformed)
	}
	otype = strings.Join(kept, ";")
	if otype == "" {
		return 0, "", fmt.Errorf("%w: OriginalContent without a type", ErrMalformed)
	}
	return length, otype, nil
}

// parseLength decodes a Length= value: decimal digits only.
func parseLength(s string) (int, error) {
	if s == "" || len(s) > maxLengthDigit {
		return 0, fmt.Errorf("%w: bad Length value", ErrMalformed)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%w: bad Length value", ErrMalformed)
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > int64(^uint32(0)) {
		return 0, fmt.Errorf("%w: bad Length value", ErrMalformed)
	}
	return int(n), nil
}

// readData reads a data part: its headers (Content-Type must be
// application/octet-stream), the 4-byte little-endian header length L,
// the L-byte security header and the ciphertext up to the next delimiter.
// length is the part's Length=: when a delimiter (or a CRLF and a
// delimiter, or the end of the body) follows exactly length bytes of
// ciphertext, as for NTLM and Kerberos, that is where the ciphertext
// ends; otherwise (CredSSP's TLS records are longer) it ends at the next
// delimiter or at the end of the body.
func (p *bodyParser) readData(length int) (hdr, ct []byte, err error) {
	h, err := p.readHeaders(false)
	if err != nil {
		return nil, nil, err
	}
	if ct, ok := h["content-type"]; !ok || !strings.EqualFold(ct, "application/octet-stream") {
		return nil, nil, fmt.Errorf("%w: data part is not application/octet-stream", ErrMalformed)
	}
	b := p.b
	if len(b)-p.pos < 4 {
		return nil, nil, fmt.Errorf("%w: data part without a header length", ErrMalformed)
	}
	l := uint64(binary.LittleEndian.Uint32(b[p.pos:]))
	start := p.pos + 4
	if l > uint64(len(b)-start) {
		return nil, nil, fmt.Errorf("%w: security header length %d exceeds the %d bytes left", ErrMalformed, l, len(b)-start)
	}
	hdr = b[start : start+int(l)]
	start += int(l)

	end := -1
	if e := start + length; length <= len(b)-start {
		if _, ok := p.delimiterAt(e); ok || e == len(b) {
			end = e
		} else if bytes.HasPrefix(b[e:], []byte("\r\n")) {
			if _, ok := p.delimiterAt(e + 2); ok {
				end = e
				p.pos = e + 2
				return hdr, b[start:end], nil
			}
		}
	}
	if end < 0 {
		end = p.nextDelimiter(start)
	}
	p.pos = end
	return hdr, b[start:end], nil
}

// nextDelimiter returns the offset of the first delimiter at or after i,
// or len(b) when there is none.
func (p *bodyParser) nextDelimiter(i int) int {
	b := p.b
	for i < len(b) {
		k := bytes.Index(b[i:], p.boundary)
		if k < 0 {
			break
		}
		at := i + k
		j := at
		for j > i && (b[j-1] == ' ' || b[j-1] == '\t') {
			j--
		}
		if j-2 >= i && b[j-1] == '-' && b[j-2] == '-' {
			return j - 2
		}
		i = at + 1
	}
	return len(b)
}
