// Command mount embeds regen under a prefix next to other handlers on one
// http.ServeMux: the site at /site, a JSON API at /api/posts whose writes
// revalidate the site on demand, and a health check at /healthz, served on
// 127.0.0.1:3000.
//
//	go run ./examples/mount
//	curl -si http://127.0.0.1:3000/site/blog/hello | grep -i cache   # MISS, then HIT
//	curl -si http://127.0.0.1:3000/site/blog/hello/ | grep -i location  # /site/blog/hello
//	curl -s  http://127.0.0.1:3000/api/posts
//	curl -s  -X PUT -d '{"title":"Hello again","body":"Edited."}' http://127.0.0.1:3000/api/posts/hello
//	curl -s  http://127.0.0.1:3000/healthz
//
// By default the ServeMux strips the prefix (http.StripPrefix) and the
// engine serves route paths. With -basepath the prefix is left on the path
// and named in engine.Options.BasePath instead, as a router that does not
// strip it (chi's Mount) needs. Either way the cache keys are the route
// paths ("/blog/hello"), the ones RevalidatePath takes, and redirects keep
// the prefix.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/fetchcache"
	"github.com/regen-dev/regen/render"
)

// prefix is where the site is mounted. Renders write it into their links:
// the engine serves route paths and does not rewrite the HTML.
const prefix = "/site"

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "listen `address`")
	basePath := flag.Bool("basepath", false, "mount the engine without stripping the prefix, with Options.BasePath")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	db := newPosts()
	e, h, err := newServer(db, *basePath)
	if err != nil {
		log.Fatal(err) // every configuration problem, one per line
	}
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Printf("listening on http://%s%s/", *addr, prefix)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
	e.Close() // waits for the regenerations in flight
}

// newServer returns the engine serving db's blog and the handler of the
// whole server: the site under prefix, the API and the health check. With
// basePath, the engine sees the full path and drops the prefix itself.
func newServer(db *posts, basePath bool) (*engine.Engine, http.Handler, error) {
	var opts engine.Options
	if basePath {
		opts.BasePath = prefix
	}
	e, err := engine.New(newSite(db), opts)
	if err != nil {
		return nil, nil, err
	}
	site := http.Handler(e)
	if !basePath {
		site = http.StripPrefix(prefix, e) // "/site/blog/a" reaches the engine as "/blog/a", "/site" as ""
	}
	// Both patterns: "/site/" alone would redirect "/site" to "/site/",
	// which an engine with BasePath redirects back to "/site", as Next.js
	// does.
	mux := http.NewServeMux()
	mux.Handle(prefix, site)
	mux.Handle(prefix+"/", site)
	mux.HandleFunc("GET /api/posts", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(db.list())
	})
	mux.HandleFunc("PUT /api/posts/{slug}", func(w http.ResponseWriter, r *http.Request) {
		var p post
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&p); err != nil || p.Title == "" {
			http.Error(w, `want {"title": "...", "body": "..."}`, http.StatusBadRequest)
			return
		}
		p.Slug = r.PathValue("slug")
		db.put(p)
		// The next request for any page that read a post renders afresh.
		if err := e.RevalidateTag(r.Context(), postsTag, regen.RevalidateExpire); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	})
	return e, mux, nil
}

const postsTag = "posts"

// newSite registers the blog: a layout, an index of posts and a page per
// post, regenerated every minute and on demand when a post changes.
func newSite(db *posts) *engine.Site {
	var site engine.Site
	site.Layout("/", engine.Layout{Revalidate: regen.Seconds(3600), Render: render.LayoutFunc(
		func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
			fmt.Fprintf(w, "<html><body><nav><a href=\"%s\">Blog</a></nav>", prefix)
			if err := child.Render(ctx, w); err != nil {
				return err
			}
			_, err := io.WriteString(w, "</body></html>")
			return err
		})})
	site.Page("/", engine.Page{Revalidate: regen.Seconds(60), Render: render.PageFunc(
		func(ctx context.Context, s *render.Scope, w io.Writer) error {
			b, err := s.Memoize(ctx, []string{"posts"}, fetchcache.MemoOptions{Tags: []string{postsTag}},
				func(context.Context) ([]byte, error) { return json.Marshal(db.list()) })
			if err != nil {
				return err
			}
			var ps []post
			if err := json.Unmarshal(b, &ps); err != nil {
				return err
			}
			io.WriteString(w, "<ul>")
			for _, p := range ps {
				fmt.Fprintf(w, "<li><a href=\"%s/blog/%s\">%s</a></li>", prefix, html.EscapeString(p.Slug), html.EscapeString(p.Title))
			}
			_, err = io.WriteString(w, "</ul>")
			return err
		})})
	site.Page("/blog/[slug]", engine.Page{Revalidate: regen.Seconds(60), Render: render.PageFunc(
		func(ctx context.Context, s *render.Scope, w io.Writer) error {
			slug := s.Param("slug")
			b, err := s.Memoize(ctx, []string{"post", slug}, fetchcache.MemoOptions{Tags: []string{postsTag}},
				func(context.Context) ([]byte, error) {
					p, ok := db.get(slug)
					if !ok {
						return []byte("null"), nil
					}
					return json.Marshal(p)
				})
			if err != nil {
				return err
			}
			var p *post
			if err := json.Unmarshal(b, &p); err != nil {
				return err
			}
			if p == nil {
				return engine.ErrNotFound
			}
			_, err = fmt.Fprintf(w, "<h1>%s</h1><p>%s</p>", html.EscapeString(p.Title), html.EscapeString(p.Body))
			return err
		})})
	return &site
}

// post is one blog post, as the API reads and writes it.
type post struct {
	Slug  string `json:"slug"`
	Title string `json:"title"`
	Body  string `json:"body"`
}

// posts is the blog's database. It is safe for concurrent use.
type posts struct {
	mu sync.Mutex // protects m
	m  map[string]post
}

func newPosts() *posts {
	return &posts{m: map[string]post{
		"hello": {Slug: "hello", Title: "Hello", Body: "The first post."},
		"world": {Slug: "world", Title: "World", Body: "The second post."},
	}}
}

func (db *posts) get(slug string) (post, bool) {
	db.mu.Lock()
	defer db.mu.Unlock()
	p, ok := db.m[slug]
	return p, ok
}

func (db *posts) put(p post) {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.m[p.Slug] = p
}

// list returns the posts sorted by slug.
func (db *posts) list() []post {
	db.mu.Lock()
	defer db.mu.Unlock()
	out := make([]post, 0, len(db.m))
	for _, p := range db.m {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b post) int { return cmp.Compare(a.Slug, b.Slug) })
	return out
}
