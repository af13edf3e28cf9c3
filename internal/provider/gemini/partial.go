package gemini

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/switchyard-ai/switchyard/internal/provider/upstream"
)

// pendingCall is a function call whose arguments Vertex is still
// streaming as partialArgs: (jsonPath, value) fragments, a string value
// possibly split over several fragments of the same path.
type pendingCall struct {
	id, name, sig string
	args          json.RawMessage // whole args, if the first piece had them
	tree          *jsonNode       // assembled partialArgs, if any came
	size          int             // fragment bytes so far
	nodes         int             // JSON values created so far
	lastPath      string
	lastContinues bool // the last fragment was a string to be continued
}

func (pc *pendingCall) apply(frags []partialArg) error {
	for _, f := range frags {
		pc.size += len(f.JSONPath) + len(f.NumberValue)
		if f.StringValue != nil {
			pc.size += len(*f.StringValue)
		}
		if pc.size > maxPartialArgs {
			return upstream.Malformed("the upstream streamed tool call arguments larger than the gateway accepts")
		}
		path, ok := parseJSONPath(f.JSONPath)
		if !ok {
			// Best effort: a path this parser does not understand loses
			// its fragment rather than the whole response.
			pc.lastContinues = false
			continue
		}
		if pc.tree == nil {
			pc.tree = &jsonNode{}
		}
		n := pc.tree.at(path, &pc.nodes)
		if n == nil {
			pc.lastContinues = false
			continue
		}
		switch {
		case f.StringValue != nil:
			if pc.lastContinues && f.JSONPath == pc.lastPath && n.kind == kindString {
				n.str.WriteString(*f.StringValue)
			} else {
				n.reset(kindString)
				n.str.WriteString(*f.StringValue)
			}
		case len(f.NumberValue) > 0:
			n.reset(kindRaw)
			n.raw = "null"
			if isNumber(f.NumberValue) {
				n.raw = string(compact(f.NumberValue))
			}
		case f.BoolValue != nil:
			n.reset(kindRaw)
			n.raw = strconv.FormatBool(*f.BoolValue)
		case f.NullValue != nil:
			n.reset(kindRaw)
			n.raw = "null"
		}
		pc.lastPath, pc.lastContinues = f.JSONPath, f.StringValue != nil && f.WillContinue
	}
	return nil
}

func isNumber(raw json.RawMessage) bool {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil || dec.More() {
		return false
	}
	_, ok := v.(json.Number)
	return ok
}

// pathSeg is one step of a JSON path: a member name or an array index.
type pathSeg struct {
	key   string
	index int // -1 for a member
}

// maxPathIndex bounds array indices, so that "$.a[1000000000]" cannot
// make the gateway allocate a huge array.
const maxPathIndex = 4096

// parseJSONPath parses the paths Vertex uses: $, .name, ['name'] and [n].
func parseJSONPath(p string) ([]pathSeg, bool) {
	if !strings.HasPrefix(p, "$") {
		return nil, false
	}
	p = p[1:]
	var segs []pathSeg
	for p != "" {
		switch {
		case p[0] == '.':
			p = p[1:]
			end := strings.IndexAny(p, ".[")
			if end < 0 {
				end = len(p)
			}
			if end == 0 {
				return nil, false
			}
			segs = append(segs, pathSeg{key: p[:end], index: -1})
			p = p[end:]
		case strings.HasPrefix(p, "['") || strings.HasPrefix(p, `["`):
			q := p[1]
			end := strings.IndexByte(p[2:], q)
			if end < 0 || len(p) < end+4 || p[2+end+1] != ']' {
				return nil, false
			}
			segs = append(segs, pathSeg{key: p[2 : 2+end], index: -1})
			p = p[2+end+2:]
		case p[0] == '[':
			end := strings.IndexByte(p, ']')
			if end < 0 {
				return nil, false
			}
			n, err := strconv.Atoi(p[1:end])
			if err != nil || n < 0 || n > maxPathIndex {
				return nil, false
			}
			segs = append(segs, pathSeg{index: n})
			p = p[end+1:]
		default:
			return nil, false
		}
	}
	return segs, true
}

type nodeKind uint8

const (
	kindNone nodeKind = iota
	kindObject
	kindArray
	kindString
	kindRaw
)

// jsonNode is a JSON value under assembly that keeps members in the order
// they first appeared, as the model wrote them.
type jsonNode struct {
	kind    nodeKind
	keys    []string
	members map[string]*jsonNode
	elems   []*jsonNode
	str     strings.Builder
	raw     string
}

func (n *jsonNode) reset(k nodeKind) {
	*n = jsonNode{kind: k}
}

// maxArgNodes bounds the JSON values one streamed call may create: array
// indices make a short path create many.
const maxArgNodes = 1 << 16

// at returns the node at path under n, creating the containers on the
// way and counting them in *nodes; nil when path runs through a scalar or
// would create more than maxArgNodes values.
func (n *jsonNode) at(path []pathSeg, nodes *int) *jsonNode {
	for _, s := range path {
		if s.index < 0 {
			if n.kind != kindObject {
				if n.kind != kindNone {
					return nil
				}
				n.kind, n.members = kindObject, map[string]*jsonNode{}
			}
			c := n.members[s.key]
			if c == nil {
				if *nodes++; *nodes > maxArgNodes {
					return nil
				}
				c = &jsonNode{}
				n.members[s.key] = c
				n.keys = append(n.keys, s.key)
			}
			n = c
			continue
		}
		if n.kind != kindArray {
			if n.kind != kindNone {
				return nil
			}
			n.kind = kindArray
		}
		if grow := s.index + 1 - len(n.elems); grow > 0 {
			if *nodes += grow; *nodes > maxArgNodes {
				return nil
			}
			for range grow {
				n.elems = append(n.elems, &jsonNode{})
			}
		}
		n = n.elems[s.index]
	}
	return n
}

// json returns the assembled arguments; they are always an object.
func (n *jsonNode) json() string {
	if n.kind != kindObject {
		return "{}"
	}
	var b bytes.Buffer
	n.write(&b)
	return b.String()
}

func (n *jsonNode) write(b *bytes.Buffer) {
	switch n.kind {
	case kindObject:
		b.WriteByte('{')
		for i, k := range n.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, k)
			b.WriteByte(':')
			n.members[k].write(b)
		}
		b.WriteByte('}')
	case kindArray:
		b.WriteByte('[')
		for i, e := range n.elems {
			if i > 0 {
				b.WriteByte(',')
			}
			e.write(b)
		}
		b.WriteByte(']')
	case kindString:
		writeString(b, n.str.String())
	case kindRaw:
		b.WriteString(n.raw)
	default:
		b.WriteString("null")
	}
}

func writeString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // a string always encodes
	b.Truncate(b.Len() - 1)
}
