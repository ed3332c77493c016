// Command psremote is a WinRM / WS-Management server for Linux and a
// client for it and for Windows hosts. See the README.
package main

import (
	"os"

	"github.com/psremote/psremote/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:]))
}
