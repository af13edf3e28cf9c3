package sse

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func readAll(t testing.TB, r io.Reader) ([]Event, error) {
	t.Helper()
	rd := NewReader(r)
	var evs []Event
	for {
		ev, err := rd.Next()
		if err != nil {
			if err == io.EOF {
				return evs, nil
			}
			return evs, err
		}
		evs = append(evs, Event{Name: ev.Name, Data: bytes.Clone(ev.Data), Comment: ev.Comment, Raw: bytes.Clone(ev.Raw)})
	}
}

func TestReader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Event // Raw checked by concatenation below
	}{
		{"lf", "data: {\"a\":1}\n\ndata: [DONE]\n\n", []Event{{Data: []byte(`{"a":1}`)}, {Data: []byte("[DONE]")}}},
		{"crlf", "data: {\"a\":1}\r\n\r\ndata: x\r\n\r\n", []Event{{Data: []byte(`{"a":1}`)}, {Data: []byte("x")}}},
		{"cr", "data: a\r\rdata: b\r\r", []Event{{Data: []byte("a")}, {Data: []byte("b")}}},
		{"named", "event: message_start\ndata: {}\n\n", []Event{{Name: "message_start", Data: []byte("{}")}}},
		{"multiline data", "data: a\ndata: b\n\n", []Event{{Data: []byte("a\nb")}}},
		{"no space", "data:x\n\n", []Event{{Data: []byte("x")}}},
		{"two spaces keep one", "data:  x\n\n", []Event{{Data: []byte(" x")}}},
		{"comment", ": keep-alive\n\ndata: x\n\n", []Event{{Comment: true}, {Data: []byte("x")}}},
		{"empty data", "data:\n\n", []Event{{Data: []byte("")}}},
		{"trailing comment no blank", "data: x\n\n: bye", []Event{{Data: []byte("x")}, {Comment: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range []io.Reader{strings.NewReader(tt.in), iotest.OneByteReader(strings.NewReader(tt.in))} {
				evs, err := readAll(t, r)
				if err != nil {
					t.Fatal(err)
				}
				if len(evs) != len(tt.want) {
					t.Fatalf("got %d events %+v, want %d", len(evs), evs, len(tt.want))
				}
				var raw []byte
				for i, ev := range evs {
					w := tt.want[i]
					if ev.Name != w.Name || !bytes.Equal(ev.Data, w.Data) || ev.Comment != w.Comment || (ev.Data == nil) != (w.Data == nil) {
						t.Errorf("event %d = %+v, want %+v", i, ev, w)
					}
					raw = append(raw, ev.Raw...)
				}
				if string(raw) != tt.in {
					t.Errorf("raw bytes %q, want %q", raw, tt.in)
				}
			}
		})
	}
}

func TestReaderCRLFRawPerEvent(t *testing.T) {
	in := "data: 1\r\n\r\ndata: 2\r\n\r\n"
	evs, err := readAll(t, strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if string(evs[0].Raw) != "data: 1\r\n\r\n" || string(evs[1].Raw) != "data: 2\r\n\r\n" {
		t.Fatalf("raw = %q, %q", evs[0].Raw, evs[1].Raw)
	}
}

func TestReaderCut(t *testing.T) {
	_, err := readAll(t, strings.NewReader("data: {\"a\":1}\n\ndata: {\"b\""))
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v, want ErrUnexpectedEOF", err)
	}
}

func TestReaderTooLarge(t *testing.T) {
	big := "data: " + strings.Repeat("x", MaxEventSize+10) + "\n\n"
	_, err := readAll(t, strings.NewReader(big))
	if !errors.Is(err, ErrEventTooLarge) {
		t.Fatalf("err = %v, want ErrEventTooLarge", err)
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte("data: {\"a\":1}\n\ndata: [DONE]\n\n"))
	f.Add([]byte("event: x\r\ndata: y\r\n\r\n: c\r\r\n"))
	f.Add([]byte("data: a\rdata: b\r\r"))
	f.Fuzz(func(t *testing.T, in []byte) {
		evs, err := readAll(t, bytes.NewReader(in))
		var raw []byte
		for _, ev := range evs {
			raw = append(raw, ev.Raw...)
		}
		if err == nil && !bytes.Equal(raw, in) {
			t.Fatalf("raw concat %q != input %q", raw, in)
		}
		if err != nil && !bytes.HasPrefix(in, raw) {
			t.Fatalf("raw %q is not a prefix of input %q", raw, in)
		}
	})
}

func BenchmarkReader(b *testing.B) {
	chunk := "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hello\"},\"finish_reason\":null}]}\n\n"
	in := strings.Repeat(chunk, 100)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		rd := NewReader(strings.NewReader(in))
		for {
			if _, err := rd.Next(); err != nil {
				break
			}
		}
	}
}
