package bench

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/regen-dev/regen/internal/yamlmsg"
)

// Error is one problem of a workload: the file, line and field it is at,
// and what is wrong with the fix, as sitespec.Error reports a spec's.
// ParseWorkload, Workload.Validate and Run report bad input as Errors
// (several joined with errors.Join); anything else that fails a run is
// another error.
type Error struct {
	File  string // the workload file; "" for a workload built in Go
	Line  int    // 1-based; 0 when unknown
	Field string // "traffic.rps", "strategies[1]"; "" for the whole workload
	Err   error  // the problem and its fix: `-1 (must be above 0)`
}

func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		b.WriteString(e.File + ":" + strconv.Itoa(e.Line) + ": ")
	case e.File != "":
		b.WriteString(e.File + ": ")
	default:
		b.WriteString("bench: workload: ")
	}
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns e.Err.
func (e *Error) Unwrap() error { return e.Err }

// workloadFields are the fields a workload file may have, by YAML name.
var workloadFields = yamlFields(reflect.TypeFor[Workload]())

// decoder walks a workload file's node tree into a Workload, gathering
// every problem with its line, and the line of every field it sets. It is
// not safe for concurrent use.
type decoder struct {
	file  string
	errs  []error         // each an *Error
	lines map[string]int  // field path ("traffic.rps") to the line of its value
	given map[string]bool // the fields the file gives
	bad   map[string]bool // the fields reported: their values are not to be checked further
}

func (d *decoder) failf(line int, field, format string, args ...any) {
	d.bad[field] = true
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Field: field, Err: fmt.Errorf(format, args...)})
}

// decode parses data into w. Fields data leaves out keep their values.
func (d *decoder) decode(data []byte, w *Workload) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if !errors.Is(err, io.EOF) { // an empty file is the defaults
			d.syntax(err)
		}
		return
	}
	if len(doc.Content) == 0 {
		return
	}
	root := yamlmsg.Resolve(doc.Content[0])
	if yamlmsg.IsNull(root) {
		return
	}
	if root.Kind != yaml.MappingNode {
		d.failf(root.Line, "", "%s is not a workload (a workload is a mapping with %s)", yamlmsg.Describe(root), yamlmsg.AndList(workloadFields))
		return
	}
	d.value(root, reflect.ValueOf(w).Elem(), "")
}

// syntax reports a YAML syntax error at its line.
func (d *decoder) syntax(err error) {
	line, msg := yamlmsg.Syntax(err)
	d.failf(line, "", "not valid YAML: %s", msg)
}

// value decodes n into v, the field at path field.
func (d *decoder) value(n *yaml.Node, v reflect.Value, field string) {
	n = yamlmsg.Resolve(n)
	if field != "" {
		d.lines[field] = n.Line
	}
	if v.Type() == reflect.TypeFor[Duration]() {
		if n.Kind != yaml.ScalarNode || yamlmsg.IsNull(n) {
			d.failf(n.Line, field, "%s is not a duration (write one like 90s, 5m or 1h)", yamlmsg.Describe(n))
			return
		}
		dur, err := parseDuration(n.Value)
		if err != nil {
			d.failf(n.Line, field, "%s is not a duration (write one like 90s, 5m or 1h)", yamlmsg.Describe(n))
			return
		}
		v.SetInt(int64(dur))
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		if yamlmsg.IsNull(n) {
			return
		}
		known := yamlFields(v.Type())
		if n.Kind != yaml.MappingNode {
			d.failf(n.Line, field, "%s is not a mapping (%s has %s)", yamlmsg.Describe(n), field, yamlmsg.AndList(known))
			return
		}
		first := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := yamlmsg.Resolve(n.Content[i]), n.Content[i+1]
			path := k.Value
			if field != "" {
				path = field + "." + k.Value
			}
			if k.Kind != yaml.ScalarNode {
				d.failf(k.Line, field, "%s as a key (keys are field names: %s)", yamlmsg.Describe(k), yamlmsg.AndList(known))
				continue
			}
			fv, ok := fieldByYAML(v, k.Value)
			if !ok {
				where := "a workload"
				if field != "" {
					where = field
				}
				if s := yamlmsg.Suggest(k.Value, known); s != "" {
					d.failf(k.Line, path, "unknown field (did you mean %s?)", s)
				} else {
					d.failf(k.Line, path, "unknown field (%s has %s)", where, yamlmsg.AndList(known))
				}
				continue
			}
			if line, ok := first[k.Value]; ok {
				d.failf(k.Line, path, "given twice (first at line %d; remove one)", line)
				continue
			}
			first[k.Value] = k.Line
			d.given[path] = true
			d.value(val, fv, path)
		}
	case reflect.Slice:
		if yamlmsg.IsNull(n) {
			v.SetLen(0)
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.failf(n.Line, field, "%s is not a list (write [a, b])", yamlmsg.Describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.value(c, s.Index(i), field+"["+strconv.Itoa(i)+"]")
		}
		v.Set(s)
	case reflect.String:
		if n.Kind != yaml.ScalarNode || yamlmsg.IsNull(n) {
			d.failf(n.Line, field, "%s is not a string", yamlmsg.Describe(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Float64, reflect.Int, reflect.Uint64:
		want := "a number"
		if v.Kind() != reflect.Float64 {
			want = "a whole number"
		}
		if n.Kind != yaml.ScalarNode || yamlmsg.IsNull(n) {
			d.failf(n.Line, field, "%s is not %s", yamlmsg.Describe(n), want)
			return
		}
		if err := n.Decode(v.Addr().Interface()); err != nil {
			if v.Kind() == reflect.Uint64 && strings.HasPrefix(n.Value, "-") {
				want = "a whole number, 0 or more"
			}
			d.failf(n.Line, field, "%s is not %s", yamlmsg.Describe(n), want)
		}
	default:
		panic("bench: decoding a workload field of kind " + v.Kind().String())
	}
}

// fieldByYAML returns the field of struct v named name in YAML.
func fieldByYAML(v reflect.Value, name string) (reflect.Value, bool) {
	t := v.Type()
	for i := range t.NumField() {
		if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); tag == name && tag != "-" {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

// yamlFields lists the YAML names of struct type t's fields.
func yamlFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); tag != "" && tag != "-" {
			out = append(out, tag)
		}
	}
	return out
}
