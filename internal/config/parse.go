package config

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Options tells Parse and Load about the binary that will run the config.
type Options struct {
	// ProviderTypes are the provider types with an adapter linked in
	// (provider.Types()). A nil list skips the check, for tools that inspect
	// a config without the adapters.
	ProviderTypes []string
	// Getenv looks up ${VAR} references and $SWITCHYARD_ADMIN_KEY.
	// nil means os.Getenv.
	Getenv func(string) string
	// MissingEnv, when set, makes a ${VAR} without a default whose
	// variable is unset or empty expand to "" instead of being an error,
	// and is called with the variable's name: so that a file's shape can
	// be checked on a machine that does not hold its secrets.
	MissingEnv func(name string)
}

// Load reads, decodes and validates the config file at path; see Parse.
func Load(path string, opts Options) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(data, path, opts)
}

// Parse decodes a YAML config, expands ${VAR} and ${VAR:-default} in its
// values, applies defaults and validates the result. filename is used only
// in error messages.
//
// On failure the error is an Errors listing every problem found, each with
// the file, line and field path, such as
//
//	switchyard.yaml:14: providers[1].type: unknown provider type "opnai" (known: azure-openai, openai, ...)
//
// Fields the Config does not have are errors, so that a misspelt key cannot
// silently leave a setting at its default.
func Parse(data []byte, filename string, opts Options) (*Config, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	d := &decoder{
		report:  report{file: filename, pos: map[string]position{}, env: map[string][]string{}, failed: map[string]bool{}},
		src:     data,
		getenv:  getenv,
		missing: opts.MissingEnv,
	}
	var c Config
	// A file that is not YAML has no fields to validate: stop at the
	// syntax error rather than bury it under "required" complaints.
	if d.document(&c) {
		c.setDefaults(getenv)
		d.validate(&c, opts.ProviderTypes)
	}
	if len(d.errs) > 0 {
		d.errs.sort()
		return nil, d.errs
	}
	return &c, nil
}

// position is where a field's key sits in the file.
type position struct{ line, col int }

// maxVisits bounds the values one document may expand to. Aliases let a few
// bytes name a great many nodes (the "billion laughs"); a real config is
// orders of magnitude below this.
const maxVisits = 200_000

// decoder fills a Config from a yaml.Node tree by reflection over the
// fields' yaml tags, so that a field added to Config is read, positioned and
// checked for type with no code here. It does not use yaml's own decoding
// because that stops at the first error and cannot say which field path or
// line a value came from once ${VAR} has been expanded.
type decoder struct {
	report
	src     []byte
	getenv  func(string) string
	missing func(string) // Options.MissingEnv
	visits  int
}

// document decodes the single YAML document in d.src into c. It reports
// false when the YAML itself is malformed.
func (d *decoder) document(c *Config) bool {
	dec := yaml.NewDecoder(bytes.NewReader(d.src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return true // an empty file, or only comments: all defaults
		}
		d.syntax(err)
		return false
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == io.EOF:
	case err != nil:
		d.syntax(err)
		return false
	case len(next.Content) == 1 && isNull(deref(next.Content[0])):
		// A trailing "---" with nothing after it.
	default:
		d.add(next.Line, 0, "", "a second YAML document (after ---): put all settings in one document")
	}
	if len(doc.Content) == 1 {
		d.value(doc.Content[0], reflect.ValueOf(c).Elem(), "")
	}
	return true
}

var yamlLine = regexp.MustCompile(`(?s)^yaml: line (\d+): (.*)$`)

// syntax records a YAML syntax error with its 1-based line. yaml.v3 prints
// a 0-based line for parser errors and a 1-based one for scanner errors,
// leaves out line 0 altogether, and has no line for reader and alias
// errors; this puts the line back.
func (d *decoder) syntax(err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	mark := 0 // the 0-based line
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		mark, _ = strconv.Atoi(m[1])
		msg = m[2]
		if !parserProblems[msg] {
			mark--
		}
	}
	var line, col int
	switch name, anchor := strings.CutPrefix(msg, "unknown anchor '"); {
	case anchor:
		line, col = d.findAlias(strings.TrimSuffix(name, "' referenced"))
	case readerProblems[msg]:
		line, col = firstBadChar(d.src)
	case parserProblems[msg]:
		line = d.problemLine(mark+1, msg)
	case strings.HasPrefix(msg, "attempted to go past"), strings.HasPrefix(msg, "expected "):
		// yaml.v3's internal errors say nothing about the input.
	case msg == "found unexpected end of stream" && mark+1 >= bytes.Count(d.src, []byte("\n"))+1:
		// An unclosed quote. yaml.v3 gives the line the quote opened on,
		// except on line 1, where it falls back to the end of the file.
		line = d.problemLine(1, msg)
	default:
		line = mark + 1
	}
	// The end of a file that ends in a newline is on no line of its own.
	if n := bytes.Count(bytes.TrimSuffix(d.src, []byte("\n")), []byte("\n")) + 1; line > n {
		line = n
	}
	d.add(line, col, "", "%s", msg)
}

// maxProblemScan bounds the work problemLine does on a large file.
const maxProblemScan = 2000

// problemLine finds the line a parser error is on. yaml.v3 reports the line
// where the enclosing list or mapping starts (or, past the end, where the
// file ends), so for a mis-indented item deep in a list it names the
// list's first line. The first prefix of the file, in whole lines from that
// line on, that fails with the same error ends on the line at fault.
func (d *decoder) problemLine(from int, msg string) int {
	ends := []int{} // ends[i] is the offset just past line i+1
	for i, b := range d.src {
		if b == '\n' {
			ends = append(ends, i+1)
		}
	}
	if len(ends) == 0 || ends[len(ends)-1] != len(d.src) {
		ends = append(ends, len(d.src))
	}
	from = min(max(from, 1), len(ends))
	for l := from; l <= len(ends) && l < from+maxProblemScan; l++ {
		var n yaml.Node
		err := yaml.NewDecoder(bytes.NewReader(d.src[:ends[l-1]])).Decode(&n)
		if err != nil && strings.HasSuffix(err.Error(), ": "+msg) {
			return l
		}
	}
	return from
}

// parserProblems are the messages of yaml.v3's parser, as opposed to its
// scanner; see syntax.
var parserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"found undefined tag handle":             true,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
}

// readerProblems are yaml.v3's complaints about bytes that are not text.
var readerProblems = map[string]bool{
	"control characters are not allowed": true,
	"invalid leading UTF-8 octet":        true,
	"incomplete UTF-8 octet sequence":    true,
	"invalid trailing UTF-8 octet":       true,
	"invalid length of a UTF-8 sequence": true,
	"invalid Unicode character":          true,
}

// findAlias returns the place of the first "*name" in the source.
func (d *decoder) findAlias(name string) (line, col int) {
	re, err := regexp.Compile(`\*` + regexp.QuoteMeta(name) + `(?:[\s,\]}]|$)`)
	if err != nil {
		return 0, 0
	}
	loc := re.FindIndex(d.src)
	if loc == nil {
		return 0, 0
	}
	return lineCol(d.src, loc[0])
}

// firstBadChar returns the place of the first byte sequence that YAML does
// not accept as a printable character.
func firstBadChar(src []byte) (line, col int) {
	for i := 0; i < len(src); {
		r, size := utf8.DecodeRune(src[i:])
		if r == utf8.RuneError && size <= 1 || !yamlPrintable(r) {
			return lineCol(src, i)
		}
		i += size
	}
	return 0, 0
}

func yamlPrintable(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r <= 0x7e || r == 0x85 ||
		r >= 0xa0 && r <= 0xd7ff || r >= 0xe000 && r <= 0xfffd || r >= 0x10000 && r <= 0x10ffff
}

// lineCol converts a byte offset into a 1-based line and a 1-based column
// counted in characters, as yaml.v3 counts them.
func lineCol(src []byte, off int) (line, col int) {
	start := bytes.LastIndexByte(src[:off], '\n') + 1
	return bytes.Count(src[:off], []byte("\n")) + 1, utf8.RuneCount(src[start:off]) + 1
}

// offset converts a yaml.v3 line and column back into a byte offset, or -1.
func offset(src []byte, line, col int) int {
	off := 0
	for ; line > 1; line-- {
		i := bytes.IndexByte(src[off:], '\n')
		if i < 0 {
			return -1
		}
		off += i + 1
	}
	for ; col > 1; col-- {
		if off >= len(src) || src[off] == '\n' {
			return -1
		}
		_, size := utf8.DecodeRune(src[off:])
		off += size
	}
	return off
}

var durationType = reflect.TypeFor[time.Duration]()

// value decodes n into v, which the field path names.
func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) {
	if d.visits++; d.visits > maxVisits {
		if d.visits == maxVisits+1 {
			d.fail(n, path, "the document expands to too many values through its aliases")
		}
		return
	}
	n = deref(n)
	if isNull(n) {
		return // "key:" with nothing after it leaves the default
	}
	switch {
	case v.Type() == durationType:
		s, ok := d.scalar(n, path, "a duration")
		if !ok {
			return
		}
		x, err := time.ParseDuration(s)
		if err != nil {
			d.fail(n, path, `%s is not a duration: write a number with a unit, such as "30s", "10m" or "1h30m"`, d.show(path, s))
			return
		}
		v.SetInt(int64(x))
	case v.Kind() == reflect.String:
		if s, ok := d.scalar(n, path, "a string"); ok {
			v.SetString(s)
		}
	case v.CanInt():
		s, ok := d.scalar(n, path, "a number")
		if !ok {
			return
		}
		// Underscores group digits ("33_554_432") as in Go and YAML 1.1.
		x, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 10, 64)
		if err != nil || v.OverflowInt(x) {
			d.fail(n, path, "%s is not a whole number", d.show(path, s))
			return
		}
		v.SetInt(x)
	case v.CanFloat():
		s, ok := d.scalar(n, path, "a number")
		if !ok {
			return
		}
		x, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
		if err != nil {
			d.fail(n, path, "%s is not a number", d.show(path, s))
			return
		}
		v.SetFloat(x)
	case v.Kind() == reflect.Pointer:
		// A pointer tells "not set" apart from the zero value.
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.value(n, v.Elem(), path)
	case v.Kind() == reflect.Bool:
		s, ok := d.scalar(n, path, "true or false")
		if !ok {
			return
		}
		switch s {
		case "true", "True", "TRUE":
			v.SetBool(true)
		case "false", "False", "FALSE":
			v.SetBool(false)
		default:
			d.fail(n, path, "%s is not true or false", d.show(path, s))
		}
	case v.Kind() == reflect.Slice:
		d.sequence(n, v, path)
	case v.Kind() == reflect.Map && v.Type().Key().Kind() == reflect.String:
		d.mapping(n, v, path)
	case v.Kind() == reflect.Struct:
		d.fields(n, v, path)
	default:
		panic("config: cannot decode into a field of type " + v.Type().String())
	}
}

// scalar returns n's text with ${VAR} references expanded.
func (d *decoder) scalar(n *yaml.Node, path, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, path, "expected %s, not %s", want, kindName(n))
		return "", false
	}
	s, vars, errs := expand(n.Value, d.getenv)
	if len(vars) > 0 {
		d.env[path] = vars
	}
	errs = slices.DeleteFunc(errs, func(e expandError) bool {
		if e.Unset != "" && d.missing != nil {
			d.missing(e.Unset)
			return true
		}
		return false
	})
	for _, e := range errs {
		line, col := d.refPos(n, e)
		d.add(line, col, path, "%s", e.Msg)
	}
	if len(errs) > 0 {
		d.failed[path] = true
		return "", false
	}
	return s, true
}

// refPos finds a ${...} reference of scalar n in the source, to point at
// its column even when quotes, escapes or folding make the value's offsets
// differ from the file's. The search is bounded to roughly the scalar's
// own text so that it cannot wander into a later field.
func (d *decoder) refPos(n *yaml.Node, e expandError) (line, col int) {
	start := offset(d.src, n.Line, n.Column)
	if start < 0 {
		return n.Line, 0
	}
	end := min(len(d.src), start+4*len(n.Value)+256)
	ref := []byte(e.Ref)
	off := start
	// Earlier references written the same way are earlier in the source too.
	for k := strings.Count(n.Value[:e.Off], e.Ref); ; k-- {
		i := bytes.Index(d.src[off:end], ref)
		if i < 0 {
			return n.Line, 0
		}
		if k == 0 {
			return lineCol(d.src, off+i)
		}
		off += i + len(ref)
	}
}

func (d *decoder) sequence(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.fail(n, path, "expected a list, not %s", kindName(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		p := path + "[" + strconv.Itoa(i) + "]"
		d.pos[p] = position{deref(item).Line, deref(item).Column}
		d.value(item, s.Index(i), p)
	}
	v.Set(s)
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "expected a mapping, not %s", kindName(n))
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	for _, kv := range d.pairs(n, path, 0) {
		p := join(path, kv.key.Value)
		d.pos[p] = position{kv.key.Line, kv.key.Column}
		e := reflect.New(v.Type().Elem()).Elem()
		d.value(kv.val, e, p)
		m.SetMapIndex(reflect.ValueOf(kv.key.Value).Convert(v.Type().Key()), e)
	}
	v.Set(m)
}

func (d *decoder) fields(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "expected a mapping, not %s", kindName(n))
		return
	}
	fs := fieldsOf(v.Type())
	for _, kv := range d.pairs(n, path, 0) {
		name := kv.key.Value
		p := join(path, name)
		i, ok := fs.index[name]
		if !ok && strings.HasPrefix(name, "x-") {
			// Extension fields, as in Docker Compose: a place to anchor
			// shared settings ("x-defaults: &defaults") for "<<: *defaults".
			continue
		}
		if !ok {
			d.add(kv.key.Line, 0, p, "unknown field%s", suggest(name, fs.names))
			continue
		}
		d.pos[p] = position{kv.key.Line, kv.key.Column}
		d.value(kv.val, v.Field(i), p)
	}
	if fs.line >= 0 {
		v.Field(fs.line).SetInt(int64(n.Line))
	}
}

type pair struct{ key, val *yaml.Node }

// maxMergeDepth bounds merges of merges; YAML lets an anchored mapping
// merge itself.
const maxMergeDepth = 10

// pairs returns mapping n's entries with YAML merge keys ("<<: *defaults")
// applied: keys written in n win over merged ones, and an earlier merged
// mapping over a later one. A key written twice is an error, as a silent
// last-one-wins would hide one of the two settings.
func (d *decoder) pairs(n *yaml.Node, path string, depth int) []pair {
	var out []pair
	var merges []*yaml.Node
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.fail(k, path, "expected a name as key, not %s", kindName(k))
			continue
		}
		if k.Value == "<<" && k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if line, dup := seen[k.Value]; dup {
			d.add(k.Line, 0, join(path, k.Value), "set twice (first on line %d)", line)
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, pair{k, v})
	}
	if len(merges) == 0 {
		return out
	}
	if depth >= maxMergeDepth {
		d.fail(n, path, "merges (<<) nest too deeply")
		return out
	}
	for _, m := range merges {
		m = deref(m)
		srcs := []*yaml.Node{m}
		if m.Kind == yaml.SequenceNode {
			srcs = m.Content
		}
		for _, src := range srcs {
			if d.visits++; d.visits > maxVisits {
				return out
			}
			src = deref(src)
			if src.Kind != yaml.MappingNode {
				d.fail(src, path, "<< merges a mapping or a list of mappings, not %s", kindName(src))
				continue
			}
			for _, kv := range d.pairs(src, path, depth+1) {
				if _, ok := seen[kv.key.Value]; !ok {
					seen[kv.key.Value] = kv.key.Line
					out = append(out, kv)
				}
			}
		}
	}
	return out
}

// structFields is how a struct type maps to YAML keys.
type structFields struct {
	index map[string]int // yaml name to field index
	names []string       // yaml names, sorted, for suggestions
	line  int            // index of an int field named Line tagged yaml:"-", or -1
}

func fieldsOf(t reflect.Type) structFields {
	fs := structFields{index: map[string]int{}, line: -1}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch name {
		case "-":
			if f.Name == "Line" && f.Type.Kind() == reflect.Int {
				fs.line = i
			}
			continue
		case "":
			name = strings.ToLower(f.Name)
		}
		fs.index[name] = i
		fs.names = append(fs.names, name)
	}
	slices.Sort(fs.names)
	return fs
}

// suggest names the known field closest to an unknown one, or lists them
// all when none is close.
func suggest(name string, known []string) string {
	best, bestDist := "", len(name)/3+2
	for _, k := range known {
		if dist := editDistance(name, k); dist < bestDist {
			best, bestDist = k, dist
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return " (known: " + strings.Join(known, ", ") + ")"
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

// deref follows aliases to the anchored node.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 16; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		return "a single value"
	}
	return "an alias"
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// fail records a problem with the value at path and marks the path so that
// validation does not pile "required" and the like on top of it.
func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	d.failed[path] = true
	d.add(n.Line, 0, path, format, args...)
}
