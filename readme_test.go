package regen_test

import (
	"encoding/json"
	"fmt"
	"go/scanner"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// snippet is a ```go block of README.md.
type snippet struct {
	line int    // the line of README.md its code starts on
	code string // its text, without the fences
}

// readmeSnippets returns the ```go blocks of the Markdown in text.
func readmeSnippets(t *testing.T, text string) []snippet {
	t.Helper()
	var (
		snips []snippet
		cur   *snippet
		fence string
	)
	for i, l := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(l)
		switch {
		case cur == nil && fence == "" && strings.HasPrefix(trimmed, "```"):
			fence = "```"
			if strings.TrimSpace(strings.TrimPrefix(trimmed, "```")) == "go" {
				cur = &snippet{line: i + 2}
			}
		case fence != "" && trimmed == fence:
			if cur != nil {
				snips = append(snips, *cur)
			}
			cur, fence = nil, ""
		case cur != nil:
			cur.code += l + "\n"
		}
	}
	if fence != "" {
		t.Fatalf("README.md: a ``` block is not closed")
	}
	return snips
}

// snippetImports are the packages a README snippet may use without
// importing them, by the name it uses.
var snippetImports = map[string]string{
	"context":    "context",
	"errors":     "errors",
	"fmt":        "fmt",
	"html":       "html",
	"http":       "net/http",
	"io":         "io",
	"log":        "log",
	"os":         "os",
	"strings":    "strings",
	"testing":    "testing",
	"time":       "time",
	"regen":      "github.com/regen-dev/regen",
	"engine":     "github.com/regen-dev/regen/engine",
	"render":     "github.com/regen-dev/regen/render",
	"fetchcache": "github.com/regen-dev/regen/fetchcache",
	"routecache": "github.com/regen-dev/regen/routecache",
	"sitespec":   "github.com/regen-dev/regen/sitespec",
	"store":      "github.com/regen-dev/regen/store",
	"disk":       "github.com/regen-dev/regen/store/disk",
	"redis":      "github.com/regen-dev/regen/store/redis",
	"regentest":  "github.com/regen-dev/regen/regentest",
	"admin":      "github.com/regen-dev/regen/admin",
	"prometheus": "github.com/prometheus/client_golang/prometheus",
}

// snippetFile makes a Go file of a snippet: a snippet that starts with
// "package" is a whole file, taken as it is (but for package main, renamed
// so that it is compiled without being linked); one that starts with "func"
// declares functions, which get a package clause and the imports they use
// (by the names in snippetImports); anything else is the body of a
// function main, with the imports it uses. A line directive maps the code
// back to README.md, so that a compiler error names the README's line.
func snippetFile(s snippet) string {
	directive := fmt.Sprintf("//line README.md:%d\n", s.line)
	first := firstCode(s.code)
	if pkg, ok := strings.CutPrefix(first, "package main\n"); ok {
		return "package snippet\n" + directive + pkg + "\n"
	}
	if strings.HasPrefix(first, "package ") {
		return directive + s.code
	}
	var b strings.Builder
	b.WriteString("package snippet\n\n")
	for _, path := range usedImports(s.code) {
		fmt.Fprintf(&b, "import %q\n", path)
	}
	if strings.HasPrefix(first, "func ") {
		b.WriteString(directive + s.code)
		return b.String()
	}
	b.WriteString("\nfunc main() {\n" + directive + s.code + "}\n")
	return b.String()
}

// firstCode returns code from its first line that is neither blank nor a
// comment.
func firstCode(code string) string {
	for {
		line, rest, _ := strings.Cut(code, "\n")
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "//") {
			return strings.TrimSpace(code)
		}
		if rest == "" {
			return ""
		}
		code = rest
	}
}

// usedImports returns the import paths of the package names code uses as
// qualifiers (name.X), in comments and strings excluded, sorted.
func usedImports(code string) []string {
	fset := token.NewFileSet()
	src := []byte(code)
	var sc scanner.Scanner
	sc.Init(fset.AddFile("", fset.Base(), len(src)), src, nil, 0)
	var paths []string
	prevIdent, prevDot := "", false
	for {
		_, tok, lit := sc.Scan()
		if tok == token.EOF {
			break
		}
		if tok == token.IDENT && !prevDot {
			prevIdent = lit
		} else if tok == token.PERIOD && prevIdent != "" {
			if path, ok := snippetImports[prevIdent]; ok && !slices.Contains(paths, path) {
				paths = append(paths, path)
			}
			prevIdent = ""
		} else {
			prevIdent = ""
		}
		prevDot = tok == token.PERIOD
	}
	slices.Sort(paths)
	return paths
}

func goTool(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err != nil {
		t.Skip("no go command to compile the README's snippets with")
	}
	return p
}

// TestREADMESnippets compiles every ```go block of README.md, so that a
// snippet that no longer compiles (a renamed API, an undefined variable)
// fails the tests. Errors name README.md's lines.
func TestREADMESnippets(t *testing.T) {
	text, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	snips := readmeSnippets(t, string(text))
	if len(snips) < 3 {
		t.Fatalf("README.md has %d ```go blocks; want at least 3 (the embedding program, the spec test, the build)", len(snips))
	}
	if out, err := compileSnippets(t, snips); err != nil {
		t.Errorf("a Go snippet of README.md does not compile (go build: %v):\n%s", err, out)
	}
}

// TestCompileSnippetsFails checks that compileSnippets reports a snippet that
// does not compile, at its README line: the embedding snippet once used a ctx
// it never declared.
func TestCompileSnippetsFails(t *testing.T) {
	snips := []snippet{
		{line: 10, code: "fmt.Println(\"fine\")\n"},
		{line: 20, code: "var site engine.Site\ne, _ := engine.New(&site, engine.Options{})\ne.Prerender(ctx, engine.PrerenderOptions{})\n"},
	}
	out, err := compileSnippets(t, snips)
	if err == nil || !strings.Contains(out, "README.md:22") || !strings.Contains(out, "undefined: ctx") {
		t.Errorf("compileSnippets of a snippet using an undeclared ctx = %v, output:\n%s\nwant an error at README.md:22: undefined: ctx", err, out)
	}
}

// compileSnippets compiles each snippet (see snippetFile) as a package of its
// own inside this module and returns the go command's output. The packages
// exist only in a go build -overlay, under a directory starting with "_"
// (which ./... never matches): nothing is written into the repository, and
// since they are not main packages nothing is linked.
func compileSnippets(t *testing.T, snips []snippet) (string, error) {
	t.Helper()
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	overlay := map[string]string{}
	var pkgs []string
	for i, s := range snips {
		src := filepath.Join(dir, fmt.Sprintf("snippet%d.go", i))
		if err := os.WriteFile(src, []byte(snippetFile(s)), 0o644); err != nil {
			t.Fatal(err)
		}
		pkg := fmt.Sprintf("_readme/snippet%d", i)
		overlay[filepath.Join(root, pkg, "snippet.go")] = src
		pkgs = append(pkgs, "./"+pkg)
	}
	b, err := json.Marshal(map[string]any{"Replace": overlay})
	if err != nil {
		t.Fatal(err)
	}
	overlayFile := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(overlayFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(goTool(t), append([]string{"build", "-overlay", overlayFile}, pkgs...)...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestDocLinks checks that every relative link of README.md and docs/*.md
// names a file of the repository: a clone has nothing beside it.
func TestDocLinks(t *testing.T) {
	docs, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	for _, doc := range append([]string{"README.md"}, docs...) {
		text, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(string(text), -1) {
			target, _, _ := strings.Cut(m[1], "#")
			if target == "" || strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path := filepath.Join(filepath.Dir(doc), filepath.FromSlash(target))
			if filepath.IsAbs(target) || !filepath.IsLocal(path) {
				t.Errorf("%s links to %q, outside the repository", doc, m[1])
				continue
			}
			if _, err := os.Stat(path); err != nil {
				t.Errorf("%s links to %q: %v", doc, m[1], err)
			}
		}
	}
}
