package can

import "time"

// FrameBits returns how many bits f occupies on the bus, worst case, split
// into the bits sent at the nominal bitrate and, for a CAN FD frame with
// BRS, those sent at the data bitrate (data is 0 otherwise: all bits are
// nominal). n is the payload length (0 for a remote frame).
//
// Classic frames, with the worst-case bit stuffing of Davis et al. ("CAN
// schedulability analysis: refuted, revisited and revised", 2007): g bits
// (SOF to CRC less data) are subject to stuffing, one stuff bit at most per
// 4 bits after the first:
//
//	standard: 47 + 8n + ⌊(34 + 8n − 1)/4⌋   (135 bits for 8 bytes)
//	extended: 67 + 8n + ⌊(54 + 8n − 1)/4⌋   (160 bits for 8 bytes)
//
// where 47 = SOF 1, id 11, RTR 1, IDE 1, r0 1, DLC 4, CRC 15, CRC delimiter
// 1, ACK 2, EOF 7, IFS 3; and 67 adds SRR 1, 18 more id bits and r1 1.
//
// CAN FD frames (ISO 11898-1:2015), with a = 17 arbitration bits for a
// standard id (SOF, id 11, RRS, IDE, FDF, res, BRS) or 36 for an extended
// one (SOF, id 11, SRR, IDE, id 18, RRS, FDF, res, BRS):
//
//	nominal: a + ⌊(a − 1)/4⌋ + 12                       (ACK 2, EOF 7, IFS 3)
//	data:    5 + 8n + ⌊(5 + 8n)/4⌋ + 4 + c + s + 1     (ESI, DLC, data, stuffing,
//	                                                     stuff count, CRC, fixed
//	                                                     stuff bits, CRC delimiter)
//
// with CRC c = 17 bits and s = 6 fixed stuff bits for n ≤ 16, else c = 21 and
// s = 7. The phase switch at the BRS and CRC delimiter sample points is
// rounded to whole bits as above.
func FrameBits(f *Frame) (nominal, data int) {
	n := int(f.Len)
	if f.Remote && !f.FD {
		n = 0
	}
	if !f.FD {
		over, g := 47, 34
		if f.Extended {
			over, g = 67, 54
		}
		return over + 8*n + (g+8*n-1)/4, 0
	}
	a := 17
	if f.Extended {
		a = 36
	}
	crc, fixed := 17, 6
	if n > 16 {
		crc, fixed = 21, 7
	}
	nominal = a + (a-1)/4 + 12
	data = 5 + 8*n + (5+8*n)/4 + 4 + crc + fixed + 1
	if !f.BRS {
		return nominal + data, 0
	}
	return nominal, data
}

// FrameDuration returns how long f occupies a bus with the given nominal
// and data-phase bitrates in bit/s (see FrameBits), rounded up to the
// nanosecond. A dataBitrate of 0 means the nominal bitrate; a bitrate of 0
// or less gives 0.
func FrameDuration(f *Frame, bitrate, dataBitrate int) time.Duration {
	if bitrate <= 0 {
		return 0
	}
	if dataBitrate <= 0 {
		dataBitrate = bitrate
	}
	nominal, data := FrameBits(f)
	return bitsDuration(nominal, bitrate) + bitsDuration(data, dataBitrate)
}

func bitsDuration(bits, rate int) time.Duration {
	ns := (int64(bits)*int64(time.Second) + int64(rate) - 1) / int64(rate)
	return time.Duration(ns)
}
