package inventory

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Limits on untrusted input. An inventory that exceeds one is refused with
// an error that matches [ErrLimit].
const (
	// MaxFileSize is the largest inventory, in bytes, that the parsers
	// read.
	MaxFileSize = 16 << 20

	// MaxHosts is the most hosts one inventory may define, counting every
	// host that a range such as web[001:999] expands to.
	MaxHosts = 100_000

	// MaxGroups is the most groups one inventory may define, counting the
	// implicit all and ungrouped.
	MaxGroups = 10_000

	// MaxGroupDepth is how deeply groups may nest below all, which has
	// depth 0: a group that is a child of no other group has depth 1.
	MaxGroupDepth = 64

	// maxResolved bounds the work and memory of resolving an inventory:
	// the sum over all hosts of the groups each belongs to (directly or
	// through children) and of its variables after merging. A small file
	// can ask for a lot, for example a thousand [all:vars] and a range of
	// 100,000 hosts.
	maxResolved = 1 << 22

	// maxWarnings bounds Inventory.Warnings.
	maxWarnings = 100
)

// Names of the groups every inventory has.
const (
	groupAll       = "all"
	groupUngrouped = "ungrouped"
)

// Host is one host of an inventory.
type Host struct {
	// Name is the inventory name of the host: the name that patterns
	// match and that output is labelled with. In a plain host list it is
	// the host or address, without brackets or port.
	Name string

	// Address is the host to connect to: ansible_winrm_host, else
	// ansible_host, else the address part of a host-list entry, else
	// Name.
	Address string

	// Port is ansible_winrm_port, else ansible_port (also set by a
	// host:port pattern), else the port of a host-list entry; 0 means the
	// default port.
	Port int

	// Vars are the host's variables after group variables are merged in:
	// host variables win over those of child groups, which win over those
	// of their parents, which win over all:vars. Every value is a string
	// (see the package documentation). Password variables such as
	// ansible_password are never present: the parsers drop them and
	// report them in [Inventory.Warnings].
	Vars map[string]string

	// Groups are the names of the groups the host belongs to, directly
	// or through [group:children], sorted; all is left out because every
	// host is in it.
	Groups []string
}

// Connection is the WinRM connection settings an inventory gives a host,
// taken from the Ansible variables of its Vars. Empty fields are unset,
// and the caller's defaults apply.
type Connection struct {
	// User is ansible_winrm_user, else ansible_user.
	User string

	// Scheme is "http" or "https" from ansible_winrm_scheme. When that is
	// unset and Port is 5985 it is "http", as in Ansible.
	Scheme string

	// Path is ansible_winrm_path, the URL path of the listener, such as
	// "/wsman".
	Path string

	// Transports is ansible_winrm_transport split at commas, such as
	// ["ntlm" "kerberos"].
	Transports []string

	// ServerCertValidation is ansible_winrm_server_cert_validation:
	// "validate" or "ignore".
	ServerCertValidation string
}

// Connection returns the connection settings of h's variables. The
// values were checked when the inventory was parsed: [Inventory.Select]
// reports a host whose connection variables are invalid.
func (h Host) Connection() Connection {
	c := Connection{
		User:                 lastVar(h.Vars, userVars),
		Scheme:               h.Vars[varScheme],
		Path:                 h.Vars[varPath],
		ServerCertValidation: h.Vars[varCertValidation],
		Transports:           splitList(h.Vars[varTransport]),
	}
	if c.Scheme == "" && h.Port == 5985 {
		c.Scheme = "http"
	}
	return c
}

// Group is one group of an inventory.
type Group struct {
	// Name is the group name.
	Name string

	// Children are the names of the group's direct child groups, in the
	// order the inventory gives them.
	Children []string

	// Hosts are the names of the hosts in the group, directly or through
	// children, in inventory order.
	Hosts []string

	// Vars are the group's own variables, without those it inherits.
	Vars map[string]string
}

// Inventory is a parsed inventory: hosts in the order the source first
// names them, and groups, starting with all and ungrouped. It is
// immutable, so its methods are safe for concurrent use; they return
// copies.
type Inventory struct {
	hosts    []Host
	hostErrs []error // hostErrs[i] is why hosts[i] cannot be connected to
	hostIdx  map[string]int
	groups   []Group
	members  [][]int // members[g] indexes hosts of groups[g], ascending
	groupIdx map[string]int
	warnings []string
}

// Hosts returns every host, in inventory order. A host whose connection
// variables are invalid is included, with Address and Port as if those
// variables were unset; [Inventory.Select] reports it instead, so use
// Select to choose hosts to connect to.
func (inv *Inventory) Hosts() []Host {
	out := make([]Host, len(inv.hosts))
	for i, h := range inv.hosts {
		out[i] = copyHost(h)
	}
	return out
}

// Groups returns every group: all, ungrouped, then the others in the
// order the inventory first names them.
func (inv *Inventory) Groups() []Group {
	out := make([]Group, len(inv.groups))
	for i, g := range inv.groups {
		g.Children = slices.Clone(g.Children)
		g.Hosts = slices.Clone(g.Hosts)
		g.Vars = maps.Clone(g.Vars)
		out[i] = g
	}
	return out
}

// Warnings returns what the parser ignored, one message per line of
// input, such as a password variable. Load prefixes each with the file
// name. At most 100 are kept.
func (inv *Inventory) Warnings() []string {
	return slices.Clone(inv.warnings)
}

func copyHost(h Host) Host {
	h.Vars = maps.Clone(h.Vars)
	h.Groups = slices.Clone(h.Groups)
	return h
}

// Error is a malformed or over-limit inventory, or a host whose
// connection variables are invalid. Err says what is wrong.
type Error struct {
	// File is the inventory file, when it was read by Load.
	File string
	// Line is the 1-based line of the input, or 0 when no line applies.
	Line int
	// Err is the problem.
	Err error
}

// Error formats the error as "inventory: FILE:LINE: problem".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("inventory: ")
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		b.WriteString(e.File + ": ")
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns e.Err.
func (e *Error) Unwrap() error { return e.Err }

// ErrLimit matches, with [errors.Is], the errors of inputs beyond one of
// the package's limits ([MaxFileSize], [MaxHosts], [MaxGroups],
// [MaxGroupDepth] and internal bounds on work).
var ErrLimit = errors.New("inventory: limit exceeded")

// limitError is an error that matches ErrLimit.
type limitError struct{ msg string }

func (e *limitError) Error() string        { return e.msg }
func (e *limitError) Is(target error) bool { return target == ErrLimit }

func limitf(format string, args ...any) error {
	return &limitError{fmt.Sprintf(format, args...)}
}

// lineErrorf returns an *Error at line.
func lineErrorf(line int, format string, args ...any) error {
	return &Error{Line: line, Err: fmt.Errorf(format, args...)}
}
