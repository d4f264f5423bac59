// Package execpages gives back to the kernel the pages of the running
// executable that only start-up needed.
//
// A Go binary of this size touches pages all over its code and read-only
// data while it starts: every package's initialisation (go-fed's
// vocabulary alone is some 400 generated packages), and the kernel maps
// 64 KiB around every page a fault brings in. Those pages are clean copies
// of the file, reclaimable at any time, yet they are counted in the
// process's resident set (RSS) for as long as it runs, about 30 MiB of it
// here. Release unmaps them once the server has started; the pages used
// afterwards come back on demand from the page cache (a minor fault), so
// the resident set is what the process really uses.
//
// Imports: no other package of this project.
package execpages
