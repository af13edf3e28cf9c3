package openaicompat

import "strings"

const (
	openTag  = "<think>"
	closeTag = "</think>"
)

// thinkSplitter separates "<think>…</think>" reasoning from the answer in a
// streamed content field, for self-hosted models that print their reasoning
// into the content (config "reasoning: think-tags").
//
// Tags may be split across chunks ("<thi" + "nk>") and both tags may sit in
// one chunk, so a possible partial tag at the end of a chunk is held back
// until the next one decides it. Chat templates of DeepSeek-R1 distills and
// QwQ/Qwen3 put "<think>\n" into the prompt, so the output often starts in
// the middle of the reasoning with no opening tag: text before a lone
// "</think>" is reasoning. Because a stream cannot be reclassified after it
// was sent, a provider configured with think-tags is taken to reason first.
type thinkSplitter struct {
	state   int    // one of the states below
	pending string // held-back text that may be the start of a tag
	stripNL bool   // drop one newline at the start of the next text
}

const (
	stStart     = iota // nothing seen yet
	stReasoning        // inside the reasoning
	stContent          // after "</think>"
)

// feed consumes a content fragment and returns what of it is reasoning and
// what is answer text.
func (s *thinkSplitter) feed(text string) (reasoning, content string) {
	text = s.pending + text
	s.pending = ""
	var r, c strings.Builder
	for text != "" {
		switch s.state {
		case stStart:
			trimmed := strings.TrimLeft(text, " \t\r\n")
			switch {
			case strings.HasPrefix(trimmed, openTag):
				text = trimmed[len(openTag):]
				s.state, s.stripNL = stReasoning, true
			case trimmed == "" || strings.HasPrefix(openTag, trimmed):
				s.pending = text // whitespace or a partial "<think>": wait
				return r.String(), c.String()
			default:
				s.state = stReasoning // prompt-prefilled "<think>"
			}
		case stReasoning:
			text = s.strip(text)
			if i := strings.Index(text, closeTag); i >= 0 {
				r.WriteString(text[:i])
				text = text[i+len(closeTag):]
				s.state, s.stripNL = stContent, true
				continue
			}
			keep := partialSuffix(text, closeTag)
			r.WriteString(text[:len(text)-keep])
			s.pending = text[len(text)-keep:]
			return r.String(), c.String()
		case stContent:
			c.WriteString(s.strip(text))
			text = ""
		}
	}
	return r.String(), c.String()
}

// flush returns any held-back text at the end of the stream.
func (s *thinkSplitter) flush() (reasoning, content string) {
	p := s.pending
	s.pending = ""
	if s.state == stContent {
		return "", p
	}
	return p, ""
}

func (s *thinkSplitter) strip(text string) string {
	if s.stripNL && text != "" {
		s.stripNL = false
		if strings.HasPrefix(text, "\r\n") {
			return text[2:]
		}
		if text[0] == '\n' {
			return text[1:]
		}
	}
	return text
}

// partialSuffix returns the length of the longest suffix of text that is a
// proper prefix of tag.
func partialSuffix(text, tag string) int {
	for n := min(len(tag)-1, len(text)); n > 0; n-- {
		if strings.HasSuffix(text, tag[:n]) {
			return n
		}
	}
	return 0
}

// splitThink separates a whole (non-streamed) content. With no tags at all
// the content is all answer: unlike a stream, a whole body can be judged
// after the fact.
func splitThink(text string) (reasoning, content string) {
	if !strings.Contains(text, closeTag) && !strings.Contains(text, openTag) {
		return "", text
	}
	var s thinkSplitter
	r, c := s.feed(text)
	fr, fc := s.flush()
	return r + fr, c + fc
}
