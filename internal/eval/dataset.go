package eval

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Case is one line of a dataset.
type Case struct {
	// ID names the case in results; it defaults to "case-N", N being its
	// 1-based position in the dataset.
	ID string `json:"id,omitempty"`
	// Messages is a chat in the OpenAI shape ({"role", "content"}, ...).
	Messages []map[string]any `json:"messages,omitempty"`
	// Prompt is a user message template, used when Messages is empty.
	Prompt string `json:"prompt,omitempty"`
	// Vars fill the {{name}} placeholders of the prompt and messages.
	Vars map[string]any `json:"vars,omitempty"`
	// Reference is the expected answer, for the scorers that compare.
	Reference *string `json:"reference,omitempty"`
	// Tags name the segments the case belongs to.
	Tags []string `json:"tags,omitempty"`
	// Scorers apply to this case on top of the suite's.
	Scorers []ScorerSpec `json:"scorers,omitempty"`
}

// LoadDataset reads a dataset file: JSON Lines (.jsonl, .ndjson) or CSV
// (.csv).
func LoadDataset(path string) ([]Case, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var cases []Case
	switch strings.ToLower(filepath.Ext(path)) {
	case ".jsonl", ".ndjson":
		cases, err = DecodeJSONL(f)
	case ".csv":
		cases, err = DecodeCSV(f)
	default:
		return nil, fmt.Errorf("%s: unknown dataset format (want .jsonl or .csv)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cases, nil
}

// DecodeJSONL reads one case per line. Blank lines are skipped; unknown
// fields are errors, so that a misspelt "refrence" is not silently a case
// without a reference.
func DecodeJSONL(r io.Reader) ([]Case, error) {
	var cases []Case
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		var c Case
		if err := dec.Decode(&c); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if dec.More() {
			return nil, fmt.Errorf("line %d: more than one JSON value", line)
		}
		for i, s := range c.Scorers {
			if err := s.validate(); err != nil {
				return nil, fmt.Errorf("line %d: scorers[%d]: %w", line, i, err)
			}
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line+1, err)
	}
	return cases, finish(cases)
}

// DecodeCSV reads a header row and one case per row. The columns id,
// prompt, reference and tags (separated by ";") are the case's fields;
// every other column is a variable for the suite's prompt template. An
// empty reference cell means no reference.
func DecodeCSV(r io.Reader) ([]Case, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 0 // every row as wide as the header
	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("empty CSV: a header row is required")
	}
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff") // spreadsheet exports start with a BOM
		}
		if h == "" || seen[h] {
			return nil, fmt.Errorf("header: column %d has an empty or repeated name %q", i+1, h)
		}
		seen[h] = true
		header[i] = h
	}
	var cases []Case
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		c := Case{}
		for i, v := range rec {
			switch header[i] {
			case "id":
				c.ID = v
			case "prompt":
				c.Prompt = v
			case "reference":
				if v != "" {
					c.Reference = &v
				}
			case "tags":
				for _, t := range strings.Split(v, ";") {
					if t = strings.TrimSpace(t); t != "" {
						c.Tags = append(c.Tags, t)
					}
				}
			default:
				if c.Vars == nil {
					c.Vars = map[string]any{}
				}
				c.Vars[header[i]] = v
			}
		}
		if len(rec) == 1 && rec[0] == "" {
			return nil, fmt.Errorf("line %d: empty row", line)
		}
		cases = append(cases, c)
	}
	return cases, finish(cases)
}

// finish names unnamed cases and rejects duplicate ids.
func finish(cases []Case) error {
	if len(cases) == 0 {
		return errors.New("no cases")
	}
	ids := map[string]int{}
	for i := range cases {
		c := &cases[i]
		if c.ID == "" {
			c.ID = "case-" + strconv.Itoa(i+1)
		}
		if j, dup := ids[c.ID]; dup {
			return fmt.Errorf("case %d: id %q is already case %d's", i+1, c.ID, j+1)
		}
		ids[c.ID] = i
		for _, t := range c.Tags {
			if strings.TrimSpace(t) == "" {
				return fmt.Errorf("case %q: empty tag", c.ID)
			}
		}
	}
	return nil
}

var placeholder = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}`)

// Render replaces the {{name}} placeholders of tmpl with vars. A
// placeholder without a variable is an error: a prompt sent with a literal
// "{{name}}" in it would be scored as if it were meant.
func Render(tmpl string, vars map[string]any) (string, error) {
	var missing []string
	out := placeholder.ReplaceAllStringFunc(tmpl, func(m string) string {
		name := placeholder.FindStringSubmatch(m)[1]
		v, ok := vars[name]
		if !ok {
			missing = append(missing, name)
			return m
		}
		switch v := v.(type) {
		case string:
			return v
		case nil:
			return ""
		case float64, int, int64, bool, json.Number:
			return fmt.Sprint(v)
		default:
			b, _ := json.Marshal(v)
			return string(b)
		}
	})
	if missing != nil {
		return "", fmt.Errorf("no variable for {{%s}}", strings.Join(missing, "}}, {{"))
	}
	return out, nil
}

// messages returns the chat to send for c under suite s, with every
// placeholder filled.
func (s *Suite) messages(c *Case) ([]map[string]any, error) {
	if len(c.Messages) > 0 {
		out := make([]map[string]any, len(c.Messages))
		for i, m := range c.Messages {
			r, err := renderMessage(m, c.Vars)
			if err != nil {
				return nil, fmt.Errorf("messages[%d]: %w", i, err)
			}
			out[i] = r
		}
		return out, nil
	}
	tmpl := c.Prompt
	if tmpl == "" {
		tmpl = s.Prompt
	}
	if tmpl == "" {
		return nil, errors.New("no messages, no prompt, and the suite has no prompt template")
	}
	text, err := Render(tmpl, c.Vars)
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	if s.System != "" {
		sys, err := Render(s.System, c.Vars)
		if err != nil {
			return nil, fmt.Errorf("system: %w", err)
		}
		out = append(out, map[string]any{"role": "system", "content": sys})
	}
	return append(out, map[string]any{"role": "user", "content": text}), nil
}

// renderMessage fills the placeholders of a message's text: its content
// when a string, and the text of its text parts.
func renderMessage(m map[string]any, vars map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	switch c := m["content"].(type) {
	case string:
		r, err := Render(c, vars)
		if err != nil {
			return nil, err
		}
		out["content"] = r
	case []any:
		parts := make([]any, len(c))
		for i, p := range c {
			parts[i] = p
			pm, ok := p.(map[string]any)
			if !ok {
				continue
			}
			if t, ok := pm["text"].(string); ok {
				r, err := Render(t, vars)
				if err != nil {
					return nil, err
				}
				np := make(map[string]any, len(pm))
				for k, v := range pm {
					np[k] = v
				}
				np["text"] = r
				parts[i] = np
			}
		}
		out["content"] = parts
	}
	return out, nil
}
