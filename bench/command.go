package bench

import (
	"context"
	"flag"
	"fmt"
	"io"
)

// Command runs `regen bench` with args (without the program and command
// names), writing the report to stdout and diagnostics to stderr. It returns
// the process exit status: 0 on success, 2 for bad usage, 1 for failure.
func Command(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("regen bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "regen bench: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	fmt.Fprintln(stderr, "regen bench: not implemented yet")
	return 1
}
