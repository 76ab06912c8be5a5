package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/regen-dev/regen/fetchcache"
)

type link struct{ Href, Title string }

type product struct {
	Slug, Title, Description string
	Category                 string
	Cents                    int
	Featured                 bool
}

type category struct {
	Slug, Title string
	Products    []product
}

type stock struct {
	Slug    string
	InStock int
}

// catalog is the shop's API, in process: the origin the Data Cache asks. In
// a real application it is your CMS or database. Each stock request sells
// one item, so the stock shown changes as pages are regenerated. A catalog is
// safe for concurrent use.
type catalog struct {
	latency  time.Duration
	products []product

	mu    sync.Mutex     // protects stock
	stock map[string]int // slug → items left
}

var _ fetchcache.Fetcher = (*catalog)(nil)

func newCatalog(latency time.Duration) *catalog {
	c := &catalog{
		latency: latency,
		products: []product{
			{"sneakers", "Sneakers", "White canvas sneakers.", "shoes", 5900, true},
			{"boots", "Boots", "Leather boots for the rain.", "shoes", 12900, false},
			{"sun-hat", "Sun hat", "A wide-brimmed straw hat.", "hats", 2500, true},
			{"beanie", "Beanie", "A warm knitted beanie.", "hats", 1900, false},
			{"rain-jacket", "Rain jacket", "Light and waterproof.", "outerwear", 8900, true},
			{"wool-socks", "Wool socks", "Three pairs of merino socks.", "shoes", 1500, false},
		},
		stock: map[string]int{},
	}
	for i, p := range c.products {
		c.stock[p.Slug] = 10 * (i + 1)
	}
	return c
}

var categories = []category{{Slug: "shoes", Title: "Shoes"}, {Slug: "hats", Title: "Hats"}, {Slug: "outerwear", Title: "Outerwear"}}

// Fetch answers the shop's API URLs after the catalog's latency: 200 with a
// JSON body, or 404.
func (c *catalog) Fetch(ctx context.Context, req *fetchcache.Request) (*fetchcache.Response, error) {
	t := time.NewTimer(c.latency)
	select {
	case <-ctx.Done():
		t.Stop()
		return nil, ctx.Err()
	case <-t.C:
	}
	v, ok := c.answer(req.URL)
	if !ok {
		return &fetchcache.Response{Status: http.StatusNotFound}, nil
	}
	body, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return &fetchcache.Response{Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Body: body}, nil
}

func (c *catalog) answer(url string) (any, bool) {
	switch url {
	case "/api/nav":
		return []link{{"/", "Home"}, {"/products", "Products"}, {"/about", "About"}, {"/dashboard", "Account"}}, true
	case "/api/products":
		return c.products, true
	case "/api/products?featured=1":
		var out []product
		for _, p := range c.products {
			if p.Featured {
				out = append(out, p)
			}
		}
		return out, true
	case "/api/categories":
		return categories, true
	case "/api/plans":
		return []string{"free", "plus"}, true
	case "/api/orders":
		return []string{"#1001 sneakers", "#1002 sun-hat"}, true
	case "/api/pages/about":
		return struct{ Title, Body string }{"About us", "We sell a few good things."}, true
	}
	if rest, ok := strings.CutPrefix(url, "/api/products/"); ok {
		slug, isStock := strings.CutSuffix(rest, "/stock")
		for _, p := range c.products {
			if p.Slug != slug {
				continue
			}
			if !isStock {
				return p, true
			}
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.stock[slug] > 0 {
				c.stock[slug]--
			}
			return stock{slug, c.stock[slug]}, true
		}
		return nil, false
	}
	if slug, ok := strings.CutPrefix(url, "/api/categories/"); ok {
		for _, cat := range categories {
			if cat.Slug == slug {
				for _, p := range c.products {
					if p.Category == slug {
						cat.Products = append(cat.Products, p)
					}
				}
				return cat, true
			}
		}
	}
	return nil, false
}
