package uds

import "fmt"

// CommunicationControlType is the sub-function of CommunicationControl
// (0x28).
type CommunicationControlType byte

// Control types defined by ISO 14229-1.
const (
	EnableRxAndTx                                      CommunicationControlType = 0x00
	EnableRxAndDisableTx                               CommunicationControlType = 0x01
	DisableRxAndEnableTx                               CommunicationControlType = 0x02
	DisableRxAndTx                                     CommunicationControlType = 0x03
	EnableRxAndDisableTxWithEnhancedAddressInformation CommunicationControlType = 0x04
	EnableRxAndTxWithEnhancedAddressInformation        CommunicationControlType = 0x05
)

// HasNodeID reports whether the control type carries a node identification
// number (0x04 and 0x05).
func (t CommunicationControlType) HasNodeID() bool {
	return t == EnableRxAndDisableTxWithEnhancedAddressInformation ||
		t == EnableRxAndTxWithEnhancedAddressInformation
}

// String returns the ISO 14229-1 name, such as "disableRxAndTx".
func (t CommunicationControlType) String() string {
	switch t {
	case EnableRxAndTx:
		return "enableRxAndTx"
	case EnableRxAndDisableTx:
		return "enableRxAndDisableTx"
	case DisableRxAndEnableTx:
		return "disableRxAndEnableTx"
	case DisableRxAndTx:
		return "disableRxAndTx"
	case EnableRxAndDisableTxWithEnhancedAddressInformation:
		return "enableRxAndDisableTxWithEnhancedAddressInformation"
	case EnableRxAndTxWithEnhancedAddressInformation:
		return "enableRxAndTxWithEnhancedAddressInformation"
	}
	return fmt.Sprintf("CommunicationControlType(0x%02X)", byte(t))
}

// CommunicationType selects the messages CommunicationControl acts on: bits
// 0-1 the kind (below), bits 4-7 a subnet number (0: all, 0xF: the network
// the request came on).
type CommunicationType byte

// Kinds of messages, bits 0-1 of a CommunicationType.
const (
	NormalCommunicationMessages                     CommunicationType = 0x01
	NetworkManagementCommunicationMessages          CommunicationType = 0x02
	NetworkManagementAndNormalCommunicationMessages CommunicationType = 0x03
)

// CommunicationControlRequest is 28 <control type> <communication type>,
// followed by a 2-byte node identification number for control types 0x04
// and 0x05 (see CommunicationControlType.HasNodeID).
type CommunicationControlRequest struct {
	Control       CommunicationControlType
	Communication CommunicationType
	// NodeID is present only when Control.HasNodeID; otherwise it must be
	// zero.
	NodeID                   uint16
	SuppressPositiveResponse bool
}

// Service returns SIDCommunicationControl.
func (CommunicationControlRequest) Service() SID { return SIDCommunicationControl }

// MarshalBinary encodes the request.
func (r CommunicationControlRequest) MarshalBinary() ([]byte, error) {
	e := newEncoder(SIDCommunicationControl, false, 5)
	e.subFunction(byte(r.Control), r.SuppressPositiveResponse)
	e.uint8(byte(r.Communication))
	switch {
	case r.Control.HasNodeID():
		e.uint16(r.NodeID)
	case r.NodeID != 0:
		e.fail(fmt.Sprintf("node id with control type %s", r.Control))
	}
	return e.result()
}

// UnmarshalBinary decodes the request.
func (r *CommunicationControlRequest) UnmarshalBinary(b []byte) error {
	d := newDecoder(b, SIDCommunicationControl, false)
	v, spr := d.subFunction()
	ct := CommunicationControlType(v)
	comm := d.uint8("communication type")
	var node uint16
	if ct.HasNodeID() {
		node = d.uint16("node identification number")
	}
	if err := d.finish(); err != nil {
		return err
	}
	*r = CommunicationControlRequest{Control: ct, Communication: CommunicationType(comm), NodeID: node, SuppressPositiveResponse: spr}
	return nil
}

// CommunicationControlResponse is 68 <control type>.
type CommunicationControlResponse struct {
	Control CommunicationControlType
}

// Service returns SIDCommunicationControl.
func (CommunicationControlResponse) Service() SID { return SIDCommunicationControl }

// MarshalBinary encodes the response.
func (r CommunicationControlResponse) MarshalBinary() ([]byte, error) {
	e := newEncoder(SIDCommunicationControl, true, 2)
	e.echo(byte(r.Control))
	return e.result()
}

// UnmarshalBinary decodes the response.
func (r *CommunicationControlResponse) UnmarshalBinary(b []byte) error {
	d := newDecoder(b, SIDCommunicationControl, true)
	v := d.echo()
	if err := d.finish(); err != nil {
		return err
	}
	*r = CommunicationControlResponse{Control: CommunicationControlType(v)}
	return nil
}
