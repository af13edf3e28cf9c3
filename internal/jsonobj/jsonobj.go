// Package jsonobj edits the top level of a JSON object without touching the
// rest of it.
//
// A gateway rewrites a handful of top-level fields of a request (the model,
// stream_options, a renamed parameter) and must leave every other byte alone:
// re-encoding through encoding/json would reorder keys, re-escape strings and
// cost a full decode of large bodies (base64 images). Object keeps each value
// as a slice of the original bytes, so untouched values are copied verbatim.
package jsonobj

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Field is one member of an object. Value is the raw JSON of the value.
type Field struct {
	Key   string
	Value []byte
}

// Object is a JSON object's members in their original order.
type Object struct {
	Fields []Field
}

// Parse splits a JSON object into its members, validating the whole document.
// Values alias data.
//
// The document is validated with json.Valid first, which does not allocate;
// after that the members can be found by a simple scan that only tracks
// string and nesting boundaries.
func Parse(data []byte) (Object, error) {
	if !json.Valid(data) {
		var v any
		return Object{}, syntaxError(json.Unmarshal(data, &v))
	}
	i := skipSpace(data, 0)
	if data[i] != '{' {
		return Object{}, errors.New("request body must be a JSON object")
	}
	o := Object{Fields: make([]Field, 0, 16)}
	i = skipSpace(data, i+1)
	if data[i] == '}' {
		return o, nil
	}
	for {
		end := stringEnd(data, i)
		key, err := decodeKey(data[i:end])
		if err != nil {
			return Object{}, err
		}
		i = skipSpace(data, end)
		i = skipSpace(data, i+1) // the colon
		vend := valueEnd(data, i)
		o.Fields = append(o.Fields, Field{Key: key, Value: data[i:vend]})
		i = skipSpace(data, vend)
		if data[i] == '}' {
			return o, nil
		}
		i = skipSpace(data, i+1) // the comma
	}
}

func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// stringEnd returns the index just past the string starting at data[i].
func stringEnd(data []byte, i int) int {
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(data)
}

// valueEnd returns the index just past the value starting at data[i].
func valueEnd(data []byte, i int) int {
	switch data[i] {
	case '"':
		return stringEnd(data, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(data); j++ {
			switch data[j] {
			case '"':
				j = stringEnd(data, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(data)
	}
	j := i
	for j < len(data) {
		switch data[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return j
		}
		j++
	}
	return j
}

func decodeKey(quoted []byte) (string, error) {
	if bytes.IndexByte(quoted, '\\') < 0 && utf8.Valid(quoted) {
		return string(quoted[1 : len(quoted)-1]), nil
	}
	var k string
	err := json.Unmarshal(quoted, &k)
	return k, err
}

func syntaxError(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON at byte %d: %v", se.Offset, se)
	}
	return fmt.Errorf("invalid JSON: %v", err)
}

// Get returns the raw value of key, or nil when absent.
func (o *Object) Get(key string) []byte {
	for _, f := range o.Fields {
		if f.Key == key {
			return f.Value
		}
	}
	return nil
}

// Has reports whether key is present.
func (o *Object) Has(key string) bool { return o.Get(key) != nil }

// Set replaces key's value, or appends the member when absent.
func (o *Object) Set(key string, raw []byte) {
	for i := range o.Fields {
		if o.Fields[i].Key == key {
			o.Fields[i].Value = raw
			return
		}
	}
	o.Fields = append(o.Fields, Field{Key: key, Value: raw})
}

// SetString sets key to a JSON string.
func (o *Object) SetString(key, s string) { o.Set(key, AppendString(nil, s)) }

// Delete removes key and reports whether it was present.
func (o *Object) Delete(key string) bool {
	for i := range o.Fields {
		if o.Fields[i].Key == key {
			o.Fields = append(o.Fields[:i], o.Fields[i+1:]...)
			return true
		}
	}
	return false
}

// Rename renames key to newKey in place, keeping its position, and reports
// whether key was present. An existing newKey member is dropped.
func (o *Object) Rename(key, newKey string) bool {
	if o.Get(key) == nil {
		return false
	}
	o.Delete(newKey)
	for i := range o.Fields {
		if o.Fields[i].Key == key {
			o.Fields[i].Key = newKey
		}
	}
	return true
}

// String decodes key's value as a JSON string. ok is false when the key is
// absent or not a string.
func (o *Object) String(key string) (s string, ok bool) {
	raw := o.Get(key)
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// Bool decodes key's value as a JSON boolean; absent or null is false.
func (o *Object) Bool(key string) (v bool, err error) {
	raw := o.Get(key)
	if raw == nil || string(raw) == "null" {
		return false, nil
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return false, fmt.Errorf("%s must be a boolean", key)
	}
	return v, nil
}

// AppendTo appends the object's JSON encoding to dst.
func (o *Object) AppendTo(dst []byte) []byte {
	dst = append(dst, '{')
	for i, f := range o.Fields {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, f.Key)
		dst = append(dst, ':')
		dst = append(dst, f.Value...)
	}
	return append(dst, '}')
}

// Bytes returns the object's JSON encoding.
func (o *Object) Bytes() []byte {
	n := 2
	for _, f := range o.Fields {
		n += len(f.Key) + len(f.Value) + 4
	}
	return o.AppendTo(make([]byte, 0, n))
}

// AppendString appends s as a JSON string. strconv.Quote is not used: its
// \x escapes are not JSON.
func AppendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			b, _ := json.Marshal(s)
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}
