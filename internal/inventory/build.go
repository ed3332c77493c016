package inventory

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// builder collects what a parser reads; finish resolves it into an
// Inventory.
type builder struct {
	hosts     map[string]*hostRec
	hostList  []*hostRec
	groups    map[string]*groupRec
	groupList []*groupRec
	all       *groupRec
	ungrouped *groupRec
	warnings  []string
	warned    map[string]bool
}

type hostRec struct {
	name   string
	line   int // where the host is first named
	addr   string
	port   int
	vars   map[string]varVal
	direct []*groupRec // groups naming the host directly
}

type groupRec struct {
	name     string
	idx      int
	line     int  // where the group is first named
	declared bool // by [name] or [name:children] (INI), or always (YAML)
	varsLine int  // first [name:vars], for the INI check
	vars     map[string]varVal
	children []*groupRec
	childSet map[*groupRec]bool
	parents  []*groupRec
	hostSet  map[*hostRec]bool
	priority int
	prioLine int
	depth    int // longest path from all; -1 while unknown
	members  []int
}

// edge is a [parent:children] entry, kept for the INI check of undefined
// groups.
type edge struct {
	parent, child *groupRec
	line          int
}

func newBuilder() *builder {
	b := &builder{
		hosts:  make(map[string]*hostRec),
		groups: make(map[string]*groupRec),
		warned: make(map[string]bool),
	}
	b.all, _ = b.group(groupAll, 0)
	b.ungrouped, _ = b.group(groupUngrouped, 0)
	b.all.declared, b.ungrouped.declared = true, true
	return b
}

// group returns the group called name, creating it.
func (b *builder) group(name string, line int) (*groupRec, error) {
	if g, ok := b.groups[name]; ok {
		return g, nil
	}
	if err := checkName(name, true); err != nil {
		return nil, &Error{Line: line, Err: err}
	}
	if len(b.groupList) >= MaxGroups {
		return nil, &Error{Line: line, Err: limitf("more than %d groups", MaxGroups)}
	}
	g := &groupRec{
		name:     name,
		idx:      len(b.groupList),
		line:     line,
		vars:     make(map[string]varVal),
		childSet: make(map[*groupRec]bool),
		hostSet:  make(map[*hostRec]bool),
		priority: 1,
		depth:    -1,
	}
	b.groups[name] = g
	b.groupList = append(b.groupList, g)
	return g, nil
}

// host returns the host called name, creating it.
func (b *builder) host(name string, line int) (*hostRec, error) {
	if h, ok := b.hosts[name]; ok {
		return h, nil
	}
	if err := checkName(name, false); err != nil {
		return nil, &Error{Line: line, Err: err}
	}
	if len(b.hostList) >= MaxHosts {
		return nil, &Error{Line: line, Err: limitf("more than %d hosts", MaxHosts)}
	}
	h := &hostRec{name: name, line: line, vars: make(map[string]varVal)}
	b.hosts[name] = h
	b.hostList = append(b.hostList, h)
	return h, nil
}

// addHost puts h in g.
func (b *builder) addHost(g *groupRec, h *hostRec) {
	if !g.hostSet[h] {
		g.hostSet[h] = true
		h.direct = append(h.direct, g)
	}
}

// addChild makes child a child group of parent.
func (b *builder) addChild(parent, child *groupRec, line int) error {
	switch {
	case child == b.all:
		return lineErrorf(line, "group all cannot be a child of %s", parent.name)
	case child == parent:
		return lineErrorf(line, "group %s cannot be a child of itself", child.name)
	}
	if !parent.childSet[child] {
		parent.childSet[child] = true
		parent.children = append(parent.children, child)
		child.parents = append(child.parents, parent)
	}
	return nil
}

// filterVar reports whether a variable may be stored, warning about
// those that may not.
func (b *builder) filterVar(key, val string, line int) (bool, error) {
	if key == "" {
		return false, lineErrorf(line, "empty variable name")
	}
	switch {
	case isSecretVar(key):
		b.warn(line, "%s ignored: psremote never takes passwords from an inventory", key)
		return false, nil
	case isVaultValue(val):
		b.warn(line, "%s ignored: Ansible Vault values are not supported", key)
		return false, nil
	}
	return true, nil
}

// setGroupVar sets a variable of g. ansible_group_priority sets the
// group's priority instead, as in Ansible.
func (b *builder) setGroupVar(g *groupRec, key, val string, line int) error {
	ok, err := b.filterVar(key, val, line)
	if !ok || err != nil {
		return err
	}
	if key == varGroupPriority {
		p, err := strconv.Atoi(strings.TrimSpace(val))
		if err != nil {
			return lineErrorf(line, "group %s: %s %q: want an integer", g.name, key, val)
		}
		g.priority, g.prioLine = p, line
		return nil
	}
	g.vars[key] = varVal{val, line}
	return nil
}

// warn records a warning once per line and message.
func (b *builder) warn(line int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if line > 0 {
		msg = fmt.Sprintf("line %d: %s", line, msg)
	}
	if b.warned[msg] || len(b.warnings) >= maxWarnings {
		return
	}
	b.warned[msg] = true
	b.warnings = append(b.warnings, msg)
}

// finish links groups under all, checks the group graph and resolves
// every host: its groups, merged variables, address and port.
func (b *builder) finish() (*Inventory, error) {
	// Every group without a parent, and ungrouped, is a child of all.
	for _, g := range b.groupList {
		if g != b.all && len(g.parents) == 0 {
			if err := b.addChild(b.all, g, 0); err != nil {
				return nil, err
			}
		}
	}
	if err := b.checkCycles(); err != nil {
		return nil, err
	}
	for _, g := range b.groupList {
		if d := b.depth(g); d > MaxGroupDepth {
			return nil, &Error{Line: g.line, Err: limitf("group %s is nested %d deep, more than %d", g.name, d, MaxGroupDepth)}
		}
	}
	// As in Ansible, ungrouped holds exactly the hosts in no other group
	// than all.
	for _, h := range b.hostList {
		only := true
		for _, g := range h.direct {
			if g != b.all && g != b.ungrouped {
				only = false
				break
			}
		}
		if only {
			b.addHost(b.ungrouped, h)
		} else if b.ungrouped.hostSet[h] {
			delete(b.ungrouped.hostSet, h)
			h.direct = slices.DeleteFunc(h.direct, func(g *groupRec) bool { return g == b.ungrouped })
		}
	}

	inv := &Inventory{
		hosts:    make([]Host, len(b.hostList)),
		hostErrs: make([]error, len(b.hostList)),
		hostIdx:  make(map[string]int, len(b.hostList)),
		groupIdx: make(map[string]int, len(b.groupList)),
		warnings: b.warnings,
	}
	// Resolve each distinct set of direct groups once, and check that
	// the result stays within maxResolved before building any host.
	r := resolver{b: b, stamp: make([]int, len(b.groupList)), cache: make(map[string]*resolved)}
	res := make([]*resolved, len(b.hostList))
	for i, h := range b.hostList {
		res[i] = r.resolve(h.direct)
		r.work += len(res[i].closure) + len(res[i].vars) + len(h.vars)
		if r.work > maxResolved {
			return nil, &Error{Err: limitf("inventory too large to resolve: hosts × (groups + variables) exceeds %d", maxResolved)}
		}
	}
	for i, h := range b.hostList {
		rs := res[i]
		merged := rs.vars
		if len(h.vars) > 0 {
			merged = make(map[string]varVal, len(rs.vars)+len(h.vars))
			for k, v := range rs.vars {
				merged[k] = v
			}
			for k, v := range h.vars {
				merged[k] = v
			}
		}
		for _, g := range rs.closure {
			g.members = append(g.members, i)
		}
		addr := h.addr
		if addr == "" {
			addr = h.name
		}
		port := h.port
		if a, p, err := checkHostVars(h.name, merged, addr, port); err != nil {
			inv.hostErrs[i] = err
		} else {
			addr, port = a, p
		}
		vars := make(map[string]string, len(merged))
		for k, v := range merged {
			vars[k] = v.val
		}
		inv.hosts[i] = Host{Name: h.name, Address: addr, Port: port, Vars: vars, Groups: slices.Clone(rs.names)}
		inv.hostIdx[h.name] = i
	}
	inv.groups = make([]Group, len(b.groupList))
	inv.members = make([][]int, len(b.groupList))
	for i, g := range b.groupList {
		gr := Group{Name: g.name, Vars: make(map[string]string, len(g.vars)), Hosts: make([]string, len(g.members))}
		for _, c := range g.children {
			gr.Children = append(gr.Children, c.name)
		}
		for k, v := range g.vars {
			gr.Vars[k] = v.val
		}
		for j, m := range g.members {
			gr.Hosts[j] = inv.hosts[m].Name
		}
		inv.groups[i] = gr
		inv.members[i] = g.members
		inv.groupIdx[g.name] = i
	}
	return inv, nil
}

// checkCycles reports a group that is its own descendant.
func (b *builder) checkCycles() error {
	const (
		white = iota
		grey
		black
	)
	color := make([]int, len(b.groupList))
	var path []*groupRec
	var visit func(g *groupRec) error
	visit = func(g *groupRec) error {
		color[g.idx] = grey
		path = append(path, g)
		for _, c := range g.children {
			switch color[c.idx] {
			case grey:
				start := slices.Index(path, c)
				names := make([]string, 0, len(path)-start+1)
				for _, p := range path[start:] {
					names = append(names, p.name)
				}
				names = append(names, c.name)
				return &Error{Line: c.line, Err: fmt.Errorf("group cycle: %s", strings.Join(names, " > "))}
			case white:
				if err := visit(c); err != nil {
					return err
				}
			}
		}
		path = path[:len(path)-1]
		color[g.idx] = black
		return nil
	}
	for _, g := range b.groupList {
		if color[g.idx] == white {
			if err := visit(g); err != nil {
				return err
			}
		}
	}
	return nil
}

// depth returns the longest path from all to g; the graph has no cycles.
func (b *builder) depth(g *groupRec) int {
	if g.depth >= 0 {
		return g.depth
	}
	d := 0
	for _, p := range g.parents {
		d = max(d, b.depth(p)+1)
	}
	g.depth = d
	return d
}

// resolved is what a set of direct groups gives a host.
type resolved struct {
	closure []*groupRec       // the groups and their ancestors, in merge order
	names   []string          // their names without all, sorted
	vars    map[string]varVal // their variables, merged
}

// resolver resolves sets of direct groups, caching the results.
type resolver struct {
	b     *builder
	stamp []int // stamp[g] == gen: group g already seen in this resolution
	gen   int
	cache map[string]*resolved
	key   []byte
	stack []*groupRec
	work  int
}

func (r *resolver) resolve(direct []*groupRec) *resolved {
	idx := make([]int, len(direct))
	for i, g := range direct {
		idx[i] = g.idx
	}
	slices.Sort(idx)
	r.key = r.key[:0]
	for _, i := range idx {
		r.key = strconv.AppendInt(r.key, int64(i), 36)
		r.key = append(r.key, ',')
	}
	if rs, ok := r.cache[string(r.key)]; ok {
		return rs
	}
	rs := &resolved{}
	r.cache[string(r.key)] = rs
	// Every group the host is in, directly or through children.
	r.gen++
	r.stack = append(r.stack[:0], direct...)
	for len(r.stack) > 0 {
		g := r.stack[len(r.stack)-1]
		r.stack = r.stack[:len(r.stack)-1]
		r.work++
		if r.stamp[g.idx] == r.gen {
			continue
		}
		r.stamp[g.idx] = r.gen
		rs.closure = append(rs.closure, g)
		r.stack = append(r.stack, g.parents...)
	}
	// Ansible merges group variables from the shallowest group to the
	// deepest, then by ansible_group_priority, then by name; the last one
	// wins (and host variables win over all of them).
	slices.SortFunc(rs.closure, func(x, y *groupRec) int {
		return cmp.Or(cmp.Compare(x.depth, y.depth), cmp.Compare(x.priority, y.priority), strings.Compare(x.name, y.name))
	})
	n := 0
	for _, g := range rs.closure {
		n += len(g.vars)
	}
	r.work += n
	rs.vars = make(map[string]varVal, n)
	for _, g := range rs.closure {
		for k, v := range g.vars {
			rs.vars[k] = v
		}
		if g != r.b.all {
			rs.names = append(rs.names, g.name)
		}
	}
	slices.Sort(rs.names)
	return rs
}
