// Package isotp implements ISO-TP, the CAN transport protocol of
// ISO 15765-2:2016, over a can.Bus: it carries messages of up to 4095
// bytes (or, with the 32-bit first frame length, up to 2³²−1 bytes) in
// classic CAN or CAN FD frames. A Conn implements uds.Transport.
//
//	tester, err := isotp.New(bus, isotp.Config{TxID: 0x7E0, RxID: 0x7E8})
//	defer tester.Close()
//	err = tester.Send(ctx, []byte{0x22, 0xF1, 0x90})
//	resp, err := tester.Recv(ctx)
//
// New starts one goroutine that reads the bus; Close stops it and waits for
// it. The Conn ignores frames that are not addressed to it, passes flow
// control frames to its sender and reassembles the rest, so a message can be
// received while another is being sent. Concurrent Sends are serialised.
//
// The protocol data units are small values: PDU with DecodePDU,
// MarshalBinary and UnmarshalBinary, for tools that decode traffic.
//
// # Addressing
//
// Config.Addressing selects one of the four addressing modes:
//
//   - NormalAddressing: TxID and RxID, 11- or 29-bit (Config.Extended),
//     identify the two directions.
//   - NormalFixedAddressing: 29-bit identifiers 0x18DA<TA><SA> for physical
//     and 0x18DB<TA><SA> for functional requests, built from
//     TargetAddress, SourceAddress and FunctionalAddress.
//   - ExtendedAddressing: TxID and RxID, and the first data byte of every
//     frame is the target address (TargetAddress when sending; frames
//     received must carry SourceAddress).
//   - MixedAddressing: the first data byte is AddressExtension; with
//     11-bit identifiers TxID and RxID are used, with 29-bit ones
//     0x18CE<TA><SA> (physical) and 0x18CD<TA><SA> (functional).
//
// An address byte leaves one byte less for data: a classic single frame
// then holds 6 bytes instead of 7.
//
// Functional requests (SendFunctional, e.g. Tester Present to 0x7DF) are
// single frames only; a longer message fails with ErrMessageTooLong. A
// Conn with AcceptFunctional, as an ECU simulator uses, also delivers
// functional single frames to Recv; RecvMessage tells them apart
// (Message.Functional), so that the ECU can leave out the negative
// responses ISO 14229-1 suppresses for functional requests
// (uds.FunctionalSuppressed).
//
// With Config.FD the Conn sends CAN FD frames of up to TxDL bytes (default
// 64): single frames then hold up to 62 bytes, with the escape form 00 <len>.
// Messages above 4095 bytes use the first frame escape 10 00 and a 32-bit
// length, in classic CAN as in CAN FD; a received first frame that uses the
// escape for 4095 bytes or less is ignored, as ISO 15765-2 says (and
// Linux's isotp does), as are the other malformed frames. Frames are padded to 8 bytes (or the
// next CAN FD length) with 0xCC unless Config.Padding says otherwise.
//
// # Flow control
//
// A message longer than a single frame goes out as a first frame (FF), after
// which the sender waits up to N_Bs for the receiver's flow control (FC):
// continue to send (CTS) with a block size and a separation time STmin,
// WAIT, which restarts N_Bs (at most Config.WaitFrameMax times in a row), or
// overflow (OVFLW), which aborts the transfer with ErrOverflow. The sender
// then sends consecutive frames (CF) with sequence numbers 1, 2, … 15, 0, 1,
// …, BS at a time (all of them when BS is 0), waiting for the next FC after
// each block.
//
// As a receiver the Conn answers every first frame with CTS carrying
// Config.BlockSize and Config.STmin, or with OVFLW when the announced length
// exceeds Config.MaxMessageSize (default 4095). It never sends WAIT.
//
// # Timing
//
// Consecutive frames are scheduled from absolute deadlines: each is due
// STmin after the previous one was handed to the bus, so waiting errors do
// not add up. Because timers on common systems wake up as much as a
// millisecond late, the sender sleeps until about 2 ms before a deadline
// and yields in a loop (runtime.Gosched) for the rest: STmin values of
// 100–900 µs (0xF1–0xF9) are kept to within tens of microseconds
// (BenchmarkSTminAccuracy), at the cost of a busy core while spinning.
// Reserved STmin values are read as 127 ms, as the standard requires.
//
// The network layer timeouts default to 1 s: N_As (Config.TimeoutAs) for
// handing a frame to the bus, N_Bs (TimeoutBs) for a flow control frame and
// N_Cr (TimeoutCr) for the next consecutive frame. Contexts passed to Send
// and Recv bound the whole call in addition.
//
// # Errors
//
// Errors are wrapped with the operation ("isotp send: ...", "isotp recv:
// ...") and match exported values with errors.Is:
//
//   - decoding: ErrTruncated, ErrWrongLength, ErrUnknownPDU,
//     ErrInvalidFlowStatus;
//   - sending: ErrTimeoutAs, ErrTimeoutBs, ErrOverflow, ErrWaitLimit,
//     ErrInvalidFlowStatus, ErrMessageTooLong;
//   - receiving: ErrWrongSequence (a *SequenceError with the expected and
//     received numbers), ErrTimeoutCr, ErrWrongLength, ErrTruncated, and
//     ErrUnexpectedPDU when a new single or first frame interrupts a
//     reception;
//   - ErrInvalidConfig from New, ErrClosed after Close.
//
// A failed reception is reported by the Recv call that would have returned
// its message; later messages are received normally. Following the
// standard, frames that cannot start a reception are ignored: a consecutive
// frame outside a reception, a flow control frame no sender waits for, and
// malformed single or first frames.
package isotp
