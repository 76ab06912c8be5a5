package bench

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/examples/shop"
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
	// path the site prerenders (its pages and static params), ranked by
	// depth, then in an order drawn from the seed.
	Paths []string `yaml:"paths"`
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
		return fmt.Errorf("line %d: want a duration like 90s or 1h", n.Line)
	}
	v, err := parseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
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
	return 0, fmt.Errorf("duration %q (want a duration like 90s, 5m or 1h)", s)
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

// fill sets the defaults of the fields whose zero value has no meaning (a
// nil site, no traffic, no workers...) and checks the result. Zipf and
// PerHour mean what they say at zero (uniform, none): DefaultWorkload and
// ParseWorkload set their defaults.
func (w *Workload) fill() error {
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

// validate reports every problem of a filled workload.
func (w *Workload) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("bench: workload: "+format, args...)) }
	if w.Traffic.RPS < 0 || w.Traffic.RPS > 1e7 {
		bad("traffic.rps %g (must be above 0 and at most 10,000,000)", w.Traffic.RPS)
	}
	if w.Traffic.Duration < 0 {
		bad("traffic.duration %v (must be positive)", w.Traffic.Duration)
	}
	if w.Changes.PerHour < 0 || w.Changes.PerHour > 1e7 {
		bad("changes.per_hour %g (must be between 0 and 10,000,000)", w.Changes.PerHour)
	}
	if w.Traffic.Zipf < 0 || w.Traffic.Zipf > 10 {
		bad("traffic.zipf %g (must be between 0 and 10; 0 is uniform)", w.Traffic.Zipf)
	}
	for _, p := range w.Traffic.Paths {
		if !strings.HasPrefix(p, "/") {
			bad("traffic.paths: %q (a path starts with /)", p)
		}
	}
	if err := regen.ValidateTags(w.Changes.Tags); err != nil && len(w.Changes.Tags) > 0 {
		bad("changes.tags: %v", err)
	}
	for _, p := range w.Changes.Pages {
		if !strings.HasPrefix(p, "/") {
			bad("changes.pages: %q (a path starts with /)", p)
		}
	}
	if w.Capacity.Workers < 1 || w.Capacity.Workers > 1<<16 {
		bad("capacity.workers %d (must be between 1 and 65536)", w.Capacity.Workers)
	}
	if w.Capacity.BuildWorkers < 1 || w.Capacity.BuildWorkers > 1<<16 {
		bad("capacity.build_workers %d (must be between 1 and 65536)", w.Capacity.BuildWorkers)
	}
	if w.Capacity.Hit < 0 {
		bad("capacity.hit %v (must be 0 or more)", w.Capacity.Hit)
	}
	if w.Live.Duration < 0 {
		bad("live.duration %v (must be positive)", w.Live.Duration)
	}
	if w.Live.MaxInFlight < 1 {
		bad("live.max_in_flight %d (must be at least 1)", w.Live.MaxInFlight)
	}
	for _, s := range w.Strategies {
		if _, err := ParseStrategy(s); err != nil {
			errs = append(errs, fmt.Errorf("bench: workload: strategies: %w", err))
		}
	}
	for _, d := range w.Sweep {
		if d < Duration(time.Second) || time.Duration(d)%time.Second != 0 {
			bad("sweep: %v (ISR intervals are whole seconds, at least 1s)", d)
		}
	}
	return errors.Join(errs...)
}

// LoadWorkload reads a workload from a YAML file. Fields it leaves out take
// the defaults of DefaultWorkload; `site:` is read relative to the file.
func LoadWorkload(path string) (*Workload, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	return ParseWorkload(path, data)
}

// ParseWorkload parses a workload in YAML; name is the file's path, used in
// messages and to find a relative `site:`. Fields it leaves out take the
// defaults of DefaultWorkload.
func ParseWorkload(name string, data []byte) (*Workload, error) {
	w := &Workload{Traffic: Traffic{Zipf: DefaultZipf}, Changes: Changes{PerHour: DefaultChanges}}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(w); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("bench: %s: %w", name, err)
	}
	if w.SiteFile != "" {
		p := w.SiteFile
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(name), p)
		}
		spec, err := sitespec.Load(p)
		if err != nil {
			return nil, fmt.Errorf("bench: %s: site: %w", name, err)
		}
		w.Site, w.SiteFile = spec, p
	}
	if err := w.fill(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return w, nil
}
