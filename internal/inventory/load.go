package inventory

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Format is an inventory file format.
type Format int

// The formats Load recognizes.
const (
	// FormatList is a plain host list; see [ParseList].
	FormatList Format = iota
	// FormatINI is an Ansible INI inventory; see [ParseINI].
	FormatINI
	// FormatYAML is an Ansible YAML or JSON inventory; see [ParseYAML].
	FormatYAML
)

// String returns "list", "ini" or "yaml".
func (f Format) String() string {
	switch f {
	case FormatINI:
		return "ini"
	case FormatYAML:
		return "yaml"
	}
	return "list"
}

// Load reads the inventory file at path, in the format [Detect] chooses.
// Errors from the parsers are *Error values with File set to path, and
// warnings are prefixed with path. Inventory directories, scripts and
// plugins are not supported.
func Load(path string) (*Inventory, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	if fi.IsDir() {
		return nil, &Error{File: path, Err: errors.New("is a directory; inventory directories are not supported")}
	}
	inv, err := parseFile(path, f)
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.File == "" {
			e.File = path
		}
		return nil, err
	}
	for i, w := range inv.warnings {
		inv.warnings[i] = path + ": " + w
	}
	return inv, nil
}

func parseFile(path string, f *os.File) (*Inventory, error) {
	data, err := readInput(f)
	if err != nil {
		return nil, err
	}
	switch Detect(path, data) {
	case FormatYAML:
		return parseYAML(data)
	case FormatINI:
		return parseINI(data)
	}
	return parseList(data)
}

// Detect chooses the format of an inventory from its file name and
// contents:
//
//   - a name ending in .yml, .yaml or .json is YAML, as in Ansible;
//   - otherwise, when the first line that is not blank or a comment
//     ('#' or ';') is "---" or a mapping key such as "all:", it is YAML;
//   - otherwise, when any such line is a section header ([group],
//     [group:vars], [group:children]) or a host followed by key=value
//     variables, it is INI (so an INI file may start with ungrouped
//     hosts);
//   - otherwise it is a plain host list.
//
// No valid host list is taken for INI or YAML: a host list has no
// section headers, no '=' and no "name:" without a port.
func Detect(path string, data []byte) Format {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yml", ".yaml", ".json":
		return FormatYAML
	}
	first := true
	for _, line := range lines(data) {
		s := strings.TrimSpace(line)
		if s == "" || s[0] == '#' || s[0] == ';' {
			continue
		}
		if first {
			first = false
			if s == "---" || isYAMLKey(s) {
				return FormatYAML
			}
		}
		if s[0] == '[' {
			if _, _, ok := parseSection(s); ok {
				return FormatINI
			}
		}
		if f := strings.Fields(s); len(f) > 1 && strings.Contains(f[1], "=") {
			return FormatINI
		}
	}
	return FormatList
}

// isYAMLKey reports whether s starts a YAML mapping: a plain key and ':'
// at the end of the line or before a space.
func isYAMLKey(s string) bool {
	if s[0] == '{' {
		return true
	}
	i := strings.IndexByte(s, ':')
	if i <= 0 || strings.ContainsAny(s[:i], " \t[]#'\"") {
		return false
	}
	return i == len(s)-1 || s[i+1] == ' ' || s[i+1] == '\t'
}
