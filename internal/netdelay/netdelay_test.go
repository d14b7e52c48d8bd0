package netdelay

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/companion-go/companion/internal/leak"
)

func TestMain(m *testing.M) { leak.VerifyTestMain(m) }

// echoTCP starts a TCP echo server and returns its address.
func echoTCP(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	return ln.Addr().String()
}

func TestTCPAddsRTT(t *testing.T) {
	const rtt = 60 * time.Millisecond
	p, err := TCP(echoTCP(t), rtt)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	for i := range 3 {
		start := time.Now()
		fmt.Fprintf(c, "line %d\n", i)
		got, err := r.ReadString('\n')
		if err != nil || got != fmt.Sprintf("line %d\n", i) {
			t.Fatalf("echo %q, %v", got, err)
		}
		if d := time.Since(start); d < rtt {
			t.Errorf("round trip %v, want at least %v", d, rtt)
		}
	}
	// Half-close passes through: the echo server sees EOF and closes.
	c.(*net.TCPConn).CloseWrite()
	if _, err := r.ReadByte(); err != io.EOF {
		t.Errorf("after CloseWrite read %v, want EOF", err)
	}
}

func TestUDPAddsRTT(t *testing.T) {
	const rtt = 40 * time.Millisecond
	srv, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := srv.ReadFrom(buf)
			if err != nil {
				return
			}
			srv.WriteTo(buf[:n], from)
		}
	}()
	p, err := UDP("127.0.0.1:0", srv.LocalAddr().String(), rtt)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("udp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	c.Write([]byte("ping"))
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 16)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "ping" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	if d := time.Since(start); d < rtt {
		t.Errorf("round trip %v, want at least %v", d, rtt)
	}
}

func TestBlackholeAnswersNothing(t *testing.T) {
	p, err := Blackhole("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("udp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("hello"))
	c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if _, err := c.Read(make([]byte, 16)); err == nil {
		t.Fatal("a blackhole answered")
	}
}

func ExampleTCP() {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	go func() {
		c, _ := ln.Accept()
		c.Write([]byte("hi\n"))
		c.Close()
	}()
	p, _ := TCP(ln.Addr().String(), 20*time.Millisecond)
	defer p.Close()
	c, _ := net.Dial("tcp", p.Addr)
	defer c.Close()
	line, _ := bufio.NewReader(c).ReadString('\n')
	fmt.Print(line)
	// Output: hi
}
