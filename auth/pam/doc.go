// Package pam implements the "pam" password source of Basic
// authentication: it checks a user name and password with the system's
// Pluggable Authentication Modules, running pam_authenticate and then
// pam_acct_mgmt, so expired or locked accounts are refused as well.
//
// PAM support needs Linux and cgo (it is built on libpam through
// github.com/msteinert/pam/v2). Building with CGO_ENABLED=0, for another
// system, or with the nopam build tag compiles a stub instead, whose
// VerifyPassword always fails; [Supported] reports which one is built in.
//
// # The service name
//
// The service name (Service.Auth.PAMService, default "psremote") selects
// /etc/pam.d/<service>. When that file does not exist PAM uses
// /etc/pam.d/other, which on Debian and Ubuntu includes common-auth,
// common-account, common-password and common-session, so the system's
// usual password checks apply without any setup (checked on Debian 12).
// Other distributions often make "other" deny everything; there, install
// docs/pam.d-psremote (or an equivalent) as /etc/pam.d/psremote.
//
// # Privileges
//
// pam_unix can check any user's password only when the server runs as
// root (it reads /etc/shadow). Unprivileged, it falls back to the
// unix_chkpwd helper, which checks only the calling user's own password;
// that is why the "pam" source is used by default only when running as
// root, and the account store (package accounts) exists for the rest.
//
// # Cancellation
//
// A PAM transaction cannot be interrupted: modules may block on the
// network (LDAP, Kerberos) and pam_unix waits about two seconds after a
// failure. Each transaction therefore runs in its own goroutine, and
// VerifyPassword returns as soon as its context is done, leaving the
// transaction to finish in the background. At most 32 transactions per
// Verifier run at once; further calls wait for a slot or their context.
//
// References:
//   - The Linux-PAM Application Developers' Guide.
//   - pam_authenticate(3), pam_acct_mgmt(3), pam.conf(5).
package pam
