// Package trust decides whom the psremote client trusts with its
// credentials: it verifies HTTPS servers and pins their certificates, and
// it gates Basic authentication over plain HTTP.
//
// It implements:
//
//   - The WinRM client TrustedHosts list with Windows semantics ([MS-WSMV]
//     2.2.4.6 ClientType): "*", "*suffix", "prefix*", "<local>", exact host
//     names (case-insensitive) and IP literals; see [TrustedHosts] for the
//     rules, including how IP addresses are matched.
//   - The client AllowUnencrypted setting: [Config.PermitUnencrypted]
//     allows Basic over HTTP only to a trusted host and only when
//     AllowUnencrypted is true, as the Windows client does.
//   - Server certificate verification by RFC 5280 path validation
//     ([crypto/x509]) against the system roots or a --ca-file, plus the
//     RFC 6125 host name check against DNS or IP subject alternative names.
//   - Trust on first use for servers without a CA-issued certificate (the
//     self-signed certificates WinRM HTTPS listeners usually have), like
//     OpenSSH's known_hosts: the SHA-256 fingerprint of the server's DER
//     certificate is pinned per host:port in [KnownHosts], and a changed
//     certificate is refused with [*ChangedError] until the user accepts it.
//
// The client builds its TLS config with [KnownHosts.TLSConfig] (or sets
// [KnownHosts.VerifyConnection] itself, with InsecureSkipVerify), and
// before sending Basic credentials over http:// calls
// [Config.PermitUnencrypted]. [LoadConfig] reads the YAML client
// configuration, by default $XDG_CONFIG_HOME/psremote/config.yaml or
// ~/.config/psremote/config.yaml, and the known hosts live next to it in
// known_hosts.
//
// Nothing here prints: errors and [Policy].OnAccept carry what the CLI
// needs to tell the user.
//
// References:
//
//   - [MS-WSMV] 2.2.4.6 (ClientType: AllowUnencrypted, TrustedHosts),
//     3.2.4.1.22.1; winrm-protocol.md sections 8.2 and 9.6.
//   - RFC 5280 section 6 (certification path validation), RFC 6125
//     (service identity), RFC 5929 section 4 (tls-server-end-point, the
//     same certificate hash input as the pinned fingerprint).
//   - OpenSSH ssh(1) and sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT" (the model
//     for the known-hosts file and its changed-key refusal).
//   - XDG Base Directory Specification (XDG_CONFIG_HOME).
package trust
