package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/bgkit/bgkit/hexid"
	"github.com/bgkit/bgkit/service"
)

// schema is the part of a JSON Schema that describe and kinds summarise.
type schema struct {
	Ref                  string             `json:"$ref"`
	Defs                 map[string]*schema `json:"$defs"`
	Type                 string             `json:"type"`
	Title                string             `json:"title"`
	Description          string             `json:"description"`
	Properties           *properties        `json:"properties"`
	Required             []string           `json:"required"`
	Items                *schema            `json:"items"`
	AdditionalProperties json.RawMessage    `json:"additionalProperties"`
	PropertyNames        *schema            `json:"propertyNames"`
	OneOf                []*schema          `json:"oneOf"`
	AnyOf                []*schema          `json:"anyOf"`
	Enum                 []any              `json:"enum"`
	Const                any                `json:"const"`
	Minimum              *float64           `json:"minimum"`
	Maximum              *float64           `json:"maximum"`
	ExclusiveMinimum     *float64           `json:"exclusiveMinimum"`
	MinLength            *int               `json:"minLength"`
	MinItems             *int               `json:"minItems"`
	Pattern              string             `json:"pattern"`
	Format               string             `json:"format"`
	ContentEncoding      string             `json:"contentEncoding"`
	Examples             []any              `json:"examples"`
	Default              any                `json:"default"`
	Rule                 string             `json:"x-rule"`
	Stream               bool               `json:"x-stream"`
}

// UnmarshalJSON also reads the boolean schemas true (anything) and false
// (nothing), which describe as "any".
func (s *schema) UnmarshalJSON(b []byte) error {
	switch string(bytes.TrimSpace(b)) {
	case "true", "false":
		*s = schema{}
		return nil
	}
	type plain schema
	return json.Unmarshal(b, (*plain)(s))
}

// properties keeps the order in which a schema lists its properties (the
// order of the Go fields).
type properties struct {
	names []string
	byKey map[string]*schema
}

func (p *properties) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil { // {
		return err
	}
	p.byKey = map[string]*schema{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		var s schema
		if err := dec.Decode(&s); err != nil {
			return err
		}
		p.names = append(p.names, key)
		p.byKey[key] = &s
	}
	return nil
}

// parseSchema reads a JSON Schema document; "" is no schema (nil).
func parseSchema(text string) (*schema, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	var s schema
	if err := json.Unmarshal([]byte(text), &s); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	return &s, nil
}

// doc is a schema with the definitions its references point into.
type doc struct{ defs map[string]*schema }

func (d doc) resolve(s *schema) *schema {
	for i := 0; s != nil && s.Ref != "" && i < 8; i++ {
		name, ok := strings.CutPrefix(s.Ref, "#/$defs/")
		if !ok || d.defs[name] == nil {
			return s
		}
		s = d.defs[name]
	}
	return s
}

func (d doc) additional(s *schema) *schema {
	if len(s.AdditionalProperties) == 0 || s.AdditionalProperties[0] != '{' {
		return nil
	}
	var a schema
	if json.Unmarshal(s.AdditionalProperties, &a) != nil {
		return nil
	}
	return &a
}

// typeWords names the type of s in words: "integer", "list of {id, data}",
// "integer or hex string", "map from hex ID to string".
func (d doc) typeWords(s *schema, depth int) string {
	s = d.resolve(s)
	if s == nil {
		return "any"
	}
	if s.Title != "" {
		return s.Title
	}
	alts := s.OneOf
	if len(alts) == 0 {
		alts = s.AnyOf
	}
	if len(alts) > 0 {
		parts := make([]string, len(alts))
		for i, a := range alts {
			parts[i] = d.typeWords(a, depth)
		}
		return strings.Join(parts, " or ")
	}
	switch s.Type {
	case "array":
		if depth > 2 {
			return "list"
		}
		return "list of " + d.typeWords(s.Items, depth+1)
	case "object":
		if s.Properties != nil && len(s.Properties.names) > 0 {
			names := s.Properties.names
			if len(names) > 3 {
				return "{" + strings.Join(names[:3], ", ") + ", ...}"
			}
			return "{" + strings.Join(names, ", ") + "}"
		}
		if a := d.additional(s); a != nil {
			key := "string"
			if s.PropertyNames != nil && s.PropertyNames.Pattern == hexid.Pattern {
				key = "hex ID"
			}
			if depth > 2 {
				return "map"
			}
			return "map from " + key + " to " + d.typeWords(a, depth+1)
		}
		return "object"
	case "":
		return "any"
	case "string":
		switch {
		case s.Format == "date-time":
			return "time (RFC 3339 string)"
		case s.ContentEncoding == "base64":
			return "base64 string"
		}
	}
	return s.Type
}

// field is one line of a schema summary.
type field struct {
	name, typ, rule, doc string
}

// fields lists the properties of an object schema, nested objects and
// lists of objects as dotted names (replay.file, cyclic[].id).
func (d doc) fields(s *schema, prefix string, depth int) []field {
	s = d.resolve(s)
	if s == nil || s.Properties == nil || depth > 4 {
		return nil
	}
	var out []field
	for _, name := range s.Properties.names {
		p := s.Properties.byKey[name]
		rp := d.resolve(p)
		rule := p.Rule
		if rule == "" && contains(s.Required, name) {
			rule = "is required"
		}
		desc := p.Description
		if desc == "" && rp != nil {
			desc = rp.Description
		}
		out = append(out, field{name: prefix + name, typ: d.typeWords(p, 0), rule: rule, doc: desc})
		switch {
		case rp != nil && rp.Type == "object" && rp.Properties != nil:
			out = append(out, d.fields(rp, prefix+name+".", depth+1)...)
		case rp != nil && rp.Type == "array":
			if it := d.resolve(rp.Items); it != nil && it.Type == "object" && it.Properties != nil {
				out = append(out, d.fields(it, prefix+name+"[].", depth+1)...)
			}
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// example builds a value that fits s, for an example call line.
func (d doc) example(s *schema, depth int) any {
	s = d.resolve(s)
	if s == nil || depth > 4 {
		return nil
	}
	if len(s.Examples) > 0 {
		return s.Examples[0]
	}
	if s.Const != nil {
		return s.Const
	}
	if len(s.Enum) > 0 {
		return s.Enum[0]
	}
	if len(s.OneOf) > 0 {
		return d.example(s.OneOf[0], depth)
	}
	if len(s.AnyOf) > 0 {
		return d.example(s.AnyOf[0], depth)
	}
	switch s.Type {
	case "integer", "number":
		if s.Title == service.DurationTitle {
			return 1000000000
		}
		v := 1.0
		if s.Minimum != nil && *s.Minimum > v {
			v = *s.Minimum
		}
		if s.ExclusiveMinimum != nil && *s.ExclusiveMinimum >= v {
			v = *s.ExclusiveMinimum + 1
		}
		if s.Maximum != nil && *s.Maximum < v {
			v = *s.Maximum
		}
		return json.Number(strconv.FormatFloat(v, 'f', -1, 64))
	case "boolean":
		return true
	case "string":
		switch {
		case s.Pattern == hexid.Pattern:
			return "0x7E8"
		case s.Format == "date-time":
			return "2026-01-01T00:00:00Z"
		case s.ContentEncoding == "base64":
			return "AAE="
		}
		n := 1
		if s.MinLength != nil && *s.MinLength > 1 {
			n = *s.MinLength
		}
		return strings.Repeat("x", n)
	case "array":
		return []any{d.example(s.Items, depth+1)}
	case "object":
		if s.Properties != nil {
			m := map[string]any{}
			for _, name := range s.Properties.names {
				m[name] = d.example(s.Properties.byKey[name], depth+1)
			}
			return ordered{keys: s.Properties.names, m: m}
		}
		if a := d.additional(s); a != nil {
			key := "key"
			if s.PropertyNames != nil && s.PropertyNames.Pattern == hexid.Pattern {
				key = "0x7E8"
			}
			return map[string]any{key: d.example(a, depth+1)}
		}
		return map[string]any{}
	}
	return nil
}

// ordered is a JSON object that keeps its key order.
type ordered struct {
	keys []string
	m    map[string]any
}

func (o ordered) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		vb, err := json.Marshal(o.m[k])
		if err != nil {
			return nil, err
		}
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// exampleJSON is the compact JSON of an example value for s.
func exampleJSON(s *schema) string {
	if s == nil {
		return ""
	}
	d := doc{defs: s.Defs}
	b, err := json.Marshal(d.example(s, 0))
	if err != nil {
		return ""
	}
	return string(b)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:/,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
