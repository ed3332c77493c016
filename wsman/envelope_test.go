package wsman

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/unicode"
)

// Request headers as Windows clients send them, compact, with the
// prefixes of envOpen.
const (
	hTo        = `<a:To>http://host:5985/wsman</a:To>`
	hReplyTo   = `<a:ReplyTo><a:Address s:mustUnderstand="true">` + AddressAnonymous + `</a:Address></a:ReplyTo>`
	hAction    = `<a:Action s:mustUnderstand="true">` + ActionReceive + `</a:Action>`
	hMessageID = `<a:MessageID>uuid:D384DEF8-351E-41F0-B3DA-C91BE1A58A09</a:MessageID>`
	hResource  = `<w:ResourceURI s:mustUnderstand="true">` + cmdShellURI + `</w:ResourceURI>`
	hMaxEnv    = `<w:MaxEnvelopeSize s:mustUnderstand="true">153600</w:MaxEnvelopeSize>`
	hTimeout   = `<w:OperationTimeout>PT20S</w:OperationTimeout>`
	hLocale    = `<w:Locale xml:lang="en-US" s:mustUnderstand="false"/>`
	hSelectors = `<w:SelectorSet><w:Selector Name="ShellId">9731F5BD-1A2B-4C3D-8E9F-0A1B2C3D4E5F</w:Selector></w:SelectorSet>`
	hOptions   = `<w:OptionSet><w:Option Name="WSMAN_CMDSHELL_OPTION_KEEPALIVE">TRUE</w:Option></w:OptionSet>`

	envOpen = `<s:Envelope xmlns:s="` + NsSOAP + `" xmlns:a="` + NsAddressing + `" xmlns:w="` + NsWSMan +
		`" xmlns:p="` + NsWSMV + `" xmlns:rsp="` + NsShell + `">`
	receiveBody = `<rsp:Receive><rsp:DesiredStream CommandId="1D3CB4DC-2E7A-4B6B-9E4F-3C2B1A0F9E8D">stdout stderr</rsp:DesiredStream></rsp:Receive>`
)

// stdHeaders is the full header set of a valid Receive, by name.
var stdHeaders = []struct{ name, xml string }{
	{"To", hTo}, {"ReplyTo", hReplyTo}, {"Action", hAction}, {"MessageID", hMessageID},
	{"ResourceURI", hResource}, {"MaxEnvelopeSize", hMaxEnv}, {"OperationTimeout", hTimeout},
	{"Locale", hLocale}, {"SelectorSet", hSelectors}, {"OptionSet", hOptions},
}

// headers returns stdHeaders with the named ones replaced (by a non-empty
// value) or dropped (by ""), followed by extra.
func headers(replace map[string]string, extra ...string) string {
	var b strings.Builder
	for _, h := range stdHeaders {
		v, ok := replace[h.name]
		if !ok {
			v = h.xml
		}
		b.WriteString(v)
	}
	for _, e := range extra {
		b.WriteString(e)
	}
	return b.String()
}

func envelopeXML(header, body string) []byte {
	return []byte(envOpen + `<s:Header>` + header + `</s:Header><s:Body>` + body + `</s:Body></s:Envelope>`)
}

// envSummary is everything Parse decodes, in comparable form.
type envSummary struct {
	Action, To, MessageID, ReplyTo, ResourceURI string
	MaxEnvelopeSize                             uint32
	OperationTimeout                            time.Duration
	Locale, DataLocale, SessionID, ActivityID   string
	Selectors                                   map[string]string
	Options                                     []Option
	Charset                                     Charset
	Identify                                    bool
	Body                                        string
}

func summarize(env *Envelope) envSummary {
	return envSummary{
		Action: env.Action, To: env.To, MessageID: env.MessageID, ReplyTo: env.ReplyTo,
		ResourceURI: env.ResourceURI, MaxEnvelopeSize: env.MaxEnvelopeSize, OperationTimeout: env.OperationTimeout,
		Locale: env.Locale, DataLocale: env.DataLocale, SessionID: env.SessionID, ActivityID: env.ActivityID,
		Selectors: env.Selectors, Options: env.Options, Charset: env.Charset, Identify: env.Identify,
		Body: renderElement(env.Body),
	}
}

// renderElement writes e with namespace URIs, attributes and trimmed text
// (prefixes and whitespace between elements do not show).
func renderElement(e *Element) string {
	if e == nil {
		return "<nil>"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "{%s}%s", e.Space, e.Local)
	for _, a := range e.Attrs {
		fmt.Fprintf(&b, " {%s}%s=%q", a.Name.Space, a.Name.Local, a.Value)
	}
	fmt.Fprintf(&b, " %q[", e.TrimText())
	for _, c := range e.Children {
		b.WriteString(renderElement(c))
	}
	b.WriteString("]")
	return b.String()
}

// wantStd is the summary of envelopeXML(headers(nil), receiveBody).
var wantStd = envSummary{
	Action: ActionReceive, To: "http://host:5985/wsman", MessageID: "uuid:D384DEF8-351E-41F0-B3DA-C91BE1A58A09",
	ReplyTo: AddressAnonymous, ResourceURI: cmdShellURI, MaxEnvelopeSize: 153600, OperationTimeout: 20 * time.Second,
	Locale:    "en-US",
	Selectors: map[string]string{"shellid": "9731F5BD-1A2B-4C3D-8E9F-0A1B2C3D4E5F"},
	Options:   []Option{{Name: "WSMAN_CMDSHELL_OPTION_KEEPALIVE", Value: "TRUE"}},
	Body:      `{` + NsShell + `}Receive ""[{` + NsShell + `}DesiredStream {}CommandId="1D3CB4DC-2E7A-4B6B-9E4F-3C2B1A0F9E8D" "stdout stderr"[]]`,
}

func TestParseStandardRequest(t *testing.T) {
	env, err := decodeAndParse(envelopeXML(headers(nil), receiveBody), "application/soap+xml;charset=UTF-8")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got := summarize(env); !reflect.DeepEqual(got, wantStd) {
		t.Errorf("Parse = %+v\nwant %+v", got, wantStd)
	}
	if err := env.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestValidateRequiredHeaders(t *testing.T) {
	tests := []struct {
		name    string
		header  string
		wantSub Subcode
		code    uint32
		inMsg   string
	}{
		{"all present", headers(nil), Subcode{}, 0, ""},
		{"no Action", headers(map[string]string{"Action": ""}), SubMessageInfoHeaderReq, ErrCodeMessageHeaderRequired, "wsa:Action"},
		{"blank Action", headers(map[string]string{"Action": "<a:Action>\n \t</a:Action>"}), SubMessageInfoHeaderReq, ErrCodeMessageHeaderRequired, "wsa:Action"},
		{"no MessageID", headers(map[string]string{"MessageID": ""}), SubInvalidMessageInfoHeader, ErrCodeInvalidMessageHeader, "MessageID"},
		{"blank MessageID", headers(map[string]string{"MessageID": "<a:MessageID>\n  \n</a:MessageID>"}), SubInvalidMessageInfoHeader, ErrCodeInvalidMessageHeader, "MessageID"},
		{"no ReplyTo", headers(map[string]string{"ReplyTo": ""}), SubMessageInfoHeaderReq, ErrCodeMessageHeaderRequired, "wsa:ReplyTo"},
		{"no ResourceURI", headers(map[string]string{"ResourceURI": ""}), SubMessageInfoHeaderReq, ErrCodeMessageHeaderRequired, "wsman:ResourceURI"},
		{"no headers at all", "", SubMessageInfoHeaderReq, ErrCodeMessageHeaderRequired, "wsa:Action"},
		{"optional headers absent", hReplyTo + hAction + hMessageID + hResource, Subcode{}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := decodeAndParse(envelopeXML(tt.header, receiveBody), "")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			err = env.Validate()
			if tt.code == 0 {
				if err != nil {
					t.Errorf("Validate = %v; want nil", err)
				}
				return
			}
			f := checkFault(t, err, tt.wantSub, tt.code)
			if f.Code != CodeSender || f.Action != ActionAddrFault || !strings.Contains(f.Message, tt.inMsg) {
				t.Errorf("fault = %s, action %s, message %q; want Sender, %s, mentioning %s", f.Code, f.Action, f.Message, ActionAddrFault, tt.inMsg)
			}
		})
	}
	t.Run("no s:Header element", func(t *testing.T) {
		env, err := decodeAndParse([]byte(envOpen+`<s:Body>`+receiveBody+`</s:Body></s:Envelope>`), "")
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		if env.Header != nil {
			t.Errorf("Header = %v; want nil", env.Header)
		}
		checkFault(t, env.Validate(), SubMessageInfoHeaderReq, ErrCodeMessageHeaderRequired)
	})
}

// TestParseHeaderFaults covers the header rules of winrm-protocol.md 2.2
// that Parse itself enforces.
func TestParseHeaderFaults(t *testing.T) {
	many := func(n int, format string) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, format, i)
		}
		return b.String()
	}
	tests := []struct {
		name    string
		header  string
		code    string // SOAP code; "" means Sender
		sub     Subcode
		wsman   uint32
		detail  string
		inMsg   string
		action  string
		extraOK func(*Fault) bool
	}{
		{name: "ReplyTo not anonymous",
			header: headers(map[string]string{"ReplyTo": `<a:ReplyTo><a:Address>http://client.example/reply</a:Address></a:ReplyTo>`}),
			sub:    SubUnsupportedFeature, wsman: ErrCodeAddressingMode, detail: "AddressingMode", action: ""},
		{name: "FaultTo not anonymous",
			header: headers(nil, `<a:FaultTo><a:Address>http://client.example/fault</a:Address></a:FaultTo>`),
			sub:    SubUnsupportedFeature, wsman: ErrCodeAddressingMode, detail: "AddressingMode"},
		{name: "ReplyTo without Address",
			header: headers(map[string]string{"ReplyTo": `<a:ReplyTo/>`}),
			sub:    SubInvalidMessageInfoHeader, wsman: ErrCodeInvalidMessageHeader, inMsg: "wsa:ReplyTo", action: ActionAddrFault},
		{name: "MaxEnvelopeSize 8191",
			header: headers(map[string]string{"MaxEnvelopeSize": `<w:MaxEnvelopeSize s:mustUnderstand="true">8191</w:MaxEnvelopeSize>`}),
			sub:    SubEncodingLimit, wsman: ErrCodeMinEnvelopeSize, detail: "MinimumEnvelopeLimit"},
		{name: "MaxEnvelopeSize 0",
			header: headers(map[string]string{"MaxEnvelopeSize": `<w:MaxEnvelopeSize>0</w:MaxEnvelopeSize>`}),
			sub:    SubEncodingLimit, wsman: ErrCodeMinEnvelopeSize, detail: "MinimumEnvelopeLimit"},
		{name: "MaxEnvelopeSize not a number",
			header: headers(map[string]string{"MaxEnvelopeSize": `<w:MaxEnvelopeSize>150k</w:MaxEnvelopeSize>`}),
			sub:    SubInvalidMessageInfoHeader, wsman: ErrCodeInvalidMessageHeader, inMsg: "MaxEnvelopeSize", action: ActionAddrFault},
		{name: "MaxEnvelopeSize negative",
			header: headers(map[string]string{"MaxEnvelopeSize": `<w:MaxEnvelopeSize>-153600</w:MaxEnvelopeSize>`}),
			sub:    SubInvalidMessageInfoHeader, wsman: ErrCodeInvalidMessageHeader, inMsg: "MaxEnvelopeSize"},
		{name: "MaxEnvelopeSize over uint32",
			header: headers(map[string]string{"MaxEnvelopeSize": `<w:MaxEnvelopeSize>4294967296</w:MaxEnvelopeSize>`}),
			sub:    SubInvalidMessageInfoHeader, wsman: ErrCodeInvalidMessageHeader, inMsg: "MaxEnvelopeSize"},
		{name: "Locale mustUnderstand true",
			header: headers(map[string]string{"Locale": `<w:Locale xml:lang="en-US" s:mustUnderstand="true"/>`}),
			sub:    SubUnsupportedFeature, wsman: ErrCodeUnsupportedFeature, detail: "Locale"},
		{name: "Locale mustUnderstand 1",
			header: headers(map[string]string{"Locale": `<w:Locale xml:lang="de-DE" s:mustUnderstand=" 1 "/>`}),
			sub:    SubUnsupportedFeature, wsman: ErrCodeUnsupportedFeature, detail: "Locale"},
		{name: "DataLocale mustUnderstand true",
			header: headers(nil, `<p:DataLocale xml:lang="en-US" s:mustUnderstand="true"/>`),
			sub:    SubUnsupportedFeature, wsman: ErrCodeUnsupportedFeature, detail: "DataLocale"},
		{name: "FragmentTransfer",
			header: headers(nil, `<w:FragmentTransfer s:mustUnderstand="true">rsp:ShellId</w:FragmentTransfer>`),
			sub:    SubUnsupportedFeature, wsman: ErrCodeUnsupportedFeature, detail: "FragmentLevelAccess"},
		{name: "Selector without Name",
			header: headers(map[string]string{"SelectorSet": `<w:SelectorSet><w:Selector>X</w:Selector></w:SelectorSet>`}),
			sub:    SubInvalidSelectors, wsman: ErrCodeInvalidSelectors, detail: "InsufficientSelectors"},
		{name: "65 selectors",
			header: headers(map[string]string{"SelectorSet": `<w:SelectorSet>` + many(maxSelectors+1, `<w:Selector Name="s%d">v</w:Selector>`) + `</w:SelectorSet>`}),
			sub:    SubInvalidMessageInfoHeader, wsman: ErrCodeInvalidMessageHeader, inMsg: "selectors"},
		{name: "129 options",
			header: headers(map[string]string{"OptionSet": `<w:OptionSet>` + many(maxOptions+1, `<w:Option Name="o%d">v</w:Option>`) + `</w:OptionSet>`}),
			sub:    SubInvalidMessageInfoHeader, wsman: ErrCodeInvalidMessageHeader, inMsg: "options"},
		{name: "MessageID of 2049 bytes",
			header: headers(map[string]string{"MessageID": `<a:MessageID>uuid:` + strings.Repeat("A", maxMessageID-4) + `</a:MessageID>`}),
			sub:    SubInvalidMessageInfoHeader, wsman: ErrCodeInvalidMessageHeader, inMsg: "MessageID"},
		{name: "ActivityId of 2049 bytes",
			header: headers(nil, `<p:ActivityId>`+strings.Repeat("A", maxActivityID+1)+`</p:ActivityId>`),
			sub:    SubInvalidMessageInfoHeader, wsman: ErrCodeInvalidMessageHeader, inMsg: "ActivityId"},
		{name: "unknown foreign header, mustUnderstand true",
			header: headers(nil, `<x:Foo xmlns:x="urn:example" s:mustUnderstand="true">1</x:Foo>`),
			code:   "MustUnderstand", wsman: ErrCodeUnsupportedFeature, inMsg: "{urn:example}Foo"},
		{name: "unknown addressing header, mustUnderstand true",
			header: headers(nil, `<a:Foo s:mustUnderstand="true"/>`),
			code:   "MustUnderstand", wsman: ErrCodeUnsupportedFeature, inMsg: "{" + NsAddressing + "}Foo"},
		{name: "unknown wsman header, mustUnderstand true",
			header: headers(nil, `<w:Foo s:mustUnderstand="true"/>`),
			code:   "MustUnderstand", wsman: ErrCodeUnsupportedFeature, inMsg: "{" + NsWSMan + "}Foo"},
		{name: "unknown wsmv header, mustUnderstand 1",
			header: headers(nil, `<p:Foo s:mustUnderstand="1"/>`),
			code:   "MustUnderstand", wsman: ErrCodeUnsupportedFeature, inMsg: "{" + NsWSMV + "}Foo"},
		{name: "shell CompressionType, mustUnderstand true",
			header: headers(nil, `<rsp:CompressionType s:mustUnderstand="true">xpress</rsp:CompressionType>`),
			code:   "MustUnderstand", wsman: ErrCodeUnsupportedFeature, inMsg: "{" + NsShell + "}CompressionType"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeAndParse(envelopeXML(tt.header, receiveBody), "")
			f := checkFault(t, err, tt.sub, tt.wsman)
			wantCode := tt.code
			if wantCode == "" {
				wantCode = CodeSender
			}
			if f.Code != wantCode {
				t.Errorf("Code = %q; want %q", f.Code, wantCode)
			}
			if f.Detail != tt.detail {
				t.Errorf("Detail = %q; want %q", f.Detail, tt.detail)
			}
			if !strings.Contains(f.Message, tt.inMsg) {
				t.Errorf("Message = %q; want it to mention %q", f.Message, tt.inMsg)
			}
			if tt.action != "" && f.Action != tt.action {
				t.Errorf("Action = %q; want %q", f.Action, tt.action)
			}
			// Every fault must encode to a well-formed envelope.
			mustParseTree(t, EncodeFault(f, "uuid:1", "h"))
		})
	}
}

func TestParseOperationTimeout(t *testing.T) {
	tests := []struct {
		value  string // "" with absent: header left out
		absent bool
		want   time.Duration
		bad    bool
	}{
		{value: "PT20S", want: 20 * time.Second},
		{value: "PT60.000S", want: 60 * time.Second},
		{value: "P0DT0H1M0S", want: time.Minute},
		{value: "\n  PT0.5S\t\n", want: 500 * time.Millisecond},
		{value: "PT1H", want: time.Hour},
		{absent: true, want: 0},
		{value: "P", bad: true},
		{value: "60", bad: true},
		{value: "PT-5S", bad: true},
		{value: "-PT5S", bad: true},
		{value: "PT0S", bad: true},
		{value: "PT", bad: true},
		{value: "P1Y", bad: true},
		{value: "", bad: true},
		{value: "PT5S PT6S", bad: true},
	}
	for _, tt := range tests {
		name := tt.value
		if tt.absent {
			name = "absent"
		}
		t.Run(fmt.Sprintf("%q", name), func(t *testing.T) {
			h := map[string]string{"OperationTimeout": "<w:OperationTimeout>" + tt.value + "</w:OperationTimeout>"}
			if tt.absent {
				h["OperationTimeout"] = ""
			}
			env, err := decodeAndParse(envelopeXML(headers(h), receiveBody), "")
			if !tt.bad {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if env.OperationTimeout != tt.want {
					t.Errorf("OperationTimeout = %v; want %v", env.OperationTimeout, tt.want)
				}
				return
			}
			f := checkFault(t, err, SubInvalidMessageInfoHeader, 2150858767)
			want := "The WS-Management service cannot process the request. The XML contains an invalid timeout field in the SOAP header: " +
				strings.TrimSpace(tt.value) + ". "
			if f.Message != want || f.Action != ActionAddrFault {
				t.Errorf("fault = %q (action %s); want %q (action %s)", f.Message, f.Action, want, ActionAddrFault)
			}
		})
	}
}

// TestParseAcceptedHeaders covers headers Parse must accept or ignore.
func TestParseAcceptedHeaders(t *testing.T) {
	tests := []struct {
		name   string
		header string
		check  func(*Envelope) error
	}{
		{"MaxEnvelopeSize 8192", headers(map[string]string{"MaxEnvelopeSize": `<w:MaxEnvelopeSize>8192</w:MaxEnvelopeSize>`}),
			func(e *Envelope) error { return wantEq("MaxEnvelopeSize", e.MaxEnvelopeSize, uint32(8192)) }},
		{"MaxEnvelopeSize with line breaks", headers(map[string]string{"MaxEnvelopeSize": "<w:MaxEnvelopeSize>\n153600\n</w:MaxEnvelopeSize>"}),
			func(e *Envelope) error { return wantEq("MaxEnvelopeSize", e.MaxEnvelopeSize, uint32(153600)) }},
		{"MaxEnvelopeSize absent", headers(map[string]string{"MaxEnvelopeSize": ""}),
			func(e *Envelope) error { return wantEq("MaxEnvelopeSize", e.MaxEnvelopeSize, uint32(0)) }},
		{"unknown header without mustUnderstand", headers(nil, `<x:Foo xmlns:x="urn:example">1</x:Foo>`), nil},
		{"unknown header, mustUnderstand false", headers(nil, `<x:Foo xmlns:x="urn:example" s:mustUnderstand="false"/>`), nil},
		{"unknown header, mustUnderstand 0", headers(nil, `<w:Foo s:mustUnderstand="0"/>`), nil},
		{"unknown header, unqualified mustUnderstand", headers(nil, `<x:Foo xmlns:x="urn:example" mustUnderstand="true"/>`), nil},
		{"unknown header, mustUnderstand in another namespace", headers(nil, `<x:Foo xmlns:x="urn:example" x:mustUnderstand="true"/>`), nil},
		{"RequestEPR and item count", headers(nil, `<w:RequestEPR s:mustUnderstand="true"/><w:RequestTotalItemsCountEstimate s:mustUnderstand="true"/>`), nil},
		{"robust-connection headers", headers(nil, `<p:OperationID s:mustUnderstand="false">uuid:1</p:OperationID><p:SequenceId>1</p:SequenceId>`), nil},
		{"ActivityId, mustUnderstand true", headers(nil, `<p:ActivityId s:mustUnderstand="true">A1</p:ActivityId>`),
			func(e *Envelope) error { return wantEq("ActivityID", e.ActivityID, "A1") }},
		{"SessionId and DataLocale", headers(nil, `<p:SessionId s:mustUnderstand="false"> uuid:S </p:SessionId><p:DataLocale xml:lang="de-DE" s:mustUnderstand="false"/>`),
			func(e *Envelope) error {
				return firstErr(wantEq("SessionID", e.SessionID, "uuid:S"), wantEq("DataLocale", e.DataLocale, "de-DE"))
			}},
		{"Locale without mustUnderstand", headers(map[string]string{"Locale": `<w:Locale xml:lang="fr-FR"/>`}),
			func(e *Envelope) error { return wantEq("Locale", e.Locale, "fr-FR") }},
		{"MessageID of 2048 bytes", headers(map[string]string{"MessageID": `<a:MessageID>` + strings.Repeat("A", maxMessageID) + `</a:MessageID>`}),
			func(e *Envelope) error { return wantEq("len(MessageID)", len(e.MessageID), maxMessageID) }},
		{"FaultTo anonymous", headers(nil, `<a:FaultTo><a:Address>`+AddressAnonymous+`</a:Address></a:FaultTo>`), nil},
		{"64 selectors", headers(map[string]string{"SelectorSet": `<w:SelectorSet>` + strings.Repeat(`<w:Selector Name="S">v</w:Selector>`, maxSelectors) + `</w:SelectorSet>`}), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := decodeAndParse(envelopeXML(tt.header, receiveBody), "")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if err := env.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
			if tt.check != nil {
				if err := tt.check(env); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

func wantEq[T comparable](name string, got, want T) error {
	if got != want {
		return fmt.Errorf("%s = %#v; want %#v", name, got, want)
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func TestSelectorsAndOptions(t *testing.T) {
	h := headers(map[string]string{
		"SelectorSet": `<w:SelectorSet><w:Selector Name="ShellID">
  uuid:ABC  </w:Selector><w:Selector Name="Transport">HTTP</w:Selector></w:SelectorSet>`,
		"OptionSet": `<w:OptionSet xmlns:xsi="` + NsXSI + `">` +
			`<w:Option Name="WINRS_NOPROFILE" MustComply="true">TRUE</w:Option>` +
			`<w:Option Name="WINRS_CODEPAGE" MustComply=" TRUE ">65001</w:Option>` +
			`<w:Option Name="WINRS_CONSOLEMODE_STDIN" MustComply="false"> true </w:Option>` +
			`<w:Option Name="WINRS_SKIP_CMD_SHELL">FALSE</w:Option>` +
			`<w:Option Name="protocolversion" Type="xs:string">1</w:Option>` +
			`</w:OptionSet>`,
	})
	env, err := decodeAndParse(envelopeXML(h, receiveBody), "")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	selectorTests := []struct {
		name, want string
		ok         bool
	}{
		{"ShellId", "uuid:ABC", true},
		{"shellid", "uuid:ABC", true},
		{"SHELLID", "uuid:ABC", true},
		{"ShellID", "uuid:ABC", true},
		{"transport", "HTTP", true},
		{"CommandId", "", false},
	}
	for _, tt := range selectorTests {
		if got, ok := env.Selector(tt.name); got != tt.want || ok != tt.ok {
			t.Errorf("Selector(%q) = %q, %v; want %q, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
	optionTests := []struct {
		name       string
		value      string
		mustComply bool
		ok, isTrue bool
	}{
		{"WINRS_NOPROFILE", "TRUE", true, true, true},
		{"winrs_noprofile", "TRUE", true, true, true},
		{"WINRS_CODEPAGE", "65001", true, true, false},
		{"WINRS_CONSOLEMODE_STDIN", "true", false, true, true},
		{"WINRS_SKIP_CMD_SHELL", "FALSE", false, true, false},
		{"PROTOCOLVERSION", "1", false, true, false},
		{"WSMAN_CMDSHELL_OPTION_KEEPALIVE", "", false, false, false},
	}
	for _, tt := range optionTests {
		o, ok := env.Option(tt.name)
		if ok != tt.ok || o.Value != tt.value || o.MustComply != tt.mustComply {
			t.Errorf("Option(%q) = %+v, %v; want value %q, MustComply %v, %v", tt.name, o, ok, tt.value, tt.mustComply, tt.ok)
		}
		if got := env.OptionBool(tt.name); got != tt.isTrue {
			t.Errorf("OptionBool(%q) = %v; want %v", tt.name, got, tt.isTrue)
		}
	}
}

// prefixVariants writes the same Receive request with different prefix
// choices; all must decode identically (winrm-protocol.md 2.1: parse by
// namespace URI, never by prefix).
func prefixVariants() map[string][]byte {
	// tmpl uses S:, A:, W:, R: for the SOAP, addressing, WS-Man and shell
	// prefixes and {decl} for their declarations.
	const tmpl = `<S:Envelope {decl}><S:Header>` +
		`<A:To>http://host:5985/wsman</A:To>` +
		`<A:ReplyTo><A:Address S:mustUnderstand="true">` + AddressAnonymous + `</A:Address></A:ReplyTo>` +
		`<A:Action S:mustUnderstand="true">` + ActionReceive + `</A:Action>` +
		`<A:MessageID>uuid:D384DEF8-351E-41F0-B3DA-C91BE1A58A09</A:MessageID>` +
		`<W:ResourceURI S:mustUnderstand="true">` + cmdShellURI + `</W:ResourceURI>` +
		`<W:MaxEnvelopeSize S:mustUnderstand="true">153600</W:MaxEnvelopeSize>` +
		`<W:OperationTimeout>PT20S</W:OperationTimeout>` +
		`<W:Locale xml:lang="en-US" S:mustUnderstand="false"/>` +
		`<W:SelectorSet><W:Selector Name="ShellId">9731F5BD-1A2B-4C3D-8E9F-0A1B2C3D4E5F</W:Selector></W:SelectorSet>` +
		`<W:OptionSet><W:Option Name="WSMAN_CMDSHELL_OPTION_KEEPALIVE">TRUE</W:Option></W:OptionSet>` +
		`</S:Header><S:Body><R:Receive><R:DesiredStream CommandId="1D3CB4DC-2E7A-4B6B-9E4F-3C2B1A0F9E8D">stdout stderr</R:DesiredStream></R:Receive></S:Body></S:Envelope>`
	prefixed := func(s, a, w, r string) []byte {
		decl := fmt.Sprintf(`xmlns:%s="%s" xmlns:%s="%s" xmlns:%s="%s" xmlns:%s="%s"`, s, NsSOAP, a, NsAddressing, w, NsWSMan, r, NsShell)
		return []byte(strings.NewReplacer("{decl}", decl, "S:", s+":", "A:", a+":", "W:", w+":", "R:", r+":").Replace(tmpl))
	}
	// Default namespaces: every element unprefixed; the SOAP prefix is
	// still needed for the mustUnderstand attributes.
	defaults := `<Envelope xmlns="` + NsSOAP + `" xmlns:s="` + NsSOAP + `"><Header>` +
		`<To xmlns="` + NsAddressing + `">http://host:5985/wsman</To>` +
		`<ReplyTo xmlns="` + NsAddressing + `"><Address s:mustUnderstand="true">` + AddressAnonymous + `</Address></ReplyTo>` +
		`<Action xmlns="` + NsAddressing + `" s:mustUnderstand="true">` + ActionReceive + `</Action>` +
		`<MessageID xmlns="` + NsAddressing + `">uuid:D384DEF8-351E-41F0-B3DA-C91BE1A58A09</MessageID>` +
		`<ResourceURI xmlns="` + NsWSMan + `" s:mustUnderstand="true">` + cmdShellURI + `</ResourceURI>` +
		`<MaxEnvelopeSize xmlns="` + NsWSMan + `" s:mustUnderstand="true">153600</MaxEnvelopeSize>` +
		`<OperationTimeout xmlns="` + NsWSMan + `">PT20S</OperationTimeout>` +
		`<Locale xmlns="` + NsWSMan + `" xml:lang="en-US" s:mustUnderstand="false"/>` +
		`<SelectorSet xmlns="` + NsWSMan + `"><Selector Name="ShellId">9731F5BD-1A2B-4C3D-8E9F-0A1B2C3D4E5F</Selector></SelectorSet>` +
		`<OptionSet xmlns="` + NsWSMan + `"><Option Name="WSMAN_CMDSHELL_OPTION_KEEPALIVE">TRUE</Option></OptionSet>` +
		`</Header><Body><Receive xmlns="` + NsShell + `"><DesiredStream CommandId="1D3CB4DC-2E7A-4B6B-9E4F-3C2B1A0F9E8D">stdout stderr</DesiredStream></Receive></Body></Envelope>`
	// Prefixes declared where used, and one prefix rebound in a child
	// scope (a means WS-Man inside ResourceURI only).
	local := `<s:Envelope xmlns:s="` + NsSOAP + `"><s:Header>` +
		`<a:To xmlns:a="` + NsAddressing + `">http://host:5985/wsman</a:To>` +
		`<a:ReplyTo xmlns:a="` + NsAddressing + `"><a:Address s:mustUnderstand="true">` + AddressAnonymous + `</a:Address></a:ReplyTo>` +
		`<a:Action xmlns:a="` + NsAddressing + `" s:mustUnderstand="true">` + ActionReceive + `</a:Action>` +
		`<a:MessageID xmlns:a="` + NsAddressing + `">uuid:D384DEF8-351E-41F0-B3DA-C91BE1A58A09</a:MessageID>` +
		`<a:ResourceURI xmlns:a="` + NsWSMan + `" s:mustUnderstand="true">` + cmdShellURI + `</a:ResourceURI>` +
		`<w:MaxEnvelopeSize xmlns:w="` + NsWSMan + `" s:mustUnderstand="true">153600</w:MaxEnvelopeSize>` +
		`<w:OperationTimeout xmlns:w="` + NsWSMan + `">PT20S</w:OperationTimeout>` +
		`<w:Locale xmlns:w="` + NsWSMan + `" xml:lang="en-US" s:mustUnderstand="false"/>` +
		`<w:SelectorSet xmlns:w="` + NsWSMan + `" xmlns="` + NsWSMan + `"><Selector Name="ShellId">9731F5BD-1A2B-4C3D-8E9F-0A1B2C3D4E5F</Selector></w:SelectorSet>` +
		`<OptionSet xmlns="` + NsWSMan + `"><Option Name="WSMAN_CMDSHELL_OPTION_KEEPALIVE">TRUE</Option></OptionSet>` +
		`</s:Header><s:Body><Receive xmlns="` + NsShell + `"><DesiredStream CommandId="1D3CB4DC-2E7A-4B6B-9E4F-3C2B1A0F9E8D">stdout stderr</DesiredStream></Receive></s:Body></s:Envelope>`
	return map[string][]byte{
		"s/wsa/wsman/rsp":     prefixed("s", "wsa", "wsman", "rsp"),
		"env/a/w/rsp":         prefixed("env", "a", "w", "rsp"),
		"soap/addr/man/shell": prefixed("soap", "addr", "man", "shell"),
		"default namespaces":  []byte(defaults),
		"local declarations":  []byte(local),
		"std":                 envelopeXML(headers(nil), receiveBody),
	}
}

func TestParsePrefixes(t *testing.T) {
	for name, data := range prefixVariants() {
		t.Run(name, func(t *testing.T) {
			env, err := decodeAndParse(data, "")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := summarize(env); !reflect.DeepEqual(got, wantStd) {
				t.Errorf("Parse = %+v\nwant %+v", got, wantStd)
			}
			if err := env.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

// indent pretty-prints compact XML: a line break and indentation before
// every tag, like the spec examples.
func indent(data []byte) []byte {
	var out bytes.Buffer
	depth := 0
	for i := 0; i < len(data); i++ {
		c := data[i]
		if c == '<' {
			closing := i+1 < len(data) && data[i+1] == '/'
			if closing {
				depth--
			}
			out.WriteString("\n" + strings.Repeat("  ", max(depth, 0)))
			end := bytes.IndexByte(data[i:], '>')
			tag := data[i : i+end+1]
			out.Write(tag)
			if !closing && !bytes.HasSuffix(tag, []byte("/>")) {
				depth++
			}
			i += end
			continue
		}
		out.WriteByte(c)
	}
	out.WriteString("\n")
	return out.Bytes()
}

// TestParseWhitespace checks that whitespace and line breaks between
// elements and around values do not change the decoded request.
func TestParseWhitespace(t *testing.T) {
	tests := map[string][]byte{
		"pretty-printed": indent(envelopeXML(headers(nil), receiveBody)),
		"CRLF line ends": bytes.ReplaceAll(indent(envelopeXML(headers(nil), receiveBody)), []byte("\n"), []byte("\r\n")),
		"values wrapped": envelopeXML(headers(map[string]string{
			"To":               "<a:To>\n http://host:5985/wsman \n</a:To>",
			"ReplyTo":          "<a:ReplyTo>\n<a:Address s:mustUnderstand=\"true\">\n\t" + AddressAnonymous + "\r\n</a:Address>\n</a:ReplyTo>",
			"Action":           "<a:Action s:mustUnderstand=\"true\">\n" + ActionReceive + "\n</a:Action>",
			"MessageID":        "<a:MessageID>\n uuid:D384DEF8-351E-41F0-B3DA-C91BE1A58A09</a:MessageID>",
			"ResourceURI":      "<w:ResourceURI s:mustUnderstand=\"true\"> " + cmdShellURI + "</w:ResourceURI>",
			"MaxEnvelopeSize":  "<w:MaxEnvelopeSize s:mustUnderstand=\"true\">\n153600\n</w:MaxEnvelopeSize>",
			"OperationTimeout": "<w:OperationTimeout>\nPT20S\n</w:OperationTimeout>",
			"SelectorSet":      "<w:SelectorSet>\n<w:Selector Name=\"ShellId\">\n9731F5BD-1A2B-4C3D-8E9F-0A1B2C3D4E5F\n</w:Selector>\n</w:SelectorSet>",
			"OptionSet":        "<w:OptionSet>\n<w:Option Name=\"WSMAN_CMDSHELL_OPTION_KEEPALIVE\">\nTRUE\n</w:Option>\n</w:OptionSet>",
		}), "\n"+strings.ReplaceAll(receiveBody, ">stdout stderr<", ">\n  stdout\tstderr \n<")+"\n"),
		"XML declaration and comments": append([]byte("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!-- request -->\n"),
			append(envelopeXML(headers(nil, "<!-- c -->"), receiveBody), "\n<!-- end -->\n"...)...),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			env, err := decodeAndParse(data, "")
			if err != nil {
				t.Fatalf("Parse: %v\n%s", err, data)
			}
			got := summarize(env)
			// DesiredStream's own text differs only in inner whitespace.
			r, err := ParseReceive(env.Body)
			if err != nil || !slices.Equal(r.Streams, []string{"stdout", "stderr"}) {
				t.Errorf("ParseReceive = %+v, %v; want streams [stdout stderr]", r, err)
			}
			got.Body, got.Options = wantStd.Body, slices.Clone(got.Options)
			for i := range got.Options {
				got.Options[i].Value = strings.TrimSpace(got.Options[i].Value)
			}
			if !reflect.DeepEqual(got, wantStd) {
				t.Errorf("Parse = %+v\nwant %+v", got, wantStd)
			}
		})
	}
}

// utf16 encodes s as UTF-16 in the given byte order, with or without BOM.
func utf16(t *testing.T, s string, big, bom bool) []byte {
	t.Helper()
	end := unicode.LittleEndian
	if big {
		end = unicode.BigEndian
	}
	pol := unicode.IgnoreBOM
	if bom {
		pol = unicode.UseBOM
	}
	out, err := unicode.UTF16(end, pol).NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDecodeBodyCharsets(t *testing.T) {
	// A non-ASCII selector value checks that the text really is decoded.
	const extra = "Grüße ✓ 𝄞"
	doc := string(envelopeXML(headers(map[string]string{"SelectorSet": `<w:SelectorSet>` +
		`<w:Selector Name="ShellId">9731F5BD-1A2B-4C3D-8E9F-0A1B2C3D4E5F</w:Selector>` +
		`<w:Selector Name="Extra">` + extra + `</w:Selector></w:SelectorSet>`}), receiveBody))
	decl16 := `<?xml version="1.0" encoding="utf-16"?>` + "\n" + doc
	tests := []struct {
		name        string
		body        []byte
		contentType string
		want        Charset
	}{
		{"UTF-8", []byte(doc), "application/soap+xml;charset=UTF-8", UTF8},
		{"UTF-8 no content type", []byte(doc), "", UTF8},
		{"UTF-8 with BOM", append([]byte{0xEF, 0xBB, 0xBF}, doc...), "application/soap+xml;charset=UTF-8", UTF8},
		{"UTF-8 declaration", []byte(`<?xml version="1.0" encoding="UTF-8"?>` + doc), "application/soap+xml", UTF8},
		{"UTF-16LE with BOM", utf16(t, doc, false, true), "application/soap+xml;charset=UTF-16", UTF16LE},
		{"UTF-16BE with BOM", utf16(t, doc, true, true), "application/soap+xml;charset=UTF-16", UTF16BE},
		{"UTF-16LE BOM beats a UTF-8 content type", utf16(t, doc, false, true), "application/soap+xml;charset=UTF-8", UTF16LE},
		// A leading line break defeats the "<\x00" sniffing below, so these
		// depend on the charset parameter alone.
		{"UTF-16 no BOM, charset=utf-16", utf16(t, "\n"+doc, false, false), "application/soap+xml;charset=utf-16", UTF16LE},
		{"UTF-16 no BOM, quoted charset", utf16(t, "\n"+doc, false, false), `application/soap+xml; charset="UTF-16"; action="x"`, UTF16LE},
		{"UTF-16LE no BOM, charset=utf-16le", utf16(t, "\n"+doc, false, false), "application/soap+xml;charset=utf-16le", UTF16LE},
		{"UTF-16BE no BOM, charset=utf-16be", utf16(t, "\n"+doc, true, false), "application/soap+xml;charset=UTF-16BE", UTF16BE},
		{"UTF-16LE no BOM, no charset", utf16(t, doc, false, false), "application/soap+xml", UTF16LE},
		{"UTF-16BE no BOM, no charset", utf16(t, doc, true, false), "", UTF16BE},
		{"UTF-16 declaration", utf16(t, decl16, false, true), "application/soap+xml;charset=UTF-16", UTF16LE},
		{"UTF-16 declaration, big-endian", utf16(t, decl16, true, true), "", UTF16BE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			utf, cs, err := DecodeBody(tt.body, tt.contentType)
			if err != nil {
				t.Fatalf("DecodeBody: %v", err)
			}
			if cs != tt.want {
				t.Errorf("charset = %v; want %v", cs, tt.want)
			}
			env, err := Parse(utf, cs, ParseLimits{})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if env.Charset != tt.want {
				t.Errorf("Envelope.Charset = %v; want %v", env.Charset, tt.want)
			}
			if got, _ := env.Selector("extra"); got != extra {
				t.Errorf("Selector(extra) = %q; want %q", got, extra)
			}
			got := summarize(env)
			got.Charset, got.Selectors = UTF8, map[string]string{"shellid": got.Selectors["shellid"]}
			if !reflect.DeepEqual(got, wantStd) {
				t.Errorf("Parse = %+v\nwant %+v", got, wantStd)
			}
		})
	}
}

func TestDecodeBodyRejects(t *testing.T) {
	doc := string(envelopeXML(headers(nil), receiveBody))
	tests := []struct {
		name        string
		body        []byte
		contentType string
		sub         Subcode
		code        uint32
	}{
		{"invalid UTF-8 byte", []byte(strings.Replace(doc, "stdout", "std\xffout", 1)), "", SubInvalidValue, ErrCodeInvalidParameter},
		{"truncated UTF-8 sequence", []byte(strings.Replace(doc, "stdout", "std\xc3", 1)), "application/soap+xml;charset=UTF-8", SubInvalidValue, ErrCodeInvalidParameter},
		{"UTF-8 encoded surrogate", []byte(strings.Replace(doc, "stdout", "\xed\xa0\x80", 1)), "", SubInvalidValue, ErrCodeInvalidParameter},
		{"overlong UTF-8", []byte(strings.Replace(doc, "stdout", "\xc0\xbc", 1)), "", SubInvalidValue, ErrCodeInvalidParameter},
		// After a UTF-8 BOM DecodeBody does not validate, but the XML
		// parser refuses invalid UTF-8 in text.
		{"invalid UTF-8 after a BOM", append([]byte{0xEF, 0xBB, 0xBF}, strings.Replace(doc, "stdout", "std\xffout", 1)...), "", SubInternalError, ErrCodeInvalidXML},
		{"unsupported declared encoding", []byte(`<?xml version="1.0" encoding="ISO-8859-1"?>` + doc), "", SubInternalError, ErrCodeInvalidXML},
		{"UTF-8 body sent as UTF-16", []byte(doc), "application/soap+xml;charset=UTF-16", SubInternalError, ErrCodeInvalidXML},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeAndParse(tt.body, tt.contentType)
			checkFault(t, err, tt.sub, tt.code)
		})
	}
}

func TestEncodeBodyRoundTrip(t *testing.T) {
	var reply bytes.Buffer
	WriteEnvelope(&reply, ActionReceive+"Response", "uuid:Grüße-✓-𝄞", func(b *bytes.Buffer) {
		WriteReceiveResponse(b, []StreamData{{Name: "stdout", CommandID: "C", Data: []byte("ü")}}, nil)
	})
	tests := []struct {
		cs      Charset
		prefix  []byte
		ctype   string
		sizeMul int // encoded size is at least this multiple of the UTF-8 size
	}{
		{UTF8, []byte("<s:Envelope"), "application/soap+xml;charset=UTF-8", 1},
		{UTF16LE, []byte{0xFF, 0xFE, '<', 0}, "application/soap+xml;charset=UTF-16", 2},
		{UTF16BE, []byte{0xFE, 0xFF, 0, '<'}, "application/soap+xml;charset=UTF-16", 2},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.cs), func(t *testing.T) {
			out, ct := EncodeBody(reply.Bytes(), tt.cs)
			if !bytes.HasPrefix(out, tt.prefix) || ct != tt.ctype {
				t.Errorf("EncodeBody = % x..., %q; want prefix % x, %q", out[:min(len(out), 4)], ct, tt.prefix, tt.ctype)
			}
			if len(out) < tt.sizeMul*(reply.Len()-8) {
				t.Errorf("len = %d; want about %d×%d", len(out), tt.sizeMul, reply.Len())
			}
			back, cs, err := DecodeBody(out, ct)
			if err != nil || cs != tt.cs || !bytes.Equal(back, reply.Bytes()) {
				t.Errorf("DecodeBody(EncodeBody) = %q, %v, %v; want the reply, %v", back, cs, err, tt.cs)
			}
			root := mustParseTree(t, back)
			if got := headerElem(root, NsAddressing, "RelatesTo").Text; got != "uuid:Grüße-✓-𝄞" {
				t.Errorf("RelatesTo = %q; want uuid:Grüße-✓-𝄞", got)
			}
		})
	}
}

func TestParseDocumentFaults(t *testing.T) {
	deep := strings.Repeat("<x>", DefaultMaxDepth) + strings.Repeat("</x>", DefaultMaxDepth)
	tests := []struct {
		name string
		body string
		code string
		sub  Subcode
		ws   uint32
	}{
		{"not XML", "hello", CodeSender, SubInternalError, ErrCodeInvalidXML},
		{"empty", "", CodeSender, SubInternalError, ErrCodeInvalidXML},
		{"truncated", string(envelopeXML(headers(nil), receiveBody))[:200], CodeSender, SubInternalError, ErrCodeInvalidXML},
		{"too deep", envOpen + `<s:Body>` + deep + `</s:Body></s:Envelope>`, CodeSender, SubInternalError, ErrCodeInvalidXML},
		{"SOAP 1.1 envelope", `<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body/></e:Envelope>`, "VersionMismatch", Subcode{}, ErrCodeSchemaValidation},
		{"not an envelope", `<s:Body xmlns:s="` + NsSOAP + `"/>`, CodeSender, SubInvalidValue, ErrCodeInvalidParameter},
		{"no Body", envOpen + `<s:Header>` + headers(nil) + `</s:Header></s:Envelope>`, CodeSender, SubInvalidValue, ErrCodeInvalidParameter},
		{"Body in another namespace", envOpen + `<s:Header/><a:Body/></s:Envelope>`, CodeSender, SubInvalidValue, ErrCodeInvalidParameter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.body), UTF8, ParseLimits{})
			f := checkFault(t, err, tt.sub, tt.ws)
			if f.Code != tt.code {
				t.Errorf("Code = %q; want %q", f.Code, tt.code)
			}
			if tt.ws == ErrCodeInvalidXML && f.Detail != "Invalid" {
				t.Errorf("Detail = %q; want Invalid", f.Detail)
			}
		})
	}
}

func TestParseIdentify(t *testing.T) {
	const identify = `<wsmid:Identify xmlns:wsmid="` + NsIdentity + `"/>`
	tests := []struct {
		name string
		body string
		want bool
	}{
		{"no header", `<s:Envelope xmlns:s="` + NsSOAP + `"><s:Body>` + identify + `</s:Body></s:Envelope>`, true},
		{"empty header", `<s:Envelope xmlns:s="` + NsSOAP + `"><s:Header/><s:Body>` + identify + `</s:Body></s:Envelope>`, true},
		{"with headers", string(envelopeXML(headers(nil), identify)), true},
		{"IdentifyResponse", `<s:Envelope xmlns:s="` + NsSOAP + `"><s:Body><i:IdentifyResponse xmlns:i="` + NsIdentity + `"/></s:Body></s:Envelope>`, false},
		{"Identify in another namespace", `<s:Envelope xmlns:s="` + NsSOAP + `"><s:Body><Identify xmlns="urn:x"/></s:Body></s:Envelope>`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := decodeAndParse([]byte(tt.body), "")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if env.Identify != tt.want {
				t.Errorf("Identify = %v; want %v", env.Identify, tt.want)
			}
			if err := env.Validate(); tt.want && err != nil {
				t.Errorf("Validate = %v; want nil for Identify", err)
			}
			if err := env.Validate(); !tt.want && err == nil {
				t.Errorf("Validate = nil; want a fault for a header-less non-Identify request")
			}
		})
	}
	t.Run("UTF-16", func(t *testing.T) {
		body := utf16(t, `<s:Envelope xmlns:s="`+NsSOAP+`"><s:Header/><s:Body>`+identify+`</s:Body></s:Envelope>`, false, true)
		env, err := decodeAndParse(body, "")
		if err != nil || !env.Identify || env.Charset != UTF16LE {
			t.Errorf("Parse = %+v, %v; want Identify in UTF-16LE", env, err)
		}
	})
}
