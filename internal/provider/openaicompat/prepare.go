package openaicompat

import "github.com/switchyard-ai/switchyard/internal/jsonobj"

// Drop removes the named parameters, recording each one present.
func (n *Notes) Drop(body *jsonobj.Object, keys ...string) {
	for _, k := range keys {
		if body.Delete(k) {
			n.Dropped = append(n.Dropped, k)
		}
	}
}

// Rename renames a parameter the vendor knows under another name,
// recording it when present.
func (n *Notes) Rename(body *jsonobj.Object, from, to string) {
	if body.Rename(from, to) {
		n.Rewritten = append(n.Rewritten, from+"="+to)
	}
}
