package limits_test

import (
	"context"
	"net"
)

type netConn = net.Conn

func dialer(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}
