// Package diaglink is the link of a diagnostic service to an ECU: ISO-TP
// on a CAN bus, or DoIP. It holds what the services that send UDS
// requests (diag-traffic, ecu-watchdog, tester-present) do alike with the
// link arguments they take: the checks of those arguments, with the same
// error texts, and opening the link.
//
// # Arguments
//
// A service keeps the link fields in its own Args, with its own docs and
// defaults (bus, tx_id, rx_id, extended, padding, pad_byte, doip_address,
// source_address, target_address), applies its defaults in its normalize
// step, and hands the fields over as a [Config]. (They are not an
// embedded struct: their docs differ by service, and Go struct literals
// such as testerpresent.Args{TxID: 0x7E0} cannot name promoted fields.)
// [Config.Check] checks
// them once; its errors match service.ErrInvalidArgs and name the JSON
// fields:
//
//	invalid arguments: tx_id 0x800 exceeds 11 bits
//	invalid arguments: doip_address "127.0.0.1": want host:port
//
// # Opening
//
// [Config.Open] opens the CAN bus (over the service's NATS connection for
// a virtual bus) and an ISO-TP connection on it that receives RxID only;
// or, with DoIPAddress, connects to the DoIP entity and activates routing.
// The [Link] it returns is the uds.Transport to give a uds.Client, and
// closes what Open opened.
package diaglink
