package identity

import (
	"errors"
	"fmt"
	"os/user"
	"slices"
	"strconv"
)

// ErrUnknownUser is returned by [Lookup] when the account does not exist.
var ErrUnknownUser = errors.New("identity: no such local user")

// User is a resolved local account. Construct it with [Lookup], [Current]
// or [New]; the zero value is invalid.
type User struct {
	valid bool

	// Name is the login name.
	Name string
	// UID and GID are the numeric user and primary group ids.
	UID, GID uint32
	// Groups holds the supplementary group ids, primary group included.
	Groups []uint32
	// GroupNames holds the names of Groups, where they resolve.
	GroupNames []string
	// Home is the home directory; Shell the login shell.
	Home, Shell string
}

// Valid reports whether u was built by a constructor of this package.
func (u User) Valid() bool { return u.valid }

// IsRoot reports whether u is a valid identity with uid 0.
func (u User) IsRoot() bool { return u.valid && u.UID == 0 }

// InGroup reports whether u belongs to the named group.
func (u User) InGroup(name string) bool {
	return u.valid && slices.Contains(u.GroupNames, name)
}

// String returns the login name, or "<invalid>" for an unset identity.
func (u User) String() string {
	if !u.valid {
		return "<invalid>"
	}
	return u.Name
}

// New builds a valid identity from explicit values. It is meant for tests
// and for callers that already resolved the account.
func New(name string, uid, gid uint32, groups []uint32, groupNames []string, home, shell string) User {
	return User{valid: true, Name: name, UID: uid, GID: gid, Groups: groups,
		GroupNames: groupNames, Home: home, Shell: shell}
}

// Lookup resolves a local account by name through the system's user
// database (NSS), including its supplementary groups.
func Lookup(name string) (User, error) {
	u, err := user.Lookup(name)
	if err != nil {
		var unk user.UnknownUserError
		if errors.As(err, &unk) {
			return User{}, fmt.Errorf("%w: %q", ErrUnknownUser, name)
		}
		return User{}, fmt.Errorf("identity: look up %q: %w", name, err)
	}
	return fromOS(u)
}

// Current returns the identity the calling process runs as.
func Current() (User, error) {
	u, err := user.Current()
	if err != nil {
		return User{}, fmt.Errorf("identity: current user: %w", err)
	}
	return fromOS(u)
}

func fromOS(u *user.User) (User, error) {
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return User{}, fmt.Errorf("identity: uid %q of %s: %w", u.Uid, u.Username, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return User{}, fmt.Errorf("identity: gid %q of %s: %w", u.Gid, u.Username, err)
	}
	out := User{valid: true, Name: u.Username, UID: uint32(uid), GID: uint32(gid), Home: u.HomeDir}
	gids, err := u.GroupIds()
	if err != nil {
		gids = []string{u.Gid}
	}
	for _, g := range gids {
		n, err := strconv.ParseUint(g, 10, 32)
		if err != nil {
			continue
		}
		out.Groups = append(out.Groups, uint32(n))
		if grp, err := user.LookupGroupId(g); err == nil {
			out.GroupNames = append(out.GroupNames, grp.Name)
		}
	}
	if !slices.Contains(out.Groups, out.GID) {
		out.Groups = append(out.Groups, out.GID)
	}
	out.Shell = loginShell(u.Username)
	return out, nil
}
