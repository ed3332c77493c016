package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/psremote/psremote/auth/accounts"
	"github.com/psremote/psremote/internal/config"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// passwordEnv names the environment variable that supplies the password
// to `psremote user add` and `passwd` without a prompt.
const passwordEnv = "PSREMOTE_PASSWORD"

// maxPasswordLen matches the longest password Basic authentication can
// carry (auth.maxBasicCredentials less a one-byte name and the colon).
const maxPasswordLen = 4094

// accountsFile is the store's file name inside StateDir.
const accountsFile = "accounts"

// userOptions are the flags shared by the user subcommands.
type userOptions struct {
	stateDir   string
	configFile string
}

func newUserCmd(stdio IO) *cobra.Command {
	o := &userOptions{}
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Manage the psremote account store",
		Long: `Manage the psremote account store, the user names and passwords that
Basic authentication accepts from the "store" source (<StateDir>/accounts).

A new password is taken, never from the command line, from the
` + passwordEnv + ` environment variable if it is set, else from a prompt if
standard input is a terminal, else from the first line of standard input.`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				return &usageError{fmt.Errorf("user: unknown subcommand %q (want add, passwd, del or list)", args[0])}
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error { return c.Help() },
	}
	fl := cmd.PersistentFlags()
	fl.StringVar(&o.stateDir, "state-dir", config.DefaultStateDir(), "keep the account store in `DIR`")
	fl.StringVar(&o.configFile, "config", "", "take StateDir from the configuration `FILE`")

	cmd.AddCommand(
		&cobra.Command{
			Use:   "add NAME",
			Short: "Add an account",
			Args:  nameArg,
			RunE: func(c *cobra.Command, args []string) error {
				st, err := o.store(c)
				if err != nil {
					return err
				}
				pw, err := readNewPassword(c.Context(), stdio, args[0])
				if err != nil {
					return err
				}
				if err := st.Add(args[0], pw); err != nil {
					return err
				}
				fmt.Fprintf(stdio.Out, "added user %s to %s\n", args[0], st.Path())
				return nil
			},
		},
		&cobra.Command{
			Use:   "passwd NAME",
			Short: "Change an account's password",
			Args:  nameArg,
			RunE: func(c *cobra.Command, args []string) error {
				st, err := o.store(c)
				if err != nil {
					return err
				}
				// Fail before prompting if there is no such account.
				if err := checkExists(st, args[0]); err != nil {
					return err
				}
				pw, err := readNewPassword(c.Context(), stdio, args[0])
				if err != nil {
					return err
				}
				if err := st.SetPassword(args[0], pw); err != nil {
					return err
				}
				fmt.Fprintf(stdio.Out, "changed the password of user %s\n", args[0])
				return nil
			},
		},
		&cobra.Command{
			Use:     "del NAME",
			Aliases: []string{"delete"},
			Short:   "Delete an account",
			Args:    nameArg,
			RunE: func(c *cobra.Command, args []string) error {
				st, err := o.store(c)
				if err != nil {
					return err
				}
				if err := st.Delete(args[0]); err != nil {
					return err
				}
				fmt.Fprintf(stdio.Out, "deleted user %s\n", args[0])
				return nil
			},
		},
		&cobra.Command{
			Use:     "list",
			Aliases: []string{"ls"},
			Short:   "List the accounts",
			Args: func(c *cobra.Command, args []string) error {
				if len(args) != 0 {
					return &usageError{fmt.Errorf("user list: takes no arguments")}
				}
				return nil
			},
			RunE: func(c *cobra.Command, args []string) error {
				st, err := o.store(c)
				if err != nil {
					return err
				}
				names, err := st.List()
				if err != nil {
					return err
				}
				for _, n := range names {
					fmt.Fprintln(stdio.Out, n)
				}
				if len(names) == 0 {
					fmt.Fprintf(stdio.Err, "no accounts in %s\n", st.Path())
				}
				return nil
			},
		},
	)
	return cmd
}

func nameArg(c *cobra.Command, args []string) error {
	if len(args) != 1 {
		return &usageError{fmt.Errorf("user %s: want exactly one NAME, got %d arguments", c.Name(), len(args))}
	}
	return nil
}

// store opens the account store: in --state-dir if given, else in the
// StateDir of --config if given, else in the default state directory.
func (o *userOptions) store(c *cobra.Command) (*accounts.Store, error) {
	dir := o.stateDir
	if o.configFile != "" && !c.Flags().Changed("state-dir") {
		cfg, err := config.Load(o.configFile)
		if err != nil {
			return nil, err
		}
		dir = cfg.StateDir
	}
	if dir == "" {
		return nil, &usageError{errors.New("user: empty --state-dir")}
	}
	return accounts.Open(filepath.Join(dir, accountsFile)), nil
}

func checkExists(st *accounts.Store, name string) error {
	names, err := st.List()
	if err != nil {
		return err
	}
	for _, n := range names {
		if n == name {
			return nil
		}
	}
	return fmt.Errorf("%w: %q", accounts.ErrNotFound, name)
}

// readNewPassword gets a new password for name: from $PSREMOTE_PASSWORD,
// else by prompting twice without echo when stdin is a terminal, else
// from the first line of stdin.
func readNewPassword(ctx context.Context, stdio IO, name string) (string, error) {
	pw, err := readPasswordSource(ctx, stdio, name)
	if err != nil {
		return "", err
	}
	if pw == "" {
		return "", accounts.ErrEmptyPassword
	}
	if len(pw) > maxPasswordLen {
		return "", fmt.Errorf("user: password longer than %d bytes", maxPasswordLen)
	}
	return pw, nil
}

func readPasswordSource(ctx context.Context, stdio IO, name string) (string, error) {
	if stdio.Getenv != nil {
		if pw := stdio.Getenv(passwordEnv); pw != "" {
			return pw, nil
		}
	}
	if stdio.In == nil {
		return "", fmt.Errorf("user: no password: set %s or give it on standard input", passwordEnv)
	}
	if f, ok := stdio.In.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fd := int(f.Fd())
		pw, err := promptPassword(ctx, stdio.Err, fd, fmt.Sprintf("Password for %s: ", name))
		if err != nil {
			return "", err
		}
		if pw == "" {
			return "", accounts.ErrEmptyPassword
		}
		again, err := promptPassword(ctx, stdio.Err, fd, fmt.Sprintf("Retype password for %s: ", name))
		if err != nil {
			return "", err
		}
		if again != pw {
			return "", errors.New("user: passwords do not match")
		}
		return pw, nil
	}
	return readPasswordLine(stdio.In)
}

// readPasswordLine reads one line, without its line ending, so scripts
// can pipe the password in.
func readPasswordLine(in io.Reader) (string, error) {
	r := bufio.NewReader(io.LimitReader(in, maxPasswordLen+3))
	line, err := r.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("user: read password: %w", err)
	}
	if errors.Is(err, io.EOF) && line == "" {
		return "", fmt.Errorf("user: no password on standard input (pipe one line, or set %s)", passwordEnv)
	}
	line = strings.TrimSuffix(line, "\n")
	line = strings.TrimSuffix(line, "\r")
	return line, nil
}

// promptPassword writes prompt and reads a line from the terminal fd
// without echo. ReadPassword cannot be interrupted, and Main catches
// SIGINT, so it runs in a goroutine: when ctx is done (Ctrl-C), the
// terminal is restored and the error returned at once.
func promptPassword(ctx context.Context, w io.Writer, fd int, prompt string) (string, error) {
	state, err := term.GetState(fd)
	if err != nil {
		return "", fmt.Errorf("user: terminal: %w", err)
	}
	fmt.Fprint(w, prompt)
	type result struct {
		pw  []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		pw, err := term.ReadPassword(fd)
		done <- result{pw, err}
	}()
	select {
	case r := <-done:
		fmt.Fprintln(w)
		if r.err != nil {
			return "", fmt.Errorf("user: read password: %w", r.err)
		}
		return string(r.pw), nil
	case <-ctx.Done():
		term.Restore(fd, state)
		fmt.Fprintln(w)
		return "", context.Cause(ctx)
	}
}
