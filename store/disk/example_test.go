package disk_test

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/routecache"
	"github.com/regen-dev/regen/store"
	"github.com/regen-dev/regen/store/disk"
)

func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "regen-disk-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	made := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	opts := disk.Options{Now: func() time.Time { return made.Add(time.Second) }}

	s, err := disk.Open(dir, opts)
	if err != nil {
		panic(err)
	}
	// The engine stores a rendered page like this, with the implicit tags
	// of its route and path.
	s.Set(ctx, "/blog/hello", &store.Item{
		Status:     200,
		Header:     http.Header{"Content-Type": {"text/html; charset=utf-8"}, "Etag": {`"1x2y3z"`}},
		Body:       []byte("<h1>Hello</h1>"),
		Tags:       append([]string{"posts"}, routecache.ImplicitTags("/blog/[slug]", "/blog/hello")...),
		Created:    made,
		Revalidate: regen.Seconds(60),
		Expire:     365 * 24 * time.Hour,
	})
	s.RevalidateTags(ctx, []string{"comments"}, regen.RevalidateStale, made)
	s.Close()

	// A restart: the page is in memory again, served without a render.
	s, err = disk.Open(dir, opts)
	if err != nil {
		panic(err)
	}
	defer s.Close()
	it, ok, _ := s.Get(ctx, "/blog/hello")
	fmt.Printf("%s %v\n\n", it.Body, ok)

	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if rel, _ := filepath.Rel(dir, path); !d.IsDir() {
			fmt.Println(filepath.ToSlash(rel))
		}
		return nil
	})
	m, _ := os.ReadFile(filepath.Join(dir, "manifest.json"))
	fmt.Printf("\n%s", m)
	// Output:
	// <h1>Hello</h1> true
	//
	// .lock
	// manifest.json
	// pages/blog/hello.html
	// tags.json
	//
	// {
	//   "version": 1,
	//   "generatedAt": "2025-06-01T12:00:01Z",
	//   "pages": {
	//     "/blog/hello": {"route":"/blog/[slug]","revalidate":60,"expire":31536000,"tags":["posts","_N_T_/layout","_N_T_/blog/layout","_N_T_/blog/[slug]/layout","_N_T_/blog/[slug]/page","_N_T_/blog/hello"],"etag":"\"1x2y3z\"","generatedAt":"2025-06-01T12:00:00Z","file":"pages/blog/hello.html","status":200,"headers":{"Content-Type":["text/html; charset=utf-8"],"Etag":["\"1x2y3z\""]},"bytes":14,"xxhash":"b838170da983ed44"}
	//   }
	// }
}
