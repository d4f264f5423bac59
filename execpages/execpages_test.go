package execpages

import (
	"runtime"
	"testing"
)

func TestReadOnlyRanges(t *testing.T) {
	maps := []byte(`00400000-01f2d000 r-xp 00000000 fe:00 42                         /usr/bin/bridge
01f2d000-037fe000 r--p 01b2d000 fe:00 42                         /usr/bin/bridge
037fe000-03b31000 rw-p 033fe000 fe:00 42                         /usr/bin/bridge
03b31000-05b80000 rw-p 00000000 00:00 0
7f0000000000-7f0000100000 r--s 00000000 fe:00 42                 /usr/bin/bridge
7fb87326d000-7fb873293000 r--p 00000000 fe:00 7                  /usr/lib/x86_64-linux-gnu/libc.so.6
7ffd1000-7ffd2000 r-xp 00000000 00:00 0                          [vdso]
`)
	got, err := readOnlyRanges(maps, 42)
	if err != nil {
		t.Fatal(err)
	}
	want := []addrRange{{0x400000, 0x1f2d000}, {0x1f2d000, 0x37fe000}}
	if len(got) != len(want) {
		t.Fatalf("got %d ranges %x, want %x", len(got), got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("range %d: got %x, want %x", i, got[i], want[i])
		}
	}
	if _, err := readOnlyRanges([]byte("zz-01 r-xp 00000000 fe:00 42 /x\n"), 42); err == nil {
		t.Error("a malformed line of our executable was accepted")
	}
}

// TestRelease releases this test binary's pages and checks that they were
// resident before, fewer after, and that the program still runs (it is
// running the code whose pages it dropped).
func TestRelease(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Release does something on Linux only")
	}
	st, err := Release()
	if err != nil {
		t.Fatal(err)
	}
	if st.Mapped <= 0 {
		t.Fatalf("no read-only mapping of the executable found: %+v", st)
	}
	if st.ResidentBefore <= 0 || st.ResidentAfter >= st.ResidentBefore {
		t.Fatalf("file-backed resident memory did not shrink: %+v", st)
	}
	// The code runs again from the page cache.
	if _, err := Release(); err != nil {
		t.Fatal(err)
	}
	t.Logf("mapped %d KiB; file-backed resident %d KiB before, %d KiB after",
		st.Mapped>>10, st.ResidentBefore>>10, st.ResidentAfter>>10)
}
