// Package testkdc runs a throwaway MIT Kerberos KDC for tests.
//
// [Start] creates the realm EXAMPLE.TEST in a t.TempDir() (kdb5_util
// create), adds the password principal user1 and the service principals
// HTTP/localhost and WSMAN/localhost (kadmin.local), exports the services'
// keys to a keytab, starts krb5kdc in the foreground on 127.0.0.1 with a
// free port (TCP and UDP), and kinits user1 into a credential cache. The
// test's cleanup kills the KDC; on Linux the kernel also kills it if the
// test binary dies.
//
// Every child process runs with KRB5_CONFIG and KRB5_KDC_PROFILE pointing
// into the directory and without the caller's KRB5* variables, so nothing
// reads /etc/krb5.conf, /etc/krb5kdc or the caller's credential cache.
// MIT krb5 1.20 puts a minimal PAC (no logon information) in every ticket
// unless [DisablePAC] is given.
//
// The tools come from the Debian packages krb5-kdc (krb5kdc, kdb5_util),
// krb5-admin-server (kadmin.local) and krb5-user (kinit); without them
// Start skips the test. It is adapted from the project's kdc.sh recipe and
// implements no protocol itself.
package testkdc
