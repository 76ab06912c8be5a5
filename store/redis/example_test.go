package redis_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http/httptest"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/render"
	"github.com/regen-dev/regen/store/redis"
)

// Several instances of a site share one Redis: each opens a Store on it
// and gives it to its engine. (This example is compiled, not run: it needs
// a Redis server.)
func ExampleOpen() {
	ctx := context.Background()
	s, err := redis.Open(ctx, "redis://127.0.0.1:6379/0", redis.Options{Prefix: "shop"})
	if err != nil {
		log.Fatal(err) // a malformed URL; a Redis that is down is not an error
	}
	defer s.Close()

	var site engine.Site
	site.Page("/", engine.Page{Revalidate: regen.Seconds(60), Render: render.PageFunc(
		func(ctx context.Context, _ *render.Scope, w io.Writer) error {
			_, err := io.WriteString(w, "<h1>Shop</h1>")
			return err
		})})
	e, err := engine.New(&site, engine.Options{Store: s})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()

	// A revalidation on this instance reaches every instance.
	e.RevalidateTag(ctx, "products", regen.RevalidateStale)
	fmt.Printf("%+v\n", s.Stats())
}

// With Redis down (here: nothing listens on port 1), the Store starts
// unavailable and the engine serves from its local tier; writes and
// revalidations wait in a queue for Redis to come back.
func Example_redisDown() {
	ctx := context.Background()
	s, err := redis.Open(ctx, "redis://127.0.0.1:1/0", redis.Options{
		OpenWait: time.Millisecond,
		Logger:   slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	renders := 0
	var site engine.Site
	site.Page("/", engine.Page{Render: render.PageFunc(
		func(ctx context.Context, _ *render.Scope, w io.Writer) error {
			renders++
			_, err := fmt.Fprintf(w, "render %d", renders)
			return err
		})})
	e, err := engine.New(&site, engine.Options{Store: s, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()

	for range 2 {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		fmt.Println(rec.Code, rec.Header().Get("X-Cache-Status"), rec.Body)
	}
	e.RevalidatePath(ctx, "/", engine.PagePath, regen.RevalidateExpire)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	fmt.Println(rec.Code, rec.Header().Get("X-Cache-Status"), rec.Body)

	st := s.Stats()
	fmt.Println("available:", st.Available, "pending:", st.Pending)
	// Output:
	// 200 MISS render 1
	// 200 HIT render 1
	// 200 MISS render 2
	// available: false pending: 2
}
