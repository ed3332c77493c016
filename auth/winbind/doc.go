// Package winbind verifies NTLMv2 responses of Active Directory domain
// users through Samba's winbind, for servers joined to a domain (or
// running on a Samba domain controller).
//
// NTLM needs the domain controller: only it knows the user's NT hash. A
// Linux host joined with Samba talks to it through winbindd, and Samba's
// ntlm_auth helper exposes that in its "ntlm-server-1" protocol (lines of
// "Name: value" ended by a line "."): given the server challenge, the
// client's NTLMv2 response, the user and the domain, it answers whether
// the response verifies and, when asked, the user session key, which is
// the NTLM SessionBaseKey (MS-NLMP 3.3.2) that signing and sealing are
// derived from. The response and the key travel over a pipe to a child
// process, never on a command line or in its environment.
//
// [Validator] implements auth/ntlm's Validator with a small pool of
// long-lived ntlm_auth processes started through the server's process
// host (internal/proc), the only code in psremote that starts processes.
// No Go library speaks winbind's own socket protocol, and it is private
// to Samba; ntlm_auth is its supported front end.
package winbind
