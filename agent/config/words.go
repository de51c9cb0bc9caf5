package config

import (
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// This file turns what the YAML library would say in Go's terms ("cannot
// unmarshal !!str into time.Duration", "field x not found in type
// config.Sync") into what a technician can act on: the line, the setting,
// what is wrong in words and an example of what to write. It walks the
// parsed tree against the schema itself, so every problem is found in one
// pass, each with its own line.

var durationType = reflect.TypeOf(time.Duration(0))

const msgSetTwice = "set twice; keep one"

// checkTree walks the document root against the schema of Config and
// returns every unknown key and every value of the wrong kind.
func checkTree(root *yaml.Node) Problems {
	var ps Problems
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return Problems{{Line: n.Line, Msg: "the file holds a " + kindWord(n) + ", not settings: write one section per line, as in configs/agent.example.yaml"}}
	}
	def := reflect.ValueOf(Defaults())
	walk(n, def.Type(), def, "", &ps)
	return ps
}

// schemaField is one key a section accepts: its type and its default.
type schemaField struct {
	t   reflect.Type
	def reflect.Value
}

// fieldsOf lists the keys a struct section accepts, following inline
// structs, with each key's default value (invalid when there is none).
func fieldsOf(t reflect.Type, def reflect.Value, into map[string]schemaField) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		var fd reflect.Value
		if def.IsValid() {
			fd = def.Field(i)
		}
		if strings.Contains(opts, "inline") {
			fieldsOf(f.Type, fd, into)
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		into[name] = schemaField{t: f.Type, def: fd}
	}
}

func walk(n *yaml.Node, t reflect.Type, def reflect.Value, path string, ps *Problems) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	add := func(msg string) { *ps = append(*ps, Problem{Line: n.Line, Key: path, Msg: msg}) }
	if isNull(n) {
		return // an empty value leaves the default
	}
	switch {
	case t.Kind() == reflect.Pointer:
		var d reflect.Value
		if def.IsValid() && !def.IsNil() {
			d = def.Elem()
		}
		walk(n, t.Elem(), d, path, ps)
	case t == durationType, t.Kind() != reflect.Struct && t.Kind() != reflect.Slice && t.Kind() != reflect.Map:
		if n.Kind != yaml.ScalarNode {
			add(fmt.Sprintf("is a %s here; write a single value, %s", kindWord(n), example(t, def)))
			return
		}
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			add(fmt.Sprintf("%s is not %s; write %s", quoted(n.Value), typeWord(t), example(t, def)))
		}
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			add(fmt.Sprintf("is a %s here; it is a section of settings, each on its own indented line (see configs/agent.example.yaml)", kindWord(n)))
			return
		}
		fields := map[string]schemaField{}
		fieldsOf(t, def, fields)
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			key := join(path, k.Value)
			f, ok := fields[k.Value]
			if !ok {
				msg := "unknown setting"
				if s := closest(k.Value, fields); s != "" {
					msg += "; did you mean " + s + "?"
				} else {
					msg += fmt.Sprintf("; %s takes %s", sectionName(path), strings.Join(sortedKeys(fields), ", "))
				}
				*ps = append(*ps, Problem{Line: k.Line, Key: key, Msg: msg})
				continue
			}
			if seen[k.Value] {
				*ps = append(*ps, Problem{Line: k.Line, Key: key, Msg: msgSetTwice})
				continue
			}
			seen[k.Value] = true
			walk(v, f.t, f.def, key, ps)
		}
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			add(fmt.Sprintf("is a %s here; write a list, e.g. [%s] or one \"- item\" per line", kindWord(n), example(t.Elem(), reflect.Value{})))
			return
		}
		for i, item := range n.Content {
			walk(item, t.Elem(), reflect.Value{}, fmt.Sprintf("%s[%d]", path, i), ps)
		}
	case t.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			add(fmt.Sprintf("is a %s here; write one \"name: value\" per indented line", kindWord(n)))
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			walk(n.Content[i+1], t.Elem(), reflect.Value{}, join(path, n.Content[i].Value), ps)
		}
	}
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func sectionName(path string) string {
	if path == "" {
		return "the file"
	}
	return path
}

func kindWord(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "section"
	case yaml.SequenceNode:
		return "list"
	default:
		return "value"
	}
}

func quoted(s string) string { return strconv.Quote(s) }

// typeWord names a value's kind the way the example file does.
func typeWord(t reflect.Type) string {
	if t == durationType {
		return "a duration"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	default:
		return "a text value"
	}
}

// example is "e.g. X" with the setting's default where it has one.
func example(t reflect.Type, def reflect.Value) string {
	if def.IsValid() && !def.IsZero() {
		switch v := def.Interface().(type) {
		case time.Duration:
			return "e.g. " + shortDuration(v)
		case string:
			return "e.g. " + quoted(v)
		default:
			return fmt.Sprintf("e.g. %v", v)
		}
	}
	if t == durationType {
		return "e.g. 10s, 5m or 24h"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "e.g. 7"
	case reflect.Float32, reflect.Float64:
		return "e.g. 0.7"
	default:
		return "e.g. \"text\""
	}
}

// shortDuration writes 4320h rather than Go's 4320h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// closest is the known key nearest to key, when it is near enough to be
// a typing slip.
func closest(key string, fields map[string]schemaField) string {
	best, bestD := "", 1<<30
	for _, k := range sortedKeys(fields) {
		if d := editDistance(key, k); d < bestD {
			best, bestD = k, d
		}
	}
	if bestD <= max(2, len(key)/3) {
		return best
	}
	return ""
}

func sortedKeys(m map[string]schemaField) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	for i := 1; i < len(ks); i++ {
		for j := i; j > 0 && ks[j] < ks[j-1]; j-- {
			ks[j], ks[j-1] = ks[j-1], ks[j]
		}
	}
	return ks
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// syntaxProblems explains a file the YAML parser refuses: every line
// indented with a tab, or else the first line that breaks the syntax.
// The parser's own line number points at the enclosing block, not at the
// line at fault, so the line is found as the shortest failing prefix.
func syntaxProblems(data []byte, parseErr error) Problems {
	lines := strings.SplitAfter(string(data), "\n")
	var ps Problems
	for i, l := range lines {
		indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
		if strings.Contains(indent, "\t") {
			ps = append(ps, Problem{Line: i + 1, Msg: "indented with a tab character; YAML indents with spaces only: replace the tab with spaces"})
		}
	}
	if len(ps) > 0 {
		return ps
	}
	line := 0
	var err error = parseErr
	for k := 1; k <= len(lines); k++ {
		var n yaml.Node
		if e := yaml.Unmarshal([]byte(strings.Join(lines[:k], "")), &n); e != nil {
			line, err = k, e
			break
		}
	}
	return Problems{{Line: line, Msg: syntaxWords(err)}}
}

var yamlPrefixRE = regexp.MustCompile(`^yaml: (line \d+: )?`)

// syntaxWords says what the parser's message means for the writer.
func syntaxWords(err error) string {
	msg := yamlPrefixRE.ReplaceAllString(err.Error(), "")
	switch {
	case strings.Contains(msg, "did not find expected key"), strings.Contains(msg, "did not find expected <document start>"):
		return "this line's indentation does not fit the lines above (a setting indented differently from its neighbours, or a \"- item\" where a setting belongs); indent each setting under its section with spaces"
	case strings.Contains(msg, "mapping values are not allowed"):
		return "a \": \" where it cannot be (two settings on one line, or a value containing \": \"); put such a value in quotes"
	case strings.Contains(msg, "did not find expected ',' or ']'"):
		return "a list opened with [ is not closed with ] on this line"
	case strings.Contains(msg, "did not find expected ',' or '}'"):
		return "a section opened with { is not closed with } on this line"
	case strings.Contains(msg, "found unexpected end of stream"), strings.Contains(msg, "found unexpected end of"):
		return "a quoted value is not closed: end it with the same quote it opens with"
	default:
		return "not valid YAML: " + msg
	}
}
