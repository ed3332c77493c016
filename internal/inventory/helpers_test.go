package inventory

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// hostLine summarizes a host as "name addr:port [groups]".
func hostLine(h Host) string {
	return fmt.Sprintf("%s %s:%d %v", h.Name, h.Address, h.Port, h.Groups)
}

func hostLines(hs []Host) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = hostLine(h)
	}
	return out
}

func hostNames(hs []Host) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.Name
	}
	return out
}

func findHost(t *testing.T, inv *Inventory, name string) Host {
	t.Helper()
	for _, h := range inv.Hosts() {
		if h.Name == name {
			return h
		}
	}
	t.Fatalf("no host %s in %v", name, hostNames(inv.Hosts()))
	return Host{}
}

func findGroup(t *testing.T, inv *Inventory, name string) Group {
	t.Helper()
	for _, g := range inv.Groups() {
		if g.Name == name {
			return g
		}
	}
	t.Fatalf("no group %s", name)
	return Group{}
}

// errCase is a malformed input and what its error must say.
type errCase struct {
	name    string
	in      string
	line    int    // the *Error's Line
	want    string // a substring of the message
	isLimit bool   // errors.Is(err, ErrLimit)
}

// checkErr checks err against c.
func checkErr(t *testing.T, c errCase, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted %q", c.in)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	if e.Line != c.line {
		t.Errorf("line = %d; want %d (%v)", e.Line, c.line, err)
	}
	if !strings.Contains(err.Error(), c.want) {
		t.Errorf("error %q does not say %q", err, c.want)
	}
	if got := errors.Is(err, ErrLimit); got != c.isLimit {
		t.Errorf("errors.Is(err, ErrLimit) = %v; want %v (%v)", got, c.isLimit, err)
	}
	if c.line > 0 && !strings.Contains(err.Error(), fmt.Sprintf("line %d: ", c.line)) {
		t.Errorf("error %q does not name line %d", err, c.line)
	}
}

func equal(a, b []string) bool { return slices.Equal(a, b) }
