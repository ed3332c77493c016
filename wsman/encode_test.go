package wsman

import (
	"bytes"
	"encoding/base64"
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func escaped(f func(*bytes.Buffer, string), s string) string {
	var b bytes.Buffer
	f(&b, s)
	return b.String()
}

func TestEscape(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		text, attr string
	}{
		{"plain", "abc", "abc", "abc"},
		{"empty", "", "", ""},
		{"markup", `a<b>c&d"e'f`, `a&lt;b&gt;c&amp;d"e'f`, `a&lt;b&gt;c&amp;d&quot;e'f`},
		{"entity-like text", "&amp;&#65;", "&amp;amp;&amp;#65;", "&amp;amp;&amp;#65;"},
		{"CDATA end", "]]>", "]]&gt;", "]]&gt;"},
		{"tab LF CR", "a\tb\nc\rd", "a\tb\nc&#xD;d", "a&#x9;b&#xa;c&#xD;d"},
		{"NUL", "a\x00b", "a?b", "a?b"},
		{"controls 0x01-0x1F", "\x01\x02\x07\x08\x0b\x0c\x0e\x1b\x1f", "?????????", "?????????"},
		{"DEL and C1 kept", "\x7f\u0085\u009f", "\x7f\u0085\u009f", "\x7f\u0085\u009f"},
		{"space kept", " ", " ", " "},
		{"invalid byte", "a\xffb", "a?b", "a?b"},
		{"truncated sequence", "a\xc3", "a?", "a?"},
		{"lone continuation bytes", "\x80\xbf", "??", "??"},
		{"UTF-8 encoded surrogate", "\xed\xa0\x80", "???", "???"},
		{"overlong encoding", "\xc0\xaf", "??", "??"},
		{"U+FFFE and U+FFFF", "a\uFFFEb\uFFFFc", "a?b?c", "a?b?c"},
		{"U+FFFD kept", "\uFFFD", "\uFFFD", "\uFFFD"},
		{"two-byte UTF-8", "Grüße é", "Grüße é", "Grüße é"},
		{"three-byte UTF-8", "✓ €", "✓ €", "✓ €"},
		{"four-byte UTF-8", "𝄞😀", "𝄞😀", "𝄞😀"},
		{"private use and last plane", "\uE000\U0010FFFF", "\uE000\U0010FFFF", "\uE000\U0010FFFF"},
		{"mixed", "<\x01é\xff>", "&lt;?é?&gt;", "&lt;?é?&gt;"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := escaped(EscapeText, tt.in); got != tt.text {
				t.Errorf("EscapeText(%q) = %q; want %q", tt.in, got, tt.text)
			}
			if got := escaped(EscapeAttr, tt.in); got != tt.attr {
				t.Errorf("EscapeAttr(%q) = %q; want %q", tt.in, got, tt.attr)
			}
			checkEscapeRoundTrip(t, tt.in)
		})
	}
}

// xmlReplacement is what a reader of EscapeText/EscapeAttr output must
// get back for s: characters XML cannot carry ([MS-WSMV] 3.1.4.1.25:
// controls other than TAB, LF and CR; U+FFFE, U+FFFF) and invalid UTF-8
// bytes become '?'.
func xmlReplacement(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && w == 1, r == 0xFFFE, r == 0xFFFF,
			r < 0x20 && r != '\t' && r != '\n' && r != '\r':
			b.WriteByte('?')
		default:
			b.WriteString(s[i : i+w])
		}
		i += w
	}
	return b.String()
}

// normalizeEOL applies XML end-of-line handling (XML 1.0 section 2.11):
// a raw CR or CR LF reaches the application as LF. The escapers write CR
// as &#xD;, so it survives a round trip.
func normalizeEOL(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

// checkEscapeRoundTrip parses the escaped forms of s back and compares
// them with the expected replacement.
func checkEscapeRoundTrip(t testing.TB, s string) {
	t.Helper()
	var b bytes.Buffer
	b.WriteString(`<a v="`)
	EscapeAttr(&b, s)
	b.WriteString(`">`)
	EscapeText(&b, s)
	b.WriteString(`</a>`)
	root, err := ParseXML(b.Bytes(), ParseLimits{})
	if err != nil {
		t.Fatalf("escaped %q is not well-formed: %v\n%q", s, err, b.Bytes())
	}
	want := xmlReplacement(s)
	if got := root.Text; got != want {
		t.Errorf("text round trip of %q = %q; want %q", s, got, want)
	}
	if got, _ := root.Attr("v"); got != want {
		t.Errorf("attribute round trip of %q = %q; want %q", s, got, want)
	}
}

var uuidPattern = regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$`)

func TestNewUUID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewUUID()
		if !uuidPattern.MatchString(id) {
			t.Fatalf("NewUUID() = %q; want an upper-case version 4 UUID", id)
		}
		if seen[id] {
			t.Fatalf("NewUUID() returned %q twice", id)
		}
		seen[id] = true
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{in: "PT60.000S", want: 60 * time.Second},
		{in: "PT20S", want: 20 * time.Second},
		{in: "P0DT0H1M0S", want: time.Minute},
		{in: "P0DT0H0M0S", want: 0},
		{in: "PT0S", want: 0},
		{in: "PT180.000S", want: 180 * time.Second},
		{in: "PT7200.000S", want: 2 * time.Hour},
		{in: "PT0.5S", want: 500 * time.Millisecond},
		{in: "PT0.25S", want: 250 * time.Millisecond},
		{in: "PT1H", want: time.Hour},
		{in: "P1D", want: 24 * time.Hour},
		{in: "P2DT3H4M5S", want: 51*time.Hour + 4*time.Minute + 5*time.Second},
		{in: "P1DT2H", want: 26 * time.Hour},
		{in: "PT28737.000S", want: 28737 * time.Second},
		{in: "  PT5S\n", want: 5 * time.Second},
		{in: "P106751D", want: 106751 * 24 * time.Hour},
		{in: "", bad: true},
		{in: "P", bad: true},
		{in: "PT", bad: true},
		{in: "P1DT", bad: true},
		{in: "60", bad: true},
		{in: "T5S", bad: true},
		{in: "pt5s", bad: true},
		{in: "PT-5S", bad: true},
		{in: "-PT5S", bad: true},
		{in: "PT+5S", bad: true},
		{in: "P1Y", bad: true},
		{in: "P1M", bad: true},
		{in: "P1W", bad: true},
		{in: "PT1D", bad: true},
		{in: "P1H", bad: true},
		{in: "P1S", bad: true},
		{in: "PTS", bad: true},
		{in: "PT.S", bad: true},
		{in: "PT1..5S", bad: true},
		{in: "PT5", bad: true},
		{in: "PT5X", bad: true},
		{in: "PTT5S", bad: true},
		{in: "PT1e3S", bad: true},
		{in: "PT 5S", bad: true},
		{in: "PTNaNS", bad: true},
		{in: "PT" + strings.Repeat("1", 62) + "S", bad: true},
		{in: "PT99999999999999999999S", bad: true},
		{in: "P106752D", bad: true},
	}
	for _, tt := range tests {
		t.Run(strconv.Quote(tt.in), func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if tt.bad {
				if err == nil {
					t.Errorf("ParseDuration(%q) = %v, nil; want an error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

// TestParseDurationLimits checks values at the int64 nanosecond limit.
// The first ParseDuration computed in float64 and let 2^63 ns through as
// MinInt64 with a nil error, so a huge rsp:IdleTimeOut became negative.
func TestParseDurationLimits(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{in: "PT9223372036.854775807S", want: math.MaxInt64},
		{in: "P106751DT23H47M16.854775807S", want: math.MaxInt64},
		{in: "PT9223372036.854775808S", bad: true},
		{in: "P106751DT23H47M16.854775808S", bad: true},
		{in: "PT153722867M16.854775808S", bad: true},
		{in: "PT9223372037S", bad: true},
		{in: "P106752D", bad: true},
		{in: "PT2562048H", bad: true},
		{in: "P1DT9223372036S", bad: true},
	}
	for _, tt := range tests {
		d, err := ParseDuration(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("ParseDuration(%q) = %v (%d ns), nil; want an error", tt.in, d, int64(d))
			}
			continue
		}
		if err != nil || d != tt.want {
			t.Errorf("ParseDuration(%q) = %d, %v; want %d", tt.in, int64(d), err, int64(tt.want))
		}
	}
	// ParseCreateShell must not turn an overlong timeout into a negative one.
	body := mustParseTree(t, []byte(`<rsp:Shell xmlns:rsp="`+NsShell+`"><rsp:IdleTimeOut>PT9223372036.854775808S</rsp:IdleTimeOut></rsp:Shell>`))
	if cs, err := ParseCreateShell(body); err == nil {
		t.Errorf("ParseCreateShell accepted IdleTimeOut 2^63 ns as %v", cs.IdleTimeout)
	}
}

// TestParseDurationPrecision checks that every millisecond value
// FormatDuration writes parses back exactly. The first ParseDuration
// worked in float64 seconds and truncated, so "PT1.001S" came back as
// 1.000999999s (and was re-rendered "PT1.000S").
func TestParseDurationPrecision(t *testing.T) {
	var bad []string
	for ms := range 100000 {
		want := time.Duration(ms) * time.Millisecond
		s := FormatDuration(want)
		if got, err := ParseDuration(s); err != nil || got != want {
			bad = append(bad, s)
		}
	}
	for _, tt := range []struct {
		in   string
		want time.Duration
	}{
		{"PT700000000.077S", 700000000077 * time.Millisecond},
		{"PT0.000000001S", time.Nanosecond},
		{"PT0.0000000019S", time.Nanosecond}, // digits past nanoseconds are dropped
		{"PT1.001S", 1001 * time.Millisecond},
	} {
		if got, err := ParseDuration(tt.in); err != nil || got != tt.want {
			bad = append(bad, tt.in)
		}
	}
	if len(bad) > 0 {
		t.Errorf("%d durations do not parse exactly, e.g. %q", len(bad), bad[:min(5, len(bad))])
	}
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		in       time.Duration
		want     string
		wantDays string
	}{
		{0, "PT0.000S", "P0DT0H0M0S"},
		{time.Millisecond, "PT0.001S", "P0DT0H0M0S"},
		{999 * time.Millisecond, "PT0.999S", "P0DT0H0M0S"},
		{1500 * time.Millisecond, "PT1.500S", "P0DT0H0M1S"},
		{59*time.Second + 999*time.Millisecond, "PT59.999S", "P0DT0H0M59S"},
		{60 * time.Second, "PT60.000S", "P0DT0H1M0S"},
		{180 * time.Second, "PT180.000S", "P0DT0H3M0S"},
		{2 * time.Hour, "PT7200.000S", "P0DT2H0M0S"},
		{25*time.Hour + 61*time.Second, "PT90061.000S", "P1DT1H1M1S"},
		{48 * time.Hour, "PT172800.000S", "P2DT0H0M0S"},
		{time.Nanosecond, "PT0.000S", "P0DT0H0M0S"},
		{1234567 * time.Microsecond, "PT1.234S", "P0DT0H0M1S"},
	}
	for _, tt := range tests {
		t.Run(tt.in.String(), func(t *testing.T) {
			if got := FormatDuration(tt.in); got != tt.want {
				t.Errorf("FormatDuration(%v) = %q; want %q", tt.in, got, tt.want)
			}
			if got := FormatDayDuration(tt.in); got != tt.wantDays {
				t.Errorf("FormatDayDuration(%v) = %q; want %q", tt.in, got, tt.wantDays)
			}
			// Both forms parse back to the duration at their resolution.
			for _, c := range []struct {
				s    string
				unit time.Duration
			}{{tt.want, time.Millisecond}, {tt.wantDays, time.Second}} {
				got, err := ParseDuration(c.s)
				if err != nil || got != tt.in.Truncate(c.unit) {
					t.Errorf("ParseDuration(%q) = %v, %v; want %v", c.s, got, err, tt.in.Truncate(c.unit))
				}
			}
		})
	}
}

// receiveParts parses a ReceiveResponse written into an envelope.
func receiveParts(t *testing.T, streams []StreamData, state *CommandState) (*Element, []byte) {
	t.Helper()
	var buf bytes.Buffer
	WriteEnvelope(&buf, ActionReceive+"Response", "uuid:R", func(b *bytes.Buffer) {
		WriteReceiveResponse(b, streams, state)
	})
	root := mustParseTree(t, buf.Bytes())
	rr := descend(root, qn(NsSOAP, "Body"), qn(NsShell, "ReceiveResponse"))
	if rr == nil {
		t.Fatalf("no rsp:ReceiveResponse in %s", buf.Bytes())
	}
	return rr, buf.Bytes()
}

func TestWriteReceiveResponseRoundTrip(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	rnd := make([]byte, 64<<10)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range rnd {
		rnd[i] = byte(r.Uint32())
	}
	const id = "9731F5BD-1A2B-4C3D-8E9F-0A1B2C3D4E5F"
	tests := []struct {
		name    string
		streams []StreamData
		state   *CommandState
	}{
		{"all byte values", []StreamData{{Name: "stdout", CommandID: id, Data: all}}, nil},
		{"random 64 KiB", []StreamData{{Name: "stdout", CommandID: id, Data: rnd}, {Name: "stderr", CommandID: id, Data: rnd[:1]}}, nil},
		{"end markers and done", []StreamData{
			{Name: "stdout", CommandID: id, Data: []byte("x\r\n")},
			{Name: "stdout", CommandID: id, End: true},
			{Name: "stderr", CommandID: id, End: true},
		}, &CommandState{CommandID: id, State: CommandStateDone, ExitCode: 0, HasExitCode: true}},
		{"negative exit code", nil, &CommandState{CommandID: id, State: CommandStateDone, ExitCode: math.MinInt32, HasExitCode: true}},
		{"large exit code", nil, &CommandState{CommandID: id, State: CommandStateDone, ExitCode: math.MaxUint32, HasExitCode: true}},
		{"running without exit code", []StreamData{{Name: "stdout", CommandID: id, Data: []byte{0}}}, &CommandState{CommandID: id, State: CommandStateRunning}},
		{"escaped attributes", []StreamData{{Name: `a"<&>`, CommandID: "id\t\"&<", Data: []byte("z")}},
			&CommandState{CommandID: "id\t\"&<", State: `s"&`}},
		{"nothing", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rr, raw := receiveParts(t, tt.streams, tt.state)
			got := rr.ChildrenNamed(NsShell, "Stream")
			if len(got) != len(tt.streams) {
				t.Fatalf("%d rsp:Stream elements; want %d", len(got), len(tt.streams))
			}
			for i, s := range got {
				want := tt.streams[i]
				name, _ := s.Attr("Name")
				cid, _ := s.Attr("CommandId")
				end, hasEnd := s.Attr("End")
				data, err := base64.StdEncoding.DecodeString(s.Text)
				if err != nil || !bytes.Equal(data, want.Data) {
					t.Errorf("stream %d data = %d bytes (%v); want %d bytes", i, len(data), err, len(want.Data))
				}
				if name != want.Name || cid != want.CommandID || hasEnd != want.End || (hasEnd && end != "true") {
					t.Errorf("stream %d = Name %q CommandId %q End %q/%v; want %q %q %v", i, name, cid, end, hasEnd, want.Name, want.CommandID, want.End)
				}
			}
			cs := rr.Child(NsShell, "CommandState")
			if (cs != nil) != (tt.state != nil) {
				t.Fatalf("CommandState present = %v; want %v", cs != nil, tt.state != nil)
			}
			if tt.state == nil {
				return
			}
			state, _ := cs.Attr("State")
			cid, _ := cs.Attr("CommandId")
			if state != tt.state.State || cid != tt.state.CommandID {
				t.Errorf("CommandState = %q %q; want %q %q", state, cid, tt.state.State, tt.state.CommandID)
			}
			ec := cs.Child(NsShell, "ExitCode")
			if (ec != nil) != tt.state.HasExitCode {
				t.Fatalf("ExitCode present = %v; want %v", ec != nil, tt.state.HasExitCode)
			}
			if ec != nil && ec.Text != strconv.Itoa(tt.state.ExitCode) {
				t.Errorf("ExitCode = %q; want %d", ec.Text, tt.state.ExitCode)
			}
			if bytes.Contains(raw, []byte("\t")) {
				t.Errorf("raw TAB in the reply; attribute values must escape it")
			}
		})
	}
}

// TestReceiveOverheadBounds measures what one rsp:Stream and one
// rsp:CommandState add besides their payload, and checks the constants
// the service budgets with.
func TestReceiveOverheadBounds(t *testing.T) {
	const id36 = "9731F5BD-1A2B-4C3D-8E9F-0A1B2C3D4E5F"
	id64 := strings.Repeat("F", 64)
	name32 := strings.Repeat("n", 32)
	// empty is the ReceiveResponse without children.
	var empty bytes.Buffer
	WriteReceiveResponse(&empty, nil, nil)
	streamCases := []struct {
		name, id string
		end      bool
		data     int
	}{
		{"stdout", id36, false, 0},
		{"stdout", id36, true, 0},
		{"stderr", id36, true, 1},
		{"stdout", id36, false, 370 << 10},
		{name32, id36, true, 3},
		{name32, id64, true, 2},
	}
	maxStream := 0
	for _, c := range streamCases {
		var b bytes.Buffer
		WriteReceiveResponse(&b, []StreamData{{Name: c.name, CommandID: c.id, End: c.end, Data: make([]byte, c.data)}}, nil)
		over := b.Len() - empty.Len() - base64.StdEncoding.EncodedLen(c.data)
		if len(c.id) == 36 && len(c.name) <= 6 {
			maxStream = max(maxStream, over)
		}
		if over > StreamOverhead {
			t.Errorf("rsp:Stream Name %q (%d) CommandId %d bytes End %v adds %d bytes; StreamOverhead is %d",
				c.name, len(c.name), len(c.id), c.end, over, StreamOverhead)
		}
	}
	stateCases := []struct {
		id, state string
		exit      int
		has       bool
	}{
		{id36, CommandStateRunning, 0, false},
		{id36, CommandStateDone, 0, true},
		{id36, CommandStatePending, math.MinInt32, true},
		{id36, CommandStateDone, math.MaxUint32, true},
		{id64, CommandStateRunning, math.MinInt32, true},
	}
	maxState := 0
	for _, c := range stateCases {
		var b bytes.Buffer
		WriteReceiveResponse(&b, nil, &CommandState{CommandID: c.id, State: c.state, ExitCode: c.exit, HasExitCode: c.has})
		over := b.Len() - empty.Len()
		if len(c.id) == 36 {
			maxState = max(maxState, over)
		}
		if over > StateOverhead {
			t.Errorf("rsp:CommandState CommandId %d bytes %s exit %d adds %d bytes; StateOverhead is %d",
				len(c.id), c.state, c.exit, over, StateOverhead)
		}
	}
	t.Logf("36-char CommandId: rsp:Stream overhead %d of %d budgeted, rsp:CommandState %d of %d",
		maxStream, StreamOverhead, maxState, StateOverhead)
}

func TestWriteEnvelope(t *testing.T) {
	tests := []struct {
		name      string
		relatesTo string
		body      func(*bytes.Buffer)
		wantBody  int // children of s:Body
	}{
		{"with RelatesTo", "uuid:D384DEF8-351E-41F0-B3DA-C91BE1A58A09", func(b *bytes.Buffer) { b.WriteString("<rsp:SignalResponse/>") }, 1},
		{"RelatesTo needing escapes", `uuid:<&>"`, nil, 0},
		{"no RelatesTo", "", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			WriteEnvelope(&buf, ActionSignal+"Response", tt.relatesTo, tt.body)
			root := mustParseTree(t, buf.Bytes())
			var got []string
			for _, h := range root.Child(NsSOAP, "Header").Children {
				got = append(got, h.Local)
			}
			want := "Action,MessageID,To"
			if tt.relatesTo != "" {
				want += ",RelatesTo"
			}
			if strings.Join(got, ",") != want {
				t.Errorf("headers = %v; want %s", got, want)
			}
			if rt := headerElem(root, NsAddressing, "RelatesTo"); tt.relatesTo != "" && rt.Text != tt.relatesTo {
				t.Errorf("RelatesTo = %q; want %q", rt.Text, tt.relatesTo)
			}
			if id := headerElem(root, NsAddressing, "MessageID").Text; !messageIDPattern.MatchString(id) {
				t.Errorf("MessageID = %q; want uuid: and an upper-case UUID", id)
			}
			if n := len(root.Child(NsSOAP, "Body").Children); n != tt.wantBody {
				t.Errorf("s:Body has %d children; want %d", n, tt.wantBody)
			}
		})
	}
}

func TestWriteShell(t *testing.T) {
	info := &ShellInfo{ShellID: "9731F5BD-1A2B-4C3D-8E9F-0A1B2C3D4E5F", Name: "Runspace<1>", ResourceURI: cmdShellURI,
		Owner: `HOST\user`, ClientIP: "192.0.2.1", IdleTimeout: 7200 * time.Second, InputStreams: []string{"stdin", "pr"},
		OutputStreams: []string{"stdout", "stderr"}, RunTime: 90061 * time.Second, Inactivity: 5 * time.Second}
	var buf bytes.Buffer
	WriteEnvelope(&buf, ActionCreate+"Response", "uuid:1", func(b *bytes.Buffer) {
		WriteResourceCreated(b, "http://host:5985/wsman", info)
	})
	root := mustParseTree(t, buf.Bytes())
	body := root.Child(NsSOAP, "Body")
	sel := descend(body, qn(NsTransfer, "ResourceCreated"), qn(NsAddressing, "ReferenceParameters"), qn(NsWSMan, "SelectorSet"), qn(NsWSMan, "Selector"))
	if name, _ := sel.Attr("Name"); name != "ShellId" || sel.Text != info.ShellID {
		t.Errorf("Selector = %s=%q; want ShellId=%q", name, sel.Text, info.ShellID)
	}
	if got := descend(body, qn(NsTransfer, "ResourceCreated"), qn(NsAddressing, "Address")).Text; got != "http://host:5985/wsman" {
		t.Errorf("Address = %q; want the listener URL", got)
	}
	shell := body.Child(NsShell, "Shell")
	var order []string
	for _, c := range shell.Children {
		order = append(order, c.Local+"="+c.Text)
	}
	want := []string{
		"ShellId=" + info.ShellID, "Name=Runspace<1>", "ResourceUri=" + cmdShellURI, `Owner=HOST\user`, "ClientIP=192.0.2.1",
		"IdleTimeOut=PT7200.000S", "InputStreams=stdin pr", "OutputStreams=stdout stderr",
		"ShellRunTime=P1DT1H1M1S", "ShellInactivity=P0DT0H0M5S",
	}
	if strings.Join(order, "|") != strings.Join(want, "|") {
		t.Errorf("rsp:Shell = %q; want %q", order, want)
	}
	// Name is optional.
	info.Name = ""
	buf.Reset()
	WriteShell(&buf, info)
	if bytes.Contains(buf.Bytes(), []byte("rsp:Name")) {
		t.Errorf("WriteShell wrote rsp:Name for an empty name: %s", buf.Bytes())
	}
}
