package wsman

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// This file holds the client side of the codec: building requests and
// decoding what a server (ours or Windows) sends back.

// RequestHeader is the header set of one request.
type RequestHeader struct {
	To               string
	Action           string
	ResourceURI      string
	MessageID        string // "uuid:" + NewUUID() when empty
	MaxEnvelopeSize  int
	OperationTimeout time.Duration
	Selectors        [][2]string
	Options          []Option
}

const requestOpen = `<s:Envelope xmlns:s="` + NsSOAP + `" xmlns:a="` + NsAddressing + `" xmlns:w="` + NsWSMan +
	`" xmlns:p="` + NsWSMV + `" xmlns:rsp="` + NsShell + `" xmlns:n="` + NsEnum + `">`

// WriteRequest writes a request envelope; body writes the content of
// s:Body. It returns the MessageID used.
func WriteRequest(buf *bytes.Buffer, h RequestHeader, body func(*bytes.Buffer)) string {
	id := h.MessageID
	if id == "" {
		id = "uuid:" + NewUUID()
	}
	buf.WriteString(requestOpen + `<s:Header><a:To>`)
	EscapeText(buf, h.To)
	buf.WriteString(`</a:To><a:ReplyTo><a:Address s:mustUnderstand="true">` + AddressAnonymous + `</a:Address></a:ReplyTo>`)
	buf.WriteString(`<a:Action s:mustUnderstand="true">`)
	EscapeText(buf, h.Action)
	buf.WriteString(`</a:Action><a:MessageID>`)
	EscapeText(buf, id)
	buf.WriteString(`</a:MessageID><w:ResourceURI s:mustUnderstand="true">`)
	EscapeText(buf, h.ResourceURI)
	buf.WriteString(`</w:ResourceURI>`)
	if h.MaxEnvelopeSize > 0 {
		buf.WriteString(`<w:MaxEnvelopeSize s:mustUnderstand="true">` + strconv.Itoa(h.MaxEnvelopeSize) + `</w:MaxEnvelopeSize>`)
	}
	if h.OperationTimeout > 0 {
		buf.WriteString(`<w:OperationTimeout>` + FormatDuration(h.OperationTimeout) + `</w:OperationTimeout>`)
	}
	buf.WriteString(`<w:Locale xml:lang="en-US" s:mustUnderstand="false"/><p:DataLocale xml:lang="en-US" s:mustUnderstand="false"/>`)
	if len(h.Selectors) > 0 {
		buf.WriteString(`<w:SelectorSet>`)
		for _, s := range h.Selectors {
			buf.WriteString(`<w:Selector Name="`)
			EscapeAttr(buf, s[0])
			buf.WriteString(`">`)
			EscapeText(buf, s[1])
			buf.WriteString(`</w:Selector>`)
		}
		buf.WriteString(`</w:SelectorSet>`)
	}
	if len(h.Options) > 0 {
		buf.WriteString(`<w:OptionSet>`)
		for _, o := range h.Options {
			buf.WriteString(`<w:Option Name="`)
			EscapeAttr(buf, o.Name)
			buf.WriteString(`"`)
			if o.MustComply {
				buf.WriteString(` MustComply="true"`)
			}
			buf.WriteString(`>`)
			EscapeText(buf, o.Value)
			buf.WriteString(`</w:Option>`)
		}
		buf.WriteString(`</w:OptionSet>`)
	}
	buf.WriteString(`</s:Header><s:Body>`)
	if body != nil {
		body(buf)
	}
	buf.WriteString(`</s:Body></s:Envelope>`)
	return id
}

// Reply is a decoded response envelope.
type Reply struct {
	Action    string
	RelatesTo string
	// Body is the first element of s:Body, or nil for an empty body.
	Body *Element
	// Fault is set when the body is an s:Fault.
	Fault *Fault

	body *Element // s:Body itself, every child included
}

// ParseReply decodes a response envelope in any charset. The returned
// tree may share memory with data: the caller must not modify data
// afterwards.
func ParseReply(data []byte, contentType string) (*Reply, error) {
	utf, _, err := DecodeBody(data, contentType)
	if err != nil {
		return nil, err
	}
	// utf is this function's own copy or the caller's reply buffer,
	// which ParseReply's contract says is not modified afterwards.
	root, err := parseXML(utf, ParseLimits{}, true)
	if err != nil {
		return nil, err
	}
	if !root.Is(NsSOAP, "Envelope") {
		return nil, fmt.Errorf("wsman: reply is not a SOAP 1.2 envelope")
	}
	r := &Reply{}
	if h := root.Child(NsSOAP, "Header"); h != nil {
		r.Action = h.Child(NsAddressing, "Action").TrimText()
		r.RelatesTo = h.Child(NsAddressing, "RelatesTo").TrimText()
	}
	if b := root.Child(NsSOAP, "Body"); b != nil && len(b.Children) > 0 {
		r.body = b
		r.Body = b.Children[0]
		if r.Body.Is(NsSOAP, "Fault") {
			r.Fault = decodeFault(r.Body, root)
		}
	}
	return r, nil
}

// conventionalPrefixes resolve QName prefixes in fault codes when the
// reply did not declare them where the decoder looks (on the envelope or
// the value element itself).
var conventionalPrefixes = map[string]string{
	"s": NsSOAP, "env": NsSOAP, "soap": NsSOAP, "a": NsAddressing, "wsa": NsAddressing,
	"w": NsWSMan, "wsman": NsWSMan, "n": NsEnum, "wsen": NsEnum, "p": NsWSMV, "wsmv": NsWSMV,
}

// resolveQName resolves the prefix of a QName-valued text ("w:TimedOut")
// against the declarations of the given elements, innermost first, then
// the conventional prefixes.
func resolveQName(qname string, scopes ...*Element) Subcode {
	prefix, local, ok := strings.Cut(qname, ":")
	if !ok {
		return Subcode{Local: qname}
	}
	for _, e := range scopes {
		if e == nil {
			continue
		}
		if uri, ok := e.nsDecl[prefix]; ok {
			return Subcode{Space: uri, Local: local}
		}
	}
	return Subcode{Space: conventionalPrefixes[prefix], Local: local}
}

// decodeFault reads a SOAP fault as Windows or psremote sends it; root is
// the envelope, for namespace declarations.
func decodeFault(f, root *Element) *Fault {
	out := &Fault{}
	code := f.Child(NsSOAP, "Code")
	out.Code = stripPrefix(code.Child(NsSOAP, "Value").TrimText())
	if ve := code.Child(NsSOAP, "Subcode").Child(NsSOAP, "Value"); ve != nil && ve.TrimText() != "" {
		out.Subcode = resolveQName(ve.TrimText(), ve, code.Child(NsSOAP, "Subcode"), code, f, root)
	}
	out.Reason = f.Child(NsSOAP, "Reason").Child(NsSOAP, "Text").RawText()
	detail := f.Child(NsSOAP, "Detail")
	if fd := detail.Child(NsWSMan, "FaultDetail"); fd != nil {
		out.Detail = fd.TrimText()
	}
	if wf := detail.Child(NsFault, "WSManFault"); wf != nil {
		if c, ok := wf.Attr("Code"); ok {
			n, _ := strconv.ParseUint(strings.TrimSpace(c), 10, 32)
			out.WSManCode = uint32(n)
		}
		out.Message = faultMessage(wf, 0)
	}
	if strings.TrimSpace(out.Message) == "" {
		out.Message = out.Reason
	}
	return out
}

// faultMessage returns the text of f:Message, descending into a provider
// fault (which may nest another WSManFault, [MS-WSMV] 2.2.4.43) when the
// message's own text is empty.
func faultMessage(wf *Element, depth int) string {
	msg := wf.Child(NsFault, "Message")
	text := msg.RawText()
	if strings.TrimSpace(text) != "" || depth > 8 {
		return text
	}
	pf := msg.Child(NsFault, "ProviderFault")
	if pf == nil {
		return text
	}
	if strings.TrimSpace(pf.RawText()) != "" {
		return pf.RawText()
	}
	if inner := pf.Child(NsFault, "WSManFault"); inner != nil {
		return faultMessage(inner, depth+1)
	}
	return text
}

func stripPrefix(qname string) string {
	if _, local, ok := strings.Cut(qname, ":"); ok {
		return local
	}
	return qname
}

// CreatedShellID finds the ShellId in a Create reply: the selector named
// ShellId (any case) in the endpoint reference, or rsp:Shell/rsp:ShellId.
func CreatedShellID(r *Reply) (string, error) {
	var found string
	var walk func(e *Element)
	walk = func(e *Element) {
		if found != "" || e == nil {
			return
		}
		if e.Local == "Selector" {
			if n, _ := e.Attr("Name"); strings.EqualFold(n, "ShellId") {
				found = e.TrimText()
				return
			}
		}
		if e.Is(NsShell, "ShellId") {
			found = e.TrimText()
			return
		}
		for _, c := range e.Children {
			walk(c)
		}
	}
	// Walk all of s:Body: Windows puts rsp:Shell after x:ResourceCreated.
	if r.body != nil {
		walk(r.body)
	} else if r.Body != nil {
		walk(r.Body)
	}
	if found == "" {
		return "", fmt.Errorf("wsman: Create reply carries no ShellId")
	}
	return found, nil
}

// CommandID reads rsp:CommandResponse/rsp:CommandId.
func CommandID(r *Reply) (string, error) {
	id := r.Body.Child(NsShell, "CommandId").TrimText()
	if !r.Body.Is(NsShell, "CommandResponse") || id == "" {
		return "", fmt.Errorf("wsman: Command reply carries no CommandId")
	}
	return id, nil
}

// ReceiveOutput is a decoded rsp:ReceiveResponse.
type ReceiveOutput struct {
	Streams []StreamData
	// State is the rsp:CommandState, if present.
	State *CommandState
}

// ParseReceiveResponse decodes rsp:ReceiveResponse: any number of
// streams in any order, End markers, and the command state (Running with
// or without an ExitCode, Done).
func ParseReceiveResponse(r *Reply) (*ReceiveOutput, error) {
	out, _, err := ParseReceiveResponseBuf(r, nil)
	return out, err
}

// ParseReceiveResponseBuf is [ParseReceiveResponse] decoding the stream
// data onto buf, which it returns grown: every StreamData.Data aliases it.
// A caller that passes the returned buffer back (as buf[:0]) once it has
// consumed the output decodes a long stream without allocating.
func ParseReceiveResponseBuf(r *Reply, buf []byte) (*ReceiveOutput, []byte, error) {
	if !r.Body.Is(NsShell, "ReceiveResponse") {
		return nil, buf, fmt.Errorf("wsman: not a ReceiveResponse")
	}
	out := &ReceiveOutput{}
	streams := r.Body.ChildrenNamed(NsShell, "Stream")
	// Decode everything first, then slice: appending may move buf.
	ends := make([]int, len(streams))
	for i, s := range streams {
		var err error
		if buf, err = appendBase64(buf, s.Text); err != nil {
			name, _ := s.Attr("Name")
			return nil, buf, fmt.Errorf("wsman: stream %s: %w", name, err)
		}
		ends[i] = len(buf)
	}
	start := 0
	for i, s := range streams {
		sd := StreamData{}
		sd.Name, _ = s.Attr("Name")
		sd.CommandID, _ = s.AttrFold("CommandId")
		if end, ok := s.Attr("End"); ok {
			sd.End = strings.EqualFold(strings.TrimSpace(end), "true")
		}
		if ends[i] > start {
			sd.Data = buf[start:ends[i]:ends[i]]
		}
		start = ends[i]
		out.Streams = append(out.Streams, sd)
	}
	out.State = ReceiveCommandState(r)
	return out, buf, nil
}

// ReceiveCommandState returns the rsp:CommandState of a ReceiveResponse,
// or nil. It does not decode the streams, so a client can decide on the
// next request before it spends time on the output.
func ReceiveCommandState(r *Reply) *CommandState {
	if r.Body == nil || !r.Body.Is(NsShell, "ReceiveResponse") {
		return nil
	}
	st := r.Body.Child(NsShell, "CommandState")
	if st == nil {
		return nil
	}
	cs := &CommandState{}
	cs.CommandID, _ = st.AttrFold("CommandId")
	cs.State, _ = st.Attr("State")
	if ec := st.Child(NsShell, "ExitCode"); ec != nil {
		n, err := strconv.ParseInt(ec.TrimText(), 10, 64)
		if err == nil {
			cs.ExitCode, cs.HasExitCode = int(int32(n)), true
		}
	}
	return cs
}

// ParseIdentifyResponse decodes wsmid:IdentifyResponse.
func ParseIdentifyResponse(r *Reply) (*IdentifyInfo, string, error) {
	if !r.Body.Is(NsIdentity, "IdentifyResponse") {
		return nil, "", fmt.Errorf("wsman: not an IdentifyResponse")
	}
	info := &IdentifyInfo{
		ProductVendor:  r.Body.Child(NsIdentity, "ProductVendor").TrimText(),
		ProductVersion: r.Body.Child(NsIdentity, "ProductVersion").TrimText(),
	}
	for _, p := range r.Body.Child(NsIdentity, "SecurityProfiles").ChildrenNamed(NsIdentity, "SecurityProfileName") {
		info.SecurityProfiles = append(info.SecurityProfiles, p.TrimText())
	}
	return info, r.Body.Child(NsIdentity, "ProtocolVersion").TrimText(), nil
}
