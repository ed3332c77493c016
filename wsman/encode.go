package wsman

import (
	"bytes"
	"strconv"
	"unicode/utf8"

	"github.com/psremote/psremote/internal/guid"
)

// envelopeOpen declares every prefix replies use, as Windows does on
// s:Envelope (winrm-protocol.md 2.1, 2.3).
const envelopeOpen = `<s:Envelope xml:lang="en-US" xmlns:s="` + NsSOAP + `" xmlns:a="` + NsAddressing +
	`" xmlns:x="` + NsTransfer + `" xmlns:w="` + NsWSMan + `" xmlns:rsp="` + NsShell +
	`" xmlns:p="` + NsWSMV + `" xmlns:n="` + NsEnum + `">`

// NewUUID returns a random (version 4) UUID in upper case, the form
// Windows uses for ShellId and CommandId.
func NewUUID() string { return guid.New() }

// Response is an encoded reply envelope.
type Response struct {
	// Body is the UTF-8 envelope.
	Body []byte
	// Fault is set when the reply is a SOAP fault (HTTP 500).
	Fault *Fault
}

// WriteEnvelope writes a reply envelope with the given action and
// RelatesTo, calling body to write the content of s:Body.
func WriteEnvelope(buf *bytes.Buffer, action, relatesTo string, body func(*bytes.Buffer)) {
	buf.WriteString(envelopeOpen)
	buf.WriteString(`<s:Header><a:Action>`)
	EscapeText(buf, action)
	buf.WriteString(`</a:Action><a:MessageID>uuid:`)
	buf.WriteString(NewUUID())
	buf.WriteString(`</a:MessageID><a:To>` + AddressAnonymous + `</a:To>`)
	if relatesTo != "" {
		buf.WriteString(`<a:RelatesTo>`)
		EscapeText(buf, relatesTo)
		buf.WriteString(`</a:RelatesTo>`)
	}
	buf.WriteString(`</s:Header><s:Body>`)
	if body != nil {
		body(buf)
	}
	buf.WriteString(`</s:Body></s:Envelope>`)
}

// EncodeFault renders f as a complete fault envelope in the Windows shape
// (winrm-protocol.md 7.1). machine fills f:WSManFault/@Machine.
func EncodeFault(f *Fault, relatesTo, machine string) []byte {
	var buf bytes.Buffer
	action := f.Action
	if action == "" {
		action = ActionFault
	}
	WriteEnvelope(&buf, action, relatesTo, func(b *bytes.Buffer) {
		b.WriteString(`<s:Fault><s:Code><s:Value>s:`)
		EscapeText(b, f.Code)
		b.WriteString(`</s:Value>`)
		if f.Subcode.Local != "" {
			b.WriteString(`<s:Subcode><s:Value>`)
			b.WriteString(subcodePrefix(f.Subcode.Space))
			EscapeText(b, f.Subcode.Local)
			b.WriteString(`</s:Value></s:Subcode>`)
		}
		reason := f.Reason
		if reason == "" {
			reason = f.Message
		}
		b.WriteString(`</s:Code><s:Reason><s:Text xml:lang="en-US">`)
		EscapeText(b, reason)
		b.WriteString(`</s:Text></s:Reason><s:Detail>`)
		if f.Detail != "" {
			b.WriteString(`<w:FaultDetail>`)
			if !bytes.Contains([]byte(f.Detail), []byte("://")) {
				b.WriteString(FaultDetailPrefix)
			}
			EscapeText(b, f.Detail)
			b.WriteString(`</w:FaultDetail>`)
		}
		b.WriteString(`<f:WSManFault xmlns:f="` + NsFault + `" Code="`)
		b.WriteString(strconv.FormatUint(uint64(f.WSManCode), 10))
		b.WriteString(`" Machine="`)
		EscapeAttr(b, machine)
		b.WriteString(`"><f:Message>`)
		EscapeText(b, f.Message)
		b.WriteString(`</f:Message></f:WSManFault></s:Detail></s:Fault>`)
	})
	return buf.Bytes()
}

func subcodePrefix(space string) string {
	switch space {
	case NsAddressing:
		return "a:"
	case NsEnum:
		return "n:"
	case NsSOAP:
		return "s:"
	default:
		return "w:"
	}
}

// EscapeText writes s as XML character data. Control characters other
// than TAB, LF and CR, and invalid UTF-8, become '?' ([MS-WSMV] 3.1.4.1.25).
func EscapeText(buf *bytes.Buffer, s string) { escape(buf, s, false) }

// EscapeAttr writes s as a double-quoted attribute value's content.
func EscapeAttr(buf *bytes.Buffer, s string) { escape(buf, s, true) }

func escape(buf *bytes.Buffer, s string, attr bool) {
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		var rep string
		width := 1
		switch {
		case c == '<':
			rep = "&lt;"
		case c == '>':
			rep = "&gt;"
		case c == '&':
			rep = "&amp;"
		case c == '"' && attr:
			rep = "&quot;"
		case c == '\r':
			// A literal CR would come back as LF (XML end-of-line handling).
			rep = "&#xD;"
		case c == '\t' || c == '\n':
			if attr {
				rep = "&#x" + strconv.FormatInt(int64(c), 16) + ";"
			}
		case c < 0x20:
			rep = "?"
		case c >= utf8.RuneSelf:
			r, w := utf8.DecodeRuneInString(s[i:])
			width = w
			if r == utf8.RuneError && w == 1 || r == 0xFFFE || r == 0xFFFF {
				rep = "?"
			}
		}
		if rep != "" {
			buf.WriteString(s[last:i])
			buf.WriteString(rep)
			last = i + width
		}
		i += width
	}
	buf.WriteString(s[last:])
}
