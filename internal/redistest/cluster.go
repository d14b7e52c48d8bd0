package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Cluster is a Redis Cluster of six redis-server processes on loopback:
// three masters, each with one replica, made by
// `redis-cli --cluster create … --cluster-replicas 1`. Its methods are
// safe for concurrent use.
type Cluster struct {
	// Addrs are the nodes' host:port, as given to redis-cli (it makes the
	// first three masters). A client needs any one of them.
	Addrs []string

	dir   string
	mu    sync.Mutex
	procs map[string]*exec.Cmd // live nodes by address
	slots map[string][][2]int  // killed masters' slots, when killed
}

// ClusterConfig configures [NewCluster]. The zero value is valid.
type ClusterConfig struct {
	// NodeTimeout is the nodes' cluster-node-timeout: how long a master
	// must be unreachable before the others mark it failed and its
	// replica takes over. Default 1 s (Redis' own default is 15 s).
	NodeTimeout time.Duration
}

// ErrNoBinaries is returned by [NewCluster] when redis-server or redis-cli
// is not on PATH.
var ErrNoBinaries = errors.New("redistest: redis-server and redis-cli are needed on PATH (apt-get install redis-server)")

// StartCluster starts a cluster for a test and stops every one of its
// processes when the test ends. It skips the test when redis-server or
// redis-cli is not installed.
func StartCluster(t testing.TB, cfg ClusterConfig) *Cluster {
	t.Helper()
	c, err := NewCluster(cfg)
	if errors.Is(err, ErrNoBinaries) {
		t.Skip(err.Error() + "; skipping the Redis Cluster test")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// NewCluster starts six nodes on free loopback ports, joins them into a
// cluster and returns once every node reports cluster_state:ok and every
// replica is in sync with its master. Close stops it.
func NewCluster(cfg ClusterConfig) (*Cluster, error) {
	server, err1 := exec.LookPath("redis-server")
	cli, err2 := exec.LookPath("redis-cli")
	if err1 != nil || err2 != nil {
		return nil, ErrNoBinaries
	}
	if cfg.NodeTimeout <= 0 {
		cfg.NodeTimeout = time.Second
	}
	dir, err := os.MkdirTemp("", "redistest-cluster-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, procs: map[string]*exec.Cmd{}, slots: map[string][][2]int{}}
	ok := false
	defer func() {
		if !ok {
			_ = c.Close()
		}
	}()
	for i := range 6 {
		port, err := clusterPort()
		if err != nil {
			return nil, err
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		nodeDir := filepath.Join(dir, strconv.Itoa(i))
		if err := os.Mkdir(nodeDir, 0o755); err != nil {
			return nil, err
		}
		cmd := exec.Command(server, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(nodeDir, "nodes.conf"),
			"--cluster-node-timeout", strconv.FormatInt(cfg.NodeTimeout.Milliseconds(), 10),
			// A replica takes over however long ago it last heard from
			// its master, so a test's failover never stalls on data age.
			"--cluster-replica-validity-factor", "0",
			"--dir", nodeDir, "--save", "", "--appendonly", "no", "--protected-mode", "no", "--daemonize", "no")
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("redistest: start redis-server: %w", err)
		}
		c.procs[addr] = cmd
		c.Addrs = append(c.Addrs, addr)
	}
	for _, a := range c.Addrs {
		if err := waitFor(10*time.Second, func() error { return ping(a) }); err != nil {
			return nil, fmt.Errorf("redistest: cluster node %s: %w", a, err)
		}
	}
	args := append(append([]string{"--cluster", "create"}, c.Addrs...), "--cluster-replicas", "1", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("redistest: redis-cli --cluster create: %w\n%s", err, out)
	}
	if err := c.waitHealthy(30 * time.Second); err != nil {
		return nil, err
	}
	ok = true
	return c, nil
}

// Close stops every node and removes their files; it is safe to call
// more than once.
func (c *Cluster) Close() error {
	c.mu.Lock()
	procs := c.procs
	c.procs = map[string]*exec.Cmd{}
	c.mu.Unlock()
	for _, cmd := range procs {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	if c.dir != "" {
		return os.RemoveAll(c.dir)
	}
	return nil
}

// clusterNode is one line of CLUSTER NODES.
type clusterNode struct {
	id, addr, master string // master: the id of a replica's master, "-" for a master
	isMaster, failed bool
	slots            [][2]int
}

// nodes returns the cluster's view from the first live node that answers.
func (c *Cluster) nodes() ([]clusterNode, error) {
	var last error
	for _, a := range c.Live() {
		out, err := Do(a, "CLUSTER", "NODES")
		if err != nil {
			last = err
			continue
		}
		var ns []clusterNode
		for line := range strings.Lines(out) {
			f := strings.Fields(line)
			if len(f) < 8 {
				continue
			}
			n := clusterNode{id: f[0], addr: strings.SplitN(f[1], "@", 2)[0], master: f[3],
				isMaster: strings.Contains(f[2], "master"), failed: strings.Contains(f[2], "fail")}
			for _, s := range f[8:] {
				if strings.HasPrefix(s, "[") { // a slot being migrated
					continue
				}
				lo, hi, _ := strings.Cut(s, "-")
				l, _ := strconv.Atoi(lo)
				h := l
				if hi != "" {
					h, _ = strconv.Atoi(hi)
				}
				n.slots = append(n.slots, [2]int{l, h})
			}
			ns = append(ns, n)
		}
		return ns, nil
	}
	if last == nil {
		last = errors.New("no live node")
	}
	return nil, fmt.Errorf("redistest: CLUSTER NODES: %w", last)
}

// Live returns the addresses of the nodes not killed.
func (c *Cluster) Live() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var live []string
	for _, a := range c.Addrs {
		if c.procs[a] != nil {
			live = append(live, a)
		}
	}
	return live
}

// Masters returns the addresses of the masters that serve slots and are
// not marked failed.
func (c *Cluster) Masters() ([]string, error) {
	ns, err := c.nodes()
	if err != nil {
		return nil, err
	}
	var ms []string
	for _, n := range ns {
		if n.isMaster && !n.failed && len(n.slots) > 0 {
			ms = append(ms, n.addr)
		}
	}
	return ms, nil
}

// MasterOf returns the address of the master serving key's slot.
func (c *Cluster) MasterOf(key string) (string, error) {
	live := c.Live()
	if len(live) == 0 {
		return "", errors.New("redistest: no live node")
	}
	s, err := Do(live[0], "CLUSTER", "KEYSLOT", key)
	if err != nil {
		return "", err
	}
	slot, err := strconv.Atoi(s)
	if err != nil {
		return "", fmt.Errorf("redistest: CLUSTER KEYSLOT answered %q", s)
	}
	ns, err := c.nodes()
	if err != nil {
		return "", err
	}
	for _, n := range ns {
		for _, r := range n.slots {
			if n.isMaster && !n.failed && slot >= r[0] && slot <= r[1] {
				return n.addr, nil
			}
		}
	}
	return "", fmt.Errorf("redistest: no master serves slot %d", slot)
}

// Kill ends the node at addr with SIGKILL, as a crashed machine would.
func (c *Cluster) Kill(addr string) error {
	ns, err := c.nodes()
	if err != nil {
		return err
	}
	c.mu.Lock()
	for _, n := range ns {
		if n.addr == addr {
			c.slots[addr] = n.slots
		}
	}
	cmd := c.procs[addr]
	delete(c.procs, addr)
	c.mu.Unlock()
	if cmd == nil {
		return fmt.Errorf("redistest: no live node %s", addr)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	return nil
}

// WaitFailover waits, up to timeout, until the master at dead (ended by
// [Cluster.Kill]) is marked failed, another master serves its slots, and
// every live node reports cluster_state:ok; it returns the new master's
// address.
func (c *Cluster) WaitFailover(dead string, timeout time.Duration) (string, error) {
	c.mu.Lock()
	slots := c.slots[dead]
	c.mu.Unlock()
	if len(slots) == 0 {
		return "", fmt.Errorf("redistest: %s was not a killed master", dead)
	}
	slot := slots[0][0]
	var promoted string
	err := waitFor(timeout, func() error {
		ns, err := c.nodes()
		if err != nil {
			return err
		}
		promoted = ""
		for _, n := range ns {
			if n.addr == dead && !n.failed {
				return fmt.Errorf("%s not marked failed yet", dead)
			}
			if n.addr != dead && n.isMaster && !n.failed {
				for _, r := range n.slots {
					if slot >= r[0] && slot <= r[1] {
						promoted = n.addr
					}
				}
			}
		}
		if promoted == "" {
			return fmt.Errorf("no replica of %s serves its slots yet", dead)
		}
		return c.allOK()
	})
	if err != nil {
		return "", fmt.Errorf("redistest: failover of %s: %w", dead, err)
	}
	return promoted, nil
}

// waitHealthy waits until every live node reports cluster_state:ok, sees
// three masters with slots, and every replica's link to its master is up.
func (c *Cluster) waitHealthy(timeout time.Duration) error {
	return waitFor(timeout, func() error {
		if err := c.allOK(); err != nil {
			return err
		}
		ms, err := c.Masters()
		if err != nil {
			return err
		}
		if len(ms) != 3 {
			return fmt.Errorf("%d masters with slots", len(ms))
		}
		for _, a := range c.Live() {
			info, err := Do(a, "INFO", "replication")
			if err != nil {
				return err
			}
			if strings.Contains(info, "role:slave") && !strings.Contains(info, "master_link_status:up") {
				return fmt.Errorf("replica %s not in sync", a)
			}
		}
		return nil
	})
}

// allOK reports an error unless every live node says cluster_state:ok.
func (c *Cluster) allOK() error {
	for _, a := range c.Live() {
		info, err := Do(a, "CLUSTER", "INFO")
		if err != nil {
			return err
		}
		if !strings.Contains(info, "cluster_state:ok") {
			return fmt.Errorf("node %s: cluster state not ok", a)
		}
	}
	return nil
}

// waitFor calls f every 50 ms until it returns nil or timeout passes, and
// returns its last error then.
func waitFor(timeout time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// clusterPort returns a free loopback port whose cluster bus port (the
// port + 10 000) is free as well.
func clusterPort() (int, error) {
	for range 100 {
		p, err := freePort()
		if err != nil {
			return 0, err
		}
		if p+10000 > 65535 {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p+10000)))
		if err != nil {
			continue
		}
		l.Close()
		return p, nil
	}
	return 0, errors.New("redistest: no free port pair for a cluster node")
}

// Do sends one command to the Redis at addr and returns its reply: a
// simple or bulk string, or an integer in decimal. An error reply is
// returned as an error. It is for tests' setup and checks, not a client.
func Do(addr string, args ...string) (string, error) {
	replies, err := Pipeline(addr, args)
	if err != nil {
		return "", err
	}
	return replies[0], nil
}

// Pipeline sends commands to the Redis at addr on one connection, in
// order, and returns their replies as Do does; the first error reply ends
// it. One connection matters for commands about the client's own earlier
// writes, such as WAIT.
func Pipeline(addr string, cmds ...[]string) ([]string, error) {
	conn, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	var out []string
	for _, args := range cmds {
		var b strings.Builder
		fmt.Fprintf(&b, "*%d\r\n", len(args))
		for _, a := range args {
			fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
		}
		if _, err := io.WriteString(conn, b.String()); err != nil {
			return out, err
		}
		reply, err := readReply(r)
		if err != nil {
			return out, err
		}
		out = append(out, reply)
	}
	return out, nil
}

// readReply reads one reply: a simple or bulk string, or an integer.
func readReply(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("redistest: empty reply")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", fmt.Errorf("redistest: %s", line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", fmt.Errorf("redistest: reply %q", line)
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
	return "", fmt.Errorf("redistest: unexpected reply %q", line)
}
