package openaicompat

import (
	"strings"
	"testing"
)

func TestPitfall17_ThinkSplitter(t *testing.T) {
	tests := []struct {
		name            string
		chunks          []string
		reasoning, text string
	}{
		{"whole tags", []string{"<think>\nplan</think>\nanswer"}, "plan", "answer"},
		{"split open tag", []string{"<thi", "nk>", "\nplan", "</think>", "\n", "answer"}, "plan", "answer"},
		{"split close tag", []string{"<think>plan </th", "ink>ans", "wer"}, "plan ", "answer"},
		{"close tag split in three", []string{"<think>a<", "/thi", "nk>b"}, "a", "b"},
		{"both tags in one chunk", []string{"<think>x</think>y"}, "x", "y"},
		{"missing opening tag", []string{"reasoning here", "</think>", "\n\nanswer"}, "reasoning here", "\nanswer"},
		{"leading whitespace before tag", []string{"\n", "<think>", "r", "</think>", "c"}, "r", "c"},
		{"less-than in reasoning", []string{"<think>a < b", " and c</think>d"}, "a < b and c", "d"},
		{"unterminated reasoning flushed", []string{"<think>abc</thi"}, "abc</thi", ""},
		{"second think in answer kept", []string{"<think>r</think>see <think> tag"}, "r", "see <think> tag"},
		{"empty reasoning", []string{"<think>\n\n</think>\n\nhi"}, "\n", "\nhi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s thinkSplitter
			var r, c strings.Builder
			for _, ch := range tt.chunks {
				rr, cc := s.feed(ch)
				r.WriteString(rr)
				c.WriteString(cc)
			}
			rr, cc := s.flush()
			r.WriteString(rr)
			c.WriteString(cc)
			if r.String() != tt.reasoning || c.String() != tt.text {
				t.Errorf("got reasoning %q content %q, want %q %q", r.String(), c.String(), tt.reasoning, tt.text)
			}
		})
	}
}

func TestSplitThinkWhole(t *testing.T) {
	if r, c := splitThink("no tags at all"); r != "" || c != "no tags at all" {
		t.Errorf("got %q %q", r, c)
	}
	if r, c := splitThink("<think>\nwhy</think>\n\nbecause"); r != "why" || c != "\nbecause" {
		t.Errorf("got %q %q", r, c)
	}
}

// FuzzThinkSplitter checks that splitting never loses or invents text: the
// reasoning and content, with the tags and stripped newlines put back, cover
// the input, however it is chunked.
func FuzzThinkSplitter(f *testing.F) {
	f.Add("<think>\nabc</think>\ndef", 3)
	f.Add("abc</think>def", 1)
	f.Add("<thi</think>", 2)
	f.Fuzz(func(t *testing.T, in string, step int) {
		if step <= 0 || step > 64 {
			step = 1
		}
		var s thinkSplitter
		var total int
		for i := 0; i < len(in); i += step {
			r, c := s.feed(in[i:min(i+step, len(in))])
			total += len(r) + len(c)
		}
		r, c := s.flush()
		total += len(r) + len(c)
		if total > len(in) {
			t.Fatalf("output longer than input: %d > %d", total, len(in))
		}
	})
}
