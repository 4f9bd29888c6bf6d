package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/service"
	"github.com/bgkit/bgkit/spawn"
)

// rig is a rig file:
//
//	services:
//	  - kind: ecu-sim
//	    name: ECU_FRONT        # optional; default from the kind
//	    grace: 5s              # optional; Terminate's grace period
//	    agent: rigbox          # optional; spawn on that agent's machine
//	    args: {bus: "virtual:bus0", s3_ms: 5000}
type rig struct {
	file     string
	services []rigService
}

type rigService struct {
	kind  string
	name  string // "" for the default
	args  json.RawMessage
	grace time.Duration
	agent string // spawn through this agent
	line  int
}

// rigError names the file, line and field of a mistake in a rig file.
type rigError struct {
	file  string
	line  int
	field string
	msg   string
}

func (e *rigError) Error() string {
	if e.field != "" {
		return fmt.Sprintf("%s:%d: %s: %s", e.file, e.line, e.field, e.msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.file, e.line, e.msg)
}

// loadRig reads and checks a rig file: kinds, names, argument fields and
// their validation, before anything starts.
func loadRig(path string) (*rig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rig: %w", err)
	}
	return parseRig(path, data)
}

func parseRig(file string, data []byte) (*rig, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, yamlError(file, data, err)
	}
	// One rig per file: a second document would be ignored by a plain
	// yaml.Unmarshal, and with it half a rig.
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		return nil, &rigError{file: file, line: next.Line, msg: "a second YAML document (one rig per file): remove the ---"}
	} else if !errors.Is(err, io.EOF) {
		return nil, yamlError(file, data, err)
	}
	r := &rig{file: file}
	if len(doc.Content) == 0 {
		return nil, &rigError{file: file, line: 1, msg: "empty rig file: want a services: list"}
	}
	w := &yamlWalker{file: file}
	root := resolveAlias(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return nil, &rigError{file: file, line: root.Line, msg: "want a mapping with a services: list"}
	}
	rootPairs, err := w.pairs("", root)
	if err != nil {
		return nil, err
	}
	var list *yaml.Node
	for _, p := range rootPairs {
		switch p.key.Value {
		case "services":
			list = resolveAlias(p.value)
		default:
			return nil, &rigError{file: file, line: p.key.Line, field: p.key.Value, msg: "unknown key (want services)"}
		}
	}
	if list == nil || list.Kind != yaml.SequenceNode {
		return nil, &rigError{file: file, line: root.Line, msg: "want a services: list"}
	}
	names := map[string]int{}
	for i, item := range list.Content {
		where := fmt.Sprintf("services[%d]", i)
		s, err := parseRigService(w, file, where, item)
		if err != nil {
			return nil, err
		}
		name := s.name
		if name == "" {
			name, _ = spawn.KindServiceName(s.kind)
		}
		if prev, dup := names[name]; dup {
			return nil, &rigError{file: file, line: s.line, field: where,
				msg: fmt.Sprintf("service name %s is already used at line %d (set name: to run another instance)", name, prev)}
		}
		names[name] = s.line
		r.services = append(r.services, s)
	}
	if len(r.services) == 0 {
		return nil, &rigError{file: file, line: list.Line, field: "services", msg: "no services"}
	}
	return r, nil
}

func parseRigService(w *yamlWalker, file, where string, item *yaml.Node) (rigService, error) {
	s := rigService{line: item.Line}
	item = resolveAlias(item)
	if item.Kind != yaml.MappingNode {
		return s, &rigError{file: file, line: item.Line, field: where, msg: "want a mapping with kind: and args:"}
	}
	pairs, err := w.pairs(where, item)
	if err != nil {
		return s, err
	}
	var argsNode *yaml.Node
	for _, p := range pairs {
		k, v := p.key, resolveAlias(p.value)
		switch k.Value {
		case "kind":
			s.kind = v.Value
		case "name":
			if err := bus.ValidateName(v.Value); err != nil {
				return s, &rigError{file: file, line: v.Line, field: where + ".name", msg: err.Error()}
			}
			s.name = v.Value
		case "grace":
			d, err := time.ParseDuration(v.Value)
			if err != nil || d <= 0 {
				return s, &rigError{file: file, line: v.Line, field: where + ".grace", msg: fmt.Sprintf("bad duration %q (e.g. 5s)", v.Value)}
			}
			if d > maxGrace {
				// Also: the stop's deadline (grace + 5 s) would overflow
				// into the past and every service be killed at once.
				return s, &rigError{file: file, line: v.Line, field: where + ".grace", msg: fmt.Sprintf("%s is longer than a day", v.Value)}
			}
			s.grace = d
		case "args":
			argsNode = v
		case "agent":
			if err := bus.ValidateName(v.Value); err != nil {
				return s, &rigError{file: file, line: v.Line, field: where + ".agent", msg: err.Error()}
			}
			s.agent = v.Value
		default:
			return s, &rigError{file: file, line: k.Line, field: where + "." + k.Value, msg: "unknown key (want kind, name, grace, agent, args)"}
		}
	}
	if s.kind == "" {
		return s, &rigError{file: file, line: item.Line, field: where, msg: "missing kind: (one of " + strings.Join(spawn.Kinds(), ", ") + ")"}
	}
	proto, ok := spawn.KindArgs(s.kind)
	if !ok {
		return s, &rigError{file: file, line: item.Line, field: where + ".kind", msg: fmt.Sprintf("unknown kind %q (known: %s)", s.kind, strings.Join(spawn.Kinds(), ", "))}
	}
	s.args = json.RawMessage("{}")
	if argsNode != nil && argsNode.Kind == yaml.ScalarNode && argsNode.Tag == "!!null" {
		argsNode = nil // "args:" with every argument commented out
	}
	if argsNode == nil {
		if err := spawn.CheckKindArgs(s.kind, s.args); err != nil {
			return s, argsError(file, where+".args", item, err)
		}
		return s, nil
	}
	if argsNode.Kind != yaml.MappingNode {
		return s, &rigError{file: file, line: argsNode.Line, field: where + ".args", msg: "want a mapping of argument names to values"}
	}
	if err := checkFields(w, file, where+".args", argsNode, reflect.TypeOf(proto).Elem(), s.kind); err != nil {
		return s, err
	}
	v, err := w.value(where+".args", argsNode)
	if err != nil {
		return s, err
	}
	data, err := json.Marshal(v)
	if err != nil {
		return s, &rigError{file: file, line: argsNode.Line, field: where + ".args", msg: err.Error()}
	}
	s.args = data
	if err := spawn.CheckKindArgs(s.kind, s.args); err != nil {
		return s, argsError(file, where+".args", argsNode, err)
	}
	return s, nil
}

// checkFields refuses keys that are not JSON fields of t, recursively into
// struct fields, naming the line of the key.
func checkFields(w *yamlWalker, file, where string, m *yaml.Node, t reflect.Type, kind string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	m = resolveAlias(m)
	if t.Kind() != reflect.Struct || m.Kind != yaml.MappingNode {
		return nil
	}
	fields := jsonFields(t)
	pairs, err := w.pairs(where, m)
	if err != nil {
		return err
	}
	for _, p := range pairs {
		k, v := p.key, p.value
		ft, ok := fields[k.Value]
		if !ok {
			known := make([]string, 0, len(fields))
			for name := range fields {
				known = append(known, name)
			}
			sort.Strings(known)
			return &rigError{file: file, line: k.Line, field: where + "." + k.Value,
				msg: fmt.Sprintf("unknown argument for kind %s (known: %s)", kind, strings.Join(known, ", "))}
		}
		if err := checkFields(w, file, where+"."+k.Value, v, ft, kind); err != nil {
			return err
		}
	}
	return nil
}

// jsonFields maps the JSON names of t's fields (embedded structs flattened)
// to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range jsonFields(ft) {
					out[k] = v
				}
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

// yamlLines splits s after each line break as YAML counts them: \r\n, \r
// or \n.
func yamlLines(s string) []string {
	var lines []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\n':
			lines, start = append(lines, s[start:i+1]), i+1
		case '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
			lines, start = append(lines, s[start:i+1]), i+1
		}
	}
	return append(lines, s[start:])
}

// argsError places an argument error at the line of the field it names;
// the message is the rule in words (see service.Decode).
func argsError(file, where string, args *yaml.Node, err error) error {
	var ve *service.ValidationError
	if errors.As(err, &ve) && len(ve.Fields) > 0 {
		f := ve.Fields[0]
		msg := f.Message
		if f.Field == "" {
			return &rigError{file: file, line: args.Line, field: where, msg: msg}
		}
		if len(ve.Fields) > 1 {
			rest := make([]string, 0, len(ve.Fields)-1)
			for _, g := range ve.Fields[1:] {
				rest = append(rest, fmt.Sprintf("%s (line %d)", g, lineOf(args, g.Field)))
			}
			msg += "; also " + strings.Join(rest, "; ")
		}
		field := where + "." + f.Field
		if f.Rule == "unknown" {
			// The message names the field; the path says where it is.
			field = where
			if i := strings.LastIndexByte(f.Field, '.'); i >= 0 {
				field += "." + f.Field[:i]
			}
		}
		return &rigError{file: file, line: lineOf(args, f.Field), field: field, msg: msg}
	}
	return &rigError{file: file, line: args.Line, field: where, msg: err.Error()}
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// yamlError names the line a YAML syntax error is on. yaml.v3 reports the
// line where the enclosing block starts (for a key indented wrongly on line
// 5 it says line 1), so the line is found as the first after the longest
// prefix of the file that still parses.
func yamlError(file string, data []byte, err error) error {
	msg := err.Error()
	line := 1
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	lines := yamlLines(string(data))
	if len(lines) <= 2000 {
		lastOK := 0
		for k := 1; k <= len(lines); k++ {
			var n yaml.Node
			if yaml.Unmarshal([]byte(strings.Join(lines[:k], "")), &n) == nil {
				lastOK = k
			}
		}
		if lastOK < len(lines) {
			line = lastOK + 1
		}
	}
	for _, hint := range []string{"expected key", "indicator", "indentation", "mapping values are not allowed"} {
		if strings.Contains(msg, hint) {
			msg += " (check the indentation)"
			break
		}
	}
	return &rigError{file: file, line: line, msg: "bad YAML: " + msg}
}

// lineOf finds the line of a path of keys in a mapping node: dotted keys
// and list indexes, as in "cyclic[1].id".
func lineOf(n *yaml.Node, path string) int {
	line := n.Line
	for _, key := range strings.Split(path, ".") {
		var idx []int
		for {
			i := strings.LastIndexByte(key, '[')
			if i < 0 || !strings.HasSuffix(key, "]") {
				break
			}
			k, err := strconv.Atoi(key[i+1 : len(key)-1])
			if err != nil {
				break
			}
			idx = append([]int{k}, idx...)
			key = key[:i]
		}
		n = resolveAlias(n)
		if n.Kind != yaml.MappingNode {
			return line
		}
		found := false
		pairs, _ := (&yamlWalker{}).pairs("", n)
		for _, p := range pairs {
			if p.key.Value == key {
				line, n, found = p.key.Line, p.value, true
				break
			}
		}
		if !found {
			return line
		}
		for _, k := range idx {
			n = resolveAlias(n)
			if n.Kind != yaml.SequenceNode || k >= len(n.Content) {
				return line
			}
			n = n.Content[k]
			line = n.Line
		}
	}
	return line
}

// maxGrace is the longest stop budget a rig file may give a service.
const maxGrace = 24 * time.Hour

// yamlPair is one key of a mapping and its value.
type yamlPair struct{ key, value *yaml.Node }

// maxYAMLNodes bounds the nodes a rig file may amount to once its aliases
// are followed: a "billion laughs" of aliases, or an alias of its own
// ancestor, is refused rather than expanded.
const maxYAMLNodes = 100_000

// maxYAMLDepth bounds how deep values nest (an alias of its own ancestor
// nests for ever).
const maxYAMLDepth = 100

// yamlWalker reads the nodes of one rig file as YAML means them: aliases
// followed, merge keys (<<) merged, a key given twice refused.
type yamlWalker struct {
	file         string
	nodes, depth int
}

func (w *yamlWalker) visit(n *yaml.Node) error {
	if w.nodes++; w.nodes > maxYAMLNodes {
		return &rigError{file: w.file, line: n.Line, msg: fmt.Sprintf("more than %d values once aliases are followed (an alias of itself?)", maxYAMLNodes)}
	}
	return nil
}

// resolveAlias returns the node an alias stands for, n itself otherwise.
func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isMergeKey(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && (k.Tag == "!!merge" || k.Style == 0)
}

// pairs returns the keys of mapping m in order: its own first, refused
// when given twice, then those merged in by << that it does not set
// (earlier merged mappings win over later ones, as YAML says).
func (w *yamlWalker) pairs(where string, m *yaml.Node) ([]yamlPair, error) {
	m = resolveAlias(m)
	if err := w.visit(m); err != nil {
		return nil, err
	}
	if w.depth++; w.depth > maxYAMLDepth {
		return nil, &rigError{file: w.file, line: m.Line, field: where, msg: fmt.Sprintf("nested more than %d deep (a merge of its own ancestor?)", maxYAMLDepth)}
	}
	defer func() { w.depth-- }()
	var own, merged []yamlPair
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if isMergeKey(k) {
			var srcs []*yaml.Node
			switch v = resolveAlias(v); v.Kind {
			case yaml.MappingNode:
				srcs = []*yaml.Node{v}
			case yaml.SequenceNode:
				srcs = v.Content
			}
			for _, src := range srcs {
				if src = resolveAlias(src); src.Kind != yaml.MappingNode {
					return nil, &rigError{file: w.file, line: k.Line, field: joinField(where, "<<"), msg: "a merge key takes a mapping or a list of them"}
				}
				ps, err := w.pairs(where, src)
				if err != nil {
					return nil, err
				}
				merged = append(merged, ps...)
			}
			if len(srcs) == 0 {
				return nil, &rigError{file: w.file, line: k.Line, field: joinField(where, "<<"), msg: "a merge key takes a mapping or a list of them"}
			}
			continue
		}
		if prev, dup := seen[k.Value]; dup {
			return nil, &rigError{file: w.file, line: k.Line, field: joinField(where, k.Value), msg: fmt.Sprintf("given twice (also at line %d)", prev)}
		}
		seen[k.Value] = k.Line
		own = append(own, yamlPair{k, v})
	}
	for _, p := range merged {
		if _, set := seen[p.key.Value]; !set {
			seen[p.key.Value] = p.key.Line
			own = append(own, p)
		}
	}
	return own, nil
}

func joinField(where, key string) string {
	if where == "" {
		return key
	}
	return where + "." + key
}

// value converts n to what encoding/json marshals: mappings (merged) to
// objects keyed by the text of their keys, sequences to lists, scalars
// to their YAML values, except that a timestamp stays the text it was
// written as (a string argument such as a file name 2024-05-01).
func (w *yamlWalker) value(where string, n *yaml.Node) (any, error) {
	n = resolveAlias(n)
	if err := w.visit(n); err != nil {
		return nil, err
	}
	if w.depth++; w.depth > maxYAMLDepth {
		return nil, &rigError{file: w.file, line: n.Line, field: where, msg: fmt.Sprintf("nested more than %d deep (an alias of its own ancestor?)", maxYAMLDepth)}
	}
	defer func() { w.depth-- }()
	switch n.Kind {
	case yaml.MappingNode:
		ps, err := w.pairs(where, n)
		if err != nil {
			return nil, err
		}
		out := make(map[string]any, len(ps))
		for _, p := range ps {
			k := resolveAlias(p.key)
			if k.Kind != yaml.ScalarNode {
				return nil, &rigError{file: w.file, line: k.Line, field: where, msg: "a key must be a plain value, not a list or mapping"}
			}
			v, err := w.value(joinField(where, k.Value), p.value)
			if err != nil {
				return nil, err
			}
			out[k.Value] = v
		}
		return out, nil
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for i, c := range n.Content {
			v, err := w.value(fmt.Sprintf("%s[%d]", where, i), c)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.ScalarNode:
		if n.ShortTag() == "!!timestamp" {
			return n.Value, nil
		}
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, &rigError{file: w.file, line: n.Line, field: where, msg: err.Error()}
		}
		if f, ok := v.(float64); ok && (math.IsInf(f, 0) || math.IsNaN(f)) {
			return nil, &rigError{file: w.file, line: n.Line, field: where, msg: fmt.Sprintf("must be a finite number, got %s", n.Value)}
		}
		return v, nil
	}
	return nil, &rigError{file: w.file, line: n.Line, field: where, msg: "unsupported YAML value"}
}
