package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The command tree is built with spf13/cobra, the library kubectl, gh and
// most Go CLIs use: help on every command and subcommand (exit 0), flags
// scoped to the command that takes them, suggestions for misspelt
// commands, and shell completion, all of which the hand-rolled flag
// dispatch this replaced lacked. The functions that do the work are plain
// functions of their options; the commands only gather flags.

// usageError is a command line that cannot be run as written: the error
// is followed by where to read the command's usage.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// run executes the command line args, writing to stdout and stderr. Help
// requests are answered on stdout and return nil.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root := newRoot(stdout, stderr)
	if args == nil {
		args = []string{} // nil makes cobra read os.Args
	}
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if ue := (*usageError)(nil); errors.As(err, &ue) {
		return fmt.Errorf("%w\nRun '%s --help' for usage", err, cmd.CommandPath())
	}
	return err
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "switchyard",
		Short: "An LLM gateway: OpenAI- and Anthropic-compatible APIs in front of every vendor",
		// No command: the overview, as help.
		Args:          groupArgs,
		RunE:          func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
		Version:       version,
		SilenceUsage:  true, // an error is followed by a pointer to --help, not the whole usage
		SilenceErrors: true, // main prints the error, once
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetVersionTemplate("switchyard {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err.Error()} })
	root.AddCommand(
		serveCmd(stdout, stderr),
		configCmd(stdout),
		keysCmd(stdout),
		teamsCmd(stdout),
		usageCmd(stdout),
		auditCmd(stdout),
		evalCmd(stdout, stderr),
		&cobra.Command{
			Use:   "version",
			Short: "Print the version",
			Args:  noArgs,
			Run:   func(cmd *cobra.Command, _ []string) { fmt.Fprintln(stdout, "switchyard", version) },
		},
	)
	root.Long = root.Short + ".\n\n" + synopsis(root) + `
Without -c (or $SWITCHYARD_CONFIG), switchyard runs on an embedded SQLite
database (switchyard.db) with the providers it finds in the environment
(OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY, DEEPSEEK_API_KEY,
XAI_API_KEY, MISTRAL_API_KEY, AZURE_OPENAI_API_KEY with AZURE_OPENAI_ENDPOINT).
With none, try "switchyard serve --demo": built-in demo vendors, no keys.

The keys, teams, usage and audit commands work on the store the config
names (-c FILE; the default SQLite file without one), or on a running
gateway with --server URL and --admin-key KEY (or $SWITCHYARD_SERVER and
$SWITCHYARD_ADMIN_KEY). The eval commands take -c FILE and --demo.`
	return root
}

// synopsis lists every command with its own flags, generated from the
// command tree so that the overview cannot leave a flag out.
func synopsis(root *cobra.Command) string {
	var b strings.Builder
	b.WriteString("Commands:\n")
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.HasSubCommands() {
				walk(sub)
				continue
			}
			line := "  " + sub.CommandPath()
			if _, args, ok := strings.Cut(sub.Use, " "); ok {
				line += " " + args
			}
			var flags []string
			sub.NonInheritedFlags().VisitAll(func(f *pflag.Flag) {
				if f.Name == "help" || f.Hidden || strings.Contains(sub.Use, "--"+f.Name+" ") {
					return
				}
				name, _ := pflag.UnquoteUsage(f)
				s := "--" + f.Name
				if name != "" {
					s += " " + name
				}
				flags = append(flags, "["+s+"]")
			})
			b.WriteString(wrap(line, flags, "      "))
			fmt.Fprintf(&b, "\n        %s\n", sub.Short)
		}
	}
	walk(root)
	return b.String()
}

// wrap appends words to line, breaking before 100 columns.
func wrap(line string, words []string, indent string) string {
	var b strings.Builder
	width := len(line)
	b.WriteString(line)
	for _, w := range words {
		if width+1+len(w) > 100 {
			b.WriteString("\n" + indent)
			width = len(indent)
		} else {
			b.WriteByte(' ')
			width++
		}
		b.WriteString(w)
		width += len(w)
	}
	return b.String()
}

// group makes c a command that only holds subcommands: alone it shows its
// help; with an argument that names no subcommand it says so, and what
// was probably meant.
func group(c *cobra.Command, subs ...*cobra.Command) *cobra.Command {
	c.Args = groupArgs
	c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	c.AddCommand(subs...)
	return c
}

func groupArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	cmd.SuggestionsMinimumDistance = 2 // cobra's default, which SuggestionsFor does not apply
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += " (did you mean " + strings.Join(s, " or ") + "?)"
	}
	return &usageError{msg}
}

// Argument checks whose errors point at the command's usage.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%s takes no arguments, got %q", cmd.CommandPath(), args[0])
	}
	return nil
}

func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s needs %s", cmd.CommandPath(), what)
		}
		return nil
	}
}

// configFlag registers -c/--config on fs.
func configFlag(fs *pflag.FlagSet, p *string, usage string) {
	fs.StringVarP(p, "config", "c", "", usage)
}
