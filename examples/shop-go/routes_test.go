package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/regen-dev/regen/examples/shop"
	"github.com/regen-dev/regen/routetable"
)

// TestRouteTableMatchesSpec checks that the route table of the shop
// registered in Go, printed from Go, is the one `regen routes` prints for
// examples/shop/site.yaml (its golden file), in both formats.
func TestRouteTableMatchesSpec(t *testing.T) {
	e := goEngine(t)
	tests := []struct {
		golden string
		write  func(*bytes.Buffer) error
	}{
		{"routes-demo.golden", func(b *bytes.Buffer) error { return routetable.Write(b, "shop ("+shop.Filename+")", e.Routes()) }},
		{"routes-demo-json.golden", func(b *bytes.Buffer) error { return routetable.WriteJSON(b, e.Routes()) }},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("..", "..", "cmd", "regen", "testdata", tt.golden))
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := tt.write(&b); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), b.String()); diff != "" {
				t.Errorf("route table of the Go site differs from regen routes' (-regen routes +go):\n%s", diff)
			}
		})
	}
}
