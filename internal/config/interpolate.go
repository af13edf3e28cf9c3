package config

import (
	"slices"
	"strings"
)

// expandError is a problem with one ${...} reference, at byte offset Off of
// the raw value.
type expandError struct {
	Off int
	Ref string // the reference as written, "${NAME}" or "${NAME:-...}"; used to find its column
	Msg string
	// Unset names the variable of a reference without a default whose
	// variable is unset or empty.
	Unset string
}

// expand replaces ${NAME} and ${NAME:-default} in s with values from getenv,
// and $${ with a literal ${. It returns the names of the variables read, so
// the caller can keep the result out of error messages and say where it
// came from instead.
//
// A variable that is empty counts as unset, as with the shell's ${NAME:?}:
// getenv cannot tell the two apart, and an empty api_key is a mistake far
// more often than a wish. ${NAME:-} accepts an empty value explicitly. The
// default is literal text up to the first '}'; references do not nest.
func expand(s string, getenv func(string) string) (out string, vars []string, errs []expandError) {
	if !strings.Contains(s, "${") {
		return s, nil, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			b.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				errs = append(errs, expandError{Off: i, Ref: "${", Msg: "unterminated ${ (write $${ for a literal ${)"})
				b.WriteString(s[i:])
				return b.String(), vars, errs
			}
			ref := s[i : i+2+end+1]
			name, def, hasDef := strings.Cut(ref[2:len(ref)-1], ":-")
			i += len(ref)
			if !validVarName(name) {
				// The text is not shown: with a typo such as ${sk-...} it
				// may be the secret itself.
				errs = append(errs, expandError{Off: i - len(ref), Ref: ref, Msg: "invalid reference: write ${NAME} or ${NAME:-default}, where NAME is letters, digits and '_' (write $${ for a literal ${)"})
				continue
			}
			if !slices.Contains(vars, name) {
				vars = append(vars, name)
			}
			v := getenv(name)
			if v == "" {
				if !hasDef {
					errs = append(errs, expandError{Off: i - len(ref), Ref: ref, Unset: name, Msg: "environment variable " + name + " is unset or empty (write ${" + name + ":-default} to give a default)"})
				}
				v = def
			}
			b.WriteString(v)
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String(), vars, errs
}

// validVarName reports whether s is a POSIX shell variable name.
func validVarName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
