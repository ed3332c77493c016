package wsman

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Edge cases of the shell message body decoders (shell.go). The golden
// tests cover the [MS-WSMV] examples; these cover what clients vary and
// what must be refused.

func shellBody(t *testing.T, inner string) *Element {
	t.Helper()
	return mustParseTree(t, []byte(inner))
}

// rsp wraps a body element so that the rsp prefix is declared.
func rsp(local, attrs, content string) string {
	return fmt.Sprintf(`<rsp:%s xmlns:rsp="%s"%s>%s</rsp:%s>`, local, NsShell, attrs, content, local)
}

func repeatElem(n int, format string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, format, i)
	}
	return b.String()
}

func TestParseCreateShellCases(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want *CreateShell // nil: a schema fault
	}{
		{"minimal", rsp("Shell", "", ""), &CreateShell{}},
		{"client ShellId and Name", rsp("Shell", ` ShellID="C1" Name="Runspace1"`, `<rsp:IdleTimeOut>PT180.000S</rsp:IdleTimeOut>`),
			&CreateShell{ShellID: "C1", Name: "Runspace1", IdleTimeout: 180 * time.Second}},
		{"environment values keep spaces", rsp("Shell", "", `<rsp:Environment><rsp:Variable Name="A"> a b </rsp:Variable><rsp:Variable Name="E"></rsp:Variable></rsp:Environment>`),
			&CreateShell{Environment: [][2]string{{"A", " a b "}, {"E", ""}}}},
		{"working directory trimmed", rsp("Shell", "", "<rsp:WorkingDirectory>\n /tmp/x y \n</rsp:WorkingDirectory>"),
			&CreateShell{WorkingDirectory: "/tmp/x y"}},
		{"streams split on any whitespace", rsp("Shell", "", "<rsp:InputStreams>stdin pr</rsp:InputStreams><rsp:OutputStreams>\nstdout\tstderr\n</rsp:OutputStreams>"),
			&CreateShell{InputStreams: []string{"stdin", "pr"}, OutputStreams: []string{"stdout", "stderr"}}},
		{"16 stream names", rsp("Shell", "", "<rsp:OutputStreams>"+strings.Repeat("s ", maxStreamNames)+"</rsp:OutputStreams>"),
			&CreateShell{OutputStreams: strings.Fields(strings.Repeat("s ", maxStreamNames))}},
		{"foreign elements ignored", rsp("Shell", "", `<x:Any xmlns:x="urn:x">1</x:Any>`), &CreateShell{}},
		{"variable without Name", rsp("Shell", "", `<rsp:Environment><rsp:Variable>1</rsp:Variable></rsp:Environment>`), nil},
		{"variable with empty Name", rsp("Shell", "", `<rsp:Environment><rsp:Variable Name="">1</rsp:Variable></rsp:Environment>`), nil},
		{"variable Name with =", rsp("Shell", "", `<rsp:Environment><rsp:Variable Name="A=B">1</rsp:Variable></rsp:Environment>`), nil},
		{"too many variables", rsp("Shell", "", `<rsp:Environment>`+repeatElem(maxEnvVars+1, `<rsp:Variable Name="V%d">1</rsp:Variable>`)+`</rsp:Environment>`), nil},
		{"bad Lifetime", rsp("Shell", "", `<rsp:Lifetime>forever</rsp:Lifetime>`), nil},
		{"bad IdleTimeOut", rsp("Shell", "", `<rsp:IdleTimeOut>180</rsp:IdleTimeOut>`), nil},
		{"17 stream names", rsp("Shell", "", "<rsp:InputStreams>"+strings.Repeat("s ", maxStreamNames+1)+"</rsp:InputStreams>"), nil},
		{"wrong element", rsp("CommandLine", "", ""), nil},
		{"Shell in another namespace", `<Shell xmlns="urn:x"/>`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCreateShell(shellBody(t, tt.doc))
			if tt.want == nil {
				checkFault(t, err, SubInvalidValue, ErrCodeInvalidParameter)
				return
			}
			if err != nil {
				t.Fatalf("ParseCreateShell: %v", err)
			}
			if !equalCreateShell(got, tt.want) {
				t.Errorf("ParseCreateShell = %+v; want %+v", got, tt.want)
			}
		})
	}
	if _, err := ParseCreateShell(nil); err == nil {
		t.Errorf("ParseCreateShell(nil) = nil error; want a fault")
	}
}

func TestParseCommandLineCases(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want *CommandLine
	}{
		{"client CommandId trimmed", rsp("CommandLine", ` CommandId=" 1D3CB4DC "`, `<rsp:Command>ls</rsp:Command>`),
			&CommandLine{CommandID: "1D3CB4DC", Command: "ls"}},
		{"CommandID spelling", rsp("CommandLine", ` CommandID="X"`, `<rsp:Command>ls</rsp:Command>`),
			&CommandLine{CommandID: "X", Command: "ls"}},
		{"inner whitespace and escapes kept", rsp("CommandLine", "", "<rsp:Command>\n echo  a&gt;b \n</rsp:Command><rsp:Arguments> x  y </rsp:Arguments><rsp:Arguments></rsp:Arguments>"),
			&CommandLine{Command: "echo  a>b", Arguments: []string{"x  y", ""}}},
		{"no Command", rsp("CommandLine", "", ""), &CommandLine{}},
		{"4096 arguments", rsp("CommandLine", "", "<rsp:Command>c</rsp:Command>"+strings.Repeat("<rsp:Arguments>a</rsp:Arguments>", maxArguments)),
			&CommandLine{Command: "c", Arguments: strings.Fields(strings.Repeat("a ", maxArguments))}},
		{"4097 arguments", rsp("CommandLine", "", strings.Repeat("<rsp:Arguments>a</rsp:Arguments>", maxArguments+1)), nil},
		{"wrong element", rsp("Shell", "", ""), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCommandLine(shellBody(t, tt.doc))
			if tt.want == nil {
				checkFault(t, err, SubInvalidValue, ErrCodeInvalidParameter)
				return
			}
			if err != nil {
				t.Fatalf("ParseCommandLine: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseCommandLine = %+v; want %+v", got, tt.want)
			}
		})
	}
}

func TestParseSendCases(t *testing.T) {
	stream := func(attrs, data string) string {
		return `<rsp:Stream Name="stdin" CommandId="C"` + attrs + `>` + data + `</rsp:Stream>`
	}
	tests := []struct {
		name string
		doc  string
		want []StreamData
	}{
		{"End true", rsp("Send", "", stream(` End="true"`, "eQ0K")), []StreamData{{Name: "stdin", CommandID: "C", Data: []byte("y\r\n"), End: true}}},
		{"End TRUE", rsp("Send", "", stream(` End="TRUE"`, "")), []StreamData{{Name: "stdin", CommandID: "C", Data: []byte{}, End: true}}},
		{"End 1", rsp("Send", "", stream(` End=" 1 "`, "")), []StreamData{{Name: "stdin", CommandID: "C", Data: []byte{}, End: true}}},
		{"End false", rsp("Send", "", stream(` End="false"`, "eQ==")), []StreamData{{Name: "stdin", CommandID: "C", Data: []byte("y")}}},
		{"base64 wrapped over lines", rsp("Send", "", stream("", "\n aGVs\r\nbG8g\td29y\nbGQ=\n")), []StreamData{{Name: "stdin", CommandID: "C", Data: []byte("hello world")}}},
		{"no CommandId", rsp("Send", "", `<rsp:Stream Name="stdin">eQ==</rsp:Stream>`), []StreamData{{Name: "stdin", Data: []byte("y")}}},
		{"two streams", rsp("Send", "", stream("", "YQ==")+`<rsp:Stream Name="pr" CommandID=" D ">Yg==</rsp:Stream>`),
			[]StreamData{{Name: "stdin", CommandID: "C", Data: []byte("a")}, {Name: "pr", CommandID: "D", Data: []byte("b")}}},
		{"invalid base64", rsp("Send", "", stream("", "eQ0K!")), nil},
		{"unpadded base64", rsp("Send", "", stream("", "eQ")), nil},
		{"no stream", rsp("Send", "", ""), nil},
		{"wrong element", rsp("Receive", "", stream("", "")), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSend(shellBody(t, tt.doc))
			if tt.want == nil {
				checkFault(t, err, SubInvalidValue, ErrCodeInvalidParameter)
				return
			}
			if err != nil {
				t.Fatalf("ParseSend: %v", err)
			}
			if !equalStreams(got, tt.want) {
				t.Errorf("ParseSend = %+v; want %+v", got, tt.want)
			}
		})
	}
}

func TestParseReceiveAndSignalCases(t *testing.T) {
	receives := []struct {
		name string
		doc  string
		want *Receive
	}{
		{"shell-level receive", rsp("Receive", "", `<rsp:DesiredStream>stdout</rsp:DesiredStream>`), &Receive{Streams: []string{"stdout"}}},
		{"CommandID spelling", rsp("Receive", ` SequenceId="3"`, `<rsp:DesiredStream CommandID=" C ">stdout  stderr</rsp:DesiredStream>`),
			&Receive{CommandID: "C", Streams: []string{"stdout", "stderr"}}},
		{"no DesiredStream", rsp("Receive", "", ""), nil},
		{"17 streams", rsp("Receive", "", `<rsp:DesiredStream>`+strings.Repeat("s ", maxStreamNames+1)+`</rsp:DesiredStream>`), nil},
		{"wrong element", rsp("Send", "", `<rsp:DesiredStream>stdout</rsp:DesiredStream>`), nil},
	}
	for _, tt := range receives {
		t.Run("Receive/"+tt.name, func(t *testing.T) {
			got, err := ParseReceive(shellBody(t, tt.doc))
			if tt.want == nil {
				checkFault(t, err, SubInvalidValue, ErrCodeInvalidParameter)
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseReceive = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
	signals := []struct {
		name string
		doc  string
		want *Signal
	}{
		{"terminate", rsp("Signal", ` CommandId="C"`, `<rsp:Code>`+SignalTerminate+`</rsp:Code>`), &Signal{CommandID: "C", Code: SignalTerminate}},
		{"shell-level, code wrapped", rsp("Signal", "", "<rsp:Code>\n powershell/signal/crtl_c \n</rsp:Code>"), &Signal{Code: "powershell/signal/crtl_c"}},
		{"no Code", rsp("Signal", ` CommandId="C"`, ""), nil},
		{"wrong element", rsp("Receive", "", `<rsp:Code>x</rsp:Code>`), nil},
	}
	for _, tt := range signals {
		t.Run("Signal/"+tt.name, func(t *testing.T) {
			got, err := ParseSignal(shellBody(t, tt.doc))
			if tt.want == nil {
				checkFault(t, err, SubInvalidValue, ErrCodeInvalidParameter)
				return
			}
			if err != nil || *got != *tt.want {
				t.Errorf("ParseSignal = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
