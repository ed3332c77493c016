package service

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/psremote/psremote/auth"
	"github.com/psremote/psremote/internal/identity"
	"github.com/psremote/psremote/internal/proc"
	"github.com/psremote/psremote/internal/shell"
	"github.com/psremote/psremote/wsman"
)

type fixture struct {
	t    *testing.T
	svc  *Service
	eng  *shell.Engine
	host *proc.Host
	who  *auth.Result
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	before := runtime.NumGoroutine()
	self, err := identity.Current()
	if err != nil {
		t.Fatal(err)
	}
	host := proc.NewHost(self)
	eng := shell.New(shell.Config{AllowRemoteShellAccess: true, IdleTimeout: time.Hour, OutputBuffer: 1 << 20,
		MaxShellsPerUser: 30, MaxConcurrentUsers: 10, MaxOperationsPerUser: 1500}, host)
	svc := New(Config{Machine: "testhost", MaxEnvelopeSize: 512000, MaxTimeout: 5 * time.Second,
		AdminGroups: []string{"sudo", "wheel"}, ServerUser: self, ProductVendor: "psremote",
		ProductVersion: "OS: 1.2.3 SP: 0.0 Stack: 3.0"}, eng)
	f := &fixture{t: t, svc: svc, eng: eng, host: host,
		who: &auth.Result{Principal: self.Name, User: self, Mechanism: "Basic"}}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		eng.Close(ctx)
		host.Close(ctx)
		if n := host.Running(); n != 0 {
			t.Errorf("%d child processes left", n)
		}
		// Every goroutine the engine started must be gone.
		deadline := time.Now().Add(3 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<16)
			t.Errorf("goroutines: %d before, %d after\n%s", before, n, buf[:runtime.Stack(buf, true)])
		}
	})
	return f
}

// envelope builds a request with the usual pywinrm-style headers.
func envelope(action, resource, selectors, options, body string) string {
	return `<?xml version="1.0" encoding="utf-8"?>
<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"
 xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
 xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration">
<env:Header>
 <a:To>http://windows-host:5985/wsman</a:To>
 <a:ReplyTo><a:Address env:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo>
 <w:MaxEnvelopeSize env:mustUnderstand="true">153600</w:MaxEnvelopeSize>
 <a:MessageID>uuid:11111111-2222-3333-4444-555555555555</a:MessageID>
 <w:Locale xml:lang="en-US" env:mustUnderstand="false"/>
 <w:OperationTimeout>PT2S</w:OperationTimeout>
 <a:Action env:mustUnderstand="true">` + action + `</a:Action>
 <w:ResourceURI env:mustUnderstand="true">` + resource + `</w:ResourceURI>
 ` + selectors + options + `
</env:Header>
<env:Body>` + body + `</env:Body>
</env:Envelope>`
}

func sel(id string) string {
	return `<w:SelectorSet><w:Selector Name="ShellId">` + id + `</w:Selector></w:SelectorSet>`
}

func (f *fixture) do(body string) *Reply {
	f.t.Helper()
	r := f.svc.Handle(context.Background(), &Request{Body: []byte(body), ContentType: "application/soap+xml;charset=UTF-8",
		Auth: f.who, ClientIP: "127.0.0.1", Endpoint: "http://127.0.0.1:5985/wsman"})
	if r.Commit != nil {
		r.Commit(true)
	}
	return r
}

func parseReply(t *testing.T, r *Reply) *wsman.Element {
	t.Helper()
	root, err := wsman.ParseXML(r.Body, wsman.ParseLimits{})
	if err != nil {
		t.Fatalf("reply is not XML: %v\n%s", err, r.Body)
	}
	return root
}

// faultCode returns the reply's subcode local name and WSManFault code.
func faultCode(t *testing.T, r *Reply) (string, string) {
	t.Helper()
	if r.Status != http.StatusInternalServerError {
		t.Fatalf("status %d; want 500\n%s", r.Status, r.Body)
	}
	root := parseReply(t, r)
	fault := root.Child(wsman.NsSOAP, "Body").Child(wsman.NsSOAP, "Fault")
	if fault == nil {
		t.Fatalf("no s:Fault in\n%s", r.Body)
	}
	sub := fault.Child(wsman.NsSOAP, "Code").Child(wsman.NsSOAP, "Subcode").Child(wsman.NsSOAP, "Value").TrimText()
	wf := fault.Child(wsman.NsSOAP, "Detail").Child(wsman.NsFault, "WSManFault")
	code, _ := wf.Attr("Code")
	if m, _ := wf.Attr("Machine"); m != "testhost" {
		t.Errorf("Machine = %q; want testhost", m)
	}
	rel := root.Child(wsman.NsSOAP, "Header").Child(wsman.NsAddressing, "RelatesTo").TrimText()
	if strings.Contains(string(r.Body), "uuid:11111111") && rel != "uuid:11111111-2222-3333-4444-555555555555" {
		t.Errorf("RelatesTo = %q", rel)
	}
	_, local, _ := strings.Cut(sub, ":")
	return local, code
}

func (f *fixture) create() string {
	f.t.Helper()
	r := f.do(envelope(wsman.ActionCreate, wsman.ResourceCmdShell, "",
		`<w:OptionSet><w:Option Name="WINRS_NOPROFILE">FALSE</w:Option><w:Option Name="WINRS_CODEPAGE">65001</w:Option></w:OptionSet>`,
		`<rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>`))
	if r.Status != 200 {
		f.t.Fatalf("create: %d\n%s", r.Status, r.Body)
	}
	root := parseReply(f.t, r)
	id := root.Child(wsman.NsSOAP, "Body").Child(wsman.NsShell, "Shell").Child(wsman.NsShell, "ShellId").TrimText()
	if id == "" || id != strings.ToUpper(id) {
		f.t.Fatalf("bad ShellId %q", id)
	}
	return id
}

func (f *fixture) command(sid, cmd string) string {
	f.t.Helper()
	r := f.do(envelope(wsman.ActionCommand, wsman.ResourceCmdShell, sel(sid), "",
		`<rsp:CommandLine><rsp:Command>`+cmd+`</rsp:Command></rsp:CommandLine>`))
	if r.Status != 200 {
		f.t.Fatalf("command: %d\n%s", r.Status, r.Body)
	}
	return parseReply(f.t, r).Child(wsman.NsSOAP, "Body").Child(wsman.NsShell, "CommandResponse").Child(wsman.NsShell, "CommandId").TrimText()
}

func receiveBody(cid string) string {
	return `<rsp:Receive SequenceId="0"><rsp:DesiredStream CommandId="` + cid + `">stdout stderr</rsp:DesiredStream></rsp:Receive>`
}

func TestShellLifecycleThroughService(t *testing.T) {
	f := newFixture(t)
	sid := f.create()
	cid := f.command(sid, "echo hi; echo oops &gt;&amp;2; exit 4")
	var stdout, stderr bytes.Buffer
	exit := ""
	for i := 0; i < 20 && exit == ""; i++ {
		r := f.do(envelope(wsman.ActionReceive, wsman.ResourceCmdShell, sel(sid), "", receiveBody(cid)))
		if r.Status != 200 {
			if sub, _ := faultCode(t, r); sub == "TimedOut" {
				continue
			}
			t.Fatalf("receive: %s", r.Body)
		}
		rr := parseReply(t, r).Child(wsman.NsSOAP, "Body").Child(wsman.NsShell, "ReceiveResponse")
		for _, s := range rr.ChildrenNamed(wsman.NsShell, "Stream") {
			data, _ := base64.StdEncoding.DecodeString(s.TrimText())
			if n, _ := s.Attr("Name"); n == "stdout" {
				stdout.Write(data)
			} else {
				stderr.Write(data)
			}
		}
		st := rr.Child(wsman.NsShell, "CommandState")
		if state, _ := st.Attr("State"); state == wsman.CommandStateDone {
			exit = st.Child(wsman.NsShell, "ExitCode").TrimText()
		}
	}
	if stdout.String() != "hi\n" || stderr.String() != "oops\n" || exit != "4" {
		t.Errorf("got %q %q exit %q", stdout.String(), stderr.String(), exit)
	}
	r := f.do(envelope(wsman.ActionSignal, wsman.ResourceCmdShell, sel(sid), "",
		`<rsp:Signal CommandId="`+cid+`"><rsp:Code>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/TERMINATE</rsp:Code></rsp:Signal>`))
	if r.Status != 200 {
		t.Fatalf("signal: %s", r.Body)
	}
	// Get and Enumerate on the base shell URI.
	r = f.do(envelope(wsman.ActionGet, wsman.ResourceShellBase, sel(strings.ToLower(sid)), "", ""))
	if r.Status != 200 || !strings.Contains(string(r.Body), sid) {
		t.Errorf("get: %d %s", r.Status, r.Body)
	}
	r = f.do(envelope(wsman.ActionEnumerate, wsman.ResourceShellBase, "", "",
		`<n:Enumerate><w:OptimizeEnumeration/><w:MaxElements>32000</w:MaxElements></n:Enumerate>`))
	if r.Status != 200 || !strings.Contains(string(r.Body), sid) || !strings.Contains(string(r.Body), "EndOfSequence") {
		t.Errorf("enumerate: %d %s", r.Status, r.Body)
	}
	r = f.do(envelope(wsman.ActionDelete, wsman.ResourceCmdShell, sel(sid), "", ""))
	if r.Status != 200 {
		t.Errorf("delete: %s", r.Body)
	}
}

func TestEnumeratePull(t *testing.T) {
	f := newFixture(t)
	ids := map[string]bool{f.create(): true, f.create(): true, f.create(): true}
	r := f.do(envelope(wsman.ActionEnumerate, wsman.ResourceShellBase, "", "", `<n:Enumerate/>`))
	ctxID := parseReply(t, r).Child(wsman.NsSOAP, "Body").Child(wsman.NsEnum, "EnumerateResponse").Child(wsman.NsEnum, "EnumerationContext").TrimText()
	seen := 0
	for i := 0; i < 5; i++ {
		r = f.do(envelope(wsman.ActionPull, wsman.ResourceShellBase, "", "",
			`<n:Pull><n:EnumerationContext>`+ctxID+`</n:EnumerationContext><n:MaxElements>2</n:MaxElements></n:Pull>`))
		if r.Status != 200 {
			t.Fatalf("pull: %s", r.Body)
		}
		pr := parseReply(t, r).Child(wsman.NsSOAP, "Body").Child(wsman.NsEnum, "PullResponse")
		for _, s := range pr.Child(wsman.NsEnum, "Items").ChildrenNamed(wsman.NsShell, "Shell") {
			if ids[s.Child(wsman.NsShell, "ShellId").TrimText()] {
				seen++
			}
		}
		if pr.Child(wsman.NsEnum, "EndOfSequence") != nil {
			break
		}
	}
	if seen != 3 {
		t.Errorf("pulled %d of 3 shells", seen)
	}
	r = f.do(envelope(wsman.ActionPull, wsman.ResourceShellBase, "", "",
		`<n:Pull><n:EnumerationContext>`+ctxID+`</n:EnumerationContext></n:Pull>`))
	if sub, _ := faultCode(t, r); sub != "InvalidEnumerationContext" {
		t.Errorf("pull after end: %s", sub)
	}
}

// TestHostileInput sends malformed and malicious requests; each must get
// a Windows-shaped fault, and the fixture's cleanup checks that no
// process or goroutine is left behind.
func TestHostileInput(t *testing.T) {
	f := newFixture(t)
	sid := f.create()
	cid := f.command(sid, "sleep 100")
	other := "00000000-0000-0000-0000-000000000000"
	bomb := `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>`
	xxe := `<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>` +
		envelope(wsman.ActionCreate, wsman.ResourceCmdShell, "", "", `<rsp:Shell>&xxe;</rsp:Shell>`)[len(`<?xml version="1.0" encoding="utf-8"?>`):]
	deep := envelope(wsman.ActionCreate, wsman.ResourceCmdShell, "", "", strings.Repeat("<x>", 200)+strings.Repeat("</x>", 200))
	tests := []struct {
		name    string
		body    string
		subcode string
		code    uint32
	}{
		{"not xml", "this is not xml", "InternalError", wsman.ErrCodeInvalidXML},
		{"truncated", envelope(wsman.ActionCreate, wsman.ResourceCmdShell, "", "", "<rsp:Shell>")[:300], "InternalError", wsman.ErrCodeInvalidXML},
		{"entity expansion", bomb, "InternalError", wsman.ErrCodeInvalidXML},
		{"external entity", xxe, "InternalError", wsman.ErrCodeInvalidXML},
		{"too deep", deep, "InternalError", wsman.ErrCodeInvalidXML},
		{"soap 1.1 namespace", strings.ReplaceAll(envelope(wsman.ActionCreate, wsman.ResourceCmdShell, "", "", "<rsp:Shell/>"),
			"http://www.w3.org/2003/05/soap-envelope", "http://schemas.xmlsoap.org/soap/envelope/"), "", wsman.ErrCodeSchemaValidation},
		{"wrong addressing namespace", strings.ReplaceAll(envelope(wsman.ActionCreate, wsman.ResourceCmdShell, "", "", "<rsp:Shell/>"),
			"http://schemas.xmlsoap.org/ws/2004/08/addressing", "urn:wrong"), "", 0},
		{"missing action", strings.Replace(envelope("X", wsman.ResourceCmdShell, "", "", "<rsp:Shell/>"),
			`<a:Action env:mustUnderstand="true">X</a:Action>`, "", 1), "MessageInformationHeaderRequired", wsman.ErrCodeMessageHeaderRequired},
		{"missing message id", strings.Replace(envelope(wsman.ActionCreate, wsman.ResourceCmdShell, "", "", "<rsp:Shell/>"),
			`<a:MessageID>uuid:11111111-2222-3333-4444-555555555555</a:MessageID>`, "", 1), "InvalidMessageInformationHeader", wsman.ErrCodeInvalidMessageHeader},
		{"missing reply to", strings.Replace(envelope(wsman.ActionCreate, wsman.ResourceCmdShell, "", "", "<rsp:Shell/>"),
			`<a:ReplyTo><a:Address env:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo>`, "", 1),
			"MessageInformationHeaderRequired", wsman.ErrCodeMessageHeaderRequired},
		{"bad timeout", strings.Replace(envelope(wsman.ActionCreate, wsman.ResourceCmdShell, "", "", "<rsp:Shell/>"), "PT2S", "P", 1),
			"InvalidMessageInformationHeader", wsman.ErrCodeInvalidMessageHeader},
		{"tiny envelope", strings.Replace(envelope(wsman.ActionCreate, wsman.ResourceCmdShell, "", "", "<rsp:Shell/>"), "153600", "100", 1),
			"EncodingLimit", wsman.ErrCodeMinEnvelopeSize},
		{"unknown action", envelope("http://example.com/Bogus", wsman.ResourceCmdShell, sel(sid), "", ""), "ActionNotSupported", wsman.ErrCodeInvalidActionURI},
		{"unknown resource", envelope(wsman.ActionCreate, "http://example.com/nothing", "", "", "<rsp:Shell/>"), "DestinationUnreachable", wsman.ErrCodeInvalidResourceURI},
		{"must-comply option", envelope(wsman.ActionCreate, wsman.ResourceCmdShell, "", `<w:OptionSet><w:Option Name="FANCY" MustComply="true">1</w:Option></w:OptionSet>`, "<rsp:Shell/>"),
			"InvalidOptions", wsman.ErrCodeInvalidOptions},
		{"unknown shell", envelope(wsman.ActionCommand, wsman.ResourceCmdShell, sel(other), "", `<rsp:CommandLine><rsp:Command>id</rsp:Command></rsp:CommandLine>`),
			"InvalidSelectors", wsman.ErrCodeUnexpectedSelectors},
		{"no shell selector", envelope(wsman.ActionCommand, wsman.ResourceCmdShell, "", "", `<rsp:CommandLine><rsp:Command>id</rsp:Command></rsp:CommandLine>`),
			"InvalidSelectors", wsman.ErrCodeInvalidSelectors},
		{"delete unknown shell", envelope(wsman.ActionDelete, wsman.ResourceCmdShell, sel(other), "", ""), "InvalidSelectors", wsman.ErrCodeUnexpectedSelectors},
		{"bad base64", envelope(wsman.ActionSend, wsman.ResourceCmdShell, sel(sid), "", `<rsp:Send><rsp:Stream Name="stdin" CommandId="`+cid+`">!!!not base64</rsp:Stream></rsp:Send>`),
			"InvalidValue", wsman.ErrCodeInvalidParameter},
		{"send to unknown command", envelope(wsman.ActionSend, wsman.ResourceCmdShell, sel(sid), "", `<rsp:Send><rsp:Stream Name="stdin" CommandId="`+other+`">YQ==</rsp:Stream></rsp:Send>`),
			"InvalidSelectors", wsman.ErrCodeUnexpectedSelectors},
		{"receive unknown command", envelope(wsman.ActionReceive, wsman.ResourceCmdShell, sel(sid), "", receiveBody(other)), "InvalidSelectors", wsman.ErrCodeUnexpectedSelectors},
		{"receive without desired stream", envelope(wsman.ActionReceive, wsman.ResourceCmdShell, sel(sid), "", `<rsp:Receive/>`), "InvalidValue", wsman.ErrCodeInvalidParameter},
		{"bad signal code", envelope(wsman.ActionSignal, wsman.ResourceCmdShell, sel(sid), "", `<rsp:Signal CommandId="`+cid+`"><rsp:Code>urn:explode</rsp:Code></rsp:Signal>`),
			"InvalidValue", wsman.ErrCodeInvalidParameter},
		{"wrong body element", envelope(wsman.ActionCommand, wsman.ResourceCmdShell, sel(sid), "", `<rsp:Shell/>`), "InvalidValue", wsman.ErrCodeInvalidParameter},
		{"empty body", envelope(wsman.ActionCreate, wsman.ResourceCmdShell, "", "", ""), "InvalidValue", wsman.ErrCodeInvalidParameter},
		{"bad output stream", envelope(wsman.ActionCreate, wsman.ResourceCmdShell, "", "", `<rsp:Shell><rsp:OutputStreams>stdout evil</rsp:OutputStreams></rsp:Shell>`),
			"InternalError", 87},
		{"command on base uri", envelope(wsman.ActionCommand, wsman.ResourceShellBase, sel(sid), "", `<rsp:CommandLine><rsp:Command>id</rsp:Command></rsp:CommandLine>`),
			"ActionNotSupported", wsman.ErrCodeInvalidActionURI},
		{"reply to elsewhere", strings.Replace(envelope(wsman.ActionCreate, wsman.ResourceCmdShell, "", "", "<rsp:Shell/>"),
			"addressing/role/anonymous</a:Address>", "addressing/role/other</a:Address>", 1), "UnsupportedFeature", wsman.ErrCodeAddressingMode},
		{"nul in command", envelope(wsman.ActionCommand, wsman.ResourceCmdShell, sel(sid), "", `<rsp:CommandLine><rsp:Command>id&#0;</rsp:Command></rsp:CommandLine>`),
			"InternalError", wsman.ErrCodeInvalidXML},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.do(tt.body)
			sub, code := faultCode(t, r)
			if tt.subcode != "" && sub != tt.subcode {
				t.Errorf("subcode %q; want %q\n%s", sub, tt.subcode, r.Body)
			}
			if tt.code != 0 && code != fmt.Sprint(tt.code) {
				t.Errorf("code %s; want %d\n%s", code, tt.code, r.Body)
			}
		})
	}
	// The shell still works after all that.
	r := f.do(envelope(wsman.ActionSignal, wsman.ResourceCmdShell, sel(sid), "",
		`<rsp:Signal CommandId="`+cid+`"><rsp:Code>`+wsman.SignalTerminate+`</rsp:Code></rsp:Signal>`))
	if r.Status != 200 {
		t.Errorf("terminate: %s", r.Body)
	}
}

func TestChunkedShellVerbRefused(t *testing.T) {
	f := newFixture(t)
	r := f.svc.Handle(context.Background(), &Request{Body: []byte(envelope(wsman.ActionCreate, wsman.ResourceCmdShell, "", "", "<rsp:Shell/>")),
		Chunked: true, Auth: f.who})
	if sub, code := faultCode(t, r); sub != "InternalError" || code != "50" {
		t.Errorf("got %s %s; want InternalError 50", sub, code)
	}
}

func TestIdentify(t *testing.T) {
	f := newFixture(t)
	body := `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"><s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>`
	if !IsIdentify([]byte(body), "") {
		t.Fatal("IsIdentify = false")
	}
	anon := f.svc.Handle(context.Background(), &Request{Body: []byte(body)})
	if anon.Status != 200 || !strings.Contains(string(anon.Body), "OS: 0.0.0 SP: 0.0 Stack: 3.0") || strings.Contains(string(anon.Body), "SecurityProfiles") {
		t.Errorf("anonymous identify: %s", anon.Body)
	}
	authd := f.svc.Handle(context.Background(), &Request{Body: []byte(body), Auth: f.who})
	if !strings.Contains(string(authd.Body), "OS: 1.2.3 SP: 0.0 Stack: 3.0") {
		t.Errorf("authenticated identify: %s", authd.Body)
	}
	// Anything but Identify needs authentication.
	r := f.svc.Handle(context.Background(), &Request{Body: []byte(envelope(wsman.ActionCreate, wsman.ResourceCmdShell, "", "", "<rsp:Shell/>"))})
	if r.Status != http.StatusUnauthorized || f.eng.Count() != 0 {
		t.Errorf("unauthenticated create: status %d, %d shells", r.Status, f.eng.Count())
	}
}

func TestAccessDeniedForNonAdmin(t *testing.T) {
	f := newFixture(t)
	if !f.who.User.IsRoot() {
		t.Skip("needs root: a non-root server treats its own user as administrator")
	}
	nobody, err := identity.Lookup("nobody")
	if err != nil {
		t.Skip("no nobody account")
	}
	f.who = &auth.Result{Principal: "nobody", User: nobody, Mechanism: "Basic"}
	r := f.do(envelope(wsman.ActionCreate, wsman.ResourceCmdShell, "", "", "<rsp:Shell/>"))
	if sub, code := faultCode(t, r); sub != "AccessDenied" || code != "5" {
		t.Errorf("got %s %s; want AccessDenied 5", sub, code)
	}
	if f.eng.Count() != 0 {
		t.Error("a shell was created")
	}
}

func TestUTF16RequestGetsUTF16Reply(t *testing.T) {
	f := newFixture(t)
	utf16, _ := wsman.EncodeBody([]byte(envelope(wsman.ActionCreate, wsman.ResourceCmdShell, "", "", "<rsp:Shell/>")), wsman.UTF16LE)
	r := f.svc.Handle(context.Background(), &Request{Body: utf16, ContentType: "application/soap+xml;charset=UTF-16", Auth: f.who})
	if r.Status != 200 || !strings.Contains(r.ContentType, "UTF-16") || !bytes.HasPrefix(r.Body, []byte{0xFF, 0xFE}) {
		t.Fatalf("status %d content type %q", r.Status, r.ContentType)
	}
	if f.eng.Count() != 1 {
		t.Error("no shell created")
	}
}

func TestReceiveSplitsToEnvelopeSize(t *testing.T) {
	f := newFixture(t)
	sid := f.create()
	cid := f.command(sid, "head -c 1000000 /dev/zero")
	total := 0
	for i := 0; i < 100; i++ {
		r := f.do(envelope(wsman.ActionReceive, wsman.ResourceCmdShell, sel(sid), "", receiveBody(cid)))
		if r.Status != 200 {
			if sub, _ := faultCode(t, r); sub == "TimedOut" {
				continue
			}
			t.Fatalf("receive: %s", r.Body)
		}
		if len(r.Body) > 153600 {
			t.Fatalf("reply of %d bytes exceeds the client's MaxEnvelopeSize 153600", len(r.Body))
		}
		rr := parseReply(t, r).Child(wsman.NsSOAP, "Body").Child(wsman.NsShell, "ReceiveResponse")
		for _, s := range rr.ChildrenNamed(wsman.NsShell, "Stream") {
			data, _ := base64.StdEncoding.DecodeString(s.TrimText())
			total += len(data)
		}
		if st, _ := rr.Child(wsman.NsShell, "CommandState").Attr("State"); st == wsman.CommandStateDone {
			break
		}
	}
	if total != 1000000 {
		t.Errorf("received %d bytes; want 1000000", total)
	}
}

func TestQuotaAndAccessFaults(t *testing.T) {
	self, err := identity.Current()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		cfg     shell.Config
		creates int
		subcode string
		code    uint32
	}{
		{"shell access disabled", shell.Config{AllowRemoteShellAccess: false}, 1, "AccessDenied", wsman.ErrCodeRemoteShellsNotAllow},
		{"max shells per user", shell.Config{AllowRemoteShellAccess: true, MaxShellsPerUser: 2}, 3, "QuotaLimit", wsman.ErrCodeQuotaMaxShells},
		{"max operations", shell.Config{AllowRemoteShellAccess: true, MaxOperationsPerUser: 1}, 1, "QuotaLimit", wsman.ErrCodeQuotaMaxOperations},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := proc.NewHost(self)
			tc.cfg.IdleTimeout, tc.cfg.OutputBuffer = time.Hour, 1<<20
			eng := shell.New(tc.cfg, host)
			defer eng.Close(context.Background())
			svc := New(Config{Machine: "testhost", MaxEnvelopeSize: 512000, MaxTimeout: time.Second, ServerUser: self}, eng)
			who := &auth.Result{Principal: self.Name, User: self, Mechanism: "Basic"}
			if tc.name == "max operations" {
				// One operation is already in flight for this user.
				end, err := eng.BeginOp(self.Name)
				if err != nil {
					t.Fatal(err)
				}
				defer end()
			}
			var r *Reply
			for range tc.creates {
				r = svc.Handle(context.Background(), &Request{Body: []byte(envelope(wsman.ActionCreate, wsman.ResourceCmdShell, "", "", "<rsp:Shell/>")), Auth: who})
			}
			sub, code := faultCode(t, r)
			if sub != tc.subcode || code != fmt.Sprint(tc.code) {
				t.Errorf("got %s %s; want %s %d\n%s", sub, code, tc.subcode, tc.code, r.Body)
			}
			if tc.code == wsman.ErrCodeQuotaMaxShells && !strings.Contains(string(r.Body), "maximum number of 2 concurrent shells") {
				t.Errorf("quota message lacks the limit:\n%s", r.Body)
			}
		})
	}
}
