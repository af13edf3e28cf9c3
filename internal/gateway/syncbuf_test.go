package gateway_test

import (
	"io"
	"net/http"
)

func ioReadFull(resp *http.Response, buf []byte) (int, error) {
	defer resp.Body.Close()
	n, err := io.ReadFull(resp.Body, buf)
	if err == io.ErrUnexpectedEOF {
		err = nil
	}
	return n, err
}
