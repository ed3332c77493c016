// Package accounts implements the psremote account store, the "store"
// password source of Basic authentication and account source of NTLM. It
// lets a server that does not run as root (and so cannot use PAM to check
// other users' passwords) accept its own list of users, managed with
// `psremote user`.
//
// # File format
//
// The store is a text file, by default <StateDir>/accounts, in the style
// of /etc/shadow: one account per line, fields separated by colons.
//
//	# comment
//	alice:$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>:<nthash>:
//
// The fields are the user name, the password hash and the NT hash (32 hex
// digits: the MD4 of the UTF-16LE password, MS-NLMP 3.3.1), which NTLM
// needs and which is as sensitive as the password for NTLM logins; it is
// empty for accounts created before psremote kept it, until their password
// is set again. Further fields are kept as they are. Lines starting with
// '#' and blank lines are ignored and preserved. A malformed line or a
// duplicate name makes the whole file unreadable, so damage fails closed.
//
// Names are 1 to 64 characters and may not contain ':', '\', white
// space or control characters. They are case-sensitive.
//
// # Password hashing
//
// Passwords are stored only as argon2id hashes (RFC 9106) with a random
// 16-byte salt and a 32-byte key, in the PHC string format. New hashes
// use m=19456 KiB, t=2, p=1 (the OWASP Password Storage Cheat Sheet's
// recommendation); verification uses the parameters stored with each
// hash, so they can be raised later without invalidating old entries.
//
// # Files and concurrency
//
// The file must have mode 0600 (no group or other access): a store
// readable by others is refused. Its directory is created 0700. Changes
// take an exclusive flock(2) on <path>.lock and replace the file through a
// synced temporary file and rename(2), so concurrent `psremote user` runs
// do not lose updates and readers never see a partial file. A long-lived
// [Store] re-reads the file when it changes.
//
// References:
//   - RFC 9106, Argon2 Memory-Hard Function for Password Hashing.
//   - PHC string format,
//     https://github.com/P-H-C/phc-string-format/blob/master/phc-sf-spec.md
//   - OWASP Password Storage Cheat Sheet.
package accounts
