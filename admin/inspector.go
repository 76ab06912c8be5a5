package admin

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/routecache"
)

// MaxPathsShown bounds the paths the inspector's page lists under each
// route; the page of one route (?route=) and the JSON API list them all.
const MaxPathsShown = 50

// Inspector returns the cache inspector of e, to be mounted at a path
// ending in "/" with that prefix stripped (New mounts it at InspectorPath):
//
//   - GET /: an HTML page listing each route with its policy and why, and its
//     cached paths (Engine.Inspect) with their state, age, revalidate,
//     expire, tags, size, latest render and back-off; ?route=PATTERN lists
//     one route's paths only, all of them; ?path=PATH looks one path up
//     (Engine.Lookup), whether this engine rendered it or not;
//   - POST /revalidate: its form (target=path|tag, value, mode=stale|expire,
//     type=page|layout): 303 back to the page, or 400 with the reason;
//   - GET /api/routes, GET /api/paths?route=PATTERN (or ?path=PATH), GET
//     /api/stats: the same data as JSON;
//   - POST /api/revalidate: the body of engine.NewRevalidateHandler's
//     endpoint ({"tags": [...], "paths": [...], "mode": "stale"|"expire"}),
//     answered {"revalidated": true}.
//
// A POST another site's page sends (its Origin, or its Sec-Fetch-Site,
// says cross-site) is refused with 403, by http.CrossOriginProtection; a
// wrong method is 405. There is no secret: serve it on an admin listener
// only. logger receives one line per revalidation; if nil, slog.Default().
func Inspector(e *engine.Engine, logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.Default()
	}
	in := &inspector{e: e, log: logger}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", in.page)
	mux.HandleFunc("POST /revalidate", in.revalidateForm)
	mux.HandleFunc("GET /api/routes", in.apiRoutes)
	mux.HandleFunc("GET /api/paths", in.apiPaths)
	mux.HandleFunc("GET /api/stats", in.apiStats)
	mux.HandleFunc("POST /api/revalidate", in.apiRevalidate)
	return http.NewCrossOriginProtection().Handler(mux)
}

type inspector struct {
	e   *engine.Engine
	log *slog.Logger
}

//go:embed inspector.html
var pageHTML string

var pageTemplate = template.Must(template.New("inspector").Funcs(template.FuncMap{
	"age":      formatDuration,
	"bytes":    formatBytes,
	"when":     formatTime,
	"expire":   formatExpire,
	"routeURL": func(route string) string { return "?route=" + url.QueryEscape(route) },
	// Tags the renders declared, and the implicit ones of the route's
	// layouts, page and path (routecache.ImplicitTags).
	"explicitTags": func(tags []string) []string { return filterTags(tags, false) },
	"implicitTags": func(tags []string) []string { return filterTags(tags, true) },
}).Parse(pageHTML))

// pageData is what the page's template shows.
type pageData struct {
	Stats  engine.Stats
	Routes []routeView
	Route  string // the route shown alone, or ""
	Path   string // the path looked up, or ""
	Found  *engine.PathInfo
	Notice string
}

type routeView struct {
	Policy engine.Policy
	Paths  []engine.PathInfo
	More   int // paths not shown
}

func (in *inspector) page(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := pageData{Stats: in.e.Stats(), Route: q.Get("route"), Path: q.Get("path"), Notice: q.Get("done")}
	byRoute := map[string][]engine.PathInfo{}
	for _, p := range in.e.Inspect(r.Context(), d.Route) {
		byRoute[p.Route] = append(byRoute[p.Route], p)
	}
	for _, pol := range in.e.Routes() {
		if d.Route != "" && pol.Route != d.Route {
			continue
		}
		v := routeView{Policy: pol, Paths: byRoute[pol.Route]}
		if d.Route == "" && len(v.Paths) > MaxPathsShown {
			v.More = len(v.Paths) - MaxPathsShown
			v.Paths = v.Paths[:MaxPathsShown]
		}
		d.Routes = append(d.Routes, v)
	}
	if d.Path != "" {
		if info, ok := in.e.Lookup(r.Context(), d.Path); ok {
			d.Found = &info
		}
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	if err := pageTemplate.Execute(w, &d); err != nil {
		in.log.Error("regen: inspector page", "error", err)
	}
}

// revalidateForm handles the page's form and sends the browser back to
// the page (303), which says what was revalidated.
func (in *inspector) revalidateForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, engine.MaxRevalidateBody)
	if err := r.ParseForm(); err != nil {
		plain(w, http.StatusBadRequest, "bad form: "+err.Error())
		return
	}
	target, value := r.PostForm.Get("target"), strings.TrimSpace(r.PostForm.Get("value"))
	var req engine.RevalidateRequest
	switch target {
	case "path":
		req.Paths = []string{value}
	case "tag":
		req.Tags = []string{value}
	default:
		plain(w, http.StatusBadRequest, fmt.Sprintf("bad target %q (must be path or tag)", target))
		return
	}
	mode := r.PostForm.Get("mode")
	if mode != "" && mode != "stale" && mode != "expire" {
		plain(w, http.StatusBadRequest, fmt.Sprintf("bad mode %q (must be stale or expire)", mode))
		return
	}
	if err := req.Mode.UnmarshalText([]byte(mode)); err != nil {
		plain(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := req.Type.UnmarshalText([]byte(r.PostForm.Get("type"))); err != nil {
		plain(w, http.StatusBadRequest, err.Error())
		return
	}
	code, err := in.revalidate(r, req)
	if err != nil {
		plain(w, code, err.Error())
		return
	}
	done := fmt.Sprintf("revalidated %s %s (%s)", target, value, req.Mode)
	// A relative reference, so that the inspector works under any prefix.
	w.Header().Set("Location", "./?done="+url.QueryEscape(done))
	w.WriteHeader(http.StatusSeeOther)
}

// revalidate checks req as the revalidation endpoint does
// (engine.ParseRevalidateRequest) and revalidates it: 400 for a bad
// request, which revalidates nothing, 500 for a store failure.
func (in *inspector) revalidate(r *http.Request, req engine.RevalidateRequest) (int, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return http.StatusBadRequest, err
	}
	return in.revalidateBody(r, body)
}

func (in *inspector) revalidateBody(r *http.Request, body []byte) (int, error) {
	req, err := engine.ParseRevalidateRequest(body)
	if err != nil {
		return http.StatusBadRequest, err
	}
	ctx := r.Context()
	for _, t := range req.Tags {
		if err := in.e.RevalidateTag(ctx, t, req.Mode); err != nil {
			return revalidateFailed(err), err
		}
	}
	for _, p := range req.Paths {
		if err := in.e.RevalidatePath(ctx, p, req.Type, req.Mode); err != nil {
			return revalidateFailed(err), err
		}
	}
	in.log.Info("regen: revalidated from the inspector", "tags", req.Tags, "paths", req.Paths, "mode", req.Mode.String(), "remote", r.RemoteAddr)
	return http.StatusOK, nil
}

// revalidateFailed is the status of a revalidation that failed with err:
// 400 for a mode naming no cache profile, 500 for a store failure.
func revalidateFailed(err error) int {
	if errors.Is(err, engine.ErrCacheLife) {
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

func (in *inspector) apiRevalidate(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, engine.MaxRevalidateBody))
	if err != nil {
		code := http.StatusBadRequest
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			code = http.StatusRequestEntityTooLarge
		}
		writeJSON(w, code, map[string]any{"revalidated": false, "error": err.Error()})
		return
	}
	if code, err := in.revalidateBody(r, body); err != nil {
		writeJSON(w, code, map[string]any{"revalidated": false, "error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"revalidated": true})
}

// routeJSON is one route in /api/routes.
type routeJSON struct {
	Policy engine.Policy `json:"policy"`
	Paths  int           `json:"paths"` // paths Inspect lists
}

func (in *inspector) apiRoutes(w http.ResponseWriter, r *http.Request) {
	counts := map[string]int{}
	for _, p := range in.e.Inspect(r.Context(), "") {
		counts[p.Route]++
	}
	out := []routeJSON{}
	for _, pol := range in.e.Routes() {
		out = append(out, routeJSON{Policy: pol, Paths: counts[pol.Route]})
	}
	writeJSON(w, http.StatusOK, map[string]any{"routes": out})
}

func (in *inspector) apiPaths(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if p := q.Get("path"); p != "" {
		info, ok := in.e.Lookup(r.Context(), p)
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]any{"error": "no entry for path " + strconv.Quote(p)})
			return
		}
		writeJSON(w, http.StatusOK, toJSON(info))
		return
	}
	route := q.Get("route")
	if route != "" {
		if _, ok := in.e.Policy(route); !ok {
			writeJSON(w, http.StatusNotFound, map[string]any{"error": "no route " + strconv.Quote(route)})
			return
		}
	}
	out := []pathJSON{}
	for _, p := range in.e.Inspect(r.Context(), route) {
		out = append(out, toJSON(p))
	}
	writeJSON(w, http.StatusOK, map[string]any{"paths": out})
}

func (in *inspector) apiStats(w http.ResponseWriter, r *http.Request) {
	st := in.e.Stats()
	writeJSON(w, http.StatusOK, map[string]any{"renders": st.Renders, "queued": st.Queued, "backoff": st.Backoff})
}

// pathJSON is engine.PathInfo as the API writes it: times in RFC 3339,
// durations in seconds, revalidate as Next.js writes it (false for
// static).
type pathJSON struct {
	Path          string           `json:"path"`
	Route         string           `json:"route"`
	State         engine.State     `json:"state"`
	Status        int              `json:"status,omitempty"`
	Created       *time.Time       `json:"created,omitempty"`
	AgeSeconds    float64          `json:"ageSeconds"`
	Revalidate    regen.Revalidate `json:"revalidate,omitzero"`
	ExpireSeconds float64          `json:"expireSeconds"`
	Tags          []string         `json:"tags"`
	Size          int64            `json:"size"`
	Render        renderJSON       `json:"lastRender"`
}

type renderJSON struct {
	At              *time.Time `json:"at,omitempty"`
	DurationSeconds float64    `json:"durationSeconds"`
	Error           string     `json:"error,omitempty"`
	ErrorAt         *time.Time `json:"errorAt,omitempty"`
	Failures        int        `json:"failures"`
	Retry           *time.Time `json:"retryAt,omitempty"`
}

func toJSON(p engine.PathInfo) pathJSON {
	out := pathJSON{
		Path: p.Path, Route: p.Route, State: p.State, Status: p.Status, Created: optTime(p.Created),
		AgeSeconds: p.Age.Seconds(), Revalidate: p.Revalidate, ExpireSeconds: p.Expire.Seconds(),
		Tags: p.Tags, Size: p.Size,
		Render: renderJSON{
			At: optTime(p.Render.At), DurationSeconds: p.Render.Duration.Seconds(),
			Error: p.Render.Error, ErrorAt: optTime(p.Render.ErrorAt), Failures: p.Render.Failures,
		},
	}
	if p.Render.Failures > 0 {
		out.Render.Retry = optTime(p.Render.Retry)
	}
	if out.Tags == nil {
		out.Tags = []string{}
	}
	return out
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// formatDuration rounds d for a reader: "850ms", "42s", "3m20s", "5h0m".
func formatDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	case d < time.Hour:
		return d.Round(time.Second).String()
	case d < 48*time.Hour:
		return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	}
	return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
}

func filterTags(tags []string, implicit bool) []string {
	var out []string
	for _, t := range tags {
		if strings.HasPrefix(t, routecache.TagPrefix) == implicit {
			out = append(out, t)
		}
	}
	return out
}

func formatExpire(d time.Duration) string {
	if d == 0 {
		return "never"
	}
	return formatDuration(d)
}

func formatBytes(n int64) string {
	switch {
	case n < 1<<10:
		return strconv.FormatInt(n, 10) + " B"
	case n < 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
	}
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}
