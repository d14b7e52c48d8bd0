package transport

import (
	"net"
	"sync"
	"time"
)

// stashedConn is a TCP + TLS connection that won a race, waiting for
// net/http to dial it.
type stashedConn struct {
	conn net.Conn
	at   time.Time
}

// pushStash keeps c for the next HTTP/2 dial of addr.
func (t *Transport) pushStash(addr string, c net.Conn) {
	t.connMu.Lock()
	defer t.connMu.Unlock()
	if t.closed.Load() {
		c.Close()
		return
	}
	t.stash[addr] = append(t.stash[addr], stashedConn{c, time.Now()})
}

// popStash returns a stashed connection to addr, or nil; connections
// stashed longer than the idle timeout are closed.
func (t *Transport) popStash(addr string) net.Conn {
	t.connMu.Lock()
	defer t.connMu.Unlock()
	for len(t.stash[addr]) > 0 {
		s := t.stash[addr][0]
		t.stash[addr] = t.stash[addr][1:]
		if time.Since(s.at) < t.cfg.idleTimeout {
			return s.conn
		}
		s.conn.Close()
	}
	delete(t.stash, addr)
	return nil
}

func (t *Transport) closeStash() {
	t.connMu.Lock()
	defer t.connMu.Unlock()
	for addr, cs := range t.stash {
		for _, s := range cs {
			s.conn.Close()
		}
		delete(t.stash, addr)
	}
}

// liveConns returns how many TCP + TLS connections to addr are open.
func (t *Transport) liveConns(addr string) int {
	t.connMu.Lock()
	defer t.connMu.Unlock()
	return t.live[addr]
}

// track counts c among addr's open connections until it is closed.
func (t *Transport) track(addr string, c net.Conn) net.Conn {
	t.connMu.Lock()
	t.live[addr]++
	t.connMu.Unlock()
	return &trackedConn{Conn: c, closed: func() {
		t.connMu.Lock()
		if t.live[addr]--; t.live[addr] <= 0 {
			delete(t.live, addr)
		}
		t.connMu.Unlock()
	}}
}

// trackedConn calls closed once, on its first Close.
type trackedConn struct {
	net.Conn
	once   sync.Once
	closed func()
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.closed)
	return err
}
