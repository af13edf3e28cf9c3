package config

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// Error is one problem in a configuration, placed where the user can fix it.
//
// Messages never contain the value of an environment variable, an api_key,
// a header or a base_url: configuration errors end up in logs and CI output,
// and those values are where secrets live.
type Error struct {
	File   string // the file name given to Parse or Load; "" for a config built in code
	Line   int    // 1-based; 0 when the problem has no place in the file
	Column int    // 1-based; 0 when the line and field say enough
	Field  string // path of the field, such as "providers[1].type"; "" for the file as a whole
	Msg    string
}

// Error formats e as "file:line:column: field: message", leaving out the
// parts that are unknown, so editors and terminals can jump to the place.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		if b.Len() > 0 {
			b.WriteByte(':')
		} else {
			b.WriteString("line ")
		}
		b.WriteString(strconv.Itoa(e.Line))
		if e.Column > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(e.Column))
		}
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one configuration. Parse reports them all
// at once so that fixing a file takes one round trip, not one per mistake.
type Errors []*Error

// Error returns one line per problem.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As find each *Error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// sort orders es as they appear in the file; problems without a line (such
// as a default that turned out invalid) go last.
func (es Errors) sort() {
	slices.SortStableFunc(es, func(a, b *Error) int {
		if (a.Line == 0) != (b.Line == 0) {
			if a.Line == 0 {
				return 1
			}
			return -1
		}
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
}
