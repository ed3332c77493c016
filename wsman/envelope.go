package wsman

import (
	"bytes"
	"fmt"
	"mime"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/unicode"
)

// Header limits.
const (
	// MinEnvelopeSize is the smallest wsman:MaxEnvelopeSize a client may
	// ask for ([MS-WSMV] 3.1.4.1.7).
	MinEnvelopeSize = 8192
	// maxMessageID bounds wsa:MessageID (Windows accepts up to 2 KB, note <47>).
	maxMessageID = 2048
	// maxActivityID bounds wsmv:ActivityId ([MS-WSMV] 3.1.4.1.12).
	maxActivityID = 2048
	// maxSelectors and maxOptions bound the header sets.
	maxSelectors = 64
	maxOptions   = 128
)

// Charset names a request's body encoding; replies use the same one.
type Charset int

// Charsets.
const (
	UTF8 Charset = iota
	UTF16LE
	UTF16BE
)

// Option is one wsman:OptionSet/wsman:Option.
type Option struct {
	Name       string
	Value      string
	MustComply bool
}

// Envelope is a parsed request: the WS-Addressing and WS-Management
// headers of winrm-protocol.md 2.2, and the first element of the body.
type Envelope struct {
	Action      string
	To          string
	MessageID   string
	ReplyTo     string
	ResourceURI string
	// MaxEnvelopeSize is the client's reply cap in bytes; 0 if absent.
	MaxEnvelopeSize uint32
	// OperationTimeout is zero if absent.
	OperationTimeout time.Duration
	Locale           string
	DataLocale       string
	SessionID        string
	ActivityID       string
	// Selectors maps lower-cased selector names to values
	// ([MS-WSMV] 3.1.4.1.2: names are case-insensitive).
	Selectors map[string]string
	Options   []Option
	// Body is the first child element of s:Body, or nil.
	Body *Element
	// Header is the s:Header element, for headers not decoded above.
	Header *Element
	// Charset is the body encoding of the request.
	Charset Charset
	// Identify reports a wsmid:Identify body.
	Identify bool
}

// Selector returns a selector value by case-insensitive name.
func (e *Envelope) Selector(name string) (string, bool) {
	v, ok := e.Selectors[strings.ToLower(name)]
	return v, ok
}

// Option returns the named option (case-insensitive) and whether it was sent.
func (e *Envelope) Option(name string) (Option, bool) {
	for _, o := range e.Options {
		if strings.EqualFold(o.Name, name) {
			return o, true
		}
	}
	return Option{}, false
}

// OptionBool reports whether an option is present and TRUE.
func (e *Envelope) OptionBool(name string) bool {
	o, ok := e.Option(name)
	return ok && strings.EqualFold(strings.TrimSpace(o.Value), "true")
}

// DecodeBody converts a request body to UTF-8 according to its BOM or the
// charset of its Content-Type, and reports the charset found.
func DecodeBody(body []byte, contentType string) ([]byte, Charset, error) {
	switch {
	case bytes.HasPrefix(body, []byte{0xFF, 0xFE}):
		return fromUTF16(body, UTF16LE)
	case bytes.HasPrefix(body, []byte{0xFE, 0xFF}):
		return fromUTF16(body, UTF16BE)
	case bytes.HasPrefix(body, []byte{0xEF, 0xBB, 0xBF}):
		return body[3:], UTF8, nil
	}
	if contentType != "" {
		if _, params, err := mime.ParseMediaType(contentType); err == nil {
			switch strings.ToLower(params["charset"]) {
			case "utf-16", "utf-16le":
				return fromUTF16(body, UTF16LE)
			case "utf-16be":
				return fromUTF16(body, UTF16BE)
			}
		}
	}
	if len(body) >= 2 && body[0] == '<' && body[1] == 0 {
		return fromUTF16(body, UTF16LE)
	}
	if len(body) >= 2 && body[0] == 0 && body[1] == '<' {
		return fromUTF16(body, UTF16BE)
	}
	if !utf8.Valid(body) {
		return nil, UTF8, FaultSchema("the request body is not valid UTF-8")
	}
	return body, UTF8, nil
}

func fromUTF16(body []byte, cs Charset) ([]byte, Charset, error) {
	end := unicode.LittleEndian
	if cs == UTF16BE {
		end = unicode.BigEndian
	}
	out, err := unicode.UTF16(end, unicode.UseBOM).NewDecoder().Bytes(body)
	if err != nil {
		return nil, cs, FaultSchema("the request body is not valid UTF-16")
	}
	return out, cs, nil
}

// EncodeBody converts a UTF-8 reply to the request's charset, with a BOM
// for UTF-16, and returns the Content-Type to send.
func EncodeBody(body []byte, cs Charset) ([]byte, string) {
	switch cs {
	case UTF16LE, UTF16BE:
		end := unicode.LittleEndian
		if cs == UTF16BE {
			end = unicode.BigEndian
		}
		out, err := unicode.UTF16(end, unicode.UseBOM).NewEncoder().Bytes(body)
		if err == nil {
			return out, "application/soap+xml;charset=UTF-16"
		}
	}
	return body, "application/soap+xml;charset=UTF-8"
}

// Parse decodes and validates a request envelope. body must already be
// UTF-8 (see [DecodeBody]); the envelope may share memory with it, so the
// caller must not modify body afterwards. The returned error is a *Fault for every
// protocol-level problem. Parse does not check mandatory headers that
// depend on the action; call [Envelope.Validate] for that.
func Parse(body []byte, cs Charset, lim ParseLimits) (*Envelope, error) {
	root, err := parseXML(body, lim, true)
	if err != nil {
		return nil, FaultInvalidXML(err.Error())
	}
	if !root.Is(NsSOAP, "Envelope") {
		if root.Local == "Envelope" {
			return nil, &Fault{Code: "VersionMismatch", WSManCode: ErrCodeSchemaValidation,
				Message: fmt.Sprintf("The SOAP envelope namespace %q is not supported; use SOAP 1.2. ", root.Space)}
		}
		return nil, FaultSchema("the document element is not a SOAP 1.2 Envelope")
	}
	env := &Envelope{Charset: cs, Selectors: map[string]string{}}
	header := root.Child(NsSOAP, "Header")
	bodyEl := root.Child(NsSOAP, "Body")
	if bodyEl == nil {
		return nil, FaultSchema("the SOAP Body is missing")
	}
	if len(bodyEl.Children) > 0 {
		env.Body = bodyEl.Children[0]
		env.Identify = env.Body.Is(NsIdentity, "Identify")
	}
	env.Header = header
	if header == nil {
		return env, nil
	}
	for _, h := range header.Children {
		if err := env.header(h); err != nil {
			return nil, err
		}
	}
	return env, nil
}

func mustUnderstand(e *Element) bool {
	for _, a := range e.Attrs {
		if a.Name.Local == "mustUnderstand" && a.Name.Space == NsSOAP {
			v := strings.TrimSpace(a.Value)
			return v == "true" || v == "1"
		}
	}
	return false
}

// header decodes one header block, applying the server rules of
// winrm-protocol.md 2.2.
func (env *Envelope) header(h *Element) error {
	switch h.Space {
	case NsAddressing:
		switch h.Local {
		case "Action":
			env.Action = h.TrimText()
		case "To":
			env.To = h.TrimText() // informational only: never validated
		case "MessageID":
			env.MessageID = h.TrimText()
			if len(env.MessageID) > maxMessageID {
				return FaultInvalidHeader("wsa:MessageID is longer than 2048 characters")
			}
		case "ReplyTo", "FaultTo":
			addr := h.Child(NsAddressing, "Address")
			if addr == nil {
				return FaultInvalidHeader("wsa:" + h.Local + " has no wsa:Address")
			}
			if a := addr.TrimText(); a != AddressAnonymous {
				return FaultAddressingMode()
			}
			if h.Local == "ReplyTo" {
				env.ReplyTo = AddressAnonymous
			}
		default:
			if mustUnderstand(h) {
				return faultMustUnderstand(h)
			}
		}
	case NsWSMan:
		switch h.Local {
		case "ResourceURI":
			env.ResourceURI = h.TrimText()
		case "MaxEnvelopeSize":
			n, err := strconv.ParseUint(h.TrimText(), 10, 32)
			if err != nil {
				return FaultInvalidHeader("wsman:MaxEnvelopeSize is not a number")
			}
			if n < MinEnvelopeSize {
				return FaultEnvelopeTooSmall()
			}
			env.MaxEnvelopeSize = uint32(n)
		case "OperationTimeout":
			d, err := ParseDuration(h.TrimText())
			if err != nil || d <= 0 {
				return FaultInvalidTimeout(truncate(h.TrimText(), 64))
			}
			env.OperationTimeout = d
		case "Locale":
			if mustUnderstand(h) {
				return FaultUnsupportedFeature("Locale", "The WS-Management service does not support the Locale header with mustUnderstand set to true. ")
			}
			env.Locale, _ = h.Attr("lang")
		case "SelectorSet":
			sels := h.ChildrenNamed(NsWSMan, "Selector")
			if len(sels) > maxSelectors {
				return FaultInvalidHeader("too many selectors")
			}
			for _, s := range sels {
				name, ok := s.Attr("Name")
				if !ok {
					return &Fault{Code: CodeSender, Subcode: SubInvalidSelectors, Detail: "InsufficientSelectors",
						WSManCode: ErrCodeInvalidSelectors, Message: "A selector has no Name attribute. "}
				}
				env.Selectors[strings.ToLower(name)] = s.TrimText()
			}
		case "OptionSet":
			opts := h.ChildrenNamed(NsWSMan, "Option")
			if len(opts) > maxOptions {
				return FaultInvalidHeader("too many options")
			}
			for _, o := range opts {
				name, _ := o.Attr("Name")
				mc, _ := o.Attr("MustComply")
				env.Options = append(env.Options, Option{Name: name, Value: o.TrimText(),
					MustComply: strings.EqualFold(strings.TrimSpace(mc), "true")})
			}
		case "FragmentTransfer":
			return FaultUnsupportedFeature("FragmentLevelAccess", "The WS-Management service does not support fragment-level transfer for this resource. ")
		case "RequestEPR", "RequestTotalItemsCountEstimate":
			// Accepted and ignored ([MS-WSMV] 3.1.4.1.11, 3.1.4.1.15).
		default:
			if mustUnderstand(h) {
				return faultMustUnderstand(h)
			}
		}
	case NsWSMV:
		switch h.Local {
		case "DataLocale":
			if mustUnderstand(h) {
				return FaultUnsupportedFeature("DataLocale", "The WS-Management service does not support the DataLocale header with mustUnderstand set to true. ")
			}
			env.DataLocale, _ = h.Attr("lang")
		case "SessionId":
			env.SessionID = h.TrimText()
		case "ActivityId":
			env.ActivityID = h.TrimText()
			if len(env.ActivityID) > maxActivityID {
				return FaultInvalidHeader("wsmv:ActivityId is longer than 2048 characters")
			}
		case "OperationID", "SequenceId", "SequenceID":
			// Robust connections are not implemented: ignore, and never
			// echo them ([MS-WSMV] 3.1.4.1.39).
		default:
			if mustUnderstand(h) {
				return faultMustUnderstand(h)
			}
		}
	default:
		if mustUnderstand(h) {
			return faultMustUnderstand(h)
		}
	}
	return nil
}

func faultMustUnderstand(h *Element) *Fault {
	return &Fault{Code: "MustUnderstand", WSManCode: ErrCodeUnsupportedFeature,
		Message: fmt.Sprintf("The WS-Management service cannot process a header {%s}%s that is marked mustUnderstand. ", h.Space, h.Local)}
}

// Validate checks the headers every non-Identify request needs
// ([MS-WSMV] 3.1.4.1.3, 3.1.4.1.5).
func (env *Envelope) Validate() error {
	if env.Identify {
		return nil
	}
	if env.Action == "" {
		return FaultHeaderRequired("wsa:Action")
	}
	if env.MessageID == "" {
		return FaultInvalidHeader("wsa:MessageID is missing or empty")
	}
	if env.ReplyTo == "" {
		return FaultHeaderRequired("wsa:ReplyTo")
	}
	if env.ResourceURI == "" {
		return FaultHeaderRequired("wsman:ResourceURI")
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
