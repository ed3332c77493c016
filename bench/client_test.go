package bench

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// A minimal WinRM client: just enough of WS-Management and WinRS to
// create shells, run commands to completion and clean up, with envelopes
// shaped like pywinrm's (winrm-protocol.md section 4). It is deliberately
// independent of the server's wsman package, so the benchmarks exercise
// the wire format a real client sends.

// Namespaces and URIs used on the wire.
const (
	nsSOAP      = "http://www.w3.org/2003/05/soap-envelope"
	nsAddr      = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
	nsWSMan     = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
	nsShell     = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
	nsFault     = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"
	resCmdShell = nsShell + "/cmd"
	anonymous   = nsAddr + "/role/anonymous"

	actCreate  = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
	actDelete  = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"
	actGet     = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get"
	actCommand = nsShell + "/Command"
	actReceive = nsShell + "/Receive"
	actSignal  = nsShell + "/Signal"

	stateDone       = nsShell + "/CommandState/Done"
	signalTerminate = nsShell + "/signal/terminate"

	// codeTimedOut is the WSManFault code of a Receive long-poll timeout.
	codeTimedOut = "2150858793"
)

// client is a WinRM client bound to one endpoint and one account. It is
// safe for concurrent use; each concurrent caller gets its own keep-alive
// connection from the shared transport.
type client struct {
	url  string
	auth string // Authorization header value
	hc   *http.Client
	seq  atomic.Uint64 // MessageID counter
	tag  string        // random MessageID prefix, per client
}

// newClient returns a client that keeps up to maxConns idle connections
// open, so that maxConns concurrent callers never reconnect.
func newClient(url, user, password string, maxConns int) *client {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        maxConns + 16,
		MaxIdleConnsPerHost: maxConns + 16,
		IdleConnTimeout:     2 * time.Minute,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &client{
		url:  url,
		auth: "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password)),
		hc:   &http.Client{Transport: tr, Timeout: 2 * time.Minute},
		tag:  fmt.Sprintf("%08X", time.Now().UnixNano()&0xffffffff),
	}
}

func (c *client) close() { c.hc.CloseIdleConnections() }

// faultError is a SOAP fault the server answered with.
type faultError struct {
	status  int
	subcode string // e.g. "w:TimedOut"
	code    string // WSManFault Code attribute
	message string
}

func (f *faultError) Error() string {
	return fmt.Sprintf("winrm: HTTP %d fault %s (WSManFault %s): %s", f.status, f.subcode, f.code, strings.TrimSpace(f.message))
}

// reply is what the benchmarks need from a response.
type reply struct {
	shellID   string // Create: the ShellId selector
	commandID string // Command: rsp:CommandId
	state     string // Receive: rsp:CommandState/@State
	exitCode  string // Receive: rsp:CommandState/rsp:ExitCode
}

// envelope builds one request. selector is the ShellId ("" for Create);
// options are pre-rendered w:Option elements.
func (c *client) envelope(action, shellID, options, timeout, body string) []byte {
	var b bytes.Buffer
	b.Grow(1536 + len(body))
	b.WriteString(`<s:Envelope xmlns:s="` + nsSOAP + `" xmlns:a="` + nsAddr + `" xmlns:w="` + nsWSMan + `" xmlns:rsp="` + nsShell + `">`)
	b.WriteString(`<s:Header><a:To>`)
	b.WriteString(c.url)
	b.WriteString(`</a:To><w:ResourceURI s:mustUnderstand="true">` + resCmdShell + `</w:ResourceURI>`)
	b.WriteString(`<a:ReplyTo><a:Address s:mustUnderstand="true">` + anonymous + `</a:Address></a:ReplyTo>`)
	b.WriteString(`<a:Action s:mustUnderstand="true">`)
	b.WriteString(action)
	b.WriteString(`</a:Action><w:MaxEnvelopeSize s:mustUnderstand="true">153600</w:MaxEnvelopeSize>`)
	fmt.Fprintf(&b, `<a:MessageID>uuid:%s-0000-4000-8000-%012X</a:MessageID>`, c.tag, c.seq.Add(1))
	b.WriteString(`<w:Locale xml:lang="en-US" s:mustUnderstand="false"/>`)
	if shellID != "" {
		b.WriteString(`<w:SelectorSet><w:Selector Name="ShellId">`)
		b.WriteString(shellID)
		b.WriteString(`</w:Selector></w:SelectorSet>`)
	}
	if options != "" {
		b.WriteString(`<w:OptionSet>`)
		b.WriteString(options)
		b.WriteString(`</w:OptionSet>`)
	}
	b.WriteString(`<w:OperationTimeout>`)
	b.WriteString(timeout)
	b.WriteString(`</w:OperationTimeout></s:Header><s:Body>`)
	b.WriteString(body)
	b.WriteString(`</s:Body></s:Envelope>`)
	return b.Bytes()
}

// do posts one envelope and decodes the answer; a SOAP fault becomes a
// *faultError.
func (c *client) do(env []byte) (reply, error) {
	req, err := http.NewRequest(http.MethodPost, c.url, bytes.NewReader(env))
	if err != nil {
		return reply{}, err
	}
	req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
	req.Header.Set("Authorization", c.auth)
	res, err := c.hc.Do(req)
	if err != nil {
		return reply{}, err
	}
	data, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return reply{}, err
	}
	switch res.StatusCode {
	case http.StatusOK:
		return parseReply(data)
	case http.StatusInternalServerError:
		f, perr := parseFault(data)
		if perr != nil {
			return reply{}, fmt.Errorf("winrm: HTTP 500 with unreadable body: %v", perr)
		}
		f.status = res.StatusCode
		return reply{}, f
	}
	return reply{}, fmt.Errorf("winrm: HTTP %d: %.200q", res.StatusCode, data)
}

// createShell opens a cmd shell and returns its ShellId.
func (c *client) createShell() (string, error) {
	opts := `<w:Option Name="WINRS_NOPROFILE">FALSE</w:Option><w:Option Name="WINRS_CODEPAGE">65001</w:Option>`
	body := `<rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>`
	r, err := c.do(c.envelope(actCreate, "", opts, "PT60S", body))
	if err != nil {
		return "", fmt.Errorf("create shell: %w", err)
	}
	if r.shellID == "" {
		return "", errors.New("create shell: reply has no ShellId selector")
	}
	return r.shellID, nil
}

// getShell checks that a shell exists.
func (c *client) getShell(shellID string) error {
	_, err := c.do(c.envelope(actGet, shellID, "", "PT60S", ""))
	return err
}

// deleteShell removes a shell.
func (c *client) deleteShell(shellID string) error {
	_, err := c.do(c.envelope(actDelete, shellID, "", "PT60S", ""))
	return err
}

// command starts a command line in a shell and returns its CommandId.
func (c *client) command(shellID, line string) (string, error) {
	opts := `<w:Option Name="WINRS_CONSOLEMODE_STDIN">TRUE</w:Option><w:Option Name="WINRS_SKIP_CMD_SHELL">FALSE</w:Option>`
	var body strings.Builder
	body.WriteString(`<rsp:CommandLine><rsp:Command>`)
	xml.EscapeText(&body, []byte(line))
	body.WriteString(`</rsp:Command></rsp:CommandLine>`)
	r, err := c.do(c.envelope(actCommand, shellID, opts, "PT60S", body.String()))
	if err != nil {
		return "", fmt.Errorf("command: %w", err)
	}
	if r.commandID == "" {
		return "", errors.New("command: reply has no CommandId")
	}
	return r.commandID, nil
}

// receiveDone polls Receive until the command reports Done and returns
// its exit code and the number of Receive requests it took. Long-poll
// timeouts are polled again, as clients do.
func (c *client) receiveDone(shellID, commandID string) (exit string, polls int, err error) {
	opts := `<w:Option Name="WSMAN_CMDSHELL_OPTION_KEEPALIVE">TRUE</w:Option>`
	body := `<rsp:Receive SequenceId="0"><rsp:DesiredStream CommandId="` + commandID + `">stdout stderr</rsp:DesiredStream></rsp:Receive>`
	for {
		polls++
		r, err := c.do(c.envelope(actReceive, shellID, opts, "PT20S", body))
		var f *faultError
		if errors.As(err, &f) && f.code == codeTimedOut {
			continue
		}
		if err != nil {
			return "", polls, fmt.Errorf("receive: %w", err)
		}
		if r.state == stateDone {
			return r.exitCode, polls, nil
		}
	}
}

// terminate sends Signal terminate for a command, releasing it.
func (c *client) terminate(shellID, commandID string) error {
	body := `<rsp:Signal CommandId="` + commandID + `"><rsp:Code>` + signalTerminate + `</rsp:Code></rsp:Signal>`
	if _, err := c.do(c.envelope(actSignal, shellID, "", "PT60S", body)); err != nil {
		return fmt.Errorf("signal: %w", err)
	}
	return nil
}

// phases are the client-observed durations of one command's requests.
type phases struct {
	command, receive, signal time.Duration
	polls                    int
}

// run executes one command line to completion on an open shell, the way
// pywinrm's run_cmd does: Command, Receive until Done, Signal terminate.
// It fails unless the command exits 0.
func (c *client) run(shellID, line string) (phases, error) {
	var p phases
	t0 := time.Now()
	id, err := c.command(shellID, line)
	if err != nil {
		return p, err
	}
	t1 := time.Now()
	exit, polls, err := c.receiveDone(shellID, id)
	if err != nil {
		return p, err
	}
	t2 := time.Now()
	if err := c.terminate(shellID, id); err != nil {
		return p, err
	}
	t3 := time.Now()
	p = phases{command: t1.Sub(t0), receive: t2.Sub(t1), signal: t3.Sub(t2), polls: polls}
	if exit != "0" {
		return p, fmt.Errorf("command %q exited with %q, want 0", line, exit)
	}
	return p, nil
}

// parseReply picks out the few values the client needs from a successful
// reply. It is a small tag scanner rather than encoding/xml, which costs
// about 30 µs per reply and would blur the server's figures; it matches
// elements by local name whatever their prefix, which is enough for
// replies whose shape is known. Faults, which are rare here, get a real
// XML decoder (parseFault).
func parseReply(data []byte) (reply, error) {
	var r reply
	for i := 0; i < len(data); {
		j := bytes.IndexByte(data[i:], '<')
		if j < 0 {
			break
		}
		i += j + 1
		if i >= len(data) || data[i] == '/' || data[i] == '?' || data[i] == '!' {
			continue
		}
		end := bytes.IndexByte(data[i:], '>')
		if end < 0 {
			return r, errors.New("winrm: truncated reply")
		}
		tag := data[i : i+end]
		i += end + 1
		name := tag
		if k := bytes.IndexAny(tag, " \t\r\n/"); k >= 0 {
			name = tag[:k]
		}
		if k := bytes.IndexByte(name, ':'); k >= 0 {
			name = name[k+1:]
		}
		text := func() string {
			k := bytes.IndexByte(data[i:], '<')
			if k < 0 {
				return ""
			}
			return strings.TrimSpace(string(data[i : i+k]))
		}
		switch string(name) {
		case "Selector":
			if r.shellID == "" && strings.EqualFold(tagAttr(tag, "Name"), "ShellId") {
				r.shellID = text()
			}
		case "CommandId":
			r.commandID = text()
		case "CommandState":
			r.state = tagAttr(tag, "State")
		case "ExitCode":
			r.exitCode = text()
		}
	}
	return r, nil
}

// tagAttr returns a double-quoted attribute of a start tag's text.
func tagAttr(tag []byte, name string) string {
	for off := 0; ; {
		k := bytes.Index(tag[off:], []byte(name+`="`))
		if k < 0 {
			return ""
		}
		k += off
		off = k + len(name) + 2
		if k > 0 && (tag[k-1] == ' ' || tag[k-1] == '\t' || tag[k-1] == '\n' || tag[k-1] == '\r' || tag[k-1] == ':') {
			v := tag[off:]
			if e := bytes.IndexByte(v, '"'); e >= 0 {
				return string(v[:e])
			}
			return ""
		}
	}
}

// parseFault decodes the parts of a SOAP fault the benchmarks report.
func parseFault(data []byte) (*faultError, error) {
	f := &faultError{}
	d := xml.NewDecoder(bytes.NewReader(data))
	var inSub, inValue, inMsg bool
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return f, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch {
			case t.Name.Space == nsSOAP && t.Name.Local == "Subcode":
				inSub = true
			case t.Name.Space == nsSOAP && t.Name.Local == "Value":
				inValue = true
			case t.Name.Space == nsFault && t.Name.Local == "WSManFault":
				f.code = attr(t, "Code")
			case t.Name.Space == nsFault && t.Name.Local == "Message":
				inMsg = true
			}
		case xml.CharData:
			switch {
			case inSub && inValue:
				f.subcode += strings.TrimSpace(string(t))
			case inMsg:
				f.message += string(t)
			}
		case xml.EndElement:
			switch {
			case t.Name.Space == nsSOAP && t.Name.Local == "Value":
				inValue = false
			case t.Name.Space == nsSOAP && t.Name.Local == "Subcode":
				inSub = false
			case t.Name.Space == nsFault && t.Name.Local == "Message":
				inMsg = false
			}
		}
	}
}

func attr(e xml.StartElement, local string) string {
	for _, a := range e.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}
