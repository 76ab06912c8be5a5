package bench

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/examples/shop"
	"github.com/regen-dev/regen/internal/yamlmsg"
	"github.com/regen-dev/regen/sitespec"
)

// Workload is what a run compares the strategies on: a site, its traffic,
// its content changes and the server's capacity. DefaultWorkload returns the
// built-in one; LoadWorkload reads one from YAML. A Workload is not safe for
// concurrent use; Run does not modify it.
type Workload struct {
	// Site is the site spec. If nil, the built-in demo shop
	// (examples/shop/site.yaml).
	Site *sitespec.Spec `yaml:"-"`
	// GoSite, if set, is a site registered in Go, served instead of Site:
	// Run reads its declarations in place of Site and SiteFile.
	GoSite *GoSite `yaml:"-"`
	// SiteFile names Site in reports ("" for the demo shop). In YAML,
	// `site:` is a spec file's path, relative to the workload file.
	SiteFile string `yaml:"site"`
	// Seed makes a simulation reproducible: the same seed gives the same
	// requests, changes and figures.
	Seed     uint64   `yaml:"seed"`
	Traffic  Traffic  `yaml:"traffic"`
	Changes  Changes  `yaml:"changes"`
	Capacity Capacity `yaml:"capacity"`
	// Strategies to compare, as ParseStrategy reads them: "ssg", "ssr",
	// "ssr+data", "isr:60s", "isr:60s+on-demand", "declared".
	Strategies []string `yaml:"strategies"`
	// Sweep lists the ISR intervals of the trade-off curve (origin calls
	// against staleness) that --plot draws.
	Sweep []Duration `yaml:"sweep"`
	Live  Live       `yaml:"live"`

	file  string         // the file ParseWorkload read, for errors
	lines map[string]int // the line of each field in that file ("traffic.rps")
}

// Traffic is the stream of page requests: Poisson arrivals, Zipf
// popularity over the paths.
type Traffic struct {
	// RPS is the mean number of requests per second.
	RPS float64 `yaml:"rps"`
	// Duration is how long a simulation runs, in virtual time.
	Duration Duration `yaml:"duration"`
	// Zipf is the popularity skew s: the path of rank k gets a share of
	// requests proportional to 1/k^s. 0 is uniform.
	Zipf float64 `yaml:"zipf"`
	// Paths lists the requested paths, most popular first. If empty, every
	// path the site prerenders (its pages and static params) but per-user
	// pages and route handlers (a sitemap: crawlers fetch it rarely), ranked
	// by depth, then in an order drawn from the seed.
	Paths []string `yaml:"paths"`
	// Replay, if set, is an access log (ReadLog) whose requests replace the
	// synthetic ones: RPS, Duration, Zipf and Paths are then not used. Its
	// requests for paths the site does not route are counted, not replayed.
	Replay *Log `yaml:"-"`
	// ReplaySpeed replays the log this many times faster. If zero, 1.
	ReplaySpeed float64 `yaml:"-"`
}

// Changes are the content changes of the origin: Poisson arrivals, each
// publishing a new version of one data URL the site fetches.
type Changes struct {
	// PerHour is the mean number of changes per hour; 0: none.
	PerHour float64 `yaml:"per_hour"`
	// Tags restricts changes to URLs fetched with one of these tags
	// ("products"). Pages restricts them to URLs that one of these requested
	// paths fetches ("/products/sneakers"). With both, a URL either selects
	// may change; with neither, any URL the site fetches may change.
	Tags  []string `yaml:"tags"`
	Pages []string `yaml:"pages"`
}

// Capacity is the server's: how many renders run at once, and what a
// cached response costs.
type Capacity struct {
	// Workers is how many renders compute at once. A render holds a worker
	// for its cost (not while it waits for the origin); renders queue when
	// every worker is busy.
	Workers int `yaml:"workers"`
	// BuildWorkers is the parallelism of an SSG build. If zero, Workers.
	BuildWorkers int `yaml:"build_workers"`
	// Hit is the time to first byte of a response served from the cache
	// (HIT or STALE) in a simulation.
	Hit Duration `yaml:"hit"`
}

// Live configures live mode.
type Live struct {
	// Duration is how long the load generator runs against each strategy.
	Duration Duration `yaml:"duration"`
	// MaxInFlight bounds the requests in flight; beyond it the generator
	// waits (and the wait counts in the time to first byte).
	MaxInFlight int `yaml:"max_in_flight"`
}

// Duration is a time.Duration written as Go writes it ("90s", "1h30m") in
// YAML and JSON.
type Duration time.Duration

// UnmarshalYAML reads "90s" or a number of seconds.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: %s is not a duration (write one like 90s, 5m or 1h)", n.Line, yamlmsg.Describe(n))
	}
	if err := d.UnmarshalText([]byte(n.Value)); err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	return nil
}

// UnmarshalText reads "90s" or a number of seconds.
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := parseDuration(string(text))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes d as Go does.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

func (d Duration) String() string { return time.Duration(d).String() }

// parseDuration reads a Go duration, or a bare number of seconds.
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if v, err := time.ParseDuration(s); err == nil {
		return v, nil
	}
	if v, err := time.ParseDuration(s + "s"); err == nil {
		return v, nil
	}
	return 0, fmt.Errorf("%q is not a duration (write one like 90s, 5m or 1h)", s)
}

// Defaults of the built-in workload.
const (
	DefaultRPS          = 10
	DefaultDuration     = 24 * time.Hour
	DefaultZipf         = 1.1
	DefaultChanges      = 12 // per hour
	DefaultWorkers      = 2
	DefaultHit          = time.Millisecond
	DefaultLiveDuration = 10 * time.Second
	DefaultMaxInFlight  = 256
)

// DefaultStrategies are the strategies of the built-in workload.
var DefaultStrategies = []string{"ssg", "ssr", "ssr+data", "isr:60s", "isr:60s+on-demand"}

// DefaultSweep are the ISR intervals of the built-in trade-off curve.
var DefaultSweep = []time.Duration{
	10 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute,
	10 * time.Minute, 30 * time.Minute, time.Hour,
}

// DefaultWorkload returns the built-in workload: the demo shop, a simulated
// day of 10 requests per second with Zipf popularity 1.1, 12 content changes
// an hour, 2 render workers.
func DefaultWorkload() (*Workload, error) {
	w := &Workload{Traffic: Traffic{Zipf: DefaultZipf}, Changes: Changes{PerHour: DefaultChanges}}
	if err := w.fill(); err != nil {
		return nil, err
	}
	return w, nil
}

// Validate reports every problem of the workload as Run would find it,
// after filling in the defaults of the fields whose zero value means
// nothing (a nil site, no traffic, no workers...): each an *Error, joined.
// It does not modify w. Problems that need the site rendered (a requested
// path that does not render, changes that select no data) are found by Run.
func (w *Workload) Validate() error {
	c := *w
	return c.fill()
}

// fill sets the defaults of the fields whose zero value has no meaning (a
// nil site, no traffic, no workers...) and checks the result. Zipf and
// PerHour mean what they say at zero (uniform, none): DefaultWorkload and
// ParseWorkload set their defaults.
func (w *Workload) fill() error {
	if w.GoSite != nil {
		decl, err := w.GoSite.declare()
		if err != nil {
			return err
		}
		w.Site, w.SiteFile = decl, ""
	}
	if w.Site == nil {
		spec, err := shop.Parse()
		if err != nil {
			return fmt.Errorf("bench: demo site: %w", err)
		}
		w.Site = spec
		w.SiteFile = shop.Filename
	}
	if w.Seed == 0 {
		w.Seed = 1
	}
	if w.Traffic.RPS == 0 {
		w.Traffic.RPS = DefaultRPS
	}
	if w.Traffic.Duration == 0 {
		w.Traffic.Duration = Duration(DefaultDuration)
	}
	if w.Capacity.Workers == 0 {
		w.Capacity.Workers = DefaultWorkers
	}
	if w.Capacity.BuildWorkers == 0 {
		w.Capacity.BuildWorkers = w.Capacity.Workers
	}
	if w.Capacity.Hit == 0 {
		w.Capacity.Hit = Duration(DefaultHit)
	}
	if len(w.Strategies) == 0 {
		w.Strategies = DefaultStrategies
	}
	if len(w.Sweep) == 0 {
		for _, d := range DefaultSweep {
			w.Sweep = append(w.Sweep, Duration(d))
		}
	}
	if w.Live.Duration == 0 {
		w.Live.Duration = Duration(DefaultLiveDuration)
	}
	if w.Live.MaxInFlight == 0 {
		w.Live.MaxInFlight = DefaultMaxInFlight
	}
	return w.validate()
}

// errorf returns a problem of field, at its line in the workload's file.
func (w *Workload) errorf(field, format string, args ...any) *Error {
	e := &Error{File: w.file, Field: field, Err: fmt.Errorf(format, args...)}
	for f := field; f != "" && e.Line == 0; {
		e.Line = w.lines[f]
		// A field the file does not give: the line of the nearest
		// enclosing one ("traffic" for "traffic.rps").
		if i := strings.LastIndexAny(f, ".["); i >= 0 {
			f = f[:i]
		} else {
			f = ""
		}
	}
	return e
}

// validate reports every problem of a filled workload.
func (w *Workload) validate() error {
	var errs []error
	bad := func(field, format string, args ...any) { errs = append(errs, w.errorf(field, format, args...)) }
	if w.Traffic.RPS < 0 || w.Traffic.RPS > 1e7 {
		bad("traffic.rps", "%g (must be above 0 and at most 10,000,000)", w.Traffic.RPS)
	}
	if w.Traffic.Duration < 0 {
		bad("traffic.duration", "%v (must be positive)", w.Traffic.Duration)
	}
	if w.Changes.PerHour < 0 || w.Changes.PerHour > 1e7 {
		bad("changes.per_hour", "%g (must be between 0 and 10,000,000)", w.Changes.PerHour)
	}
	if w.Traffic.Zipf < 0 || w.Traffic.Zipf > 10 {
		bad("traffic.zipf", "%g (must be between 0 and 10; 0 is uniform)", w.Traffic.Zipf)
	}
	for i, p := range w.Traffic.Paths {
		if !strings.HasPrefix(p, "/") {
			bad(fmt.Sprintf("traffic.paths[%d]", i), "%q (a path starts with /)", p)
		}
	}
	for i, t := range w.Changes.Tags {
		if err := regen.CheckTag(t); err != nil {
			why := strings.TrimPrefix(err.Error(), regen.ErrTag.Error()+": ")
			bad(fmt.Sprintf("changes.tags[%d]", i), "%s (give a tag the site's fetches carry)", why)
		}
	}
	for i, p := range w.Changes.Pages {
		if !strings.HasPrefix(p, "/") {
			bad(fmt.Sprintf("changes.pages[%d]", i), "%q (a path starts with /)", p)
		}
	}
	if w.Capacity.Workers < 1 || w.Capacity.Workers > 1<<16 {
		bad("capacity.workers", "%d (must be between 1 and 65536)", w.Capacity.Workers)
	}
	// BuildWorkers defaults to Workers: their problem is reported once.
	if (w.Capacity.BuildWorkers < 1 || w.Capacity.BuildWorkers > 1<<16) && w.Capacity.BuildWorkers != w.Capacity.Workers {
		bad("capacity.build_workers", "%d (must be between 1 and 65536)", w.Capacity.BuildWorkers)
	}
	if w.Capacity.Hit < 0 {
		bad("capacity.hit", "%v (must be 0 or more)", w.Capacity.Hit)
	}
	if w.Live.Duration < 0 {
		bad("live.duration", "%v (must be positive)", w.Live.Duration)
	}
	if w.Live.MaxInFlight < 1 {
		bad("live.max_in_flight", "%d (must be at least 1)", w.Live.MaxInFlight)
	}
	for i, s := range w.Strategies {
		if _, err := ParseStrategy(s); err != nil {
			bad(fmt.Sprintf("strategies[%d]", i), "%v", err)
		}
	}
	for i, d := range w.Sweep {
		if d < Duration(time.Second) || time.Duration(d)%time.Second != 0 {
			bad(fmt.Sprintf("sweep[%d]", i), "%v (ISR intervals are whole seconds, at least 1s)", d)
		}
	}
	return errors.Join(errs...)
}

// LoadWorkload reads a workload from a YAML file. Fields it leaves out take
// the defaults of DefaultWorkload; `site:` is read relative to the file.
func LoadWorkload(path string) (*Workload, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseWorkload(path, data)
}

// zeroIsDefault are the fields whose zero value in a Workload means "the
// default": a file that writes 0 is told so instead.
var zeroIsDefault = map[string]string{
	"seed":                   "must be above 0; leave it out for seed 1",
	"traffic.rps":            "must be above 0; leave it out for the default, 10",
	"traffic.duration":       "must be positive; leave it out for the default, 24h",
	"capacity.workers":       "must be at least 1; leave it out for the default, 2",
	"capacity.build_workers": "must be at least 1; leave it out for as many as workers",
	"capacity.hit":           "must be positive; leave it out for the default, 1ms",
	"live.duration":          "must be positive; leave it out for the default, 10s",
	"live.max_in_flight":     "must be at least 1; leave it out for the default, 256",
}

// ParseWorkload parses a workload in YAML; name is the file's path, used in
// messages and to find a relative `site:`. Fields it leaves out take the
// defaults of DefaultWorkload. It reports every problem it finds, each an
// *Error at its line (or, for the site, the spec's own errors), joined.
func ParseWorkload(name string, data []byte) (*Workload, error) {
	w := &Workload{Traffic: Traffic{Zipf: DefaultZipf}, Changes: Changes{PerHour: DefaultChanges}}
	d := &decoder{file: name, lines: map[string]int{}, given: map[string]bool{}, bad: map[string]bool{}}
	d.decode(data, w)
	w.file, w.lines = name, d.lines
	errs := d.errs
	for field, fix := range zeroIsDefault {
		if d.given[field] && !d.bad[field] && reflect.ValueOf(*w).FieldByIndex(fieldIndex(field)).IsZero() {
			errs = append(errs, w.errorf(field, "0 (%s)", fix))
		}
	}
	if w.SiteFile != "" && !d.bad["site"] {
		p := w.SiteFile
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(name), p)
		}
		spec, err := sitespec.Load(p)
		var se *sitespec.Error
		switch {
		case errors.As(err, &se):
			errs = append(errs, err) // the spec's problems name its file and lines
		case err != nil:
			errs = append(errs, w.errorf("site", "%v (a spec's path is relative to the workload file)", err))
		}
		w.Site, w.SiteFile = spec, p
	}
	if len(errs) == 0 {
		if err := w.fill(); err != nil {
			return nil, err
		}
		return w, nil
	}
	// The values that decoded still get checked; a field reported once is
	// not reported again.
	w.Site = nil
	if err := w.fill(); err != nil {
		for _, e := range unjoin(err) {
			if be, ok := e.(*Error); !ok || !d.bad[be.Field] && !d.bad[strings.Split(be.Field, "[")[0]] {
				errs = append(errs, e)
			}
		}
	}
	return nil, joinByLine(errs)
}

// unjoin returns the errors errors.Join joined in err, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// fieldIndex returns the index path of a Workload field by its YAML path
// ("traffic.rps").
func fieldIndex(path string) []int {
	var idx []int
	t := reflect.TypeFor[Workload]()
	for name := range strings.SplitSeq(path, ".") {
		for i := range t.NumField() {
			if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); tag == name {
				idx = append(idx, i)
				t = t.Field(i).Type
				break
			}
		}
	}
	return idx
}

// joinByLine joins errs in file order: the *Errors by line, then the
// site spec's own.
func joinByLine(errs []error) error {
	line := func(err error) int {
		if e, ok := err.(*Error); ok {
			return e.Line
		}
		return math.MaxInt
	}
	slices.SortStableFunc(errs, func(a, b error) int { return cmp.Compare(line(a), line(b)) })
	return errors.Join(errs...)
}
