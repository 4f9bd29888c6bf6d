// Package dbc reads DBC files and encodes and decodes the signals of CAN
// and CAN FD frames.
//
// # Files
//
// [Load] and [Parse] read a DBC file with go.einride.tech/can/pkg/dbc and
// keep what a rest-bus simulation or a monitor needs: nodes (BU_), messages
// (BO_) with their transmitters (and BO_TX_BU_), signals (SG_) with byte
// order, sign, scale, offset, range and unit, value types (SIG_VALTYPE_),
// value tables (VAL_), comments (CM_) and the attributes GenMsgCycleTime,
// GenSigStartValue, VFrameFormat and CANFD_BRS.
//
// A message ID with bit 31 set is an extended (29-bit) identifier, as
// Vector tools write it: [Message.ID] is the identifier without the flag
// and [Message.Extended] is set. A message is CAN FD ([Message.FD]) when
// its VFrameFormat is StandardCAN_FD or ExtendedCAN_FD or it is longer
// than 8 bytes; its frames are [Message.FrameLen] long, the DBC length
// rounded up to a CAN FD length.
//
// # Signals
//
// The bit codec is this package's own, for payloads of up to 64 bytes:
// Intel (little-endian, @1) and Motorola (big-endian, @0, start bit = most
// significant bit, in the sawtooth numbering of DBC files) byte order,
// signed and unsigned integers of 1 to 64 bits, IEEE float and double.
// The physical value is raw·factor + offset; encoding rounds to the
// nearest raw step and fails with an error naming the signal and its
// range (wrapping [ErrRange]) for a value outside [min, max] (when the DBC
// sets them) or outside what the signal's width can carry.
//
// Simple multiplexing is supported: a multiplexer switch (M) and signals
// that are sent only for one of its values (mN). Extended multiplexing
// (SG_MUL_VAL_, several switches) is not.
//
// # Encoding and decoding
//
// [DB.Encode] makes the frame of a message from a map of physical values;
// a signal left out takes its start value (GenSigStartValue). [DB.Decode]
// returns the message of a frame and its values. [Message.DecodeInto]
// decodes into a map the caller reuses, and [Signal.Raw] and
// [Signal.SetRaw] read and write raw bits, for counters and checksums.
package dbc
