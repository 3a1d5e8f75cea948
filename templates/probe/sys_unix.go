//go:build !wasip1

package probe

import "syscall"

// haveProc: the process's descriptors, resident set and CPU time can be
// read (Linux /proc and getrusage).
const haveProc = true

// cpuNanos is the process's user and system CPU time.
func cpuNanos() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// countFDs counts the entries of /proc/self/fd without allocating (less the
// descriptor it opens to read them). -1 where /proc is missing.
func countFDs(buf []byte) int64 {
	fd, err := syscall.Open("/proc/self/fd", syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return -1
	}
	defer syscall.Close(fd)
	var n int64
	for {
		m, err := syscall.ReadDirent(fd, buf)
		if err != nil || m <= 0 {
			break
		}
		// linux_dirent64: ino u64, off i64, reclen u16, type u8, name.
		for off := 0; off+19 <= m; {
			reclen := int(buf[off+16]) | int(buf[off+17])<<8
			if reclen == 0 {
				break
			}
			name := buf[off+19]
			if name != '.' {
				n++
			}
			off += reclen
		}
	}
	return n - 1 // the descriptor opened here
}

// readRSS reads the resident set size from /proc/self/statm; -1 if unknown.
func readRSS(buf []byte) int64 {
	fd, err := syscall.Open("/proc/self/statm", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return -1
	}
	defer syscall.Close(fd)
	m, err := syscall.Read(fd, buf)
	if err != nil || m <= 0 {
		return -1
	}
	// Fields: size resident shared ...; we want the second.
	field, v := 0, int64(0)
	for _, c := range buf[:m] {
		if c == ' ' {
			if field == 1 {
				return v * int64(syscall.Getpagesize())
			}
			field++
			v = 0
			continue
		}
		if c >= '0' && c <= '9' {
			v = v*10 + int64(c-'0')
		}
	}
	return -1
}
