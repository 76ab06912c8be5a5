/*
Package disk keeps a store's items in a directory so a restart serves the latest pages.

A Store has two tiers: a store.Memory in front, which answers every Get
without allocating, and a directory behind it, written through by every
Set, Delete and RevalidateTags before they return. Open loads the whole
directory into memory; an item the memory tier later evicts is read back
from its file on its next Get. engine.Build writes a site into a Store's
directory; a server that opens it serves every prerendered page as a HIT
without rendering, and its regenerations are written back, so the next
restart serves their versions.

# The directory

	DIR/manifest.json                 the pages: their metadata and files
	DIR/tags.json                     the latest revalidation of each tag
	DIR/pages/index.html              the body of "/"
	DIR/pages/blog.html               the body of "/blog"
	DIR/pages/blog/hello.html         the body of "/blog/hello"
	DIR/long/<sha256 of key>.html     the body of a path too long to mirror
	DIR/data/<sha256 of key>          a Data Cache entry ("fetch:...", "memo:...")

Route entries (keys that start with "/") are written as the page's body at
a path that mirrors the URL, so the pages directory reads like the site.
Each segment is written with the bytes a-z, 0-9, "-", "_" and "~" as they
are and every other byte as %XX (upper-case hex): "/Docs/v1.2" is written
pages/%44ocs/v1%2E2.html. Since no segment's name keeps a dot, a file
("blog.html") never clashes with a directory ("blog"); since upper-case
letters are escaped, two paths never share a file on a case-insensitive
file system. "/" is pages/index.html, so the top-level segment "index" is
written %69ndex, as are (first byte escaped) the device names Windows
reserves (con, nul, com1, ...). A path with an escaped segment longer than
200 bytes, or a file name longer than 1,024, is written under long/ by the
SHA-256 of the key. Keys that are not clean URL paths, with a "." or ".."
segment or an empty one ("//", a trailing "/"), could name a file outside
the directory and are refused with an error matching ErrKey; Open never
reads a file the mapping would not write, whatever the manifest says.

Data Cache entries (every other key) are written to data/ under the
SHA-256 of their key in hex: one line of JSON, a newline, and the body:

	{"version":1,"key":"fetch:...","status":200,"header":{...},"tags":[...],
	 "created":"2025-06-01T12:00:00Z","revalidate":300,"bytes":1234}

# The manifest

manifest.json is versioned JSON, indented, one entry per page, by path:

	{
	  "version": 1,
	  "generatedAt": "2025-06-01T12:00:03Z",
	  "pages": {
	    "/blog/hello": {
	      "route": "/blog/[slug]",
	      "revalidate": 60,
	      "expire": 31536000,
	      "tags": ["posts", "_N_T_/layout", "_N_T_/blog/layout", ...],
	      "etag": "\"1x2y3z\"",
	      "generatedAt": "2025-06-01T12:00:00Z",
	      "file": "pages/blog/hello.html",
	      "status": 200,
	      "headers": {"Cache-Control": ["s-maxage=60, ..."], ...},
	      "bytes": 5120,
	      "xxhash": "0123456789abcdef"
	    }
	  }
	}

The fields:

  - generatedAt (top level) is when the manifest was written, by
    Options.Now; a page's generatedAt is the item's Created (when its
    render started). Times are RFC 3339 in UTC, to the nanosecond.
  - revalidate is a number of seconds, false for regen.Forever (cache until
    revalidated on demand) or 0 for regen.Never; absent when not declared.
  - expire is the age in seconds (with decimals when needed) at which the
    entry is dropped; absent for never.
  - route is the page's route pattern. A store.Item has no route: it is
    read from the implicit tags the engine stores with a page
    (routecache.ImplicitTags): the tag "_N_T_<route>/page". It is absent
    for items that have none.
  - etag repeats the Etag header; bytes and xxhash (xxhash64 in hex) check
    the file against the manifest.

tags.json holds, for each tag ever revalidated, its latest revalidation in
each mode:

	{"version": 1, "tags": {"posts": {"stale": "...", "expire": "..."}}}

A reader meeting another version refuses the directory (Open fails) rather
than guess.

# Crashes

Every file, manifest and tags.json included, is written to a temporary
file (".tmp-" and random letters) in its directory, synced, and renamed
over its name, and the directory is synced: a crash leaves the old file or
the new one, never half of one, and perhaps a temporary file, which Open
removes. A page's body is renamed into place before the manifest is
rewritten; a crash between the two leaves a body that does not match its
manifest entry (by bytes and xxhash), and Open drops that page, so its
next request renders it afresh (a MISS), never serving a body with another
version's headers. Open also removes page files the manifest does not name
(a new page whose manifest entry a crash lost, or a deleted page).

# Cost

Each page's Set rewrites the whole manifest (temporary file, sync,
rename), serialized: for now the manifest is O(pages) per write.
Concurrent Sets share one rewrite (a group commit), and a regeneration is
rare next to the requests it serves. Options.Batch defers the manifest to
Flush and Close, for a build that writes every page at once into a
directory it throws away on failure. Data entries and tag revalidations do
not touch the manifest; tags.json is rewritten by each RevalidateTags.

One process at a time may have a directory open: two would overwrite each
other's manifest.
*/
package disk
