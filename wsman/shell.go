package wsman

import (
	"bytes"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

// Wire forms of the WinRS shell messages ([MS-WSMV] 2.2.4.7, .26, .27,
// .32, .37, .38, .40; 3.1.4.5 to 3.1.4.16).

// Limits on shell message content.
const (
	maxEnvVars     = 1024
	maxArguments   = 4096
	maxStreamNames = 16
)

// CreateShell is the body of a shell Create (rsp:Shell).
type CreateShell struct {
	ShellID          string // client-chosen id, optional
	Name             string
	Environment      [][2]string
	WorkingDirectory string
	Lifetime         time.Duration
	IdleTimeout      time.Duration
	InputStreams     []string
	OutputStreams    []string
}

// ParseCreateShell decodes an rsp:Shell body.
func ParseCreateShell(body *Element) (*CreateShell, error) {
	if !body.Is(NsShell, "Shell") {
		return nil, FaultSchema("the Create body must be an rsp:Shell element")
	}
	cs := &CreateShell{}
	cs.ShellID, _ = body.AttrFold("ShellId")
	cs.Name, _ = body.Attr("Name")
	if env := body.Child(NsShell, "Environment"); env != nil {
		vars := env.ChildrenNamed(NsShell, "Variable")
		if len(vars) > maxEnvVars {
			return nil, FaultSchema("too many environment variables")
		}
		for _, v := range vars {
			name, ok := v.Attr("Name")
			if !ok || name == "" || strings.ContainsAny(name, "=\x00") {
				return nil, FaultSchema("an environment variable has no valid Name")
			}
			if strings.ContainsRune(v.Text, 0) {
				return nil, FaultSchema("an environment variable value contains NUL")
			}
			cs.Environment = append(cs.Environment, [2]string{name, v.Text})
		}
	}
	if wd := body.Child(NsShell, "WorkingDirectory"); wd != nil {
		cs.WorkingDirectory = wd.TrimText()
	}
	var err error
	if lt := body.Child(NsShell, "Lifetime"); lt != nil {
		if cs.Lifetime, err = ParseDuration(lt.TrimText()); err != nil {
			return nil, FaultSchema("rsp:Lifetime is not an xs:duration")
		}
	}
	if it := body.Child(NsShell, "IdleTimeOut"); it != nil {
		if cs.IdleTimeout, err = ParseDuration(it.TrimText()); err != nil {
			return nil, FaultSchema("rsp:IdleTimeOut is not an xs:duration")
		}
	}
	cs.InputStreams = streamList(body.Child(NsShell, "InputStreams"))
	cs.OutputStreams = streamList(body.Child(NsShell, "OutputStreams"))
	if len(cs.InputStreams) > maxStreamNames || len(cs.OutputStreams) > maxStreamNames {
		return nil, FaultSchema("too many stream names")
	}
	return cs, nil
}

func streamList(e *Element) []string {
	if e == nil {
		return nil
	}
	return strings.Fields(e.Text)
}

// CommandLine is the body of a Command (rsp:CommandLine).
type CommandLine struct {
	CommandID string // client-chosen id, optional
	Command   string
	Arguments []string
}

// ParseCommandLine decodes an rsp:CommandLine body. Command and arguments
// keep inner whitespace; surrounding XML whitespace is trimmed.
func ParseCommandLine(body *Element) (*CommandLine, error) {
	if !body.Is(NsShell, "CommandLine") {
		return nil, FaultSchema("the Command body must be an rsp:CommandLine element")
	}
	cl := &CommandLine{}
	cl.CommandID, _ = body.AttrFold("CommandId")
	cl.CommandID = strings.TrimSpace(cl.CommandID)
	if c := body.Child(NsShell, "Command"); c != nil {
		cl.Command = c.TrimText()
	}
	args := body.ChildrenNamed(NsShell, "Arguments")
	if len(args) > maxArguments {
		return nil, FaultSchema("too many arguments")
	}
	for _, a := range args {
		cl.Arguments = append(cl.Arguments, a.TrimText())
	}
	if strings.ContainsRune(cl.Command, 0) {
		return nil, FaultSchema("the command contains NUL")
	}
	for _, a := range cl.Arguments {
		if strings.ContainsRune(a, 0) {
			return nil, FaultSchema("an argument contains NUL")
		}
	}
	return cl, nil
}

// StreamData is one rsp:Stream element of a Send or a ReceiveResponse.
type StreamData struct {
	Name      string
	CommandID string
	Data      []byte
	End       bool
}

// ParseSend decodes an rsp:Send body. Stream content is base64.
func ParseSend(body *Element) ([]StreamData, error) {
	if !body.Is(NsShell, "Send") {
		return nil, FaultSchema("the Send body must be an rsp:Send element")
	}
	var out []StreamData
	for _, s := range body.ChildrenNamed(NsShell, "Stream") {
		sd := StreamData{}
		sd.Name, _ = s.Attr("Name")
		sd.CommandID, _ = s.AttrFold("CommandId")
		sd.CommandID = strings.TrimSpace(sd.CommandID)
		if end, ok := s.Attr("End"); ok {
			end = strings.TrimSpace(end)
			sd.End = end == "true" || end == "1" || strings.EqualFold(end, "true")
		}
		data, err := decodeBase64(s.Text)
		if err != nil {
			return nil, FaultSchema("rsp:Stream content is not valid base64")
		}
		sd.Data = data
		out = append(out, sd)
	}
	if len(out) == 0 {
		return nil, FaultSchema("rsp:Send contains no rsp:Stream")
	}
	return out, nil
}

// appendBase64 decodes base64 stream content s onto dst without copying
// s first. The fast decoder takes plain padded text; encoding/base64
// also skips CR and LF; other XML whitespace (a wrapped or indented
// payload) is stripped only when both fail.
func appendBase64(dst []byte, s string) ([]byte, error) {
	if s == "" {
		return dst, nil
	}
	src := unsafe.Slice(unsafe.StringData(s), len(s)) // read only
	if out, ok := appendDecodeBase64(dst, src); ok {
		return out, nil
	}
	n := len(dst)
	out, err := base64.StdEncoding.AppendDecode(dst, src)
	if err == nil {
		return out, nil
	}
	return base64.StdEncoding.AppendDecode(out[:n], []byte(stripSpace(s)))
}

// decodeBase64 is appendBase64 into a new slice (empty, not nil, for
// empty content).
func decodeBase64(s string) ([]byte, error) {
	out, err := appendBase64(nil, s)
	if err == nil && out == nil {
		out = []byte{}
	}
	return out, err
}

// stripSpace removes XML whitespace anywhere in s (base64 may be wrapped).
func stripSpace(s string) string {
	if !strings.ContainsAny(s, " \t\r\n") {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
}

// Receive is the body of a Receive.
type Receive struct {
	CommandID string
	Streams   []string
}

// ParseReceive decodes an rsp:Receive body. SequenceId is accepted and
// ignored (winrm-protocol.md 4.4 rule 7).
func ParseReceive(body *Element) (*Receive, error) {
	if !body.Is(NsShell, "Receive") {
		return nil, FaultSchema("the Receive body must be an rsp:Receive element")
	}
	ds := body.Child(NsShell, "DesiredStream")
	if ds == nil {
		return nil, FaultSchema("rsp:Receive has no rsp:DesiredStream")
	}
	r := &Receive{Streams: strings.Fields(ds.Text)}
	r.CommandID, _ = ds.AttrFold("CommandId")
	r.CommandID = strings.TrimSpace(r.CommandID)
	if len(r.Streams) > maxStreamNames {
		return nil, FaultSchema("too many stream names")
	}
	return r, nil
}

// Signal is the body of a Signal.
type Signal struct {
	CommandID string
	Code      string
}

// ParseSignal decodes an rsp:Signal body.
func ParseSignal(body *Element) (*Signal, error) {
	if !body.Is(NsShell, "Signal") {
		return nil, FaultSchema("the Signal body must be an rsp:Signal element")
	}
	s := &Signal{}
	s.CommandID, _ = body.AttrFold("CommandId")
	s.CommandID = strings.TrimSpace(s.CommandID)
	code := body.Child(NsShell, "Code")
	if code == nil {
		return nil, FaultSchema("rsp:Signal has no rsp:Code")
	}
	s.Code = code.TrimText()
	return s, nil
}

// ShellInfo describes a live shell for Create, Get and Enumerate replies.
type ShellInfo struct {
	ShellID       string
	Name          string
	ResourceURI   string
	Owner         string
	ClientIP      string
	IdleTimeout   time.Duration
	InputStreams  []string
	OutputStreams []string
	RunTime       time.Duration
	Inactivity    time.Duration
}

// WriteShell writes an rsp:Shell element (real Windows shape, 4.1 of
// winrm-protocol.md).
func WriteShell(b *bytes.Buffer, s *ShellInfo) {
	b.WriteString(`<rsp:Shell>`)
	el(b, "rsp:ShellId", s.ShellID)
	if s.Name != "" {
		el(b, "rsp:Name", s.Name)
	}
	el(b, "rsp:ResourceUri", s.ResourceURI)
	el(b, "rsp:Owner", s.Owner)
	el(b, "rsp:ClientIP", s.ClientIP)
	el(b, "rsp:IdleTimeOut", FormatDuration(s.IdleTimeout))
	el(b, "rsp:InputStreams", strings.Join(s.InputStreams, " "))
	el(b, "rsp:OutputStreams", strings.Join(s.OutputStreams, " "))
	el(b, "rsp:ShellRunTime", FormatDayDuration(s.RunTime))
	el(b, "rsp:ShellInactivity", FormatDayDuration(s.Inactivity))
	b.WriteString(`</rsp:Shell>`)
}

func el(b *bytes.Buffer, name, text string) {
	b.WriteString("<" + name + ">")
	EscapeText(b, text)
	b.WriteString("</" + name + ">")
}

// WriteResourceCreated writes the Create reply body for a shell: the
// x:ResourceCreated endpoint reference followed by rsp:Shell.
func WriteResourceCreated(b *bytes.Buffer, address string, s *ShellInfo) {
	b.WriteString(`<x:ResourceCreated><a:Address>`)
	EscapeText(b, address)
	b.WriteString(`</a:Address><a:ReferenceParameters><w:ResourceURI>`)
	EscapeText(b, s.ResourceURI)
	b.WriteString(`</w:ResourceURI><w:SelectorSet><w:Selector Name="ShellId">`)
	EscapeText(b, s.ShellID)
	b.WriteString(`</w:Selector></w:SelectorSet></a:ReferenceParameters></x:ResourceCreated>`)
	WriteShell(b, s)
}

// WriteCommandResponse writes rsp:CommandResponse.
func WriteCommandResponse(b *bytes.Buffer, commandID string) {
	b.WriteString(`<rsp:CommandResponse>`)
	el(b, "rsp:CommandId", commandID)
	b.WriteString(`</rsp:CommandResponse>`)
}

// CommandState is the rsp:CommandState of a ReceiveResponse.
type CommandState struct {
	CommandID string
	State     string
	// ExitCode is reported when HasExitCode.
	ExitCode    int
	HasExitCode bool
}

// WriteReceiveResponse writes rsp:ReceiveResponse with the given streams
// and an optional command state.
func WriteReceiveResponse(b *bytes.Buffer, streams []StreamData, state *CommandState) {
	b.WriteString(`<rsp:ReceiveResponse>`)
	for _, s := range streams {
		b.WriteString(`<rsp:Stream Name="`)
		EscapeAttr(b, s.Name)
		b.WriteString(`" CommandId="`)
		EscapeAttr(b, s.CommandID)
		b.WriteString(`"`)
		if s.End {
			b.WriteString(` End="true"`)
		}
		b.WriteString(`>`)
		if len(s.Data) > 0 {
			n := base64.StdEncoding.EncodedLen(len(s.Data))
			b.Grow(n)
			dst := b.AvailableBuffer()[:n]
			encodeBase64(dst, s.Data)
			b.Write(dst)
		}
		b.WriteString(`</rsp:Stream>`)
	}
	if state != nil {
		b.WriteString(`<rsp:CommandState CommandId="`)
		EscapeAttr(b, state.CommandID)
		b.WriteString(`" State="`)
		EscapeAttr(b, state.State)
		b.WriteString(`">`)
		if state.HasExitCode {
			b.WriteString(`<rsp:ExitCode>`)
			b.WriteString(strconv.Itoa(state.ExitCode))
			b.WriteString(`</rsp:ExitCode>`)
		}
		b.WriteString(`</rsp:CommandState>`)
	}
	b.WriteString(`</rsp:ReceiveResponse>`)
}

// StreamOverhead is an upper bound on the bytes one rsp:Stream element
// adds besides its base64 payload, for a CommandId of up to 64 bytes.
const StreamOverhead = len(`<rsp:Stream Name="" CommandId="" End="true"></rsp:Stream>`) + 32 + 64

// StateOverhead bounds the rsp:CommandState element.
const StateOverhead = len(`<rsp:CommandState CommandId="" State=""><rsp:ExitCode>-2147483648</rsp:ExitCode></rsp:CommandState>`) + 64 + len(CommandStateRunning)
