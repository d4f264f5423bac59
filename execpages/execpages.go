package execpages

// Stats is what Release did: the size of the executable's read-only
// mappings and the process's file-backed resident memory (RssFile)
// before and after, in bytes.
type Stats struct {
	Mapped         int64
	ResidentBefore int64
	ResidentAfter  int64
}
