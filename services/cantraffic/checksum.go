package cantraffic

import "fmt"

// crc8 is a CRC-8 without reflection and without a final XOR.
func crc8(poly, crc byte, data []byte) byte {
	for _, b := range data {
		crc ^= b
		for range 8 {
			if crc&0x80 != 0 {
				crc = crc<<1 ^ poly
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// CRC8SAEJ1850 is the CRC-8 of SAE J1850 (AUTOSAR Crc_CalculateCRC8):
// polynomial 0x1D, initial value 0xFF, final XOR 0xFF. Its check value
// (the CRC of "123456789") is 0x4B.
func CRC8SAEJ1850(data []byte) byte { return crc8(0x1D, 0xFF, data) ^ 0xFF }

// CRC8H2F is AUTOSAR's CRC-8 0x2F (Crc_CalculateCRC8H2F): polynomial 0x2F,
// initial value 0xFF, final XOR 0xFF. Its check value is 0xDF.
func CRC8H2F(data []byte) byte { return crc8(0x2F, 0xFF, data) ^ 0xFF }

// E2E Profile 1 data ID modes.
const (
	DataIDBoth = "both" // both bytes of the data ID, low byte first (the default)
	DataIDAlt  = "alt"  // the low byte for even counters, the high byte for odd ones
	DataIDLow  = "low"  // the low byte only
)

// E2EProfile1CRC is the CRC of AUTOSAR E2E Profile 1 for data whose CRC
// is in byte crcByte (left out of the CRC): the CRC-8 of SAE J1850
// polynomial computed, as E2E_P01 chains Crc_CalculateCRC8, with an
// effective initial value and final XOR of 0x00, over the data ID (as
// mode says) and then the data.
func E2EProfile1CRC(data []byte, crcByte int, dataID uint16, mode string, counter uint8) byte {
	lo, hi := byte(dataID), byte(dataID>>8)
	var crc byte
	switch mode {
	case DataIDAlt:
		if counter%2 == 0 {
			crc = crc8(0x1D, 0, []byte{lo})
		} else {
			crc = crc8(0x1D, 0, []byte{hi})
		}
	case DataIDLow:
		crc = crc8(0x1D, 0, []byte{lo})
	default:
		crc = crc8(0x1D, 0, []byte{lo, hi})
	}
	crc = crc8(0x1D, crc, data[:crcByte])
	return crc8(0x1D, crc, data[crcByte+1:])
}

// E2EProfile2CRC is the CRC of AUTOSAR E2E Profile 2: CRC8H2F over the
// data without byte crcByte, then the data ID of the counter's value.
func E2EProfile2CRC(data []byte, crcByte int, dataID byte) byte {
	crc := crc8(0x2F, 0xFF, data[:crcByte])
	crc = crc8(0x2F, crc, data[crcByte+1:])
	return crc8(0x2F, crc, []byte{dataID}) ^ 0xFF
}

// Checksum types of ChecksumArgs.Type.
const (
	ChecksumCRC8  = "crc8"    // CRC-8 SAE J1850 over the payload without the checksum byte
	ChecksumE2EP1 = "e2e_p01" // AUTOSAR E2E Profile 1
	ChecksumE2EP2 = "e2e_p02" // AUTOSAR E2E Profile 2
)

// checksum writes one message's checksum.
type checksum struct {
	typ     string
	at      int // byte of the checksum
	dataID  uint16
	dataIDs [16]byte // Profile 2: by counter value
	mode    string
}

// compute returns the checksum of p for the counter value of the frame.
func (c *checksum) compute(p []byte, counter uint64) byte {
	switch c.typ {
	case ChecksumE2EP1:
		return E2EProfile1CRC(p, c.at, c.dataID, c.mode, uint8(counter))
	case ChecksumE2EP2:
		return E2EProfile2CRC(p, c.at, c.dataIDs[counter%16])
	}
	crc := crc8(0x1D, 0xFF, p[:c.at])
	return crc8(0x1D, crc, p[c.at+1:]) ^ 0xFF
}

func newChecksum(a ChecksumArgs, at int, hasCounter bool) (*checksum, error) {
	c := &checksum{typ: a.Type, at: at, dataID: uint16(a.DataID), mode: a.DataIDMode}
	switch a.Type {
	case ChecksumCRC8:
	case ChecksumE2EP1:
		switch a.DataIDMode {
		case "":
			c.mode = DataIDBoth
		case DataIDBoth, DataIDAlt, DataIDLow:
		default:
			return nil, fmt.Errorf("data_id_mode %q: want both, alt or low", a.DataIDMode)
		}
		if a.DataID > 0xFFFF {
			return nil, fmt.Errorf("data_id %s: Profile 1 data IDs have 16 bits", a.DataID)
		}
	case ChecksumE2EP2:
		switch len(a.DataIDs) {
		case 0:
			if a.DataID > 0xFF {
				return nil, fmt.Errorf("data_id %s: Profile 2 data IDs have 8 bits", a.DataID)
			}
			for i := range c.dataIDs {
				c.dataIDs[i] = byte(a.DataID)
			}
		case 16:
			for i, id := range a.DataIDs {
				if id > 0xFF {
					return nil, fmt.Errorf("data_ids[%d] %s: Profile 2 data IDs have 8 bits", i, id)
				}
				c.dataIDs[i] = byte(id)
			}
		default:
			return nil, fmt.Errorf("data_ids: want 16 (one per counter value), got %d", len(a.DataIDs))
		}
	default:
		return nil, fmt.Errorf("type %q: want crc8, e2e_p01 or e2e_p02", a.Type)
	}
	if a.Type != ChecksumCRC8 && !hasCounter {
		return nil, fmt.Errorf("type %s needs an alive counter for the message (counters)", a.Type)
	}
	return c, nil
}
