package execpages

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Release advises the kernel (madvise MADV_DONTNEED) that the read-only
// mappings of the running executable are not needed now. Writable
// mappings (the binary's data, which the program changes) are never
// touched: only pages that are exact copies of the file are dropped.
func Release() (Stats, error) {
	var st Stats
	fi, err := os.Stat("/proc/self/exe")
	if err != nil {
		return st, fmt.Errorf("execpages: %w", err)
	}
	sys, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return st, fmt.Errorf("execpages: no inode for /proc/self/exe")
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return st, fmt.Errorf("execpages: %w", err)
	}
	ranges, err := readOnlyRanges(maps, sys.Ino)
	if err != nil {
		return st, err
	}
	st.ResidentBefore = rssFile()
	for _, r := range ranges {
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, r.start, r.end-r.start, syscall.MADV_DONTNEED); errno != 0 {
			return st, fmt.Errorf("execpages: madvise %#x-%#x: %w", r.start, r.end, errno)
		}
		st.Mapped += int64(r.end - r.start)
	}
	st.ResidentAfter = rssFile()
	return st, nil
}

type addrRange struct{ start, end uintptr }

// readOnlyRanges picks, from /proc/self/maps, the private mappings of the
// file with inode ino that are neither writable nor shared. A line reads:
//
//	00400000-01f2d000 r-xp 00000000 fe:00 9979921   /usr/bin/bridge
func readOnlyRanges(maps []byte, ino uint64) ([]addrRange, error) {
	var out []addrRange
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 {
			continue // anonymous mapping
		}
		if n, err := strconv.ParseUint(f[4], 10, 64); err != nil || n != ino {
			continue
		}
		perms := f[1]
		if len(perms) != 4 || perms[1] == 'w' || perms[3] != 'p' {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok {
			return nil, fmt.Errorf("execpages: bad maps line %q", sc.Text())
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			return nil, fmt.Errorf("execpages: bad maps line %q", sc.Text())
		}
		out = append(out, addrRange{uintptr(start), uintptr(end)})
	}
	return out, sc.Err()
}

// rssFile is the process's file-backed resident memory in bytes (0 when
// /proc does not say).
func rssFile() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
