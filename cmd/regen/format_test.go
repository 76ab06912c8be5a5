package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestProgressPlain checks the progress of a build written to a file or a
// pipe: one line at each tenth of the pages, none twice.
func TestProgressPlain(t *testing.T) {
	tests := []struct {
		name  string
		total int
		want  []string
	}{
		{"3 pages", 3, []string{" 33%  1/3 pages", " 66%  2/3 pages", "100%  3/3 pages"}},
		{"20 pages", 20, []string{
			" 10%  2/20 pages", " 20%  4/20 pages", " 30%  6/20 pages", " 40%  8/20 pages", " 50%  10/20 pages",
			" 60%  12/20 pages", " 70%  14/20 pages", " 80%  16/20 pages", " 90%  18/20 pages", "100%  20/20 pages",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			p := newProgress(&b)
			for done := 1; done <= tt.total; done++ {
				p.update(done, tt.total, "/x")
			}
			p.done()
			got := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("progress lines (-want +got):\n%s", diff)
			}
		})
	}
}

// TestProgressTerminal checks the bar drawn in place on a terminal: at
// every thousandth of the pages, and at the last.
func TestProgressTerminal(t *testing.T) {
	var b bytes.Buffer
	p := &progress{w: &b, terminal: true}
	p.update(1, 2, "/a")
	p.update(2, 2, "/b")
	p.done()
	want := "\r\033[K[" + strings.Repeat("█", 15) + strings.Repeat("░", 15) + "] 1/2 /a" +
		"\r\033[K[" + strings.Repeat("█", 30) + "] 2/2 /b" +
		"\r\033[K"
	if got := b.String(); got != want {
		t.Errorf("terminal progress = %q; want %q", got, want)
	}

	b.Reset()
	p = &progress{w: &b, terminal: true}
	const total = 10000
	for done := 1; done <= total; done++ {
		p.update(done, total, "/p")
	}
	if got := strings.Count(b.String(), "\r"); got != 1001 { // the first page, then each thousandth
		t.Errorf("bar drawn %d times for %d pages; want 1001", got, total)
	}
	if !strings.HasSuffix(b.String(), "] 10000/10000 /p") {
		t.Errorf("last bar = %q; want 10000/10000", b.String()[b.Len()-40:])
	}
}
