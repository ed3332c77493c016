package accounts

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/psremote/psremote/auth"
	"github.com/psremote/psremote/auth/ntlm"
	"github.com/psremote/psremote/internal/filelock"
)

// Errors returned by [Store] methods. All but ErrEmptyPassword come
// wrapped with the user name; test for them with errors.Is.
var (
	// ErrExists is returned by [Store.Add] when the name is taken.
	ErrExists = errors.New("accounts: user already exists")
	// ErrNotFound is returned by [Store.SetPassword] and [Store.Delete]
	// when the name is unknown.
	ErrNotFound = errors.New("accounts: no such user")
	// ErrEmptyPassword is returned when asked to store an empty password.
	ErrEmptyPassword = errors.New("accounts: empty password")
	// ErrInvalidName is returned for a name the file format cannot hold.
	ErrInvalidName = errors.New("accounts: invalid user name")
)

var _ auth.PasswordVerifier = (*Store)(nil)

// Store is the psremote account store: a file of user names and argon2id
// password hashes. It is safe for concurrent use, and several processes
// may use one file at once: changes are serialised by a lock file and
// written atomically, and reads notice changes made by other processes.
type Store struct {
	path   string
	params hashParams // for new hashes and the dummy hash

	// mu protects the following, which cache the last file read.
	mu     sync.Mutex
	loaded bool
	table  *table      // never modified once cached
	fi     os.FileInfo // of the file table came from; nil if it did not exist
}

// Open returns the store kept in the file at path. The file need not exist
// yet: it is created, with its directory, by the first [Store.Add]. Open
// does no I/O; errors surface on use.
func Open(path string) *Store {
	return &Store{path: path, params: defaultParams}
}

// Path returns the file the store is kept in.
func (s *Store) Path() string { return s.path }

// Name returns "store", the source name used in configuration and logs.
func (s *Store) Name() string { return "store" }

// VerifyPassword checks name and password against the store. A wrong
// password or an unknown name returns an error wrapping
// [auth.ErrBadCredentials]; an unknown name costs the same hashing time as
// a known one. Any other error means the store could not be read.
//
// The file is re-read when its inode, size, modification time or mode
// changed since the last call, so accounts changed by `psremote user`
// take effect without restarting the server.
func (s *Store) VerifyPassword(ctx context.Context, name, password string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t, err := s.current()
	if err != nil {
		return err
	}
	e := t.byName[name]
	var h phcHash
	if e != nil {
		h = e.hash
	} else {
		h = dummyHash(s.params)
	}
	// Hash first, so the time spent does not depend on e or password.
	match := h.verify(password)
	if !match || e == nil || password == "" {
		return fmt.Errorf("%w: user %q", auth.ErrBadCredentials, name)
	}
	return nil
}

// Add creates an account. It returns an error wrapping [ErrExists] if the
// name is taken, [ErrInvalidName] or [ErrEmptyPassword].
func (s *Store) Add(name, password string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if password == "" {
		return ErrEmptyPassword
	}
	h := newHash(password, s.params)
	nt := ntHashField(password)
	return s.update(func(t *table) error {
		if _, ok := t.byName[name]; ok {
			return fmt.Errorf("%w: %q", ErrExists, name)
		}
		t.add(&entry{name: name, hash: h, nthash: nt, extra: []string{""}})
		return nil
	})
}

// SetPassword replaces the password of an existing account. It returns an
// error wrapping [ErrNotFound] if there is none, or [ErrEmptyPassword].
// The account's NT hash is replaced too.
func (s *Store) SetPassword(name, password string) error {
	if password == "" {
		return ErrEmptyPassword
	}
	h := newHash(password, s.params)
	nt := ntHashField(password)
	return s.update(func(t *table) error {
		e, ok := t.byName[name]
		if !ok {
			return fmt.Errorf("%w: %q", ErrNotFound, name)
		}
		e.hash, e.nthash = h, nt
		return nil
	})
}

// NTHash returns the NT hash of an account, for NTLM (see package
// auth/ntlm), and the account's name as the store spells it. The name is
// matched exactly, or else case-insensitively when exactly one account
// matches that way (Windows account names are case-insensitive). An
// unknown name, or an account without an NT hash (one created before
// psremote kept them: `psremote user passwd` adds it), returns an error
// wrapping [auth.ErrBadCredentials]. Any other error means the store could
// not be read.
func (s *Store) NTHash(ctx context.Context, name string) (hash [16]byte, account string, err error) {
	if err := ctx.Err(); err != nil {
		return hash, "", err
	}
	t, err := s.current()
	if err != nil {
		return hash, "", err
	}
	e := t.byName[name]
	if e == nil {
		for n, c := range t.byName {
			if strings.EqualFold(n, name) {
				if e != nil {
					return hash, "", fmt.Errorf("%w: user %q matches several accounts", auth.ErrBadCredentials, name)
				}
				e = c
			}
		}
	}
	if e == nil {
		return hash, "", fmt.Errorf("%w: user %q", auth.ErrBadCredentials, name)
	}
	if e.nthash == "" {
		return hash, "", fmt.Errorf("%w: user %q has no NT hash (set its password again with psremote user passwd)", auth.ErrBadCredentials, e.name)
	}
	if _, err := hex.Decode(hash[:], []byte(e.nthash)); err != nil {
		return hash, "", fmt.Errorf("accounts: user %q: NT hash: %w", e.name, err)
	}
	return hash, e.name, nil
}

// ntHashField returns the NT hash field for a password: 32 lower-case
// hex digits of MD4(UTF-16LE(password)).
func ntHashField(password string) string {
	h := ntlm.NTHash(password)
	return hex.EncodeToString(h[:])
}

// Delete removes an account. It returns an error wrapping [ErrNotFound] if
// there is none.
func (s *Store) Delete(name string) error {
	return s.update(func(t *table) error {
		if _, ok := t.byName[name]; !ok {
			return fmt.Errorf("%w: %q", ErrNotFound, name)
		}
		t.remove(name)
		return nil
	})
}

// List returns the account names in sorted order.
func (s *Store) List() ([]string, error) {
	t, err := s.current()
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(t.byName))
	for n := range t.byName {
		names = append(names, n)
	}
	slices.Sort(names)
	return names, nil
}

// current returns the parsed file, from the cache unless the file changed.
func (s *Store) current() (*table, error) {
	fi, err := os.Stat(s.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		fi = nil
	case err != nil:
		return nil, fmt.Errorf("accounts: %w", err)
	default:
		if err := checkMode(s.path, fi); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.loaded && sameVersion(s.fi, fi) {
		return s.table, nil
	}
	t, rfi, err := readTable(s.path)
	if err != nil {
		return nil, err
	}
	s.loaded, s.table, s.fi = true, t, rfi
	return t, nil
}

// sameVersion reports whether a and b describe the same version of the
// file. Writers replace the file by rename, which changes the inode; an
// editor writing in place changes the modification time.
func sameVersion(a, b os.FileInfo) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return os.SameFile(a, b) && a.Size() == b.Size() &&
		a.ModTime().Equal(b.ModTime()) && a.Mode() == b.Mode()
}

// update applies fn to a freshly read table and writes the result, all
// under the exclusive lock on <path>.lock, so concurrent writers in any
// process do not lose each other's changes. Nothing is written if fn
// fails.
func (s *Store) update(fn func(*table) error) error {
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return fmt.Errorf("accounts: %w", err)
	}
	unlock, err := filelock.Lock(s.path + ".lock")
	if err != nil {
		return fmt.Errorf("accounts: %w", err)
	}
	defer unlock()

	t, _, err := readTable(s.path)
	if err != nil {
		return err
	}
	if err := fn(t); err != nil {
		return err
	}
	if err := writeFileAtomic(s.path, t.marshal()); err != nil {
		return err
	}
	if fi, err := os.Stat(s.path); err == nil {
		s.mu.Lock()
		s.loaded, s.table, s.fi = true, t, fi
		s.mu.Unlock()
	}
	return nil
}
