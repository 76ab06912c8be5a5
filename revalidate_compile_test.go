package regen_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRevalidateZeroDoesNotCompile proves the choice documented on
// Revalidate: a literal `Revalidate: 0`, which in Next.js means dynamic,
// does not compile, while the named declarations do. It builds snippets
// inside the module with the go command and an -overlay, so it checks what
// a user's compiler says.
func TestRevalidateZeroDoesNotCompile(t *testing.T) {
	gocmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	if testing.Short() {
		t.Skip("builds with the go command")
	}
	tests := []struct {
		name string
		decl string
		ok   bool
	}{
		{"zero literal", "engine.Page{Revalidate: 0}", false},
		{"number literal", "engine.Page{Revalidate: 60}", false},
		{"fetch zero literal", "engine.Fetch{URL: \"/a\", Revalidate: 0}", false},
		{"conversion of zero", "engine.Page{Revalidate: regen.Revalidate(0)}", false},
		{"not declared", "engine.Page{}", true},
		{"seconds", "engine.Page{Revalidate: regen.Seconds(60)}", true},
		{"never", "engine.Layout{Revalidate: regen.Never}", true},
		{"forever", "engine.Fetch{URL: \"/a\", Revalidate: regen.Forever}", true},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "package snippet\n\nimport (\n\t\"github.com/regen-dev/regen\"\n\t\"github.com/regen-dev/regen/engine\"\n)\n\nvar _ = regen.NotDeclared\n\nvar X = " + tt.decl + "\n"
			// The overlay puts the snippet in a package directory of the
			// module that does not exist on disk.
			virt, err := filepath.Abs(filepath.Join("internal", "zzsnippet", "snippet.go"))
			if err != nil {
				t.Fatal(err)
			}
			real := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".go")
			if err := os.WriteFile(real, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			overlay := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".json")
			js := `{"Replace":{` + quote(virt) + `:` + quote(real) + `}}`
			if err := os.WriteFile(overlay, []byte(js), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(gocmd, "build", "-overlay", overlay, "./internal/zzsnippet")
			out, err := cmd.CombinedOutput()
			if tt.ok && err != nil {
				t.Errorf("%s: go build failed; want it to compile:\n%s", tt.decl, out)
			}
			if !tt.ok {
				if err == nil {
					t.Errorf("%s: go build succeeded; want a compile error", tt.decl)
				} else if !strings.Contains(string(out), "regen.Revalidate") {
					t.Errorf("%s: go build failed, but not on the Revalidate:\n%s", tt.decl, out)
				}
			}
		})
	}
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
