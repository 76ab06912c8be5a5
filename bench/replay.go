package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Log is an access log read for replay (ReadLog, ParseLog): its GET and
// HEAD requests in time order, each with its time relative to the log's
// first. Set it as Workload.Traffic.Replay. A Log is read-only once read and
// safe for concurrent use.
type Log struct {
	// Name is the file's name, in reports and messages.
	Name string
	// Lines counts the lines read, blank ones excluded.
	Lines int
	// Requests counts the GET and HEAD requests read: those replayed, and
	// those for paths the site does not route (Run counts them apart).
	Requests int
	// Skipped counts the lines of other requests: another method (POST,
	// OPTIONS), nginx's "-" for a connection without a request, a target
	// that is not a path.
	Skipped int
	// Malformed counts the lines in no format ParseLog reads; Problems are
	// the first MaxLogProblems of them, each an *Error with its line.
	Malformed int
	Problems  []error

	at      []time.Duration // per request, since the first: ascending
	target  []int32         // per request: its index in targets
	targets []string        // the distinct request targets, path and query
}

// MaxLogProblems is how many malformed lines a Log keeps to report.
const MaxLogProblems = 5

// Span is how long the log lasts: from its first request's second to the
// end of its last request's.
func (l *Log) Span() time.Duration {
	if len(l.at) == 0 {
		return 0
	}
	return l.at[len(l.at)-1].Truncate(time.Second) + time.Second
}

// ReadLog reads an access log from a file: see ParseLog.
func ReadLog(path string) (*Log, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("bench: replay: %w", err)
	}
	defer f.Close()
	return ParseLog(path, f)
}

// ParseLog reads an access log; name is the file's name, in messages. Each
// line is read in the format it looks like:
//
//   - Common or Combined Log Format, as nginx and Apache write them:
//     `127.0.0.1 - - [10/Oct/2026:13:55:36 -0700] "GET /products/sneakers HTTP/1.1" 200 2326`,
//     optionally followed by the referrer, the user agent and anything else.
//   - JSON lines, one object per line (a line starting with "{"): the
//     time in "time", "timestamp", "ts", "@timestamp" or "time_local" (RFC
//     3339, Common Log Format's time, or a number of Unix seconds); the
//     target in "path", "uri", "request_uri" or "url" (a path with its
//     query, or an absolute URL), or a request line in "request" ("GET /
//     HTTP/1.1"); the method, if given, in "method" or "request_method".
//
// Only GET and HEAD requests are kept, their query strings included; other
// requests are counted as Skipped. A malformed line is counted and skipped,
// and the first few are kept in Problems with their line numbers. Lines may
// be out of order (Apache logs a request's start when it ends): requests
// are sorted by time. Times are to the second in Common Log Format:
// requests logged in the same second are spread evenly over it, in log
// order. A log without a single GET or HEAD request is an error that lists
// the problems found.
func ParseLog(name string, r io.Reader) (*Log, error) {
	p := logParser{log: &Log{Name: name}, index: map[string]int32{}}
	br := bufio.NewReaderSize(r, 1<<16)
	var long []byte
	n := 0
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			long = append(long[:0], line...)
			for err == bufio.ErrBufferFull {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if len(line) > 0 {
			n++
			p.line(n, line)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("bench: replay: %s: %w", name, err)
		}
	}
	l := p.log
	if l.Requests == 0 {
		errs := slices.Clone(l.Problems)
		if more := l.Malformed - len(l.Problems); more > 0 {
			errs = append(errs, &Error{File: name, Err: fmt.Errorf("%d more malformed lines", more)})
		}
		errs = append(errs, &Error{File: name, Err: fmt.Errorf("no GET or HEAD request to replay (%d lines: %d malformed, %d other requests; want Common or Combined Log Format, or JSON lines with a time and a path)", l.Lines, l.Malformed, l.Skipped)})
		return nil, errors.Join(errs...)
	}
	p.finish()
	return l, nil
}

// logParser reads one log. It is not safe for concurrent use.
type logParser struct {
	log   *Log
	index map[string]int32 // target -> its index in log.targets
	times []int64          // per request: Unix nanoseconds
}

func (p *logParser) line(n int, line []byte) {
	line = bytes.TrimRight(line, "\r\n")
	line = bytes.TrimLeft(line, " \t")
	if len(bytes.TrimSpace(line)) == 0 {
		return
	}
	p.log.Lines++
	var (
		t              int64
		method, target []byte
		why            string
	)
	if line[0] == '{' {
		t, method, target, why = parseJSONLine(line)
	} else {
		t, method, target, why = parseCLFLine(line)
	}
	if why != "" {
		p.log.Malformed++
		if len(p.log.Problems) < MaxLogProblems {
			p.log.Problems = append(p.log.Problems, &Error{File: p.log.Name, Line: n, Err: errors.New(why)})
		}
		return
	}
	if !(string(method) == "GET" || string(method) == "HEAD" || method == nil) {
		p.log.Skipped++
		return
	}
	target = pathOfTarget(target)
	if len(target) == 0 || target[0] != '/' {
		p.log.Skipped++
		return
	}
	i, ok := p.index[string(target)]
	if !ok {
		i = int32(len(p.log.targets))
		s := string(target)
		p.index[s] = i
		p.log.targets = append(p.log.targets, s)
	}
	p.log.Requests++
	p.times = append(p.times, t)
	p.log.target = append(p.log.target, i)
}

// finish sorts the requests by time and makes their times relative to the
// first, spreading those logged in the same whole second over it.
func (p *logParser) finish() {
	l := p.log
	if !slices.IsSorted(p.times) {
		order := make([]int, len(p.times))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmpInt64(p.times[a], p.times[b]) })
		times := make([]int64, len(order))
		target := make([]int32, len(order))
		for k, i := range order {
			times[k], target[k] = p.times[i], l.target[i]
		}
		p.times, l.target = times, target
	}
	t0 := p.times[0]
	l.at = make([]time.Duration, len(p.times))
	for i := 0; i < len(p.times); {
		j := i + 1
		for j < len(p.times) && p.times[j] == p.times[i] {
			j++
		}
		base := time.Duration(p.times[i] - t0)
		if n := j - i; n > 1 && p.times[i]%int64(time.Second) == 0 {
			for k := i; k < j; k++ {
				l.at[k] = base + time.Duration(k-i)*time.Second/time.Duration(n)
			}
		} else {
			for k := i; k < j; k++ {
				l.at[k] = base
			}
		}
		i = j
	}
	p.times = nil
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// pathOfTarget returns a request target's path and query: an absolute URL
// ("http://host/path?q", as proxies log them) loses its scheme and host.
func pathOfTarget(t []byte) []byte {
	for _, scheme := range [...]string{"http://", "https://"} {
		if len(t) > len(scheme) && strings.EqualFold(string(t[:len(scheme)]), scheme) {
			rest := t[len(scheme):]
			i := bytes.IndexAny(rest, "/?")
			if i < 0 {
				return []byte{'/'}
			}
			if rest[i] == '?' {
				return append([]byte{'/'}, rest[i:]...)
			}
			return rest[i:]
		}
	}
	return t
}

// parseCLFLine reads a line of Common or Combined Log Format. why is not
// empty when the line is malformed: it says what is wrong.
func parseCLFLine(line []byte) (t int64, method, target []byte, why string) {
	i := bytes.IndexByte(line, '[')
	if i < 0 {
		return 0, nil, nil, "malformed line: no [time] (want Common or Combined Log Format, or a JSON object with a time and a path): " + quoteShort(line)
	}
	j := bytes.IndexByte(line[i:], ']')
	if j < 0 {
		return 0, nil, nil, "malformed line: no ] after the time [" + quoteShort(line[i+1:])
	}
	ts := line[i+1 : i+j]
	t, ok := parseCLFTime(ts)
	if !ok {
		return 0, nil, nil, fmt.Sprintf("malformed line: time %q is not like 10/Oct/2026:13:55:36 -0700", ts)
	}
	rest := line[i+j+1:]
	if len(rest) < 2 || rest[0] != ' ' || rest[1] != '"' {
		return 0, nil, nil, "malformed line: no quoted request after the time (want \"GET /path HTTP/1.1\")"
	}
	rest = rest[2:]
	// The request line ends at the first quote not escaped (Apache writes
	// \", nginx \x22).
	k := 0
	for {
		q := bytes.IndexByte(rest[k:], '"')
		if q < 0 {
			return 0, nil, nil, "malformed line: the request's quote is not closed"
		}
		k += q
		if k == 0 || rest[k-1] != '\\' {
			break
		}
		k++
	}
	req, after := rest[:k], rest[k+1:]
	// Then the status: three digits.
	after = bytes.TrimLeft(after, " ")
	if len(after) < 3 || !isDigit(after[0]) || !isDigit(after[1]) || !isDigit(after[2]) || len(after) > 3 && after[3] != ' ' {
		return 0, nil, nil, "malformed line: no status after the request (want \"GET /path HTTP/1.1\" 200 1234)"
	}
	method, target = splitRequestLine(req)
	if method == nil {
		method = []byte{'-'} // "-" or an empty request: not replayed
	}
	return t, method, target, ""
}

// splitRequestLine reads "GET /path HTTP/1.1" (or "GET /path").
func splitRequestLine(req []byte) (method, target []byte) {
	sp := bytes.IndexByte(req, ' ')
	if sp <= 0 {
		return nil, nil
	}
	method, target = req[:sp], req[sp+1:]
	if sp := bytes.IndexByte(target, ' '); sp >= 0 {
		target = target[:sp]
	}
	return method, target
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func quoteShort(b []byte) string {
	const most = 60
	if len(b) > most {
		return strconv.Quote(string(b[:most])) + "..."
	}
	return strconv.Quote(string(b))
}

var months = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// parseCLFTime reads "10/Oct/2026:13:55:36 -0700" as Unix nanoseconds.
func parseCLFTime(b []byte) (int64, bool) {
	if len(b) != 26 || b[2] != '/' || b[6] != '/' || b[11] != ':' || b[14] != ':' || b[17] != ':' || b[20] != ' ' {
		return 0, false
	}
	num := func(s []byte) (int, bool) {
		n := 0
		for _, c := range s {
			if !isDigit(c) {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	day, ok1 := num(b[0:2])
	year, ok2 := num(b[7:11])
	hour, ok3 := num(b[12:14])
	minute, ok4 := num(b[15:17])
	sec, ok5 := num(b[18:20])
	zone, ok6 := num(b[22:26])
	month := 0
	for m, name := range months {
		if string(b[3:6]) == name {
			month = m + 1
		}
	}
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month == 0 || year < 1970 || year > 2200 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 60 {
		return 0, false
	}
	offset := (zone/100*60 + zone%100) * 60
	switch b[21] {
	case '+':
	case '-':
		offset = -offset
	default:
		return 0, false
	}
	unix := daysFromCivil(year, month, day)*86400 + int64(hour*3600+minute*60+sec) - int64(offset)
	return unix * int64(time.Second), true
}

// daysFromCivil returns the days from 1970-01-01 to a date of the proleptic
// Gregorian calendar (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// The fields a JSON line may give.
var (
	jsonTimeFields   = []string{"time", "timestamp", "ts", "@timestamp", "time_local"}
	jsonTargetFields = []string{"path", "uri", "request_uri", "url"}
	jsonMethodFields = []string{"method", "request_method"}
)

// parseJSONLine reads a JSON object with a time and a target (see
// ParseLog). why is not empty when the line is malformed.
func parseJSONLine(line []byte) (t int64, method, target []byte, why string) {
	var timeVal, request []byte
	timeIsString, haveTime := false, false
	err := scanJSONObject(line, func(key, val []byte, isString bool) {
		switch {
		case slices.Contains(jsonTimeFields, string(key)):
			if !haveTime {
				timeVal, timeIsString, haveTime = val, isString, true
			}
		case slices.Contains(jsonTargetFields, string(key)) && isString:
			if target == nil {
				target = val
			}
		case slices.Contains(jsonMethodFields, string(key)) && isString:
			method = val
		case string(key) == "request" && isString:
			request = val
		}
	})
	if err != "" {
		return 0, nil, nil, "malformed JSON line: " + err
	}
	if target == nil && request != nil {
		m, tg := splitRequestLine(request)
		if m == nil {
			return 0, nil, nil, fmt.Sprintf("malformed JSON line: request %q is not like \"GET /path HTTP/1.1\"", request)
		}
		if method == nil {
			method = m
		}
		target = tg
	}
	if !haveTime {
		return 0, nil, nil, `malformed JSON line: no time (give "time", "timestamp", "ts" or "@timestamp", RFC 3339)`
	}
	if target == nil {
		return 0, nil, nil, `malformed JSON line: no path (give "path", "uri", "request_uri", "url" or "request")`
	}
	if !timeIsString {
		f, err := strconv.ParseFloat(string(timeVal), 64)
		if err != nil || f < 0 || f > 1<<33 {
			return 0, nil, nil, fmt.Sprintf("malformed JSON line: time %s is neither RFC 3339 nor Unix seconds", timeVal)
		}
		return int64(f * float64(time.Second)), method, target, ""
	}
	if tt, err := time.Parse(time.RFC3339Nano, string(timeVal)); err == nil {
		if y := tt.Year(); y < 1970 || y > 2200 {
			return 0, nil, nil, fmt.Sprintf("malformed JSON line: time %q is not between 1970 and 2200", timeVal)
		}
		return tt.UnixNano(), method, target, ""
	}
	if n, ok := parseCLFTime(timeVal); ok {
		return n, method, target, ""
	}
	return 0, nil, nil, fmt.Sprintf("malformed JSON line: time %q is not RFC 3339 (like 2026-10-10T13:55:36Z)", timeVal)
}

// scanJSONObject calls f with each top-level member of a JSON object whose
// value is a string (unescaped), a number, true, false or null; nested
// objects and arrays are skipped. It returns what is wrong with the line,
// or "".
func scanJSONObject(b []byte, f func(key, val []byte, isString bool)) string {
	i := 0
	ws := func() {
		for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
			i++
		}
	}
	str := func() ([]byte, bool) { // at a quote: the unescaped string
		start := i + 1
		esc := false
		for j := start; j < len(b); j++ {
			switch b[j] {
			case '\\':
				esc = true
				j++
			case '"':
				i = j + 1
				if !esc {
					return b[start:j], true
				}
				var s string
				if json.Unmarshal(b[start-1:j+1], &s) != nil {
					return nil, false
				}
				return []byte(s), true
			}
		}
		return nil, false
	}
	ws()
	if i >= len(b) || b[i] != '{' {
		return "not an object"
	}
	i++
	ws()
	if i < len(b) && b[i] == '}' {
		return ""
	}
	for {
		ws()
		if i >= len(b) || b[i] != '"' {
			return "want a quoted key at column " + strconv.Itoa(i+1)
		}
		key, ok := str()
		if !ok {
			return "unterminated key"
		}
		ws()
		if i >= len(b) || b[i] != ':' {
			return fmt.Sprintf("want : after key %q", key)
		}
		i++
		ws()
		if i >= len(b) {
			return "truncated"
		}
		switch c := b[i]; {
		case c == '"':
			v, ok := str()
			if !ok {
				return fmt.Sprintf("unterminated string in %q", key)
			}
			f(key, v, true)
		case c == '{' || c == '[':
			depth := 0
		skip:
			for ; i < len(b); i++ {
				switch b[i] {
				case '"':
					if _, ok := str(); !ok {
						return fmt.Sprintf("unterminated string in %q", key)
					}
					i--
				case '{', '[':
					depth++
				case '}', ']':
					if depth--; depth == 0 {
						i++
						break skip
					}
				}
			}
			if depth != 0 {
				return fmt.Sprintf("unterminated value of %q", key)
			}
		default:
			start := i
			for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ' ' && b[i] != '\t' {
				i++
			}
			v := b[start:i]
			if len(v) == 0 {
				return fmt.Sprintf("no value for %q", key)
			}
			f(key, v, false)
		}
		ws()
		if i >= len(b) {
			return "truncated (no closing })"
		}
		switch b[i] {
		case ',':
			i++
		case '}':
			return ""
		default:
			return fmt.Sprintf("want , or } after %q at column %d", key, i+1)
		}
	}
}
