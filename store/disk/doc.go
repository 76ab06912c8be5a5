/*
Package disk keeps a store's items in a directory so a restart serves the latest pages.

A Store has two tiers: a store.Memory in front, which answers every Get
without allocating, and a directory behind it, written back by background
writers: Set and Delete update the memory tier and return, without waiting
for the disk. Open loads the whole directory into memory; an item the
memory tier later evicts is read back from its pending write or its file
on its next Get. engine.Build writes a site into a Store's
directory; a server that opens it serves every prerendered page as a HIT
without rendering, and its regenerations are written back, so the next
restart serves their versions.

# The directory

	DIR/manifest.json                 the pages: their metadata and files
	DIR/tags.json                     the latest revalidation of each tag
	DIR/journal-000001.jsonl          changes to both since they were written
	DIR/.lock                         held by the process that has DIR open
	DIR/pages/index.html              the body of "/"
	DIR/pages/blog.html               the body of "/blog"
	DIR/pages/blog/hello.html         the body of "/blog/hello"
	DIR/long/<sha256 of key>.html     the body of a path too long to mirror
	DIR/packs/<16 hex digits>.pack    the bodies of the pages and data a build wrote (Batch)
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

A Batch store (a build) does not write a file per page or data entry: it
appends their bodies to one pack, packs/ and 16 random hex digits, one
after the other, and each one's manifest entry (in "pages", or "data" for
Data Cache entries) names the pack and the offset its body starts at
instead of a file. Creating a file cost about 150 µs on ext4 in a VM,
appending a page well under 1 µs: a build of 10,000 tiny pages spent
most of its time creating their files. An entry written again later (a
regeneration while serving) gets a file of its own, as above, and its
bytes in the pack are left unused: a data file wins over its key's packed
entry, which its write drops with a journal record, as does a deletion;
a pack that no entry names any more is removed once a manifest without
it is durable.

# The manifest

manifest.json is versioned JSON, one line per page, by path (shown here
wrapped):

	{
	  "version": 2,
	  "generatedAt": "2025-06-01T12:00:03Z",
	  "pages": {
	    "/blog/hello": {"route":"/blog/[slug]","revalidate":60,"expire":31536000,
	      "tags":["posts","_N_T_/layout","_N_T_/blog/layout",...],"etag":"\"1x2y3z\"",
	      "generatedAt":"2025-06-01T12:00:00Z","file":"pages/blog/hello.html","status":200,
	      "headers":{"Cache-Control":["s-maxage=60, ..."],...},"bytes":5120,"xxhash":"0123456789abcdef"},
	    "/blog/packed": {"route":"/blog/[slug]",...,"pack":"packs/0123456789abcdef.pack","offset":5120,...}
	  },
	  "data": {
	    "fetch:...": {"revalidate":300,"tags":[...],"generatedAt":"...","pack":"packs/0123456789abcdef.pack",
	      "offset":10240,"status":200,"headers":{...},"bytes":1234,"xxhash":"..."}
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
  - file names the page's own file; pack and offset (version 2) the pack
    and the offset its body starts at instead. Open reads only a file the
    key maps to, or a pack by its name, within its length.
  - data (version 2) holds the packed Data Cache entries, with a page's
    fields (generatedAt is the item's Created); the others are files.
  - version is 2 when an entry names a pack, else 1, which earlier
    readers read (tags.json and data files are still version 1); a
    reader reads every version up to Version.

tags.json holds, for each tag ever revalidated, its latest revalidation in
each mode:

	{"version": 1, "tags": {"posts": {"stale": "...", "expire": "..."}}}

A reader meeting a later version than its own refuses the directory (Open
fails) rather than guess.

# One process per directory

One process at a time may have a directory open. Open takes an exclusive
lock (flock(2) with LOCK_NB on Unix, LockFileEx on Windows; none on other
systems) on DIR/.lock and writes its pid, host and start time in it; a
second Open, in this process or another, fails at once with a
*LockedError (matching ErrLocked) that names the lock file and the
holder: "disk: /x/.regen is in use: lock /x/.regen/.lock held by pid 1234
on web-1 (since 2025-06-01T12:00:00Z)". The system releases the lock when
the holder exits, even by kill -9; Close releases it and removes the file.
engine.Build takes the lock of the directory it replaces (LockDir) for
the whole build, so it refuses to start while a server has the directory
open, and a server cannot open it while the build swaps it.

# A directory without a manifest

Open refuses a directory that holds files but no manifest.json (ErrNotStore)
and changes nothing in it: it is not a store's directory, or its manifest
was lost, and serving it would hide or overwrite its files. Rebuild it
(engine.Build, regen build --out DIR), empty it, or pick another. An empty
or missing directory opens as a fresh store: Open writes its (empty)
manifest before anything else, so every directory a store has used has one.
A directory holding only a lock file and the temporary file of that first
manifest (a crash interrupted the first Open) is a fresh store too.

Open removes only files it provably owns: the temporary files (".tmp-"
and random letters) of writes a crash interrupted, logging each. Page
files that no manifest entry names, data files it cannot read and pages
whose file does not match their entry are left in place (and logged),
unserved, until their key is written again.

# The journal

Writing a page does not rewrite the manifest: its manifest entry is
appended to the journal, one line per change,

	<xxhash64 of the JSON, 16 hex digits> {"set":"/blog/hello","page":{...}}
	<...> {"del":"/old"}
	<...> {"tags":{"posts":{"stale":"2025-06-01T12:00:00Z"}}}

and synced: a writer appends the records of its whole batch (see below)
in one write and one sync, and concurrent appends share one sync. Open replays the journal
over manifest.json and tags.json, stopping at the first line that is torn
(no newline) or whose hash does not match, which a crash in the middle of
an append leaves (logged, and ignored). When the journal holds more than
four times the bytes of the last manifest (and over 1 MiB), a background
compaction writes manifest.json and tags.json whole from memory and
removes the segments they reflect; Open and Close compact too, so a
closed directory has no journal and its manifest.json alone describes it.
Replaying a record is idempotent (a page's state, a deletion, tag times
merged by maximum), so a crash in the middle of a compaction loses
nothing. A page write costs its own file and one short appended line:
O(1) in the number of pages.

# Write-back and crashes

Set and Delete update the memory tier and queue the write for one of four
background writers; a key has at most one queued write, its newest
version (a later Set replaces an earlier one still queued), and a Get of
a key whose write is pending answers its newest version. A writer takes
every queued key, up to 128, and commits them together (group commit):
the more writes are queued, the fewer syncs each costs, down to a few per
batch. The queue is bounded (Options.MaxPending keys,
Options.MaxPendingBytes bytes): a Set that finds it full waits for the
writers (back-pressure), or stores nothing if its context ends first;
nothing is ever dropped. A write that fails is logged and reported by the
next Flush; the memory tier keeps the new version and the directory the
previous one. Flush waits for every write queued before it; Close also
compacts; both take as long as the bounded queue takes to write.

Every file, manifest and tags.json included, is written to a temporary
file in its directory and renamed over its name, except a new page's
(one without a manifest entry), which is written at its name directly: no
entry names it until its record is appended. A writer makes its batch's
files durable together: on Linux, with one syncfs(2) when the batch has
8 files or more (which also writes back the rest of the file system's
dirty data), else with a sync each. It then renames them, syncs once
each directory whose entries changed, and appends their records: a
page's journal record is appended only once its file is durable. So a
crash (kill -9, power loss) loses at most the writes still pending, the
renders of its last moments, which are rendered again on demand (a
MISS); it never leaves a torn or a wrong page. A new page's file that a
crash cut short has no entry: it is left in place, unserved, until its
path is written again. A crash between a page's rename and its record
leaves a body that does not match its entry (by bytes and xxhash,
checked on every load and read-back), and Open drops that page, never
serving a body with another version's headers; a writer renames at most
16 pages over older files before their records are durable, so a crash
drops at most 64 pages so. What Flush or Close acknowledged survives
(unless a later write of the same page was caught so), and so does every
RevalidateTags that returned: its record is synced before it returns.

Options.Batch, for a build that writes every page into a directory it
throws away on failure (engine.Build's staging directory), appends each
page and data entry to the store's pack (buffered, written 1 MiB at a
time) before Set returns, without a journal, and defers the manifest, the
tags and the syncs to Flush and Close: on Linux, one syncfs(2) for the
whole build; elsewhere, a sync of the pack and of each directory changed
at Flush. The syncs a
build makes do not depend on its number of pages: 5 for 10 pages as for
10,000 (the first manifest Open writes and its directory, the syncfs, the
build's manifest and its directory).
*/
package disk
