package identity

import (
	"bufio"
	"os"
	"strings"
)

// defaultShell is used when the account database names no login shell.
const defaultShell = "/bin/sh"

// loginShell returns the login shell recorded for name in /etc/passwd.
// os/user does not expose it; accounts served only by other NSS sources
// fall back to /bin/sh.
func loginShell(name string) string {
	f, err := os.Open("/etc/passwd")
	if err != nil {
		return defaultShell
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) == 7 && fields[0] == name && fields[6] != "" {
			return fields[6]
		}
	}
	return defaultShell
}
