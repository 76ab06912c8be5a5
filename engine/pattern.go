package engine

import (
	"fmt"
	"strings"
)

type partKind uint8

const (
	partStatic partKind = iota
	partGroup
	partParam
	partCatchAll
	partOptCatchAll
)

// part is one segment of a pattern.
type part struct {
	kind partKind
	name string // the static name, the group name or the param name
	raw  string // as written
}

// parsePattern splits a pattern into parts, checking each.
func parsePattern(pattern string) ([]part, error) {
	if !strings.HasPrefix(pattern, "/") {
		return nil, fmt.Errorf("pattern must start with \"/\"")
	}
	if pattern == "/" {
		return nil, nil
	}
	if strings.HasSuffix(pattern, "/") {
		return nil, fmt.Errorf("pattern has a trailing slash (write %q)", strings.TrimRight(pattern, "/"))
	}
	raws := strings.Split(pattern[1:], "/")
	parts := make([]part, 0, len(raws))
	for _, raw := range raws {
		p, err := parsePart(raw)
		if err != nil {
			return nil, err
		}
		parts = append(parts, p)
	}
	return parts, nil
}

func parsePart(raw string) (part, error) {
	switch {
	case raw == "":
		return part{}, fmt.Errorf("empty segment (remove the double slash)")
	case raw == "." || raw == "..":
		return part{}, fmt.Errorf("segment %q is not allowed", raw)
	case strings.HasPrefix(raw, "(") && strings.HasSuffix(raw, ")"):
		name := raw[1 : len(raw)-1]
		if name == "" || strings.ContainsAny(name, "()[]") {
			return part{}, fmt.Errorf("bad route group %q (write (name))", raw)
		}
		return part{kind: partGroup, name: name, raw: raw}, nil
	case strings.HasPrefix(raw, "[[...") && strings.HasSuffix(raw, "]]"):
		return paramPart(raw, raw[5:len(raw)-2], partOptCatchAll)
	case strings.HasPrefix(raw, "[...") && strings.HasSuffix(raw, "]"):
		return paramPart(raw, raw[4:len(raw)-1], partCatchAll)
	case strings.HasPrefix(raw, "[") && strings.HasSuffix(raw, "]"):
		return paramPart(raw, raw[1:len(raw)-1], partParam)
	case strings.ContainsAny(raw, "[]()"):
		return part{}, fmt.Errorf("bad segment %q (write [param], [...param], [[...param]] or (group))", raw)
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c < 0x20 || c == 0x7f || c == '?' || c == '#' || c == '%' {
			return part{}, fmt.Errorf("segment %q has a character not allowed in a path (%q)", raw, c)
		}
	}
	return part{kind: partStatic, name: raw, raw: raw}, nil
}

func paramPart(raw, name string, kind partKind) (part, error) {
	if !validParamName(name) {
		return part{}, fmt.Errorf("bad param name in %q (use letters, digits, _ and -, not starting with a digit)", raw)
	}
	return part{kind: kind, name: name, raw: raw}, nil
}

func validParamName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case (c >= '0' && c <= '9') || c == '-':
			if i == 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// urlParts drops groups: what the URL sees.
func urlParts(parts []part) []part {
	out := make([]part, 0, len(parts))
	for _, p := range parts {
		if p.kind != partGroup {
			out = append(out, p)
		}
	}
	return out
}

// joinParts writes parts back as a pattern.
func joinParts(parts []part) string {
	if len(parts) == 0 {
		return "/"
	}
	var b strings.Builder
	for _, p := range parts {
		b.WriteByte('/')
		b.WriteString(p.raw)
	}
	return b.String()
}

// isPrefix reports whether a is a prefix of b, part by part.
func isPrefix(a, b []part) bool {
	if len(a) > len(b) {
		return false
	}
	for i := range a {
		if a[i].raw != b[i].raw {
			return false
		}
	}
	return true
}
