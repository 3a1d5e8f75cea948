package scenario

// ReadByte is the seed's code: after raw is read, f is dead.
func ReadByte(f *File) byte {
	raw := f.c
	b := readByte(raw)
	return b
}
