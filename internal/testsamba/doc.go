// Package testsamba starts a throwaway Samba Active Directory domain
// controller on 127.0.0.1 for tests: a real AD domain whose users
// authenticate with NTLM through winbind (ntlm_auth) and Kerberos with a
// real PAC. It adapts shared/recipes/samba-dc.sh into Go so that tests
// own its lifetime.
//
// The DC needs root (it binds the well-known ports 53, 88, 389, 445 ...)
// and Debian's samba, samba-ad-dc, samba-ad-provision, samba-dsdb-modules,
// winbind and libnss-wrapper packages. Only one DC can run on the host at
// a time; Start serializes test binaries with a lock file.
package testsamba
