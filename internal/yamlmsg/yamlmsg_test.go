package yamlmsg

import (
	"errors"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestSyntax(t *testing.T) {
	var v any
	// A parser error: yaml.v3 counts its line from 0.
	err := yaml.Unmarshal([]byte("a: [1, 2\nb: 3\n"), &v)
	if line, msg := Syntax(err); line != 2 || msg != "did not find expected ',' or ']'" {
		t.Errorf("Syntax(%v) = %d, %q; want line 2", err, line, msg)
	}
	// A scanner error counts from 1.
	err = yaml.Unmarshal([]byte("a: 1\nb: \"x\n"), &v)
	if line, _ := Syntax(err); line != 2 {
		t.Errorf("Syntax(%v) line = %d; want 2", err, line)
	}
	if line, msg := Syntax(errors.New("yaml: something")); line != 0 || msg != "something" {
		t.Errorf("Syntax without a line = %d, %q", line, msg)
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"rps", "duration", "zipf", "paths"}
	for name, want := range map[string]string{"durations": "duration", "Duration": "duration", "zip": "zipf", "speed": "", "r": ""} {
		if got := Suggest(name, known); got != want {
			t.Errorf("Suggest(%q) = %q; want %q", name, got, want)
		}
	}
}

func TestAndListDescribe(t *testing.T) {
	for in, want := range map[int]string{0: "nothing", 1: "a", 2: "a and b", 3: "a, b and c"} {
		if got := AndList([]string{"a", "b", "c"}[:in]); got != want {
			t.Errorf("AndList(%d) = %q; want %q", in, got, want)
		}
	}
	var n yaml.Node
	if err := yaml.Unmarshal([]byte("[x, 'y', 3, ~, {a: 1}]"), &n); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range n.Content[0].Content {
		got = append(got, Describe(c))
	}
	want := []string{`"x"`, `"y"`, "3", "empty", "a mapping"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Describe = %q; want %q", got, want)
			break
		}
	}
	if Describe(&n) != "a YAML node" || !IsNull(n.Content[0].Content[3]) {
		t.Error("Describe of a document or IsNull of ~ is wrong")
	}
}
