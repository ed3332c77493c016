package client_test

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/psremote/psremote/wsman"
)

// This file decodes every reply in testdata/windows with the wsman client
// codec directly and asserts the decoded fields exactly. Faults are
// decoded by ParseReply (its unexported decodeFault fills Reply.Fault).

const (
	ctUTF8  = "application/soap+xml;charset=UTF-8"
	ctUTF16 = "application/soap+xml;charset=UTF-16"

	actionCreateResponse  = wsman.NsTransfer + "/CreateResponse"
	actionDeleteResponse  = wsman.NsTransfer + "/DeleteResponse"
	actionCommandResponse = wsman.NsShell + "/CommandResponse"
	actionReceiveResponse = wsman.NsShell + "/ReceiveResponse"
	actionSendResponse    = wsman.NsShell + "/SendResponse"
	actionSignalResponse  = wsman.NsShell + "/SignalResponse"

	faultDetailSelectors = wsman.FaultDetailPrefix + "UnexpectedSelectors"
	msgTimedOut          = "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  "
	reasonSelectors      = "The WS-Management service cannot process the request because the request contained invalid selectors for the resource. "
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "windows", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func parseFixture(t *testing.T, name, contentType string) *wsman.Reply {
	t.Helper()
	r, err := wsman.ParseReply(readFixture(t, name), contentType)
	if err != nil {
		t.Fatalf("ParseReply(%s): %v", name, err)
	}
	return r
}

// qname is the namespace and local name of an element.
type qname struct{ space, local string }

func nameOf(e *wsman.Element) qname {
	if e == nil {
		return qname{}
	}
	return qname{e.Space, e.Local}
}

// TestWindowsFixturesParseReply checks the envelope of every fixture:
// action, the RelatesTo as recorded, the first body element and the fault.
func TestWindowsFixturesParseReply(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file        string
		contentType string
		action      string
		relatesTo   string
		body        qname // zero for an empty body
		fault       *wsman.Fault
	}{
		{"create-response.xml", ctUTF8, actionCreateResponse, "uuid:24A36525-96EA-4D00-AF08-AC5CB589BA7F",
			qname{wsman.NsTransfer, "ResourceCreated"}, nil},
		{"create-response-selector-only.xml", ctUTF8, actionCreateResponse, "uuid:58966268-63F8-4A8B-9399-8AD0870FD7F0",
			qname{wsman.NsTransfer, "ResourceCreated"}, nil},
		{"spec-4.7.1-create-response.xml", ctUTF8, actionCreateResponse, "uuid:AF6A2E07-BA33-496E-8AFA-E77D241A2F2F",
			qname{wsman.NsTransfer, "ResourceCreated"}, nil},
		{"command-response.xml", ctUTF8, actionCommandResponse, "uuid:D18C3A25-FCAE-4F59-8BEB-82A59F50541E",
			qname{wsman.NsShell, "CommandResponse"}, nil},
		{"command-response-2.xml", ctUTF8, actionCommandResponse, "uuid:E0A1D7BD-C494-49D7-8A91-AD79A29DA8AD",
			qname{wsman.NsShell, "CommandResponse"}, nil},
		{"command-response-3.xml", ctUTF8, actionCommandResponse, "uuid:51BDB487-EAF4-4F61-B9F2-83985C86C26E",
			qname{wsman.NsShell, "CommandResponse"}, nil},
		{"spec-4.7.2-command-response.xml", ctUTF8, actionCommandResponse, "uuid:F8671978-E928-49DA-ADB8-5BF97EDD9535",
			qname{wsman.NsShell, "CommandResponse"}, nil},
		{"receive-response-interim.xml", ctUTF8, actionReceiveResponse, "uuid:1D585528-BEE5-4C21-BB30-DAF10EB33B16",
			qname{wsman.NsShell, "ReceiveResponse"}, nil},
		{"receive-response-stderr-only.xml", ctUTF8, actionReceiveResponse, "uuid:FD9E4F67-740F-4ED5-95FA-7655E3DCD836",
			qname{wsman.NsShell, "ReceiveResponse"}, nil},
		{"receive-response-final.xml", ctUTF8, actionReceiveResponse, "uuid:ECD1DF9D-2F51-49D5-A3AF-4865CCF7B416",
			qname{wsman.NsShell, "ReceiveResponse"}, nil},
		{"receive-response-end-only.xml", ctUTF8, actionReceiveResponse, "uuid:63A1610F-4090-4A38-877A-2E2BA4A376A5",
			qname{wsman.NsShell, "ReceiveResponse"}, nil},
		{"receive-response-utf16.xml", ctUTF16, actionReceiveResponse, "uuid:54E3F98E-BFA9-456F-9368-8AFB260F0C86",
			qname{wsman.NsShell, "ReceiveResponse"}, nil},
		{"spec-4.7.3-receive-response.xml", ctUTF8, actionReceiveResponse, "uuid:D384DEF8-351E-41F0-B3DA-C91BE1A58A09",
			qname{wsman.NsShell, "ReceiveResponse"}, nil},
		{"spec-style-4.7.3-receive-done.xml", ctUTF8, actionReceiveResponse, "uuid:0E3B9C44-7A21-4F58-B6D2-91C7E5A3F802",
			qname{wsman.NsShell, "ReceiveResponse"}, nil},
		{"send-response.xml", ctUTF8, actionSendResponse, "uuid:7F3AC00C-477D-4DCD-A8DF-0767813BCBF7",
			qname{wsman.NsShell, "SendResponse"}, nil},
		{"spec-4.7.4-send-response.xml", ctUTF8, actionSendResponse, "uuid:F6F2CB27-2927-4750-8C9A-D1E854138F88",
			qname{wsman.NsShell, "SendResponse"}, nil},
		{"signal-response.xml", ctUTF8, actionSignalResponse, "uuid:9B093F8E-0A46-4D01-B7BE-E451F515BC3A",
			qname{wsman.NsShell, "SignalResponse"}, nil},
		{"spec-4.7.5-signal-response.xml", ctUTF8, actionSignalResponse, "uuid:23F5AAD4-9501-4070-A4F8-B216782DE466",
			qname{wsman.NsShell, "SignalResponse"}, nil},
		{"delete-response.xml", ctUTF8, actionDeleteResponse, "uuid:26F04B8D-CB00-478B-9696-824511E7DF28", qname{}, nil},
		{"spec-4.7.8-delete-response.xml", ctUTF8, actionDeleteResponse, "uuid:B1C2D82D-A3BC-42A8-9A61-0664003AA97C", qname{}, nil},
		{"identify-anonymous.xml", ctUTF8, "", "", qname{wsman.NsIdentity, "IdentifyResponse"}, nil},
		{"identify-authenticated.xml", ctUTF8, "", "", qname{wsman.NsIdentity, "IdentifyResponse"}, nil},
		{"fault-timedout.xml", ctUTF8, wsman.ActionFault, "uuid:C94F856E-41C9-4866-B61A-616DBFD7D970",
			qname{wsman.NsSOAP, "Fault"}, &wsman.Fault{Code: wsman.CodeReceiver, Subcode: wsman.Subcode{Local: "TimedOut"},
				Reason: msgTimedOut, WSManCode: wsman.ErrCodeOperationTimedOut, Message: msgTimedOut}},
		{"fault-shell-not-found.xml", ctUTF8, wsman.ActionFault, "uuid:684DF91B-C57F-42E6-9B84-703C727C3BE5",
			qname{wsman.NsSOAP, "Fault"}, &wsman.Fault{Code: wsman.CodeSender, Subcode: wsman.Subcode{Local: "InvalidSelectors"},
				Reason: reasonSelectors, Detail: faultDetailSelectors, WSManCode: wsman.ErrCodeUnexpectedSelectors,
				Message: "The request for the Windows Remote Shell with ShellId " + winShellID + " failed because the shell was not found on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer exists on the server. Provide the correct ShellId or create a new shell and retry the operation. "}},
		{"fault-command-not-found.xml", ctUTF8, wsman.ActionFault, "uuid:4A47F4D4-8BD6-4EDE-9D8F-99728535303E",
			qname{wsman.NsSOAP, "Fault"}, &wsman.Fault{Code: wsman.CodeSender, Subcode: wsman.Subcode{Local: "InvalidSelectors"},
				Reason: reasonSelectors, Detail: faultDetailSelectors, WSManCode: wsman.ErrCodeUnexpectedSelectors,
				Message: "The Windows Remote Shell received a request to perform an operation on a command identifier that does not exist. Either the command has completed execution or the client specified an invalid command identifier. "}},
		{"fault-access-denied.xml", ctUTF8, wsman.ActionFault, "uuid:1E5111B2-4A3A-4C48-A7EE-D3859DC64E9D",
			qname{wsman.NsSOAP, "Fault"}, &wsman.Fault{Code: wsman.CodeSender, Subcode: wsman.Subcode{Local: "AccessDenied"},
				Reason: "Access is denied. ", WSManCode: wsman.ErrCodeAccessDenied, Message: "Access is denied. "}},
		{"fault-quota-max-shells.xml", ctUTF8, wsman.ActionFault, "uuid:CE62B00A-64EB-4237-A173-3D3081A814C5",
			qname{wsman.NsSOAP, "Fault"}, &wsman.Fault{Code: wsman.CodeSender, Subcode: wsman.Subcode{Local: "QuotaLimit"},
				Reason:    "The WS-Management service cannot process the request. The maximum number of concurrent shells for this user has been exceeded. Close existing shells or raise the quota for this user. ",
				WSManCode: wsman.ErrCodeQuotaMaxShells,
				Message:   "The WS-Management service cannot process the request. This user is allowed a maximum number of 5 concurrent shells, which has been exceeded. Close existing shells or raise the quota for this user. "}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			r := parseFixture(t, tt.file, tt.contentType)
			if r.Action != tt.action || r.RelatesTo != tt.relatesTo {
				t.Errorf("Action, RelatesTo = %q, %q; want %q, %q", r.Action, r.RelatesTo, tt.action, tt.relatesTo)
			}
			if got := nameOf(r.Body); got != tt.body {
				t.Errorf("body element = %v; want %v", got, tt.body)
			}
			got := r.Fault
			if got != nil {
				// The subcode's namespace is checked by
				// TestWindowsFaultSubcodeNamespace.
				c := *got
				c.Subcode.Space = ""
				got = &c
			}
			if !reflect.DeepEqual(got, tt.fault) {
				t.Errorf("Fault = %#v;\nwant %#v", got, tt.fault)
			}
		})
	}
}

// TestWindowsSpecFaultResponse decodes the MS-WSMV 4.10 fault: values
// wrapped over lines, an undeclared a: prefix in the subcode, the
// abbreviated FaultDetail and a WSManFault nested in a ProviderFault.
func TestWindowsSpecFaultResponse(t *testing.T) {
	t.Parallel()
	r := parseFixture(t, "spec-4.10-fault-response.xml", ctUTF8)
	if r.Action != wsman.ActionAddrFault || r.RelatesTo != "uuid:B2C3F241-1C90-4B91-9D66-EEA0DEB81879" {
		t.Errorf("Action, RelatesTo = %q, %q", r.Action, r.RelatesTo)
	}
	f := r.Fault
	if f == nil {
		t.Fatal("no fault decoded")
	}
	const reason = "\nThe WS-Management service cannot process the request.\nThe service cannot find the resource identified by the\nresource URI and selectors.\n"
	if f.Code != wsman.CodeSender || f.Subcode.Local != "DestinationUnreachable" || f.Reason != reason ||
		f.Detail != "wsman:faultDetail/ResourceNotFound" || f.WSManCode != 32768 {
		t.Errorf("Fault = %#v", f)
	}
}

// TestWindowsSpecProviderFaultMessage checks that the message of a fault
// whose f:Message holds only a ProviderFault with a nested WSManFault
// ([MS-WSMV] 4.10; winrm-protocol.md 7.1) is the provider's message.
func TestWindowsSpecProviderFaultMessage(t *testing.T) {
	t.Parallel()
	f := parseFixture(t, "spec-4.10-fault-response.xml", ctUTF8).Fault
	if f == nil {
		t.Fatal("no fault decoded")
	}
	const want = "The WS-Management service cannot\nprocess the request. The service cannot\nfind the resource identified by the\nresource URI and selectors."
	if f.Message != want {
		t.Errorf("Message = %q; want the nested provider message %q", f.Message, want)
	}
}

// TestWindowsFaultSubcodeNamespace checks that a decoded Windows fault's
// subcode is namespace-qualified like the wsman.Sub* values, so callers
// can compare it with them.
func TestWindowsFaultSubcodeNamespace(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want wsman.Subcode
	}{
		{"fault-timedout.xml", wsman.SubTimedOut},
		{"fault-shell-not-found.xml", wsman.SubInvalidSelectors},
		{"fault-access-denied.xml", wsman.SubAccessDenied},
		{"fault-quota-max-shells.xml", wsman.SubQuotaLimit},
	}
	for _, tt := range tests {
		f := parseFixture(t, tt.file, ctUTF8).Fault
		if f == nil {
			t.Errorf("%s: no fault decoded", tt.file)
		} else if f.Subcode != tt.want {
			t.Errorf("%s: Subcode = %+v; want %+v", tt.file, f.Subcode, tt.want)
		}
	}
}

// TestWindowsFixturesCreatedShellID checks the ShellId found in each
// Create shape, and that other replies carry none.
func TestWindowsFixturesCreatedShellID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file, want string // want "" means an error
	}{
		{"create-response.xml", winShellID},
		{"create-response-selector-only.xml", winOldShellID},
		{"spec-4.7.1-create-response.xml", specShellID},
		{"command-response.xml", ""},
		{"delete-response.xml", ""},
	}
	for _, tt := range tests {
		got, err := wsman.CreatedShellID(parseFixture(t, tt.file, ctUTF8))
		if got != tt.want || (err != nil) != (tt.want == "") {
			t.Errorf("CreatedShellID(%s) = %q, %v; want %q", tt.file, got, err, tt.want)
		}
	}
}

// TestWindowsCreatedShellIDFromShellOnly checks that rsp:Shell/rsp:ShellId
// alone is enough, as CreatedShellID documents, for a modern-shaped reply
// whose endpoint reference has no selector. (Windows always sends the
// selector too, so this does not break against Windows.)
func TestWindowsCreatedShellIDFromShellOnly(t *testing.T) {
	t.Parallel()
	data := bytes.Replace(readFixture(t, "create-response.xml"),
		[]byte(`<w:SelectorSet><w:Selector Name="ShellId">`+winShellID+`</w:Selector></w:SelectorSet>`), nil, 1)
	r, err := wsman.ParseReply(data, ctUTF8)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := wsman.CreatedShellID(r); got != winShellID || err != nil {
		t.Errorf("CreatedShellID = %q, %v; want %q", got, err, winShellID)
	}
}

// TestWindowsFixturesCommandID checks CommandID on each CommandResponse,
// and that it refuses other replies.
func TestWindowsFixturesCommandID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file, want string // want "" means an error
	}{
		{"command-response.xml", winCmd1},
		{"command-response-2.xml", winCmd2},
		{"command-response-3.xml", winCmd3},
		{"spec-4.7.2-command-response.xml", specCmdID},
		{"create-response.xml", ""},
		{"receive-response-final.xml", ""},
	}
	for _, tt := range tests {
		got, err := wsman.CommandID(parseFixture(t, tt.file, ctUTF8))
		if got != tt.want || (err != nil) != (tt.want == "") {
			t.Errorf("CommandID(%s) = %q, %v; want %q", tt.file, got, err, tt.want)
		}
	}
}

// stream is wsman.StreamData with the data as a string, for comparison.
type stream struct {
	name, commandID, data string
	end                   bool
}

// TestWindowsFixturesReceive checks every decoded stream (order, name,
// CommandId, bytes, End) and the command state of each ReceiveResponse.
func TestWindowsFixturesReceive(t *testing.T) {
	t.Parallel()
	running := func(id string, code int, has bool) *wsman.CommandState {
		return &wsman.CommandState{CommandID: id, State: wsman.CommandStateRunning, ExitCode: code, HasExitCode: has}
	}
	done := func(id string, code int) *wsman.CommandState {
		return &wsman.CommandState{CommandID: id, State: wsman.CommandStateDone, ExitCode: code, HasExitCode: true}
	}
	tests := []struct {
		file, contentType string
		streams           []stream
		state             *wsman.CommandState
	}{
		{"receive-response-interim.xml", ctUTF8, []stream{
			{"stdout", winCmd1, "line 1\r\n", false},
			{"stderr", winCmd1, "warning: low disk\r\n", false},
			{"stdout", winCmd1, "line 2\r\n", false},
		}, running(winCmd1, 0, true)},
		{"receive-response-stderr-only.xml", ctUTF8, []stream{
			{"stderr", winCmd1, "error: step 3 failed\r\n", false},
		}, running(winCmd1, 0, false)},
		{"receive-response-final.xml", ctUTF8, []stream{
			{"stdout", winCmd1, "line 3\r\n", false},
			{"stderr", winCmd1, "done with errors\r\n", false},
			{"stdout", winCmd1, "", true},
			{"stderr", winCmd1, "", true},
		}, done(winCmd1, 1)},
		{"receive-response-utf16.xml", ctUTF16, []stream{
			{"stdout", winCmd2, "Grüße aus Redmond\r\n", false},
			{"stdout", winCmd2, "", true},
			{"stderr", winCmd2, "", true},
		}, done(winCmd2, 0)},
		{"receive-response-end-only.xml", ctUTF8, []stream{
			{"stdout", winCmd3, "", true},
			{"stderr", winCmd3, "", true},
		}, done(winCmd3, 0)},
		{"spec-4.7.3-receive-response.xml", ctUTF8, []stream{
			{"stdout", specCmdID, "d:\\temp\\out.txt, Delete (Y/N)? ", false},
		}, running(specCmdID, 0, true)},
		{"spec-style-4.7.3-receive-done.xml", ctUTF8, []stream{
			{"stdout", specCmdID, "y\r\n", false},
			{"stdout", specCmdID, "", true},
			{"stderr", specCmdID, "", true},
		}, done(specCmdID, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			out, err := wsman.ParseReceiveResponse(parseFixture(t, tt.file, tt.contentType))
			if err != nil {
				t.Fatalf("ParseReceiveResponse: %v", err)
			}
			var got []stream
			for _, s := range out.Streams {
				got = append(got, stream{s.Name, s.CommandID, string(s.Data), s.End})
			}
			if !reflect.DeepEqual(got, tt.streams) {
				t.Errorf("streams = %+v;\nwant %+v", got, tt.streams)
			}
			if !reflect.DeepEqual(out.State, tt.state) {
				t.Errorf("state = %+v; want %+v", out.State, tt.state)
			}
		})
	}
	for _, file := range []string{"command-response.xml", "signal-response.xml", "delete-response.xml", "fault-timedout.xml"} {
		if out, err := wsman.ParseReceiveResponse(parseFixture(t, file, ctUTF8)); err == nil {
			t.Errorf("ParseReceiveResponse(%s) = %+v; want an error", file, out)
		}
	}
}

// TestWindowsUTF16Reply checks that a UTF-16 reply decodes to the same
// Reply as its UTF-8 transcoding, however the charset is announced: BOM
// and Content-Type, BOM only, or Content-Type only.
func TestWindowsUTF16Reply(t *testing.T) {
	t.Parallel()
	data := readFixture(t, "receive-response-utf16.xml")
	want, err := wsman.ParseReply([]byte(decodeUTF16LE(data)), ctUTF8)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, contentType string
		data              []byte
	}{
		{"BOM and charset", ctUTF16, data},
		{"BOM only", "application/soap+xml", data},
		{"charset only", ctUTF16, bytes.TrimPrefix(data, []byte{0xFF, 0xFE})},
	}
	for _, tt := range tests {
		got, err := wsman.ParseReply(tt.data, tt.contentType)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: ParseReply = %+v, %v; want %+v", tt.name, got, err, want)
		}
	}
}

// TestWindowsFixturesIdentify checks both Identify shapes.
func TestWindowsFixturesIdentify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want *wsman.IdentifyInfo
	}{
		{"identify-anonymous.xml", &wsman.IdentifyInfo{ProductVendor: "Microsoft Corporation",
			ProductVersion: "OS: 0.0.0 SP: 0.0 Stack: 3.0"}},
		{"identify-authenticated.xml", &wsman.IdentifyInfo{ProductVendor: "Microsoft Corporation",
			ProductVersion:   "OS: 6.3.9600 SP: 0.0 Stack: 3.0",
			SecurityProfiles: []string{wsman.SecProfilePrefix + "http/basic", wsman.SecProfilePrefix + "http/spnego-kerberos"}}},
	}
	for _, tt := range tests {
		info, proto, err := wsman.ParseIdentifyResponse(parseFixture(t, tt.file, ctUTF8))
		if err != nil || proto != wsman.NsWSMan || !reflect.DeepEqual(info, tt.want) {
			t.Errorf("ParseIdentifyResponse(%s) = %+v, %q, %v; want %+v, %q", tt.file, info, proto, err, tt.want, wsman.NsWSMan)
		}
	}
	if _, _, err := wsman.ParseIdentifyResponse(parseFixture(t, "create-response.xml", ctUTF8)); err == nil {
		t.Error("ParseIdentifyResponse(create-response.xml) succeeded; want an error")
	}
}
