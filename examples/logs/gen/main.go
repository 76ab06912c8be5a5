// Command gen writes a realistic day of access log for the demo shop
// (examples/shop/site.yaml), in Combined Log Format as nginx writes it, for
// `regen bench --replay`:
//
//	go run ./examples/logs/gen > shop-day.log
//	go run ./cmd/regen bench --replay shop-day.log
//
// The day has a daily curve (a trough at 4 am, peaks at noon and 8 pm), a
// newsletter at 10 am that sends a burst of visitors to one product,
// products of Zipf popularity (the four best sellers the site prerenders,
// then a long tail rendered on first request), query strings (campaign
// tags, sorting), a logged-in dashboard, cart POSTs, crawlers going through
// the catalogue evenly, vulnerability scanners, and paths the shop does not
// route (favicon.ico, a trailing slash, an unknown category). The same seed
// writes the same log.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"time"
)

func main() {
	seed := flag.Uint64("seed", 1, "random seed: the same seed writes the same log")
	lines := flag.Int("lines", 300_000, "about how many lines to write")
	day := flag.String("date", "2026-10-10", "the `day` of the log")
	format := flag.String("format", "combined", "combined (nginx's default) or json (one object per line)")
	flag.Parse()
	zone := time.FixedZone("", -7*3600)
	start, err := time.ParseInLocation("2006-01-02", *day, zone)
	if err != nil || *lines < 1 || (*format != "combined" && *format != "json") {
		fmt.Fprintln(os.Stderr, "gen: want --date YYYY-MM-DD, --lines above 0 and --format combined or json")
		os.Exit(2)
	}
	out := bufio.NewWriterSize(os.Stdout, 1<<16)
	defer out.Flush()
	g := newGen(*seed)
	// The rate of each second follows the daily curve, scaled so that the
	// day has about the lines asked for.
	var total float64
	for s := range 86400 {
		total += curve(float64(s) / 3600)
	}
	scale := float64(*lines) / total
	for s := range 86400 {
		h := float64(s) / 3600
		n := g.poisson(curve(h) * scale)
		for k := range n {
			t := start.Add(time.Duration(s)*time.Second + time.Duration(k)*time.Second/time.Duration(n))
			for _, r := range g.visit(h) {
				r.write(out, t, *format)
			}
		}
	}
}

// curve is the relative traffic at hour h of the day: a trough at 4 am,
// a lunch peak, a higher evening peak, and a newsletter at 10 am.
func curve(h float64) float64 {
	bump := func(at, width, height float64) float64 {
		d := h - at
		return height * math.Exp(-d*d/(2*width*width))
	}
	return 0.12 + bump(12.5, 2.2, 0.7) + bump(20.5, 2.0, 1.0) + bump(10.2, 0.4, 0.5) + bump(16, 3, 0.3)
}

// A request as the log shows it.
type request struct {
	ip, method, target, agent, referer string
	status, size                       int
}

func (r request) write(w *bufio.Writer, t time.Time, format string) {
	if format == "json" {
		fmt.Fprintf(w, `{"time":%q,"remote_addr":%q,"method":%q,"path":%q,"status":%d,"bytes":%d,"user_agent":%q}`+"\n",
			t.Format(time.RFC3339), r.ip, r.method, r.target, r.status, r.size, r.agent)
		return
	}
	fmt.Fprintf(w, "%s - - [%s] \"%s %s HTTP/1.1\" %d %d %q %q\n",
		r.ip, t.Format("02/Jan/2006:15:04:05 -0700"), r.method, r.target, r.status, r.size, r.referer, r.agent)
}

// The shop's catalogue: the four best sellers its spec prerenders, then a
// long tail that renders on first request.
var (
	bestSellers = []string{"sneakers", "sun-hat", "rain-jacket", "wool-socks"}
	categories  = []string{"shoes", "hats", "outerwear"}
	browsers    = []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36",
		"Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0",
	}
	crawlers = []string{
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
		"Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
	}
	probes  = []string{"/wp-login.php", "/.env", "/xmlrpc.php", "/wp-admin/", "/phpmyadmin/", "/.git/config", "/admin.php", "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php"}
	sources = []string{"?utm_source=instagram", "?utm_source=google&utm_medium=cpc", "?ref=partner", "?sort=price", "?page=2"}
)

type gen struct {
	rng      *rand.Rand
	products []string
	weights  []float64 // cumulative Zipf weights of products
	crawl    int       // the crawler's position in the catalogue
}

func newGen(seed uint64) *gen {
	g := &gen{rng: rand.New(rand.NewPCG(seed, 0x109))}
	g.products = append(g.products, bestSellers...)
	adjectives := []string{"linen", "canvas", "leather", "cotton", "merino", "denim", "suede", "silk"}
	things := []string{"scarf", "boots", "cap", "gloves", "belt", "sandals", "beanie", "parka"}
	for _, a := range adjectives {
		for _, t := range things {
			g.products = append(g.products, a+"-"+t)
		}
	}
	var sum float64
	for k := range g.products {
		sum += 1 / math.Pow(float64(k+1), 1.05)
		g.weights = append(g.weights, sum)
	}
	return g
}

func (g *gen) poisson(mean float64) int {
	// Knuth's method: means here are a few per second.
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= g.rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func (g *gen) pick(list []string) string { return list[g.rng.IntN(len(list))] }

func (g *gen) product() string {
	x := g.rng.Float64() * g.weights[len(g.weights)-1]
	for k, w := range g.weights {
		if x < w {
			return g.products[k]
		}
	}
	return g.products[len(g.products)-1]
}

func (g *gen) ip(pool int) string {
	n := g.rng.IntN(pool)
	return fmt.Sprintf("%d.%d.%d.%d", 100+n%100, n/100%256, n*7%256, 1+n*13%254)
}

// visit returns the requests one arrival makes: usually one page view,
// sometimes a crawler's or a scanner's burst, a page and its favicon.
func (g *gen) visit(h float64) []request {
	browser := request{ip: g.ip(20000), method: "GET", agent: g.pick(browsers), referer: "-", status: 200}
	page := func(target string) request {
		r := browser
		r.target, r.size = target, 4000+g.rng.IntN(20000)
		return r
	}
	x := g.rng.Float64()
	// The newsletter at 10 am sends readers to the rain jacket.
	if h > 10 && h < 11.5 && g.rng.Float64() < 0.5*math.Exp(-(h-10)*3) {
		r := page("/products/rain-jacket?utm_source=newsletter&utm_campaign=autumn")
		r.referer = "https://mail.example/"
		return []request{r}
	}
	switch {
	case x < 0.17:
		r := page("/")
		r.referer = "https://www.google.com/"
		if g.rng.Float64() < 0.08 { // a first visit also asks for the favicon
			fav := browser
			fav.target, fav.status, fav.size = "/favicon.ico", 404, 153
			return []request{r, fav}
		}
		return []request{r}
	case x < 0.27:
		target := "/products"
		if g.rng.Float64() < 0.2 {
			target += g.pick(sources)
		}
		return []request{page(target)}
	case x < 0.70:
		target := "/products/" + g.product()
		if g.rng.Float64() < 0.12 {
			target += g.pick(sources)
		}
		r := page(target)
		r.referer = "https://shop.example/products"
		return []request{r}
	case x < 0.78:
		return []request{page("/categories/" + g.pick(categories))}
	case x < 0.80:
		return []request{page("/about")}
	case x < 0.86: // logged in
		target := "/dashboard"
		if g.rng.Float64() < 0.25 {
			target = "/dashboard/settings"
		}
		return []request{page(target)}
	case x < 0.89: // adding to the cart: not a page
		r := browser
		r.method, r.target, r.status, r.size = "POST", "/api/cart", 201, 64
		return []request{r}
	case x < 0.90: // paths the shop does not route
		r := browser
		r.status, r.size = 404, 153
		switch g.rng.IntN(4) {
		case 0:
			r.target = "/categories/sale"
		case 1:
			r.target, r.status = "/products/", 308
		case 2:
			r.target = "/robots.txt"
		default:
			r.target = "/apple-touch-icon.png"
		}
		return []request{r}
	case x < 0.9985: // a crawler, going through the catalogue in order
		r := request{ip: "66.249.66." + fmt.Sprint(1+g.rng.IntN(200)), method: "GET", agent: g.pick(crawlers), referer: "-", status: 200, size: 9000}
		all := len(g.products) + len(categories) + 3
		switch k := g.crawl % all; {
		case k < len(g.products):
			r.target = "/products/" + g.products[k]
		case k < len(g.products)+len(categories):
			r.target = "/categories/" + categories[k-len(g.products)]
		case k == all-3:
			r.target = "/"
		case k == all-2:
			r.target = "/products"
		default:
			r.target, r.status, r.size = "/robots.txt", 404, 153
		}
		g.crawl++
		return []request{r}
	default: // a vulnerability scanner's burst
		ip := g.ip(50)
		var out []request
		for range 10 + g.rng.IntN(30) {
			out = append(out, request{ip: ip, method: "GET", target: g.pick(probes), agent: "Mozilla/5.0 zgrab/0.x", referer: "-", status: 404, size: 153})
		}
		return out
	}
}
