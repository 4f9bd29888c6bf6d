// Package hexid is the one type bgkit services use for the identifiers an
// automotive engineer writes in hex: CAN identifiers, DoIP logical
// addresses and UDS data identifiers (DIDs).
//
// # Forms
//
// An [ID] decodes from a JSON number (2024), a string with a 0x prefix
// ("0x7E8") or a bare hex string ("7E8", as cansend and candump write IDs),
// and the same in rig YAML, quoted or not. It always encodes as a "0x"
// string in upper-case hex, so replies and logs read as the engineer wrote
// them:
//
//	type Args struct {
//		RxID hexid.ID `json:"rx_id" validate:"lte=0x1FFFFFFF"`
//	}
//
// validate tags see the number, so rules such as max=0x7FF apply as usual.
//
// # Schema
//
// [ID.JSONSchema] describes these forms for github.com/invopop/jsonschema
// (oneOf an integer and a string matching [Pattern], titled
// [SchemaTitle]), so service schemas in $SRV.INFO, `bgkit describe` and
// `bgkit kinds` show an ID as "integer or hex string".
package hexid
