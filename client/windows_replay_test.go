package client_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"unicode/utf16"

	"github.com/psremote/psremote/client"
	"github.com/psremote/psremote/wsman"
)

// This file replays scripted Windows WinRM conversations: an
// httptest.Server answers each request of the client library with a reply
// from testdata/windows (see README.md there), after checking the request
// as a Windows host would see it. The client must parse what Windows
// sends, not only what the psremote server sends.

// Ids carried by the fixtures in testdata/windows.
const (
	winShellID    = "80277368-0A0E-400F-9316-C7CCF1CF0BCD" // create-response.xml
	winOldShellID = "5CFC5C81-7F86-48BC-B1BA-41B6EC8A3559" // create-response-selector-only.xml
	winCmd1       = "2FA938F2-21CF-4AB5-AEF4-9F1FA0FF80B8" // command-response.xml
	winCmd2       = "771AF1A3-27BD-45E5-BE5F-7FAAFA2CE42A" // command-response-2.xml
	winCmd3       = "6D4994E8-C580-4601-A3B9-F8428EF8BBCB" // command-response-3.xml
	specShellID   = "uuid:C443F44F-28E4-486F-A5A1-12745F90CF5A"
	specCmdID     = "77df7bb6-b5a0-4777-abd9-9823c0774074"
)

// Credentials of the replayed conversations. The password holds a colon:
// Basic splits user and password at the first one only.
const (
	winUser     = `vagrant`
	winPassword = `Pa55:w0rd!`
)

// actionIdentify stands for an Identify request, which has no wsa:Action.
const actionIdentify = "Identify"

// step is one request the script expects and the fixture that answers it.
// A reply named fault-* or spec-4.10-* is sent with HTTP 500, as Windows
// sends every SOAP fault; one named *utf16* is sent as UTF-16.
type step struct {
	action  string // expected wsa:Action (or actionIdentify)
	shellID string // expected ShellId selector; "" for Create and Identify
	reply   string // fixture in testdata/windows
	cmdID   string // the command the request is about, for messages
	// async marks a request the client sends in the background (terminate
	// after Done): it may arrive after later steps.
	async bool
	// barrier requires every earlier step, async ones included, to be done.
	barrier bool
	// key tells async steps apart; nil accepts any request with the action.
	key func(*request) bool
	// check returns what is wrong with the request.
	check func(*request) []string
	// keepRelatesTo answers with the fixture's RelatesTo instead of the
	// request's MessageID.
	keepRelatesTo bool

	done bool // guarded by windowsHost.mu
}

func (s *step) String() string {
	name := s.action[strings.LastIndex(s.action, "/")+1:]
	if s.cmdID != "" {
		name += " CommandId=" + s.cmdID
	}
	return name + " answered by " + s.reply
}

// windowsHost plays a script of steps as a Windows WinRM listener.
type windowsHost struct {
	t   *testing.T
	srv *httptest.Server

	mu    sync.Mutex
	steps []*step  // guarded by mu
	seen  []string // guarded by mu: summaries of the requests received
}

// newWindowsHost starts a fake Windows listener that plays steps in order.
func newWindowsHost(t *testing.T, steps ...*step) *windowsHost {
	t.Helper()
	h := &windowsHost{t: t, steps: steps}
	h.srv = httptest.NewServer(h)
	t.Cleanup(h.srv.Close)
	return h
}

// endpoint is the listener URL, as a WinRM client is configured.
func (h *windowsHost) endpoint() string { return h.srv.URL + "/wsman" }

// newClient returns a client of h with Basic credentials.
func (h *windowsHost) newClient() *client.Client {
	h.t.Helper()
	c, err := client.New(client.Config{Endpoint: h.endpoint(), Username: winUser, Password: winPassword})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(c.Close)
	return c
}

// finish reports the steps the client never reached.
func (h *windowsHost) finish() {
	h.t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range h.steps {
		if !s.done {
			h.t.Errorf("script step not reached: %v\nrequests seen:\n\t%s", s, strings.Join(h.seen, "\n\t"))
		}
	}
}

// next picks the step that answers req: the first pending step, or an
// async step pending before it.
func (h *windowsHost) next(req *request) (*step, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seen = append(h.seen, req.summary())
	for i, s := range h.steps {
		if s.done {
			continue
		}
		if s.action == req.action && (s.key == nil || s.key(req)) {
			if s.barrier {
				for _, e := range h.steps[:i] {
					if !e.done {
						return nil, fmt.Errorf("arrived before %v", e)
					}
				}
			}
			s.done = true
			return s, nil
		}
		if !s.async {
			return nil, fmt.Errorf("want %v", s)
		}
	}
	return nil, errors.New("the script is over")
}

func (h *windowsHost) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := h.t
	data, err := io.ReadAll(r.Body)
	if err != nil {
		t.Errorf("reading request: %v", err)
		return
	}
	req, err := parseRequest(r, data)
	if err != nil {
		t.Errorf("request is not a SOAP envelope: %v\n%s", err, data)
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	s, err := h.next(req)
	if err != nil {
		t.Errorf("unexpected request %s: %v", req.summary(), err)
		http.Error(w, "unexpected request", http.StatusBadRequest)
		return
	}
	for _, p := range h.checkCommon(req, s) {
		t.Errorf("%v: %s", s, p)
	}
	if s.check != nil {
		for _, p := range s.check(req) {
			t.Errorf("%v: %s", s, p)
		}
	}

	reply := readFixture(t, s.reply)
	charset := "UTF-8"
	if strings.Contains(s.reply, "utf16") {
		charset = "UTF-16"
	}
	if !s.keepRelatesTo {
		// Windows echoes the request's MessageID in wsa:RelatesTo.
		var ok bool
		if charset == "UTF-16" {
			var text string
			text, ok = echoRelatesTo(decodeUTF16LE(reply), req.messageID)
			reply = encodeUTF16LE(text)
		} else {
			var text string
			text, ok = echoRelatesTo(string(reply), req.messageID)
			reply = []byte(text)
		}
		if !ok && s.action != actionIdentify {
			t.Errorf("fixture %s has no RelatesTo to echo the MessageID in", s.reply)
		}
	}
	status := http.StatusOK
	if strings.HasPrefix(s.reply, "fault-") || strings.HasPrefix(s.reply, "spec-4.10-") {
		status = http.StatusInternalServerError
	}
	w.Header().Set("Server", "Microsoft-HTTPAPI/2.0")
	w.Header().Set("Content-Type", "application/soap+xml;charset="+charset)
	w.WriteHeader(status)
	w.Write(reply)
}

// checkCommon checks what every request carries: the HTTP shape, the
// credentials and the WS-Management headers Windows requires.
func (h *windowsHost) checkCommon(req *request, s *step) []string {
	var bad []string
	r := req.http
	if r.Method != http.MethodPost || r.URL.Path != "/wsman" {
		bad = append(bad, fmt.Sprintf("request line %s %s, want POST /wsman", r.Method, r.URL.Path))
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/soap+xml;charset=UTF-8" {
		bad = append(bad, fmt.Sprintf("Content-Type %q, want application/soap+xml;charset=UTF-8", ct))
	}
	if s.action == actionIdentify {
		return bad // Identify checks its own authentication and has no headers
	}
	wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte(winUser+":"+winPassword))
	if got := r.Header.Get("Authorization"); got != wantAuth {
		bad = append(bad, fmt.Sprintf("Authorization %q, want %q", got, wantAuth))
	}
	if u, p, ok := r.BasicAuth(); !ok || u != winUser || p != winPassword {
		bad = append(bad, fmt.Sprintf("Basic credentials %q/%q, want %q/%q", u, p, winUser, winPassword))
	}
	hd := req.env.child(wsman.NsSOAP, "Header")
	if to := hd.child(wsman.NsAddressing, "To").trim(); to != h.endpoint() {
		bad = append(bad, fmt.Sprintf("wsa:To %q, want %q", to, h.endpoint()))
	}
	if a := hd.child(wsman.NsAddressing, "ReplyTo").child(wsman.NsAddressing, "Address").trim(); a != wsman.AddressAnonymous {
		bad = append(bad, fmt.Sprintf("wsa:ReplyTo %q, want the anonymous role", a))
	}
	if !strings.HasPrefix(req.messageID, "uuid:") {
		bad = append(bad, fmt.Sprintf("wsa:MessageID %q, want uuid:GUID", req.messageID))
	}
	if u := hd.child(wsman.NsWSMan, "ResourceURI").trim(); u != wsman.ResourceCmdShell {
		bad = append(bad, fmt.Sprintf("ResourceURI %q, want %q", u, wsman.ResourceCmdShell))
	}
	if s.shellID == "" {
		if len(req.selectors) != 0 {
			bad = append(bad, fmt.Sprintf("selectors %v, want none", req.selectors))
		}
	} else if got := req.selectors["ShellId"]; got != s.shellID || len(req.selectors) != 1 {
		bad = append(bad, fmt.Sprintf("selectors %v, want ShellId=%s", req.selectors, s.shellID))
	}
	return bad
}

// relatesTo matches the wsa:RelatesTo element under any prefix.
var relatesTo = regexp.MustCompile(`(?s)(<(?:[A-Za-z_][\w.-]*:)?RelatesTo\b[^>]*>).*?(</(?:[A-Za-z_][\w.-]*:)?RelatesTo>)`)

// echoRelatesTo puts id into the reply's RelatesTo; it reports whether
// the reply has one.
func echoRelatesTo(reply, id string) (string, bool) {
	m := relatesTo.FindStringSubmatchIndex(reply)
	if m == nil {
		return reply, false
	}
	return reply[:m[3]] + id + reply[m[4]:], true
}

func decodeUTF16LE(b []byte) string {
	b = bytes.TrimPrefix(b, []byte{0xFF, 0xFE})
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

func encodeUTF16LE(s string) []byte {
	out := []byte{0xFF, 0xFE}
	for _, u := range utf16.Encode([]rune(s)) {
		out = binary.LittleEndian.AppendUint16(out, u)
	}
	return out
}

// request is a request as the fake host decoded it. The fake reads
// requests with encoding/xml, independently of the wsman codec.
type request struct {
	http      *http.Request
	env       *xnode
	action    string
	messageID string
	selectors map[string]string
	options   map[string]string
	body      *xnode // first element of s:Body, or nil
}

func parseRequest(r *http.Request, data []byte) (*request, error) {
	env, err := parseXNode(data)
	if err != nil {
		return nil, err
	}
	if env.name != (xml.Name{Space: wsman.NsSOAP, Local: "Envelope"}) {
		return nil, fmt.Errorf("root element %v", env.name)
	}
	hd := env.child(wsman.NsSOAP, "Header")
	req := &request{http: r, env: env, selectors: map[string]string{}, options: map[string]string{},
		action:    hd.child(wsman.NsAddressing, "Action").trim(),
		messageID: hd.child(wsman.NsAddressing, "MessageID").trim()}
	for _, s := range hd.child(wsman.NsWSMan, "SelectorSet").all(wsman.NsWSMan, "Selector") {
		req.selectors[s.attr("Name")] = s.trim()
	}
	for _, o := range hd.child(wsman.NsWSMan, "OptionSet").all(wsman.NsWSMan, "Option") {
		req.options[o.attr("Name")] = o.trim()
	}
	if b := env.child(wsman.NsSOAP, "Body"); b != nil && len(b.kids) > 0 {
		req.body = b.kids[0]
	}
	if req.action == "" && req.body != nil && req.body.name == (xml.Name{Space: wsman.NsIdentity, Local: "Identify"}) {
		req.action = actionIdentify
	}
	return req, nil
}

// summary names the request for failure messages.
func (r *request) summary() string {
	s := r.action[strings.LastIndex(r.action, "/")+1:]
	if r.body == nil {
		return s
	}
	switch r.body.name.Local {
	case "Signal":
		return fmt.Sprintf("%s CommandId=%s Code=%s", s, r.body.attr("CommandId"), r.body.child(wsman.NsShell, "Code").trim())
	case "Receive":
		return fmt.Sprintf("%s CommandId=%s", s, r.body.child(wsman.NsShell, "DesiredStream").attr("CommandId"))
	case "Send":
		st := r.body.child(wsman.NsShell, "Stream")
		return fmt.Sprintf("%s CommandId=%s End=%s", s, st.attr("CommandId"), st.attr("End"))
	case "CommandLine":
		return fmt.Sprintf("%s %s", s, r.body.child(wsman.NsShell, "Command").trim())
	}
	return s
}

// xnode is a minimal namespace-resolved XML tree.
type xnode struct {
	name  xml.Name
	attrs []xml.Attr
	kids  []*xnode
	text  string
}

func parseXNode(data []byte) (*xnode, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	var root *xnode
	var stack []*xnode
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			n := &xnode{name: tok.Name, attrs: tok.Copy().Attr}
			if len(stack) == 0 {
				root = n
			} else {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(tok)
			}
		}
	}
	if root == nil {
		return nil, errors.New("empty document")
	}
	return root, nil
}

func (n *xnode) child(space, local string) *xnode {
	if n == nil {
		return nil
	}
	for _, k := range n.kids {
		if k.name.Space == space && k.name.Local == local {
			return k
		}
	}
	return nil
}

func (n *xnode) all(space, local string) []*xnode {
	if n == nil {
		return nil
	}
	var out []*xnode
	for _, k := range n.kids {
		if k.name.Space == space && k.name.Local == local {
			out = append(out, k)
		}
	}
	return out
}

func (n *xnode) attr(local string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.attrs {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

func (n *xnode) trim() string {
	if n == nil {
		return ""
	}
	return strings.TrimSpace(n.text)
}

// Script steps. Each builds the step for one request of the client and
// the checks Windows would make on it.

// createStep expects the Create of a cmd shell.
func createStep(reply string) *step {
	return &step{action: wsman.ActionCreate, reply: reply, check: func(r *request) []string {
		var bad []string
		sh := r.body
		if sh == nil || sh.name != (xml.Name{Space: wsman.NsShell, Local: "Shell"}) {
			return []string{"body is not rsp:Shell"}
		}
		if in := sh.child(wsman.NsShell, "InputStreams").trim(); in != "stdin" {
			bad = append(bad, fmt.Sprintf("InputStreams %q, want stdin", in))
		}
		if out := sh.child(wsman.NsShell, "OutputStreams").trim(); out != "stdout stderr" {
			bad = append(bad, fmt.Sprintf("OutputStreams %q, want \"stdout stderr\"", out))
		}
		if cp := r.options["WINRS_CODEPAGE"]; cp != "65001" {
			bad = append(bad, fmt.Sprintf("WINRS_CODEPAGE %q, want 65001", cp))
		}
		return bad
	}}
}

// commandStep expects a Command running name with args.
func commandStep(shellID, reply, name string, args ...string) *step {
	return &step{action: wsman.ActionCommand, shellID: shellID, reply: reply, check: func(r *request) []string {
		cl := r.body
		if cl == nil || cl.name != (xml.Name{Space: wsman.NsShell, Local: "CommandLine"}) {
			return []string{"body is not rsp:CommandLine"}
		}
		var got []string
		for _, a := range cl.all(wsman.NsShell, "Arguments") {
			got = append(got, a.text)
		}
		if c := cl.child(wsman.NsShell, "Command").text; c != name || !reflect.DeepEqual(got, args) {
			return []string{fmt.Sprintf("command line %q %q, want %q %q", c, got, name, args)}
		}
		return nil
	}}
}

// receiveStep expects a Receive of stdout and stderr of cmdID.
func receiveStep(shellID, cmdID, reply string) *step {
	return &step{action: wsman.ActionReceive, shellID: shellID, reply: reply, cmdID: cmdID, check: func(r *request) []string {
		ds := r.body.child(wsman.NsShell, "DesiredStream")
		if id, streams := ds.attr("CommandId"), ds.trim(); id != cmdID || streams != "stdout stderr" {
			return []string{fmt.Sprintf("DesiredStream CommandId=%q %q, want CommandId=%q \"stdout stderr\"", id, streams, cmdID)}
		}
		return nil
	}}
}

// closeStdinStep expects the empty Send with End="true" that closes the
// stdin of a command started without Stdin once it outlives the first
// quick Receive.
func closeStdinStep(shellID, cmdID, reply string) *step {
	return &step{action: wsman.ActionSend, shellID: shellID, reply: reply, cmdID: cmdID, check: func(r *request) []string {
		st := r.body.all(wsman.NsShell, "Stream")
		if len(st) != 1 {
			return []string{fmt.Sprintf("%d streams, want 1", len(st))}
		}
		s := st[0]
		if s.attr("Name") != "stdin" || s.attr("CommandId") != cmdID || s.attr("End") != "true" || s.trim() != "" {
			return []string{fmt.Sprintf("stream Name=%q CommandId=%q End=%q %q, want an empty stdin End=\"true\" for %s",
				s.attr("Name"), s.attr("CommandId"), s.attr("End"), s.trim(), cmdID)}
		}
		return nil
	}}
}

// terminateStep expects the Signal terminate the client sends in the
// background after Done.
func terminateStep(shellID, cmdID, reply string) *step {
	return &step{action: wsman.ActionSignal, shellID: shellID, reply: reply, cmdID: cmdID, async: true,
		key: func(r *request) bool {
			return r.body.attr("CommandId") == cmdID &&
				strings.HasSuffix(strings.ToLower(r.body.child(wsman.NsShell, "Code").trim()), "/signal/terminate")
		},
		check: func(r *request) []string {
			if c := r.body.child(wsman.NsShell, "Code").text; c != wsman.SignalTerminate {
				return []string{fmt.Sprintf("signal code %q, want %q", c, wsman.SignalTerminate)}
			}
			return nil
		}}
}

// deleteStep expects the Delete of the shell, after every terminate.
func deleteStep(shellID, reply string) *step {
	return &step{action: wsman.ActionDelete, shellID: shellID, reply: reply, barrier: true, check: func(r *request) []string {
		if r.body != nil {
			return []string{fmt.Sprintf("Delete body %v, want empty", r.body.name)}
		}
		return nil
	}}
}

// identifyStep expects an Identify, anonymous or with Basic credentials.
func identifyStep(reply string, anonymous bool) *step {
	return &step{action: actionIdentify, reply: reply, check: func(r *request) []string {
		auth, mark := r.http.Header.Get("Authorization"), r.http.Header.Get("WSMANIDENTIFY")
		if anonymous && (auth != "" || mark != "unauthenticated") {
			return []string{fmt.Sprintf("anonymous Identify sent Authorization %q WSMANIDENTIFY %q", auth, mark)}
		}
		wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte(winUser+":"+winPassword))
		if !anonymous && (auth != wantAuth || mark != "") {
			return []string{fmt.Sprintf("Identify sent Authorization %q WSMANIDENTIFY %q, want %q and none", auth, mark, wantAuth)}
		}
		return nil
	}}
}

// TestWindowsReplayCreateShapes proves CreateShell takes the ShellId from
// each shape of CreateResponse, uses it as the selector of later requests,
// and that Close sends Delete.
func TestWindowsReplayCreateShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, create, delete, shellID string
	}{
		{"modern selector and rsp:Shell", "create-response.xml", "delete-response.xml", winShellID},
		{"selector only", "create-response-selector-only.xml", "delete-response.xml", winOldShellID},
		{"MS-WSMV 4.7.1 uuid: ShellId", "spec-4.7.1-create-response.xml", "spec-4.7.8-delete-response.xml", specShellID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newWindowsHost(t, createStep(tt.create), deleteStep(tt.shellID, tt.delete))
			ctx := context.Background()
			sh, err := h.newClient().CreateShell(ctx, client.ShellOptions{})
			if err != nil {
				t.Fatalf("CreateShell: %v", err)
			}
			if sh.ID != tt.shellID {
				t.Errorf("ShellId = %q; want %q", sh.ID, tt.shellID)
			}
			if err := sh.Close(ctx); err != nil {
				t.Errorf("Close: %v", err)
			}
			h.finish()
		})
	}
}

// TestWindowsReplayCommands runs three commands in one modern Windows
// shell. The first outlives its quick first Receive (TimedOut), so the
// client closes its stdin; its output arrives over several Receives, with
// interleaved streams, a Running state that carries ExitCode 0 (which
// must not end it), another TimedOut to poll through, and a final reply
// with End markers and Done/ExitCode 1. The second's only reply is
// UTF-16; the third's only reply holds End markers and Done. Each is
// terminated after Done, and Close deletes the shell after the terminates.
func TestWindowsReplayCommands(t *testing.T) {
	t.Parallel()
	h := newWindowsHost(t,
		createStep("create-response.xml"),
		commandStep(winShellID, "command-response.xml", "cmd.exe", "/c", "build.cmd"),
		receiveStep(winShellID, winCmd1, "fault-timedout.xml"),
		closeStdinStep(winShellID, winCmd1, "send-response.xml"),
		receiveStep(winShellID, winCmd1, "receive-response-interim.xml"),
		receiveStep(winShellID, winCmd1, "fault-timedout.xml"),
		receiveStep(winShellID, winCmd1, "receive-response-stderr-only.xml"),
		receiveStep(winShellID, winCmd1, "receive-response-final.xml"),
		terminateStep(winShellID, winCmd1, "signal-response.xml"),
		commandStep(winShellID, "command-response-2.xml", "type", `C:\greeting.txt`),
		receiveStep(winShellID, winCmd2, "receive-response-utf16.xml"),
		terminateStep(winShellID, winCmd2, "signal-response.xml"),
		commandStep(winShellID, "command-response-3.xml", "cmd.exe", "/c", "rem"),
		receiveStep(winShellID, winCmd3, "receive-response-end-only.xml"),
		terminateStep(winShellID, winCmd3, "signal-response.xml"),
		deleteStep(winShellID, "delete-response.xml"),
	)
	ctx := context.Background()
	sh, err := h.newClient().CreateShell(ctx, client.ShellOptions{})
	if err != nil {
		t.Fatalf("CreateShell: %v", err)
	}

	cmd := sh.Command("cmd.exe", "/c", "build.cmd")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run(ctx)
	if ee, ok := errors.AsType[*client.ExitError](err); !ok || ee.Code != 1 {
		t.Errorf("Run = %v; want *ExitError with code 1", err)
	}
	if cmd.ID() != winCmd1 || cmd.ExitCode() != 1 {
		t.Errorf("CommandId %q exit code %d; want %q 1", cmd.ID(), cmd.ExitCode(), winCmd1)
	}
	if got, want := stdout.String(), "line 1\r\nline 2\r\nline 3\r\n"; got != want {
		t.Errorf("stdout = %q; want %q", got, want)
	}
	if got, want := stderr.String(), "warning: low disk\r\nerror: step 3 failed\r\ndone with errors\r\n"; got != want {
		t.Errorf("stderr = %q; want %q", got, want)
	}

	out, err := sh.Command("type", `C:\greeting.txt`).Output(ctx)
	if got, want := string(out), "Grüße aus Redmond\r\n"; err != nil || got != want {
		t.Errorf("Output from a UTF-16 reply = %q, %v; want %q, nil", got, err, want)
	}

	out, err = sh.Command("cmd.exe", "/c", "rem").Output(ctx)
	if err != nil || len(out) != 0 {
		t.Errorf("Output from an End-only reply = %q, %v; want empty, nil", out, err)
	}

	if err := sh.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
	h.finish()
}

// TestWindowsReplaySpecConversation plays the MS-WSMV 4.7 examples as one
// conversation: Create (uuid: ShellId), Command, a Receive in Running
// state with ExitCode 0 and a prompt on stdout, the Send that closes
// stdin, a final Receive, terminate, Delete.
func TestWindowsReplaySpecConversation(t *testing.T) {
	t.Parallel()
	h := newWindowsHost(t,
		createStep("spec-4.7.1-create-response.xml"),
		commandStep(specShellID, "spec-4.7.2-command-response.xml", "del", "/p", `d:\temp\out.txt`),
		receiveStep(specShellID, specCmdID, "spec-4.7.3-receive-response.xml"),
		closeStdinStep(specShellID, specCmdID, "spec-4.7.4-send-response.xml"),
		receiveStep(specShellID, specCmdID, "spec-style-4.7.3-receive-done.xml"),
		terminateStep(specShellID, specCmdID, "spec-4.7.5-signal-response.xml"),
		deleteStep(specShellID, "spec-4.7.8-delete-response.xml"),
	)
	ctx := context.Background()
	sh, err := h.newClient().CreateShell(ctx, client.ShellOptions{})
	if err != nil {
		t.Fatalf("CreateShell: %v", err)
	}
	cmd := sh.Command("del", "/p", `d:\temp\out.txt`)
	out, err := cmd.Output(ctx)
	if got, want := string(out), "d:\\temp\\out.txt, Delete (Y/N)? y\r\n"; err != nil || got != want {
		t.Errorf("Output = %q, %v; want %q, nil", got, err, want)
	}
	if cmd.ID() != specCmdID {
		t.Errorf("CommandId = %q; want %q", cmd.ID(), specCmdID)
	}
	if err := sh.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
	h.finish()
}

// wantFault checks that err is the *wsman.Fault Windows sent.
func wantFault(t *testing.T, what string, err error, code string, subcode string, wsmanCode uint32, message string) {
	t.Helper()
	f, ok := errors.AsType[*wsman.Fault](err)
	if !ok {
		t.Errorf("%s = %v; want a *wsman.Fault", what, err)
		return
	}
	if f.Code != code || f.Subcode.Local != subcode || f.WSManCode != wsmanCode || f.Message != message {
		t.Errorf("%s fault = %s/%s %d %q; want %s/%s %d %q", what, f.Code, f.Subcode.Local, f.WSManCode, f.Message,
			code, subcode, wsmanCode, message)
	}
}

// TestWindowsReplayCreateFaults proves the faults Windows answers a Create
// with on HTTP 500 reach the caller as *wsman.Fault.
func TestWindowsReplayCreateFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		reply, subcode string
		code           uint32
		message        string
	}{
		{"fault-access-denied.xml", "AccessDenied", wsman.ErrCodeAccessDenied, "Access is denied. "},
		{"fault-quota-max-shells.xml", "QuotaLimit", wsman.ErrCodeQuotaMaxShells,
			"The WS-Management service cannot process the request. This user is allowed a maximum number of 5 concurrent shells, which has been exceeded. Close existing shells or raise the quota for this user. "},
	}
	for _, tt := range tests {
		t.Run(tt.reply, func(t *testing.T) {
			t.Parallel()
			h := newWindowsHost(t, createStep(tt.reply))
			sh, err := h.newClient().CreateShell(context.Background(), client.ShellOptions{})
			if sh != nil {
				t.Errorf("CreateShell returned shell %q with the fault", sh.ID)
			}
			wantFault(t, "CreateShell", err, wsman.CodeSender, tt.subcode, tt.code, tt.message)
			h.finish()
		})
	}
}

// TestWindowsReplayShellNotFound proves a Command on a shell Windows no
// longer knows fails with the shell-not-found fault, and that Close
// counts the same fault on Delete as closed.
func TestWindowsReplayShellNotFound(t *testing.T) {
	t.Parallel()
	h := newWindowsHost(t,
		createStep("create-response.xml"),
		commandStep(winShellID, "fault-shell-not-found.xml", "hostname"),
		deleteStep(winShellID, "fault-shell-not-found.xml"),
	)
	ctx := context.Background()
	sh, err := h.newClient().CreateShell(ctx, client.ShellOptions{})
	if err != nil {
		t.Fatalf("CreateShell: %v", err)
	}
	_, err = sh.Command("hostname").Output(ctx)
	wantFault(t, "Command", err, wsman.CodeSender, "InvalidSelectors", wsman.ErrCodeUnexpectedSelectors,
		"The request for the Windows Remote Shell with ShellId "+winShellID+" failed because the shell was not found on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer exists on the server. Provide the correct ShellId or create a new shell and retry the operation. ")
	if err := sh.Close(ctx); err != nil {
		t.Errorf("Close of a shell Windows no longer knows = %v; want nil", err)
	}
	h.finish()
}

// TestWindowsReplayCommandNotFound proves a Receive answered with the
// unknown-CommandId fault ends the command with that fault (it is not
// polled through like TimedOut), and the command is still terminated.
func TestWindowsReplayCommandNotFound(t *testing.T) {
	t.Parallel()
	h := newWindowsHost(t,
		createStep("create-response.xml"),
		commandStep(winShellID, "command-response.xml", "cmd.exe", "/c", "build.cmd"),
		receiveStep(winShellID, winCmd1, "fault-command-not-found.xml"),
		terminateStep(winShellID, winCmd1, "signal-response.xml"),
		deleteStep(winShellID, "delete-response.xml"),
	)
	ctx := context.Background()
	sh, err := h.newClient().CreateShell(ctx, client.ShellOptions{})
	if err != nil {
		t.Fatalf("CreateShell: %v", err)
	}
	err = sh.Command("cmd.exe", "/c", "build.cmd").Run(ctx)
	wantFault(t, "Run", err, wsman.CodeSender, "InvalidSelectors", wsman.ErrCodeUnexpectedSelectors,
		"The Windows Remote Shell received a request to perform an operation on a command identifier that does not exist. Either the command has completed execution or the client specified an invalid command identifier. ")
	if err := sh.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
	h.finish()
}

// TestWindowsReplayRelatesToChecked proves the client rejects a reply
// whose RelatesTo is not its request's MessageID, which is why the fake
// host must echo it.
func TestWindowsReplayRelatesToChecked(t *testing.T) {
	t.Parallel()
	s := createStep("create-response.xml")
	s.keepRelatesTo = true
	h := newWindowsHost(t, s)
	_, err := h.newClient().CreateShell(context.Background(), client.ShellOptions{})
	if err == nil || !strings.Contains(err.Error(), "uuid:24A36525-96EA-4D00-AF08-AC5CB589BA7F") {
		t.Errorf("CreateShell with a foreign RelatesTo = %v; want a RelatesTo mismatch error", err)
	}
	h.finish()
}

// TestWindowsReplayIdentify proves Identify parses both Windows shapes:
// anonymous (no credentials, WSMANIDENTIFY header, no security profiles)
// and authenticated (Basic, with profiles).
func TestWindowsReplayIdentify(t *testing.T) {
	t.Parallel()
	h := newWindowsHost(t,
		identifyStep("identify-anonymous.xml", true),
		identifyStep("identify-authenticated.xml", false),
	)
	c := h.newClient()
	ctx := context.Background()
	got, err := c.Identify(ctx, true)
	want := &client.IdentifyResult{ProtocolVersion: wsman.NsWSMan, ProductVendor: "Microsoft Corporation",
		ProductVersion: "OS: 0.0.0 SP: 0.0 Stack: 3.0"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("anonymous Identify = %+v, %v; want %+v", got, err, want)
	}
	got, err = c.Identify(ctx, false)
	want = &client.IdentifyResult{ProtocolVersion: wsman.NsWSMan, ProductVendor: "Microsoft Corporation",
		ProductVersion:   "OS: 6.3.9600 SP: 0.0 Stack: 3.0",
		SecurityProfiles: []string{wsman.SecProfilePrefix + "http/basic", wsman.SecProfilePrefix + "http/spnego-kerberos"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Identify = %+v, %v; want %+v", got, err, want)
	}
	h.finish()
}
