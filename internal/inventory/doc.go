// Package inventory reads the host lists of `psremote run`: plain host
// lists and the static Ansible inventory formats, INI and YAML, with
// groups, group variables and Ansible's host patterns.
//
// [ParseList], [ParseINI] and [ParseYAML] each parse one format, and
// [Load] reads a file in the format [Detect] chooses. [Inventory.Select]
// resolves patterns such as "web:&prod:!web03*" to hosts, in inventory
// order.
//
// # What is implemented
//
//   - Ansible INI: ungrouped hosts before the first section, [group],
//     [group:vars] and [group:children] sections, host lines with
//     key=value variables (shell-style quoting and '#' comments), '#' and
//     ';' comment lines, and the check that [g:vars] and [p:children]
//     name declared groups.
//   - Ansible YAML (and JSON): groups with hosts, vars and children, null
//     hosts and groups, single names for hosts and children, anchors,
//     aliases and merge keys.
//   - Host patterns in both: host, host:port, IPv4, IPv6 (bare, or
//     [address]:port), and ranges: web[01:10] pads numbers with leading
//     zeros to the width of the begin bound, db-[a:c] counts letters
//     (a-z then A-Z), [1:10:2] has a step, an empty begin is 0, and a
//     name may hold several ranges, the first varying slowest.
//     A :port sets ansible_port.
//   - The implicit groups: all holds every host, and ungrouped holds the
//     hosts in no group but all.
//   - Variable precedence as in Ansible: a host's own variables win over
//     those of its groups; among groups, deeper ones (children) win over
//     shallower ones (parents), all being the shallowest; at equal depth
//     a higher ansible_group_priority wins, then the later name in
//     alphabetical order. A host named in several places gets the union
//     of its variables, the last definition winning.
//   - Patterns: see [Inventory.Select].
//
// # Values
//
// Every variable is a string. INI values are the text as written, after
// shell-style unquoting on host lines and after removing one pair of
// enclosing quotes in [group:vars]; Ansible instead evaluates them as
// Python literals, so 5986 is a number and [1, 2] a list, a difference
// that does not matter for the variables psremote reads. In [group:vars]
// a '#' does not start a comment, as in Ansible. YAML scalars are the
// text as written (null is ""), and YAML sequences and mappings are
// compact JSON. Jinja2 templates are kept as written, except in the
// connection variables, where they make [Inventory.Select] fail.
//
// # Connection variables
//
// A host's Address comes from ansible_host (ansible_winrm_host wins if
// both are set), its Port from ansible_port (ansible_winrm_port wins);
// [Host.Connection] reads ansible_user (ansible_winrm_user),
// ansible_winrm_scheme (http or https), ansible_winrm_path,
// ansible_winrm_transport and ansible_winrm_server_cert_validation
// (validate or ignore). ansible_host must be a host name or address
// alone, without a port or URL. Invalid values of these are reported by
// [Inventory.Select] for the hosts selected, so that an inventory shared
// with hosts psremote does not manage still loads.
//
// # Passwords
//
// psremote never takes a password from an inventory: an inventory is a
// file that is often shared, copied and checked in. The parsers drop
// ansible_password and every other ansible_* variable whose name ends in
// _pass, _password, _passwd or _passphrase (ansible_ssh_pass,
// ansible_winrm_password, ansible_become_pass, ...), and Ansible Vault
// values, so they never appear in Vars, and they record a warning,
// available from [Inventory.Warnings], for each line that set one.
//
// # Limits
//
// Inputs are bounded: [MaxFileSize] bytes, [MaxHosts] hosts (a range
// that would expand beyond it is refused before it is expanded),
// [MaxGroups] groups, groups nested [MaxGroupDepth] deep, and internal
// bounds on YAML alias expansion and on the total size of the resolved
// hosts. These errors match [ErrLimit]. Cycles among child groups are
// refused too.
//
// # Not implemented
//
//   - Inventory directories, several inventory sources, dynamic
//     inventory scripts and inventory plugins (plugin: keys), and
//     group_vars/ and host_vars/ directories.
//   - Jinja2 templating, Ansible Vault decryption, and Python literal
//     evaluation of INI values.
//   - The implicit localhost; the deprecated [x-y] pattern subscripts
//     (web[1-3] is a glob here); hash_behaviour=merge.
//   - Ansible's leniency: keys of a YAML group other than hosts, vars and
//     children, and patterns that match nothing, are errors rather than
//     warnings.
package inventory
