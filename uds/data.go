package uds

import "fmt"

// ReadDataByIdentifierRequest is 22 <DID> [<DID> ...]: one or more 2-byte
// data identifiers.
type ReadDataByIdentifierRequest struct {
	DIDs []uint16
}

// Service returns SIDReadDataByIdentifier.
func (ReadDataByIdentifierRequest) Service() SID { return SIDReadDataByIdentifier }

// MarshalBinary encodes the request; it needs at least one DID.
func (r ReadDataByIdentifierRequest) MarshalBinary() ([]byte, error) {
	e := newEncoder(SIDReadDataByIdentifier, false, 1+2*len(r.DIDs))
	if len(r.DIDs) == 0 {
		e.fail("no data identifier")
	}
	for _, did := range r.DIDs {
		e.uint16(did)
	}
	return e.result()
}

// UnmarshalBinary decodes the request.
func (r *ReadDataByIdentifierRequest) UnmarshalBinary(b []byte) error {
	d := newDecoder(b, SIDReadDataByIdentifier, false)
	dids := make([]uint16, 0, len(d.b)/2)
	dids = append(dids, d.uint16("data identifier"))
	for d.err == nil && len(d.b) > 0 {
		dids = append(dids, d.uint16("data identifier"))
	}
	if err := d.finish(); err != nil {
		return err
	}
	r.DIDs = dids
	return nil
}

// DataRecord is one data identifier and its value.
type DataRecord struct {
	DID  uint16
	Data []byte
}

// DataLengthFunc tells the length of a data identifier's value, which a
// ReadDataByIdentifier response does not carry. ok is false for a DID it
// does not know.
type DataLengthFunc func(did uint16) (n int, ok bool)

// ReadDataByIdentifierResponse is 62 <DID> <data> [<DID> <data> ...].
//
// The response does not say where one value ends, so it has two decoded
// forms: UnmarshalBinary gives the raw form, a single record holding the
// first DID and all the bytes after it, which is exact for the common
// single-DID request; UnmarshalWithLengths splits the records using the
// value length of each DID.
type ReadDataByIdentifierResponse struct {
	Records []DataRecord
}

// Service returns SIDReadDataByIdentifier.
func (ReadDataByIdentifierResponse) Service() SID { return SIDReadDataByIdentifier }

// MarshalBinary encodes the response; it needs at least one record.
func (r ReadDataByIdentifierResponse) MarshalBinary() ([]byte, error) {
	n := 1
	for _, rec := range r.Records {
		n += 2 + len(rec.Data)
	}
	e := newEncoder(SIDReadDataByIdentifier, true, n)
	if len(r.Records) == 0 {
		e.fail("no data record")
	}
	for _, rec := range r.Records {
		e.uint16(rec.DID)
		e.bytes(rec.Data)
	}
	return e.result()
}

// UnmarshalBinary decodes the response in its raw form: one record with the
// first DID and every byte after it as its data.
func (r *ReadDataByIdentifierResponse) UnmarshalBinary(b []byte) error {
	d := newDecoder(b, SIDReadDataByIdentifier, true)
	did := d.uint16("data identifier")
	data := d.rest()
	if err := d.finish(); err != nil {
		return err
	}
	r.Records = []DataRecord{{DID: did, Data: data}}
	return nil
}

// UnmarshalWithLengths decodes the response, splitting it into records with
// length. A DID that length does not know gives ErrInvalidValue; a
// response shorter or longer than the lengths say gives ErrTruncated or
// ErrTrailingData.
func (r *ReadDataByIdentifierResponse) UnmarshalWithLengths(b []byte, length DataLengthFunc) error {
	d := newDecoder(b, SIDReadDataByIdentifier, true)
	var recs []DataRecord
	for d.err == nil && (len(recs) == 0 || len(d.b) > 0) {
		did := d.uint16("data identifier")
		if d.err != nil {
			break
		}
		n, ok := length(did)
		if !ok || n < 0 {
			d.fail(ErrInvalidValue, fmt.Sprintf("unknown length of data identifier 0x%04X", did))
			break
		}
		data := d.take(n, fmt.Sprintf("data of 0x%04X", did))
		recs = append(recs, DataRecord{DID: did, Data: append([]byte(nil), data...)})
	}
	if err := d.finish(); err != nil {
		return err
	}
	r.Records = recs
	return nil
}

// WriteDataByIdentifierRequest is 2E <DID> <data>; the data must not be
// empty.
type WriteDataByIdentifierRequest struct {
	DID  uint16
	Data []byte
}

// Service returns SIDWriteDataByIdentifier.
func (WriteDataByIdentifierRequest) Service() SID { return SIDWriteDataByIdentifier }

// MarshalBinary encodes the request.
func (r WriteDataByIdentifierRequest) MarshalBinary() ([]byte, error) {
	e := newEncoder(SIDWriteDataByIdentifier, false, 3+len(r.Data))
	if len(r.Data) == 0 {
		e.fail("empty data record")
	}
	e.uint16(r.DID)
	e.bytes(r.Data)
	return e.result()
}

// UnmarshalBinary decodes the request.
func (r *WriteDataByIdentifierRequest) UnmarshalBinary(b []byte) error {
	d := newDecoder(b, SIDWriteDataByIdentifier, false)
	did := d.uint16("data identifier")
	data := d.rest()
	if d.err == nil && len(data) == 0 {
		d.fail(ErrTruncated, "empty data record")
	}
	if err := d.finish(); err != nil {
		return err
	}
	*r = WriteDataByIdentifierRequest{DID: did, Data: data}
	return nil
}

// WriteDataByIdentifierResponse is 6E <DID>.
type WriteDataByIdentifierResponse struct {
	DID uint16
}

// Service returns SIDWriteDataByIdentifier.
func (WriteDataByIdentifierResponse) Service() SID { return SIDWriteDataByIdentifier }

// MarshalBinary encodes the response.
func (r WriteDataByIdentifierResponse) MarshalBinary() ([]byte, error) {
	e := newEncoder(SIDWriteDataByIdentifier, true, 3)
	e.uint16(r.DID)
	return e.result()
}

// UnmarshalBinary decodes the response.
func (r *WriteDataByIdentifierResponse) UnmarshalBinary(b []byte) error {
	d := newDecoder(b, SIDWriteDataByIdentifier, true)
	did := d.uint16("data identifier")
	if err := d.finish(); err != nil {
		return err
	}
	r.DID = did
	return nil
}
