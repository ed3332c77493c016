package wsman

import (
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// This file is psremote's own XML scanner. encoding/xml reads a byte at
// a time and allocates per token (about 75 MB/s here), which made XML the
// largest cost of a WinRM request and capped Receive throughput; WS-Man
// needs only a small, strict subset of XML. The scanner accepts a subset
// of what encoding/xml accepts in strict mode and builds the same tree:
// FuzzParseXMLDifferential checks both properties against parseXMLStd.

var errMalformed = errors.New("wsman: malformed XML")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errMalformed, fmt.Sprintf(format, args...))
}

type scanner struct {
	data  []byte
	pos   int
	lim   ParseLimits
	attrs []xml.Attr // scratch for the attributes of the tag being read
	alias bool       // see parseXML
}

// ParseXML parses a UTF-8 XML document into an element tree. DTDs,
// entity declarations and processing instructions other than the XML
// declaration are refused; only the five predefined entities and
// character references are expanded; line ends become LF as XML requires.
func ParseXML(data []byte, lim ParseLimits) (*Element, error) {
	return parseXML(data, lim, false)
}

// parseXML is ParseXML; with alias, text that needs no decoding shares
// memory with data instead of being copied (stream payloads are most of a
// Receive reply). Only callers that own data and never modify it again may
// set alias.
func parseXML(data []byte, lim ParseLimits, alias bool) (*Element, error) {
	if lim.MaxDepth <= 0 {
		lim.MaxDepth = DefaultMaxDepth
	}
	if lim.MaxElements <= 0 {
		lim.MaxElements = DefaultMaxElements
	}
	s := &scanner{data: data, lim: lim, alias: alias}
	root, err := s.document()
	if err != nil {
		return nil, err
	}
	if err := resolveNamespaces(root, nil); err != nil {
		return nil, err
	}
	return root, nil
}

func (s *scanner) document() (*Element, error) {
	if bytes.HasPrefix(s.data, []byte("<?xml")) && len(s.data) > 5 && isSpace(s.data[5]) {
		if err := s.xmlDecl(); err != nil {
			return nil, err
		}
	}
	var (
		root  *Element
		stack []*Element
		text  []textAcc // character data of each open element
		count int
		slab  []Element // elements are allocated in blocks
	)
	for s.pos < len(s.data) {
		i := bytes.IndexByte(s.data[s.pos:], '<')
		end := len(s.data)
		if i >= 0 {
			end = s.pos + i
		}
		if end > s.pos {
			chunk := s.data[s.pos:end]
			if len(stack) == 0 {
				if !allSpace(chunk) {
					return nil, malformed("text outside the root element")
				}
			} else if err := text[len(text)-1].add(chunk); err != nil {
				return nil, err
			}
			s.pos = end
		}
		if s.pos >= len(s.data) {
			break
		}
		rest := s.data[s.pos:]
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			j := bytes.Index(rest[4:], []byte("-->"))
			if j < 0 {
				return nil, malformed("unterminated comment")
			}
			body := rest[4 : 4+j]
			if bytes.Contains(body, []byte("--")) || bytes.HasSuffix(body, []byte("-")) {
				return nil, malformed("-- inside a comment")
			}
			if err := checkChars(body); err != nil {
				return nil, err
			}
			s.pos += 4 + j + 3
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			if len(stack) == 0 {
				return nil, malformed("CDATA outside the root element")
			}
			j := bytes.Index(rest[9:], []byte("]]>"))
			if j < 0 {
				return nil, malformed("unterminated CDATA section")
			}
			raw := rest[9 : 9+j]
			if err := checkChars(raw); err != nil {
				return nil, err
			}
			t := &text[len(text)-1]
			t.buf = appendNewlines(t.materialize(), raw)
			s.pos += 9 + j + 3
		case bytes.HasPrefix(rest, []byte("<!")):
			return nil, errors.New("wsman: DTDs and entity declarations are not accepted")
		case bytes.HasPrefix(rest, []byte("<?")):
			return nil, errors.New("wsman: processing instructions are not accepted")
		case bytes.HasPrefix(rest, []byte("</")):
			if len(stack) == 0 {
				return nil, malformed("unexpected end element")
			}
			s.pos += 2
			prefix, local, err := s.name()
			if err != nil {
				return nil, err
			}
			s.skipSpace()
			if !s.consume('>') {
				return nil, malformed("end element </%s> not closed by >", local)
			}
			el := stack[len(stack)-1]
			if prefix != el.Space || local != el.Local {
				return nil, malformed("element <%s> closed by </%s>", el.Local, local)
			}
			el.Text = text[len(text)-1].string(s.alias)
			stack = stack[:len(stack)-1]
			text = text[:len(text)-1]
		default:
			count++
			if count > s.lim.MaxElements {
				return nil, fmt.Errorf("%w: more than %d elements", ErrXMLLimit, s.lim.MaxElements)
			}
			if len(stack) >= s.lim.MaxDepth {
				return nil, fmt.Errorf("%w: nesting deeper than %d", ErrXMLLimit, s.lim.MaxDepth)
			}
			if root != nil && len(stack) == 0 {
				return nil, malformed("more than one root element")
			}
			s.pos++
			if len(slab) == 0 {
				slab = make([]Element, 16)
			}
			el := &slab[0]
			slab = slab[1:]
			selfClosing, err := s.startTag(el)
			if err != nil {
				return nil, err
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, el)
			} else {
				root = el
			}
			if !selfClosing {
				stack = append(stack, el)
				text = append(text, textAcc{})
			}
		}
	}
	if root == nil {
		return nil, malformed("no root element")
	}
	if len(stack) != 0 {
		return nil, malformed("unexpected end of document")
	}
	return root, nil
}

// xmlDecl checks `<?xml version="1.0" encoding="..." standalone="..."?>`.
// The body is already UTF-8; a declared UTF-16 is accepted as such.
func (s *scanner) xmlDecl() error {
	end := bytes.Index(s.data, []byte("?>"))
	if end < 0 {
		return malformed("unterminated XML declaration")
	}
	decl := string(s.data[5:end])
	s.pos = end + 2
	if v, ok := declParam(decl, "version"); !ok || v != "1.0" {
		return malformed("XML declaration must say version=\"1.0\"")
	}
	if v, ok := declParam(decl, "encoding"); ok {
		switch strings.ToLower(v) {
		case "utf-8", "utf8", "utf-16", "utf-16le", "utf-16be", "utf16", "us-ascii", "ascii":
		default:
			return fmt.Errorf("wsman: unsupported encoding %q", v)
		}
	}
	return nil
}

// declParam finds a pseudo-attribute of the XML declaration.
func declParam(decl, name string) (string, bool) {
	i := strings.Index(decl, name)
	if i < 0 {
		return "", false
	}
	v := strings.TrimLeft(decl[i+len(name):], " \t\r\n")
	if !strings.HasPrefix(v, "=") {
		return "", false
	}
	v = strings.TrimLeft(v[1:], " \t\r\n")
	if v == "" || (v[0] != '"' && v[0] != '\'') {
		return "", false
	}
	q := strings.IndexByte(v[1:], v[0])
	if q < 0 {
		return "", false
	}
	return v[1 : 1+q], true
}

// startTag reads a start tag after '<' into el: name, attributes, '>'
// or '/>'.
func (s *scanner) startTag(el *Element) (bool, error) {
	prefix, local, err := s.name()
	if err != nil {
		return false, err
	}
	el.Space, el.Local = prefix, local
	s.attrs = s.attrs[:0]
	defer func() {
		if len(s.attrs) > 0 {
			el.Attrs = slices.Clone(s.attrs)
		}
	}()
	for {
		hadSpace := s.skipSpace()
		if s.pos >= len(s.data) {
			return false, malformed("unexpected end of document in <%s>", local)
		}
		switch s.data[s.pos] {
		case '>':
			s.pos++
			return false, nil
		case '/':
			s.pos++
			if !s.consume('>') {
				return false, malformed("expected /> in <%s>", local)
			}
			return true, nil
		}
		if !hadSpace {
			return false, malformed("attributes of <%s> must be separated by space", local)
		}
		if len(s.attrs) >= maxAttrs {
			return false, fmt.Errorf("%w: more than %d attributes", ErrXMLLimit, maxAttrs)
		}
		ap, al, err := s.name()
		if err != nil {
			return false, err
		}
		s.skipSpace()
		if !s.consume('=') {
			return false, malformed("attribute %s without value", al)
		}
		s.skipSpace()
		if s.pos >= len(s.data) || (s.data[s.pos] != '"' && s.data[s.pos] != '\'') {
			return false, malformed("attribute %s value not quoted", al)
		}
		q := s.data[s.pos]
		s.pos++
		j := bytes.IndexByte(s.data[s.pos:], q)
		if j < 0 {
			return false, malformed("unterminated attribute value")
		}
		raw := s.data[s.pos : s.pos+j]
		if bytes.IndexByte(raw, '<') >= 0 {
			return false, malformed("< in attribute value")
		}
		val, err := appendText(nil, raw)
		if err != nil {
			return false, err
		}
		s.pos += j + 1
		for _, a := range s.attrs {
			if a.Name.Space == ap && a.Name.Local == al {
				return false, malformed("duplicate attribute %s", al)
			}
		}
		s.attrs = append(s.attrs, xml.Attr{Name: xml.Name{Space: ap, Local: al}, Value: string(val)})
	}
}

// name reads a (possibly prefixed) XML name, split at its first colon as
// encoding/xml does. Only ASCII names are accepted: every WS-Management,
// WinRS and PSRP element and attribute name is ASCII, and the restriction
// keeps the scanner a strict subset of encoding/xml.
func (s *scanner) name() (prefix, local string, err error) {
	start := s.pos
	for s.pos < len(s.data) && isNameByte(s.data[s.pos]) {
		s.pos++
	}
	raw := s.data[start:s.pos]
	if p, l, ok := knownName(raw); ok {
		return p, l, nil
	}
	n := string(raw)
	if n == "" {
		return "", "", malformed("expected a name at offset %d", start)
	}
	// A name is an NCName or prefix:NCName (Namespaces in XML), with
	// NCName = [A-Za-z_][A-Za-z0-9_.-]*.
	prefix, local, found := strings.Cut(n, ":")
	if !found {
		prefix, local = "", n
	}
	if found && !isNCName(prefix) || !isNCName(local) {
		return "", "", malformed("invalid name %q", n)
	}
	return prefix, local, nil
}

func isNCName(s string) bool {
	if s == "" {
		return false
	}
	if c := s[0]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_') {
		return false
	}
	return !strings.ContainsRune(s, ':')
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == ':' || c == '-' || c == '.'
}

func (s *scanner) skipSpace() bool {
	start := s.pos
	for s.pos < len(s.data) && isSpace(s.data[s.pos]) {
		s.pos++
	}
	return s.pos > start
}

func (s *scanner) consume(c byte) bool {
	if s.pos < len(s.data) && s.data[s.pos] == c {
		s.pos++
		return true
	}
	return false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func allSpace(b []byte) bool {
	for _, c := range b {
		if !isSpace(c) {
			return false
		}
	}
	return true
}

// textAcc accumulates an element's character data. The common case, one
// chunk without references or CRs, is kept as a view into the document
// and copied once, into the final string.
type textAcc struct {
	view   []byte
	buf    []byte
	copied bool
}

func (t *textAcc) add(chunk []byte) error {
	if !t.copied && t.view == nil && bytes.IndexByte(chunk, '&') < 0 && bytes.IndexByte(chunk, '\r') < 0 {
		if err := checkChars(chunk); err != nil {
			return err
		}
		if bytes.Contains(chunk, []byte("]]>")) {
			return malformed("]]> in character data")
		}
		t.view = chunk
		return nil
	}
	var err error
	t.buf, err = appendText(t.materialize(), chunk)
	return err
}

// materialize switches to an owned buffer holding the text so far.
func (t *textAcc) materialize() []byte {
	if !t.copied {
		t.buf = append(t.buf, t.view...)
		t.view = nil
		t.copied = true
	}
	return t.buf
}

func (t *textAcc) string(alias bool) string {
	switch {
	case t.copied:
		return string(t.buf)
	case alias && len(t.view) > 0:
		return unsafe.String(&t.view[0], len(t.view))
	}
	return string(t.view)
}

// knownWords interns the prefixes and local names WinRM clients commonly
// send, so scanning them allocates nothing. It is built once (in a few
// microseconds: process start matters to a one-shot client) and only read.
var knownWords = func() map[string]string {
	words := []string{"s", "env", "soap", "a", "wsa", "addressing", "w", "wsman", "p", "wsmv", "rsp",
		"x", "wst", "n", "wsen", "e", "wse", "wsmid", "f", "cfg", "b", "xml", "xmlns", "xsi", "xsd",
		"Envelope", "Header", "Body", "Fault", "Code", "Value", "Subcode", "Reason", "Text", "Detail",
		"To", "ReplyTo", "Address", "Action", "MessageID", "RelatesTo", "FaultTo", "ResourceURI", "MaxEnvelopeSize",
		"OperationTimeout", "Locale", "DataLocale", "SessionId", "ActivityId", "OperationID", "SequenceId",
		"SelectorSet", "Selector", "OptionSet", "Option", "Shell", "ShellId", "Environment", "Variable",
		"WorkingDirectory", "Lifetime", "IdleTimeOut", "InputStreams", "OutputStreams", "CommandLine", "Command",
		"Arguments", "CommandResponse", "CommandId", "Send", "SendResponse", "Stream", "Receive", "ReceiveResponse",
		"DesiredStream", "CommandState", "ExitCode", "Signal", "SignalResponse", "ResourceCreated",
		"ReferenceParameters", "Identify", "IdentifyResponse", "Enumerate", "EnumerateResponse", "Pull",
		"PullResponse", "EnumerationContext", "Items", "EndOfSequence", "MaxElements", "OptimizeEnumeration",
		"WSManFault", "Message", "FaultDetail", "ProviderFault", "Name", "MustComply", "Type", "State", "End",
		"mustUnderstand", "lang", "ResourceUri", "Owner", "ClientIP", "ShellRunTime", "ShellInactivity"}
	m := make(map[string]string, len(words))
	for _, w := range words {
		m[w] = w
	}
	return m
}()

// knownName splits a qualified name made of known words without
// allocating; ok is false for anything else, which the caller then
// checks and copies.
func knownName(raw []byte) (prefix, local string, ok bool) {
	i := bytes.IndexByte(raw, ':')
	if i < 0 {
		local, ok = knownWords[string(raw)]
		return "", local, ok
	}
	if prefix, ok = knownWords[string(raw[:i])]; !ok {
		return "", "", false
	}
	local, ok = knownWords[string(raw[i+1:])]
	return prefix, local, ok
}

// checkChars rejects characters XML does not allow: controls other than
// TAB, LF and CR, U+FFFE, U+FFFF, and invalid UTF-8.
func checkChars(b []byte) error {
	for i := 0; i < len(b); {
		// Fast path: eight printable ASCII bytes at a time (base64 output
		// is all of this kind).
		for i+8 <= len(b) {
			w := binary.LittleEndian.Uint64(b[i:])
			// A byte below 0x20 has no bit in 0xE0; a byte from 0x80 has 0x80.
			if (w-0x2020202020202020)&^w&0x8080808080808080 != 0 || w&0x8080808080808080 != 0 {
				break
			}
			i += 8
		}
		if i >= len(b) {
			break
		}
		c := b[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return malformed("illegal character code U+%04X", c)
			}
			i++
			continue
		}
		r, w := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && w == 1 || !isXMLChar(r) {
			return malformed("illegal character code U+%04X", r)
		}
		i += w
	}
	return nil
}

func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// appendText decodes character data (entities, character references,
// line ends) onto dst.
func appendText(dst, raw []byte) ([]byte, error) {
	if err := checkChars(raw); err != nil {
		return nil, err
	}
	for {
		i := bytes.IndexByte(raw, '&')
		if i < 0 {
			if bytes.Contains(raw, []byte("]]>")) {
				return nil, malformed("]]> in character data")
			}
			return appendNewlines(dst, raw), nil
		}
		if bytes.Contains(raw[:i], []byte("]]>")) {
			return nil, malformed("]]> in character data")
		}
		dst = appendNewlines(dst, raw[:i])
		raw = raw[i+1:]
		j := bytes.IndexByte(raw, ';')
		if j <= 0 || j > 16 {
			return nil, malformed("invalid character entity")
		}
		ent := string(raw[:j])
		raw = raw[j+1:]
		switch ent {
		case "lt":
			dst = append(dst, '<')
		case "gt":
			dst = append(dst, '>')
		case "amp":
			dst = append(dst, '&')
		case "apos":
			dst = append(dst, '\'')
		case "quot":
			dst = append(dst, '"')
		default:
			if ent[0] != '#' {
				return nil, malformed("invalid character entity &%s;", ent)
			}
			var n uint64
			var err error
			if len(ent) > 2 && ent[1] == 'x' {
				n, err = strconv.ParseUint(ent[2:], 16, 32)
			} else {
				n, err = strconv.ParseUint(ent[1:], 10, 32)
			}
			if err != nil || !isXMLChar(rune(n)) || strings.ContainsAny(ent[1:2], "+-") {
				return nil, malformed("invalid character entity &%s;", ent)
			}
			dst = utf8.AppendRune(dst, rune(n))
		}
	}
}

// appendNewlines appends b with CRLF and lone CR turned into LF.
func appendNewlines(dst, b []byte) []byte {
	for {
		i := bytes.IndexByte(b, '\r')
		if i < 0 {
			return append(dst, b...)
		}
		dst = append(dst, b[:i]...)
		dst = append(dst, '\n')
		b = b[i+1:]
		if len(b) > 0 && b[0] == '\n' {
			b = b[1:]
		}
	}
}
