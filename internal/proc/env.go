package proc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/psremote/psremote/internal/identity"
)

// ErrNotFound means a program name was not found in PATH.
var ErrNotFound = errors.New("proc: executable file not found in PATH")

// Default PATH values, as login(1) sets them on Debian.
const (
	userPath = "/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games"
	rootPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

// LoginEnv returns the environment a login of u would start with (HOME,
// USER, LOGNAME, SHELL, PATH), followed by extra "NAME=value" pairs, which
// override earlier ones. Nothing comes from the server's own environment.
func LoginEnv(u identity.User, extra [][2]string) []string {
	path := userPath
	if u.UID == 0 {
		path = rootPath
	}
	home := u.Home
	if home == "" {
		home = "/"
	}
	base := [][2]string{
		{"HOME", home}, {"USER", u.Name}, {"LOGNAME", u.Name},
		{"SHELL", u.Shell}, {"PATH", path},
	}
	idx := make(map[string]int, len(base)+len(extra))
	var env []string
	for _, kv := range append(base, extra...) {
		s := kv[0] + "=" + kv[1]
		if i, ok := idx[kv[0]]; ok {
			env[i] = s
			continue
		}
		idx[kv[0]] = len(env)
		env = append(env, s)
	}
	return env
}

// LookPath finds an executable: a name containing a slash is checked as
// it is, any other name is searched in the PATH of env.
func LookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		if st, err := os.Stat(name); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return name, nil
		}
		return "", fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: %q", ErrNotFound, name)
}
