package bench

import (
	"context"
	"os"
	"strings"
	"testing"
)

func TestQuick(t *testing.T) {
	if os.Getenv("BENCH_QUICK") == "" {
		t.Skip()
	}
	code := Command(context.Background(), strings.Fields(os.Getenv("BENCH_QUICK")), os.Stdout, os.Stderr)
	t.Log(code)
}
