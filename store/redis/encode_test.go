package redis

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/store"
)

var encodeTests = []struct {
	name string
	it   *store.Item
}{
	{"empty", &store.Item{}},
	{"page", &store.Item{
		Status:     200,
		Header:     http.Header{"Content-Type": {"text/html; charset=utf-8"}, "Etag": {`"abc"`}, "Vary": {"A", "B"}},
		Body:       []byte("<h1>Hello</h1>"),
		Tags:       []string{"posts", "_N_T_/layout", "_N_T_/blog/hello"},
		Created:    time.Date(2025, 6, 1, 12, 0, 0, 123456789, time.UTC),
		Revalidate: regen.Seconds(60),
		Expire:     365 * 24 * time.Hour,
	}},
	{"forever", &store.Item{Status: 404, Revalidate: regen.Forever, Created: time.Unix(0, 1)}},
	{"never", &store.Item{Status: 500, Revalidate: regen.Never, Created: time.Unix(-1, 0)}},
	{"binary body", &store.Item{Status: 200, Body: []byte{0, 1, 2, 255}, Tags: []string{"\x00\n"}}},
}

func TestEncodeRoundTrip(t *testing.T) {
	for _, tt := range encodeTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeItem(encodeItem(tt.it))
			if err != nil {
				t.Fatalf("decodeItem(encodeItem(%v)) error: %v", tt.name, err)
			}
			if diff := cmp.Diff(tt.it, got, cmpopts.EquateEmpty(), cmpopts.EquateApproxTime(0)); diff != "" {
				t.Errorf("decodeItem(encodeItem(item)) mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTimeBitsOrder checks that the byte order of encoded times is their
// time order, which the scripts rely on.
func TestTimeBitsOrder(t *testing.T) {
	times := []time.Time{
		{},
		time.Unix(-1<<31, 0),
		time.Unix(-1, 0),
		time.Unix(0, 0),
		time.Unix(0, 1),
		time.Unix(1, 0),
		time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC),
		time.Date(2025, 6, 1, 12, 0, 0, 1, time.UTC),
	}
	for i := 1; i < len(times); i++ {
		a, b := timeBits(times[i-1]), timeBits(times[i])
		if a >= b {
			t.Errorf("timeBits(%v) = %x >= timeBits(%v) = %x; want less", times[i-1], a, times[i], b)
		}
		if got := bitsTime(b); !got.Equal(times[i]) {
			t.Errorf("bitsTime(timeBits(%v)) = %v", times[i], got)
		}
	}
}

func TestMessageRoundTrip(t *testing.T) {
	id := [idLen]byte{1, 2, 3, 4, 5, 6, 7, 8}
	tags := []tagEntry{{"posts", tagTimes{stale: 5}}, {"_N_T_/blog", tagTimes{expire: 7}}}
	m, err := decodeMessage(string(encodeTagsMsg(id, tags)))
	if err != nil {
		t.Fatalf("decodeMessage(tags) error: %v", err)
	}
	want := message{kind: msgTags, from: id, tags: tags}
	if diff := cmp.Diff(want, m, cmp.AllowUnexported(message{}, tagEntry{}, tagTimes{})); diff != "" {
		t.Errorf("tags message mismatch (-want +got):\n%s", diff)
	}
	for _, kind := range []byte{msgSet, msgDelete} {
		m, err := decodeMessage(string(encodeKeyMsg(kind, id, anyTime, "/blog/hello")))
		if err != nil {
			t.Fatalf("decodeMessage(%c) error: %v", kind, err)
		}
		want := message{kind: kind, from: id, key: "/blog/hello", at: anyTime}
		if diff := cmp.Diff(want, m, cmp.AllowUnexported(message{})); diff != "" {
			t.Errorf("%c message mismatch (-want +got):\n%s", kind, diff)
		}
	}
	for _, bad := range []string{"", "T", "X12345678", "T12345678\x05", "K12345678abc"} {
		if _, err := decodeMessage(bad); err == nil {
			t.Errorf("decodeMessage(%q) = nil error; want one", bad)
		}
	}
}

// FuzzDecodeItem checks that no input makes decodeItem panic, and that
// whatever it decodes encodes back to an item that decodes the same.
func FuzzDecodeItem(f *testing.F) {
	for _, tt := range encodeTests {
		f.Add(encodeItem(tt.it))
	}
	f.Add([]byte{version})
	f.Fuzz(func(t *testing.T, b []byte) {
		it, err := decodeItem(b)
		if err != nil {
			return
		}
		again, err := decodeItem(encodeItem(it))
		if err != nil {
			t.Fatalf("decodeItem(encodeItem(decodeItem(%q))) error: %v", b, err)
		}
		if diff := cmp.Diff(it, again, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("re-encoding changed the item (-first +second):\n%s", diff)
		}
	})
}

// FuzzDecodeMessage checks that no message makes the decoder panic.
func FuzzDecodeMessage(f *testing.F) {
	id := [idLen]byte{}
	f.Add(string(encodeTagsMsg(id, []tagEntry{{"posts", tagTimes{stale: 1, expire: 2}}})))
	f.Add(string(encodeTagsMsg(id, []tagEntry{{"posts", tagTimes{1, 2, 3, 4}}})))
	f.Add(string(encodeKeyMsg(msgSet, id, 3, "/a")))
	f.Fuzz(func(t *testing.T, s string) { _, _ = decodeMessage(s) })
}
