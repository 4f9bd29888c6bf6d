package dbc

// Bit layout of signals in a payload, for frames of any length up to 64
// bytes. Bits are numbered as DBC files number them: bit i of byte n is
// bit 8n+i, bit 0 the least significant of its byte.
//
// An Intel (little-endian) signal's start bit is its least significant
// bit, and it runs upwards through the bits of a byte and on into the next
// byte. A Motorola (big-endian) signal's start bit is its most significant
// bit; it runs downwards within a byte and on into the next byte's bit 7
// (the "sawtooth"). In the msb-first numbering used below, where bit 7 of
// byte 0 is 0 and bit 0 of byte 1 is 15, a Motorola signal is a plain run
// of bits.

// msbFirst converts a DBC bit number to the msb-first numbering.
func msbFirst(bit int) int { return bit/8*8 + 7 - bit%8 }

// span returns the first and last byte a signal touches, and whether it
// fits in n bytes.
func span(start, size int, bigEndian bool, n int) (lo, hi int, ok bool) {
	if size <= 0 || size > 64 || start < 0 {
		return 0, 0, false
	}
	if bigEndian {
		l := msbFirst(start)
		lo, hi = l/8, (l+size-1)/8
	} else {
		lo, hi = start/8, (start+size-1)/8
	}
	return lo, hi, hi < n
}

// getLE reads an Intel signal of size bits starting at start.
func getLE(data []byte, start, size int) uint64 {
	var v uint64
	pos, got := start, 0
	for got < size {
		bit := pos % 8
		n := min(8-bit, size-got)
		b := uint64(data[pos/8]>>bit) & (1<<n - 1)
		v |= b << got
		got += n
		pos += n
	}
	return v
}

// setLE writes the low size bits of v as an Intel signal.
func setLE(data []byte, start, size int, v uint64) {
	pos, put := start, 0
	for put < size {
		bit := pos % 8
		n := min(8-bit, size-put)
		mask := byte(1<<n-1) << bit
		data[pos/8] = data[pos/8]&^mask | byte(v>>put)<<bit&mask
		put += n
		pos += n
	}
}

// getBE reads a Motorola signal of size bits whose most significant bit
// is start.
func getBE(data []byte, start, size int) uint64 {
	var v uint64
	pos, left := msbFirst(start), size
	for left > 0 {
		off := pos % 8 // from the byte's msb
		n := min(8-off, left)
		b := uint64(data[pos/8]>>(8-off-n)) & (1<<n - 1)
		v = v<<n | b
		left -= n
		pos += n
	}
	return v
}

// setBE writes the low size bits of v as a Motorola signal.
func setBE(data []byte, start, size int, v uint64) {
	pos, left := msbFirst(start), size
	for left > 0 {
		off := pos % 8
		n := min(8-off, left)
		shift := 8 - off - n
		mask := byte(1<<n-1) << shift
		chunk := byte(v>>(left-n)) << shift
		data[pos/8] = data[pos/8]&^mask | chunk&mask
		left -= n
		pos += n
	}
}

// signExtend interprets the low size bits of v as two's complement.
func signExtend(v uint64, size int) int64 {
	if size >= 64 {
		return int64(v)
	}
	shift := 64 - size
	return int64(v<<shift) >> shift
}
