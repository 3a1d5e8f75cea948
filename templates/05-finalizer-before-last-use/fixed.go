package scenario

import "runtime"

// ReadByte is the seed's fix: f is kept alive past the native call.
func ReadByte(f *File) byte {
	b := readByte(f.c)
	runtime.KeepAlive(f) // forces the liveness analyzer to mark f used here
	return b
}
