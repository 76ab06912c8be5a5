package bench

import (
	"github.com/prometheus/client_golang/prometheus"
)

// counts are what the engines under test counted, read from their
// Prometheus metrics, as a dashboard reads them from regen serve.
type counts struct {
	hit, stale, miss, bypass int64 // regen_requests_total by cache
	renders                  int64 // regen_renders_total, every reason and result
	origin                   int64 // regen_origin_fetches_total, every result
}

// sub returns c - d.
func (c counts) sub(d counts) counts {
	return counts{c.hit - d.hit, c.stale - d.stale, c.miss - d.miss, c.bypass - d.bypass, c.renders - d.renders, c.origin - d.origin}
}

// readCounts gathers g's regen counters.
func readCounts(g prometheus.Gatherer) (counts, error) {
	mfs, err := g.Gather()
	if err != nil {
		return counts{}, err
	}
	var c counts
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			v := int64(m.GetCounter().GetValue())
			switch mf.GetName() {
			case "regen_requests_total":
				for _, l := range m.GetLabel() {
					if l.GetName() != "cache" {
						continue
					}
					switch l.GetValue() {
					case "hit":
						c.hit += v
					case "stale":
						c.stale += v
					case "miss":
						c.miss += v
					case "bypass":
						c.bypass += v
					}
				}
			case "regen_renders_total":
				c.renders += v
			case "regen_origin_fetches_total":
				c.origin += v
			}
		}
	}
	return c, nil
}
