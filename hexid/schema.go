package hexid

import (
	"encoding/json"

	"github.com/invopop/jsonschema"
)

// SchemaTitle is the title of the JSON Schema of an ID; tools that
// summarise schemas (bgkit describe, bgkit kinds) show it as the type.
const SchemaTitle = "integer or hex string"

// Pattern is the regular expression of the string forms an ID accepts.
const Pattern = `^(0[xX])?[0-9A-Fa-f]{1,8}$`

// JSONSchema describes the JSON forms an ID decodes from: a non-negative
// integer or a hex string such as "0x7E8" or "7E8". It is used by
// github.com/invopop/jsonschema, so service schemas show IDs as the
// engineer writes them.
func (ID) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Title: SchemaTitle,
		OneOf: []*jsonschema.Schema{
			{Type: "integer", Minimum: json.Number("0"), Maximum: json.Number("4294967295")},
			{Type: "string", Pattern: Pattern},
		},
		Examples: []any{"0x7E8"},
	}
}
